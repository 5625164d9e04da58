"""Retry with exponential backoff (and Retry-After) on top of Scrapy's RetryMiddleware.

Scrapy retries at once; a government site answering 5xx, 429 or a WAF's 412/521 needs time. The
delay is awaited before the retried request reaches the downloader, so other requests go on.
"""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached

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
        slot = downloader.slots.get(key) if downloader is not None else None
        if slot is not None:
            slot.delay = min(max(slot.delay, delay / 2), self.cap)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        result = super().process_response(request, response)
        if isinstance(result, Request):
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value(f"retry/backoff/{response.status}")
            result.meta["retry_delay"] = delay = self._delay(result, response)
            if response.status in SLOW_DOWN_STATUSES:
                self._slow_down_host(request, delay)
        return result

    def process_exception(self, request: Request, exception: Exception) -> Request | Response | None:
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            result.meta["retry_delay"] = self._delay(result, None)
        return result

    async def process_request(self, request: Request) -> None:
        delay = request.meta.pop("retry_delay", 0)
        if delay:
            await asyncio.sleep(delay)
