"""State pipeline: new / modified / restored / deleted / unchanged against the state store;
unchanged emits nothing.

It decides, it does not write: each item carries the row the store will hold once the record's
slice is committed (``item.state_row``); the run's commit (``crawler.run.commit``) stages and
promotes it. Outside ``scrapy crawl`` the store is read-only, so ``scrapy parse`` shows the status
a crawl would give.
"""

from __future__ import annotations

from dataclasses import replace

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from ..accounting import HTTP_ERROR, ID_CONFLICT, UNCHANGED, DropRecord, id_conflict
from ..extract.urls import URL_SHAPE_OTHER, same_page
from ..items import (
    CONTENT_HASH_VERSION,
    STATUS_DELETED,
    STATUS_MODIFIED,
    STATUS_NEW,
    STATUS_RESTORED,
    ArticleItem,
)
from ..state import ArticleState
from ..state.history import known_under_earlier_id
from ..state.stores import StateStore, state_store


class StatePipeline:
    """Set status, revision, first_seen and the first channel; drop (and count) records whose
    content is unchanged, and gone articles already known as gone."""

    def __init__(self, store: StateStore, stats: StatsCollector):
        self.store = store
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StatePipeline:
        assert crawler.stats is not None
        return cls(state_store(crawler), crawler.stats)

    def process_item(self, item: ArticleItem) -> ArticleItem:
        known = self.store.get(item.site, item.id) or self._known_under_earlier_id(item)
        if known is not None and not self._same_article(known, item):
            id_conflict(self.stats, item.site, item.id, item.url, known.url)
            raise DropRecord(f"{item.url}: id {item.id} is held for {known.url}", ID_CONFLICT)
        if known is not None and known.channel:
            # Filed under the channel it was first found in, whatever list (or none: a recheck) led here.
            item.channel = known.channel
            item.channel_name = item.channel_name or known.channel_name
        if item.status == STATUS_DELETED:
            if known is None:
                raise DropRecord(f"{item.url}: gone, and not known as an article", HTTP_ERROR, "DEBUG")
            if known.deleted:
                # Still gone: one deleted record was enough; the recheck order moves on.
                self.stats.inc_value("state/still_deleted")
                item.state_row = replace(known, last_checked=item.fetched_at)
                raise DropRecord(f"{item.url}: still gone", UNCHANGED, "DEBUG")
            item.revision, item.first_seen = known.revision, known.first_seen
        elif known is None:
            item.status, item.revision, item.first_seen = STATUS_NEW, 1, item.fetched_at
        elif known.deleted:
            item.status, item.revision, item.first_seen = STATUS_RESTORED, known.revision + 1, known.first_seen
        elif self._unchanged(known, item):
            self.stats.inc_value("state/unchanged")
            item.state_row = self._row(item, known, known.revision, known.first_seen)
            raise DropRecord(f"{item.url}: unchanged", UNCHANGED, "DEBUG")
        else:
            item.status, item.revision, item.first_seen = STATUS_MODIFIED, known.revision + 1, known.first_seen
        self.stats.inc_value(f"state/{item.status}")
        item.state_row = self._row(item, known, item.revision, item.first_seen or item.fetched_at)
        return item

    def _known_under_earlier_id(self, item: ArticleItem) -> ArticleState | None:
        """A URL of another shape the state knows under the id an earlier version gave it (a run of
        digits, before ids were hashes): that id is kept, so its records go on under one id."""
        known = known_under_earlier_id(self.store, item.site, item.url) if item.url_shape == URL_SHAPE_OTHER else None
        if known is not None:
            item.id = known.id
        return known

    @staticmethod
    def _same_article(known: ArticleState, item: ArticleItem) -> bool:
        """Whether the item is the article the store holds under its id: at the URL the store
        knows, or reached by a redirect from it (the article moved). Any other URL with this id is
        another article, never a revision of this one."""
        return same_page(known.url, item.url) or (item.asked_url is not None and same_page(known.url, item.asked_url))

    @staticmethod
    def _unchanged(known: ArticleState, item: ArticleItem) -> bool:
        """Same content as the stored hash, by the definition that made it (an older store's
        hash covered title and body only: compared as such once, then stored anew)."""
        if known.content_hash_version == CONTENT_HASH_VERSION:
            return known.content_sha256 == item.content_sha256
        return known.content_sha256 == item.fingerprint(known.content_hash_version)

    @staticmethod
    def _row(item: ArticleItem, known: ArticleState | None, revision: int, first_seen: str) -> ArticleState:
        """The row the store holds once this item's slice commits (or, unchanged, is confirmed)."""
        if item.status == STATUS_DELETED and known is not None:
            return replace(known, url=item.url, last_seen=item.fetched_at, last_checked=item.fetched_at,
                           etag=None, last_modified=None, deleted=1)
        first = known if known is not None and known.channel else None  # the channel it was first found in
        return ArticleState(
            site=item.site, id=item.id, url=item.url, published_at=item.published_at,
            first_seen=first_seen, last_seen=item.fetched_at, content_sha256=item.content_sha256, revision=revision,
            etag=item.etag, last_modified=item.last_modified, deleted=0,
            channel=first.channel if first is not None else item.channel,
            channel_name=first.channel_name if first is not None else item.channel_name,
            last_checked=item.fetched_at, content_hash_version=CONTENT_HASH_VERSION)
