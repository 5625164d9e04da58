"""Scale-out on scrapy-redis: with ``-s REDIS_URL=redis://...`` several crawler processes, on any
number of machines, share one frontier (scheduler queue, duplicate filter) per site, the incremental
state (``crawler.state_redis``) and a per-host request budget.

Roles: ``-a fleet=seed`` starts a new round for its site (empties the site's queue and duplicate
filter, then seeds the home page and the rechecks); other processes are workers that take requests
from the shared queue and stop once the fleet has been idle for FLEET_IDLE_SECONDS.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import warnings

import redis
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.settings import BaseSettings
from scrapy.utils.httpobj import urlparse_cached
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task

from .accounting import STATS_ATTEMPTS

logger = logging.getLogger(__name__)

# scrapy-redis 0.9 still passes ``spider`` to the stats collector; the warning would reach cron mail.
warnings.filterwarnings("ignore", message="Passing a 'spider' argument to StatsCollector", module="scrapy_redis")

ROLE_SEED, ROLE_WORKER = "seed", "worker"
QUEUE_KEY = "%(spider)s:requests"
DUPEFILTER_KEY = "%(spider)s:dupefilter"


def fleet_name(spider_name: str, site: str) -> str:
    """The spider name a fleet uses for a site: one queue and one duplicate filter per site."""
    return f"{spider_name}:{site}"


def start_round(redis_url: str, name: str) -> None:
    """Empty a site's shared queue and duplicate filter: the seeder's first act."""
    client = redis.Redis.from_url(redis_url)
    client.delete(QUEUE_KEY % {"spider": name}, DUPEFILTER_KEY % {"spider": name})
    client.close()


class Fleet:
    """Add-on: switch the scheduler, duplicate filter and state to Redis when REDIS_URL is set."""

    def update_settings(self, settings: BaseSettings) -> None:
        if not settings.get("REDIS_URL"):
            return
        settings.set("SCHEDULER", "crawler.fleet.FleetScheduler", priority="addon")
        settings.set("DUPEFILTER_CLASS", "scrapy_redis.dupefilter.RFPDupeFilter", priority="addon")
        settings.set("SCHEDULER_QUEUE_KEY", QUEUE_KEY, priority="addon")
        settings.set("SCHEDULER_DUPEFILTER_KEY", DUPEFILTER_KEY, priority="addon")
        # A worker that stops must leave the shared queue to the others.
        settings.set("SCHEDULER_PERSIST", True, priority="addon")
        # Take one request at a time from the shared queue: a worker that pulled 16 ahead would
        # hoard work the others could do (and lose it all if killed).
        settings.set("CONCURRENT_REQUESTS", 1, priority="addon")
        # After the backoff (550): a retry that waited still takes a fresh token.
        settings.set_in_component_priority_dict("DOWNLOADER_MIDDLEWARES", FleetRateLimitMiddleware, 560)
        settings.set_in_component_priority_dict("EXTENSIONS", FleetIdle, 500)


# In a request's meta: it continues an attempt another worker counted and then handed to the
# shared queue (a redirect hop, a retry); the worker that takes it counts the attempt instead.
META_HANDOFF = "fleet_attempt_handoff"


class FleetScheduler(Scheduler):
    """scrapy-redis's scheduler, keeping each worker's accounting balanced: a request that continues
    an attempt already counted here (a redirect hop, a retry: ``accounted`` in its meta) takes the
    attempt with it into the shared queue, since its outcome is bucketed by whichever worker takes
    it. Dropped by the duplicate filter, it stays here (bucket ``duplicate``)."""

    def enqueue_request(self, request: Request) -> bool:
        handoff = bool(request.meta.get("accounted"))
        if handoff:
            request.meta[META_HANDOFF] = True
        if not super().enqueue_request(request):
            request.meta.pop(META_HANDOFF, None)
            return False
        if handoff and self.stats:
            self.stats.inc_value(STATS_ATTEMPTS, -1)
        return True

    def next_request(self) -> Request | None:
        request = super().next_request()
        if request is not None and request.meta.pop(META_HANDOFF, None) and self.stats:
            self.stats.inc_value(STATS_ATTEMPTS)
        return request


# A sliding window per host, in Redis, on Redis's clock (one clock for every machine of the fleet):
# a request is admitted when fewer than ``limit`` were admitted in the last ``window`` seconds,
# else the script answers how long to wait. KEYS[1]: the host's sorted set of admission times;
# ARGV: limit, window (s), a unique member.
SLIDING_WINDOW = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], t, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000) + 1000)
  return '0'
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - t)
"""
# Added to the window: a request admitted at the window's edge may reach the site a little earlier
# than the one before it did (latency varies); the site never sees more than the limit in a second.
RATE_MARGIN_SECONDS = 0.1


def rate_window(max_rate: float) -> tuple[int, float]:
    """(requests, seconds): at most ``requests`` in any window of ``seconds``, never faster than
    ``max_rate`` a second and never more than ``max(1, max_rate)`` in any second
    (0.5 -> 1 in 2 s; 4 -> 4 in 1 s; 2.5 -> 2 in 1 s)."""
    seconds = max(1.0, 1.0 / max_rate)
    return max(1, int(max_rate * seconds + 1e-9)), seconds


class FleetRateLimitMiddleware:
    """The fleet's combined request rate per host stays under FLEET_MAX_RATE requests a second
    (fractions allowed): a sliding window shared in Redis, timed by the Redis server's clock."""

    def __init__(self, client: redis.Redis, max_rate: float):
        self.redis = client
        self.max_rate = max_rate
        self.limit, self.window = rate_window(max_rate)
        self.admit = client.register_script(SLIDING_WINDOW)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FleetRateLimitMiddleware:
        url = crawler.settings.get("REDIS_URL")
        if not url:
            raise NotConfigured
        return cls(redis.Redis.from_url(url), crawler.settings.getfloat("FLEET_MAX_RATE"))

    async def process_request(self, request: Request) -> None:
        key = f"sichuanpeace:rate:{urlparse_cached(request).hostname}"
        member = uuid.uuid4().hex
        while True:
            wait = float(self.admit(keys=[key], args=[self.limit, self.window + RATE_MARGIN_SECONDS, member]))
            if wait <= 0:
                return
            await asyncio.sleep(wait + 0.001)


class FleetIdle:
    """Keep a worker alive while the fleet may still hand it work (FLEET_IDLE_SECONDS)."""

    def __init__(self, crawler: Crawler, idle_seconds: float):
        self.idle_seconds = idle_seconds
        self.last_active = time.monotonic()
        crawler.signals.connect(self.active, signal=signals.response_received)
        crawler.signals.connect(self.active, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FleetIdle:
        return cls(crawler, crawler.settings.getfloat("FLEET_IDLE_SECONDS"))

    def active(self, **kwargs: object) -> None:
        self.last_active = time.monotonic()

    def spider_idle(self, spider: Spider) -> None:
        if time.monotonic() - self.last_active < self.idle_seconds:
            raise DontCloseSpider


# --- one record per (site, id) across the fleet: claims in Redis ----------------------------------

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
  if run == nil then
    live = false
  elseif slice ~= '' then
    live = redis.call('HEXISTS', KEYS[2], run .. ':' .. slice) == 1
  else
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

    def __init__(self, client: redis.Redis, run_id: str, slices_key: str, ttl_seconds: float, store: object):
        self.redis = client
        self.run_id = run_id
        self.slices_key = slices_key
        self.ttl_ms = int(ttl_seconds * 1000)
        self.store = store
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
    def from_crawler(cls, crawler: Crawler) -> FleetClaims | None:
        """The crawl's claims (one per crawl), or None outside a fleet or a writing ``scrapy crawl``."""
        claims = getattr(crawler, "fleet_claims", None)
        if claims is not None:
            return claims
        from .run.lock import holds
        from .state.stores import state_store

        url = crawler.settings.get("REDIS_URL")
        if not url or not holds(crawler.settings.get("OUTPUT_DIR")):
            return None
        store = state_store(crawler)
        claims = cls(redis.Redis.from_url(url, decode_responses=True), crawler.settings.get("RUN_ID"),
                     f"{store.prefix}:slices", crawler.settings.getfloat("FLEET_CLAIM_SECONDS"), store)
        crawler.fleet_claims = claims
        crawler.signals.connect(claims.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(claims.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(claims.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(claims.engine_stopped, signal=signals.engine_stopped)
        return claims

    @staticmethod
    def key(site: str, article_id: str) -> str:
        return CLAIM_KEY % {"site": site, "id": article_id}

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
