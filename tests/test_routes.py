"""The spider's request kinds (crawler/spiders/routes.py): one builder, each kind's route as data."""

from __future__ import annotations

import ast
import inspect

import pytest
from scrapy.utils.request import request_from_dict
from scrapy.utils.test import get_crawler

from crawler.spiders.routes import (
    PRIORITY_ARTICLE,
    PRIORITY_CHANNEL,
    PRIORITY_NEXT_PAGE,
    ROUTES,
    Dedupe,
    RequestKind,
    build_request,
)
from crawler.spiders.sichuanpeace import SichuanpeaceSpider
from crawler.state.history import History
from tests.fakes import KnownIds

BASE = "http://127.0.0.1:8000/"


@pytest.fixture
def spider():
    spider = SichuanpeaceSpider.from_crawler(get_crawler(SichuanpeaceSpider), base_url=BASE)
    spider._history = History(KnownIds(set()), spider.site)  # a crawl's store, asked by Scrapy's serialiser
    return spider


def test_every_kind_has_a_route():
    assert set(ROUTES) == set(RequestKind)


@pytest.mark.parametrize("kind", list(RequestKind))
def test_each_kind_maps_to_a_callback_and_an_errback_of_the_spider(spider, kind):
    route = ROUTES[kind]
    request = build_request(spider, kind, BASE + "x.html")
    assert request.callback == getattr(spider, route.callback) and callable(request.callback)
    assert request.errback == getattr(spider, route.errback) and callable(request.errback)
    assert request.priority == route.priority
    assert request.dont_filter == (route.dedupe is not Dedupe.FILTER)  # own_dedupe: a crawl of its own
    # A JOBDIR keeps it on disk: it comes back with the same callback and errback.
    again = request_from_dict(request.to_dict(spider=spider), spider=spider)
    assert (again.callback, again.errback, again.priority) == (request.callback, request.errback, request.priority)


def test_articles_go_before_the_next_list_page_before_new_channels():
    assert ROUTES[RequestKind.ARTICLE].priority == PRIORITY_ARTICLE > PRIORITY_NEXT_PAGE > PRIORITY_CHANNEL
    assert ROUTES[RequestKind.NEXT_PAGE].priority == PRIORITY_NEXT_PAGE
    assert {ROUTES[k].priority for k in (RequestKind.PENDING, RequestKind.RECHECK, RequestKind.RECHECK_REDIRECT)} == {
        PRIORITY_ARTICLE}


def test_a_fleet_keeps_its_shared_duplicate_filter_for_list_pages_sitemaps_and_feeds(spider):
    spider.own_dedupe = False
    for kind in RequestKind:
        route = ROUTES[kind]
        assert build_request(spider, kind, BASE).dont_filter == (route.dedupe is Dedupe.ONCE), kind


def test_a_route_meta_is_a_copy_for_each_request_and_the_caller_adds_to_it(spider):
    first = build_request(spider, RequestKind.RECHECK, BASE + "a.html", meta={"recheck_id": "1"},
                          headers={"If-None-Match": '"x"'}, cb_kwargs={"list_channel": "scyw"})
    first.meta["handle_httpstatus_list"].append(500)
    second = build_request(spider, RequestKind.RECHECK, BASE + "b.html")
    assert first.meta["recheck"] and first.meta["dont_redirect"] and first.meta["recheck_id"] == "1"
    assert 500 not in second.meta["handle_httpstatus_list"] and "recheck_id" not in second.meta
    assert first.headers.get("If-None-Match") == b'"x"' and first.cb_kwargs == {"list_channel": "scyw"}
    assert build_request(spider, RequestKind.RECHECK_REDIRECT, BASE).meta["accounted"] is True
    assert 404 in build_request(spider, RequestKind.SITEMAP, BASE).meta["handle_httpstatus_list"]


def test_the_spider_makes_no_request_but_through_the_builder():
    from crawler.spiders import sichuanpeace
    calls = [node for node in ast.walk(ast.parse(inspect.getsource(sichuanpeace))) if isinstance(node, ast.Call)]
    made = [ast.unparse(call.func) for call in calls
            if (isinstance(call.func, ast.Attribute) and call.func.attr in ("Request", "FormRequest"))
            or (isinstance(call.func, ast.Name) and call.func.id in ("Request", "FormRequest"))]
    assert made == []
    assert any(isinstance(call.func, ast.Name) and call.func.id == "build_request" for call in calls)
