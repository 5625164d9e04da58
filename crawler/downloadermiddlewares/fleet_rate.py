"""A fleet's request rate per host (``FLEET_MAX_RATE``), shared by every worker: a sliding window
in Redis, timed by the Redis server's clock. Enabled by the fleet's add-on (``crawler.fleet``)."""

from __future__ import annotations

import asyncio
import uuid

import redis
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.httpobj import urlparse_cached

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
