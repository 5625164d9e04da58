"""The export's two tables, defined once: their columns, in order, with a kind each.

Every format derives its types from here: SQLite stores text, integers, 0/1 for booleans, times as
the records write them (ISO 8601 text) and lists and objects as JSON text; Parquet gets typed columns
(timestamps with their zone, lists of structs); JSONL writes each row's values as JSON.

``revisions`` is every committed record, in stream order, with where it was committed (``position``
in the stream, the manifest's ``seq`` and ``run_id``). ``articles`` is one row per (site, id): the
record fields of its latest revision that has content, and what the archive knows of its history
(in SQLite; the JSONL and Parquet outputs append an article's new row each time a fold changes it,
and its row with the greatest ``last_position`` is its current one).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

# Record times: ``published_at`` is Beijing time (``+08:00``) as the site shows it, the crawl's times
# are UTC (``Z``). Parquet keeps each in its zone, so a reader's local rendering matches the page.
BEIJING = "Asia/Shanghai"
UTC = "UTC"

_WARC = pa.struct([("file", pa.string()), ("record_id", pa.string()), ("offset", pa.int64())])
_IMAGE = pa.struct([("url", pa.string()), ("caption", pa.string()), ("warc", _WARC)])
_ATTACHMENT = pa.struct([("url", pa.string()), ("name", pa.string()), ("warc", _WARC)])
_ENCODING = pa.struct([("declared", pa.string()), ("used", pa.string())])


@dataclass(frozen=True)
class Column:
    name: str
    # text | int | bool | time (ISO text in SQLite and JSONL, a zoned timestamp in Parquet) | json
    kind: str
    arrow: pa.DataType

    @property
    def sqlite_type(self) -> str:
        return {"int": "INTEGER", "bool": "INTEGER"}.get(self.kind, "TEXT")


def _text(name: str) -> Column:
    return Column(name, "text", pa.string())


def _int(name: str) -> Column:
    return Column(name, "int", pa.int64())


def _time(name: str, zone: str) -> Column:
    return Column(name, "time", pa.timestamp("us", tz=zone))


def _json(name: str, arrow: pa.DataType) -> Column:
    return Column(name, "json", arrow)


# The record's fields (crawler.items.RECORD_FIELDS, schema 1.4), in its order; a test keeps them equal.
RECORD_COLUMNS: tuple[Column, ...] = (
    _text("id"), _text("url"), _text("site"), _text("channel"), _text("channel_name"), _text("title"),
    _time("published_at", BEIJING), _text("published_at_source"), _text("source"), _text("byline"),
    _text("editor"), _text("body"), _json("images", pa.list_(_IMAGE)),
    _json("attachments", pa.list_(_ATTACHMENT)), _time("fetched_at", UTC), _text("content_sha256"),
    _text("extractor"), _json("encoding", _ENCODING), _text("schema_version"), _text("status"),
    _int("revision"), _time("first_seen", UTC), _json("warc", _WARC), _text("url_shape"),
    _time("updated_at", BEIJING),
)

# Where a record was committed: its place in the whole stream (0, 1, 2 … in the consumer's order),
# the manifest's seq and the run's id.
REVISION_COLUMNS: tuple[Column, ...] = (_int("position"), _int("seq"), _text("run_id"), *RECORD_COLUMNS)

# An article's history, beside the fields of its latest revision with content (a deleted record has
# none: the article keeps what it last said, flagged ``deleted``). ``status``, ``revision`` and
# ``first_seen`` are the latest record's; ``fetched_at`` and ``warc`` the capture its content is from.
HISTORY_COLUMNS: tuple[Column, ...] = (
    Column("deleted", "bool", pa.bool_()),
    _time("deleted_at", UTC),  # the deleted record's fetched_at while deleted, else null
    _time("last_seen", UTC),  # fetched_at of its latest record
    _int("revisions"),  # records of it in the stream
    _int("first_seq"), _int("last_seq"), _text("last_run_id"),
    # ``position`` of its latest record: which row of an article is its current one where the files
    # keep more than one (the articles change log and dataset: the row with the greatest wins)
    _int("last_position"),
)
ARTICLE_COLUMNS: tuple[Column, ...] = (*RECORD_COLUMNS, *HISTORY_COLUMNS)

TABLES: dict[str, tuple[Column, ...]] = {"articles": ARTICLE_COLUMNS, "revisions": REVISION_COLUMNS}


def arrow_schema(columns: tuple[Column, ...]) -> pa.Schema:
    return pa.schema([pa.field(c.name, c.arrow) for c in columns])
