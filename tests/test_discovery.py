"""Discovery beyond the URL pattern: candidates of another URL shape in list pages' article lists,
robots.txt ``Sitemap:`` lines, /sitemap.xml, sitemap indexes and RSS/Atom feeds; url_shape counts."""

from __future__ import annotations

import gzip
from collections import Counter
from datetime import date
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft202012Validator

from crawler.extract.listing import ListedArticle, Listing, parse_listing
from crawler.extract.sitemaps import parse_feed, parse_sitemap, sitemaps_in_robots
from crawler.extract.urls import article_ref, other_page_ref
from crawler.pipelines.validate import load_schema
from crawler.rules.discovery import OTHER_ARTICLES_MAX_PER_PAGE
from crawler.run.settings_check import setting_errors
from tests import consumer
from tests.bad_site import _send
from tests.fakes import KnownIds
from tests.fixture_cases import REAL_BASE, load_cases
from tests.fixture_server import (
    DISCOVERY_FOOTER_LINK,
    DISCOVERY_LISTED,
    DISCOVERY_NAV_LINK,
    FixtureSite,
)
from tests.utils.crawl import run_crawl

HOST = "www.sichuanpeace.gov.cn"
BASE = REAL_BASE + "/"
PAGES = [c for c in load_cases() if c.kind not in ("asset", "robots")]
LISTINGS = [c for c in PAGES if c.kind in ("listing", "home", "sitemap")]
CHROME_PATHS = {"/about/intro2024.htm", "/help/guide.htm", "/zt/hotline-12337.htm"}
NOT_ARTICLE = "/zt/notice.htm"
# The fixture site's articles of another shape, by their ids (u + a hash of path and query).
CONTENT_ID = other_page_ref(BASE + "content/2024/123456.htm", BASE).id
SHOW_ID = other_page_ref(BASE + "show.php?id=98765", BASE).id
OTHER_IDS = {CONTENT_ID, SHOW_ID, other_page_ref(BASE + "zhuanti/pingan.htm", BASE).id}
SITEMAP_AND_FEED_ONLY = {"3001001", "3001002", "3001003"}


def listing_of(html: str | bytes, url: str = BASE + "gcsy/"):
    return parse_listing(html, url, HOST, BASE, "text/html; charset=utf-8")


def page(body: str) -> str:
    return f"<html><head><title>t</title></head><body>{body}</body></html>"


# --- candidates of another URL shape --------------------------------------------------------------

@pytest.mark.parametrize("case", PAGES, ids=lambda c: c.name)
def test_no_link_of_a_fixture_page_is_a_candidate(case):
    assert parse_listing(case.body, case.url, HOST, BASE, case.content_type).other_articles == []


@pytest.mark.parametrize("case", LISTINGS, ids=lambda c: c.name)
def test_other_shaped_links_in_navigation_footer_and_breadcrumb_are_not_candidates(case):
    html = case.body.decode("utf-8")
    html = html.replace('<div class="nav"><ul>', '<div class="nav"><ul>' + DISCOVERY_NAV_LINK, 1)
    html = html.replace('<div class="footer">', '<div class="footer">' + DISCOVERY_FOOTER_LINK, 1)
    html = html.replace("您的位置：", '您的位置：<a href="/zt/hotline-12337.htm">政法干警违纪举报专区</a>', 1)
    assert all(path in html for path in CHROME_PATHS), case.name  # the template has each place
    assert parse_listing(html, case.url, HOST, BASE, case.content_type).other_articles == []


def test_list_entries_of_another_shape_beside_articles_are_candidates():
    gcsy = next(c for c in LISTINGS if c.name == "list_gcsy").body.decode("utf-8")
    entries = "".join(f'<li><em>{day}</em><a href="{path}">{title}</a></li>' for path, title, day in DISCOVERY_LISTED)
    html = gcsy.replace('<ul class="gcsy-list">', '<ul class="gcsy-list">' + entries)
    html = html.replace('<div class="nav"><ul>', '<div class="nav"><ul>' + DISCOVERY_NAV_LINK)
    html = html.replace('<div class="footer">', '<div class="footer">' + DISCOVERY_FOOTER_LINK)
    listing = listing_of(html)
    found = [(urlsplit(a.url).path + (f"?{urlsplit(a.url).query}" if urlsplit(a.url).query else ""), a.title, a.date)
             for a in listing.other_articles]
    assert found == [(path, title, date.fromisoformat(day)) for path, title, day in DISCOVERY_LISTED]
    assert [a.ref.id for a in listing.other_articles][:2] == [CONTENT_ID, SHOW_ID]
    assert all(a.ref.shape == "other" and a.ref.date is None for a in listing.other_articles)
    assert len(listing.articles) == 3  # the article-shaped links are unchanged


def test_sibling_rule_needs_the_same_list_and_the_same_kind_of_entry():
    html = page("""
    <div class="col"><ul class="news">
      <li class="item"><a href="/scyw/20240101/2900001.html">全省政法工作会议在成都召开</a></li>
      <li class="item"><a href="/content/2024/777777.htm">全省政法队伍教育整顿总结会</a></li>
    </ul>
    <ul class="tools"><li><a href="/service/online-petition.htm">网上信访与投诉举报入口</a></li></ul>
    <div class="item"><a href="/content/2024/888888.htm">同一栏目下另一个区块的链接</a></div></div>""")
    assert [a.url for a in listing_of(html).other_articles] == [BASE + "content/2024/777777.htm"]


def test_links_written_straight_into_a_list_block_are_siblings_too():
    html = page("""<div class="list">
      <a href="/scyw/20240101/2900001.html">全省政法工作会议在成都召开</a><br>
      <a href="/show.php?id=55555">市州政法委书记座谈会召开</a><br></div>""")
    assert [a.url for a in listing_of(html).other_articles] == [BASE + "show.php?id=55555"]


def test_dated_entries_make_an_article_list_without_article_shaped_links():
    dated = page("""<ul><li><a href="/content/2024/111111.htm">第一条新闻的标题文字</a><span>2024-03-01</span></li>
      <li><a href="/content/2024/222222.htm">第二条新闻的标题文字</a><span>2024/3/2</span></li></ul>""")
    assert [(a.url, a.date) for a in listing_of(dated).other_articles] == [
        (BASE + "content/2024/111111.htm", date(2024, 3, 1)), (BASE + "content/2024/222222.htm", date(2024, 3, 2))]
    one = page("""<ul><li><a href="/content/2024/111111.htm">第一条新闻的标题文字</a><span>2024-03-01</span></li>
      <li><a href="/service/guide.htm">办事指南与常见问题解答</a></li></ul>""")
    assert listing_of(one).other_articles == []  # one date is a notice, not a list
    undated = page("""<ul><li><a href="/content/2024/111111.htm">第一条新闻的标题文字</a></li>
      <li><a href="/content/2024/222222.htm">第二条新闻的标题文字</a></li></ul>""")
    assert listing_of(undated).other_articles == []


def test_controls_folders_and_index_pages_are_not_candidates():
    html = page("""<ul class="news">
      <li><a href="/scyw/20240101/2900001.html">全省政法工作会议在成都召开</a></li>
      <li><a href="/content/2024/123.htm">更多</a></li>
      <li><a href="/News/index.shtml">全部新闻列表页面入口</a></li>
      <li><a href="/">返回四川长安网首页</a></li>
      <li><a href="/Special/">专题专栏入口链接文字</a></li>
      <li><a href="/files/report.pdf">年度工作报告全文下载</a></li>
      <li><a href="https://www.gov.cn/content/2024/999999.htm">中国政府网的一条新闻</a></li></ul>""")
    assert listing_of(html).other_articles == []


def test_candidates_per_page_are_bounded():
    entries = "".join(f'<li><a href="/content/2024/{100000 + n}.htm">第{n}条新闻的标题文字</a>'
                      f'<span>2024-03-01</span></li>' for n in range(OTHER_ARTICLES_MAX_PER_PAGE + 40))
    assert len(listing_of(page(f"<ul>{entries}</ul>")).other_articles) == OTHER_ARTICLES_MAX_PER_PAGE


def test_an_id_from_a_stable_hash_of_path_and_query():
    hashed = other_page_ref("http://www.sichuanpeace.gov.cn/zhuanti/pingan.htm", BASE)
    assert hashed.id.startswith("u") and len(hashed.id) == 17
    assert hashed.id == other_page_ref(BASE + "zhuanti/pingan.htm", BASE).id
    assert hashed.id != other_page_ref(BASE + "zhuanti/fazhi.htm", BASE).id


def test_announced_feeds_are_listed():
    html = """<html><head>
      <link rel="alternate" type="application/rss+xml" title="RSS" href="/rss.xml">
      <link rel="Alternate" type="application/atom+xml" href="https://www.sichuanpeace.gov.cn/atom.xml">
      <link rel="alternate" type="application/rss+xml" href="https://feeds.example.org/x.xml">
      <link rel="stylesheet" type="text/css" href="/css/main.css">
      <link rel="alternate" hreflang="en" href="/en/"></head><body></body></html>"""
    assert listing_of(html, BASE).feeds == [BASE + "rss.xml", BASE + "atom.xml"]


# --- sitemaps and feeds ---------------------------------------------------------------------------

URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>https://www.sichuanpeace.gov.cn/scyw/20240301/3001001.html</loc><lastmod>2024-03-01</lastmod></url>
<url><loc>http://www.sichuanpeace.gov.cn/scyw/20240301/3001001.html?from=sitemap</loc></url>
<url><loc>https://www.sichuanpeace.gov.cn/content/2024/123456.htm</loc><lastmod>2024-03-02T10:00:00+08:00</lastmod></url>
<url><loc>https://www.sichuanpeace.gov.cn/szdt/</loc></url>
<url><loc>https://www.sichuanpeace.gov.cn/sccaw/u_yhscwj/202106/a.jpg</loc></url>
<url><loc>https://www.gov.cn/content/2024/1.htm</loc></url>
</urlset>"""


def test_robots_sitemap_lines():
    robots = b"User-agent: *\nDisallow: /admin/\nSitemap: /sitemap_index.xml\nsitemap: https://www.sichuanpeace.gov.cn/s.xml\n"
    assert sitemaps_in_robots(robots, BASE + "robots.txt") == [BASE + "sitemap_index.xml", BASE + "s.xml"]
    assert sitemaps_in_robots(b"User-agent: *\nDisallow: /admin/\n", BASE + "robots.txt") == []


@pytest.mark.parametrize("compress", [False, True], ids=["xml", "xml.gz"])
def test_sitemap_pages_sorted_by_url_shape(compress):
    body = gzip.compress(URLSET) if compress else URLSET
    found = parse_sitemap(body, BASE + "sitemap.xml", HOST, BASE)
    assert found.kind == "urlset"
    assert [(a.ref.id, a.ref.shape, a.date) for a in found.articles] == [("3001001", "current", date(2024, 3, 1))]
    assert [(a.ref.id, a.ref.shape, a.date) for a in found.other_articles] == [(CONTENT_ID, "other", date(2024, 3, 2))]
    assert found.list_pages == [BASE + "szdt/"]
    assert found.offsite == 2  # the image and the other host


def test_sitemap_index_names_its_sitemaps_on_the_site_only():
    index = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>/sitemaps/a.xml</loc></sitemap><sitemap><loc>https://cdn.example.org/b.xml</loc></sitemap>
    </sitemapindex>"""
    found = parse_sitemap(index, BASE + "sitemap.xml", HOST, BASE)
    assert (found.kind, found.sitemaps, found.articles) == ("sitemapindex", [BASE + "sitemaps/a.xml"], [])


@pytest.mark.parametrize("body", [b"", b"<html><body>404 Not Found</body></html>",
                                  b"\x1f\x8b\x08 not really gzip", b"<?xml version='1.0'?><rss/>"])
def test_what_is_not_a_sitemap_says_so(body):
    assert parse_sitemap(body, BASE + "sitemap.xml", HOST, BASE).kind is None


def test_a_sitemap_cut_short_gives_the_entries_it_holds():
    cut = URLSET[:URLSET.index(b"<url><loc>https://www.sichuanpeace.gov.cn/content")] + b"<url><loc>"
    found = parse_sitemap(cut, BASE + "sitemap.xml", HOST, BASE)
    assert (found.kind, [a.ref.id for a in found.articles], found.offsite) == ("urlset", ["3001001"], 0)


def test_rss_items_with_link_or_permalink_guid():
    rss = """<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>四川长安网</title>
      <item><title>绵阳集中宣判</title><link>https://www.sichuanpeace.gov.cn/show.php?id=98765</link>
        <pubDate>Mon, 04 Mar 2024 15:12:08 +0800</pubDate></item>
      <item><title>广元法律明白人</title><guid>https://www.sichuanpeace.gov.cn/szdt/20240110/2868001.html</guid></item>
      <item><title>无链接</title><guid isPermaLink="false">tag:1</guid></item>
    </channel></rss>""".encode()
    found = parse_feed(rss, BASE + "rss.xml", HOST, BASE)
    assert found.kind == "rss"
    assert [(a.ref.id, a.title) for a in found.articles] == [("2868001", "广元法律明白人")]
    assert [(a.ref.id, a.date) for a in found.other_articles] == [(SHOW_ID, date(2024, 3, 4))]


def test_rdf_and_atom_feeds():
    rdf = b"""<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
      xmlns:dc="http://purl.org/dc/elements/1.1/"><item><title>x</title>
      <link>https://www.sichuanpeace.gov.cn/content/2024/4444.htm</link><dc:date>2024-03-05</dc:date></item></rdf:RDF>"""
    assert [(a.url, a.date) for a in parse_feed(rdf, BASE + "rdf", HOST, BASE).other_articles] == [
        (BASE + "content/2024/4444.htm", date(2024, 3, 5))]
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>A</title>
      <link rel="enclosure" href="/a.mp3"/><link href="/scyw/20240305/3000005.html"/>
      <updated>2024-03-05T00:00:00Z</updated></entry></feed>"""
    found = parse_feed(atom, BASE + "atom.xml", HOST, BASE)
    assert (found.kind, [a.ref.id for a in found.articles]) == ("atom", ["3000005"])


def test_what_is_not_a_feed_says_so():
    assert parse_feed(b"<html><body>x</body></html>", BASE + "rss.xml", HOST, BASE).kind is None
    assert parse_feed(URLSET, BASE + "rss.xml", HOST, BASE).kind is None


@pytest.mark.parametrize("value", ["maybe", "yes", ""])
def test_discovery_settings_must_be_on_or_off(value):
    from scrapy.settings import Settings

    from crawler import settings as project_settings
    settings = Settings()
    settings.setmodule(project_settings)
    assert setting_errors(settings) == []
    settings.set("DISCOVERY_FEEDS", value)
    assert setting_errors(settings) == [f"DISCOVERY_FEEDS must be True or False, got {value!r}"]


# --- end to end -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def discovery_crawl(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    with FixtureSite() as site:
        site.serve_discovery()
        result = run_crawl(site.base_url, out)
        yield result, site.request_counts(), site


def test_run_is_complete_with_exit_0(discovery_crawl):
    result, _, _ = discovery_crawl
    assert result.returncode == 0, result.log[-3000:]
    final = consumer.final(result.output_dir)
    assert final["complete"] and final["counts"]["failed"] == 0 and final["accounting"]["balanced"]


def test_articles_of_another_shape_are_records(discovery_crawl):
    result, _, site = discovery_crawl
    other = {r["id"]: r for r in result.records if r["url_shape"] == "other"}
    assert set(other) == OTHER_IDS
    assert other[SHOW_ID]["url"] == site.base_url + "show.php?id=98765"
    assert other[CONTENT_ID]["title"] == "成都政法系统开展执法规范化专题培训"
    assert other[CONTENT_ID]["published_at"] == "2024-03-05T09:30:00+08:00"
    # Linked from /gcsy/ only: its channel. 123456 is in the RSS feed too, and whichever link is
    # followed first gives it its channel (the feed names none).
    assert all(other[i]["channel"] == "gcsy" and other[i]["channel_name"] == "高层声音"
               for i in OTHER_IDS - {CONTENT_ID})
    assert other[CONTENT_ID]["channel"] in ("gcsy", None)
    validator = Draft202012Validator(load_schema())
    for record in other.values():
        assert not list(validator.iter_errors(record)), record["url"]


def test_a_candidate_that_is_not_an_article_is_counted_not_emitted(discovery_crawl):
    result, requests, _ = discovery_crawl
    assert requests[NOT_ARTICLE] == 1
    assert not [r for r in result.records if r["url"].endswith(NOT_ARTICLE)]
    assert "Candidate of another URL shape is not an article (no publication time shown)" in result.log
    final = consumer.final(result.output_dir)
    assert final["counts"]["discovery"]["other_not_article"] == 1
    assert final["counts"]["discovery"]["other_candidates"] == 4
    assert "not_article/no_publication_time_shown" not in final["counts"]["dropped"]


def test_navigation_and_footer_links_are_never_requested(discovery_crawl):
    _, requests, _ = discovery_crawl
    assert not CHROME_PATHS & set(requests)
    assert all(count == 1 for count in requests.values()), requests


def test_articles_only_in_sitemaps_and_the_feed_are_found(discovery_crawl):
    result, requests, _ = discovery_crawl
    ids = [r["id"] for r in result.records]
    assert set(ids) >= SITEMAP_AND_FEED_ONLY and len(ids) == len(set(ids))
    for path in ("/robots.txt", "/sitemap_index.xml", "/sitemaps/articles-2024.xml", "/sitemap.xml", "/rss.xml"):
        assert requests[path] == 1, path
    assert all(r["url_shape"] == "current" for r in result.records if r["id"] in SITEMAP_AND_FEED_ONLY)
    discovery = consumer.final(result.output_dir)["counts"]["discovery"]
    assert (discovery["sitemaps"], discovery["feeds"]) == (3, 1)


def test_the_manifest_counts_url_shapes(discovery_crawl):
    result, _, _ = discovery_crawl
    counted = consumer.final(result.output_dir)["counts"]["url_shapes"]
    assert counted == dict(Counter(r["url_shape"] for r in result.records))
    assert counted["other"] == 3 and counted["legacy"] == 2


def test_a_site_without_sitemap_or_feed_is_normal(tmp_path):
    with FixtureSite() as site:
        result = run_crawl(site.base_url, tmp_path, "-a", "channels=gcsy")
        requests = site.request_counts()
    assert result.returncode == 0, result.log[-2000:]
    assert requests["/sitemap.xml"] == 1 and "/rss.xml" not in requests
    assert "No sitemap at" in result.log
    final = consumer.final(tmp_path)
    assert final["counts"]["failed"] == 0 and final["counts"]["broken_links"] == 0
    assert final["counts"]["url_shapes"] == {"current": 2}


def test_discovery_settings_turn_the_sources_off(tmp_path):
    with FixtureSite() as site:
        site.serve_discovery()
        result = run_crawl(site.base_url, tmp_path, "-s", "DISCOVERY_SITEMAPS=False", "-s", "DISCOVERY_FEEDS=False",
                           "-s", "DISCOVERY_OTHER_SHAPES=False")
        requests = site.request_counts()
    assert result.returncode == 0, result.log[-2000:]
    assert not {"/sitemap.xml", "/sitemap_index.xml", "/rss.xml", NOT_ARTICLE, "/show.php"} & set(requests)
    assert {r["url_shape"] for r in result.records} == {"current", "legacy"}


def test_other_shaped_articles_through_rerun_recheck_and_pending(tmp_path):
    """The state knows other-shaped articles: a rerun skips them, a recheck asks for them (and a
    404 makes a deleted record), a transient failure leaves one pending for the next run."""
    out = tmp_path / "out"
    with FixtureSite() as site:
        site.serve_discovery()
        # First run: /show.php fails (503 after every retry): pending, not a record.
        site.behaviours["/show.php"] = lambda handler, hits: _send(handler, 503, b"busy")
        first = run_crawl(site.base_url, out, "-a", "channels=gcsy")
        assert first.returncode == 0, first.log[-2000:]
        assert {r["id"] for r in first.records if r["url_shape"] == "other"} == OTHER_IDS - {SHOW_ID}
        # Second run, /gcsy/ no longer links it: it is asked for from the pending list.
        del site.behaviours["/show.php"]
        gcsy = site.resources["/gcsy/"]
        site.put("/gcsy/", type(gcsy)(gcsy.status, gcsy.headers, gcsy.body.replace(b"/show.php?id=98765", b"/gcsy/")))
        site.requests.clear()
        second = run_crawl(site.base_url, out, "-a", "channels=gcsy", "-a", "recheck=0")
        assert second.returncode == 0, second.log[-2000:]
        new = consumer.records(out, consumer.final(out)["run_id"])
        assert [(r["id"], r["url_shape"], r["status"]) for r in new] == [(SHOW_ID, "other", "new")]
        assert "'state/pending_requested': 1" in second.log
        assert site.request_counts()["/content/2024/123456.htm"] == 0  # known: skipped
        # Third run (every channel) rechecks every known article; one of another shape is gone.
        site.put("/content/2024/123456.htm", None)
        site.requests.clear()
        third = run_crawl(site.base_url, out, "-a", "recheck=all")
        assert third.returncode == 0, third.log[-2000:]
        requests = site.request_counts()
        assert requests["/show.php"] == 1 and requests["/zhuanti/pingan.htm"] == 1
        last = consumer.records(out, consumer.final(out)["run_id"])
        assert [(r["id"], r["status"]) for r in last if r["url_shape"] == "other"] == [(CONTENT_ID, "deleted")]
        assert "'state/unchanged': " in third.log


# --- routing (the spider's decisions on candidates) -----------------------------------------------

@pytest.fixture
def spider():
    from scrapy.utils.test import get_crawler

    from crawler.spiders.sichuanpeace import SichuanpeaceSpider
    from crawler.state.history import History
    spider = SichuanpeaceSpider.from_crawler(get_crawler(SichuanpeaceSpider), base_url=BASE, since="2024-03-03")
    spider._history = History(KnownIds(set()), spider.site)  # what earlier runs committed: nothing
    return spider


def _candidates(*entries: tuple[str, str | None]) -> list[ListedArticle]:
    return [ListedArticle(ref=other_page_ref(BASE + path, BASE), title=path,
                          date=date.fromisoformat(day) if day else None) for path, day in entries]


def test_candidates_are_judged_by_since_through_the_date_beside_their_link(spider):
    listed = _candidates(("content/2024/111111.htm", "2024-03-05"), ("content/2024/222222.htm", "2024-03-01"),
                         ("zhuanti/pingan.htm", None))
    requested = [r.url for r in spider._requests_for(listed, "gcsy", None)]
    assert requested == [BASE + "content/2024/111111.htm", BASE + "zhuanti/pingan.htm"]
    assert spider.crawler.stats.get_value("discovery/skipped_before_since") == 1
    assert spider.crawler.stats.get_value("discovery/other_candidates") == 2


def test_a_page_is_only_known_by_its_article_links_when_it_has_some(spider):
    known = article_ref(BASE + "gcsy/20240301/3000001.html", BASE)
    assert known is not None
    spider.history.store = KnownIds({known.id, other_page_ref(BASE + "content/2024/111111.htm", BASE).id})
    notice = _candidates(("zt/notice.htm", None))  # never an article, so never known
    beside = Listing(articles=[ListedArticle(ref=known, title="x")], other_articles=notice)
    assert spider.history.lists_only_known(beside)
    assert not spider.history.lists_only_known(
        Listing(other_articles=notice + _candidates(("content/2024/111111.htm", None))))
    assert spider.history.lists_only_known(Listing(other_articles=_candidates(("content/2024/111111.htm", None))))
