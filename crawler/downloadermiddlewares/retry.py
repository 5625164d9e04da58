"""Retry with exponential backoff (and Retry-After) on top of Scrapy's RetryMiddleware.

Scrapy retries at once; a government site answering 5xx, 429 or a WAF's 412/521 needs time. The
delay is awaited before the retried request reaches the downloader, so other requests go on.

A host that cannot be reached at all is not retried: while nothing has answered this run, a DNS
lookup that failed or a refused connection (offline, a typo in base_url, a mirror not started) ends
the run at once, exit code 4, with one line from the commit: ``cannot reach HOST: DNS lookup failed
(exit 4)``. Once the site has answered, the same errors are retried with backoff like timeouts and
5xx (a site that goes down mid-run may come back).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from scrapy import Request
from scrapy import exceptions as scrapy_exceptions
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet import error as tx_error

from ..exceptions import Abandoned, Unreachable
from ..run.stopping import stop_requested

logger = logging.getLogger(__name__)

# Answers that mean "the host is overloaded or limiting us": the whole host slows down.
SLOW_DOWN_STATUSES = frozenset({429, 503, 412, 521})


def retry_after_seconds(value: bytes | None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


# Connection failures that say the host cannot be reached at all, each with what the run's line says.
# Scrapy 2.13+ raises its own exceptions for them; Twisted's are what other download handlers raise.
UNREACHABLE_ERRORS: tuple[tuple[type[Exception], str], ...] = (
    (getattr(scrapy_exceptions, "CannotResolveHostError", tx_error.DNSLookupError), "DNS lookup failed"),
    (tx_error.DNSLookupError, "DNS lookup failed"),
    (getattr(scrapy_exceptions, "DownloadConnectionRefusedError", tx_error.ConnectionRefusedError),
     "connection refused"),
    (tx_error.ConnectionRefusedError, "connection refused"),
    (tx_error.NoRouteError, "no route to host"),
)
# Stats keys: the host and reason of an unreachable site (crawler/run/commit.py prints them).
STATS_UNREACHABLE_HOST = "retry/unreachable_host"
STATS_UNREACHABLE_REASON = "retry/unreachable_reason"


def unreachable_reason(exception: BaseException) -> str | None:
    """Why a failed connection says the host cannot be reached at all, or None (a timeout, a reset ...)."""
    return next((reason for kind, reason in UNREACHABLE_ERRORS if isinstance(exception, kind)), None)


def backoff_seconds(attempt: int, base: float, cap: float) -> float:
    """How long retry number ``attempt`` (1, 2, ...) waits: ``base * 2**(attempt - 1)``, jittered, capped."""
    return min(cap, base * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))


class BackoffRetryMiddleware(RetryMiddleware):
    """RetryMiddleware whose retries wait ``base * 2**attempt`` seconds (jittered, capped)."""

    def __init__(self, crawler: Crawler):
        super().__init__(crawler.settings)
        self.crawler = crawler
        self.base = crawler.settings.getfloat("RETRY_BACKOFF_BASE")
        self.cap = crawler.settings.getfloat("RETRY_BACKOFF_MAX")
        self.retry_after_max = crawler.settings.getfloat("RETRY_AFTER_MAX")
        self.answered = False  # whether any response came this run: then nothing is "unreachable"
        self.unreachable: Unreachable | None = None  # once decided, every later request fails at once
        # Set at the first Ctrl-C/SIGTERM: a retry waiting out its backoff is given up at once.
        self.stopping = asyncio.Event()
        crawler.signals.connect(self._stop_requested, signal=stop_requested)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        return cls(crawler)

    def _delay(self, retry: Request, response: Response | None) -> float:
        asked = retry_after_seconds(response.headers.get("Retry-After")) if response is not None else None
        if asked is not None:  # the server said how long: wait that long, within RETRY_AFTER_MAX
            return min(asked, self.retry_after_max)
        return backoff_seconds(retry.meta.get("retry_times", 1), self.base, self.cap)

    def _slow_down_host(self, request: Request, delay: float) -> None:
        """A struggling or rate-limiting host: every request to it waits, not only the retry."""
        downloader = self.crawler.engine.downloader if self.crawler.engine else None
        key = request.meta.get("download_slot") or urlparse_cached(request).hostname
        slot = downloader.slots.get(key) if downloader is not None and key is not None else None
        if slot is not None:
            slot.delay = min(max(slot.delay, delay / 2), self.cap)

    # Without the ``spider`` argument, which Scrapy deprecated (it passes it only to methods that
    # require it): the base class still takes it, optionally, which mypy calls an incompatible override.
    def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        self.answered = True
        result = super().process_response(request, response)
        if isinstance(result, Request):
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value(f"retry/backoff/{response.status}")
            result.meta["retry_delay"] = delay = self._delay(result, response)
            if response.status in SLOW_DOWN_STATUSES:
                self._slow_down_host(request, delay)
        return result

    def process_exception(  # type: ignore[override]  # (as process_response)
            self, request: Request, exception: Exception) -> Request | Response | None:
        reason = unreachable_reason(exception)
        if reason is not None and not self.answered:
            self._unreachable(request, reason)
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            result.meta["retry_delay"] = self._delay(result, None)
        return result

    def _unreachable(self, request: Request, reason: str) -> None:
        """Nothing answered and the host cannot be reached: the run ends (once), the request fails unretried."""
        stats = self.crawler.stats
        assert stats is not None
        if self.unreachable is None:
            self.unreachable = Unreachable(urlparse_cached(request).hostname or "", reason)
            host = self.unreachable.host
            stats.set_value(STATS_UNREACHABLE_HOST, host)
            stats.set_value(STATS_UNREACHABLE_REASON, reason)
            logger.info("%s cannot be reached (%s) and nothing answered: the run ends, not retried", host, reason)
            if self.crawler.engine is not None:
                asyncio.ensure_future(self.crawler.engine.close_spider_async(reason="unreachable"))
        raise Unreachable(self.unreachable.host, self.unreachable.reason)

    def _stop_requested(self, in_flight: int) -> None:
        self.stopping.set()

    async def process_request(self, request: Request) -> None:
        if self.unreachable is not None:  # the home page waited for robots.txt: not asked for at all
            raise Unreachable(self.unreachable.host, self.unreachable.reason)
        delay = request.meta.pop("retry_delay", 0)
        if delay and not self.stopping.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), delay)
        if self.stopping.is_set():  # a stopping run starts no download (crawler/run/stopping.py)
            raise Abandoned
