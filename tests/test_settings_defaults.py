"""One default per setting: each of the project's own settings has its default in
crawler/settings.py, a crawl without the project settings sees the same, and code reads settings
with no default argument, once, where the component is made (an AST scan keeps it so)."""

from __future__ import annotations

import pytest
from scrapy.utils.test import get_crawler

import crawler.settings as project_settings
from crawler.defaults import NOT_DEFAULTED, OWN_DEFAULTS, own_settings
from crawler.spiders.sichuanpeace import SichuanpeaceSpider

BASE = "http://127.0.0.1:8000/"

# What the spider reads from each setting, as an attribute, in a crawl with and without the project settings.
SPIDER_ATTRIBUTES = {
    "RECHECK_BUDGET": "recheck_budget",
    "LIST_PAGES_MAX": "list_pages_max",
    "LIST_EMPTY_PAGES_MAX": "list_empty_pages_max",
    "DISCOVERY_OTHER_SHAPES": "discover_other_shapes",
    "DISCOVERY_SITEMAPS": "discover_sitemaps",
    "DISCOVERY_FEEDS": "discover_feeds",
}


def _spider(settings: dict | None) -> SichuanpeaceSpider:
    return SichuanpeaceSpider.from_crawler(get_crawler(SichuanpeaceSpider, settings), base_url=BASE)


def _project() -> dict:
    """crawler/settings.py as ``scrapy crawl`` reads it (get_crawler sets these at project priority)."""
    return {name: value for name, value in vars(project_settings).items() if name.isupper()}


def test_a_spider_without_the_project_settings_rechecks_the_documented_250():
    # README and docs/incremental.md: "N older ones a run (default 250)"; the code's own default was 0.
    assert _spider(None).recheck_budget == 250 == project_settings.RECHECK_BUDGET


@pytest.mark.parametrize("name", sorted(SPIDER_ATTRIBUTES))
def test_the_spider_sees_the_same_value_with_or_without_the_project_settings(name):
    attribute = SPIDER_ATTRIBUTES[name]
    assert getattr(_spider(None), attribute) == getattr(_spider(_project()), attribute) == getattr(project_settings, name)


@pytest.mark.parametrize("name", sorted(OWN_DEFAULTS))
def test_a_crawl_started_from_python_sees_each_project_default(name):
    # A script's crawler: the spider and the run's add-ons, no project settings module.
    from_python = get_crawler(SichuanpeaceSpider, {"ADDONS": {"crawler.run.feeds.RunOutput": 0,
                                                              "crawler.state.stores.StateStoreAddon": 0}})
    with_project = get_crawler(SichuanpeaceSpider, _project())
    assert from_python.settings.get(name) == with_project.settings.get(name) == getattr(project_settings, name)


def test_a_setting_given_for_the_crawl_wins_over_the_default():
    assert _spider({"RECHECK_BUDGET": 7}).recheck_budget == 7
    assert _spider({"RECHECK_BUDGET": 0}).recheck_budget == 0


def test_every_own_setting_is_defaulted_but_the_output_folder():
    assert set(own_settings()) - set(OWN_DEFAULTS) == NOT_DEFAULTED == {"OUTPUT_DIR"}
    # Settings the code reads that used to have no line in crawler/settings.py.
    assert {"ACCOUNTING_LIST_MAX", "REDIS_URL"} <= set(OWN_DEFAULTS)
