"""Truncated bodies never become records.

A body cut short reaches the spider in two ways Scrapy does not stop:

- Shorter than its Content-Length: Scrapy's HTTP handler fails the download with
  ``ResponseDataLossError`` (retried, then bucket ``truncated``) as long as ``DOWNLOAD_FAIL_ON_DATALOSS``
  is on, Scrapy's default, which this project keeps. Turned off (setting or the
  ``download_fail_on_dataloss`` meta key), the response arrives flagged ``dataloss``: this
  middleware fails it instead.
- A gzip or deflate stream cut short, its Content-Length matching what was sent (a proxy or the
  server cut the stream): HttpCompressionMiddleware inflates what there is without a word.

The middleware sits just outside HttpCompressionMiddleware (590 in DOWNLOADER_MIDDLEWARES_BASE), so
its ``process_response`` sees the body as received, before it is inflated: a 2xx body whose
outermost gzip/deflate stream did not reach its end (zlib's ``eof``: last block, trailer and
checksum read) or is corrupt is retried (usually transient), then fails with ``TruncatedBody``
(accounting bucket ``truncated``). The WARC middleware (950, next to the downloader) still
archives what was received.
"""

from __future__ import annotations

import logging
import zlib

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.http import Response

from ..exceptions import TruncatedBody
from .retry import backoff_seconds

logger = logging.getLogger(__name__)

# Its place in DOWNLOADER_MIDDLEWARES: between HttpCompressionMiddleware (590) and RedirectMiddleware (600).
PRIORITY = 595
COMPRESSION_MIDDLEWARE = "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware"
GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 64 * 1024


def _inflate_to_end(decompressor: zlib._Decompress, data: bytes, budget: int) -> int | None:
    """Feed ``data`` through ``decompressor``, output discarded, in bounded chunks; the bytes it
    inflated to, or None past ``budget`` (0: no bound). zlib.error for a corrupt stream."""
    size = 0
    chunk = decompressor.decompress(data, CHUNK)
    while True:
        size += len(chunk)
        if budget and size > budget:
            return None
        if decompressor.eof:
            return size
        if decompressor.unconsumed_tail:
            chunk = decompressor.decompress(decompressor.unconsumed_tail, CHUNK)
        else:  # all input read: only output zlib still holds back may follow
            chunk = decompressor.decompress(b"", CHUNK)
            if not chunk:
                return size


def gzip_problem(body: bytes, max_size: int = 0) -> str | None:
    """Why a gzip body is not whole (cut short, corrupt), or None (whole, not gzip at all, or
    inflating past ``max_size``: those are HttpCompressionMiddleware's to drop)."""
    rest, budget, member = body, max_size, 1
    if not rest.startswith(GZIP_MAGIC):
        return None
    while True:
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            size = _inflate_to_end(decompressor, rest, budget)
        except zlib.error as error:
            return f"gzip stream corrupt (member {member}: {error})"
        if size is None:
            return None
        if not decompressor.eof:
            return f"gzip stream cut short (member {member} has no end)"
        rest = decompressor.unused_data
        # Bytes after a member that are not another member are ignored, as Scrapy's gunzip does.
        if not rest.startswith(GZIP_MAGIC):
            return None
        budget = max(budget - size, 1) if budget else 0
        member += 1


def deflate_problem(body: bytes, max_size: int = 0) -> str | None:
    """Why a deflate body (zlib-wrapped, or raw as some servers send it) is not whole, or None."""
    for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):
        decompressor = zlib.decompressobj(wbits)
        try:
            size = _inflate_to_end(decompressor, body, max_size)
        except zlib.error as error:
            if wbits > 0:
                continue  # not zlib-wrapped: try raw deflate, as HttpCompressionMiddleware does
            return f"deflate stream corrupt ({error})"
        if size is None:
            return None
        return None if decompressor.eof else "deflate stream cut short (no end)"
    return None  # pragma: no cover


def stream_problem(response: Response, max_size: int = 0) -> str | None:
    """Why the body's outermost Content-Encoding stream (gzip or deflate) is not whole, or None."""
    if not response.body:
        return None
    encodings = [coding.strip().lower() for header in response.headers.getlist("Content-Encoding")
                 for coding in header.split(b",") if coding.strip()]
    if not encodings:
        return None
    # Only the outermost coding (the last listed) can be read as received; inner ones are rare.
    outermost = encodings[-1]
    if outermost in (b"gzip", b"x-gzip"):
        return gzip_problem(response.body, max_size)
    if outermost == b"deflate":
        return deflate_problem(response.body, max_size)
    return None


class TruncationMiddleware:
    """Downloader middleware: a 2xx body cut short is retried, then dropped as TruncatedBody."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        settings = crawler.settings
        self.max_size = settings.getint("DOWNLOAD_MAXSIZE")
        self.retry_enabled = settings.getbool("RETRY_ENABLED")
        self.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE")
        self.backoff_cap = settings.getfloat("RETRY_BACKOFF_MAX")
        if not settings.getbool("DOWNLOAD_FAIL_ON_DATALOSS"):
            logger.info("DOWNLOAD_FAIL_ON_DATALOSS is off: bodies shorter than their Content-Length "
                        "are failed here instead (bucket truncated)")
        priorities = settings.get_component_priority_dict_with_base("DOWNLOADER_MIDDLEWARES")
        mine = priorities.get(f"{__name__}.{type(self).__name__}")
        compression = priorities.get(COMPRESSION_MIDDLEWARE)
        if mine is not None and compression is not None and mine <= compression:
            logger.warning("%s (%s) must come after %s (%s) in DOWNLOADER_MIDDLEWARES to see bodies "
                           "before they are inflated", type(self).__name__, mine, COMPRESSION_MIDDLEWARE, compression)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TruncationMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        # Only a 2xx body can become a record; HEAD has none.
        if request.method == "HEAD" or not 200 <= response.status < 300:
            return response
        if "dataloss" in response.flags:
            problem: str | None = "body shorter than its Content-Length"
        else:
            problem = stream_problem(response, request.meta.get("download_maxsize", self.max_size))
        if problem is None:
            return response
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("truncation/detected")
        retry = self._retry(request, problem)
        if retry is not None:
            logger.info("Truncated body (%s), retrying: %s", problem, response.url)
            return retry
        raise TruncatedBody(f"{problem} ({len(response.body)} bytes received)", response)

    def _retry(self, request: Request, problem: str) -> Request | None:
        if not self.retry_enabled or request.meta.get("dont_retry"):
            return None
        assert self.crawler.spider is not None  # a response reaches the middleware while the spider runs
        retry = get_retry_request(request, spider=self.crawler.spider, reason="truncated_body")
        if retry is not None:
            retry.meta["retry_delay"] = backoff_seconds(retry.meta["retry_times"], self.backoff_base,
                                                        self.backoff_cap)
        return retry
