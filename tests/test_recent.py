"""Recently requested article URLs are not requested again; the bound keeps memory flat."""

from __future__ import annotations

import pytest
from scrapy.utils.test import get_crawler

from crawler.extract.listing import ListedArticle, Listing
from crawler.extract.urls import article_ref
from crawler.recent import RecentKeys, RecentValues
from crawler.spiders.sichuanpeace import SichuanpeaceSpider
from crawler.state.history import History
from tests.fakes import KnownIds

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
