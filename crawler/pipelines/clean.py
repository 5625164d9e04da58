"""Clean pipeline: raw body blocks in, boilerplate-free body, images with captions and byline out."""

from __future__ import annotations

import logging

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from ..items import STATUS_DELETED, ArticleItem

logger = logging.getLogger(__name__)


class CleanPipeline:
    """Apply the named boilerplate rules; each removal counts in ``clean/<rule>``."""

    def __init__(self, stats: StatsCollector):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CleanPipeline:
        assert crawler.stats is not None
        return cls(crawler.stats)

    def process_item(self, item: ArticleItem) -> ArticleItem:
        if item.status == STATUS_DELETED:
            return item
        for rule, count in item.clean().items():
            self.stats.inc_value(f"clean/{rule}", count)
        return item
