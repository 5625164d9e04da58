"""Article ids (issue 19, case 5): no two canonical URLs get one id, and an id that comes with
another URL than the one the state holds for it is logged, counted and never taken as a revision."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import cast

import pytest
from scrapy.settings import Settings
from scrapy.statscollectors import MemoryStatsCollector

from crawler.accounting import ID_CONFLICT, STATS_ID_CONFLICT, DropRecord
from crawler.extract.urls import article_ref, other_page_ref, page_ref, same_page
from crawler.items import CONTENT_HASH_VERSION, STATUS_MODIFIED, ArticleItem
from crawler.pipelines.dedupe import DedupePipeline
from crawler.pipelines.state import StatePipeline
from crawler.state import ArticleState
from crawler.state.stores import StateStore
from tests import consumer
from tests.fixture_server import FixtureSite, Resource, discovery_page
from tests.utils.crawl import run_crawl

BASE = "https://www.sichuanpeace.gov.cn/"
HTML = {"Content-Type": "text/html; charset=utf-8"}


# --- the id a URL gets --------------------------------------------------------------------------

@pytest.mark.parametrize("url, article_id", [
    ("/scyw/20211103/2541288.html", "2541288"),     # the current platform: the id in the URL, as today
    ("/system/20170605/000451520.html", "000451520"),  # legacy: zero-padded, as today
    ("/zhuanti/pingan.htm", "ucc932981d4949a70"),  # another shape without digits: the hash it had before
])
def test_the_known_shapes_keep_their_ids(url, article_id):
    assert page_ref(BASE + url.lstrip("/"), BASE).id == article_id


def test_urls_of_another_shape_that_share_digits_get_ids_of_their_own():
    """/xwzx/2024/0115/12.htm and .../13.htm were both id 0115: one of the two was never emitted."""
    paths = ["xwzx/2024/0115/12.htm", "xwzx/2024/0115/13.htm", "content/2024/123456.htm", "show.php?id=123456",
             "show.php?id=123456&page=2", "a/123456.htm", "b/123456.htm"]
    ids = [other_page_ref(BASE + path, BASE).id for path in paths]
    assert len(set(ids)) == len(paths)
    assert all(i.startswith("u") and len(i) == 17 and not i[1:].isdigit() for i in ids)
    # Stable: the same URL (scheme, host and fragment aside) is the same id, run after run.
    assert other_page_ref("http://sichuanpeace.gov.cn/xwzx/2024/0115/12.htm#top", BASE).id == ids[0]


def test_same_page_compares_path_and_query_not_scheme_or_host():
    assert same_page(BASE + "scyw/20211103/2541288.html", "http://127.0.0.1:8000/scyw/20211103/2541288.html")
    assert not same_page(BASE + "scyw/20211103/2541288.html", BASE + "szdt/20211104/2541288.html")
    assert not same_page(BASE + "show.php?id=1", BASE + "show.php?id=2")


# --- the pipelines ------------------------------------------------------------------------------

class _Store:
    def __init__(self, *rows: ArticleState):
        self.rows = {(row.site, row.id): row for row in rows}

    def get(self, site: str, article_id: str) -> ArticleState | None:
        return self.rows.get((site, article_id))

    def known_ids(self, site: str, ids) -> set[str]:
        return {i for i in ids if (site, i) in self.rows}


def _store(*rows: ArticleState) -> StateStore:
    """A fake state store: the two questions the state pipeline asks."""
    return cast("StateStore", _Store(*rows))


def _known(url: str) -> ArticleState:
    ref = article_ref(url, BASE)
    assert ref is not None
    return ArticleState(site="www.sichuanpeace.gov.cn", id=ref.id, url=url, published_at="2021-11-03T10:00:08+08:00",
                        first_seen="2021-11-03T02:00:00+00:00", last_seen="2021-11-03T02:00:00+00:00",
                        content_sha256="0" * 64, revision=1, etag=None, last_modified=None, deleted=0,
                        channel=ref.channel, channel_name=None, last_checked=None,
                        content_hash_version=CONTENT_HASH_VERSION)


def _item(url: str, asked_url: str | None = None) -> ArticleItem:
    ref = article_ref(url, BASE)
    assert ref is not None
    return ArticleItem(id=ref.id, url=url, site="www.sichuanpeace.gov.cn", channel=ref.channel, channel_name=None,
                       fetched_at="2026-01-01T00:00:00+00:00", title="标题", body="正文", content_sha256="1" * 64,
                       asked_url=asked_url)


def _stats() -> MemoryStatsCollector:
    return MemoryStatsCollector(SimpleNamespace(settings=Settings()))  # type: ignore[arg-type]  # all it reads


KNOWN = BASE + "scyw/20211103/2541288.html"
OTHER = BASE + "szdt/20211104/2541288.html"


def test_an_id_held_for_another_url_is_never_a_revision():
    stats = _stats()
    pipeline = StatePipeline(_store(_known(KNOWN)), stats)
    with pytest.raises(DropRecord) as dropped:
        pipeline.process_item(_item(OTHER))
    assert dropped.value.bucket == ID_CONFLICT
    assert stats.get_value(STATS_ID_CONFLICT) == 1


def test_a_redirect_from_the_known_url_is_the_article_moved():
    stats = _stats()
    item = StatePipeline(_store(_known(KNOWN)), stats).process_item(_item(OTHER, asked_url=KNOWN))
    assert (item.status, item.revision) == (STATUS_MODIFIED, 2)
    assert stats.get_value(STATS_ID_CONFLICT) is None


def test_an_article_of_another_shape_the_state_knows_under_its_earlier_id_keeps_it():
    """Before ids were hashes, /xwzx/2024/0115/12.htm was id 0115: its records go on under that id
    (no second article for the consumer); .../13.htm, never emitted under it, gets an id of its own."""
    url = BASE + "xwzx/2024/0115/12.htm"
    earlier = replace(_known(KNOWN), id="0115", url=url, channel=None)
    stats = _stats()
    pipeline = StatePipeline(_store(earlier), stats)
    item = _item(KNOWN)
    item.id, item.url, item.url_shape, item.channel = other_page_ref(url, BASE).id, url, "other", None
    assert item.id.startswith("u")
    item = pipeline.process_item(item)
    assert (item.id, item.status, item.revision) == ("0115", STATUS_MODIFIED, 2)
    sibling = _item(KNOWN)
    sibling_url = BASE + "xwzx/2024/0115/13.htm"
    sibling.id, sibling.url, sibling.url_shape, sibling.channel = other_page_ref(sibling_url, BASE).id, sibling_url, \
        "other", None
    sibling = pipeline.process_item(sibling)
    assert (sibling.id, sibling.status) == (other_page_ref(sibling_url, BASE).id, "new")
    assert stats.get_value(STATS_ID_CONFLICT) is None


def test_one_id_at_two_urls_in_one_run_emits_the_first_only():
    stats = _stats()
    dedupe = DedupePipeline(stats)
    dedupe.process_item(_item(KNOWN))
    with pytest.raises(DropRecord) as dropped:
        dedupe.process_item(_item(OTHER))
    assert dropped.value.bucket == ID_CONFLICT and stats.get_value(STATS_ID_CONFLICT) == 1
    with pytest.raises(DropRecord) as again:
        dedupe.process_item(_item("http://www.sichuanpeace.gov.cn/scyw/20211103/2541288.html"))
    assert again.value.bucket == "duplicate"


# --- real crawls ----------------------------------------------------------------------------------

def _list_in_gcsy(site: FixtureSite, entries: list[tuple[str, str, str]]) -> None:
    """Add article pages to /gcsy/'s list (path, title, date), each served as an article page."""
    gcsy = site.resources["/gcsy/"].body.decode("utf-8")
    listed = "".join(f'<li><em>{day}</em><a href="{path}">{title}</a></li>\n' for path, title, day in entries)
    gcsy = gcsy.replace('<ul class="gcsy-list">\n', '<ul class="gcsy-list">\n' + listed)
    for path in ("/gcsy/", "/gcsy/index.html"):
        site.put(path, Resource(200, HTML, gcsy.encode("utf-8")))
    for path, title, day in entries:
        paragraphs = [f"{title}，这是正文的第一段，讲述了会议的主要内容和安排。",
                      "这是正文的第二段，介绍了下一步的工作部署。"]
        site.put(path, Resource(200, HTML, discovery_page(title, f"{day} 09:00:00", paragraphs).encode("utf-8")))


def test_two_urls_of_another_shape_with_the_same_digits_are_two_records(tmp_path):
    with FixtureSite() as site:
        _list_in_gcsy(site, [("/xwzx/2024/0115/12.htm", "全省政法系统召开视频会议部署春节安保", "2024-01-15"),
                             ("/xwzx/2024/0115/13.htm", "省委政法委召开理论学习中心组学习会", "2024-01-15")])
        result = run_crawl(site.base_url, tmp_path, "-a", "channels=gcsy")
    assert result.returncode == 0, result.log[-3000:]
    other = {r["url"].split("/", 3)[3]: r for r in result.records if r["url_shape"] == "other"}
    assert set(other) == {"xwzx/2024/0115/12.htm", "xwzx/2024/0115/13.htm"}
    assert other["xwzx/2024/0115/12.htm"]["id"] != other["xwzx/2024/0115/13.htm"]["id"]
    assert consumer.final(tmp_path)["counts"]["id_conflicts"] == 0


def test_an_id_that_comes_with_another_url_is_logged_counted_and_not_emitted(tmp_path):
    with FixtureSite() as site:
        first = run_crawl(site.base_url, tmp_path, "-a", "channels=gcsy")
        assert first.returncode == 0, first.log[-3000:]
        assert "1792665" in {r["id"] for r in first.records}
        # Run 2: /gcsy/ links the known id 1792665 at another URL, and a new id at two URLs.
        _list_in_gcsy(site, [("/gcsy/20190320/1792665.html", "另一篇文章却有同一个编号", "2019-03-20"),
                             ("/gcsy/20240301/3100001.html", "新文章在栏目列表中出现", "2024-03-01"),
                             ("/gcsy/20240302/3100001.html", "同一编号的第二个网址", "2024-03-02")])
        second = run_crawl(site.base_url, tmp_path, "-a", "channels=gcsy", "-a", "recheck=0")
        requested = site.request_counts()
    assert second.returncode == 0, second.log[-3000:]
    final = consumer.final(tmp_path)
    emitted = consumer.records(tmp_path, final["run_id"])
    assert [(r["id"], r["status"]) for r in emitted] == [("3100001", "new")]
    # Every record of the archive: one URL per (site, id), nothing taken as a revision of another.
    urls: dict[str, set[str]] = {}
    for record in consumer.records(tmp_path):
        urls.setdefault(record["id"], set()).add(record["url"].split("/", 3)[3])
    assert all(len(found) == 1 for found in urls.values()), urls
    assert requested["/gcsy/20190320/1792665.html"] == 0  # held for another URL: never fetched as it
    assert final["counts"]["id_conflicts"] == 2
    assert final["accounting"]["buckets"].get(ID_CONFLICT) == 1 and final["accounting"]["balanced"]
    assert "Id conflict: " in second.log and "/gcsy/20190320/1792665.html has id 1792665" in second.log


def test_discovery_skips_known_articles_and_counts_an_id_held_for_another_url(monkeypatch):
    from scrapy.utils.test import get_crawler

    from crawler.extract.listing import ListedArticle
    from crawler.spiders.sichuanpeace import SichuanpeaceSpider

    crawler = get_crawler(SichuanpeaceSpider)
    spider = SichuanpeaceSpider.from_crawler(crawler, base_url=BASE)
    earlier = BASE + "xwzx/2024/0115/12.htm"
    store = _Store(_known(KNOWN), replace(_known(KNOWN), id="0115", url=earlier, channel=None))
    # The crawl's store is a component (crawler.state.stores); here the spider is asked without a crawl.
    monkeypatch.setattr("crawler.spiders.sichuanpeace.state_store", lambda _crawler: store)
    listed = [ListedArticle(ref=page_ref(url, BASE), title=url)
              for url in (KNOWN, OTHER, OTHER, earlier, BASE + "xwzx/2024/0115/13.htm")]
    requested = [r.url for r in spider._requests_for(listed, None, None)]
    assert requested == [BASE + "xwzx/2024/0115/13.htm"]
    assert crawler.stats.get_value("discovery/skipped_known") == 2  # KNOWN, and 12.htm under its earlier id
    assert crawler.stats.get_value(STATS_ID_CONFLICT) == 1  # OTHER, counted once a run
