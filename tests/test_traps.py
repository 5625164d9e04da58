"""Discovery that cannot be trapped or led away: empty pagers stop, only the crawl host is followed,
no redirect to a private address unless the crawl host is one."""

from __future__ import annotations

import re
import sqlite3

import pytest
from scrapy import Request, Spider
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from crawler import exitcodes
from crawler.accounting import FAILURE_BUCKETS, OFFSITE, REDIRECT_REFUSED, TRANSIENT_BUCKETS, classify_failure
from crawler.downloadermiddlewares.offsite import (
    OTHER_HOST,
    PRIVATE_ADDRESS,
    CrawlHostOffsiteMiddleware,
    is_private_host,
    refusal,
)
from crawler.exceptions import RefusedRequest
from crawler.run import verdict
from crawler.run.settings_check import RULES
from crawler.spiders.paging import EmptyRun
from crawler.spiders.sichuanpeace import SichuanpeaceSpider
from tests import consumer
from tests.bad_site import UTF8, _send, article_html
from tests.fixture_server import FixtureSite, Resource
from tests.utils.crawl import run_crawl

SITE = "www.sichuanpeace.gov.cn"


# --- the decisions: pure functions -----------------------------------------------------------------

@pytest.mark.parametrize("host", [
    "127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0",
    "240.0.0.1", "224.0.0.1", "::1", "[::1]", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
    # Short and numeric IPv4 forms a resolver reads as 127.0.0.1.
    "127.1", "2130706433", "0x7f000001", "0177.0.0.1",
    "localhost", "LOCALHOST", "localhost.", "app.localhost", "localhost.localdomain",
])
def test_private_hosts(host):
    assert is_private_host(host)


@pytest.mark.parametrize("host", [
    SITE, "sichuanpeace.gov.cn", "8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "face.cafe", "localhost.com",
    "mylocalhost", "10.example.com",
])
def test_public_hosts(host):
    assert not is_private_host(host)


@pytest.mark.parametrize(("url", "expected"), [
    (f"https://{SITE}/scyw/20211103/2541288.html", None),
    (f"http://{SITE}:8080/scyw/", None),                            # another port of the same host
    ("https://sichuanpeace.gov.cn/scyw/", None),                      # the bare twin
    ("https://app.sichuanpeace.gov.cn/x.html", OTHER_HOST),           # a subdomain: Scrapy would admit it
    ("https://www.www.sichuanpeace.gov.cn/x.html", OTHER_HOST),
    ("https://www.sichuanpeace.gov.cn.example.com/x.html", OTHER_HOST),
    ("https://www.chengdupeace.gov.cn/x.html", OTHER_HOST),           # a sister site is another crawl
    ("http://10.0.0.1/x.html", PRIVATE_ADDRESS),
    ("http://169.254.169.254/latest/meta-data/", PRIVATE_ADDRESS),
    ("http://localhost:8000/x.html", PRIVATE_ADDRESS),
    ("http://[::1]/x.html", PRIVATE_ADDRESS),
    ("http://2130706433/x.html", PRIVATE_ADDRESS),
    ("http://[broken/x.html", OTHER_HOST),
])
def test_refusal_for_the_live_site(url, expected):
    assert refusal(url, [SITE]) == expected
    assert refusal(url, [SITE], redirected_from=f"https://{SITE}/scyw/") == expected


@pytest.mark.parametrize(("url", "expected"), [
    ("http://127.0.0.1:8000/scyw/", None),
    ("http://127.0.0.1:9/x.html", None),              # same host: ports are not hosts
    ("http://localhost:8000/scyw/", OTHER_HOST),      # the same machine, another host name
    ("http://10.0.0.1/x.html", OTHER_HOST),           # private is allowed for a private crawl host, other hosts are not
    ("http://sub.127.0.0.1/x.html", OTHER_HOST),
    (f"https://{SITE}/x.html", OTHER_HOST),
])
def test_refusal_for_a_mirror_on_loopback(url, expected):
    assert refusal(url, ["127.0.0.1"]) == expected


def test_without_allowed_hosts_only_a_redirect_from_public_to_private_is_refused():
    # A spider that names no host (scrapy fetch, scrapy shell): the user's own URL is followed.
    assert refusal("https://www.example.com/", []) is None
    assert refusal("http://127.0.0.1:8000/", []) is None
    assert refusal("https://www.example.org/", [], redirected_from="https://www.example.com/") is None
    assert refusal("http://192.168.0.1/", [], redirected_from="https://www.example.com/") == PRIVATE_ADDRESS
    assert refusal("http://localhost:8000/", [], redirected_from="http://127.0.0.1:8000/") is None


def test_the_spider_allows_its_crawl_host_exactly():
    assert SichuanpeaceSpider().allowed_domains == [SITE]
    assert SichuanpeaceSpider(base_url="http://127.0.0.1:8000/").allowed_domains == ["127.0.0.1"]


# --- the middleware and the accounting of what it refuses ---------------------------------------------

@pytest.fixture
def middleware():
    crawler = get_crawler(SichuanpeaceSpider)
    crawler.spider = crawler._create_spider()
    return CrawlHostOffsiteMiddleware.from_crawler(crawler)


def refused(middleware: CrawlHostOffsiteMiddleware, request: Request) -> RefusedRequest:
    with pytest.raises(RefusedRequest) as raised:
        middleware.process_request(request)
    return raised.value


def test_a_redirect_hop_off_the_host_is_refused_even_with_dont_filter(middleware):
    article = f"https://{SITE}/scyw/20211103/2541288.html"
    # A pending article is asked for with dont_filter; RedirectMiddleware copies it onto the hop.
    hop = Request("https://app.sichuanpeace.gov.cn/x.html", dont_filter=True,
                  meta={"redirect_urls": [article], "redirect_times": 1})
    error = refused(middleware, hop)
    assert error.reason == OTHER_HOST and error.redirected
    assert middleware.crawler.stats.get_value("offsite/refused/other_host") == 1
    failure = Failure(error)
    failure.request = hop  # type: ignore[attr-defined]  # as Scrapy hands it to the errback
    assert classify_failure(failure, article=True) == REDIRECT_REFUSED
    assert classify_failure(failure, article=False) == OFFSITE


def test_a_redirect_to_a_private_address_is_refused(middleware):
    hop = Request("http://127.0.0.1:6379/", meta={"redirect_urls": [f"https://{SITE}/scyw/"]})
    error = refused(middleware, hop)
    assert error.reason == PRIVATE_ADDRESS
    assert "offsite" in str(error)  # what accounting's fallback for a bare IgnoreRequest reads
    assert middleware.crawler.stats.get_value("offsite/refused/private_address") == 1


@pytest.mark.parametrize("url", [f"https://{SITE}/scyw/", "https://sichuanpeace.gov.cn/scyw/index_2.html"])
def test_the_crawl_host_and_its_twin_pass(middleware, url):
    assert middleware.process_request(Request(url, meta={"redirect_urls": [f"https://{SITE}/"]})) is None


def test_a_spider_naming_no_host_fetches_what_it_is_given():
    crawler = get_crawler(Spider)  # as scrapy fetch and scrapy shell run
    crawler.spider = crawler._create_spider("default")
    middleware = CrawlHostOffsiteMiddleware.from_crawler(crawler)
    middleware.process_request(Request("http://127.0.0.1:8000/scyw/"))  # passes: raises nothing
    hop = Request("http://10.0.0.1/", meta={"redirect_urls": ["https://www.example.com/"]})
    assert refused(middleware, hop).reason == PRIVATE_ADDRESS


def test_a_refused_article_is_a_transient_failure():
    assert REDIRECT_REFUSED in FAILURE_BUCKETS and REDIRECT_REFUSED in TRANSIENT_BUCKETS
    assert OFFSITE not in FAILURE_BUCKETS


# --- empty pagers: the decision --------------------------------------------------------------------

def test_empty_run_counts_pages_without_new_article_links():
    run = EmptyRun().after(["/a/1", "/a/2"])
    assert run.pages == 0
    run = run.after([])
    assert run.pages == 1
    run = run.after(["/a/2", "/a/1"])  # the page before, again (a pager repeating its last page)
    assert run.pages == 2
    run = run.after([])
    assert run.pages == 3
    assert run.after(["/a/3"]).pages == 0  # new articles end the run


def test_an_empty_pager_stop_cuts_the_list_short():
    stats = {"downloader/response_status_count/200": 5, "discovery/list_pages_with_links": 2,
             "discovery/paging_stopped_empty": 1}
    judged = verdict.judge("finished", verdict.counts(stats), [], False, 0.2, False, False)
    assert judged.exit_code == exitcodes.COMPLETE and judged.complete
    assert not judged.paged_to_end
    stats["discovery/paging_stopped_empty"] = 0
    assert verdict.judge("finished", verdict.counts(stats), [], False, 0.2, False, False).paged_to_end


@pytest.mark.parametrize(("value", "ok"), [("3", True), ("1", True), ("0", False), ("-2", False),
                                           ("three", False), ("", False)])
def test_list_empty_pages_max_is_checked(value, ok):
    assert (RULES["LIST_EMPTY_PAGES_MAX"](value) is None) == ok


# --- end to end ----------------------------------------------------------------------------------

ARTICLES = [f"/trap/20261120/33000{n:02d}.html" for n in range(1, 4)]


def _list_page(body_links: str, next_page: int) -> bytes:
    return (f"<html><head><title>陷阱_四川长安网</title></head><body><div>您的位置:首页 &gt; 陷阱</div>"
            f"<ul>{body_links}</ul><a href=\"/trap/index_{next_page}.html\">下一页</a></body></html>").encode()


def _trap_site(repeat: bool) -> FixtureSite:
    """A channel /trap/ whose first page lists three articles and whose pager never ends: every later
    page is empty (``repeat``: lists the first page's articles again)."""
    site = FixtureSite(cases=[])
    links = "".join(f'<li><a href="{path}">文章{n}</a></li>' for n, path in enumerate(ARTICLES))

    def endless(handler, hits):
        found = re.search(r"index_(\d+)", handler.path)
        page = int(found.group(1)) if found else 0
        _send(handler, 200, _list_page(links if page == 0 or repeat else "<li>暂无内容</li>", page + 1))

    site.put("/", Resource(200, {"Content-Type": UTF8}, b'<html><body><a href="/trap/">trap</a></body></html>'))
    site.behaviours["/trap/"] = endless
    for n in range(1, 3001):
        site.behaviours[f"/trap/index_{n}.html"] = endless
    for n, path in enumerate(ARTICLES):
        site.put(path, Resource(200, {"Content-Type": UTF8}, article_html(f"陷阱频道文章{n}").encode()))
    return site


def _list_requests(site: FixtureSite) -> int:
    return sum(n for path, n in site.request_counts().items() if path == "/trap/" or "/trap/index_" in path)


def test_an_endless_empty_pager_stops_after_a_few_pages(tmp_path):
    with _trap_site(repeat=False) as site:
        first = run_crawl(site.base_url, tmp_path)
        first_lists = _list_requests(site)
        second = run_crawl(site.base_url, tmp_path)
        second_lists = _list_requests(site) - first_lists
    assert first.returncode == exitcodes.COMPLETE, first.log[-3000:]
    assert first_lists == 4  # the page with articles, then LIST_EMPTY_PAGES_MAX (3) empty ones, not 3,001
    assert "Stopped paging" in first.log and "LIST_EMPTY_PAGES_MAX" in first.log
    manifest = consumer.final(tmp_path)
    assert len({r["id"] for r in consumer.records(tmp_path)}) == 3
    # Complete (the exit code says so), but the list was cut short: the next run may not assume
    # that an early stop at known articles leaves nothing behind.
    assert manifest["complete"] is True and manifest["paged_to_end"] is False
    assert manifest["counts"]["paging_stopped_empty"] == 1
    assert second.returncode == exitcodes.COMPLETE
    assert "every article it lists is known" not in second.log
    assert second_lists == 4


def test_a_pager_repeating_its_last_page_stops_too(tmp_path):
    with _trap_site(repeat=True) as site:
        result = run_crawl(site.base_url, tmp_path)
        lists = _list_requests(site)
    assert result.returncode == exitcodes.COMPLETE, result.log[-3000:]
    assert lists == 4
    assert consumer.final(tmp_path)["counts"]["paging_stopped_empty"] == 1


def test_the_limit_is_a_setting(tmp_path):
    with _trap_site(repeat=False) as site:
        result = run_crawl(site.base_url, tmp_path, "-s", "LIST_EMPTY_PAGES_MAX=6")
        lists = _list_requests(site)
        bad = run_crawl(site.base_url, tmp_path / "bad", "-s", "LIST_EMPTY_PAGES_MAX=0")
    assert result.returncode == exitcodes.COMPLETE and lists == 7
    assert bad.returncode == exitcodes.FAILED
    assert "LIST_EMPTY_PAGES_MAX must be at least 1" in bad.log
    assert not (tmp_path / "bad").exists()


def test_a_refused_article_redirect_stays_pending_and_is_refused_again(tmp_path):
    """The second run asks for the article as a pending one (``dont_filter``): its redirect hop is
    refused all the same, where Scrapy's own OffsiteMiddleware exempts such requests."""
    with FixtureSite() as site:
        port = site.server.server_address[1]
        moved, target = "/scyw/20261120/3400001.html", "/scyw/20261120/3400002.html"
        site.behaviours[moved] = lambda handler, hits: _send(
            handler, 302, b"", {"Location": f"http://localhost:{port}{target}", "Content-Type": UTF8})
        site.put(target, Resource(200, {"Content-Type": UTF8}, article_html("搬走的文章").encode()))
        home = site.resources["/"]
        site.put("/", Resource(home.status, home.headers,
                               home.body.replace(b"</body>", f'<a href="{moved}">搬走</a></body>'.encode())))
        first = run_crawl(site.base_url, tmp_path)
        second = run_crawl(site.base_url, tmp_path, "-a", "recheck=0")
        requests = site.request_counts()
    assert requests[moved] == 2 and requests[target] == 0
    for run in (first, second):
        assert f"Request failed (redirect_refused): {site.base_url}{moved.lstrip('/')}" in run.log
    assert "state/pending_requested': 1" in second.log
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        assert [u for (u,) in db.execute("SELECT url FROM pending")] == [f"{site.base_url}{moved.lstrip('/')}"]
    assert consumer.final(tmp_path)["accounting"]["buckets"]["redirect_refused"] == 1
