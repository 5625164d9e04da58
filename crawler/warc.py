"""Raw archive: every HTTP response (and its request) into gzipped WARC 1.1 files, with warcio.

A downloader middleware placed next to the downloader, so it sees each response as received:
before decompression, before redirects are followed, robots.txt included. Files rotate by size
(WARC_MAX_SIZE), are written hidden (``.<name>.open``) and renamed when closed, and get a CDXJ
index beside them. The response record's position is put in ``request.meta["warc"]`` so the
record that came from it can point at its source.
"""

from __future__ import annotations

import io
import logging
import os
from http import HTTPStatus
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from cdxj_indexer import CDXJIndexer
from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Headers, Response
from scrapy.utils.python import to_unicode
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from .feeds import fsync_dir

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


class WarcArchiveMiddleware:
    """Write request + response records for every response; annotate the request with the location."""

    def __init__(self, crawler: Crawler, directory: Path, prefix: str, max_size: int):
        self.crawler = crawler
        self.directory = directory
        self.prefix = prefix
        self.max_size = max_size
        self.serial = 0
        self.file: IO[bytes] | None = None
        self.name = ""
        self.writer: WARCWriter | None = None
        self.closed_files: list[Path] = []
        crawler.signals.connect(self.close, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcArchiveMiddleware:
        settings = crawler.settings
        if not settings.getbool("WARC_ENABLED"):
            raise NotConfigured
        directory = Path(settings.get("OUTPUT_DIR")) / "warc"
        prefix = f"{crawler.spidercls.name}-{settings.get('RUN_ID')}"
        middleware = cls(crawler, directory, prefix, settings.getint("WARC_MAX_SIZE"))
        crawler.warc_archive = middleware  # the run report lists its files
        return middleware

    def _open_next(self) -> None:
        self._close_current()
        self.serial += 1
        self.directory.mkdir(parents=True, exist_ok=True)
        self.name = f"{self.prefix}-{self.serial:05d}.warc.gz"
        self.file = (self.directory / f".{self.name}.open").open("wb")
        self.writer = WARCWriter(self.file, gzip=True, warc_version="1.1")
        info = {"software": "sichuanpeace-archive crawler (Scrapy, warcio)", "format": "WARC File Format 1.1"}
        self.writer.write_record(self.writer.create_warcinfo_record(self.name, info))

    def _close_current(self) -> None:
        if self.file is None:
            return
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        final = self.directory / self.name
        (self.directory / f".{self.name}.open").replace(final)
        fsync_dir(self.directory)
        self._index(final)
        self.closed_files.append(final)
        self.file = self.writer = None

    @staticmethod
    def _index(path: Path) -> None:
        """Write ``<file>.cdxj`` beside a closed WARC file."""
        index = path.with_name(path.name + ".cdxj")
        with index.open("w", encoding="utf-8") as out:
            CDXJIndexer(output=out, inputs=[str(path)], sort=True).process_all()

    def process_response(self, request: Request, response: Response) -> Response:
        if self.file is None or self.file.tell() >= self.max_size:
            self._open_next()
        assert self.writer is not None and self.file is not None
        url = response.url
        protocol = response.protocol or "HTTP/1.1"
        response_headers = StatusAndHeaders(f"{response.status} {_reason(response.status)}",
                                            _header_pairs(response.headers), protocol=protocol)
        record = self.writer.create_warc_record(url, "response", payload=io.BytesIO(response.body),
                                                http_headers=response_headers)
        parts = urlsplit(request.url)
        path = parts.path + (f"?{parts.query}" if parts.query else "") or "/"
        headers = _header_pairs(request.headers)
        if not any(name.lower() == "host" for name, _ in headers):  # added below the middlewares
            headers.insert(0, ("Host", parts.netloc))
        request_headers = StatusAndHeaders(f"{request.method} {path} {protocol}", headers,
                                           protocol=protocol, is_http_request=True)
        request_record = self.writer.create_warc_record(url, "request", http_headers=request_headers)
        request_record.rec_headers.add_header("WARC-Concurrent-To", record.rec_headers.get_header("WARC-Record-ID"))
        offset = self.file.tell()
        self.writer.write_record(record)
        self.writer.write_record(request_record)
        self.crawler.stats.inc_value("warc/records")
        request.meta["warc"] = {"file": f"warc/{self.name}",
                                "record_id": record.rec_headers.get_header("WARC-Record-ID"),
                                "offset": offset}
        return response

    def close(self) -> None:
        self._close_current()

