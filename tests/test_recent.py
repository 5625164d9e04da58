"""Recently requested article URLs are not requested again; the bound keeps memory flat. What a
run must know exactly of its own work (the ids it emitted, the ids it asked for as new) is held on
disk, and the Python memory it holds does not grow with the run."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable

import pytest
from scrapy.utils.test import get_crawler

from crawler.accounting import DropRecord
from crawler.extract.listing import ListedArticle, Listing
from crawler.extract.urls import article_ref
from crawler.items import ArticleItem
from crawler.pipelines.dedupe import DedupePipeline
from crawler.recent import RecentKeys, RecentValues, RunKeys
from crawler.spiders.sichuanpeace import SichuanpeaceSpider
from crawler.state.history import History
from tests.fakes import KnownIds
from tests.test_article_ids import _stats

BASE = "http://127.0.0.1:8000/"


def test_recent_keys_remember_the_last_ones_added():
    recent = RecentKeys(3)
    assert [recent.add(k) for k in "abca"] == [True, True, True, False]
    assert recent.add("d")  # a fourth key: the oldest, "a", is forgotten
    assert [recent.add(k) for k in "bcd"] == [False, False, False]
    assert recent.add("a")  # forgotten, so new again (and now "b" is the one forgotten)
    assert recent.add("b")


def test_recent_keys_need_room_for_one():
    with pytest.raises(ValueError):
        RecentKeys(0)


def test_recent_values_forget_the_one_unused_longest():
    recent: RecentValues[int] = RecentValues(2)
    recent["a"], recent["b"] = 1, 2
    assert recent.get("a") == 1  # read: now "b" is the one unused longest
    recent["c"] = 3
    assert ("a" in recent, "b" in recent, "c" in recent, len(recent)) == (True, False, True, 2)
    assert recent.get("b") is None and recent.get("b", 0) == 0
    assert recent.pop("a") == 1 and recent.pop("a") is None and len(recent) == 1


def test_recent_values_need_room_for_one():
    with pytest.raises(ValueError):
        RecentValues(0)


def test_run_keys_hold_every_key_exactly():
    keys = RunKeys()
    for n in range(30_000):
        keys[f"id{n}"] = f"url{n}"
    keys["id7"] = "moved"  # a new value for a key it has: not a second key
    assert len(keys) == 30_000
    assert all(f"id{n}" in keys for n in range(0, 30_000, 7))
    assert (keys.get("id7"), keys.get("id0"), keys.get("id29999")) == ("moved", "url0", "url29999")
    assert keys.get("id30000") is None and "id30000" not in keys
    assert keys.pop("id5") == "url5" and keys.pop("id5") is None
    assert "id5" not in keys and len(keys) == 29_999
    keys.add("bare")
    assert "bare" in keys and keys.get("bare") == ""


def _held_after(step: Callable[[int], object], first: int, then: int) -> int:
    """Bytes of Python memory still held after ``first + then`` steps, beyond what was held after
    ``first``: what the structure under test keeps per step."""
    tracemalloc.start()
    try:
        for n in range(first):
            step(n)
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for n in range(first, first + then):
            step(n)
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_the_ids_a_run_emitted_hold_no_memory_per_record():
    dedupe = DedupePipeline(_stats())

    def emit(n: int) -> object:
        article_id = str(3_000_000 + n)
        return dedupe.process_item(ArticleItem(
            id=article_id, url=f"{BASE}scyw/20250930/{article_id}.html", site="www.sichuanpeace.gov.cn",
            channel="scyw", channel_name=None, fetched_at="2026-01-01T00:00:00+00:00", title="标题", body="正文",
            content_sha256="1" * 64))

    # 20,000 records more: an id and a URL each in a dict were 3.5 MB.
    assert _held_after(emit, 2_000, 20_000) < 200_000
    with pytest.raises(DropRecord):  # and every one is still known, the first too
        emit(0)


def test_the_ids_a_run_asked_for_as_new_hold_no_memory_per_article():
    history = History(KnownIds(set()), "www.sichuanpeace.gov.cn")
    # 20,000 ids more: a set of them was 1.9 MB.
    assert _held_after(lambda n: history.asked_as_new(str(3_000_000 + n)), 2_000, 20_000) < 200_000
    assert not history.is_known("3000000") and history.known(["3000000", "3021999"]) == set()


def _listing(*ids: str) -> Listing:
    refs = [article_ref(f"{BASE}scyw/20250930/{i}.html", BASE) for i in ids]
    assert None not in refs
    return Listing(articles=[ListedArticle(ref=ref, title=i) for ref, i in zip(refs, ids, strict=True) if ref])


def _requested(spider: SichuanpeaceSpider, listing: Listing) -> list[str]:
    return [request.url.rsplit("/", 1)[1] for request in spider._article_requests(listing, "scyw", None)]


@pytest.fixture
def spider():
    crawler = get_crawler(SichuanpeaceSpider)
    spider = SichuanpeaceSpider.from_crawler(crawler, base_url=BASE)
    spider._history = History(KnownIds(set()), spider.site)  # what earlier runs committed: nothing
    return spider


def test_an_article_linked_again_is_requested_once(spider):
    assert _requested(spider, _listing("2541288", "2541289")) == ["2541288.html", "2541289.html"]
    # The next article page links back (上一篇) and on (下一篇): only the new one is requested.
    assert _requested(spider, _listing("2541288", "2541290")) == ["2541290.html"]
    assert spider.crawler.stats.get_value("discovery/skipped_recent") == 1


def test_past_the_bound_a_repeat_is_left_to_scrapys_duplicate_filter(spider):
    spider.recent_requests = RecentKeys(2)
    assert _requested(spider, _listing("100001", "100002", "100003")) == ["100001.html", "100002.html", "100003.html"]
    assert _requested(spider, _listing("100001", "100003")) == ["100001.html"]  # forgotten, so yielded
