"""Accounting: every URL the run attempts ends in exactly one bucket, and the buckets add up.

An attempt is a request the spider made, counted once when it first reaches the downloader
(retries and redirects continue the same attempt; robots.txt is the middleware's, not the
spider's). Its bucket is set where its fate is known: the item pipelines' outcome for an article
that yielded a record, the spider for pages that yield none, the errback for failures, and the
scheduler when a redirect lands on a URL already crawled. Stats: ``accounting/attempts`` and
``accounting/bucket/<bucket>``; the run's manifest shows both and whether they balance.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.httpobj import urlparse_cached
from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

# Buckets, each with what lands in it.
RECORD = "record"                      # a record was written (new, modified, deleted)
UNCHANGED = "unchanged"                # known content (same hash, or 304 Not Modified)
LISTING = "listing"                    # home, site map or list page, read for links
NOT_ARTICLE = "soft_404"               # article URL whose page is not an article (soft 404, empty, binary)
HTTP_ERROR = "http_error"              # 4xx, or a 5xx not retried
RETRIES_EXHAUSTED = "retries_exhausted"  # 5xx/429/412/521, timeouts, dropped connections, after all retries
OFFSITE = "offsite"                    # redirected to another host or a non-HTTP scheme
OVERSIZE = "oversize"                  # larger than DOWNLOAD_MAXSIZE (also once decompressed)
REDIRECT_DROPPED = "redirect_dropped"  # redirect loop or chain longer than REDIRECT_MAX_TIMES
ROBOTS = "robots"                      # forbidden by robots.txt
PARSE_FAILURE = "parse_failure"        # the page broke extraction, or its record was invalid
DUPLICATE = "duplicate"                # same article as another URL of this run

STATS_ATTEMPTS = "accounting/attempts"
STATS_BUCKET = "accounting/bucket/"


def count(crawler: Crawler, bucket: str) -> None:
    """Put one attempt in ``bucket``."""
    assert crawler.stats is not None
    crawler.stats.inc_value(STATS_BUCKET + bucket)


class DropRecord(DropItem):
    """DropItem that says which bucket its attempt goes to."""

    def __init__(self, message: str, bucket: str, log_level: str | None = None):
        super().__init__(message, log_level=log_level)
        self.bucket = bucket


def classify_failure(failure: Failure) -> str:
    """The bucket of a request that failed in the downloader or on its response status."""
    error = failure.value
    if isinstance(error, HttpError):
        response: Response = error.response
        if 300 <= response.status < 400:  # a redirect not followed (to file:, data:, ftp: ...)
            return REDIRECT_DROPPED
        retried = response.request is not None and response.request.meta.get("retry_times", 0) > 0
        return RETRIES_EXHAUSTED if retried or response.status >= 500 or response.status == 429 else HTTP_ERROR
    message = str(error).lower()
    if isinstance(error, IgnoreRequest):
        if "robots.txt" in message:
            return ROBOTS
        if "redirect" in message:
            return REDIRECT_DROPPED
        if "offsite" in message or "scheme" in message:
            return OFFSITE
        if "max size" in message or "maxsize" in message or "larger than" in message:
            return OVERSIZE
        return OFFSITE
    if "maxsize" in message or "max size" in message or "larger than" in message or "warnsize" in message:
        return OVERSIZE
    return RETRIES_EXHAUSTED


def _on_domains(request: Request, domains: list[str]) -> bool:
    host = (urlparse_cached(request).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in domains)


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
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value(STATS_ATTEMPTS)


class AccountingExtension:
    """Buckets the attempts whose fate is decided by the pipelines or the scheduler."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        crawler.signals.connect(self.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(self.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(self.request_dropped, signal=signals.request_dropped)
        crawler.signals.connect(self.request_scheduled, signal=signals.request_scheduled)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AccountingExtension:
        return cls(crawler)

    def item_scraped(self, item: Any, response: Response, spider: Spider) -> None:
        count(self.crawler, RECORD)

    def item_dropped(self, item: Any, response: Response, exception: BaseException, spider: Spider) -> None:
        count(self.crawler, getattr(exception, "bucket", PARSE_FAILURE))

    def request_scheduled(self, request: Request, spider: Spider) -> None:
        # Scrapy's OffsiteMiddleware drops an off-site redirect hop here, silently (no errback).
        domains = getattr(spider, "allowed_domains", None)
        if request.meta.get("accounted") and domains and not _on_domains(request, domains):
            logger.warning("Request failed (%s): %s: redirected off-site to %s",
                           OFFSITE, request.meta.get("redirect_urls", [request.url])[0], request.url)
            count(self.crawler, OFFSITE)

    def request_dropped(self, request: Request, spider: Spider) -> None:
        # The scheduler's duplicate filter: only a redirect hop has been counted as an attempt.
        if request.meta.get("accounted"):
            logger.info("Redirect to an already crawled URL: %s", request.url)
            count(self.crawler, DUPLICATE)
