"""Which store a crawler uses, opened once per crawl: written only by a ``scrapy crawl`` holding
the OUTPUT_DIR lock (``crawler.run.lock``); every other command and Python-started crawl reads."""

from __future__ import annotations

from pathlib import Path

from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings

from ..run.lock import holds
from .redis_store import RedisStateStore
from .sqlite import SqliteStateStore

STATE_FILE = "state.sqlite3"

StateStore = SqliteStateStore | RedisStateStore


def open_store(settings: BaseSettings, readonly: bool) -> StateStore:
    output_dir = Path(settings.get("OUTPUT_DIR"))
    redis_url = settings.get("REDIS_URL")
    if redis_url:
        return RedisStateStore(redis_url, output_dir, readonly=readonly)
    return SqliteStateStore(output_dir / STATE_FILE, readonly=readonly)


def state_store(crawler: Crawler) -> StateStore:
    """The crawler's state store (one per crawl, opened on first use)."""
    store = getattr(crawler, "state_store", None)
    if store is None:
        store = open_store(crawler.settings, readonly=not holds(crawler.settings.get("OUTPUT_DIR")))
        crawler.state_store = store
    return store
