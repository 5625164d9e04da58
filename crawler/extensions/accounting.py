"""Buckets the attempts whose fate the pipelines, the scheduler or a raising callback decide, and
keeps the run's broken links and missing articles for its manifest."""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from twisted.python.failure import Failure

from ..accounting import (
    DUPLICATE,
    FAILURE_BUCKETS,
    META_BUCKET,
    META_ESCAPED,
    PARSE_FAILURE,
    RECORD,
    STATS_BUCKET,
    count,
    meta_of,
)

logger = logging.getLogger(__name__)


class AccountingExtension:
    """Buckets the attempts whose fate is decided by the pipelines, the scheduler or a raising
    callback; keeps the run's broken links and missing articles (for the run's manifest)."""

    def __init__(self, crawler: Crawler, list_max: int):
        self.crawler = crawler
        self.list_max = list_max
        # {"url", "status", "linked_from"}: the first ``list_max`` of each; the rest only counted.
        self.broken_links: list[dict[str, Any]] = []
        self.missing_articles: list[dict[str, Any]] = []
        self.broken_links_omitted = 0
        self.missing_articles_omitted = 0
        crawler.signals.connect(self.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(self.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(self.request_dropped, signal=signals.request_dropped)
        crawler.signals.connect(self.spider_error, signal=signals.spider_error)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AccountingExtension:
        # The run report and the spider's errbacks find it with crawler.get_extension.
        return cls(crawler, crawler.settings.getint("ACCOUNTING_LIST_MAX"))

    def broken_link(self, url: str, status: int | None, linked_from: str | None) -> None:
        if len(self.broken_links) < self.list_max:
            self.broken_links.append({"url": url, "status": status, "linked_from": linked_from})
        else:
            self.broken_links_omitted += 1

    def missing_article(self, url: str, status: int | None, linked_from: str | None) -> None:
        if len(self.missing_articles) < self.list_max:
            self.missing_articles.append({"url": url, "status": status, "linked_from": linked_from})
        else:
            self.missing_articles_omitted += 1

    def item_scraped(self, item: Any, response: Response, spider: Spider) -> None:
        count(self.crawler, RECORD, response)

    def item_dropped(self, item: Any, response: Response, exception: BaseException, spider: Spider) -> None:
        count(self.crawler, getattr(exception, "bucket", PARSE_FAILURE), response)

    def spider_error(self, failure: Failure, response: Response | Failure, spider: Spider) -> None:
        """A callback (or errback) raised: its attempt is one parse failure, whatever else it was
        counted as before (a listing read half-way, a record whose links then broke)."""
        meta = meta_of(response)
        if meta is None:
            count(self.crawler, PARSE_FAILURE)
            return
        if meta.get(META_ESCAPED):
            return
        meta[META_ESCAPED] = True
        before = meta.get(META_BUCKET)
        if before in FAILURE_BUCKETS:
            return  # already one failure
        assert self.crawler.stats is not None
        if before is not None:
            self.crawler.stats.inc_value(STATS_BUCKET + before, -1)
        meta[META_BUCKET] = PARSE_FAILURE
        self.crawler.stats.inc_value(STATS_BUCKET + PARSE_FAILURE)

    def request_dropped(self, request: Request, spider: Spider) -> None:
        # The scheduler's duplicate filter: only a redirect hop has been counted as an attempt.
        if request.meta.get("accounted"):
            logger.info("Redirect to an already crawled URL: %s", request.url)
            count(self.crawler, DUPLICATE, request)
