"""The fleet's add-on: with REDIS_URL set, the scheduler, duplicate filter, rate limit, idle
workers and claims of a fleet (``crawler.fleet``) replace a single machine's."""

from __future__ import annotations

from scrapy.settings import BaseSettings

from ..downloadermiddlewares.fleet_rate import FleetRateLimitMiddleware
from ..extensions.fleet_idle import FleetIdle
from .claims import FleetClaims
from .scheduler import DUPEFILTER_KEY, QUEUE_KEY


class Fleet:
    """Add-on: switch the scheduler, duplicate filter and state to Redis when REDIS_URL is set."""

    def update_settings(self, settings: BaseSettings) -> None:
        if not settings.get("REDIS_URL"):
            return
        settings.set("SCHEDULER", "crawler.fleet.scheduler.FleetScheduler", priority="addon")
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
        # Off (NotConfigured) outside a writing ``scrapy crawl``: only a run that commits claims.
        settings.set_in_component_priority_dict("EXTENSIONS", FleetClaims, 0)
