"""The fleet's state store: Redis, shared by crawler machines (``-s REDIS_URL=...``).

Same contract as the SQLite store (``crawler.state.sqlite``): rows staged per (run, slice),
promoted in one MULTI/EXEC transaction once the slice's manifest is written. Each open slice
records its owner (machine and OUTPUT_DIR), so a process settles only the slices its own killed
predecessors left behind. Manifests stay per OUTPUT_DIR, so there is no ``last_seq`` to check.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import redis

from . import ArticleState

KEY_PREFIX = "sichuanpeace:state"
EMITTED = "_emitted"  # beside a staged row: a record was written for it (else: confirmed unchanged)


class RedisStateStore:
    """Article state in Redis hashes: committed per site, staged per slice."""

    last_seq = None  # manifests live per OUTPUT_DIR, the state is the fleet's

    def __init__(self, url: str, output_dir: Path, readonly: bool = False, prefix: str = KEY_PREFIX):
        self.redis = redis.Redis.from_url(url, decode_responses=True)
        self.prefix = prefix
        self.readonly = readonly
        self.owner = f"{socket.gethostname()}:{output_dir.resolve()}"

    def _articles(self, site: str) -> str:
        return f"{self.prefix}:articles:{site}"

    def _checked(self, site: str) -> str:
        return f"{self.prefix}:checked:{site}"

    def _staged(self, run_id: str, slice_no: int) -> str:
        return f"{self.prefix}:staged:{run_id}:{slice_no}"

    @property
    def _slices(self) -> str:
        return f"{self.prefix}:slices"

    def close(self) -> None:
        self.redis.close()

    def check(self) -> None:
        self.redis.ping()

    def get(self, site: str, article_id: str) -> ArticleState | None:
        value = self.redis.hget(self._articles(site), article_id)
        return ArticleState(**json.loads(value)) if value else None

    def known_ids(self, site: str) -> set[str]:
        """Every committed article's id, deleted ones too (as the SQLite store's)."""
        return set(self.redis.hkeys(self._articles(site)))

    def recheck_candidates(self, site: str, published_since: str | None) -> Iterator[ArticleState]:
        """Known articles (deleted ones too) published at or after ``published_since`` (None: all)."""
        for _, value in self.redis.hscan_iter(self._articles(site)):
            state = ArticleState(**json.loads(value))
            if published_since is None or (state.published_at or "") >= published_since:
                yield state

    def recheck_oldest(self, site: str, published_before: str, limit: int) -> list[ArticleState]:
        """As the SQLite store's: outside the recent window, least recently checked first (a full
        scan: the fleet's seeder asks once a round)."""
        touched = self.redis.hgetall(self._checked(site))
        older = []
        for _, value in self.redis.hscan_iter(self._articles(site)):
            state = ArticleState(**json.loads(value))
            if state.published_at is None or state.published_at < published_before:
                state.last_checked = max(filter(None, (state.last_checked, touched.get(state.id))), default=None)
                older.append(state)
        older.sort(key=lambda s: (s.last_checked is not None, s.last_checked or "", s.published_at or "", s.id))
        return older[:limit]

    def touch_checked(self, site: str, article_id: str, when: str) -> None:
        """A recheck answered 304: written at once (only the recheck order depends on it), beside the
        article's row rather than into it, so it never races a promotion of that row."""
        if not self.readonly:
            self.redis.hset(self._checked(site), article_id, when)

    def pending(self, site: str) -> list[tuple[str, str | None]]:
        return [tuple(json.loads(v)) for v in self.redis.hvals(f"{self.prefix}:pending:{site}")]

    def add_pending(self, site: str, article_id: str, url: str, channel: str | None) -> None:
        if not self.readonly:
            self.redis.hset(f"{self.prefix}:pending:{site}", article_id, json.dumps([url, channel]))

    def add_pending_many(self, site: str, rows: list[tuple[str, str, str | None]]) -> None:
        if not self.readonly and rows:
            self.redis.hset(f"{self.prefix}:pending:{site}",
                            mapping={article_id: json.dumps([url, channel]) for article_id, url, channel in rows})

    def clear_pending(self, site: str, article_id: str) -> None:
        if not self.readonly:
            self.redis.hdel(f"{self.prefix}:pending:{site}", article_id)

    def open_slice(self, run_id: str, slice_no: int, files: list[str]) -> None:
        if not self.readonly:
            self.redis.hset(self._slices, f"{run_id}:{slice_no}", json.dumps({"owner": self.owner, "files": files}))

    def record_stored(self, run_id: str, slice_no: int, entries: list[dict]) -> None:
        """As the SQLite store's: beside the open slice's owner and files."""
        if not self.readonly:
            key = f"{run_id}:{slice_no}"
            info = json.loads(self.redis.hget(self._slices, key) or json.dumps({"owner": self.owner, "files": []}))
            self.redis.hset(self._slices, key, json.dumps({**info, "stored": entries}))

    def stored_entries(self, run_id: str, slice_no: int) -> list[dict]:
        value = self.redis.hget(self._slices, f"{run_id}:{slice_no}")
        return json.loads(value).get("stored", []) if value else []

    def stage(self, run_id: str, slice_no: int, state: ArticleState, emitted: bool = True) -> None:
        if not self.readonly:
            self.redis.hset(self._staged(run_id, slice_no), f"{state.site}\x1f{state.id}",
                            json.dumps({**asdict(state), EMITTED: emitted}))

    def open_slices(self) -> list[tuple[str, int, list[str]]]:
        """This OUTPUT_DIR's slices neither promoted nor discarded (others' may still be running)."""
        found = []
        for key, value in self.redis.hgetall(self._slices).items():
            info = json.loads(value)
            if info["owner"] == self.owner:
                run_id, _, slice_no = key.rpartition(":")
                found.append((run_id, int(slice_no), info["files"]))
        return sorted(found)

    def emitted_ids(self, run_id: str, slice_no: int) -> set[tuple[str, str]]:
        rows = (json.loads(v) for v in self.redis.hvals(self._staged(run_id, slice_no)))
        return {(row["site"], row["id"]) for row in rows if row.get(EMITTED, True)}

    def promote(self, run_id: str, slice_no: int, seq: int) -> int:
        rows = [json.loads(v) for v in self.redis.hgetall(self._staged(run_id, slice_no)).values()]
        staged = [ArticleState(**{k: v for k, v in row.items() if k != EMITTED}) for row in rows]
        with self.redis.pipeline(transaction=True) as pipe:
            for state in staged:
                pipe.hset(self._articles(state.site), state.id, json.dumps(asdict(state)))
                pipe.hdel(f"{self.prefix}:pending:{state.site}", state.id)
            pipe.delete(self._staged(run_id, slice_no))
            pipe.hdel(self._slices, f"{run_id}:{slice_no}")
            pipe.execute()
        return len(staged)

    def discard(self, run_id: str, slice_no: int) -> None:
        """Forget a slice never committed; its records' articles wait in the pending list."""
        for value in self.redis.hvals(self._staged(run_id, slice_no)):
            row = json.loads(value)
            if row.get(EMITTED, True):
                self.add_pending(row["site"], row["id"], row["url"], None)
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._staged(run_id, slice_no))
            pipe.hdel(self._slices, f"{run_id}:{slice_no}")
            pipe.execute()
