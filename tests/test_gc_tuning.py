"""The garbage collector's tuning (crawler/extensions/gc_tuning.py), and what makes it safe: no page leaves a cycle."""

from __future__ import annotations

import gc
import re
from collections import Counter

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from crawler.extensions.gc_tuning import GcTuning
from crawler.extract.article_page import read_article_page
from crawler.extract.cleaning import clean_blocks
from tests.utils.crawl import run_crawl

from .fixture_cases import REAL_BASE, load_cases
from .fixture_server import FixtureSite


@pytest.fixture
def saved_garbage():
    """gc.garbage of one collection with DEBUG_SAVEALL: every object only a reference cycle kept alive."""
    # Until nothing is left: an earlier test's dead crawler frees its signal receivers' weakrefs
    # only in a second pass, which would otherwise be counted as this test's garbage.
    while gc.collect():
        pass
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield lambda: (gc.collect(), list(gc.garbage))[1]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def test_reading_and_cleaning_pages_leaves_no_reference_cycle(saved_garbage):
    # A cycle would keep a page's tree and blocks alive until the next full collection, which
    # the raised threshold makes rarer: every page must be freed by reference counting alone.
    cases = [case for case in load_cases() if case.kind == "article"]
    assert cases
    for case in cases:
        read = read_article_page(case.body, case.url, case.content_type, REAL_BASE + "/", "www.sichuanpeace.gov.cn")
        clean_blocks(read.article.blocks)
    del read
    garbage = saved_garbage()
    assert not garbage, Counter(type(o).__name__ for o in garbage).most_common(5)


def test_engine_start_freezes_the_heap_and_raises_the_threshold_until_the_engine_stops():
    before = gc.get_threshold()
    tuning = GcTuning(gen0_threshold=12_345)
    try:
        tuning.engine_started()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (12_345, *before[1:])
    finally:
        tuning.engine_stopped()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_with_two_crawlers_the_last_to_stop_restores_the_collector():
    before = gc.get_threshold()
    first, second = GcTuning(gen0_threshold=5_000), GcTuning(gen0_threshold=6_000)
    try:
        first.engine_started()
        second.engine_started()
        first.engine_stopped()
        assert gc.get_threshold()[0] == 6_000  # the second crawler still runs tuned
        assert gc.get_freeze_count() > 0
    finally:
        second.engine_stopped()
        first.engine_stopped()  # a second stop changes nothing
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_setting_off_leaves_the_collector_alone():
    crawler = get_crawler(settings_dict={"GC_TUNING_ENABLED": False})
    with pytest.raises(NotConfigured):
        GcTuning.from_crawler(crawler)


def test_a_threshold_below_one_is_refused():
    with pytest.raises(ValueError, match="GC_GEN0_THRESHOLD"):
        GcTuning(gen0_threshold=0)


def test_a_real_crawl_runs_tuned_by_default_and_the_setting_turns_it_off(tmp_path):
    with FixtureSite() as site:
        tuned = run_crawl(site.base_url, tmp_path / "tuned", "-s", "LOG_LEVEL=DEBUG")
        plain = run_crawl(site.base_url, tmp_path / "plain", "-s", "LOG_LEVEL=DEBUG", "-s", "GC_TUNING_ENABLED=False")
    assert tuned.returncode == 0 == plain.returncode, (tuned.log[-2000:], plain.log[-2000:])
    assert re.search(r"Garbage collector: \d+ objects frozen, thresholds \(10000, ", tuned.log)
    # Off says nothing (not even Scrapy's "Disabled ..." warning, which would reach cron's mail).
    assert "Garbage collector:" not in plain.log and "crawler.extensions.gc_tuning.GcTuning" not in plain.log

    # The collector's schedule changes nothing in what a crawl finds.
    def content(records: list[dict]) -> list[tuple]:
        return sorted((r["id"], r["title"], r["body"], r["content_sha256"]) for r in records)
    assert tuned.records and content(tuned.records) == content(plain.records)
