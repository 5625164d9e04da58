"""Counts each attempt once, when it first reaches the downloader (``crawler.accounting``)."""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler

from ..accounting import META_LINKED_FROM, STATS_ATTEMPTS, linked_from


def is_attempt(request: Request) -> bool:
    """First try of a spider request (not a retry, a redirect hop, or robots.txt)."""
    meta = request.meta
    return not (meta.get("retry_times") or meta.get("redirect_times") or meta.get("dont_obey_robotstxt"))


class AccountingMiddleware:
    """Downloader middleware, outermost: counts attempts as they first reach the downloader."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AccountingMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if is_attempt(request) and not request.meta.get("accounted"):
            request.meta["accounted"] = True
            if not request.meta.get(META_LINKED_FROM):
                # Kept in meta: redirect hops get the previous hop as their Referer.
                referer = linked_from(request)
                if referer:
                    request.meta[META_LINKED_FROM] = referer
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value(STATS_ATTEMPTS)
