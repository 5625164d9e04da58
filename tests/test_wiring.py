"""How the components find each other: each fleet component in the module Scrapy would put it in,
and every look-up through Scrapy's own ``crawler.get_extension`` / ``get_downloader_middleware``
(Scrapy >= 2.12), none through attributes set on the crawler."""

from __future__ import annotations

import importlib

import pytest
from scrapy.utils.misc import load_object
from scrapy.utils.project import get_project_settings
from scrapy.utils.test import get_crawler, get_reactor_settings

from crawler.run import lock
from crawler.spiders.sichuanpeace import SichuanpeaceSpider

# Attributes components used to set on the crawler and read back with getattr(..., None).
CRAWLER_ATTRIBUTES = ("warc_archive", "run_committer", "fleet_claims", "accounting", "state_store")


@pytest.mark.parametrize(("module", "name"), [
    ("crawler.fleet.addon", "Fleet"),
    ("crawler.fleet.scheduler", "FleetScheduler"),
    ("crawler.fleet.claims", "FleetClaims"),
    ("crawler.downloadermiddlewares.fleet_rate", "FleetRateLimitMiddleware"),
    ("crawler.extensions.fleet_idle", "FleetIdle"),
])
def test_each_fleet_component_has_its_module_and_keeps_its_old_path(module, name):
    component = getattr(importlib.import_module(module), name)
    assert getattr(importlib.import_module("crawler.fleet"), name) is component  # crawler.fleet.<name> still works


def test_the_settings_name_loadable_components():
    settings = get_project_settings()
    for path in [*settings.getdict("ADDONS"), *settings.getdict("EXTENSIONS")]:
        assert load_object(path)


@pytest.fixture
def fleet_crawler(tmp_path):
    """A crawler built as a fleet's ``scrapy crawl`` builds it (OUTPUT_DIR lock held, REDIS_URL set),
    its engine created but never started: nothing connects to Redis."""
    output_dir = tmp_path / "out"
    lock.acquire(output_dir, "20261207T000000Z-abcdef")
    try:
        settings = {**get_project_settings().copy_to_dict(), **get_reactor_settings(),  # the test process's reactor
                    "OUTPUT_DIR": str(output_dir), "RUN_ID": "20261207T000000Z-abcdef",
                    "REDIS_URL": "redis://127.0.0.1:1/0",
                    "FEEDS": {str(output_dir / "records-%(batch_id)d.jsonl"): {"format": "jsonlines"}}}
        crawler = get_crawler(SichuanpeaceSpider, settings)
        crawler.spider = crawler._create_spider(base_url="http://127.0.0.1:1/")
        crawler.engine = crawler._create_engine()
        yield crawler
    finally:
        lock._HELD.pop(output_dir.resolve()).close()


def test_components_are_found_through_scrapy(fleet_crawler):
    from crawler.downloadermiddlewares.fleet_rate import FleetRateLimitMiddleware
    from crawler.downloadermiddlewares.warc import WarcArchiveMiddleware
    from crawler.extensions.accounting import AccountingExtension
    from crawler.extensions.fleet_idle import FleetIdle
    from crawler.fleet.claims import FleetClaims
    from crawler.pipelines.dedupe import DedupePipeline
    from crawler.pipelines.state import StatePipeline
    from crawler.run.commit import RunCommitter
    from crawler.state.redis_store import RedisStateStore
    from crawler.state.stores import StateStoreExtension, state_store

    crawler = fleet_crawler
    claims = crawler.get_extension(FleetClaims)
    assert claims is not None and crawler.get_item_pipeline(DedupePipeline).claims is claims
    store = state_store(crawler)
    assert isinstance(store, RedisStateStore) and store is crawler.get_extension(StateStoreExtension).store
    assert crawler.get_item_pipeline(StatePipeline).store is store
    for found in (crawler.get_extension(RunCommitter), crawler.get_extension(AccountingExtension),
                  crawler.get_extension(FleetIdle), crawler.get_downloader_middleware(WarcArchiveMiddleware),
                  crawler.get_downloader_middleware(FleetRateLimitMiddleware)):
        assert found is not None
    assert [name for name in CRAWLER_ATTRIBUTES if hasattr(crawler, name)] == []
