"""The incremental state in Redis, shared by a fleet of crawler machines (``-s REDIS_URL=...``).

Same contract as the SQLite store (``crawler.state``): staged per run, promoted in one MULTI/EXEC
transaction once the run's output is in place. Each staged run records its owner (machine and
OUTPUT_DIR), so a worker settles only the runs its own killed predecessors left behind.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import redis

from .state import ArticleState

KEY_PREFIX = "sichuanpeace:state"


class RedisStateStore:
    """Article state in Redis hashes: committed per site, staged per run."""

    def __init__(self, url: str, output_dir: Path, prefix: str = KEY_PREFIX):
        self.redis = redis.Redis.from_url(url, decode_responses=True)
        self.prefix = prefix
        self.owner = f"{socket.gethostname()}:{output_dir.resolve()}"

    def _articles(self, site: str) -> str:
        return f"{self.prefix}:articles:{site}"

    def _staged(self, run_id: str) -> str:
        return f"{self.prefix}:staged:{run_id}"

    def close(self) -> None:
        self.redis.close()

    def get(self, site: str, article_id: str) -> ArticleState | None:
        """The committed state of an article, or None when it was never emitted."""
        value = self.redis.hget(self._articles(site), article_id)
        return ArticleState(**json.loads(value)) if value else None

    def known_ids(self, site: str) -> set[str]:
        """Ids of every committed, not deleted article of a site."""
        return {key for key, value in self.redis.hscan_iter(self._articles(site)) if not json.loads(value)["deleted"]}

    def recheck_candidates(self, site: str, published_since: str | None) -> Iterator[ArticleState]:
        """Live articles published at or after ``published_since`` (None: all of them)."""
        for _, value in self.redis.hscan_iter(self._articles(site)):
            state = ArticleState(**json.loads(value))
            if not state.deleted and (published_since is None or (state.published_at or "") >= published_since):
                yield state

    def stage(self, run_id: str, feed_file: str | None, state: ArticleState) -> None:
        """Record what this run emitted (or confirmed) for an article; promoted at commit."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(f"{self.prefix}:runs", run_id, json.dumps({"owner": self.owner, "feed_file": feed_file,
                                                                 "site": state.site}))
            pipe.hset(self._staged(run_id), f"{state.site}\x1f{state.id}", json.dumps(asdict(state)))
            pipe.execute()

    def promote(self, run_id: str, site: str, complete: bool) -> int:
        """Move a run's staged states into the committed hashes, atomically; returns how many."""
        staged = [ArticleState(**json.loads(v)) for v in self.redis.hgetall(self._staged(run_id)).values()]
        with self.redis.pipeline(transaction=True) as pipe:
            for state in staged:
                pipe.hset(self._articles(state.site), state.id, json.dumps(asdict(state)))
            pipe.delete(self._staged(run_id))
            pipe.hdel(f"{self.prefix}:runs", run_id)
            pipe.set(f"{self.prefix}:last_complete:{site}", int(complete))
            pipe.execute()
        return len(staged)

    def last_run_complete(self, site: str) -> bool:
        """Whether the site's last settled run went through all of its list pages."""
        return self.redis.get(f"{self.prefix}:last_complete:{site}") == "1"

    def discard(self, run_id: str) -> None:
        """Forget a run's staged states (its output never appeared)."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._staged(run_id))
            pipe.hdel(f"{self.prefix}:runs", run_id)
            pipe.execute()

    def recover(self, output_dir: Path) -> dict[str, str]:
        """Settle runs this machine's OUTPUT_DIR left staged: promote if their file exists, else discard."""
        outcome = {}
        for run_id, value in self.redis.hgetall(f"{self.prefix}:runs").items():
            info = json.loads(value)
            if info["owner"] != self.owner:
                continue  # another worker's run, perhaps still going
            if info["feed_file"] and (output_dir / info["feed_file"]).exists():
                self.promote(run_id, info["site"], complete=False)
                outcome[run_id] = "promoted"
            else:
                self.discard(run_id)
                outcome[run_id] = "discarded"
        return outcome
