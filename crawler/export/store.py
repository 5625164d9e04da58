"""The export's SQLite database: the two tables, a full-text index, and the export's own state.

``archive.sqlite`` is both a product (query it, serve it with Datasette) and what makes the export
incremental: the ``folded`` table lists the manifests folded into it, so the next export folds only
those after them, and ``outputs`` and ``parts`` say how far each JSONL file and Parquet dataset has
been brought (see ``outputs``). It is changed in place, in WAL mode: a fold is one transaction (the
export's commit point), so a kill leaves the database as it was before that fold or after it, and a
reader that has it open keeps its snapshot. A database built from nothing is written on a hidden copy
(``.archive.sqlite.part``, no journal: faster) renamed over the old one once complete.

Full text: an FTS5 table over ``articles`` (title, body) with the ``trigram`` tokenizer (SQLite
3.34+). Chinese has no spaces between words, so a word-based tokenizer would index whole sentences
as one token; trigrams match any substring of three characters or more. Triggers keep the index
in step with ``articles``; a build from nothing fills the index once, at its end.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .fold import Commit, ManifestKey
from .tables import ARTICLE_COLUMNS, RECORD_COLUMNS, REVISION_COLUMNS, TABLES, Column

# 1: articles, revisions, articles_fts, folded; each JSONL and Parquet file rewritten whole.
# 2: articles.last_position; outputs and parts: JSONL appended, Parquet a dataset of a file per fold.
# 3: the records' updated_at column (record schema 1.4).
# A database of another version is built again from the manifests (and every output with it).
EXPORT_SCHEMA_VERSION = "3"
# Rows per chunk read for the JSONL and Parquet outputs (a Parquet row group): bodies run to a few
# KB, so a chunk stays a few MB in memory.
CHUNK_ROWS = 2000
BUSY_TIMEOUT_MS = 60_000  # a reader's checkpoint or a Datasette query holding the WAL a moment
TRIGRAM_SINCE = (3, 34, 0)


class ExportStoreError(Exception):
    """This SQLite cannot hold the export (no FTS5 trigram tokenizer)."""


def check_sqlite() -> None:
    """Fail early, with the reason, when this Python's SQLite has no trigram tokenizer."""
    version = sqlite3.sqlite_version_info
    if version < TRIGRAM_SINCE:
        raise ExportStoreError(f"SQLite {sqlite3.sqlite_version} has no FTS5 trigram tokenizer (3.34 or later "
                               "needed); use a Python built with a newer SQLite")
    try:
        with closing(sqlite3.connect(":memory:")) as db:
            db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='trigram')")
    except sqlite3.OperationalError as error:
        raise ExportStoreError(f"SQLite {sqlite3.sqlite_version} cannot make an FTS5 trigram index: {error}") from None
    try:
        with closing(sqlite3.connect(":memory:")) as db:
            db.execute("SELECT json_object('a', json('[1]'))")
    except sqlite3.OperationalError as error:  # JSON is built in from 3.38, an option before
        raise ExportStoreError(f"SQLite {sqlite3.sqlite_version} has no JSON functions: {error}") from None


# An external-content index forgets a row by being told its old values.
_UNINDEX_OLD = ("INSERT INTO articles_fts(articles_fts, rowid, title, body) "
                "VALUES ('delete', old.rowid, old.title, old.body);")


# The external-content FTS pattern of SQLite's documentation: the index follows the table.
_FTS_TRIGGERS = [
    "CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN "
    "INSERT INTO articles_fts(rowid, title, body) VALUES (new.rowid, new.title, new.body); END",
    f"CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN {_UNINDEX_OLD} END",
    f"CREATE TRIGGER articles_au AFTER UPDATE ON articles BEGIN {_UNINDEX_OLD} "
    "INSERT INTO articles_fts(rowid, title, body) VALUES (new.rowid, new.title, new.body); END",
]


def _create_sql() -> list[str]:
    """The schema of a database built from nothing; the index's triggers come at the build's end."""
    def columns(cols: tuple[Column, ...]) -> str:
        return ", ".join(f"{c.name} {c.sqlite_type}" for c in cols)
    return [
        "CREATE TABLE export_meta (key TEXT PRIMARY KEY, value TEXT)",
        # The manifests folded, in the order folded; ``first_position``: where its records start.
        "CREATE TABLE folded (ord INTEGER PRIMARY KEY, seq INTEGER, run_id TEXT, name TEXT UNIQUE, size INTEGER, "
        "sha256 TEXT, records INTEGER, first_position INTEGER)",
        f"CREATE TABLE revisions ({columns(REVISION_COLUMNS)}, PRIMARY KEY (position))",
        "CREATE INDEX revisions_article ON revisions (site, id, position)",
        # The rows per status the export prints, counted from these indexes, not from the tables.
        "CREATE INDEX revisions_status ON revisions (status)",
        # A rowid table (the FTS index refers to rows by rowid), one row per (site, id).
        f"CREATE TABLE articles ({columns(ARTICLE_COLUMNS)}, UNIQUE (site, id))",
        "CREATE INDEX articles_status ON articles (status)",
        # The articles a fold changed: their new rows are what the outputs append.
        "CREATE INDEX articles_changed ON articles (last_position)",
        # content="articles" in double quotes: how Datasette finds a table's index (its search box).
        "CREATE VIRTUAL TABLE articles_fts USING fts5(title, body, content=\"articles\", tokenize='trigram')",
        # How far each output holds the stream: ``folded`` manifests, stream ``positions`` below this
        # (for a JSONL file, in its first ``bytes`` bytes). No row: the output is written whole.
        "CREATE TABLE outputs (name TEXT PRIMARY KEY, folded INTEGER, positions INTEGER, bytes INTEGER)",
        # A Parquet dataset's files, each the rows of one fold (stream positions first to end - 1).
        "CREATE TABLE parts (dataset TEXT, name TEXT, first_position INTEGER, end_position INTEGER, "
        "rows INTEGER, PRIMARY KEY (dataset, name))",
    ]


def _json_value(column: Column) -> str:
    """SQL giving a column's value as JSON: lists and objects as themselves, not as text; booleans."""
    if column.kind == "json":
        return f"json({column.name})"
    if column.kind == "bool":
        return f"json(CASE WHEN {column.name} IS NULL THEN NULL WHEN {column.name} THEN 'true' ELSE 'false' END)"
    return column.name


# --- the fold, in SQL: a record's JSON line parsed by SQLite, the articles row changed in place ------

def _from_line(column: Column) -> str:
    """SQL reading a record field from its JSON line (``line``): a list or an object as its JSON text."""
    return f"json_extract(line, '$.{column.name}')"


_RECORD_NAMES = ", ".join(c.name for c in RECORD_COLUMNS)
# A revision: where it was committed (position, seq, run_id), then the record's fields from its line.
_ADD_REVISION = (f"INSERT INTO revisions ({', '.join(c.name for c in REVISION_COLUMNS)}) "
                 f"SELECT ?, ?, ?, {', '.join(_from_line(c) for c in RECORD_COLUMNS)} FROM (SELECT json(?) AS line)")
# Fields an article takes from its latest record whatever it is; every other record field is content,
# which a deleted record does not have.
_FROM_EVERY_RECORD = ("status", "revision")
_CONTENT = [c.name for c in RECORD_COLUMNS if c.name not in (*_FROM_EVERY_RECORD, "first_seen")]
# The fold: the articles row after one more revision of it (README's "The archive as one dataset").
# A record with content (new, modified, restored) gives the row its fields; a deleted record has none
# (schema: title, body, content_sha256 null), so the row keeps its last content and is flagged
# ``deleted`` until a restored record brings the article back. An UPDATE keeps the row's rowid, and
# fires the trigger that reindexes it.
_FOLD_REVISION = (
    f"INSERT INTO articles ({_RECORD_NAMES}, deleted, deleted_at, last_seen, revisions, first_seq, last_seq, "
    f"last_run_id, last_position) "
    f"SELECT {_RECORD_NAMES}, status = 'deleted', CASE WHEN status = 'deleted' THEN fetched_at END, fetched_at, 1, "
    f"seq, seq, run_id, position FROM revisions WHERE position = ? "
    "ON CONFLICT (site, id) DO UPDATE SET "
    + ", ".join(f"{name} = CASE WHEN excluded.deleted THEN articles.{name} ELSE excluded.{name} END"
                for name in _CONTENT) + ", "
    + ", ".join(f"{name} = excluded.{name}" for name in (*_FROM_EVERY_RECORD, "deleted", "deleted_at", "last_seen",
                                                          "last_seq", "last_run_id", "last_position"))
    + ", first_seen = COALESCE(articles.first_seen, excluded.first_seen), revisions = articles.revisions + 1"
)


@dataclass(frozen=True)
class Held:
    """How much of the stream an output holds: the first ``folded`` manifests, the stream's first
    ``positions`` records; ``bytes``: a JSONL file's length holding them."""
    folded: int
    positions: int
    bytes: int | None = None


class ArchiveStore:
    """An open export database (a part file being built, or the committed one)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    @classmethod
    def _unjournaled(cls, path: Path) -> sqlite3.Connection:
        """A database private to this export (a build's part file): no rollback journal, no syncs (a
        failed export deletes it; the caller fsyncs it whole before renaming it into place)."""
        db = sqlite3.connect(path)
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -262144")  # 256 MiB: the build's pages stay in memory
        return db

    @classmethod
    def create(cls, path: Path) -> ArchiveStore:
        """A database built from nothing at ``path`` (``finish_build`` when every manifest is in)."""
        path.unlink(missing_ok=True)
        db = cls._unjournaled(path)
        with db:
            for statement in _create_sql():
                db.execute(statement)
            db.execute("INSERT INTO export_meta VALUES ('export_schema_version', ?)", (EXPORT_SCHEMA_VERSION,))
        return cls(db)

    @classmethod
    def finish_build(cls, path: Path) -> None:
        """The full-text index filled at once (faster than row by row), its triggers from now on,
        and WAL mode: the database as ``in_place`` changes it. On a new connection: the fold's pages
        out of the cache (the index builds half again as fast)."""
        with closing(cls._unjournaled(path)) as db:
            with db:
                db.execute("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')")
                for statement in _FTS_TRIGGERS:
                    db.execute(statement)
            db.execute("PRAGMA journal_mode = WAL")

    @classmethod
    def in_place(cls, path: Path) -> ArchiveStore:
        """The committed database, to fold into: each transaction is durable when it returns."""
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA cache_size = -65536")  # 64 MiB: the trigram index's pages stay in memory
        return cls(db)

    @classmethod
    def open(cls, path: Path) -> ArchiveStore:
        return cls(sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000))

    def close(self) -> None:
        self.db.close()

    # --- the fold's state -------------------------------------------------------------------------

    def folded(self) -> list[tuple[ManifestKey, str]]:
        """The manifests folded, in order, each with the SHA-256 its bytes had."""
        rows = self.db.execute("SELECT seq, run_id, name, size, sha256 FROM folded ORDER BY ord")
        return [(ManifestKey(seq, run_id, name, size), sha) for seq, run_id, name, size, sha in rows]

    def usable(self) -> bool:
        """Whether this database is of this export's schema (else it is built again). Not a full
        integrity check: that reads the whole file, the archive's size, at every export; SQLite's own
        journal keeps the database whole, and one damaged beyond that fails the export when read."""
        try:
            row = self.db.execute("SELECT value FROM export_meta WHERE key = 'export_schema_version'").fetchone()
        except sqlite3.DatabaseError:
            return False
        return row is not None and row[0] == EXPORT_SCHEMA_VERSION

    def stream_length(self) -> int:
        return self.db.execute("SELECT COALESCE(MAX(position) + 1, 0) FROM revisions").fetchone()[0]

    def held(self) -> Held:
        """What the database holds: every manifest folded, every record."""
        return Held(self.db.execute("SELECT COUNT(*) FROM folded").fetchone()[0], self.stream_length())

    def seqs_folded(self, after: int, up_to: int) -> tuple[int, int]:
        """The first and last ``seq`` of the manifests folded after the first ``after``, up to ``up_to``."""
        rows = self.db.execute("SELECT seq FROM folded ORDER BY ord LIMIT ? OFFSET ?", (up_to - after, after))
        seqs = [seq for (seq,) in rows]
        return seqs[0], seqs[-1]

    # --- folding ----------------------------------------------------------------------------------

    def add_records(self, lines: list[str], position: int, seq: int, run_id: str) -> None:
        """A manifest's records (their JSON lines, in order) as revisions from stream ``position`` on,
        each folded into its article (the caller commits)."""
        self.db.executemany(_ADD_REVISION, ((position + i, seq, run_id, line) for i, line in enumerate(lines)))
        self.db.executemany(_FOLD_REVISION, ((position + i,) for i in range(len(lines))))

    def article(self, site: str, article_id: str) -> dict[str, Any] | None:
        """An article's row as JSONL has it."""
        pairs = ", ".join(f"'{c.name}', {_json_value(c)}" for c in ARTICLE_COLUMNS)
        row = self.db.execute(f"SELECT json_object({pairs}) FROM articles WHERE site = ? AND id = ?",
                              (site, article_id)).fetchone()
        return None if row is None else json.loads(row[0])

    def mark_folded(self, commit: Commit, records: int, first_position: int) -> None:
        key = commit.key
        self.db.execute("INSERT INTO folded (seq, run_id, name, size, sha256, records, first_position) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (key.seq, key.run_id, key.name, key.size, commit.sha256, records, first_position))

    # --- the outputs' state -----------------------------------------------------------------------

    def output(self, name: str) -> Held | None:
        """How far an output (a JSONL file, a Parquet dataset) was brought; None: not at all."""
        row = self.db.execute("SELECT folded, positions, bytes FROM outputs WHERE name = ?", (name,)).fetchone()
        return None if row is None else Held(*row)

    def set_output(self, name: str, held: Held) -> None:
        """Record how far an output holds the stream (the caller commits)."""
        self.db.execute("INSERT OR REPLACE INTO outputs (name, folded, positions, bytes) VALUES (?, ?, ?, ?)",
                        (name, held.folded, held.positions, held.bytes))

    def forget_output(self, name: str) -> None:
        """An output to be written whole again: no state, no parts (the caller commits)."""
        self.db.execute("DELETE FROM outputs WHERE name = ?", (name,))
        self.db.execute("DELETE FROM parts WHERE dataset = ?", (name,))

    def parts(self, dataset: str) -> list[str]:
        """A Parquet dataset's files, in stream order."""
        rows = self.db.execute("SELECT name FROM parts WHERE dataset = ? ORDER BY first_position", (dataset,))
        return [name for (name,) in rows]

    def add_part(self, dataset: str, name: str, first_position: int, end_position: int, rows: int) -> None:
        self.db.execute("INSERT INTO parts VALUES (?, ?, ?, ?, ?)", (dataset, name, first_position, end_position, rows))

    # --- reading ----------------------------------------------------------------------------------

    def json_blocks(self, table: str, since: int = 0) -> Iterator[bytes]:
        """A table's rows as JSONL has them (one JSON object a line, made by SQLite), in blocks of
        ``CHUNK_ROWS`` lines, of the records from stream position ``since`` on: revisions in stream
        order; the articles changed since, in the order of their latest record."""
        columns = TABLES[table]
        key = "position" if table == "revisions" else "last_position"
        pairs = ", ".join(f"'{c.name}', {_json_value(c)}" for c in columns)
        cursor = self.db.execute(f"SELECT json_object({pairs}) FROM {table} WHERE {key} >= ? ORDER BY {key}",
                                 (since,))
        while chunk := cursor.fetchmany(CHUNK_ROWS):
            yield ("\n".join(line for (line,) in chunk) + "\n").encode("utf-8")

    def counts(self) -> dict[str, dict[str, int]]:
        """Rows per status: of ``articles`` (their latest record's) and ``revisions``."""
        return {table: dict(self.db.execute(f"SELECT status, COUNT(*) FROM {table} INDEXED BY {table}_status "
                                            "GROUP BY status ORDER BY status"))
                for table in TABLES}
