"""Listing extraction on the saved home, site-map and list pages: links, channels, next page."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from crawler.extract.listing import parse_listing
from tests.fixture_cases import REAL_BASE, load_cases

LISTINGS = load_cases("listing") + load_cases("home") + load_cases("sitemap")


def listing_of(case):
    return parse_listing(case.body, case.url, "www.sichuanpeace.gov.cn", REAL_BASE + "/", case.content_type)


@pytest.mark.parametrize("case", LISTINGS, ids=lambda c: c.name)
def test_article_links(case):
    paths = sorted(urlsplit(a.url).path for a in listing_of(case).articles)
    assert paths == sorted(case.expected["article_paths"])


@pytest.mark.parametrize("case", LISTINGS, ids=lambda c: c.name)
def test_channel_links(case):
    assert sorted(f"/{slug}/" for slug in listing_of(case).channels) == sorted(case.expected["channel_paths"])


@pytest.mark.parametrize("case", LISTINGS, ids=lambda c: c.name)
def test_next_page(case):
    next_page = listing_of(case).next_page
    assert (urlsplit(next_page).path if next_page else None) == case.expected["next_page_path"]


@pytest.mark.parametrize("case", [c for c in LISTINGS if c.kind == "listing"], ids=lambda c: c.name)
def test_channel_name_from_breadcrumb(case):
    assert listing_of(case).channel_name == case.expected["channel_name"]


def test_article_links_are_canonical():
    home = next(c for c in LISTINGS if c.kind == "home")
    for article in listing_of(home).articles:
        parts = urlsplit(article.url)
        assert parts.scheme == "https" and not parts.query and not parts.fragment


def test_bad_hrefs_do_not_cost_the_other_links():
    html = """<html><body>
    <a href="javascript:void(0)">x</a><a href="mailto:a@b.c">m</a><a href="tel:123">t</a><a href="">e</a>
    <a href="#top">f</a><a href="http://[bad">broken</a><a href="//www.gov.cn/x.html">off</a>
    <a href="ftp://www.sichuanpeace.gov.cn/a.html">ftp</a><a href="/sccaw/u_yhscwj/202106/a.jpg">img</a>
    <a href="  /scyw/20240101/2900001.html  ">ok1</a><a href="../szdt/20240102/2900002.html?from=home#c">ok2</a>
    </body></html>"""
    listing = parse_listing(html, REAL_BASE + "/scyw/index.html", "www.sichuanpeace.gov.cn", REAL_BASE + "/")
    assert [urlsplit(a.url).path for a in listing.articles] == [
        "/scyw/20240101/2900001.html", "/szdt/20240102/2900002.html"]


def test_pager_script_on_last_page_has_no_next():
    html = '<script>createPageHTML(3, 2, "index", "html");</script>'
    listing = parse_listing(html, REAL_BASE + "/azsf/index_2.html", "www.sichuanpeace.gov.cn", REAL_BASE + "/")
    assert listing.next_page is None
