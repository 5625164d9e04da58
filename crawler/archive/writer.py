"""The WARC writer process: every record of a crawl written by a child process, off the crawl's GIL.

The crawl's downloader middleware (``crawler.downloadermiddlewares.warc``) starts it with
``python -m crawler.archive.writer``, its stdin and stdout one end of a socket pair, and sends it
one frame per response (``write``) and one per commit point (``seal``); the child answers each, in
order: where the record went (file, record id, offset) and its payload digest, or the sealed files
with their SHA-256. Building the records, digests, gzip, writes, rotation, the CDXJ lines and the
revisit lookups all happen here, in the order responses arrived; the crawl's reactor thread only
pickles a response's bytes and headers into the socket.

Seal and kill, as with the writer thread it replaces: a file is sealed (flushed, fsynced, its
SHA-256 taken as written, renamed from ``.<name>.open``, its ``.cdxj`` written atomically) only when
the crawl asks, at a commit point, before the manifest that lists it. The child dies with the crawl:
it asks the kernel for SIGKILL when its parent dies (Linux ``PR_SET_PDEATHSIG``), and exits on the
end of its input anywhere; it ignores SIGINT and SIGTERM, which the crawl itself answers by
stopping cleanly and sealing. It holds the OUTPUT_DIR lock's descriptor, so no later run starts
while it still writes. A killed crawl leaves only ``.open`` files, which the next run's recovery
handles. A write that fails breaks the archive: that write and every later one answer an error,
and so does every later seal, so no slice that might point into a torn file is committed.

No Scrapy here: frames are pickled tuples of plain values.
"""

from __future__ import annotations

import ctypes
import io
import logging
import os
import pickle
import signal
import socket
import struct
import sys
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import IO, Any, BinaryIO
from urllib.parse import urlsplit

from cdxj_indexer.main import CDXJIndexer
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders

from ..run.files import fsync_dir
from .warc import (IDENTICAL_PAYLOAD_DIGEST, SERVER_NOT_MODIFIED, Capture, LeveledWARCWriter, RecordPosition,
                   StoredCaptures, payload_digest, warc_date, write_index_atomically)

logger = logging.getLogger(__name__)

# A frame: its length (4 bytes, big-endian), then a pickled tuple. Requests: ("write", *Exchange
# fields), ("seal", final). Answers: ("written", file, record_id, offset, digest, revisit profile or
# None), ("sealed", [paths], {path: sha256}), ("failed", message).
HEADER = struct.Struct(">I")
WRITE, SEAL, WRITTEN, SEALED, FAILED = "write", "seal", "written", "sealed", "failed"

# The body Scrapy hands over is already de-chunked: keep the header under another name.
RENAMED_HEADERS = {"transfer-encoding": "X-Archive-Orig-Transfer-Encoding"}

# Linux prctl(2): have the kernel send a signal to this process when its parent dies.
PR_SET_PDEATHSIG = 1


def frame(message: tuple) -> bytes:
    """A message as a frame."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


@dataclass
class WriterConfig:
    """What the writer needs to know, sent as its first frame."""

    directory: str
    prefix: str
    max_size: int
    gzip_level: int
    warcinfo: dict[str, str]
    state_path: str | None = None   # the SQLite state store (its capture index), or
    redis_url: str | None = None    # the fleet's Redis one
    output_dir: str = ""


@dataclass
class Exchange:
    """A response and its request, as plain values (header names and values as bytes, as received)."""

    url: str
    body: bytes
    status: int
    headers: list[tuple[bytes, list[bytes]]]
    protocol: str | None
    method: str
    request_url: str
    request_headers: list[tuple[bytes, list[bytes]]]
    captured: float
    ip_address: str | None


def _header_pairs(headers: list[tuple[bytes, list[bytes]]]) -> list[tuple[str, str]]:
    pairs = []
    for name, values in headers:
        text = name.decode("latin-1")
        text = RENAMED_HEADERS.get(text.lower(), text)
        pairs += [(text, value.decode("latin-1")) for value in values]
    return pairs


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def sent_protocol(protocol: str | None) -> str:
    """The protocol the request went out with: Scrapy's HTTP/2 handler speaks HTTP/2, every other
    sends HTTP/1.1 (the response's may differ: a server may answer HTTP/1.0)."""
    return "HTTP/2" if (protocol or "").lower() in ("h2", "http/2", "http/2.0") else "HTTP/1.1"


def http_headers(exchange: Exchange) -> tuple[StatusAndHeaders, StatusAndHeaders]:
    """The response's and the request's status line and headers, as received and sent."""
    response_headers = StatusAndHeaders(f"{exchange.status} {_reason(exchange.status)}",
                                        _header_pairs(exchange.headers), protocol=exchange.protocol or "HTTP/1.1")
    protocol = sent_protocol(exchange.protocol)
    parts = urlsplit(exchange.request_url)
    path = parts.path + (f"?{parts.query}" if parts.query else "") or "/"
    headers = _header_pairs(exchange.request_headers)
    if not any(name.lower() == "host" for name, _ in headers):  # added below the middlewares
        headers.insert(0, ("Host", parts.netloc))
    request_headers = StatusAndHeaders(f"{exchange.method} {path} {protocol}", headers,
                                       protocol=protocol, is_http_request=True)
    return response_headers, request_headers


def capture_lookup(config: WriterConfig):
    """The capture index's lookup, on a connection of this process's own (None: no revisits)."""
    if config.redis_url:
        from ..state.redis_store import RedisStateStore
        return RedisStateStore(config.redis_url, Path(config.output_dir), readonly=True).capture
    if config.state_path:
        from ..state.sqlite import CaptureLookup
        return CaptureLookup(Path(config.state_path))
    return None


class WarcFileWriter:
    """The WARC files of one run: records appended in order, files rotated by size and sealed on demand."""

    def __init__(self, config: WriterConfig, lookup=None):
        self.directory = Path(config.directory)
        self.prefix = config.prefix
        self.max_size = config.max_size
        self.gzip_level = config.gzip_level
        self.warcinfo_fields = config.warcinfo
        self.serial = 0
        self.file: IO[bytes] | None = None
        self.name = ""
        self.writer: LeveledWARCWriter | None = None
        self.indexer = CDXJIndexer(output=None, inputs=[])
        self.index_lines: IO[str] | None = None
        self.warcinfo_id = ""
        self.stored = StoredCaptures(self.directory.parent, lookup)
        self.sealed: list[Path] = []  # closed files not yet handed to a commit
        self.sha256: dict[Path, str] = {}  # a closed file's SHA-256, taken as it was written
        self.error: BaseException | None = None

    def _open_next(self) -> None:
        self._close_current()
        self.serial += 1
        self.directory.mkdir(parents=True, exist_ok=True)
        self.name = f"{self.prefix}-{self.serial:05d}.warc.gz"
        self.file = (self.directory / f".{self.name}.open").open("wb")
        self.writer = LeveledWARCWriter(self.file, self.gzip_level, warc_version="1.1")
        self.indexer.curr_filename = self.name  # what the indexer's process_one would set
        # The open file's index lines, unsorted, as its records are written (sorted when it closes).
        self.index_lines = (self.directory / f".{self.name}.cdxj-lines.open").open("w", encoding="utf-8")
        warcinfo = self.writer.create_warcinfo_record(self.name, self.warcinfo_fields)
        self.warcinfo_id = warcinfo.rec_headers.get_header("WARC-Record-ID")
        self._write(warcinfo, 0)

    def _write(self, record: ArcWarcRecord, offset: int) -> int:
        """Append a record (the file being at ``offset``) and index it; return where the next one goes."""
        assert self.writer is not None
        length = self.writer.write_record(record)
        if self.indexer.filter_record(record):  # what the indexer keeps: response records
            self.indexer.process_index_entry(RecordPosition(offset, length), record, self.name, self.index_lines)
        return offset + length

    def _close_current(self) -> None:
        if self.file is None:
            return
        assert self.writer is not None
        self.file.flush()
        os.fsync(self.file.fileno())
        whole = self.writer.written == self.file.tell()  # every byte went through the hash
        self.file.close()
        final = self.directory / self.name
        if whole:
            self.sha256[final] = self.writer.sha256.hexdigest()
        (self.directory / f".{self.name}.open").replace(final)
        fsync_dir(self.directory)
        self.sealed.append(final)
        self.sealed.append(self._write_index(final))
        self.file = self.writer = None

    def _write_index(self, path: Path) -> Path:
        """Write ``<file>.cdxj`` beside a closed WARC file from the lines spooled while it was open,
        atomically (after the WARC file: an index never names a file that is not in place)."""
        assert self.index_lines is not None
        self.index_lines.close()
        unsorted = Path(self.index_lines.name)
        index = path.with_name(path.name + ".cdxj")
        write_index_atomically(unsorted, index)
        unsorted.unlink()
        self.index_lines = None
        return index

    def _referred(self, url: str, status: int, digest: str | None) -> tuple[str, Capture] | None:
        """The revisit profile and stored capture this response repeats, if it does."""
        if status == 304:
            capture = self.stored.newest(url)
            return (SERVER_NOT_MODIFIED, capture) if capture is not None else None
        known = self.stored.known(url)
        if digest is None or known is None or known.digest != digest:
            return None
        capture = self.stored.newest(url, known)  # its exact date and record id, read once
        return (IDENTICAL_PAYLOAD_DIGEST, capture) if capture is not None else None

    def write(self, exchange: Exchange) -> tuple[str, str, int, str | None, str | None]:
        """The response (or revisit) and request records: where the response (or the capture the
        revisit refers to) is, the payload digest of a 2xx response, and the revisit profile."""
        if self.error is not None:
            raise OSError(f"the WARC archive is broken since an earlier write failed: {self.error}")
        url, body, status = exchange.url, exchange.body, exchange.status
        try:
            response_headers, request_headers = http_headers(exchange)
            if self.file is None or self.file.tell() >= self.max_size:
                self._open_next()
            assert self.writer is not None and self.file is not None
            date = warc_date(exchange.captured)
            writer = self.writer

            def headers(record_type: str) -> dict[str, str]:  # in the order archivists' tools print them
                fields = {"WARC-Type": record_type, "WARC-Record-ID": writer._make_warc_id(),
                          "WARC-Target-URI": url, "WARC-Date": date, "WARC-Warcinfo-ID": self.warcinfo_id}
                return {**fields, "WARC-IP-Address": exchange.ip_address} if exchange.ip_address else fields
            digest = payload_digest(body) if 200 <= status < 300 else None
            referred = self._referred(url, status, digest)
            if referred is None:
                # With its length given, warcio hashes the body in place instead of copying it twice.
                record = writer.create_warc_record(url, "response", payload=io.BytesIO(body), length=len(body),
                                                   http_headers=response_headers,
                                                   warc_headers_dict={**headers("response"), **(
                                                       {"WARC-Payload-Digest": digest} if digest else {})})
            else:
                profile, capture = referred
                record = writer.create_warc_record(url, "revisit", http_headers=response_headers,
                                                   warc_headers_dict=headers("revisit"))
                for name, value in (("WARC-Profile", profile), ("WARC-Refers-To", capture.record_id),
                                    ("WARC-Refers-To-Target-URI", url), ("WARC-Refers-To-Date", capture.date),
                                    ("WARC-Payload-Digest", capture.digest)):
                    record.rec_headers.add_header(name, value)
            request_record = writer.create_warc_record(url, "request", http_headers=request_headers,
                                                       warc_headers_dict=headers("request"))
            record_id = record.rec_headers.get_header("WARC-Record-ID")
            request_record.rec_headers.add_header("WARC-Concurrent-To", record_id)
            offset = self.file.tell()  # asked, not counted: after a failed write, where the file really is
            self._write(request_record, self._write(record, offset))
        except Exception as error:
            self.error = error
            raise
        if referred is not None:
            profile, capture = referred
            return capture.file, str(capture.record_id), capture.offset, digest, profile
        if digest is not None:
            self.stored.remember(url, Capture(digest, f"warc/{self.name}", offset, (self.serial, offset), status,
                                              response_headers.get_header("Content-Type") or "", date, record_id))
        return f"warc/{self.name}", record_id, offset, digest, None

    def seal(self, final: bool = False) -> tuple[list[Path], dict[Path, str]]:
        """Close the open file (unless broken); hand over the files closed since the last seal and
        their SHA-256. The final seal also closes the capture index's connection."""
        if self.error is None:
            try:
                self._close_current()
            except Exception as error:
                self.error = error
                raise
        sealed, self.sealed = self.sealed, []
        digests = {path: self.sha256.pop(path) for path in sealed if path in self.sha256}
        if final:
            closing = getattr(self.stored.lookup, "close", None)
            if closing is not None:
                closing()
        if self.error is not None:
            raise OSError(f"the WARC archive is broken since a write failed: {self.error}")
        return sealed, digests


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    data = stream.read(size)
    return data if data is not None and len(data) == size else None


def read_frame(stream: BinaryIO) -> Any:
    """The next message, or None at the end of the input (the crawl closed it, or died)."""
    header = _read_exactly(stream, HEADER.size)
    if header is None:
        return None
    data = _read_exactly(stream, HEADER.unpack(header)[0])
    return pickle.loads(data) if data is not None else None


def serve(stream_in: BinaryIO, stream_out: BinaryIO) -> None:
    """Answer frames until the input ends: the config first, then writes and seals, in order."""
    config = read_frame(stream_in)
    if config is None:
        return
    writer = WarcFileWriter(config, capture_lookup(config))
    while True:
        message = read_frame(stream_in)
        if message is None:
            return  # the crawl is gone or done: what is not sealed stays .open, for recovery
        try:
            if message[0] == WRITE:
                answer: tuple = (WRITTEN, *writer.write(Exchange(*message[1:])))
            else:
                sealed, digests = writer.seal(final=message[1])
                answer = (SEALED, [str(p) for p in sealed], {str(p): d for p, d in digests.items()})
        except Exception as error:  # the crawl logs it and fails the run's commit
            answer = (FAILED, f"{type(error).__name__}: {error}")
        stream_out.write(frame(answer))
        stream_out.flush()


def _die_with_parent() -> None:
    """SIGKILL this process when the crawl dies (Linux); elsewhere the end of input stops it."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return


def main() -> None:
    parent = os.getppid()
    _die_with_parent()
    if os.getppid() != parent:  # the crawl died before the request took effect
        return
    # Ctrl-C and SIGTERM reach the whole process group: the crawl answers them by stopping and
    # sealing, which needs this process alive.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    channel = socket.socket(fileno=os.dup(sys.stdin.fileno()))
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print goes to stderr, never into a frame
    stream_in = channel.makefile("rb", buffering=1 << 20)
    stream_out = channel.makefile("wb", buffering=1 << 16)
    serve(stream_in, stream_out)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
