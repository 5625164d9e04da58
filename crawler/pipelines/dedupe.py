"""Dedupe pipeline: one record per (site, id) within a run, and across a fleet (claims in Redis)."""

from __future__ import annotations

import logging

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from ..accounting import DUPLICATE, ID_CONFLICT, DropRecord, id_conflict
from ..extract.urls import same_page
from ..fleet.claims import FleetClaims
from ..items import ArticleItem
from ..recent import RunKeys

logger = logging.getLogger(__name__)


class DedupePipeline:
    """Drop a second record for an article already emitted in this run (http/https, query noise),
    or, in a fleet, claimed by another live run (``crawler.fleet.claims``)."""

    def __init__(self, stats: StatsCollector, claims: FleetClaims | None = None):
        self.stats = stats
        self.claims = claims
        # Per site (a fleet worker may see more than one), each id emitted with the URL it came with:
        # one per record of the run, so on disk (RunKeys), not in memory.
        self.seen: dict[str, RunKeys] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupePipeline:
        assert crawler.stats is not None
        pipeline = cls(crawler.stats, crawler.get_extension(FleetClaims))  # None outside a fleet's crawl
        crawler.signals.connect(pipeline.item_dropped, signal=signals.item_dropped)
        return pipeline

    def process_item(self, item: ArticleItem) -> ArticleItem:
        seen = self.seen.get(item.site)
        if seen is None:
            seen = self.seen[item.site] = RunKeys()
        emitted = seen.get(item.id)  # the URL this run emitted the id with, if it did
        if emitted is not None and not same_page(emitted, item.url):
            id_conflict(self.stats, item.site, item.id, item.url, emitted)
            raise DropRecord(f"{item.url}: id {item.id} is held for {emitted} in this run", ID_CONFLICT)
        if emitted is not None:
            self.stats.inc_value("dedupe/duplicate")
            logger.info("Duplicate record %s (id %s) dropped", item.url, item.id)
            raise DropRecord(f"{item.url}: duplicate of id {item.id}", DUPLICATE)
        if self.claims is not None and not self.claims.claim(item.site, item.id):
            self.stats.inc_value("dedupe/duplicate_fleet")
            logger.info("Duplicate record %s (id %s) dropped: another worker of the fleet has it", item.url, item.id)
            raise DropRecord(f"{item.url}: id {item.id} claimed by another worker", DUPLICATE)
        seen[item.id] = item.url
        return item

    def item_dropped(self, item: object, exception: BaseException, **kwargs: object) -> None:
        """A record that passed here but was dropped by a later pipeline: an unchanged one frees its
        fleet claim; one the state pipeline refused (its id is held for another URL) does not hold
        its id in this run either."""
        site, article_id = getattr(item, "site", None), getattr(item, "id", None)
        bucket = getattr(exception, "bucket", None)
        seen = self.seen.get(site or "")
        if (bucket == DUPLICATE or not article_id or seen is None
                or seen.get(article_id) != getattr(item, "url", None)):
            return  # dropped here: it never passed
        if bucket == ID_CONFLICT:
            seen.pop(article_id)
        if self.claims is not None and site is not None:  # claimed as it passed, by its site and id
            self.claims.release(site, article_id)
