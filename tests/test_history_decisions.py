"""The decisions a run makes from history (crawler.state.history) and from a recheck's answer
(crawler.state.rechecks), asked without a crawl: state in, decision out."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import pytest

from crawler.extract.listing import ListedArticle, Listing
from crawler.extract.urls import article_ref, other_page_ref
from crawler.items import STATUS_DELETED
from crawler.state import ArticleState
from crawler.state.history import History, PagingStop, Seen, known_under_earlier_id, reached_since
from crawler.state.rechecks import Verdict, answer_recheck, gone_record, rechecked_url, redirects_to_listing

BASE = "http://127.0.0.1:8000/"
HOST = "127.0.0.1"
SITE = "127.0.0.1"


class Store:
    """A state store holding ``states`` and a pending list; it records each question and each write."""

    def __init__(self, *states: ArticleState, pending: Iterable[tuple[str, str | None]] = ()):
        self.states = {s.id: s for s in states}
        self.pending_urls = list(pending)
        self.asked: list[list[str]] = []
        self.writes: list[tuple] = []

    def known_ids(self, site: str, ids: Iterable[str]) -> set[str]:
        ids = list(ids)
        self.asked.append(ids)
        return {i for i in ids if i in self.states}

    def get(self, site: str, article_id: str) -> ArticleState | None:
        return self.states.get(article_id)

    def pending(self, site: str) -> list[tuple[str, str | None]]:
        return self.pending_urls

    def add_pending_many(self, site: str, rows: list[tuple[str, str, str | None]]) -> None:
        self.writes.append(("add_many", rows))

    def add_pending(self, site: str, article_id: str, url: str, channel: str | None) -> None:
        self.writes.append(("add", article_id, url, channel))

    def clear_pending(self, site: str, article_id: str) -> None:
        self.writes.append(("clear", article_id))

    def touch_checked(self, site: str, article_id: str, when: str) -> None:
        self.writes.append(("checked", article_id, when))


def _state(article_id: str, url: str) -> ArticleState:
    return ArticleState(site=SITE, id=article_id, url=url, published_at=None, first_seen="2024-01-01T00:00:00Z",
                        last_seen="2024-01-01T00:00:00Z", content_sha256="x", revision=1)


def _listed(url: str, day: str | None = None) -> ListedArticle:
    ref = article_ref(url, BASE) or other_page_ref(url, BASE)
    return ListedArticle(ref=ref, title=url, date=date.fromisoformat(day) if day else None)


KNOWN = BASE + "scyw/20240110/2868001.html"
NEW = BASE + "scyw/20240110/2868002.html"
ELSEWHERE = BASE + "gcsy/20190320/2868001.html"  # the known id, at another URL: another article


# --- a list page's articles ------------------------------------------------------------------------

def test_a_page_is_one_question_earlier_ids_of_other_shapes_included():
    store = Store(_state("2868001", KNOWN))
    listed = [_listed(KNOWN), _listed(NEW), _listed(BASE + "xwzx/2024/0115/12.htm")]
    assert History(store, SITE).known_among(listed) == {"2868001"}
    assert len(store.asked) == 1 and store.asked[0][:2] == ["2868001", "2868002"] and "0115" in store.asked[0]


def test_what_history_says_of_a_listed_article():
    history = History(Store(_state("2868001", KNOWN)), SITE)
    known = history.known_among([_listed(KNOWN), _listed(NEW)])
    assert history.seen(_listed(KNOWN).ref, known) == (Seen.KNOWN, None)
    assert history.seen(_listed(NEW).ref, known) == (Seen.NEW, None)


def test_an_id_held_for_another_url_is_never_fetched_and_reported_once_a_run():
    history = History(Store(_state("2868001", KNOWN)), SITE)
    ref = _listed(ELSEWHERE).ref
    assert history.seen(ref, {"2868001"}) == (Seen.HELD_FOR_ANOTHER, KNOWN)
    assert history.seen(ref, {"2868001"}) == (Seen.HELD_FOR_ANOTHER, None)  # already reported


def test_a_url_of_another_shape_is_known_under_the_id_an_earlier_version_gave_it():
    earlier = BASE + "xwzx/2024/0115/12.htm"
    history = History(Store(_state("0115", earlier)), SITE)
    assert history.seen(_listed(earlier).ref, {"0115"}) == (Seen.KNOWN, None)
    # The same digits at another page: another article.
    assert history.seen(_listed(BASE + "zt/2024/0115/99.htm").ref, {"0115"}) == (Seen.NEW, None)


def test_the_earlier_id_of_a_url_of_another_shape_is_one_decision_for_spider_and_pipeline():
    earlier = BASE + "xwzx/2024/0115/12.htm"
    store = Store(_state("0115", earlier))
    assert known_under_earlier_id(store, SITE, earlier) == store.states["0115"]
    assert known_under_earlier_id(store, SITE, earlier.replace("http:", "https:")) is not None  # same page
    assert known_under_earlier_id(store, SITE, BASE + "zt/2024/0115/99.htm") is None  # the id held for another page
    assert known_under_earlier_id(store, SITE, BASE + "zt/about.htm") is None  # no earlier id at all


def test_ids_this_run_asked_for_are_its_own_news_not_history():
    history = History(Store(_state("2868001", KNOWN)), SITE)
    history.asked_as_new("2868001")
    assert history.known_among([_listed(KNOWN)]) == set()


# --- paging ----------------------------------------------------------------------------------------

def _page(*urls: str) -> Listing:
    return Listing(articles=[_listed(url) for url in urls])


def test_paging_stops_after_too_many_empty_pages():
    history = History(Store(), SITE)
    assert history.paging_stop(_page(NEW), empty_pages=3, empty_pages_max=3, since=None) is PagingStop.EMPTY
    assert history.paging_stop(_page(NEW), empty_pages=2, empty_pages_max=3, since=None) is None


def test_paging_stops_at_a_page_mostly_older_than_since_not_at_one_pinned_article():
    old, older, recent = (BASE + f"scyw/{day}/2868100.html" for day in ("20200101", "20200102", "20240301"))
    since = date(2024, 1, 1)
    assert reached_since(_page(old, older, recent), since)
    assert not reached_since(_page(old, recent, BASE + "scyw/20240302/2868101.html"), since)
    assert not reached_since(Listing(), since)
    history = History(Store(), SITE)
    assert history.paging_stop(_page(old, older), empty_pages=None, empty_pages_max=3, since=since) is PagingStop.SINCE


@pytest.mark.parametrize(("stop_early", "empty_pages", "stops"), [
    (True, 0, True),       # a channel's list page of known articles, after a run that paged to the end
    (False, 0, False),     # the last run did not page to the end: the known page may hide older news
    (True, None, False),   # the home page (no channel's list): never stops for being known
])
def test_paging_stops_at_a_page_of_known_articles_only_when_the_last_run_paged_to_the_end(stop_early, empty_pages,
                                                                                       stops):
    history = History(Store(_state("2868001", KNOWN)), SITE)
    history.stop_at_known_pages = stop_early
    stop = history.paging_stop(_page(KNOWN), empty_pages=empty_pages, empty_pages_max=3, since=None)
    assert stop is (PagingStop.KNOWN if stops else None)
    assert history.paging_stop(_page(KNOWN, NEW), empty_pages=0, empty_pages_max=3, since=None) is None


# --- pending articles ------------------------------------------------------------------------------

def test_pending_articles_are_those_no_run_committed_since():
    store = Store(_state("2868001", KNOWN), pending=[(KNOWN, "scyw"), (NEW, None)])
    assert [(ref.url, channel) for ref, channel in History(store, SITE).pending(BASE)] == [(NEW, None)]
    assert store.asked == [["2868001", "2868002"]]  # one question for the whole list


def test_pending_writes_fall_back_to_the_channel_the_url_names():
    store = Store()
    history = History(store, SITE)
    history.hold_pending([(_listed(NEW).ref, None), (_listed(ELSEWHERE).ref, "gcsy2")])
    history.hold_pending([])  # nothing held: no write
    history.keep_pending(_listed(NEW).ref, None)
    history.settle(_listed(NEW).ref)
    history.checked("2868001", "2024-05-01T00:00:00Z")
    assert store.writes == [("add_many", [("2868002", NEW, "scyw"), ("2868001", ELSEWHERE, "gcsy2")]),
                            ("add", "2868002", NEW, "scyw"), ("clear", "2868002"),
                            ("checked", "2868001", "2024-05-01T00:00:00Z")]


# --- a recheck's answer ----------------------------------------------------------------------------

def _answer(status: int, location: str | None = None, hops: list[str] | None = None, max_times: int = 3):
    return answer_recheck(status, KNOWN, location, hops or [], BASE, HOST, max_times)


@pytest.mark.parametrize(("status", "location", "verdict", "target"), [
    (304, None, Verdict.UNCHANGED, None),
    (404, None, Verdict.GONE, None),
    (410, None, Verdict.GONE, None),
    (301, "/", Verdict.GONE, BASE),                                  # to the home page
    (302, "/index.html", Verdict.GONE, BASE + "index.html"),
    (302, "/scyw/index_2.html", Verdict.GONE, BASE + "scyw/index_2.html"),  # to a list page
    (301, "/scyw/20240110/2868009.html", Verdict.MOVED, BASE + "scyw/20240110/2868009.html"),
    (307, "http://elsewhere.example/", Verdict.MOVED, "http://elsewhere.example/"),  # not this site's home
    (302, None, Verdict.NO_LOCATION, None),
])
def test_a_recheck_answer_says_unchanged_gone_or_moved(status, location, verdict, target):
    answer = _answer(status, location)
    assert (answer.verdict, answer.target) == (verdict, target)
    if verdict is Verdict.MOVED:
        assert answer.hops == (KNOWN,)


def test_a_recheck_redirect_is_followed_up_to_redirect_max_times():
    moved = BASE + "scyw/20240110/2868009.html"
    hops = [BASE + "a.html", BASE + "b.html"]
    assert _answer(301, moved, hops, max_times=3).hops == (*hops, KNOWN)
    assert _answer(301, moved, hops, max_times=3).verdict is Verdict.MOVED
    assert _answer(301, moved, hops, max_times=2).verdict is Verdict.TOO_MANY_HOPS


def test_a_redirect_to_a_listing_below_the_base_path_is_judged_from_there():
    base = "http://127.0.0.1:8000/site/"
    assert redirects_to_listing("http://127.0.0.1:8000/site/index.shtml", base, HOST)
    assert not redirects_to_listing("http://127.0.0.1:8000/index.shtml", base, HOST)


def test_the_gone_record_names_the_url_asked_for_before_any_hop():
    asked = rechecked_url(BASE + "moved.html", [KNOWN])
    assert asked == KNOWN and rechecked_url(KNOWN, None) == KNOWN
    item = gone_record(_listed(asked).ref, SITE, {"record_id": "x"})
    assert (item.id, item.url, item.channel, item.status, item.url_shape, item.warc) == (
        "2868001", KNOWN, "scyw", STATUS_DELETED, "current", {"record_id": "x"})
