"""An extension that makes one call of the state store fail, as a full disk (SQLite) or a network
blip (Redis) would: STATE_FAULT=<method>:<n> fails the n-th call of that method."""

from __future__ import annotations

import os
import sqlite3
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler

from crawler.state.stores import state_store


class FailOnce:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        crawler.signals.connect(self.opened, signals.engine_started)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FailOnce:
        return cls(crawler)

    def opened(self) -> None:
        store = state_store(self.crawler)
        method, nth = os.environ["STATE_FAULT"].split(":")
        original = getattr(store, method)
        calls = {"n": 0}

        def failing(*args: Any, **kwargs: Any) -> Any:
            calls["n"] += 1
            if calls["n"] == int(nth):
                raise sqlite3.OperationalError("database or disk is full")
            return original(*args, **kwargs)

        setattr(store, method, failing)
