"""State pipeline: new / modified / unchanged against the state store; unchanged emits nothing.

It decides, it does not write: each item carries the row the store will hold once the record's
slice is committed (``item.state_row``); the run's commit (``crawler.run.commit``) stages and
promotes it. Outside ``scrapy crawl`` the store is read-only, so ``scrapy parse`` shows the status
a crawl would give.
"""

from __future__ import annotations

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from ..accounting import HTTP_ERROR, UNCHANGED, DropRecord
from ..items import STATUS_DELETED, STATUS_MODIFIED, STATUS_NEW, ArticleItem
from ..state import ArticleState
from ..state.stores import StateStore, state_store


class StatePipeline:
    """Set status, revision and first_seen; drop (and count) records whose content is unchanged."""

    def __init__(self, store: StateStore, stats: StatsCollector):
        self.store = store
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StatePipeline:
        assert crawler.stats is not None
        return cls(state_store(crawler), crawler.stats)

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
            item.state_row = self._row(item, known.first_seen, known.revision, deleted=False)
            raise DropRecord(f"{item.url}: unchanged", UNCHANGED, "DEBUG")
        else:
            item.status, item.revision, item.first_seen = STATUS_MODIFIED, known.revision + 1, known.first_seen
        self.stats.inc_value(f"state/{item.status}")
        item.state_row = self._row(item, item.first_seen or item.fetched_at, item.revision,
                                   deleted=item.status == STATUS_DELETED)
        return item

    @staticmethod
    def _row(item: ArticleItem, first_seen: str, revision: int, deleted: bool) -> ArticleState:
        return ArticleState(
            site=item.site, id=item.id, url=item.url, published_at=item.published_at,
            first_seen=first_seen, last_seen=item.fetched_at, content_sha256=item.content_sha256,
            revision=revision, etag=item.etag, last_modified=item.last_modified, deleted=int(deleted))
