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
import warnings

import redis
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.settings import BaseSettings
from scrapy.utils.httpobj import urlparse_cached

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
        settings.set("SCHEDULER", "scrapy_redis.scheduler.Scheduler", priority="addon")
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


class FleetRateLimitMiddleware:
    """The fleet's combined request rate per host stays under FLEET_MAX_RATE requests a second."""

    def __init__(self, client: redis.Redis, max_rate: int):
        self.redis = client
        self.max_rate = max_rate

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FleetRateLimitMiddleware:
        url = crawler.settings.get("REDIS_URL")
        if not url:
            raise NotConfigured
        return cls(redis.Redis.from_url(url), crawler.settings.getint("FLEET_MAX_RATE"))

    async def process_request(self, request: Request) -> None:
        host = urlparse_cached(request).hostname
        while True:
            now = time.time()
            key = f"sichuanpeace:rate:{host}:{int(now)}"
            with self.redis.pipeline() as pipe:
                used, _ = pipe.incr(key).expire(key, 5).execute()
            if used <= self.max_rate:
                return
            await asyncio.sleep(1.0 - (now % 1.0) + 0.01)


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
