"""One record per (site, id) across a fleet: fenced claims in Redis, bound to the run's commit.
An extension of its own, enabled by the fleet's add-on (``crawler.fleet``) in a writing
``scrapy crawl``; the dedupe pipeline claims, the run's commit fences and settles."""

from __future__ import annotations

import logging

import redis
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from ..run.lock import holds
from ..state.redis_store import KEY_PREFIX
from ..state.stores import StateStore, state_store

logger = logging.getLogger(__name__)

CLAIM_KEY = "sichuanpeace:claim:%(site)s:%(id)s"
# The fencing tokens: each claim taken gets the next one (INCR), so a token only grows and names one
# claim for good. Outside CLAIM_KEY's pattern: no sweep or scan of the claims sees it.
TOKEN_KEY = "sichuanpeace:claim-token"
# A claim's value is "<token> <run id>" while its record waits for a commit (with a TTL the live
# run keeps refreshing: a killed or stalled run's claims lapse), and "<token> <run id>:<slice>" once
# its slice passed the fence and is about to commit (no TTL: the record may be in a manifest; it is
# held until the state store settles that slice, promoted or discarded). A run with no unsettled
# slice (its last slice promoted or discarded) holds nothing; a value of another shape is stale.

# Take a claim unless a live run holds it. KEYS: the claim, the state store's hash of unsettled
# slices, the token counter; ARGV: our run id, TTL in ms. Answers the claim's token, or 0 (held).
CLAIM = """
local held = redis.call('GET', KEYS[1])
if held then
  local run, slice = string.match(held, '^%d+ ([^:]+):?(%d*)$')
  if run == ARGV[1] then return 0 end
  local live = false
  if run ~= nil and slice ~= '' then
    live = redis.call('HEXISTS', KEYS[2], run .. ':' .. slice) == 1
  elseif run ~= nil then
    for _, open in ipairs(redis.call('HKEYS', KEYS[2])) do
      if string.sub(open, 1, #run + 1) == run .. ':' then live = true break end
    end
  end
  if live then return 0 end
end
local token = redis.call('INCR', KEYS[3])
redis.call('SET', KEYS[1], token .. ' ' .. ARGV[1], 'PX', ARGV[2])
return token
"""
# Delete the claims no live run holds (KEYS: the slices hash, then claims): a killed run's claims on
# a slice its next run settled are stale, nobody deletes them otherwise.
SWEEP = """
local open = redis.call('HKEYS', KEYS[1])
local swept = 0
for i = 2, #KEYS do
  local held = redis.call('GET', KEYS[i])
  if held then
    local run, slice = string.match(held, '^%d+ ([^:]+):?(%d*)$')
    local live = false
    if run ~= nil then
      for _, key in ipairs(open) do
        if key == run .. ':' .. slice or (slice == '' and string.sub(key, 1, #run + 1) == run .. ':') then
          live = true break
        end
      end
    end
    if not live then redis.call('DEL', KEYS[i]) swept = swept + 1 end
  end
end
return swept
"""
# The fence of a slice's commit, all or nothing: unless every claim (KEYS) still holds exactly the
# value we took it with (ARGV[i]: "<token> <run id>"), nothing changes and the lost ones are
# answered (their positions); else each loses its TTL and is bound to the slice (ARGV[#KEYS + 1]:
# "<run id>:<slice>"), and the answer is empty.
FENCE = """
local lost = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) ~= ARGV[i] then lost[#lost + 1] = i end
end
if #lost > 0 then return lost end
local slice = ARGV[#KEYS + 1]
for i, key in ipairs(KEYS) do
  local token = string.match(ARGV[i], '^(%d+) ')
  redis.call('SET', key, token .. ' ' .. slice)
end
return lost
"""
# Give claims up, ours only (KEYS[i] is ours while it holds ARGV[2i - 1] or ARGV[2i]).
RELEASE = """
for i, key in ipairs(KEYS) do
  local held = redis.call('GET', key)
  if held and (held == ARGV[2 * i - 1] or held == ARGV[2 * i]) then redis.call('DEL', key) end
end
return 0
"""
# Keep a live run's waiting claims (KEYS[i] while it holds ARGV[i]; ARGV[#KEYS + 1]: TTL in ms).
REFRESH = """
local ttl = ARGV[#KEYS + 1]
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[i] then redis.call('PEXPIRE', key, ttl) end
end
return 0
"""


class FleetClaims:
    """A run's claims on (site, id) in Redis: a record is emitted only by the run that claimed it.

    Life of a claim: taken by the dedupe pipeline before the record is emitted, with a fencing token
    that only grows (TTL FLEET_CLAIM_SECONDS, refreshed while the run lives); when its slice is about
    to store its records and write its manifest (``committing``, called by the run's commit), the
    fence checks in one step that every claim of the slice still holds our token, and binds them
    (no TTL); a slice that lost one is not committed. After the slice's state is promoted, or when
    the slice fails, its claims are deleted (``settled``): from then on the state store knows the
    article, or nobody emitted it. A run killed or stalled before ``committing`` leaves claims that
    lapse after FLEET_CLAIM_SECONDS (or as soon as its next run discards its slice); killed after,
    its claims hold until its next run settles the slice from its manifest, so no record is doubled.
    """

    def __init__(self, client: redis.Redis, run_id: str, slices_key: str, ttl_seconds: float,
                 store: StateStore | None = None):
        self.redis = client
        self.run_id = run_id
        self.slices_key = slices_key
        self.ttl_ms = int(ttl_seconds * 1000)
        self.store = store  # the crawl's state store (its staged rows name a slice's records)
        self.crawler: Crawler | None = None
        self.tokens: dict[str, int] = {}  # claim -> the fencing token we took it with
        self.waiting: set[str] = set()  # claims with a TTL, refreshed while the run lives
        self.emitted: set[str] = set()
        self.bound: dict[int, list[str]] = {}  # slice -> its claims, from ``committing``
        self._claim = client.register_script(CLAIM)
        self._fence = client.register_script(FENCE)
        self._release = client.register_script(RELEASE)
        self._refresh = client.register_script(REFRESH)
        self._sweep = client.register_script(SWEEP)
        self.refresher: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FleetClaims:
        """On in a fleet's writing ``scrapy crawl`` (REDIS_URL, the OUTPUT_DIR lock held)."""
        url = crawler.settings.get("REDIS_URL")
        if not url or not holds(crawler.settings.get("OUTPUT_DIR")):
            raise NotConfigured
        claims = cls(redis.Redis.from_url(url, decode_responses=True), crawler.settings.get("RUN_ID"),
                     f"{KEY_PREFIX}:slices", crawler.settings.getfloat("FLEET_CLAIM_SECONDS"))
        claims.crawler = crawler
        crawler.signals.connect(claims.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(claims.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(claims.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(claims.engine_stopped, signal=signals.engine_stopped)
        return claims

    @staticmethod
    def key(site: str, article_id: str) -> str:
        return CLAIM_KEY % {"site": site, "id": article_id}

    # A claim's value while ours (token 0, never given: a claim we never took is never ours).
    def _waiting_value(self, key: str) -> str:
        return f"{self.tokens.get(key, 0)} {self.run_id}"

    def _bound_value(self, key: str, slice_no: int) -> str:
        return f"{self.tokens.get(key, 0)} {self.run_id}:{slice_no}"

    def claim(self, site: str, article_id: str) -> bool:
        """True when this run may emit the record of (site, id); False when a live run holds it."""
        key = self.key(site, article_id)
        token = int(self._claim(keys=[key, self.slices_key, TOKEN_KEY], args=[self.run_id, self.ttl_ms]))
        if not token:
            return False
        self.tokens[key] = token
        self.waiting.add(key)
        return True

    def release(self, site: str, article_id: str) -> None:
        """A claimed record was not emitted after all (unchanged, dropped by a later pipeline)."""
        key = self.key(site, article_id)
        if key in self.waiting and key not in self.emitted:
            self.waiting.discard(key)
            value = self._waiting_value(key)
            self._release(keys=[key], args=[value, value])

    def _slice_keys(self, slice_no: int) -> list[str]:
        if self.store is None:  # a component of its own, found once the crawl's components are built
            assert self.crawler is not None
            self.store = state_store(self.crawler)
        return sorted(self.key(site, article_id) for site, article_id in self.store.emitted_ids(self.run_id, slice_no))

    def committing(self, slice_no: int) -> list[str]:
        """The fence before the slice stores its records and writes its manifest: if every claim of
        the slice still holds our token, all are bound to the slice (they hold until it is settled)
        and the answer is empty; else nothing changes and the answer is the claims lost (lapsed
        while the run stalled, taken by another worker): the slice must not commit."""
        keys = self._slice_keys(slice_no)
        if keys:
            lost = self._fence(keys=keys, args=[*map(self._waiting_value, keys), f"{self.run_id}:{slice_no}"])
            if lost:
                return [keys[int(i) - 1] for i in lost]
        self.waiting.difference_update(keys)
        self.bound[slice_no] = keys  # the staged rows are gone once promoted
        return []

    def settled(self, slice_no: int) -> None:
        """The slice's state is promoted (the store knows its articles) or the slice failed (nobody
        emitted them): its claims are deleted, those still ours. Best effort: a claim left behind
        is stale anyway."""
        try:
            keys = self.bound.pop(slice_no, None)
            if keys is None:
                keys = self._slice_keys(slice_no)
            if keys:
                self._release(keys=keys, args=[value for key in keys for value in
                                               (self._waiting_value(key), self._bound_value(key, slice_no))])
            self.waiting.difference_update(keys)
        except redis.RedisError as error:
            logger.warning("Could not release the claims of slice %s: %s", slice_no, error)

    def item_scraped(self, item: object, **kwargs: object) -> None:
        site, article_id = getattr(item, "site", None), getattr(item, "id", None)
        if site and article_id:
            self.emitted.add(self.key(site, article_id))

    def refresh(self) -> None:
        if self.waiting:
            keys = sorted(self.waiting)
            try:
                self._refresh(keys=keys, args=[*map(self._waiting_value, keys), self.ttl_ms])
            except redis.RedisError as error:
                logger.warning("Could not refresh the fleet's claims: %s", error)

    def sweep(self) -> int:
        """Delete the stale claims (held by no live run); returns how many."""
        swept, batch = 0, []
        for key in self.redis.scan_iter(CLAIM_KEY % {"site": "*", "id": "*"}, count=1000):
            batch.append(key)
            if len(batch) == 500:
                swept += int(self._sweep(keys=[self.slices_key, *batch]))
                batch = []
        if batch:
            swept += int(self._sweep(keys=[self.slices_key, *batch]))
        return swept

    def spider_opened(self) -> None:
        try:
            if swept := self.sweep():
                logger.info("Deleted %s stale claims of runs no longer alive", swept)
        except redis.RedisError as error:
            logger.warning("Could not sweep the fleet's stale claims: %s", error)
        self.refresher = task.LoopingCall(self.refresh)
        self.refresher.start(max(0.5, self.ttl_ms / 3000), now=False)

    def spider_closed(self) -> None:
        """Claims on records never emitted go now; the emitted ones wait for their commit."""
        unused = sorted(self.waiting - self.emitted)
        if unused:
            self._release(keys=unused, args=[value for key in unused for value in [self._waiting_value(key)] * 2])
        self.waiting -= set(unused)

    def engine_stopped(self) -> None:
        if self.refresher is not None and self.refresher.running:
            self.refresher.stop()
