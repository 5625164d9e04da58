"""Dedupe pipeline: one record per (site, id) within a run."""

from __future__ import annotations

import logging

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from ..accounting import DUPLICATE, DropRecord
from ..items import ArticleItem

logger = logging.getLogger(__name__)


class DedupePipeline:
    """Drop a second record for an article already emitted in this run (http/https, query noise)."""

    def __init__(self, stats: StatsCollector):
        self.stats = stats
        self.seen: set[tuple[str, str]] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupePipeline:
        assert crawler.stats is not None
        return cls(crawler.stats)

    def process_item(self, item: ArticleItem) -> ArticleItem:
        key = (item.site, item.id)
        if key in self.seen:
            self.stats.inc_value("dedupe/duplicate")
            logger.info("Duplicate record %s (id %s) dropped", item.url, item.id)
            raise DropRecord(f"{item.url}: duplicate of id {item.id}", DUPLICATE)
        self.seen.add(key)
        return item
