"""An article page that answers an empty or unreadable 200 (issue 19, case 6): asked for again by
the next run, never taken off the pending list for it, and never made ``deleted`` by it (only
404/410, soft-404 wording or a redirect to the home page or a list page do that)."""

from __future__ import annotations

import sqlite3

import pytest

from tests import consumer
from tests.fixture_server import FixtureSite, Resource
from tests.utils.crawl import run_crawl

HTML = {"Content-Type": "text/html; charset=utf-8"}
ARTICLE = "/gcsy/20190319/1792665.html"
ARTICLE_ID = "1792665"
# What a CMS under load or a broken cache answers with status 200.
UNREADABLE = {
    "empty": Resource(200, HTML, b""),
    "blank page": Resource(200, HTML, b"<html><head><title></title></head><body>\n</body></html>"),
    "binary": Resource(200, {"Content-Type": "application/octet-stream"}, b"\x00\x01\x02" * 40),
}


def _unlink_from_gcsy(site: FixtureSite) -> None:
    """/gcsy/ no longer links the article (the next run would never reach it through a list)."""
    entry = '<li><em>2019-03-19</em><a href="./20190319/1792665.html">扎实推进扫黑除恶专项斗争向纵深发展</a></li>\n'
    gcsy = site.resources["/gcsy/"].body.replace(entry.encode(), b"")
    assert gcsy != site.resources["/gcsy/"].body
    for path in ("/gcsy/", "/gcsy/index.html"):
        site.put(path, Resource(200, HTML, gcsy))


def _pending(out) -> set[str]:
    with sqlite3.connect(out / "state.sqlite3") as db:
        return {row[0] for row in db.execute("SELECT id FROM pending")}


@pytest.mark.parametrize("answer", list(UNREADABLE))
def test_an_unreadable_article_page_is_asked_for_again_next_run(tmp_path, answer):
    with FixtureSite() as site:
        good = site.resources[ARTICLE]
        site.put(ARTICLE, UNREADABLE[answer])
        first = run_crawl(site.base_url, tmp_path, "-a", "channels=gcsy")
        assert first.returncode == 0, first.log[-3000:]
        assert ARTICLE_ID not in {r["id"] for r in first.records}
        final = consumer.final(tmp_path)
        assert final["accounting"]["buckets"].get("unreadable") == 1 and final["accounting"]["balanced"]
        assert ARTICLE_ID in _pending(tmp_path)
        assert "Article page not readable" in first.log and ARTICLE in first.log
        # Run 2: the page is whole again, and no list links it any more: the pending list asks for it.
        site.put(ARTICLE, good)
        _unlink_from_gcsy(site)
        site.requests.clear()
        second = run_crawl(site.base_url, tmp_path, "-a", "channels=gcsy", "-a", "recheck=0")
        fetched = site.request_counts()[ARTICLE]
    assert second.returncode == 0, second.log[-3000:]
    assert fetched == 1
    emitted = consumer.records(tmp_path, consumer.final(tmp_path)["run_id"])
    assert [(r["id"], r["status"], r["revision"]) for r in emitted] == [(ARTICLE_ID, "new", 1)]
    assert ARTICLE_ID not in _pending(tmp_path)


def test_a_known_article_answering_an_empty_page_is_not_deleted(tmp_path):
    with FixtureSite() as site:
        first = run_crawl(site.base_url, tmp_path, "-a", "channels=gcsy")
        assert first.returncode == 0, first.log[-3000:]
        good = site.resources[ARTICLE]
        site.put(ARTICLE, UNREADABLE["empty"])
        second = run_crawl(site.base_url, tmp_path, "-a", "channels=gcsy", "-a", "recheck=all")
        assert second.returncode == 0, second.log[-3000:]
        assert consumer.records(tmp_path, consumer.final(tmp_path)["run_id"]) == []
        assert consumer.final(tmp_path)["accounting"]["buckets"].get("unreadable") == 1
        site.put(ARTICLE, good)
        third = run_crawl(site.base_url, tmp_path, "-a", "channels=gcsy", "-a", "recheck=all")
    assert third.returncode == 0, third.log[-3000:]
    # Never deleted, so never restored: the article was there all along.
    assert all(r["status"] == "new" for r in consumer.records(tmp_path)), \
        [(r["id"], r["status"]) for r in consumer.records(tmp_path)]
