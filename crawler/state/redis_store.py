"""The fleet's state store: Redis, shared by crawler machines (``-s REDIS_URL=...``).

Same contract as the SQLite store (``crawler.state.sqlite``): rows staged per (run, slice),
promoted in one MULTI/EXEC transaction once the slice's manifest is written. Each open slice
records its owner (machine and OUTPUT_DIR), so a process settles only the slices its own killed
predecessors left behind. Manifests stay per OUTPUT_DIR, so the store keeps the last promoted
``seq`` per owner (``last_seq``, this folder's): checked against the folder's manifests before each
run (``reconcile``, and recovery's catch-up), as the SQLite store's is.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import cast

import redis
from redis.typing import EncodableT, FieldT

from ..run import manifests
from . import ArticleState, IndexedCapture, StateError

logger = logging.getLogger(__name__)

KEY_PREFIX = "sichuanpeace:state"
EMITTED = "_emitted"  # beside a staged row: a record was written for it (else: confirmed unchanged)
# The recheck plan's two orders, as the SQLite store's indexes (``articles_published``,
# ``articles_recheck_order``): sorted sets of score 0 read by ``ZRANGEBYLEX``, their members the
# sort key's fields joined by SEP (below every character a date or an id holds, so a shorter field
# sorts first, as in a tuple), the id last. Written with each article row; a member whose row says
# otherwise (a row written around the index) is skipped and dropped where it is read.
SEP = "\x1f"
# Members read per ZRANGEBYLEX of the recheck order.
RECHECK_BATCH = 500


class RedisStateStore:
    """Article state in Redis hashes: committed per site, staged per slice."""

    def __init__(self, url: str, output_dir: Path, readonly: bool = False, prefix: str = KEY_PREFIX):
        self.redis = redis.Redis.from_url(url, decode_responses=True)
        self.prefix = prefix
        self.readonly = readonly
        self.owner = f"{socket.gethostname()}:{output_dir.resolve()}"

    def _articles(self, site: str) -> str:
        return f"{self.prefix}:articles:{site}"

    def _checked(self, site: str) -> str:
        return f"{self.prefix}:checked:{site}"

    def _by_published(self, site: str) -> str:
        return f"{self.prefix}:published:{site}"

    def _by_recheck(self, site: str) -> str:
        return f"{self.prefix}:recheck_order:{site}"

    @staticmethod
    def _published_member(state: ArticleState) -> str:
        return f"{state.published_at or ''}{SEP}{state.id}"

    @staticmethod
    def _recheck_member(state: ArticleState, touched: str | None) -> str:
        checked = max(filter(None, (state.last_checked, touched)), default=None)
        return f"{checked or ''}{SEP}{state.published_at or ''}{SEP}{state.id}"

    def _index_writes(self, pipe: redis.client.Pipeline, site: str, states: list[ArticleState]) -> None:
        """Queue, beside the rows ``states`` (of one site) about to be written, their index members
        in place of the rows' current ones (read now: one process writes an article at a time)."""
        if not states:
            return
        ids = [state.id for state in states]
        old = self._hmget(self._articles(site), ids)
        touched = self._hmget(self._checked(site), ids)
        for state, before, when in zip(states, old, touched, strict=True):
            if before:
                known = ArticleState(**json.loads(before))
                pipe.zrem(self._by_published(site), self._published_member(known))
                pipe.zrem(self._by_recheck(site), self._recheck_member(known, when))
            pipe.zadd(self._by_published(site), {self._published_member(state): 0})
            pipe.zadd(self._by_recheck(site), {self._recheck_member(state, when): 0})

    def _hmget(self, key: str, fields: list[str]) -> list[str | None]:
        """HMGET, as text: the client decodes every reply (``decode_responses=True``), which
        redis-py's types do not follow (they say bytes or str)."""
        return cast("list[str | None]", self.redis.hmget(key, fields))

    def _ensure_indexes(self, site: str) -> None:
        """The recheck orders of a site's rows written before they existed: built once, by one scan."""
        marker = f"{self.prefix}:indexed:{site}"
        if self.redis.exists(marker):
            return
        touched = cast("dict[str, str]", self.redis.hgetall(self._checked(site)))  # decoded: see _hmget
        with self.redis.pipeline(transaction=False) as pipe:
            for _, value in self.redis.hscan_iter(self._articles(site)):
                state = ArticleState(**json.loads(value))
                pipe.zadd(self._by_published(site), {self._published_member(state): 0})
                pipe.zadd(self._by_recheck(site), {self._recheck_member(state, touched.get(state.id)): 0})
            pipe.set(marker, 1)
            pipe.execute()

    def _staged(self, run_id: str, slice_no: int) -> str:
        return f"{self.prefix}:staged:{run_id}:{slice_no}"

    @property
    def _slices(self) -> str:
        return f"{self.prefix}:slices"

    @property
    def _folders(self) -> str:
        """owner (machine and OUTPUT_DIR) -> the last manifest seq of that folder the state holds."""
        return f"{self.prefix}:folders"

    @property
    def last_seq(self) -> int | None:
        """The newest manifest of this OUTPUT_DIR whose records the state holds (None: nothing of
        this folder, or a Redis that lost its data)."""
        value = self.redis.hget(self._folders, self.owner)
        return None if value is None else int(value)

    def _set_last_seq(self, pipe: redis.client.Pipeline, seq: int) -> None:
        known = self.last_seq  # read outside the transaction: one process per folder, under its lock
        if known is None or seq > known:
            pipe.hset(self._folders, self.owner, seq)

    def reconcile(self, output_dir: Path, listed: manifests.Listing | None = None) -> None:
        """Before a crawl, under the folder's lock: check this folder's part of the fleet's state
        against its manifests. Nothing of it (a Redis restarted without persistence, a new server,
        a state older than this check): rebuilt from the manifests. Ahead of the manifests (removed,
        or another folder's copy): refused. Behind: recovery's catch-up folds the rest in."""
        listed = listed or manifests.listing(output_dir)
        newest, legacy = listed.last_seq, listed.legacy
        known = self.last_seq
        if known is not None and known > newest:
            raise StateError(
                f"the fleet's state in Redis holds manifest {known} of {output_dir}, but the newest there is "
                f"{newest} (manifests removed, or OUTPUT_DIR copied from another machine): put the manifests "
                f"back or use the OUTPUT_DIR this machine used")
        if known is None and (newest or legacy):
            logger.warning("The fleet's state in Redis holds nothing of the %s manifests in %s (Redis lost its "
                           "data: it needs AOF persistence, see README): rebuilding this folder's part from them",
                           newest + len(legacy), output_dir)
            try:
                for path in legacy:
                    manifest = manifests.ManifestRef(0, "", path).read()
                    if manifest.get("complete"):
                        self.apply_records(manifests.read_records(output_dir, manifest), 0)
                for ref in listed.refs:
                    self.apply_records(manifests.read_records(output_dir, ref.read()), ref.seq)
            except manifests.UnreadableRecords as error:
                raise StateError(f"cannot rebuild the fleet's state from the manifests: {error}") from None
        if self.last_seq is None:
            self.redis.hset(self._folders, self.owner, 0)

    def apply_records(self, records: Iterator[dict], seq: int) -> int:
        """Fold committed records (a manifest's, in order) into the articles: rebuilding this
        folder's part. Shared with other folders: a record older than what the state holds
        (another folder committed a later capture) leaves it as it is."""
        applied = 0
        with self.redis.pipeline(transaction=True) as pipe:
            for record in records:
                known = self.get(record["site"], record["id"])
                if known is not None and known.last_seen > record["fetched_at"]:
                    continue
                state = ArticleState.from_record(record, known)
                self._index_writes(pipe, state.site, [state])
                pipe.hset(self._articles(state.site), state.id, json.dumps(asdict(state)))
                pipe.hdel(f"{self.prefix}:pending:{state.site}", state.id)
                applied += 1
            self._set_last_seq(pipe, seq)
            pipe.execute()
        return applied

    def close(self) -> None:
        self.redis.close()

    def check(self) -> None:
        self.redis.ping()

    def get(self, site: str, article_id: str) -> ArticleState | None:
        value = self.redis.hget(self._articles(site), article_id)
        return ArticleState(**json.loads(value)) if value else None

    def known_ids(self, site: str, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` (a batch) are committed articles, deleted ones too (as the SQLite store's)."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return set()
        with self.redis.pipeline(transaction=False) as pipe:
            for article_id in wanted:
                pipe.hexists(self._articles(site), article_id)
            return {article_id for article_id, there in zip(wanted, pipe.execute(), strict=True) if there}

    # --- the capture index (``crawler.state.captures``): this OUTPUT_DIR's WARC files ----------

    @property
    def _captures(self) -> str:
        return f"{self.prefix}:captures:{self.owner}"

    def _staged_captures(self, run_id: str, slice_no: int) -> str:
        return f"{self.prefix}:staged_captures:{run_id}:{slice_no}"

    @property
    def captures_seq(self) -> int | None:
        value = self.redis.hget(f"{self.prefix}:captures_seq", self.owner)
        return None if value is None else int(value)

    def capture(self, url: str) -> IndexedCapture | None:
        value = self.redis.hget(self._captures, url)
        return IndexedCapture(*json.loads(value)) if value else None

    def capture_lookup(self):
        """A lookup for another thread: redis-py's client is safe to share."""
        return self.capture

    def _newer(self, captures: Iterable[IndexedCapture], key: str) -> dict[FieldT, EncodableT]:
        """Of ``captures``, those later in commit order than what ``key`` holds for their URL."""
        best: dict[str, IndexedCapture] = {}
        for capture in captures:
            known = best.get(capture.url)
            if known is None or capture.order > known.order:
                best[capture.url] = capture
        if not best:
            return {}
        held = dict(zip(best, self._hmget(key, list(best)), strict=True))
        newer: dict[FieldT, EncodableT] = {}
        for url, capture in best.items():
            row = held[url]
            old = IndexedCapture(*json.loads(row)) if row else None
            if old is None or capture.order > old.order:
                newer[url] = json.dumps(capture.row())
        return newer

    def stage_captures(self, run_id: str, slice_no: int, captures: Iterable[IndexedCapture]) -> None:
        if not self.readonly:
            newer = self._newer(captures, self._staged_captures(run_id, slice_no))
            if newer:
                self.redis.hset(self._staged_captures(run_id, slice_no), mapping=newer)

    def index_captures(self, captures: Iterable[IndexedCapture], seq: int | None) -> int:
        captures = list(captures)
        newer = self._newer(captures, self._captures)
        with self.redis.pipeline(transaction=True) as pipe:
            if newer:
                pipe.hset(self._captures, mapping=newer)
            if seq is not None:
                pipe.hset(f"{self.prefix}:captures_seq", self.owner, seq)
            pipe.execute()
        return len(captures)

    def _promote_captures(self, pipe: redis.client.Pipeline, run_id: str, slice_no: int, seq: int) -> None:
        staged = [IndexedCapture(*json.loads(v)) for v in self.redis.hvals(self._staged_captures(run_id, slice_no))]
        for capture in staged:
            capture.seq = seq
        newer = self._newer(staged, self._captures)
        if newer:
            pipe.hset(self._captures, mapping=newer)
        pipe.delete(self._staged_captures(run_id, slice_no))
        if self.captures_seq == seq - 1:
            pipe.hset(f"{self.prefix}:captures_seq", self.owner, seq)

    def recheck_candidates(self, site: str, published_since: str | None) -> Iterator[ArticleState]:
        """Known articles (deleted ones too) published at or after ``published_since`` (None: all,
        a scan), read through the published order: the recent window costs what it holds."""
        if published_since is None:
            for _, value in self.redis.hscan_iter(self._articles(site)):
                yield ArticleState(**json.loads(value))
            return
        self._ensure_indexes(site)
        members = cast("list[str]", self.redis.zrangebylex(self._by_published(site), f"[{published_since}", "+"))
        for start in range(0, len(members), RECHECK_BATCH):
            for _, state, _ in self._rows(site, members[start:start + RECHECK_BATCH], self._by_published(site)):
                if (state.published_at or "") >= published_since:
                    yield state

    def recheck_oldest(self, site: str, published_before: str, limit: int) -> list[ArticleState]:
        """As the SQLite store's: outside the recent window, least recently checked first, read
        through the recheck order (a batch of members at a time, the window's own skipped)."""
        self._ensure_indexes(site)
        found: list[ArticleState] = []
        offset = 0
        while len(found) < limit:
            members = cast("list[str]", self.redis.zrangebylex(self._by_recheck(site), "-", "+", start=offset,
                                                               num=RECHECK_BATCH))
            if not members:
                break
            offset += len(members)
            for _, state, touched in self._rows(site, members, self._by_recheck(site)):
                if state.published_at is None or state.published_at < published_before:
                    state.last_checked = max(filter(None, (state.last_checked, touched)), default=None)
                    found.append(state)
                    if len(found) == limit:
                        break
        return found

    def _rows(self, site: str, members: list[str], key: str) -> Iterator[tuple[str, ArticleState, str | None]]:
        """(member, row, touched) for the members of an index that still match their row; the others
        (the row is gone, or says otherwise) are dropped from ``key``."""
        ids = [member.rpartition(SEP)[2] for member in members]
        rows = self._hmget(self._articles(site), ids) if ids else []
        touched = self._hmget(self._checked(site), ids) if ids else []
        stale = []
        for member, value, when in zip(members, rows, touched, strict=True):
            state = ArticleState(**json.loads(value)) if value else None
            current = None if state is None else (self._published_member(state) if key == self._by_published(site)
                                                  else self._recheck_member(state, when))
            if state is None or current != member:
                stale.append(member)
                continue
            yield member, state, when
        if stale and not self.readonly:
            self.redis.zrem(key, *stale)

    def touch_checked(self, site: str, article_id: str, when: str) -> None:
        """A recheck answered 304: written at once (only the recheck order depends on it), beside the
        article's row rather than into it, so it never races a promotion of that row."""
        if not self.readonly:
            value = self.redis.hget(self._articles(site), article_id)
            touched = cast("str | None", self.redis.hget(self._checked(site), article_id))  # decoded: see _hmget
            with self.redis.pipeline(transaction=True) as pipe:
                if value:  # its place in the recheck order moves with it
                    state = ArticleState(**json.loads(value))
                    pipe.zrem(self._by_recheck(site), self._recheck_member(state, touched))
                    pipe.zadd(self._by_recheck(site), {self._recheck_member(state, max(filter(None, (touched, when))))
                                                       : 0})
                pipe.hset(self._checked(site), article_id, when)
                pipe.execute()

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
        for key, value in cast("dict[str, str]", self.redis.hgetall(self._slices)).items():  # decoded: see _hmget
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
            for site in {state.site for state in staged}:
                self._index_writes(pipe, site, [state for state in staged if state.site == site])
            for state in staged:
                pipe.hset(self._articles(state.site), state.id, json.dumps(asdict(state)))
                pipe.hdel(f"{self.prefix}:pending:{state.site}", state.id)
            self._promote_captures(pipe, run_id, slice_no, seq)
            pipe.delete(self._staged(run_id, slice_no))
            pipe.hdel(self._slices, f"{run_id}:{slice_no}")
            self._set_last_seq(pipe, seq)
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
            pipe.delete(self._staged_captures(run_id, slice_no))
            pipe.hdel(self._slices, f"{run_id}:{slice_no}")
            pipe.execute()
