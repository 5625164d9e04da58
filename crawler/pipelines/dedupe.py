"""Dedupe pipeline: one record per (site, id) within a run, and across a fleet (claims in Redis)."""

from __future__ import annotations

import logging

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from ..accounting import DUPLICATE, DropRecord
from ..fleet.claims import FleetClaims
from ..items import ArticleItem

logger = logging.getLogger(__name__)


class DedupePipeline:
    """Drop a second record for an article already emitted in this run (http/https, query noise),
    or, in a fleet, claimed by another live run (``crawler.fleet.claims``)."""

    def __init__(self, stats: StatsCollector, claims: FleetClaims | None = None):
        self.stats = stats
        self.claims = claims
        # Ids per site (a fleet worker may see more than one): no (site, id) tuple per record.
        self.seen: dict[str, set[str]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupePipeline:
        assert crawler.stats is not None
        pipeline = cls(crawler.stats, crawler.get_extension(FleetClaims))  # None outside a fleet's crawl
        if pipeline.claims is not None:
            crawler.signals.connect(pipeline.item_dropped, signal=signals.item_dropped)
        return pipeline

    def process_item(self, item: ArticleItem) -> ArticleItem:
        seen = self.seen.setdefault(item.site, set())
        if item.id in seen:
            self.stats.inc_value("dedupe/duplicate")
            logger.info("Duplicate record %s (id %s) dropped", item.url, item.id)
            raise DropRecord(f"{item.url}: duplicate of id {item.id}", DUPLICATE)
        if self.claims is not None and not self.claims.claim(item.site, item.id):
            self.stats.inc_value("dedupe/duplicate_fleet")
            logger.info("Duplicate record %s (id %s) dropped: another worker of the fleet has it", item.url, item.id)
            raise DropRecord(f"{item.url}: id {item.id} claimed by another worker", DUPLICATE)
        seen.add(item.id)
        return item

    def item_dropped(self, item: object, exception: BaseException, **kwargs: object) -> None:
        """A record claimed here but dropped by a later pipeline (unchanged) frees its claim."""
        assert self.claims is not None
        site, article_id = getattr(item, "site", None), getattr(item, "id", None)
        if getattr(exception, "bucket", None) == DUPLICATE:
            return
        if site and article_id and article_id in self.seen.get(site, ()):
            self.claims.release(site, article_id)
