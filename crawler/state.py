"""The incremental state: an embedded SQLite store of every article seen, under OUTPUT_DIR.

Marks happen after persist. A run stages what it emitted (table ``staged``, keyed by run id) while
it goes; the staged rows are promoted into ``articles`` only once the run's JSONL file has been
renamed into place. A run killed before that leaves staged rows whose file never appeared: the next
run discards them and emits those articles again. A run killed between the rename and the promotion
leaves staged rows whose file exists: the next run promotes them. Either way every article appears
exactly once across the visible files.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Per-article columns, shared by the committed table and the staged (run-scoped) one.
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
)
COLUMNS = tuple(name for name, _ in COLUMN_DEFINITIONS)
_DEFINED = ", ".join(f"{name} {kind}" for name, kind in COLUMN_DEFINITIONS)
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS articles ({_DEFINED}, PRIMARY KEY (site, id));
CREATE TABLE IF NOT EXISTS staged (run_id TEXT NOT NULL, feed_file TEXT, {_DEFINED},
                                   PRIMARY KEY (run_id, site, id));
CREATE TABLE IF NOT EXISTS settled_runs (run_id TEXT NOT NULL, site TEXT NOT NULL, complete INTEGER NOT NULL,
                                         PRIMARY KEY (run_id, site));
"""


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


class StateStore:
    """SQLite-backed article state with staged (run-scoped) updates."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def get(self, site: str, article_id: str) -> ArticleState | None:
        """The committed state of an article, or None when it was never emitted."""
        row = self.db.execute(f"SELECT {', '.join(COLUMNS)} FROM articles WHERE site=? AND id=?",
                              (site, article_id)).fetchone()
        return ArticleState(*row) if row else None

    def known_ids(self, site: str) -> set[str]:
        """Ids of every committed, not deleted article of a site."""
        return {row[0] for row in self.db.execute("SELECT id FROM articles WHERE site=? AND deleted=0", (site,))}

    def recheck_candidates(self, site: str, published_since: str | None) -> Iterator[ArticleState]:
        """Live articles published at or after ``published_since`` (None: all of them)."""
        query = f"SELECT {', '.join(COLUMNS)} FROM articles WHERE site=? AND deleted=0"
        params: tuple[str, ...] = (site,)
        if published_since is not None:
            query += " AND published_at >= ?"
            params += (published_since,)
        for row in self.db.execute(query, params):
            yield ArticleState(*row)

    def stage(self, run_id: str, feed_file: str | None, state: ArticleState) -> None:
        """Record what this run emitted (or confirmed) for an article; promoted at commit."""
        values = tuple(getattr(state, c) for c in COLUMNS)
        self.db.execute(
            f"INSERT OR REPLACE INTO staged (run_id, feed_file, {', '.join(COLUMNS)}) "
            f"VALUES (?, ?, {', '.join('?' * len(COLUMNS))})", (run_id, feed_file, *values))

    def promote(self, run_id: str, site: str, complete: bool) -> int:
        """Move a run's staged rows into ``articles`` in one transaction; returns how many."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            cursor = self.db.execute(
                f"INSERT OR REPLACE INTO articles ({', '.join(COLUMNS)}) "
                f"SELECT {', '.join(COLUMNS)} FROM staged WHERE run_id=?", (run_id,))
            self.db.execute("DELETE FROM staged WHERE run_id=?", (run_id,))
            self.db.execute("INSERT OR REPLACE INTO settled_runs VALUES (?, ?, ?)", (run_id, site, int(complete)))
            return cursor.rowcount

    def last_run_complete(self, site: str) -> bool:
        """Whether the site's last settled run went through all of its list pages.

        Only then may a run stop paging at a page of known articles: after an interrupted run,
        older list pages may still hold articles nobody fetched.
        """
        row = self.db.execute("SELECT complete FROM settled_runs WHERE site=? ORDER BY run_id DESC LIMIT 1",
                              (site,)).fetchone()
        return bool(row and row[0])

    def discard(self, run_id: str) -> None:
        """Forget a run's staged rows (its output never appeared)."""
        self.db.execute("DELETE FROM staged WHERE run_id=?", (run_id,))

    def recover(self, output_dir: Path) -> dict[str, str]:
        """Settle staged rows left by killed runs: promote when their file exists, else discard."""
        outcome = {}
        runs = self.db.execute("SELECT DISTINCT run_id, feed_file, site FROM staged").fetchall()
        for run_id, feed_file, site in runs:
            if feed_file and (output_dir / feed_file).exists():
                self.promote(run_id, site, complete=False)
                outcome[run_id] = "promoted"
            else:
                self.discard(run_id)
                outcome[run_id] = "discarded"
        return outcome
