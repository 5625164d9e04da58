"""Bounded memories of a run's own work, so that they stay flat however long the run:

- ``RecentKeys``: the keys added last, a cheap first check in front of a complete one (the
  spider's recently requested article URLs, before Scrapy's duplicate filter);
- ``RecentValues``: the entries used last; an entry it forgot is asked again of the store that
  holds it (the requisites' pointers, the WARC writer's read-back captures);
- ``RunKeys``: every key of the run, exactly, where no other store can answer for a forgotten one
  (the ids the run emitted, the ids it asked for as new): held on disk, as Heritrix holds its
  already-seen URIs, with a bounded page cache in memory.
"""

from __future__ import annotations

import sqlite3
import weakref
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class RecentValues(Generic[V]):
    """The last ``size`` entries set or read; the one unused longest is forgotten first."""

    def __init__(self, size: int):
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        self.size = size
        self._values: OrderedDict[Hashable, V] = OrderedDict()

    def __contains__(self, key: Hashable) -> bool:
        return key in self._values

    def __len__(self) -> int:
        return len(self._values)

    def get(self, key: Hashable, default: V | None = None) -> V | None:
        """The value of ``key`` (now the most recently used), or ``default``."""
        if key not in self._values:
            return default
        self._values.move_to_end(key)
        return self._values[key]

    def __getitem__(self, key: Hashable) -> V:
        self._values.move_to_end(key)
        return self._values[key]

    def __setitem__(self, key: Hashable, value: V) -> None:
        self._values[key] = value
        self._values.move_to_end(key)
        if len(self._values) > self.size:
            self._values.popitem(last=False)

    def pop(self, key: Hashable) -> V | None:
        """Forget ``key``; its value, or None."""
        return self._values.pop(key, None)


class RecentKeys:
    """The last ``size`` keys added, the oldest forgotten first: memory stays flat however many come.
    A key already there is not refreshed by being added again (the order is the order of first adding)."""

    def __init__(self, size: int):
        self._keys: RecentValues[None] = RecentValues(size)

    @property
    def size(self) -> int:
        return self._keys.size

    def add(self, key: Hashable) -> bool:
        """Remember ``key``; False when it was already among the recent keys."""
        if key in self._keys:
            return False
        self._keys[key] = None
        return True


# RunKeys' page cache, in KiB (SQLite's negative cache_size): what it holds in memory at most,
# however many keys. A lookup past it reads the file back, from the OS cache mostly.
RUN_KEYS_CACHE_KIB = 512


class RunKeys:
    """Every key added in this run with its value (a string), exact however many: kept in a private
    temporary SQLite database, closed (and so deleted) once this object is gone; the file is
    unlinked as it is opened, so a killed run leaves none behind. Its memory is the page cache
    (``RUN_KEYS_CACHE_KIB``), not the number of keys."""

    def __init__(self) -> None:
        # "": a private, temporary on-disk database (SQLite's docs, "Temporary Databases").
        self._db = sqlite3.connect("", isolation_level=None)
        weakref.finalize(self, self._db.close)
        for pragma in (f"cache_size = -{RUN_KEYS_CACHE_KIB}", "journal_mode = OFF", "synchronous = OFF"):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.execute("CREATE TABLE keys (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")

    def __contains__(self, key: str) -> bool:
        return self._db.execute("SELECT 1 FROM keys WHERE key = ?", (key,)).fetchone() is not None

    def __len__(self) -> int:
        return self._db.execute("SELECT count(*) FROM keys").fetchone()[0]

    def get(self, key: str) -> str | None:
        """The value added with ``key``, or None."""
        row = self._db.execute("SELECT value FROM keys WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def __setitem__(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO keys (key, value) VALUES (?, ?)", (key, value))

    def add(self, key: str) -> None:
        """Remember ``key`` (with an empty value)."""
        self[key] = ""

    def pop(self, key: str) -> str | None:
        """Forget ``key``; its value, or None."""
        value = self.get(key)
        if value is not None:
            self._db.execute("DELETE FROM keys WHERE key = ?", (key,))
        return value
