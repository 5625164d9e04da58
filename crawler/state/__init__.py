"""The incremental state: what earlier runs committed, per article, and the decisions made from it.

The committed manifests are the source of truth; the store is an index of them that a run can
rebuild (``crawler.run.recovery``). A run stages rows per slice while it goes; a slice's rows are
promoted only after its manifest is written. ``sqlite`` is the one-machine store (OUTPUT_DIR/
state.sqlite3), ``redis_store`` the fleet's, ``decisions`` what a run does with either.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ArticleState:
    """What the store knows of one article."""

    site: str
    id: str
    url: str
    published_at: str | None
    first_seen: str
    last_seen: str
    content_sha256: str | None
    revision: int
    etag: str | None = None
    last_modified: str | None = None
    deleted: int = 0

    @classmethod
    def from_record(cls, record: dict, first_seen: str | None = None) -> ArticleState:
        """The state a committed record leaves (rebuilding the store from the manifests)."""
        return cls(site=record["site"], id=record["id"], url=record["url"],
                   published_at=record.get("published_at"),
                   first_seen=first_seen or record.get("first_seen") or record["fetched_at"],
                   last_seen=record["fetched_at"], content_sha256=record.get("content_sha256"),
                   revision=int(record.get("revision") or 1),
                   deleted=int(record.get("status") == "deleted"))


class StateError(Exception):
    """The state store cannot be used as it is (unreadable, damaged); says what to do."""


class StateTooNew(StateError):
    """The store was written by a newer crawler: refused, never rebuilt over."""
