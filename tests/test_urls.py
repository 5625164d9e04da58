"""URL shapes: article and list page recognition, canonicalization, scope."""

from __future__ import annotations

import pytest

from crawler.extract.urls import (
    article_ref,
    extension,
    is_attachment,
    list_page,
    onto_page_site,
    resolve_href,
    same_site,
)

BASE = "https://www.sichuanpeace.gov.cn/"


@pytest.mark.parametrize("url", [
    "https://www.sichuanpeace.gov.cn/scyw/20211103/2541288.html",
    "http://www.sichuanpeace.gov.cn/scyw/20211103/2541288.html",
    "https://www.sichuanpeace.gov.cn/scyw/20211103/2541288.html?from=timeline",
    "https://sichuanpeace.gov.cn/scyw/20211103/2541288.html#top",
])
def test_variants_of_one_article_are_one_url(url):
    ref = article_ref(url, BASE)
    assert ref is not None and ref.date is not None
    assert ref.url == "https://www.sichuanpeace.gov.cn/scyw/20211103/2541288.html"
    assert (ref.id, ref.channel, ref.date.isoformat()) == ("2541288", "scyw", "2021-11-03")


def test_legacy_article_has_no_channel_and_keeps_its_id():
    ref = article_ref("http://www.sichuanpeace.gov.cn/system/20170605/000451520.html", BASE)
    assert ref is not None
    assert (ref.id, ref.channel) == ("000451520", None)


@pytest.mark.parametrize("url", [
    "https://www.sichuanpeace.gov.cn/scyw/", "https://www.sichuanpeace.gov.cn/scyw/index_2.html",
    "https://www.sichuanpeace.gov.cn/scyw/20211399/2541288.html",  # impossible date
    "https://www.sichuanpeace.gov.cn/sccaw/u_yhscwj/202106/151712456n7y.jpg",
])
def test_not_articles(url):
    assert article_ref(url, BASE) is None


def test_list_pages():
    assert list_page("https://x/scyw/") == ("scyw", 0)
    assert list_page("https://x/scyw/index.html?x=1") == ("scyw", 0)
    assert list_page("https://x/scyw/index_12.html") == ("scyw", 12)
    assert list_page("https://x/sccaw/") is None
    assert list_page("https://x/scyw/20211103/2541288.html") is None


@pytest.mark.parametrize("href", ["javascript:void(0)", "mailto:a@b.c", "tel:1", "", "  ", "#x",
                                  "data:text/html,x", "file:///etc/passwd", "ftp://h/x"])
def test_never_followed_hrefs(href):
    assert resolve_href(href, BASE) is None


def test_host_rules():
    assert same_site("http://sichuanpeace.gov.cn/a", "www.sichuanpeace.gov.cn")
    assert not same_site("https://www.chengdupeace.gov.cn/a", "www.sichuanpeace.gov.cn")
    assert same_site("http://127.0.0.1:8080/a", "127.0.0.1")


@pytest.mark.parametrize("url", [
    "http://www.sichuanpeace.gov.cn/uploads/file.pdf", "/uploads/FILE.DOCX", "file.xls",
    "http://x.cn/a.pdf?v=1.2", "http://x.cn/a.pdf#page.3", "/a.zip?x=1&y=2.5#top",
])
def test_attachment_links(url: str) -> None:
    assert is_attachment(url)


@pytest.mark.parametrize("url", [
    "http://www.sichuanpeace.gov.cn/scyw/20240101/123456.html", "/a/b.html?f=x.pdf", "/a.pdf/b",
    "http://example.pdf", "http://example.pdf/", "index", "/a/b.c/d", "http://x.cn/a.html#b.zip",
    "http://x.cn/a.htm?name=report.doc",
])
def test_not_attachment_links(url: str) -> None:
    assert not is_attachment(url)
    assert extension(url) not in {"pdf", "doc", "docx", "xls", "zip"}


@pytest.mark.parametrize(("url", "page_url", "expected"), [
    # On the page's site (www. and bare host are one): moved onto the page's scheme and authority.
    ("https://sichuanpeace.gov.cn/a/b.jpg?x=1", "http://www.sichuanpeace.gov.cn:8080/p.html",
     "http://www.sichuanpeace.gov.cn:8080/a/b.jpg?x=1"),
    ("http://WWW.Sichuanpeace.gov.cn/a.png", "https://sichuanpeace.gov.cn/p.html", "https://sichuanpeace.gov.cn/a.png"),
    # Elsewhere: left as it is.
    ("http://img.cdn.cn/a.jpg", "http://www.sichuanpeace.gov.cn/p.html", "http://img.cdn.cn/a.jpg"),
])
def test_onto_page_site(url: str, page_url: str, expected: str) -> None:
    assert onto_page_site(url, page_url) == expected
