"""The export's SQLite database: the two tables, a full-text index, and the fold's own state.

``archive.sqlite`` is both a product (query it, serve it with Datasette) and what makes the export
incremental: the ``folded`` table lists the manifests folded into it, so the next export folds only
those after them. It is changed on a hidden copy (``.archive.sqlite.part``) renamed over it once
committed: a kill leaves the old database whole, and a reader that has it open keeps its snapshot.

Full text: an FTS5 table over ``articles`` (title, body) with the ``trigram`` tokenizer (SQLite
3.34+). Chinese has no spaces between words, so a word-based tokenizer would index whole sentences
as one token; trigrams match any substring of three characters or more. Triggers keep the index
in step with ``articles``.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

from .fold import Commit, ManifestKey
from .tables import ARTICLE_COLUMNS, REVISION_COLUMNS, TABLES, Column

# 1: articles, revisions, articles_fts, folded. Another version is built again from the manifests.
EXPORT_SCHEMA_VERSION = "1"
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


# An external-content index forgets a row by being told its old values.
_UNINDEX_OLD = ("INSERT INTO articles_fts(articles_fts, rowid, title, body) "
                "VALUES ('delete', old.rowid, old.title, old.body);")


def _create_sql() -> list[str]:
    def columns(cols: tuple[Column, ...]) -> str:
        return ", ".join(f"{c.name} {c.sqlite_type}" for c in cols)
    return [
        "CREATE TABLE export_meta (key TEXT PRIMARY KEY, value TEXT)",
        # The manifests folded, in the order folded; ``first_position``: where its records start.
        "CREATE TABLE folded (ord INTEGER PRIMARY KEY, seq INTEGER, run_id TEXT, name TEXT UNIQUE, size INTEGER, "
        "sha256 TEXT, records INTEGER, first_position INTEGER)",
        f"CREATE TABLE revisions ({columns(REVISION_COLUMNS)}, PRIMARY KEY (position))",
        "CREATE INDEX revisions_article ON revisions (site, id, position)",
        # A rowid table (the FTS index refers to rows by rowid), one row per (site, id).
        f"CREATE TABLE articles ({columns(ARTICLE_COLUMNS)}, UNIQUE (site, id))",
        # content="articles" in double quotes: how Datasette finds a table's index (its search box).
        "CREATE VIRTUAL TABLE articles_fts USING fts5(title, body, content=\"articles\", tokenize='trigram')",
        # The external-content FTS pattern of SQLite's documentation: the index follows the table.
        "CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN "
        "INSERT INTO articles_fts(rowid, title, body) VALUES (new.rowid, new.title, new.body); END",
        f"CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN {_UNINDEX_OLD} END",
        f"CREATE TRIGGER articles_au AFTER UPDATE ON articles BEGIN {_UNINDEX_OLD} "
        "INSERT INTO articles_fts(rowid, title, body) VALUES (new.rowid, new.title, new.body); END",
    ]


def to_sqlite(column: Column, value: Any) -> Any:
    if value is None:
        return None
    if column.kind == "json":
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if column.kind == "bool":
        return int(bool(value))
    return value


def from_sqlite(column: Column, value: Any) -> Any:
    """A stored value as a row has it (the JSONL value)."""
    if value is None:
        return None
    if column.kind == "json":
        return json.loads(value)
    if column.kind == "bool":
        return bool(value)
    return value


class ArchiveStore:
    """An open export database (a part file being written, or the committed one being read)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    @classmethod
    def _writable(cls, path: Path) -> ArchiveStore:
        """A part file, private to this export: no rollback journal, no syncs (a failed export
        deletes it; the caller fsyncs it whole before renaming it into place)."""
        db = sqlite3.connect(path)
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -65536")  # 64 MiB: the trigram index's pages stay in memory
        return cls(db)

    @classmethod
    def create(cls, path: Path) -> ArchiveStore:
        path.unlink(missing_ok=True)
        store = cls._writable(path)
        db = store.db
        with db:
            for statement in _create_sql():
                db.execute(statement)
            db.execute("INSERT INTO export_meta VALUES ('export_schema_version', ?)", (EXPORT_SCHEMA_VERSION,))
        return store

    @classmethod
    def open(cls, path: Path) -> ArchiveStore:
        return cls(sqlite3.connect(path))

    @classmethod
    def copy_of(cls, committed: Path, part: Path) -> ArchiveStore:
        """The committed database copied to ``part``, to be changed there."""
        shutil.copyfile(committed, part)
        return cls._writable(part)

    def close(self) -> None:
        self.db.close()

    # --- the fold's state -------------------------------------------------------------------------

    def folded(self) -> list[tuple[ManifestKey, str]]:
        """The manifests folded, in order, each with the SHA-256 its bytes had."""
        rows = self.db.execute("SELECT seq, run_id, name, size, sha256 FROM folded ORDER BY ord")
        return [(ManifestKey(seq, run_id, name, size), sha) for seq, run_id, name, size, sha in rows]

    def usable(self) -> bool:
        """Whether this database is whole and of this export's schema (else it is built again)."""
        try:
            if self.db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                return False
            row = self.db.execute("SELECT value FROM export_meta WHERE key = 'export_schema_version'").fetchone()
        except sqlite3.DatabaseError:
            return False
        return row is not None and row[0] == EXPORT_SCHEMA_VERSION

    def stream_length(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM revisions").fetchone()[0]

    # --- folding ----------------------------------------------------------------------------------

    def article(self, site: str, article_id: str) -> dict[str, Any] | None:
        names = ", ".join(c.name for c in ARTICLE_COLUMNS)
        row = self.db.execute(f"SELECT {names} FROM articles WHERE site = ? AND id = ?", (site, article_id)).fetchone()
        return None if row is None else {c.name: from_sqlite(c, v) for c, v in zip(ARTICLE_COLUMNS, row, strict=True)}

    def add_revision(self, row: dict[str, Any]) -> None:
        self._insert("revisions", row)

    def put_article(self, row: dict[str, Any], *, known: bool) -> None:
        if not known:
            self._insert("articles", row)
            return
        # An UPDATE (not INSERT OR REPLACE) keeps the rowid, and fires the trigger that reindexes it.
        assignments = ", ".join(f"{c.name} = ?" for c in ARTICLE_COLUMNS)
        values = [to_sqlite(c, row.get(c.name)) for c in ARTICLE_COLUMNS]
        self.db.execute(f"UPDATE articles SET {assignments} WHERE site = ? AND id = ?",
                        (*values, row["site"], row["id"]))

    def mark_folded(self, commit: Commit, records: int, first_position: int) -> None:
        key = commit.key
        self.db.execute("INSERT INTO folded (seq, run_id, name, size, sha256, records, first_position) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (key.seq, key.run_id, key.name, key.size, commit.sha256, records, first_position))

    def _insert(self, table: str, row: dict[str, Any]) -> None:
        columns = TABLES[table]
        self.db.execute(f"INSERT INTO {table} ({', '.join(c.name for c in columns)}) "
                        f"VALUES ({', '.join('?' for _ in columns)})", [to_sqlite(c, row.get(c.name)) for c in columns])

    # --- reading ----------------------------------------------------------------------------------

    def rows(self, table: str) -> Iterator[dict[str, Any]]:
        """A table's rows as JSONL has them: revisions in stream order, articles in order of first sight."""
        columns = TABLES[table]
        order = "position" if table == "revisions" else "rowid"
        cursor = self.db.execute(f"SELECT {', '.join(c.name for c in columns)} FROM {table} ORDER BY {order}")
        for row in cursor:
            yield {c.name: from_sqlite(c, v) for c, v in zip(columns, row, strict=True)}

    def counts(self) -> dict[str, dict[str, int]]:
        """Rows per status: of ``articles`` (their latest record's) and ``revisions``."""
        return {table: dict(self.db.execute(f"SELECT status, COUNT(*) FROM {table} GROUP BY status ORDER BY status"))
                for table in TABLES}
