"""A fleet's shared frontier on scrapy-redis: one queue and one duplicate filter per site, a seeder
that starts each round, and the scheduler that keeps each worker's accounting balanced.

Roles: ``-a fleet=seed`` starts a new round for its site (empties the site's queue and duplicate
filter, then seeds the home page and the rechecks); other processes are workers that take requests
from the shared queue and stop once the fleet has been idle for FLEET_IDLE_SECONDS.
"""

from __future__ import annotations

import warnings

import redis
from scrapy import Request
from scrapy_redis.scheduler import Scheduler

from ..accounting import STATS_ATTEMPTS

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
