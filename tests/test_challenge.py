"""Challenge, block and busy pages (status 200) are never articles: detection, the middleware, the
bucket, the verdict, and real crawls where the site challenges the crawler on its first run."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, TextResponse
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from crawler import exitcodes
from crawler.accounting import CHALLENGE, FAILURE_BUCKETS, TRANSIENT_BUCKETS, classify_failure, run_health
from crawler.downloadermiddlewares.challenge import ChallengeMiddleware
from crawler.exceptions import ChallengePage
from crawler.extract.challenge import challenge_reason
from crawler.run import verdict
from crawler.state.sqlite import SqliteStateStore
from tests.bad_site import article_html
from tests.fixture_cases import load_cases
from tests.fixture_server import CHALLENGE_PAGES, FixtureSite
from tests.utils.crawl import run_crawl

PROJECT = Path(__file__).resolve().parent.parent
ARTICLE = "/scyw/20250829/2992286.html"  # linked from the home page, a list page and another article
ARTICLE_ID = "2992286"
LIST_PAGE = "/szdt/index_1.html"


def page(title: str, body: str, charset: str = "utf-8") -> bytes:
    return (f'<html><head><meta charset="{charset}"><title>{title}</title></head>'
            f"<body>{body}</body></html>").encode(charset)


# --- detection --------------------------------------------------------------------------------------

CHALLENGES = {
    "系统繁忙": (page("提示", "<div>系统繁忙，请稍后再试！</div>"), "busy"),
    "服务器繁忙 in GBK": (page("错误", "<p>服务器繁忙，请稍候再试</p>", "gbk"), "busy"),
    "访问过于频繁": (page("提示", "<p>您的访问过于频繁，请稍后再试。</p>"), "rate_limited"),
    "访问受限 title": (page("访问受限", "<p>请稍后再试。</p>"), "blocked"),
    "访问频率过高 in GBK": (page("提示", "<p>访问频率过高，请一分钟后再访问</p>", "gbk"), "rate_limited"),
    "请开启JavaScript": (page("", "<noscript>请开启JavaScript后刷新页面</noscript>"), "javascript_required"),
    "请启用浏览器的JavaScript": (page("", "<p>请启用浏览器的 JavaScript 功能</p>"), "javascript_required"),
    "cookie and reload script": (b"<html><head><script>var _0x1=['x'];document.cookie='v='+_0x1[0]+';path=/';"
                                 b"window.location.reload();</script></head><body></body></html>",
                                 "javascript_challenge"),
    "加速乐 __jsl_clearance": (b"<script>document.cookie=('__jsl_clearance=1593' + '|0|' + 'abc');"
                               b"location.href=location.pathname+location.search</script>", "jiasule"),
    "homemade cookie check": (b"<html><head><script>function go(){document.cookie='t='+Date.now();"
                              b"location.replace(location.href)}go()</script></head><body>\xe8\xaf\xb7\xe7\xa8\x8d"
                              b"\xe5\x80\x99</body></html>", "javascript_challenge"),
    "阿里云盾 acw_sc__v2": (b"<html><script>var arg1='3C6F';function setCookie(n,v){}setCookie('acw_sc__v2', x);"
                           b"document.location.reload();</script></html>", "aliyun"),
    "安全狗": (CHALLENGE_PAGES["safedog"], "safedog"),
    "安全狗 without its link": (page("网站防火墙", "<h3>您的请求带有不合法参数，已被网站管理员设置拦截！</h3>"),
                               "waf_block"),
    "云锁": (b"<html><script>function stringToHex(s){} var screen_verify='security_verify_data';"
            b"</script><body>loading</body></html>", "yunsuo"),
    "360网站卫士": (page("访问拦截", "<p>当前访问疑似黑客攻击，已被网站管理员设置为拦截</p>"
                   '<a href="http://wangzhan.360.cn/">360网站卫士</a>'), "360wzws"),
    "知道创宇 创宇盾": (page("提示", "<p>您的访问请求被创宇盾拦截</p>"), "jiasule"),
    "阿里云盾 block page": (page("405", "<p>很抱歉，由于您访问的URL有可能对网站造成安全威胁，您的访问被阻断。</p>"),
                           "aliyun"),
    "百度云加速": (page("", "<p>当前访问疑似黑客攻击，已被网站管理员设置为拦截</p><p>百度云加速</p>"), "waf_block"),
    "Cloudflare Just a moment": (CHALLENGE_PAGES["cloudflare"], "cloudflare"),
    "Cloudflare Attention Required": (page("Attention Required! | Cloudflare",
                                           "<h1>Sorry, you have been blocked</h1><p>You are unable to access "
                                           "example.com</p><div class=\"cf-error-details\"></div>"), "cloudflare"),
    "您的访问被拦截": (page("", "<div>您的访问被拦截！</div>"), "blocked"),
    "网站防火墙 title": (page("网站防火墙", "<p>请求被拒绝</p>"), "waf_block"),
    "403 page served with 200": (page("403 Forbidden", "<h1>403 Forbidden</h1><hr>nginx"), "blocked"),
}


@pytest.mark.parametrize("name", CHALLENGES)
def test_challenge_pages_are_recognised(name):
    body, rule = CHALLENGES[name]
    reason = challenge_reason(body)
    assert reason is not None and reason.split(":")[0] == rule, reason


@pytest.mark.parametrize("kind", sorted(CHALLENGE_PAGES))
def test_the_fixture_sites_challenge_pages_are_recognised(kind):
    assert challenge_reason(CHALLENGE_PAGES[kind]) is not None


def test_decoded_text_works_as_bytes_do():
    assert challenge_reason("<html><body><p>系统繁忙，请稍后再试</p></body></html>") == "busy: 系统繁忙"


QUOTING = ("<p>　　近日，不少群众反映12345热线在高峰时段“系统繁忙”，网上办事平台提示“访问过于频繁”、"
           "“请开启JavaScript”，市政务服务中心随即组织技术力量排查整改。</p>"
           "<p>系统繁忙，请稍后再试。</p><p>网站防火墙</p>")


def test_a_real_article_quoting_the_wordings_is_not_a_challenge():
    short = article_html("热线系统繁忙问题整改到位", extra=QUOTING).encode()
    assert challenge_reason(short) is None
    fixture = (PROJECT / "tests/fixtures/article_2992286_current_b/page.html").read_bytes()
    quoted = fixture.replace(b'TRS_Editor">', b'TRS_Editor">' + QUOTING.encode(), 1)
    assert quoted != fixture and challenge_reason(quoted) is None
    # Its title may say it too.
    assert challenge_reason(article_html("筑牢网站防火墙 访问过于频繁怎么办", extra=QUOTING).encode()) is None


def test_a_long_article_is_answered_without_decoding(monkeypatch):
    body = article_html("长文章", extra="<p>" + "政法工作" * 3000 + "</p><p>系统繁忙</p>").encode()
    monkeypatch.setattr("crawler.extract.challenge.decode_page", lambda *a: pytest.fail("decoded"))
    assert challenge_reason(body) is None


def test_list_pages_headlines_quoting_the_wordings_are_not_challenges():
    items = "".join(f'<li><a href="/scyw/20261120/31000{i:02d}.html">第{i}条：热线“系统繁忙”问题整改到位</a>'
                    f"<span>2026-11-20</span></li>" for i in range(40))
    assert challenge_reason(page("四川要闻_四川长安网", f"<ul>{items}</ul>")) is None


def test_every_fixture_and_real_page_is_not_a_challenge():
    pages = [*(PROJECT / "tests/fixtures").glob("*/page.html"), *(PROJECT / "tests/realpages").rglob("*.htm*")]
    assert len(pages) > 60
    assert [p.name for p in pages if challenge_reason(p.read_bytes()) is not None] == []


def test_pages_that_are_not_challenges():
    assert challenge_reason(b"") is None
    assert challenge_reason(b"%PDF-1.4\n1 0 obj<<>>endobj") is None
    assert challenge_reason("<html><body><div>对不起，页面不存在！</div></body></html>".encode()) is None
    assert challenge_reason(b'<html><head><meta http-equiv="refresh" content="0;url=/a.html"></head></html>') is None
    # A script that navigates without setting a cookie is a redirect, not a challenge.
    assert challenge_reason(b"<html><script>location.href='/m/';</script></html>") is None


# --- the middleware, the bucket, the verdict ------------------------------------------------------

@pytest.fixture
def middleware():
    crawler = get_crawler()
    crawler.stats.open_spider()
    return ChallengeMiddleware.from_crawler(crawler)


def html_response(url: str, body: bytes, status: int = 200) -> HtmlResponse:
    return HtmlResponse(url, status=status, body=body, headers={"Content-Type": "text/html"},
                        request=Request(url))


def test_middleware_fails_a_challenge_page(middleware):
    url = "http://127.0.0.1/scyw/20250829/2992286.html"
    with pytest.raises(ChallengePage) as raised:
        middleware.process_response(Request(url), html_response(url, CHALLENGE_PAGES["busy"]))
    assert raised.value.reason == "busy: 系统繁忙" and "challenge page (busy" in str(raised.value)
    stats = middleware.crawler.stats
    assert stats.get_value("challenge/pages") == 1 and stats.get_value("challenge/busy") == 1


def test_middleware_passes_what_it_must_not_judge(middleware):
    url = "http://127.0.0.1/x.html"
    busy = CHALLENGE_PAGES["busy"]
    article = html_response(url, article_html("一篇文章").encode())
    assert middleware.process_response(Request(url), article) is article
    not_ok = html_response(url, busy, status=503)  # the retry middleware's
    assert middleware.process_response(Request(url), not_ok) is not_ok
    robots = Request("http://127.0.0.1/robots.txt", meta={"dont_obey_robotstxt": True})
    assert middleware.process_response(robots, html_response(robots.url, busy)) is not None
    text = TextResponse(url, body=busy, headers={"Content-Type": "text/plain"})
    assert middleware.process_response(Request(url), text) is text
    assert middleware.crawler.stats.get_value("challenge/pages") is None


def test_challenge_is_a_failure_that_passes():
    failure = Failure(ChallengePage("busy: 系统繁忙"))
    failure.request = Request("http://127.0.0.1/a.html")  # type: ignore[attr-defined]  # as Scrapy hands it to the errback
    assert classify_failure(failure) == CHALLENGE
    assert CHALLENGE in FAILURE_BUCKETS and CHALLENGE in TRANSIENT_BUCKETS
    health = run_health({"accounting/attempts": 3, "accounting/bucket/challenge": 1, "accounting/bucket/record": 2})
    assert health["challenged"] == 1 and health["failed"] == 1 and health["balanced"]


def judged(**counts_given):
    counts = {"pages_ok": 10, "lists_with_links": 3, "list_pages_failed": 0, "failed": 0, "attempted": 20,
              "pager_bound": 0, "challenged": 0, **counts_given}
    return verdict.judge("finished", counts, [], False, 0.2, limited_by_since=False, may_find_nothing=False)


def test_a_challenged_run_is_incomplete_with_its_own_exit_code():
    assert judged().exit_code == exitcodes.COMPLETE and judged().complete
    challenged = judged(challenged=1, failed=1)
    assert challenged.exit_code == exitcodes.CHALLENGED == 11
    assert not challenged.complete and not challenged.paged_to_end
    # A challenged list page is a list page not read (7); too many challenges pass the error rate (7).
    assert judged(challenged=1, failed=1, list_pages_failed=1).exit_code == exitcodes.ERROR_THRESHOLD
    assert judged(challenged=10, failed=10).exit_code == exitcodes.ERROR_THRESHOLD
    # It outranks drift: the run is not complete.
    counts = {"pages_ok": 10, "lists_with_links": 3, "list_pages_failed": 0, "failed": 1, "attempted": 20,
              "pager_bound": 0, "challenged": 1}
    assert verdict.judge("finished", counts, ["fallback share"], False, 0.2, False, False).exit_code == 11


# --- real crawls ----------------------------------------------------------------------------------

def final_manifest(output_dir: Path) -> dict:
    manifests = [json.loads(p.read_text("utf-8")) for p in (output_dir / "runs").glob("*.json")]
    return max((m for m in manifests if m.get("final")), key=lambda m: m["seq"])


def known_ids(output_dir: Path, site: str) -> set[str]:
    store = SqliteStateStore(output_dir / "state.sqlite3", readonly=True)
    try:
        return {row[0] for row in store.db.execute("SELECT id FROM articles WHERE site=?", (site,))}
    finally:
        store.close()


def test_a_challenged_article_is_fetched_by_the_next_run_and_recorded_once(tmp_path):
    with FixtureSite() as site:
        site.challenge(ARTICLE, "busy", times=1)
        first = run_crawl(site.base_url, tmp_path)
        manifest = final_manifest(tmp_path)
        host = manifest["site"]
        known_after_first = known_ids(tmp_path, host)
        second = run_crawl(site.base_url, tmp_path)
        requests = site.request_counts()
    assert first.returncode == exitcodes.CHALLENGED, first.log[-3000:]
    assert manifest["complete"] is False and manifest["exit_code"] == exitcodes.CHALLENGED
    assert manifest["counts"]["challenged"] == 1 and manifest["accounting"]["buckets"]["challenge"] == 1
    assert manifest["accounting"]["balanced"]
    assert ARTICLE_ID not in {r["id"] for r in first.records}
    assert ARTICLE_ID not in known_after_first and len(known_after_first) > 5
    assert f"Request failed (challenge): {site.base_url}{ARTICLE[1:]}: challenge page (busy: 系统繁忙)" in first.log
    assert "1 challenge, block or busy pages answered with status 200 (busy 1)" in first.log
    assert second.returncode == exitcodes.COMPLETE, second.log[-3000:]
    assert final_manifest(tmp_path)["complete"] is True
    ids = Counter(r["id"] for r in second.records)  # every committed record of both runs
    assert ids[ARTICLE_ID] == 1 and max(ids.values()) == 1
    assert ARTICLE_ID in known_ids(tmp_path, host)
    assert requests[ARTICLE] == 2  # once per run


def test_a_challenged_list_page_is_a_list_page_not_read(tmp_path):
    every_article = {case.expected["id"] for case in load_cases("article")}
    with FixtureSite() as site:
        site.challenge(LIST_PAGE, "cloudflare", times=1)
        first = run_crawl(site.base_url, tmp_path)
        manifest = final_manifest(tmp_path)
        second = run_crawl(site.base_url, tmp_path)
    assert first.returncode == exitcodes.ERROR_THRESHOLD, first.log[-3000:]
    assert manifest["complete"] is False and manifest["paged_to_end"] is False
    assert manifest["counts"]["list_pages_failed"] == 1 and manifest["counts"]["challenged"] == 1
    assert second.returncode == exitcodes.COMPLETE, second.log[-3000:]
    ids = Counter(r["id"] for r in second.records)
    assert every_article <= set(ids) and max(ids.values()) == 1
