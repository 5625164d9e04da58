"""Extraction in worker processes (EXTRACT_PROCESSES): results, crashes, and the same records."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures.process import BrokenProcessPool

from scrapy.utils.test import get_crawler

from crawler.offload import Extraction
from tests import offload_targets
from tests.conftest import run_crawl
from tests.fixture_server import FixtureSite


def _extraction(processes: int) -> Extraction:
    return Extraction(get_crawler(settings_dict={"EXTRACT_PROCESSES": processes}), processes)


def test_in_process_is_a_plain_call():
    extraction = _extraction(0)
    assert asyncio.run(extraction.run(offload_targets.pid)) == os.getpid()
    assert extraction.pool is None


def test_pool_runs_in_another_process():
    extraction = _extraction(1)
    try:
        assert asyncio.run(extraction.run(offload_targets.pid)) != os.getpid()
        assert asyncio.run(extraction.run(offload_targets.double, 21)) == 42
    finally:
        extraction.close()


def test_a_dying_worker_costs_only_its_own_page():
    extraction = _extraction(2)

    async def crawl() -> tuple[list, int]:
        tasks = [extraction.run(offload_targets.die_on, value, 5) for value in range(10)]
        results = await asyncio.gather(*tasks, return_exceptions=True)
        return results, await extraction.run(offload_targets.double, 4)

    try:
        results, after = asyncio.run(crawl())
        # Pages in flight with the fatal one were tried again in a new pool; only it failed.
        assert isinstance(results[5], BrokenProcessPool)
        assert [r for i, r in enumerate(results) if i != 5] == [v * 2 for v in range(10) if v != 5]
        assert extraction.crawler.stats.get_value("extract/worker_pool_restarts") >= 1
        assert after == 8  # and the pool works again
    finally:
        extraction.close()


def test_crawl_with_worker_processes_writes_the_same_records(tmp_path):
    volatile = ("fetched_at", "first_seen", "warc")
    with FixtureSite() as site:
        here = run_crawl(site.base_url, tmp_path / "here")
        pooled = run_crawl(site.base_url, tmp_path / "pool", "-s", "EXTRACT_PROCESSES=2")
    assert here.returncode == pooled.returncode == 0, pooled.log[-3000:]
    assert "Extraction runs in 2 worker process(es)" in pooled.log

    def stable(records: list[dict]) -> list[dict]:
        return sorted(({k: v for k, v in r.items() if k not in volatile} for r in records), key=lambda r: r["id"])
    assert here.records and stable(pooled.records) == stable(here.records)
