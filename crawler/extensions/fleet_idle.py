"""A fleet worker stays alive while the fleet may still hand it work (``FLEET_IDLE_SECONDS``).
Enabled by the fleet's add-on (``crawler.fleet``)."""

from __future__ import annotations

import time

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider


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
