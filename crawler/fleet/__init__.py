"""Scale-out on scrapy-redis: with ``-s REDIS_URL=redis://...`` several crawler processes, on any
number of machines, share one frontier (scheduler queue, duplicate filter) per site, the incremental
state (``crawler.state.redis_store``), a per-host request budget and claims on (site, id).

One module per kind of component, where Scrapy would put it: the add-on that switches a crawl to a
fleet (``addon``), the shared frontier and its rounds (``scheduler``), the fenced claims
(``claims``), the rate limit (``crawler.downloadermiddlewares.fleet_rate``) and the idle workers
(``crawler.extensions.fleet_idle``). The names below stay importable from ``crawler.fleet``
(settings name ``crawler.fleet.Fleet``).
"""

from __future__ import annotations

from ..downloadermiddlewares.fleet_rate import FleetRateLimitMiddleware, rate_window
from ..extensions.fleet_idle import FleetIdle
from .addon import Fleet
from .claims import CLAIM_KEY, TOKEN_KEY, FleetClaims
from .scheduler import DUPEFILTER_KEY, QUEUE_KEY, ROLE_SEED, ROLE_WORKER, FleetScheduler, fleet_name, start_round

__all__ = ["CLAIM_KEY", "DUPEFILTER_KEY", "QUEUE_KEY", "ROLE_SEED", "ROLE_WORKER", "TOKEN_KEY", "Fleet", "FleetClaims",
           "FleetIdle", "FleetRateLimitMiddleware", "FleetScheduler", "fleet_name", "rate_window", "start_round"]
