"""Raw archive: every HTTP response (and its request) into gzipped WARC 1.1 files, with warcio.

A downloader middleware placed next to the downloader, so it sees each response as received:
before decompression, before redirects are followed, robots.txt included. Files rotate by size
(WARC_MAX_SIZE) and at each commit of the run (``seal``), are written hidden (``.<name>.open``) and
renamed when closed, and get a CDXJ index beside them. A failed write leaves the archive broken:
no later seal succeeds, so no slice that might point into a torn file is committed. Only a
``scrapy crawl`` holding the OUTPUT_DIR lock archives; other commands write nothing. The response record's position is put in ``request.meta["warc"]`` so the
record that came from it can point at its source, and a 2xx response's payload digest (``sha1:…``,
as in its record) in ``request.meta["warc_payload_digest"]``.

All file work (building records, digests, gzip, writes, rotation, indexes, the revisit lookups)
happens in a child process, the WARC writer (``crawler.archive.writer``), in the order responses
arrive: the reactor thread only writes each response's bytes and headers into a socket and reads
back where its record went, and the writer's Python work no longer competes for the crawl's GIL.
The seal and kill semantics are the writer's (see there): files are sealed only at a commit point,
and the child dies with the crawl, leaving ``.open`` files to recovery. Each record is its own gzip
member, at WARC_GZIP_LEVEL. Index lines are made as records are written, by cdxj-indexer's own
per-record code, and sorted into ``.cdxj`` when the file closes, so closing never re-reads the file;
the ``.cdxj`` is written hidden and renamed, and the commit lists it in the manifest beside its WARC
file. If the writer fails or dies, the response being archived fails, and so does every later seal:
the run's commit reports it and the run fails (OUTPUT_FAILED).

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
import collections
import logging
import os
import pickle
import socket
import subprocess
import sys
import time
from pathlib import Path

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from ..archive.warc import SERVER_NOT_MODIFIED, warcinfo_fields
from ..archive.writer import FAILED, HEADER, SEAL, SEALED, WRITE, WriterConfig, frame
from ..run.lock import held_descriptor, holds
from ..state.stores import STATE_FILE
from ..versions import package_version

logger = logging.getLogger(__name__)

# How long the end of the crawl waits for the writer to exit once its input is closed (it has
# sealed everything by then: the final commit asked it to).
WRITER_EXIT_TIMEOUT = 30


def _version(package: str) -> str:
    return package_version(package) or "unknown"


def _python_path() -> str:
    """PYTHONPATH for the writer: this package's own folder first, wherever the crawl was started."""
    package_root = str(Path(__file__).resolve().parents[2])
    return os.pathsep.join([package_root, *filter(None, [os.environ.get("PYTHONPATH")])])


class WriterChannel(asyncio.Protocol):
    """The crawl's end of the socket to the writer: frames out without blocking the reactor, and
    answers in, each resolving the oldest request still waiting (the writer answers in order)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiting: collections.deque[asyncio.Future] = collections.deque()
        self.buffer = bytearray()
        self.lost: str | None = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= HEADER.size:
            size = HEADER.unpack_from(self.buffer)[0]
            if len(self.buffer) < HEADER.size + size:
                return
            answer = pickle.loads(bytes(self.buffer[HEADER.size:HEADER.size + size]))
            del self.buffer[:HEADER.size + size]
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(answer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = f"the WARC writer process is gone ({exc or 'its end of the socket closed'})"
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_exception(OSError(self.lost))

    def ask(self, message: tuple) -> asyncio.Future:
        """Send a request; the future gets its answer."""
        waiter = asyncio.get_running_loop().create_future()
        if self.lost is not None or self.transport is None or self.transport.is_closing():
            waiter.set_exception(OSError(self.lost or "the WARC writer process is closed"))
            return waiter
        self.waiting.append(waiter)
        self.transport.write(frame(message))
        return waiter


class WarcArchiveMiddleware:
    """Write request + response records for every response; annotate the request with the location."""

    def __init__(self, crawler: Crawler, directory: Path, prefix: str, max_size: int, gzip_level: int):
        self.crawler = crawler
        self.directory = directory
        self.output_dir = directory.parent
        self.prefix = prefix
        self.max_size = max_size
        self.gzip_level = gzip_level
        # A closed WARC file's SHA-256, taken as it was written (read by the commit after the seal).
        self.sha256: dict[Path, str] = {}
        self.error: BaseException | None = None  # the archive's first failure
        self.process: subprocess.Popen | None = None
        self.channel: WriterChannel | None = None
        self.socket: socket.socket | None = None  # the crawl's end of the socket to the writer
        self.starting: asyncio.Future | None = None
        crawler.signals.connect(self.close, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcArchiveMiddleware:
        settings = crawler.settings
        if not settings.getbool("WARC_ENABLED") or not holds(settings.get("OUTPUT_DIR")):
            raise NotConfigured
        directory = Path(settings.get("OUTPUT_DIR")) / "warc"
        prefix = f"{crawler.spidercls.name}-{settings.get('RUN_ID')}"
        gzip_level = settings.getint("WARC_GZIP_LEVEL")  # 0-9: checked with the run's settings
        # The commit finds it (crawler.get_downloader_middleware), seals it and lists its files.
        return cls(crawler, directory, prefix, settings.getint("WARC_MAX_SIZE"), gzip_level)

    def _warcinfo(self) -> dict[str, str]:
        settings = self.crawler.settings
        site = getattr(self.crawler.spider, "site", None) or self.crawler.spidercls.name
        return warcinfo_fields(
            software=f"sichuanpeace-crawler/{_version('sichuanpeace-crawler')} (Scrapy/{_version('scrapy')}; "
                     f"warcio/{_version('warcio')})",
            operator=settings.get("WARC_OPERATOR") or "", is_part_of=f"{site}/{settings.get('RUN_ID')}",
            robots="obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
            user_agent=settings.get("USER_AGENT") or "")

    def _config(self) -> WriterConfig:
        settings = self.crawler.settings
        redis_url = settings.get("REDIS_URL") or None
        return WriterConfig(str(self.directory), self.prefix, self.max_size, self.gzip_level, self._warcinfo(),
                            state_path=None if redis_url else str(self.output_dir / STATE_FILE),
                            redis_url=redis_url, output_dir=str(self.output_dir))

    async def _channel(self) -> WriterChannel:
        """The writer, started on first need (a crawl that archives nothing starts none)."""
        if self.channel is not None:
            return self.channel
        if self.starting is None:
            self.starting = asyncio.ensure_future(self._start())
        return await asyncio.shield(self.starting)

    async def _start(self) -> WriterChannel:
        ours, theirs = socket.socketpair()
        lock = held_descriptor(self.output_dir)  # held by the writer too: no later run starts while it writes
        try:
            # stdin and stdout: its end of the socket; stderr: the crawl's.
            self.process = subprocess.Popen([sys.executable, "-m", "crawler.archive.writer"], stdin=theirs,
                                            stdout=theirs, pass_fds=(lock,) if lock is not None else (),
                                            env={**os.environ, "PYTHONPATH": _python_path()})
        finally:
            theirs.close()
        self.socket = ours
        _, channel = await asyncio.get_running_loop().connect_accepted_socket(WriterChannel, ours)
        channel.transport.write(frame(self._config()))  # type: ignore[union-attr]
        self.channel = channel
        logger.debug("WARC writer process started (pid %s)", self.process.pid)
        return channel

    @staticmethod
    def _exchange(request: Request, response: Response) -> tuple:
        """What the writer archives of a response and its request, as plain values."""
        # The capture began when the request was sent: the download handler measured how long ago.
        captured = time.time() - float(request.meta.get("download_latency") or 0)
        ip_address = str(response.ip_address) if response.ip_address is not None else None
        return (response.url, response.body, response.status, list(response.headers.items()), response.protocol,
                request.method, request.url, list(request.headers.items()), captured, ip_address)

    async def process_response(self, request: Request, response: Response) -> Response:
        if self.error is not None:
            raise OSError(f"the WARC archive is broken since an earlier write failed: {self.error}")
        channel = await self._channel()
        answer = await self._ask(channel, (WRITE, *self._exchange(request, response)), response.url)
        _, file, record_id, offset, digest, profile = answer
        request.meta["warc"] = {"file": file, "record_id": record_id, "offset": offset}
        request.meta["warc_payload_digest"] = digest
        if profile is not None:
            self.crawler.stats.inc_value(
                f"warc/revisits/{'not_modified' if profile == SERVER_NOT_MODIFIED else 'identical'}")
        self.crawler.stats.inc_value("warc/records")
        return response

    async def _ask(self, channel: WriterChannel, message: tuple, what: str) -> tuple:
        """The writer's answer; its failure breaks the archive (logged once) and is raised."""
        try:
            answer = await channel.ask(message)
            if answer[0] == FAILED:
                raise OSError(answer[1])
        except OSError as error:
            if self.error is None:
                logger.error("WARC write failed for %s into %s: %s", what, self.directory, error)
                self.error = error
            raise
        return answer

    async def seal(self, final: bool = False) -> tuple[list[Path], BaseException | None]:
        """Close what was written so far (every response before this call), for a commit: the
        files closed since the last seal, and the archive's failure if it has one."""
        if self.channel is None and self.starting is None:
            return [], self.error  # nothing written yet
        try:
            channel = await self._channel()
            answer = await self._ask(channel, (SEAL, final), "the seal")
        except OSError:  # fsync, rename or index failed: nothing of it may be listed
            return [], self.error
        assert answer[0] == SEALED
        self.sha256.update({Path(path): digest for path, digest in answer[2].items()})
        return [Path(path) for path in answer[1]], self.error

    def close(self) -> None:
        """At the very end: end the writer's input; it exits (the final commit sealed what it wrote)."""
        if self.socket is not None:
            # Now, not when the reactor next turns (the transport's close): the wait below blocks it.
            try:
                self.socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self.channel is not None and self.channel.transport is not None:
            self.channel.transport.close()
        if self.process is not None:
            try:
                self.process.wait(timeout=WRITER_EXIT_TIMEOUT)
            except subprocess.TimeoutExpired:
                logger.error("The WARC writer process (pid %s) did not exit: killed", self.process.pid)
                self.process.kill()
                self.process.wait()
