"""Failure accounting: buckets by exception type, one failure per failed attempt, an error rate over
attempted URLs, broken links apart from failures, truncated bodies never records."""

from __future__ import annotations

import gc
import gzip
import json
import re
import zlib
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request, Spider, signals
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
    UnsupportedURLSchemeError,
)
from scrapy.http import HtmlResponse, Response
from scrapy.robotstxt import ProtegoRobotParser
from scrapy.settings import Settings
from scrapy.settings.default_settings import DOWNLOADER_MIDDLEWARES_BASE
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.test import get_crawler
from twisted.internet import error as tx_error
from twisted.python.failure import Failure
from twisted.web.client import ResponseFailed
from twisted.web.http import _DataLoss

from crawler import accounting, exitcodes
from crawler.accounting import (
    BROKEN_LINK,
    FAILURE_BUCKETS,
    HTTP_ERROR,
    LISTING,
    OFFSITE,
    OVERSIZE,
    PARSE_FAILURE,
    RECORD,
    REDIRECT_DROPPED,
    RETRIES_EXHAUSTED,
    ROBOTS,
    STATS_BUCKET,
    TRUNCATED,
    classify_failure,
    run_health,
)
from crawler.downloadermiddlewares.accounting import AccountingMiddleware
from crawler.downloadermiddlewares.truncation import PRIORITY, TruncationMiddleware, deflate_problem, gzip_problem
from crawler.exceptions import TruncatedBody
from crawler.extensions.accounting import AccountingExtension
from tests.bad_site import UTF8, _send, article_html
from tests.fixture_server import FixtureSite, Resource
from tests.utils.crawl import run_crawl

BASE = "https://www.sichuanpeace.gov.cn/"
ARTICLE = BASE + "scyw/20211103/2541288.html"
SITEMAP = BASE + "wzdt/index.html"


@pytest.fixture(autouse=True, scope="module")
def _free_crawlers():
    yield
    # Crawlers built here leave cycles that take more than one collection to free (their signal
    # receivers' weak references): free them now, or tests/test_gc_tuning.py finds them as garbage.
    while gc.collect():
        pass


class SiteSpider(Spider):
    name = "site"
    allowed_domains = ["sichuanpeace.gov.cn"]


def failed(error: BaseException, request: Request | None = None) -> Failure:
    """A Failure as an errback gets it: with the request attached."""
    failure = Failure(error)
    failure.request = request or Request(ARTICLE)  # type: ignore[attr-defined]  # as Scrapy hands it to the errback
    return failure


def http_error(status: int, url: str, **meta: Any) -> Failure:
    request = Request(url, meta=meta)
    return failed(HttpError(HtmlResponse(url, status=status, request=request)), request)


def raised_by(call) -> BaseException:
    with pytest.raises(Exception) as caught:
        call()
    return caught.value


# --- classify_failure: by type -----------------------------------------------------------------

@pytest.mark.parametrize("status", [404, 410])
def test_missing_article_is_a_failure(status):
    assert classify_failure(http_error(status, ARTICLE, linked_from=BASE), article=True) == HTTP_ERROR


@pytest.mark.parametrize("status", [404, 410])
def test_missing_linked_page_is_a_broken_link(status):
    assert classify_failure(http_error(status, SITEMAP, linked_from=BASE), article=False) == BROKEN_LINK


def test_missing_start_page_is_a_failure():
    # Nothing linked the start page: its 404 is the run's failure, not a broken link.
    assert classify_failure(http_error(404, BASE), article=False) == HTTP_ERROR


def test_broken_link_taken_from_the_referer_header():
    request = Request(SITEMAP, headers={"Referer": BASE})
    failure = failed(HttpError(HtmlResponse(SITEMAP, status=404, request=request)), request)
    assert classify_failure(failure, article=False) == BROKEN_LINK


@pytest.mark.parametrize(("status", "meta", "bucket"), [
    (500, {}, RETRIES_EXHAUSTED), (429, {}, RETRIES_EXHAUSTED), (521, {"retry_times": 3}, RETRIES_EXHAUSTED),
    (403, {}, HTTP_ERROR), (302, {}, REDIRECT_DROPPED),
])
def test_http_statuses(status, meta, bucket):
    assert classify_failure(http_error(status, ARTICLE, **meta)) == bucket


@pytest.mark.parametrize(("error", "bucket"), [
    (TruncatedBody("gzip stream cut short"), TRUNCATED),
    (ResponseDataLossError(), TRUNCATED),
    (ResponseFailed([Failure(_DataLoss())]), TRUNCATED),
    (DownloadCancelledError("Received 11 bytes"), OVERSIZE),
    (DownloadTimeoutError("took longer than 2 seconds"), RETRIES_EXHAUSTED),
    (CannotResolveHostError("x"), RETRIES_EXHAUSTED),
    (DownloadConnectionRefusedError("x"), RETRIES_EXHAUSTED),
    (DownloadFailedError("x"), RETRIES_EXHAUSTED),
    (UnsupportedURLSchemeError("ftp"), OFFSITE),
    (tx_error.TimeoutError(), RETRIES_EXHAUSTED),
    (tx_error.DNSLookupError(), RETRIES_EXHAUSTED),
    (tx_error.ConnectionRefusedError(), RETRIES_EXHAUSTED),
    (ResponseFailed([Failure(tx_error.ConnectionLost())]), RETRIES_EXHAUSTED),
    (ValueError("a handler's own error"), RETRIES_EXHAUSTED),
])
def test_download_errors_by_type(error, bucket):
    assert classify_failure(failed(error)) == bucket


def test_what_scrapys_middlewares_raise_lands_in_its_bucket():
    """Each IgnoreRequest as Scrapy's own middleware raises it, not as this test would spell it."""
    crawler = get_crawler(SiteSpider, {"DOWNLOAD_MAXSIZE": 1000, "REDIRECT_MAX_TIMES": 2, "ROBOTSTXT_OBEY": True})
    crawler.spider = crawler._create_spider()

    robots = RobotsTxtMiddleware(crawler)
    parser = ProtegoRobotParser.from_crawler(crawler, b"User-agent: *\nDisallow: /admin/\n")
    forbidden = raised_by(lambda: robots.process_request_2(parser, Request(BASE + "admin/secret.html")))
    assert type(forbidden) is IgnoreRequest  # a bare IgnoreRequest: only its message tells robots.txt
    assert classify_failure(failed(forbidden)) == ROBOTS

    redirect = RedirectMiddleware.from_crawler(crawler)
    hop = Request(ARTICLE, meta={"redirect_times": 2, "redirect_ttl": 0})
    too_long = raised_by(lambda: redirect.process_response(
        hop, Response(ARTICLE, status=302, headers={"Location": BASE + "x.html"}, request=hop)))
    assert classify_failure(failed(too_long)) == REDIRECT_DROPPED

    offsite = OffsiteMiddleware.from_crawler(crawler)
    offsite.spider_opened(crawler.spider)
    elsewhere = raised_by(lambda: offsite.process_request(Request("https://www.example.com/x.html")))
    assert classify_failure(failed(elsewhere)) == OFFSITE

    compression = HttpCompressionMiddleware.from_crawler(crawler)
    bomb = Response(ARTICLE, headers={"Content-Encoding": "gzip"}, body=gzip.compress(b" " * 100_000))
    inflated_too_far = raised_by(lambda: compression.process_response(Request(ARTICLE), bomb))
    assert classify_failure(failed(inflated_too_far)) == OVERSIZE


# --- run_health ----------------------------------------------------------------------------------

def buckets(**counts: int) -> dict[str, int]:
    return {STATS_BUCKET + bucket: n for bucket, n in counts.items()}


def test_error_rate_is_over_attempts_not_requests():
    # 36 articles, 21 answering 500 through 3 retries each: 99 requests, 36 attempts.
    stats = {"accounting/attempts": 37, "downloader/request_count": 37 + 21 * 3,
             **buckets(listing=1, record=15, retries_exhausted=21)}
    health = run_health(stats)
    assert health["attempted"] == 37 and health["failed"] == 21
    assert health["error_rate"] == pytest.approx(21 / 37)
    assert health["error_rate"] > 0.2  # over RUN_MAX_ERROR_RATE; 21 / 100 requests would not be


def test_a_callback_exception_is_one_failure():
    stats = {"accounting/attempts": 3, "spider_exceptions/count": 1, "spider_exceptions/KeyError": 1,
             **buckets(listing=1, record=1, parse_failure=1)}
    assert run_health(stats)["failed"] == 1


def test_failures_are_the_failure_buckets_only():
    stats = {"accounting/attempts": len(FAILURE_BUCKETS) + 17, "accounting/article_missing": 1,
             "discovery/list_pages_with_links": 3,
             **buckets(**dict.fromkeys(FAILURE_BUCKETS, 1)),
             **buckets(broken_link=4, robots=1, offsite=1, redirect_dropped=1, duplicate=1, soft_404=1,
                       unreadable=1, id_conflict=1, unchanged=1, listing=3, record=2)}
    health = run_health(stats)
    assert health["failed"] == len(FAILURE_BUCKETS)
    assert set(health["failed_by_bucket"]) == set(FAILURE_BUCKETS)
    assert health["broken_links"] == 4 and health["article_missing"] == 1
    assert health["lists_with_links"] == 3
    assert health["balanced"]
    assert BROKEN_LINK not in FAILURE_BUCKETS and TRUNCATED in FAILURE_BUCKETS


def test_nothing_attempted():
    assert run_health({}) == {"attempted": 0, "failed": 0, "error_rate": 0.0, "failed_by_bucket": {},
                              "broken_links": 0, "article_missing": 0, "lists_with_links": 0,
                              "list_pages_failed": 0, "challenged": 0, "buckets": {}, "balanced": True}


# --- the extension: one bucket per attempt, the lists ---------------------------------------------

@pytest.fixture
def ledger():
    crawler = get_crawler(SiteSpider, {"ACCOUNTING_LIST_MAX": 2, "EXTENSIONS": {AccountingExtension: 0}})
    extension = crawler.get_extension(AccountingExtension)  # as the errbacks and the run report find it
    assert extension is not None
    return extension


def bucket_stats(extension: AccountingExtension) -> dict[str, int]:
    return {k[len(STATS_BUCKET):]: v for k, v in extension.crawler.stats.get_stats().items()
            if k.startswith(STATS_BUCKET) and v}


def test_escaped_exception_moves_the_attempt_to_parse_failure(ledger):
    response = HtmlResponse(BASE, request=Request(BASE))
    accounting.count(ledger.crawler, LISTING, response)
    for error in (KeyError("x"), KeyError("again")):  # as Scrapy's scraper sends it
        ledger.crawler.signals.send_catch_log(signal=signals.spider_error, failure=Failure(error),
                                              response=response, spider=None)
    ledger.item_scraped({}, response, None)  # a record of the same attempt, processed after
    assert bucket_stats(ledger) == {PARSE_FAILURE: 1}


def test_escaped_exception_before_any_bucket(ledger):
    response = HtmlResponse(ARTICLE, request=Request(ARTICLE))
    ledger.spider_error(Failure(KeyError("x")), response, None)
    ledger.item_dropped({}, response, accounting.DropRecord("invalid", PARSE_FAILURE), None)
    assert bucket_stats(ledger) == {PARSE_FAILURE: 1}


def test_escaped_exception_after_a_failure_bucket(ledger):
    request = Request(ARTICLE)
    accounting.record_failure(ledger.crawler, failed(DownloadTimeoutError(), request))
    errback_failure = failed(DownloadTimeoutError(), request)
    ledger.spider_error(Failure(KeyError("in the errback")), errback_failure, None)
    assert bucket_stats(ledger) == {RETRIES_EXHAUSTED: 1}


def test_records_are_counted(ledger):
    ledger.item_scraped({}, HtmlResponse(ARTICLE, request=Request(ARTICLE)), None)
    assert bucket_stats(ledger) == {RECORD: 1}


def test_broken_links_and_missing_articles_are_listed_and_bounded(ledger):
    crawler = ledger.crawler
    for n in range(3):
        accounting.record_failure(crawler, http_error(404, f"{BASE}c{n}/", linked_from=BASE), article=False)
    accounting.record_failure(crawler, http_error(410, ARTICLE, linked_from=BASE + "scyw/"), article=True)
    assert ledger.broken_links == [{"url": f"{BASE}c{n}/", "status": 404, "linked_from": BASE} for n in range(2)]
    assert ledger.broken_links_omitted == 1
    assert ledger.missing_articles == [{"url": ARTICLE, "status": 410, "linked_from": BASE + "scyw/"}]
    health = run_health(crawler.stats.get_stats())
    assert health["broken_links"] == 3 and health["article_missing"] == 1 and health["failed"] == 1


def test_attempt_notes_its_referer():
    crawler = get_crawler(SiteSpider)
    request = Request(SITEMAP, headers={"Referer": BASE + "scyw/20211103/2541288.html"})
    AccountingMiddleware(crawler).process_request(request)
    assert request.meta["linked_from"] == BASE + "scyw/20211103/2541288.html"
    assert crawler.stats.get_value("accounting/attempts") == 1


# --- truncated bodies ------------------------------------------------------------------------------

PAGE = article_html("截断的压缩文章").encode() * 3


def test_whole_streams_pass():
    assert gzip_problem(gzip.compress(PAGE)) is None
    assert gzip_problem(gzip.compress(PAGE) + gzip.compress(PAGE)) is None  # two members
    assert gzip_problem(gzip.compress(PAGE) + b"\x00\x00trailing junk") is None  # as gunzip allows
    assert deflate_problem(zlib.compress(PAGE)) is None
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    assert deflate_problem(raw.compress(PAGE) + raw.flush()) is None
    assert gzip_problem(PAGE) is None  # not gzip at all: HttpCompressionMiddleware's to judge


@pytest.mark.parametrize("cut", [0.5, 0.9, "trailer"])
def test_gzip_cut_short(cut):
    whole = gzip.compress(PAGE)
    body = whole[:-4] if cut == "trailer" else whole[: int(len(whole) * cut)]
    assert "cut short" in (gzip_problem(body) or "")


def test_gzip_second_member_cut_short_and_corrupt_checksum():
    whole = gzip.compress(PAGE)
    assert "member 2" in (gzip_problem(whole + whole[:40]) or "")
    corrupt = whole[:-8] + bytes([whole[-8] ^ 0xFF]) + whole[-7:]
    assert "corrupt" in (gzip_problem(corrupt) or "")


def test_deflate_cut_short():
    assert "cut short" in (deflate_problem(zlib.compress(PAGE)[:-30]) or "")
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    assert "cut short" in (deflate_problem((raw.compress(PAGE) + raw.flush())[:-30]) or "")


def test_scrapy_inflates_a_truncated_gzip_without_a_word():
    """Why the middleware exists: HttpCompressionMiddleware returns what it could inflate."""
    compression = HttpCompressionMiddleware.from_crawler(get_crawler(SiteSpider))
    body = gzip.compress(PAGE)
    truncated = Response(ARTICLE, headers={"Content-Encoding": "gzip"}, body=body[: len(body) // 2])
    inflated = compression.process_response(Request(ARTICLE), truncated)
    assert 0 < len(inflated.body) < len(PAGE)


def truncation_middleware(**settings: Any) -> TruncationMiddleware:
    crawler = get_crawler(SiteSpider, {"RETRY_TIMES": 2, "RETRY_BACKOFF_BASE": 0.01, **settings})
    crawler.spider = crawler._create_spider()
    return TruncationMiddleware.from_crawler(crawler)


def gzip_response(body: bytes, status: int = 200, flags: list[str] | None = None) -> Response:
    return Response(ARTICLE, status=status, headers={"Content-Encoding": "gzip"}, body=body, flags=flags)


def test_truncated_body_is_retried_then_dropped():
    middleware = truncation_middleware()
    body = gzip.compress(PAGE)[:200]
    request = Request(ARTICLE)
    for attempt in (1, 2):
        retry = middleware.process_response(request, gzip_response(body))
        assert isinstance(retry, Request) and retry.meta["retry_times"] == attempt
        request = retry
    with pytest.raises(TruncatedBody):
        middleware.process_response(request, gzip_response(body))
    failure = failed(raised_by(lambda: middleware.process_response(request, gzip_response(body))))
    assert classify_failure(failure) == TRUNCATED


def test_truncation_without_retries_and_what_passes():
    middleware = truncation_middleware(RETRY_ENABLED=False)
    whole = gzip.compress(PAGE)
    assert middleware.process_response(Request(ARTICLE), gzip_response(whole)).body == whole
    # Not a page that can become a record: left to HttpErrorMiddleware.
    answered = middleware.process_response(Request(ARTICLE), gzip_response(whole[:200], status=404))
    assert isinstance(answered, Response) and answered.status == 404
    with pytest.raises(TruncatedBody):
        middleware.process_response(Request(ARTICLE), gzip_response(whole[:200]))
    # DOWNLOAD_FAIL_ON_DATALOSS off: the handler flags the short body instead of failing it.
    short = Response(ARTICLE, body=PAGE[:100], flags=["dataloss"])
    with pytest.raises(TruncatedBody):
        middleware.process_response(Request(ARTICLE), short)


def test_truncation_middleware_sees_bodies_before_decompression():
    from crawler import settings as project_settings

    settings = Settings()
    settings.setmodule(project_settings)
    priorities = settings.get_component_priority_dict_with_base("DOWNLOADER_MIDDLEWARES")
    mine = priorities["crawler.downloadermiddlewares.truncation.TruncationMiddleware"]
    compression = DOWNLOADER_MIDDLEWARES_BASE["scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware"]
    assert mine == PRIORITY and compression == 590
    # Responses go through middlewares from the highest number down: this one right before compression.
    assert not [name for name, p in priorities.items() if p is not None and compression < p < mine]
    assert mine > compression
    assert settings.getbool("DOWNLOAD_FAIL_ON_DATALOSS")


# --- end to end -------------------------------------------------------------------------------

def logged_stats(log: str) -> dict[str, Any]:
    """The numeric stats of Scrapy's last ``Dumping Scrapy stats`` block in a run's log."""
    block = log[log.rindex("Dumping Scrapy stats:"):]
    block = block[: block.index("}\n") + 1] if "}\n" in block else block
    return {key: (float(value) if "." in value else int(value))
            for key, value in re.findall(r"^[{ ]'([^']+)': (-?\d+(?:\.\d+)?),?}?$", block, re.M)}


def final_manifest(output_dir: Path) -> dict[str, Any]:
    """The run's manifest: the highest ``seq`` of runs/*.json, else the last by name."""
    manifests = [json.loads(p.read_text("utf-8")) for p in sorted((output_dir / "runs").glob("*.json"))]
    assert manifests, "no manifest written"
    with_seq = [m for m in manifests if "seq" in m]
    return max(with_seq, key=lambda m: m["seq"]) if with_seq else manifests[-1]


MISSING_ARTICLE = "/scyw/20250829/2992286.html"  # linked first from the home page
FAILING_LIST_PAGE = "/azsf/index_1.html"  # page 2 of a channel, answering 500 whatever the retries


@pytest.fixture(scope="module")
def sitemap_missing_crawl(tmp_path_factory):
    with FixtureSite() as site:
        for path in ("/wzdt/index.html", "/wzdt/", MISSING_ARTICLE):
            site.put(path, None)  # now answers 404
        site.behaviours[FAILING_LIST_PAGE] = lambda handler, hits: _send(handler, 500, b"busy")
        result = run_crawl(site.base_url, tmp_path_factory.mktemp("missing"))
        requests = site.request_counts()
    return result, site.base_url, requests


def test_missing_sitemap_is_a_broken_link_not_a_failure(sitemap_missing_crawl):
    result, base, requests = sitemap_missing_crawl
    assert requests["/wzdt/index.html"] + requests["/wzdt/"] == 1
    health = run_health(logged_stats(result.log))
    assert health["broken_links"] == 1, result.log[-3000:]
    assert health["list_pages_failed"] == 1  # the list page answering 500; the broken link is not one
    assert health["balanced"]
    assert f"Broken link (broken_link): {base}wzdt/index.html answered 404, linked from {base}\n" in result.log
    buckets = final_manifest(result.output_dir)["accounting"]["buckets"]
    assert buckets.get("broken_link") == 1 and buckets.get("http_error") == 1, buckets
    assert buckets.get("retries_exhausted") == 1, buckets


def test_missing_article_is_one_failure_and_names_its_linking_page(sitemap_missing_crawl):
    result, base, _ = sitemap_missing_crawl
    health = run_health(logged_stats(result.log))
    assert health["article_missing"] == 1
    assert health["failed_by_bucket"] == {"http_error": 1, "retries_exhausted": 1}
    assert health["failed"] == 2  # one each: the failing list page's 4 requests are one attempt
    assert health["error_rate"] == pytest.approx(2 / health["attempted"])
    assert f"Request failed (http_error): {base}{MISSING_ARTICLE[1:]}: " in result.log
    assert f"(linked from {base})" in result.log
    assert health["lists_with_links"] >= 10


TRUNCATED_ALWAYS = "/trunc/20261120/3300001.html"
TRUNCATED_ONCE = "/trunc/20261120/3300002.html"


def _gzip_cut(title: str, always: bool):
    whole = gzip.compress(article_html(title).encode())

    def behaviour(handler, hits: int) -> None:
        body = whole[: len(whole) * 2 // 3] if always or hits == 1 else whole
        # Content-Length matches what is sent: only the gzip stream shows the cut.
        _send(handler, 200, body, {"Content-Type": UTF8, "Content-Encoding": "gzip"})
    return behaviour


def test_truncated_gzip_body_never_becomes_a_record(tmp_path):
    site = FixtureSite()
    site.behaviours[TRUNCATED_ALWAYS] = _gzip_cut("截断的压缩文章", always=True)
    site.behaviours[TRUNCATED_ONCE] = _gzip_cut("重试后完整的压缩文章", always=False)
    home = site.resources["/"]
    links = f'<a href="{TRUNCATED_ALWAYS}">截断</a><a href="{TRUNCATED_ONCE}">重试</a></body>'.encode()
    site.put("/", Resource(home.status, home.headers, home.body.replace(b"</body>", links)))
    with site:
        result = run_crawl(site.base_url, tmp_path, "-s", "RETRY_TIMES=2")
        requests = site.request_counts()
    titles = {r["title"] for r in result.records}
    assert "截断的压缩文章" not in titles, result.log[-3000:]
    assert "重试后完整的压缩文章" in titles  # a truncated body is retried
    assert requests[TRUNCATED_ALWAYS] == 3 and requests[TRUNCATED_ONCE] == 2
    health = run_health(logged_stats(result.log))
    assert health["failed_by_bucket"] == {"truncated": 1}, result.log[-3000:]
    assert f"Request failed (truncated): {site.base_url}{TRUNCATED_ALWAYS[1:]}: " in result.log
    assert final_manifest(tmp_path)["accounting"]["buckets"].get("truncated") == 1


def test_home_without_links_discovers_nothing(tmp_path):
    # A WAF's challenge page: 200, a script, no link.
    challenge = b"<html><head><script>document.cookie='x=1';location.reload();</script></head><body></body></html>"
    site = FixtureSite(cases=[])
    site.put("/", Resource(200, {"Content-Type": UTF8}, challenge))
    with site:
        result = run_crawl(site.base_url, tmp_path)
    health = run_health(logged_stats(result.log))
    # The challenge page is not read as a home without links: it fails, in the challenge bucket; the
    # /sitemap.xml probe (DISCOVERY_SITEMAPS) answers 404, which is no failure.
    assert health["attempted"] == 2 and health["failed_by_bucket"] == {"challenge": 1}
    assert health["lists_with_links"] == 0
    # Not a success: the run exits with its own code and is not complete.
    assert result.returncode == exitcodes.NO_LINKS, result.log[-2000:]
    assert final_manifest(tmp_path)["complete"] is False


def test_accounting_reads_the_exceptions_from_one_module_not_the_middlewares():
    """The exceptions the middlewares raise live in crawler/exceptions.py (as Scrapy keeps its own):
    the accounting that reads them imports no downloader middleware."""
    import ast
    from pathlib import Path

    import crawler.accounting
    from crawler import exceptions

    tree = ast.parse(Path(crawler.accounting.__file__).read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not any("downloadermiddlewares" in module for module in imported)
    assert all(getattr(exceptions, name).__module__ == "crawler.exceptions"
               for name in ("TruncatedBody", "RefusedRequest", "ChallengePage"))
