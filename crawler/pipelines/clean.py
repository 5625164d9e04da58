"""Clean pipeline: raw body blocks in, boilerplate-free body, images with captions and byline out."""

from __future__ import annotations

import logging

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from ..extract.cleaning import clean_blocks
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
        cleaned = clean_blocks(item.blocks)
        for rule, count in cleaned.removed.items():
            self.stats.inc_value(f"clean/{rule}", count)
        item.body = cleaned.body
        item.images = cleaned.images
        item.byline = cleaned.byline
        item.blocks = []
        item.content_sha256 = item.fingerprint()
        return item
