"""The article record: a typed dataclass whose exported fields follow the JSON Schema's order."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .extract.article import RawArticle
from .extract.blocks import Block

SCHEMA_VERSION = "1.0"

# Exported keys, in this fixed order (FEED_EXPORT_FIELDS); internal fields are not exported.
RECORD_FIELDS: tuple[str, ...] = (
    "id", "url", "site", "channel", "channel_name", "title", "published_at", "published_at_source",
    "source", "byline", "editor", "body", "images", "attachments", "fetched_at", "content_sha256",
    "extractor", "encoding", "schema_version",
)


@dataclass
class ArticleItem:
    """One article as the crawler emits it; ``blocks`` is the raw body the clean pipeline consumes."""

    id: str
    url: str
    site: str
    channel: str | None
    channel_name: str | None
    title: str | None
    published_at: str | None
    published_at_source: str | None
    source: str | None
    editor: str | None
    extractor: str
    encoding: dict[str, str | None]
    fetched_at: str
    byline: str | None = None
    body: str | None = None
    images: list[dict[str, str | None]] = field(default_factory=list)
    attachments: list[dict[str, str]] = field(default_factory=list)
    content_sha256: str | None = None
    schema_version: str = SCHEMA_VERSION
    blocks: list[Block] = field(default_factory=list, repr=False)

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
            source=raw.source,
            editor=raw.editor,
            extractor=raw.extractor,
            encoding={"declared": raw.encoding_declared, "used": raw.encoding_used},
            fetched_at=datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
            attachments=raw.attachments,
            blocks=raw.blocks,
        )

    def fingerprint(self) -> str:
        """SHA-256 of the normalized title and body: equal for equal content."""
        text = f"{self.title or ''}\n{self.body or ''}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def record(self) -> dict[str, Any]:
        """The exported record as a dict, keys in RECORD_FIELDS order."""
        return {name: getattr(self, name) for name in RECORD_FIELDS}
