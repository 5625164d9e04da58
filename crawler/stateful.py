"""Access to the run's state store, shared by the spider, the state pipeline and the run report."""

from __future__ import annotations

from pathlib import Path

from scrapy.crawler import Crawler

from .state import StateStore

STATE_FILE = "state.sqlite3"


def state_store(crawler: Crawler) -> StateStore:
    """The crawler's state store (one per crawl, opened on first use under OUTPUT_DIR)."""
    store = getattr(crawler, "state_store", None)
    if store is None:
        store = StateStore(Path(crawler.settings.get("OUTPUT_DIR")) / STATE_FILE)
        crawler.state_store = store
    return store
