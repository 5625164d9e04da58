"""Which store a crawler uses, opened once per crawl: written only by a ``scrapy crawl`` holding
the OUTPUT_DIR lock (``crawler.run.lock``); every other command and Python-started crawl reads."""

from __future__ import annotations

from pathlib import Path

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings

from ..run.lock import holds
from .redis_store import RedisStateStore
from .sqlite import SqliteStateStore

STATE_FILE = "state.sqlite3"

StateStore = SqliteStateStore | RedisStateStore


def open_store(output_dir: Path, redis_url: str, readonly: bool) -> StateStore:
    """The state store of ``output_dir``: the fleet's (Redis) when ``redis_url``, else its SQLite file."""
    if redis_url:
        return RedisStateStore(redis_url, output_dir, readonly=readonly)
    return SqliteStateStore(output_dir / STATE_FILE, readonly=readonly)


class StateStoreExtension:
    """The crawl's state store as a component of its own (enabled by ``StateStoreAddon``): opened on
    first use, closed when the engine stops. The spider, the state pipeline, the fleet's claims and
    the commit share it through ``state_store``."""

    def __init__(self, output_dir: str, redis_url: str):
        self.output_dir = output_dir
        self.redis_url = redis_url
        self._store: StateStore | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StateStoreExtension:
        extension = cls(crawler.settings.get("OUTPUT_DIR"), crawler.settings.get("REDIS_URL"))
        crawler.signals.connect(extension.engine_stopped, signal=signals.engine_stopped)
        return extension

    @property
    def store(self) -> StateStore:
        if self._store is None:
            self._store = open_store(Path(self.output_dir), self.redis_url, readonly=not holds(self.output_dir))
        return self._store

    def engine_stopped(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


class StateStoreAddon:
    """Add-on: the state store's component is always on (a crawl cannot decide anything without
    it), even when the command line replaces EXTENSIONS."""

    def update_settings(self, settings: BaseSettings) -> None:
        settings.set_in_component_priority_dict("EXTENSIONS", StateStoreExtension, 0)


def state_store(crawler: Crawler) -> StateStore:
    """The crawl's state store (one per crawl; its add-on enables its component).
    Found once the crawl's extensions are built: from a signal, a spider's ``start``, a pipeline."""
    extension = crawler.get_extension(StateStoreExtension)
    if extension is None:
        raise NotConfigured("crawler.state.stores.StateStoreAddon is not in ADDONS")
    return extension.store
