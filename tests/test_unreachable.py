"""A site that cannot be reached at all (DNS lookup failed, connection refused) ends the run at once
with one line, exit code 4; once the site has answered, the same errors are retried with backoff."""

from __future__ import annotations

import asyncio
import time
from unittest import mock

import pytest
from scrapy import Request
from scrapy.exceptions import CannotResolveHostError, DownloadConnectionRefusedError, DownloadTimeoutError
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler
from twisted.internet import error as tx_error

from crawler import exitcodes
from crawler.downloadermiddlewares.retry import BackoffRetryMiddleware, unreachable_reason
from crawler.exceptions import Unreachable
from crawler.spiders.sichuanpeace import SichuanpeaceSpider
from tests import consumer
from tests.utils.cmdline import crawl
from tests.utils.net import free_port


@pytest.mark.parametrize("exception, reason", [
    (CannotResolveHostError("no results"), "DNS lookup failed"),
    (tx_error.DNSLookupError("no results"), "DNS lookup failed"),
    (DownloadConnectionRefusedError("111"), "connection refused"),
    (tx_error.ConnectionRefusedError(), "connection refused"),
    (tx_error.NoRouteError(), "no route to host"),
    (DownloadTimeoutError("60 s"), None),
    (tx_error.ConnectionLost(), None),
])
def test_unreachable_reason(exception, reason):
    assert unreachable_reason(exception) == reason


def _middleware() -> BackoffRetryMiddleware:
    crawler = get_crawler(SichuanpeaceSpider, {"RETRY_TIMES": 3, "RETRY_BACKOFF_BASE": 5.0, "RETRY_BACKOFF_MAX": 300.0})
    crawler.spider = SichuanpeaceSpider.from_crawler(crawler)
    return BackoffRetryMiddleware.from_crawler(crawler)


def test_refused_before_any_answer_is_not_retried_and_ends_the_run():
    asyncio.run(_refused_before_any_answer())


async def _refused_before_any_answer() -> None:
    middleware = _middleware()
    middleware.crawler.engine = engine = mock.Mock(close_spider_async=mock.AsyncMock())
    with pytest.raises(Unreachable, match="cannot reach www.sichuanpeace.gov.cn: connection refused"):
        middleware.process_exception(Request("https://www.sichuanpeace.gov.cn/robots.txt"),
                                     DownloadConnectionRefusedError("111"))
    # The home page, waiting for robots.txt, is not asked for at all.
    with pytest.raises(Unreachable):
        await middleware.process_request(Request("https://www.sichuanpeace.gov.cn/"))
    await asyncio.sleep(0)
    engine.close_spider_async.assert_called_once_with(reason="unreachable")


@pytest.mark.parametrize("exception", [DownloadConnectionRefusedError("111"), CannotResolveHostError("no results"),
                                       DownloadTimeoutError("60 s")])
def test_after_an_answer_the_same_errors_are_retried_with_backoff(exception):
    middleware = _middleware()
    home = Request("https://www.sichuanpeace.gov.cn/")
    middleware.process_response(home, HtmlResponse(home.url, body=b"<html></html>", request=home))
    retry = middleware.process_exception(Request("https://www.sichuanpeace.gov.cn/scyw/"), exception)
    assert isinstance(retry, Request) and retry.meta["retry_delay"] > 0


def test_a_timeout_is_retried_even_before_any_answer():
    middleware = _middleware()
    retry = middleware.process_exception(Request("https://www.sichuanpeace.gov.cn/"), DownloadTimeoutError("60 s"))
    assert isinstance(retry, Request)


@pytest.mark.parametrize("where, line", [
    ("refused", "cannot reach 127.0.0.1: connection refused (exit 4)"),
    # RFC 6761: .invalid never resolves; no network needed.
    ("dns", "cannot reach www.sichuanpeace.invalid: DNS lookup failed (exit 4)"),
])
def test_unreachable_site_ends_the_run_at_once_with_one_line(tmp_path, where, line):
    base_url = f"http://127.0.0.1:{free_port()}/" if where == "refused" else "http://www.sichuanpeace.invalid/"
    # The live site's defaults: its delay and backoff (97 s before, offline).
    started = time.monotonic()
    done = crawl(base_url, tmp_path, "-s", "DOWNLOAD_DELAY=2", "-s", "AUTOTHROTTLE_ENABLED=True")
    took = time.monotonic() - started
    print(f"\n{where}: exit {done.returncode} after {took:.1f} s")
    assert done.returncode == exitcodes.FETCHED_NOTHING
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].endswith(line), done.stderr
    final = consumer.final(tmp_path)
    assert final["exit_code"] == exitcodes.FETCHED_NOTHING and final["complete"] is False
    assert final["accounting"]["balanced"], final["accounting"]
    assert took < 60, "retried with backoff (97 s before)"
