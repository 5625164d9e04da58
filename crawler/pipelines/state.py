"""State pipeline: new / modified / unchanged against the state store; unchanged emits nothing.

It only stages: the store's ``articles`` table changes when the run's output is in place (see
``crawler.state``), so a killed run loses nothing.
"""

from __future__ import annotations

import logging

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from ..accounting import HTTP_ERROR, UNCHANGED, DropRecord
from ..items import STATUS_DELETED, STATUS_MODIFIED, STATUS_NEW, ArticleItem
from ..state import ArticleState, StateStore
from ..stateful import state_store

logger = logging.getLogger(__name__)


class StatePipeline:
    """Set status, revision and first_seen; drop (and count) records whose content is unchanged."""

    def __init__(self, store: StateStore, stats: StatsCollector, run_id: str, feed_file: str | None):
        self.store = store
        self.stats = stats
        self.run_id = run_id
        self.feed_file = feed_file

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StatePipeline:
        assert crawler.stats is not None
        return cls(state_store(crawler), crawler.stats, crawler.settings.get("RUN_ID"),
                   crawler.settings.get("RUN_FEED_FILE"))

    def process_item(self, item: ArticleItem) -> ArticleItem:
        known = self.store.get(item.site, item.id)
        if item.status == STATUS_DELETED:
            if known is None or known.deleted:
                raise DropRecord(f"{item.url}: gone, and not known as a live article", HTTP_ERROR, "DEBUG")
            item.revision, item.first_seen = known.revision, known.first_seen
        elif known is None or known.deleted:
            item.status, item.revision, item.first_seen = STATUS_NEW, 1, item.fetched_at
        elif known.content_sha256 == item.content_sha256:
            self.stats.inc_value("state/unchanged")
            self._stage(item, known.first_seen, known.revision, deleted=False)
            raise DropRecord(f"{item.url}: unchanged", UNCHANGED, "DEBUG")
        else:
            item.status, item.revision, item.first_seen = STATUS_MODIFIED, known.revision + 1, known.first_seen
        self.stats.inc_value(f"state/{item.status}")
        self._stage(item, item.first_seen or item.fetched_at, item.revision, deleted=item.status == STATUS_DELETED)
        return item

    def _stage(self, item: ArticleItem, first_seen: str, revision: int, deleted: bool) -> None:
        self.store.stage(self.run_id, self.feed_file, ArticleState(
            site=item.site, id=item.id, url=item.url, published_at=item.published_at,
            first_seen=first_seen, last_seen=item.fetched_at, content_sha256=item.content_sha256,
            revision=revision, etag=item.etag, last_modified=item.last_modified, deleted=int(deleted)))
