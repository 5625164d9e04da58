"""Raw archive: every HTTP response (and its request) into gzipped WARC 1.1 files, with warcio.

A downloader middleware placed next to the downloader, so it sees each response as received:
before decompression, before redirects are followed, robots.txt included. Files rotate by size
(WARC_MAX_SIZE) and at each commit of the run (``seal``), are written hidden (``.<name>.open``) and
renamed when closed, and get a CDXJ index beside them. A failed write leaves the archive broken:
no later seal succeeds, so no slice that might point into a torn file is committed. Only a
``scrapy crawl`` holding the OUTPUT_DIR lock archives; other commands write nothing. The response
record's position is put in ``request.meta["warc"]`` so the record that came from it can point at
its source, and a 2xx response's payload digest (``sha1:…``, as in its record) in
``request.meta["warc_payload_digest"]``.

All file work (building records, digests, gzip, writes, rotation, indexes) happens on one writer
thread, in the order responses arrive: zlib and hashlib release the GIL, so it runs beside the
reactor on another core. Each record is its own gzip member, at WARC_GZIP_LEVEL. Index lines are
made as records are written, by cdxj-indexer's own per-record code, and sorted into ``.cdxj`` when
the file closes, so closing never re-reads the file; the ``.cdxj`` is written hidden and renamed,
and the commit lists it in the manifest beside its WARC file.

What archivists expect of WARC 1.1: a ``warcinfo`` record opens each file (software and version,
hostname, operator, ``isPartOf``, robots policy, User-Agent, format, conformsTo) and every other
record names it (``WARC-Warcinfo-ID``); ``WARC-Date`` is when the capture began (the request was
sent), not when the writer got to it; ``WARC-IP-Address`` is the server's; the request record says
the protocol it was sent with. A response whose payload is the same as the newest stored capture
of its URL is a ``revisit`` record (``identical-payload-digest``), a 304 is one
(``server-not-modified``), each referring to that capture (``WARC-Refers-To-Target-URI``, ``-Date``,
``WARC-Refers-To``). Stored captures are those of WARC files a manifest lists, asked of the capture
index in the state store one URL at a time (``crawler.state.captures``), and those this run wrote;
a record made from a revisit points at the referred response, whose bytes it is.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from cdxj_indexer.main import CDXJIndexer
from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Headers, Response
from scrapy.utils.python import to_unicode
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders

from ..archive.warc import (
    IDENTICAL_PAYLOAD_DIGEST,
    SERVER_NOT_MODIFIED,
    Capture,
    LeveledWARCWriter,
    RecordPosition,
    StoredCaptures,
    payload_digest,
    warc_date,
    warcinfo_fields,
    write_index_atomically,
)
from ..exceptions import NotArchived
from ..run.files import fsync_dir
from ..run.lock import holds
from ..run.manifests import WARC_DIR
from ..state.stores import state_store
from ..versions import package_version

logger = logging.getLogger(__name__)


# The body Scrapy hands over is already de-chunked: keep the header under another name.
RENAMED_HEADERS = {"transfer-encoding": "X-Archive-Orig-Transfer-Encoding"}


def _header_pairs(headers: Headers) -> list[tuple[str, str]]:
    pairs = []
    for name, values in headers.items():
        text = to_unicode(name, "latin-1")
        text = RENAMED_HEADERS.get(text.lower(), text)
        pairs += [(text, to_unicode(value, "latin-1")) for value in values]
    return pairs


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _sent_protocol(response: Response) -> str:
    """The protocol the request went out with: Scrapy's HTTP/2 handler speaks HTTP/2, every other
    sends HTTP/1.1 (the response's may differ: a server may answer HTTP/1.0)."""
    return "HTTP/2" if (response.protocol or "").lower() in ("h2", "http/2", "http/2.0") else "HTTP/1.1"


def _http_headers(request: Request, response: Response) -> tuple[StatusAndHeaders, StatusAndHeaders]:
    """The response's and the request's status line and headers, as received and sent."""
    response_headers = StatusAndHeaders(f"{response.status} {_reason(response.status)}",
                                        _header_pairs(response.headers), protocol=response.protocol or "HTTP/1.1")
    protocol = _sent_protocol(response)
    parts = urlsplit(request.url)
    path = parts.path + (f"?{parts.query}" if parts.query else "") or "/"
    headers = _header_pairs(request.headers)
    if not any(name.lower() == "host" for name, _ in headers):  # added below the middlewares
        headers.insert(0, ("Host", parts.netloc))
    request_headers = StatusAndHeaders(f"{request.method} {path} {protocol}", headers,
                                       protocol=protocol, is_http_request=True)
    return response_headers, request_headers


def _version(package: str) -> str:
    return package_version(package) or "unknown"


class WarcArchiveMiddleware:
    """Write request + response records for every response; annotate the request with the location."""

    def __init__(self, crawler: Crawler, directory: Path, run_id: str, max_size: int, gzip_level: int):
        self.crawler = crawler
        settings = crawler.settings
        # What each file's warcinfo record says of the crawl (read here, once; written per file).
        self.operator = settings.get("WARC_OPERATOR") or ""
        self.run_id = run_id
        self.robots = "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore"
        self.user_agent = settings.get("USER_AGENT") or ""
        self.directory = directory
        self.output_dir = directory.parent
        self.prefix = f"{crawler.spidercls.name}-{run_id}"
        self.max_size = max_size
        self.gzip_level = gzip_level
        # The attributes below belong to the writer thread, once the crawl has started.
        self.serial = 0
        self.file: IO[bytes] | None = None
        self.name = ""
        self.writer: LeveledWARCWriter | None = None
        self.indexer = CDXJIndexer(output=None, inputs=[])
        self.index_lines: IO[str] | None = None
        self.warcinfo_id = ""
        self.stored = StoredCaptures(self.output_dir)
        # Closed files not yet listed in a manifest (the commit takes them), and the first failure.
        self.sealed: list[Path] = []
        # A closed WARC file's SHA-256, taken as it was written (read by the commit after the seal).
        self.sha256: dict[Path, str] = {}
        self.error: BaseException | None = None
        # One worker: records are written in the order responses arrive, never interleaved.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warc-writer")
        crawler.signals.connect(self.close, signal=signals.engine_stopped)
        self._open_index()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcArchiveMiddleware:
        settings = crawler.settings
        output_dir = settings.get("OUTPUT_DIR")
        if not settings.getbool("WARC_ENABLED") or not holds(output_dir):
            raise NotConfigured
        directory = Path(output_dir) / WARC_DIR
        gzip_level = settings.getint("WARC_GZIP_LEVEL")  # 0-9: checked with the run's settings
        # The commit finds it (crawler.get_downloader_middleware), seals it and lists its files.
        return cls(crawler, directory, settings.get("RUN_ID"), settings.getint("WARC_MAX_SIZE"), gzip_level)

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
        warcinfo = self.writer.create_warcinfo_record(self.name, self._warcinfo())
        self.warcinfo_id = warcinfo.rec_headers.get_header("WARC-Record-ID")
        self._write(warcinfo, 0)

    def _warcinfo(self) -> dict[str, str]:
        site = getattr(self.crawler.spider, "site", None) or self.crawler.spidercls.name
        return warcinfo_fields(
            software=f"sichuanpeace-crawler/{_version('sichuanpeace-crawler')} (Scrapy/{_version('scrapy')}; "
                     f"warcio/{_version('warcio')})",
            operator=self.operator, is_part_of=f"{site}/{self.run_id}", robots=self.robots,
            user_agent=self.user_agent)

    def _open_index(self) -> None:
        """On the reactor thread, as the middleware is made: the capture index's lookup for the
        writer thread (it opens a connection of its own there, on its first question)."""
        try:
            self.stored.lookup = state_store(self.crawler).capture_lookup()
        except Exception as error:  # no revisits then: every response archived in full
            logger.warning("Could not open the capture index of %s (%s): no revisit records", self.output_dir, error)

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

    def _write_exchange(self, url: str, body: bytes, status: int, response_headers: StatusAndHeaders,
                        request_headers: StatusAndHeaders, captured: float,
                        ip_address: str | None) -> tuple[dict[str, str | int], str | None]:
        """On the writer thread: the response (or revisit) and request records; where the response
        (or the capture the revisit refers to) is, and the payload digest of a 2xx response."""
        if self.error is not None:
            raise OSError(f"the WARC archive is broken since an earlier write failed: {self.error}")
        try:
            if self.file is None or self.file.tell() >= self.max_size:
                self._open_next()
            assert self.writer is not None and self.file is not None
            writer = self.writer
            date = warc_date(captured)

            def headers(record_type: str) -> dict[str, str]:  # in the order archivists' tools print them
                fields = {"WARC-Type": record_type, "WARC-Record-ID": writer._make_warc_id(),
                          "WARC-Target-URI": url, "WARC-Date": date, "WARC-Warcinfo-ID": self.warcinfo_id}
                return {**fields, "WARC-IP-Address": ip_address} if ip_address else fields
            digest = payload_digest(body) if 200 <= status < 300 else None
            referred = self._referred(url, status, digest)
            if referred is None:
                # With its length given, warcio hashes the body in place instead of copying it twice.
                record = self.writer.create_warc_record(url, "response", payload=io.BytesIO(body), length=len(body),
                                                        http_headers=response_headers,
                                                        warc_headers_dict={**headers("response"), **(
                                                            {"WARC-Payload-Digest": digest} if digest else {})})
            else:
                profile, capture = referred
                record = self.writer.create_warc_record(url, "revisit", http_headers=response_headers,
                                                        warc_headers_dict=headers("revisit"))
                for name, value in (("WARC-Profile", profile), ("WARC-Refers-To", capture.record_id),
                                    ("WARC-Refers-To-Target-URI", url), ("WARC-Refers-To-Date", capture.date),
                                    ("WARC-Payload-Digest", capture.digest)):
                    record.rec_headers.add_header(name, value)
            request_record = self.writer.create_warc_record(url, "request", http_headers=request_headers,
                                                            warc_headers_dict=headers("request"))
            record_id = record.rec_headers.get_header("WARC-Record-ID")
            request_record.rec_headers.add_header("WARC-Concurrent-To", record_id)
            offset = self.file.tell()  # asked, not counted: after a failed write, where the file really is
            self._write(request_record, self._write(record, offset))
        except Exception as error:
            logger.exception("WARC write failed for %s into %s", url, self.directory / f".{self.name}.open")
            self.error = error
            raise
        if referred is not None:
            self.crawler.stats.inc_value(f"warc/revisits/{'not_modified' if status == 304 else 'identical'}")
            capture = referred[1]
            return {"file": capture.file, "record_id": str(capture.record_id), "offset": capture.offset}, digest
        if digest is not None:
            self.stored.remember(url, Capture(digest, f"warc/{self.name}", offset, (self.serial, offset), status,
                                              response_headers.get_header("Content-Type") or "", date, record_id))
        return {"file": f"warc/{self.name}", "record_id": record_id, "offset": offset}, digest

    @staticmethod
    def _exchange(request: Request, response: Response) -> tuple:
        """On the reactor thread: what ``_write_exchange`` archives of a response and its request."""
        response_headers, request_headers = _http_headers(request, response)
        # The capture began when the request was sent: the download handler measured how long ago.
        captured = time.time() - float(request.meta.get("download_latency") or 0)
        ip_address = str(response.ip_address) if response.ip_address is not None else None
        return (response.url, response.body, response.status, response_headers, request_headers, captured,
                ip_address)

    async def process_response(self, request: Request, response: Response) -> Response:
        # Headers are read here, on the reactor thread; the records are made on the writer thread.
        written = self.executor.submit(self._write_exchange, *self._exchange(request, response))
        try:
            request.meta["warc"], request.meta["warc_payload_digest"] = await asyncio.wrap_future(written)
        except Exception as error:  # logged once where it failed; the request's bucket: not_archived
            raise NotArchived(f"Not archived: {error}") from error
        self.crawler.stats.inc_value("warc/records")
        return response

    def _seal(self, final: bool = False) -> list[Path]:
        """On the writer thread: close the open file (unless broken); hand over the closed ones.
        The final seal also closes the capture index's connection (on the thread that opened it),
        so the state store's own is the last to close (SQLite then folds its WAL file back)."""
        if self.error is None:
            self._close_current()
        sealed, self.sealed = self.sealed, []
        if final:
            self._close_lookup()
        return sealed

    def _close_lookup(self) -> None:
        closing = getattr(self.stored.lookup, "close", None)
        if closing is not None:
            closing()  # asked again after this (it never is): it opens again

    async def seal(self, final: bool = False) -> tuple[list[Path], BaseException | None]:
        """Close what was written so far (every response before this call), for a commit: the
        files closed since the last seal, and the archive's failure if it has one."""
        try:
            sealed = await asyncio.wrap_future(self.executor.submit(self._seal, final))
        except Exception as error:  # fsync, rename or index failed: nothing of it may be listed
            logger.exception("Sealing the WARC file failed")
            self.error = self.error or error
            sealed = []
        return sealed, self.error

    async def forget_indexed(self, files: list[str]) -> int:
        """After a slice's promotion: this run's captures in its WARC files are the capture index's
        to answer now; the writer thread lets go of them (``StoredCaptures.forget_indexed``)."""
        return await asyncio.wrap_future(self.executor.submit(self.stored.forget_indexed, set(files)))

    def close(self) -> None:
        """At the very end: stop the writer thread (the final commit sealed what it wrote)."""
        self.executor.shutdown()
        self._close_lookup()
