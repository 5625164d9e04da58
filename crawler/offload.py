"""Article extraction off the reactor thread, in worker processes, when EXTRACT_PROCESSES > 0.

Scrapy downloads, archives, runs callbacks and pipelines and writes records on one thread.
Extraction (``crawler.extract``) is pure CPU work on plain values, so with a spare core a pool of
worker processes can do it while that thread goes on with everything else: on a fast mirror the
crawl is then bound by Scrapy itself, not by extraction (BENCHMARKS.md). With EXTRACT_PROCESSES = 0
(the default: a polite crawl waits on the site, not on the CPU) extraction is a plain call.

A worker that dies (a page that crashes the parser) breaks the whole pool, and with it every page
in flight: the pool is started again and each of those pages is tried once more, one at a time, so
the page that killed its worker fails alone (a parse failure, logged and counted).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from scrapy import signals
from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Extraction:
    """Runs extraction functions in the crawl process, or in a pool of worker processes."""

    def __init__(self, crawler: Crawler, processes: int):
        self.crawler = crawler
        self.processes = processes
        self.pool: ProcessPoolExecutor | None = None
        self.retries = asyncio.Lock()  # second tries go one at a time

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Extraction:
        extraction = cls(crawler, max(0, crawler.settings.getint("EXTRACT_PROCESSES")))
        crawler.signals.connect(extraction.close, signal=signals.spider_closed)
        return extraction

    def _pool(self) -> ProcessPoolExecutor:
        if self.pool is None:
            # spawn: a fresh interpreter, not a fork of a process that runs threads (WARC writer, DNS).
            self.pool = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"))
            logger.info("Extraction runs in %d worker process(es)", self.processes)
        return self.pool

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)``: here, or in a worker process when there is a pool."""
        if self.processes == 0:
            return function(*args)
        pool = self._pool()
        try:
            return await asyncio.wrap_future(pool.submit(function, *args))
        except BrokenProcessPool:
            self._restart(pool)
        async with self.retries:  # once more: a page that breaks the pool again does it alone
            pool = self._pool()
            try:
                return await asyncio.wrap_future(pool.submit(function, *args))
            except BrokenProcessPool:
                self._restart(pool)
                raise

    def _restart(self, broken: ProcessPoolExecutor) -> None:
        if self.pool is broken:  # the first page to notice starts a new pool
            self.pool = None
            broken.shutdown(wait=False, cancel_futures=True)
            self.crawler.stats.inc_value("extract/worker_pool_restarts")
            logger.error("An extraction worker process died; starting a new pool")

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
