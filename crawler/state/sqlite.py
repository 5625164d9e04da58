"""The one-machine state store: SQLite under OUTPUT_DIR (``state.sqlite3``).

Rows are staged per (run, slice) while a run goes and promoted into ``articles`` in one transaction
once the slice's manifest is written; ``meta.last_seq`` is the last manifest promoted, which is how
recovery finds a slice committed but not promoted. Failed article URLs wait in ``pending`` for the
next run, so an early stop at known list pages never strands them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from . import ArticleState, IndexedCapture, StateError, StateTooNew

logger = logging.getLogger(__name__)

# 1: 0.1.0 (articles, staged per run, settled_runs); 2: meta, slices, pending; 3: articles' first
# channel, last_checked and content_hash_version (added in place to a 1 or 2 store). The ``stored``
# table (a slice's files as written, for recovery) is created in any store of 2 or 3 as it is
# opened; a crawler that does not know it leaves it alone, so it needs no new version.
SCHEMA_VERSION = 3
COLUMN_DEFINITIONS = (
    ("site", "TEXT NOT NULL"),
    ("id", "TEXT NOT NULL"),
    ("url", "TEXT NOT NULL"),
    ("published_at", "TEXT"),
    ("first_seen", "TEXT NOT NULL"),
    ("last_seen", "TEXT NOT NULL"),
    ("content_sha256", "TEXT"),
    ("revision", "INTEGER NOT NULL"),
    ("etag", "TEXT"),
    ("last_modified", "TEXT"),
    ("deleted", "INTEGER NOT NULL DEFAULT 0"),
    # 3: rows of an older store get NULL (checked first) and hash version 1 (title and body).
    ("channel", "TEXT"),
    ("channel_name", "TEXT"),
    ("last_checked", "TEXT"),
    ("content_hash_version", "INTEGER NOT NULL DEFAULT 1"),
)
# Columns a store of schema 1 or 2 lacks in ``articles`` and ``staged``: added by ALTER TABLE.
ADDED_IN_3 = COLUMN_DEFINITIONS[-4:]
COLUMNS = tuple(name for name, _ in COLUMN_DEFINITIONS)
_COLS = ", ".join(COLUMNS)
_DEFINED = ", ".join(f"{name} {kind}" for name, kind in COLUMN_DEFINITIONS)
# The capture index (``crawler.state.captures``): per URL, the newest archived full response, by
# commit order (``seq``, then ``rank``, the WARC file's place among its manifest's, then ``offset``).
# ``date`` and ``record_id`` are filled only for captures whose record was read back or written by
# the indexing run; a capture is used only once its record reads back (``StoredCaptures.newest``).
# Added to any store as it is opened, as ``stored`` is: ``meta.captures_seq`` says which manifests it
# holds, and a store without it (older, or rebuilt) is filled from the manifests' CDXJ files.
CAPTURE_COLUMNS = ("url", "seq", "rank", "file", "offset", "digest", "status", "mime", "date", "record_id")
_CAPTURE_DEFINED = ("url TEXT NOT NULL, seq INTEGER NOT NULL, rank INTEGER NOT NULL, file TEXT NOT NULL, "
                    "offset INTEGER NOT NULL, digest TEXT NOT NULL, status INTEGER NOT NULL, mime TEXT, date TEXT, "
                    "record_id TEXT")
_CAPTURE_COLS = ", ".join(CAPTURE_COLUMNS)
# A capture replaces the indexed one of its URL only when it is later in commit order.
_NEWER = ("ON CONFLICT ({key}) DO UPDATE SET seq=excluded.seq, rank=excluded.rank, file=excluded.file, "
          "offset=excluded.offset, digest=excluded.digest, status=excluded.status, mime=excluded.mime, "
          "date=excluded.date, record_id=excluded.record_id "
          "WHERE (excluded.seq, excluded.rank, excluded.offset) > ({table}.seq, {table}.rank, {table}.offset)")
# The whole-file integrity check runs at most this often when every writer closed the store cleanly.
FULL_CHECK_DAYS = 7
# How many ids one ``known_ids`` query asks about (SQLite's bound parameters).
IDS_PER_QUERY = 500
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles ({_DEFINED}, PRIMARY KEY (site, id));
CREATE TABLE IF NOT EXISTS slices (run_id TEXT NOT NULL, slice INTEGER NOT NULL, files TEXT NOT NULL,
                                   PRIMARY KEY (run_id, slice));
CREATE TABLE IF NOT EXISTS stored (run_id TEXT NOT NULL, slice INTEGER NOT NULL, entries TEXT NOT NULL,
                                   PRIMARY KEY (run_id, slice));
CREATE TABLE IF NOT EXISTS staged (run_id TEXT NOT NULL, slice INTEGER NOT NULL, emitted INTEGER NOT NULL,
                                   {_DEFINED}, PRIMARY KEY (run_id, slice, site, id));
CREATE TABLE IF NOT EXISTS pending (site TEXT NOT NULL, id TEXT NOT NULL, url TEXT NOT NULL,
                                    channel TEXT, PRIMARY KEY (site, id));
CREATE TABLE IF NOT EXISTS captures ({_CAPTURE_DEFINED}, PRIMARY KEY (url));
CREATE TABLE IF NOT EXISTS baselines (seq INTEGER PRIMARY KEY, site TEXT, channels TEXT NOT NULL,
                                      quality TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS staged_captures (run_id TEXT NOT NULL, slice INTEGER NOT NULL, {_CAPTURE_DEFINED},
                                            PRIMARY KEY (run_id, slice, url));
"""
# After the columns of schema 3 exist: the budgeted recheck reads articles least recently checked first.
# Both read through an index, never a sort or a scan of every article: the recent window by date,
# the budgeted recheck in its own order (a million articles cost what a thousand do).
INDEXES = """
CREATE INDEX IF NOT EXISTS articles_last_checked ON articles (site, last_checked);
CREATE INDEX IF NOT EXISTS articles_recheck_order ON articles (site, last_checked, published_at, id);
CREATE INDEX IF NOT EXISTS articles_published ON articles (site, published_at);
CREATE INDEX IF NOT EXISTS baselines_scope ON baselines (site, channels, seq);
"""


class SqliteStateStore:
    """SQLite-backed article state with rows staged per slice."""

    def __init__(self, path: Path, readonly: bool = False):
        self.path = path
        self.readonly = readonly
        self.closed_cleanly = False
        if readonly:
            self.db = self._read_copy(path)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(path, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            version = self._version()
        except sqlite3.DatabaseError as error:
            raise StateError(f"{path} is not a readable SQLite database ({error})") from error
        if version > SCHEMA_VERSION:
            self.db.close()
            raise StateTooNew(f"{path} has state schema {version}, newer than this crawler's {SCHEMA_VERSION}: "
                             "run the newer crawler, or move the file away to rebuild it from the manifests")
        if version < 2:
            self._migrate_from_0_1()
        self.db.executescript(SCHEMA)
        if version < SCHEMA_VERSION:
            self._migrate_to_3(self.db)
        self.db.executescript(INDEXES)
        self._set("schema_version", str(SCHEMA_VERSION))
        # Whether the last process that wrote it closed it (a kill leaves "0"), then "0" until this one does.
        row = self.db.execute("SELECT value FROM meta WHERE key='closed'").fetchone()
        self.closed_cleanly = bool(row and row[0] == "1")
        self._set("closed", "0")

    @staticmethod
    def _read_copy(path: Path) -> Any:
        """The store for reading, without creating or changing any file (SQLite's read-only mode
        would still create the -wal and -shm files): the file itself, opened immutable, when it is
        of this crawler's schema (what a reader holds does not grow with the archive); else (a store
        an older crawler wrote, until the next crawl migrates it) an in-memory copy brought to this
        schema. Empty when there is none. A crawl writing at the same time may make what is read
        stale, or fail: the reader then reads an empty store, as a reader of a failed copy did."""
        if path.exists():
            try:
                source = sqlite3.connect(f"file:{path}?immutable=1", uri=True, isolation_level=None)
                if SqliteStateStore._is_current(source):
                    return _GuardedReader(source)
                copy = sqlite3.connect(":memory:", isolation_level=None)
                source.backup(copy)
                source.close()
            except sqlite3.DatabaseError:
                copy = sqlite3.connect(":memory:", isolation_level=None)
        else:
            copy = sqlite3.connect(":memory:", isolation_level=None)
        return SqliteStateStore._empty_reader(copy)

    @staticmethod
    def _empty_reader(copy: sqlite3.Connection) -> sqlite3.Connection:
        copy.executescript(SCHEMA)
        SqliteStateStore._migrate_to_3(copy)
        copy.executescript(INDEXES)
        return copy

    @staticmethod
    def _is_current(db: sqlite3.Connection) -> bool:
        """Whether a store holds every table, column and index of this crawler's schema."""
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')")}
        wanted = set(re.findall(r"CREATE (?:TABLE|INDEX) IF NOT EXISTS (\w+)", SCHEMA + INDEXES))
        if not wanted <= names or "meta" not in names:
            return False
        row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        columns = {row[1] for row in db.execute("PRAGMA table_info(articles)")}
        return bool(row) and row[0] == str(SCHEMA_VERSION) and set(COLUMNS) <= columns

    def _version(self) -> int:
        tables = {row[0] for row in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "meta" in tables:
            row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            return int(row[0]) if row else SCHEMA_VERSION
        return 1 if "articles" in tables else SCHEMA_VERSION

    def _migrate_from_0_1(self) -> None:
        """0.1.0's store: keep ``articles``; its staged rows (killed 0.1.0 runs) are re-emitted."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("DROP TABLE IF EXISTS staged")
            self.db.execute("DROP TABLE IF EXISTS settled_runs")

    @staticmethod
    def _migrate_to_3(db: sqlite3.Connection) -> None:
        """Schema 1 or 2: add the columns of 3 to ``articles`` and ``staged``, in one transaction.
        Their rows get no channel or last_checked (the budgeted recheck reaches them first) and
        content hash version 1, so their next recheck compares title and body as the hash did."""
        with db:
            db.execute("BEGIN IMMEDIATE")
            for table in ("articles", "staged"):
                present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                for name, kind in ADDED_IN_3:
                    if name not in present:
                        db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")

    def _set(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def close(self) -> None:
        if not self.readonly:
            with contextlib.suppress(sqlite3.Error):  # not closed cleanly, then: the next run checks the whole file
                self._set("closed", "1")
        self.db.close()

    def check(self) -> None:
        """Raise StateError when the file is damaged: SQLite's own integrity check (``quick_check``,
        which reads every page: a second on a million articles) when the last writer did not close
        the store, or its last whole check is older than FULL_CHECK_DAYS; else its schema and meta
        are read. A run's start does not grow with the archive's age, and a page damaged since the
        last whole check shows as a damaged store when read (SQLite checks each page it reads)."""
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key='checked_at'").fetchone()
            due = not self.closed_cleanly or row is None or float(row[0]) < time.time() - FULL_CHECK_DAYS * 86_400
            if not due:
                self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()
                return
            result = self.db.execute("PRAGMA quick_check").fetchone()[0]
        except (sqlite3.DatabaseError, ValueError) as error:
            raise StateError(f"{self.path} is damaged ({error})") from error
        if result != "ok":
            raise StateError(f"{self.path} is damaged ({result})")
        if not self.readonly:
            self._set("checked_at", str(time.time()))

    # --- what earlier runs committed ------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key='last_seq'").fetchone()
        return int(row[0]) if row else 0

    def get(self, site: str, article_id: str) -> ArticleState | None:
        row = self.db.execute(f"SELECT {_COLS} FROM articles WHERE site=? AND id=?", (site, article_id)).fetchone()
        return ArticleState(*row) if row else None

    def known_ids(self, site: str, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` (a list page's, a batch) are committed articles of a site, deleted ones
        too: a list page that still links a deleted article does not ask for it again each run;
        rechecks do, and see it return. Asked per batch: no run holds every known id."""
        wanted = list(dict.fromkeys(ids))
        found: set[str] = set()
        for start in range(0, len(wanted), IDS_PER_QUERY):
            chunk = wanted[start:start + IDS_PER_QUERY]
            found.update(row[0] for row in self.db.execute(
                f"SELECT id FROM articles WHERE site=? AND id IN ({', '.join('?' * len(chunk))})", (site, *chunk)))
        return found

    # --- the capture index ----------------------------------------------------------------------

    @property
    def captures_seq(self) -> int | None:
        """The newest manifest whose captures the index holds, every earlier one too (None: the
        index was never built, as in a store of an older crawler or a rebuilt one)."""
        row = self.db.execute("SELECT value FROM meta WHERE key='captures_seq'").fetchone()
        return int(row[0]) if row else None

    def capture(self, url: str) -> IndexedCapture | None:
        """The indexed newest capture of ``url``, or None."""
        return _capture(self.db, url)

    def capture_lookup(self) -> CaptureLookup:
        """A lookup of the capture index for another thread (the WARC writer's): its own connection."""
        return CaptureLookup(self.path) if not self.readonly else CaptureLookup(None, self.capture)

    def stage_captures(self, run_id: str, slice_no: int, captures: Iterable[IndexedCapture]) -> None:
        """The captures a slice's WARC files hold (``seq`` is the manifest's, set at ``promote``)."""
        if self.readonly:
            return
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany(f"INSERT INTO staged_captures (run_id, slice, {_CAPTURE_COLS}) "
                                f"VALUES (?, ?, {', '.join('?' * len(CAPTURE_COLUMNS))}) "
                                + _NEWER.format(key="run_id, slice, url", table="staged_captures"),
                                [(run_id, slice_no, *capture.row()) for capture in captures])

    def index_captures(self, captures: Iterable[IndexedCapture], seq: int | None) -> int:
        """Fold committed captures (a manifest's CDXJ lines) into the index, in one transaction;
        ``seq`` given: the index now holds every manifest up to it. Returns how many were read."""
        count = 0

        def rows() -> Iterator[tuple]:
            nonlocal count
            for capture in captures:
                count += 1
                yield capture.row()
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            placeholders = ", ".join("?" * len(CAPTURE_COLUMNS))
            self.db.executemany(f"INSERT INTO captures ({_CAPTURE_COLS}) VALUES ({placeholders}) "
                                + _NEWER.format(key="url", table="captures"), rows())
            if seq is not None:
                self._set("captures_seq", str(seq))
        return count

    # --- the drift baseline's index (``crawler.run.baselines``) ------------------------------------

    @property
    def baselines_at(self) -> tuple[int, str] | None:
        """(seq, run id) of the newest manifest the baseline index holds (None: never built)."""
        row = self.db.execute("SELECT value FROM meta WHERE key='baselines_at'").fetchone()
        if not row:
            return None
        seq, _, run_id = row[0].partition(" ")
        return int(seq), run_id

    def index_baselines(self, rows: Iterable[tuple[int, str | None, str, str]], at: tuple[int, str],
                        reset: bool) -> None:
        """(seq, site, channels as JSON, quality as JSON) of runs that may be a baseline, up to the
        manifest ``at``, in one transaction (``reset``: in place of every row held)."""
        if self.readonly:
            return
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            if reset:
                self.db.execute("DELETE FROM baselines")
            self.db.executemany("INSERT OR REPLACE INTO baselines VALUES (?, ?, ?, ?)", rows)
            self._set("baselines_at", f"{at[0]} {at[1]}")

    def baselines(self, site: str | None, channels: str, limit: int) -> list[dict]:
        """The quality summaries of the newest ``limit`` baseline runs of a site and scope, newest first."""
        return [json.loads(row[0]) for row in self.db.execute(
            "SELECT quality FROM baselines WHERE site IS ? AND channels=? ORDER BY seq DESC LIMIT ?",
            (site, channels, limit))]

    def channels(self) -> list[tuple[str, str, str | None, int]]:
        """(site, channel, its name, articles) for each channel committed articles were first filed under."""
        return list(self.db.execute("SELECT site, channel, max(channel_name), count(*) FROM articles WHERE channel "
                                    "IS NOT NULL GROUP BY site, channel ORDER BY site, count(*) DESC, channel"))

    def recheck_candidates(self, site: str, published_since: str | None) -> Iterator[ArticleState]:
        """Known articles (deleted ones too: they may come back) published at or after
        ``published_since`` (None: all of them)."""
        query = f"SELECT {_COLS} FROM articles WHERE site=?"
        params: tuple[str, ...] = (site,)
        if published_since is not None:
            query += " AND published_at >= ?"
            params += (published_since,)
        for row in self.db.execute(query, params):
            yield ArticleState(*row)

    def recheck_oldest(self, site: str, published_before: str, limit: int) -> list[ArticleState]:
        """Up to ``limit`` known articles outside the recent window (published before
        ``published_before``, or when unknown), least recently checked first (never checked first)."""
        outside = "(published_at IS NULL OR published_at < ?)"
        never = (f"SELECT {_COLS} FROM articles INDEXED BY articles_recheck_order "
                 f"WHERE site=? AND last_checked IS NULL AND {outside} ORDER BY last_checked, published_at, id LIMIT ?")
        found = [ArticleState(*row) for row in self.db.execute(never, (site, published_before, limit))]
        if len(found) < limit:  # then least recently checked, in the index's order
            checked = (f"SELECT {_COLS} FROM articles INDEXED BY articles_recheck_order WHERE site=? AND last_checked "
                       f"IS NOT NULL AND {outside} ORDER BY last_checked, published_at, id LIMIT ?")
            found += [ArticleState(*row) for row in self.db.execute(checked, (site, published_before,
                                                                                 limit - len(found)))]
        return found

    def touch_checked(self, site: str, article_id: str, when: str) -> None:
        """A recheck answered 304: the article was looked at (only the recheck order depends on it,
        so it is written at once, not staged with a slice)."""
        if not self.readonly:
            self.db.execute("UPDATE articles SET last_checked=? WHERE site=? AND id=?", (when, site, article_id))

    def pending(self, site: str) -> list[tuple[str, str | None]]:
        """Article URLs that failed in earlier runs and were not committed since: (url, channel)."""
        return list(self.db.execute("SELECT url, channel FROM pending WHERE site=?", (site,)))

    # --- a run's writes -------------------------------------------------------------------------

    def add_pending(self, site: str, article_id: str, url: str, channel: str | None) -> None:
        if not self.readonly:
            self.db.execute("INSERT OR REPLACE INTO pending VALUES (?, ?, ?, ?)", (site, article_id, url, channel))

    def add_pending_many(self, site: str, rows: list[tuple[str, str, str | None]]) -> None:
        """(id, url, channel) rows, in one transaction."""
        if not self.readonly:
            with self.db:
                self.db.execute("BEGIN")
                self.db.executemany("INSERT OR REPLACE INTO pending VALUES (?, ?, ?, ?)",
                                    [(site, *row) for row in rows])

    def clear_pending(self, site: str, article_id: str) -> None:
        if not self.readonly:
            self.db.execute("DELETE FROM pending WHERE site=? AND id=?", (site, article_id))

    def open_slice(self, run_id: str, slice_no: int, files: list[str]) -> None:
        """Name a slice's local files before any of its rows are staged (recovery needs them)."""
        if not self.readonly:
            self.db.execute("INSERT OR REPLACE INTO slices VALUES (?, ?, ?)", (run_id, slice_no, json.dumps(files)))

    def record_stored(self, run_id: str, slice_no: int, entries: list[dict]) -> None:
        """The manifest entries of a slice's files as written (size, SHA-256), before any is
        renamed into place: recovery accepts a killed slice's file only if it holds those bytes."""
        if not self.readonly:
            self.db.execute("INSERT OR REPLACE INTO stored VALUES (?, ?, ?)", (run_id, slice_no, json.dumps(entries)))

    def stored_entries(self, run_id: str, slice_no: int) -> list[dict]:
        """What ``record_stored`` recorded for the slice (none: it never reached its storing)."""
        row = self.db.execute("SELECT entries FROM stored WHERE run_id=? AND slice=?", (run_id, slice_no)).fetchone()
        return json.loads(row[0]) if row else []

    def stage(self, run_id: str, slice_no: int, state: ArticleState, emitted: bool = True) -> None:
        """What a slice emitted (or, ``emitted`` false, confirmed unchanged) for an article;
        promoted with the slice."""
        if self.readonly:
            return
        values = tuple(getattr(state, c) for c in COLUMNS)
        self.db.execute(f"INSERT OR REPLACE INTO staged (run_id, slice, emitted, {_COLS}) "
                        f"VALUES (?, ?, ?, {', '.join('?' * len(COLUMNS))})", (run_id, slice_no, int(emitted), *values))

    def open_slices(self) -> list[tuple[str, int, list[str]]]:
        """Slices staged or opened but neither promoted nor discarded: (run id, slice, files)."""
        found = {(r, s): json.loads(f) for r, s, f in self.db.execute("SELECT run_id, slice, files FROM slices")}
        for run_id, slice_no in self.db.execute("SELECT DISTINCT run_id, slice FROM staged"):
            found.setdefault((run_id, slice_no), [])
        return [(r, s, files) for (r, s), files in sorted(found.items())]

    def promote(self, run_id: str, slice_no: int, seq: int) -> int:
        """Move a committed slice's rows into ``articles`` in one transaction; returns how many."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            cursor = self.db.execute(f"INSERT OR REPLACE INTO articles ({_COLS}) "
                                     f"SELECT {_COLS} FROM staged WHERE run_id=? AND slice=?", (run_id, slice_no))
            self.db.execute("DELETE FROM pending WHERE (site, id) IN "
                            "(SELECT site, id FROM staged WHERE run_id=? AND slice=?)", (run_id, slice_no))
            self._promote_captures(run_id, slice_no, seq)
            self._forget(run_id, slice_no)
            self._set("last_seq", str(max(seq, self.last_seq)))
            return cursor.rowcount

    def _promote_captures(self, run_id: str, slice_no: int, seq: int) -> None:
        """The slice's staged captures into the index under its manifest's ``seq``; the index holds
        every manifest up to ``seq`` only when it held every one before (else recovery's catch-up
        reads the missing ones' CDXJ files at the next start)."""
        columns = ", ".join("?" if name == "seq" else name for name in CAPTURE_COLUMNS)
        self.db.execute(f"INSERT INTO captures ({_CAPTURE_COLS}) SELECT {columns} FROM staged_captures "
                        "WHERE run_id=? AND slice=? " + _NEWER.format(key="url", table="captures"),
                        (seq, run_id, slice_no))
        if self.captures_seq == seq - 1:
            self._set("captures_seq", str(seq))

    def emitted_ids(self, run_id: str, slice_no: int) -> set[tuple[str, str]]:
        """(site, id) of the records a slice emitted: what its records files must hold."""
        return set(self.db.execute("SELECT site, id FROM staged WHERE run_id=? AND slice=? AND emitted=1",
                                   (run_id, slice_no)))

    def discard(self, run_id: str, slice_no: int) -> None:
        """Forget a slice that was never committed: its articles are emitted again, and wait in
        ``pending`` (some are linked only from article pages the next run will not read again)."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("INSERT OR REPLACE INTO pending SELECT site, id, url, NULL FROM staged "
                            "WHERE run_id=? AND slice=? AND emitted=1", (run_id, slice_no))
            self._forget(run_id, slice_no)

    def _forget(self, run_id: str, slice_no: int) -> None:
        self.db.execute("DELETE FROM staged WHERE run_id=? AND slice=?", (run_id, slice_no))
        self.db.execute("DELETE FROM slices WHERE run_id=? AND slice=?", (run_id, slice_no))
        self.db.execute("DELETE FROM stored WHERE run_id=? AND slice=?", (run_id, slice_no))
        self.db.execute("DELETE FROM staged_captures WHERE run_id=? AND slice=?", (run_id, slice_no))

    def apply_records(self, records: Iterable[dict], seq: int) -> int:
        """Fold committed records (a manifest's, in order) into ``articles``: rebuilding from manifests."""
        applied = 0
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            for record in records:
                state = ArticleState.from_record(record, self.get(record["site"], record["id"]))
                self.db.execute(f"INSERT OR REPLACE INTO articles ({_COLS}) VALUES ({', '.join('?' * len(COLUMNS))})",
                                tuple(getattr(state, c) for c in COLUMNS))
                self.db.execute("DELETE FROM pending WHERE site=? AND id=?", (state.site, state.id))
                applied += 1
            self._set("last_seq", str(max(seq, self.last_seq)))
        return applied


class _GuardedReader:
    """A read-only store's connection to the file itself (immutable): a read that fails (a crawl
    rewrote pages under it) goes on against an empty store, with one warning, as a failed copy did."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db
        self.failed = False

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        try:
            return self.db.execute(sql, params)
        except sqlite3.DatabaseError as error:
            if self.failed:
                raise
            logger.warning("The state store changed while it was read (%s): reading an empty one", error)
            self.failed = True
            self.db.close()
            self.db = SqliteStateStore._empty_reader(sqlite3.connect(":memory:", isolation_level=None))
            return self.db.execute(sql, params)

    def close(self) -> None:
        self.db.close()


def _capture(db: sqlite3.Connection, url: str) -> IndexedCapture | None:
    row = db.execute(f"SELECT {_CAPTURE_COLS} FROM captures WHERE url=?", (url,)).fetchone()
    return IndexedCapture(*row) if row else None


class CaptureLookup:
    """``capture(url)`` on a connection of its own, opened read-only in the thread that first asks
    (SQLite connections stay in their thread): the WARC writer's. No store, no table: no captures."""

    def __init__(self, path: Path | None, ask=None):
        self.path = path
        self.ask = ask
        self.db: sqlite3.Connection | None = None

    def __call__(self, url: str) -> IndexedCapture | None:
        if self.ask is not None:
            return self.ask(url)
        try:
            if self.db is None:
                if self.path is None or not self.path.exists():
                    return None
                self.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            return _capture(self.db, url)
        except sqlite3.Error:
            return None

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None
