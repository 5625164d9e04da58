"""Access to the run's state store, shared by the spider, the state pipeline and the run report.

One machine: SQLite under OUTPUT_DIR. A fleet (``-s REDIS_URL=...``): Redis, shared by all workers.
"""

from __future__ import annotations

from pathlib import Path

from scrapy.crawler import Crawler

from .state import StateStore
from .state_redis import RedisStateStore

STATE_FILE = "state.sqlite3"


def state_store(crawler: Crawler) -> StateStore | RedisStateStore:
    """The crawler's state store (one per crawl, opened on first use)."""
    store = getattr(crawler, "state_store", None)
    if store is None:
        output_dir = Path(crawler.settings.get("OUTPUT_DIR"))
        redis_url = crawler.settings.get("REDIS_URL")
        store = RedisStateStore(redis_url, output_dir) if redis_url else StateStore(output_dir / STATE_FILE)
        crawler.state_store = store
    return store
