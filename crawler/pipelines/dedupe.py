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
        # Ids per site (a fleet worker may see more than one): no (site, id) tuple per record.
        self.seen: dict[str, set[str]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupePipeline:
        assert crawler.stats is not None
        return cls(crawler.stats)

    def process_item(self, item: ArticleItem) -> ArticleItem:
        seen = self.seen.setdefault(item.site, set())
        if item.id in seen:
            self.stats.inc_value("dedupe/duplicate")
            logger.info("Duplicate record %s (id %s) dropped", item.url, item.id)
            raise DropRecord(f"{item.url}: duplicate of id {item.id}", DUPLICATE)
        seen.add(item.id)
        return item
