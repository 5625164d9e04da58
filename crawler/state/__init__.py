"""The incremental state: what earlier runs committed, per article and per archived URL, and the
decisions made from it.

The committed manifests are the source of truth; the store is the one index of them, which a run
can rebuild (``crawler.run.recovery``): articles, and captures (``captures``: per URL, the newest
archived response). A run stages rows per slice while it goes; a slice's rows are promoted only
after its manifest is written. ``sqlite`` is the one-machine store (OUTPUT_DIR/state.sqlite3),
``redis_store`` the fleet's, ``history`` the decisions a run makes from either (known articles,
the early stop, the recheck plan), asked a batch at a time.
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
    # State schema 3: the channel (and its name) the article was first filed under, which rechecks
    # keep; when it was last asked for (rechecks go least recently checked first); which definition
    # of the content hash made ``content_sha256`` (``crawler.items.CONTENT_HASH_VERSION``).
    channel: str | None = None
    channel_name: str | None = None
    last_checked: str | None = None
    content_hash_version: int = 1

    @classmethod
    def from_record(cls, record: dict, known: ArticleState | None = None) -> ArticleState:
        """The state a committed record leaves after ``known`` (rebuilding the store from the
        manifests): first_seen and the first channel from the first record, last_checked from the
        last one's fetch (an unchanged recheck left no record: this is as close as manifests know)."""
        deleted = record.get("status") == "deleted"
        first_channel = (known.channel, known.channel_name) if known is not None and known.channel else None
        channel, channel_name = first_channel or (record.get("channel"), record.get("channel_name"))
        return cls(site=record["site"], id=record["id"], url=record["url"],
                   published_at=record.get("published_at") or (known.published_at if known else None),
                   first_seen=(known.first_seen if known else None) or record.get("first_seen") or record["fetched_at"],
                   last_seen=record["fetched_at"],
                   content_sha256=(known.content_sha256 if deleted and known else record.get("content_sha256")),
                   revision=int(record.get("revision") or 1), deleted=int(deleted),
                   channel=channel, channel_name=channel_name, last_checked=record["fetched_at"],
                   content_hash_version=(known.content_hash_version if deleted and known
                                         else content_hash_version(record.get("schema_version"))))


def content_hash_version(schema_version: str | None) -> int:
    """Which content hash a record of this schema version carries: 2 from 1.3 on, else 1."""
    try:
        major, minor = (int(part) for part in (schema_version or "1.0").split(".")[:2])
    except ValueError:
        return 1
    return 2 if (major, minor) >= (1, 3) else 1


@dataclass
class IndexedCapture:
    """One row of the capture index: the newest archived full response (2xx, not a revisit) of a
    URL, where its record is, and its place in commit order (``seq``, ``rank``: the WARC file's place
    among those its manifest lists, ``offset``). ``date`` and ``record_id`` are known when the
    record was written or read back by the indexing run (an index line holds the date to the second)."""

    url: str
    seq: int
    rank: int
    file: str      # relative to OUTPUT_DIR: warc/<name>
    offset: int
    digest: str    # sha1:<base32>, as the record's WARC-Payload-Digest
    status: int
    mime: str = ""
    date: str | None = None
    record_id: str | None = None

    @property
    def order(self) -> tuple[int, int, int]:
        """Its place in commit order: the newest capture of a URL is the one with the greatest."""
        return (self.seq, self.rank, self.offset)

    def row(self) -> tuple:
        return (self.url, self.seq, self.rank, self.file, self.offset, self.digest, self.status, self.mime,
                self.date, self.record_id)


class StateError(Exception):
    """The state store cannot be used as it is (unreadable, damaged); says what to do."""


class StateTooNew(StateError):
    """The store was written by a newer crawler: refused, never rebuilt over."""
