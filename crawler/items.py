"""The article record: a typed dataclass whose exported fields follow the JSON Schema's order."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from .extract.article import RawArticle
from .extract.blocks import Block
from .extract.cleaning import clean_blocks
from .extract.urls import URL_SHAPE_CURRENT
from .state import ArticleState

SCHEMA_VERSION = "1.4"

# What ``content_sha256`` covers: every field that says what the article is. A change to any of them
# is a new revision (a ``modified`` record); what the crawl adds (fetched_at, warc, encoding ...) is not,
# nor ``updated_at`` (1.4): a page that only shows a new "last updated" time has not changed.
CONTENT_FIELDS: tuple[str, ...] = (
    "title", "body", "published_at", "source", "editor", "byline", "images", "attachments")
# Of each image and attachment, what the page says; not what the crawl adds to it (its ``warc`` record).
# Their URLs count by path and query only: the same file served from another scheme or host (the site
# moving to https, a mirror) is the same content.
CONTENT_ENTRY_KEYS: dict[str, tuple[str, ...]] = {"images": ("url", "caption"), "attachments": ("url", "name")}
# The definitions ``content_sha256`` had: 1 (schema 1.0-1.2) title and body; 2 (1.3) CONTENT_FIELDS.
# The state remembers which one made each stored hash, so a store written by an older crawler does
# not turn every recheck into a ``modified`` record.
CONTENT_HASH_VERSION = 2

# Exported keys, in this fixed order (FEED_EXPORT_FIELDS); internal fields are not exported.
RECORD_FIELDS: tuple[str, ...] = (
    "id", "url", "site", "channel", "channel_name", "title", "published_at", "published_at_source",
    "source", "byline", "editor", "body", "images", "attachments", "fetched_at", "content_sha256",
    "extractor", "encoding", "schema_version",
    # 1.1: incremental runs and the raw archive
    "status", "revision", "first_seen", "warc",
    # 1.2: articles found at URLs of another shape
    "url_shape",
    # 1.4: the "last updated" time the page shows
    "updated_at",
)
# Fields the crawl adds to what one page says: a record read from one page alone has none of them.
CRAWL_FIELDS = ("fetched_at", "status", "revision", "first_seen", "warc")
STATUS_NEW, STATUS_MODIFIED, STATUS_DELETED = "new", "modified", "deleted"
STATUS_RESTORED = "restored"  # 1.3: a deleted article that answers again


def utc_now() -> str:
    """Now, UTC, seconds precision, ``Z`` suffix."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class ArticleItem:
    """One article as the crawler emits it; ``blocks`` is the raw body the clean pipeline consumes."""

    id: str
    url: str
    site: str
    channel: str | None
    channel_name: str | None
    fetched_at: str
    title: str | None = None
    published_at: str | None = None
    published_at_source: str | None = None
    source: str | None = None
    editor: str | None = None
    extractor: str | None = None
    encoding: dict[str, str | None] | None = None
    byline: str | None = None
    body: str | None = None
    images: list[dict[str, str | None]] = field(default_factory=list)
    attachments: list[dict[str, str]] = field(default_factory=list)
    content_sha256: str | None = None
    schema_version: str = SCHEMA_VERSION
    status: str = STATUS_NEW
    revision: int = 1
    first_seen: str | None = None
    warc: dict[str, str | int] | None = None
    url_shape: str = URL_SHAPE_CURRENT
    updated_at: str | None = None
    # Internal, not exported: the raw body for the clean pipeline, HTTP validators for the state.
    blocks: list[Block] = field(default_factory=list, repr=False)
    etag: str | None = field(default=None, repr=False)
    last_modified: str | None = field(default=None, repr=False)
    # The URL the request asked for, when a redirect led from it to ``url``: a known article's own
    # URL redirecting here says the article moved (the state pipeline's test for an id conflict).
    asked_url: str | None = field(default=None, repr=False)
    # What the state pipeline decided the store will know once the record's slice is committed.
    state_row: ArticleState | None = field(default=None, repr=False)

    @classmethod
    def deleted(cls, url: str, article_id: str, site: str, channel: str | None) -> ArticleItem:
        """The record of a known article that is gone: 404 or 410, a soft-404 page, or a redirect to
        the home page or a list page."""
        return cls(id=article_id, url=url, site=site, channel=channel, channel_name=None,
                   fetched_at=utc_now(), status=STATUS_DELETED)

    @classmethod
    def from_raw(cls, raw: RawArticle, site: str, list_channel: str | None = None,
                 list_channel_name: str | None = None) -> ArticleItem:
        """Build the item from an extracted page and what the linking list page said."""
        return cls(
            id=raw.id,
            url=raw.url,
            site=site,
            channel=raw.channel or list_channel,
            channel_name=raw.channel_name or list_channel_name,
            title=raw.title,
            published_at=raw.published_at,
            published_at_source=raw.published_at_source,
            updated_at=raw.updated_at,
            source=raw.source,
            editor=raw.editor,
            extractor=raw.extractor,
            encoding={"declared": raw.encoding_declared, "used": raw.encoding_used},
            fetched_at=(now := utc_now()),
            first_seen=now,  # a new article; the state pipeline restores it for known ones
            attachments=raw.attachments,
            blocks=raw.blocks,
            url_shape=raw.url_shape,
        )

    def clean(self) -> Counter[str]:
        """Turn the raw blocks into body, images with captions and byline; what each rule removed.

        The one cleaning step: the clean pipeline and ``crawler.extract.extract_record`` both call it.
        """
        cleaned = clean_blocks(self.blocks)
        self.body = cleaned.body
        self.images = cleaned.images
        self.byline = cleaned.byline
        self.blocks = []
        self.content_sha256 = self.fingerprint()
        return cleaned.removed

    def fingerprint(self, version: int = CONTENT_HASH_VERSION) -> str:
        """SHA-256 of the content fields (CONTENT_FIELDS), as the hash definition ``version`` has them:
        equal for equal content."""
        if version == 1:
            text = f"{self.title or ''}\n{self.body or ''}"
            return hashlib.sha256(text.encode("utf-8")).hexdigest()
        content = [self._content_part(name) for name in CONTENT_FIELDS]
        text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _content_part(self, name: str) -> Any:
        value = getattr(self, name)
        keys = CONTENT_ENTRY_KEYS.get(name)
        if keys is None:
            return value
        return [[_without_host(entry.get(key)) if key == "url" else entry.get(key) for key in keys]
                for entry in value or []]

    def record(self) -> dict[str, Any]:
        """The exported record as a dict, keys in RECORD_FIELDS order."""
        return {name: getattr(self, name) for name in RECORD_FIELDS}


def _without_host(url: str | None) -> str | None:
    """A URL's path and query (the part of an image or attachment URL that says which file)."""
    if not url:
        return url
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
