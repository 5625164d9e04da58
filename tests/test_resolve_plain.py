"""The plain-href shortcut of ``resolve_href`` is exact: wherever it answers, the general path
(``urljoin`` + w3lib ``safe_url_string`` + split and join) answers the same.

Both are run on every href and src of every page of tests/realpages, tests/fixtures and 200
synthetic mirror pages (with their list, home and site-map pages), each against its page URL and
its origin (``resolve_href`` passes the origin for absolute and root-relative hrefs), and on a
generated set of tricky hrefs against tricky page URLs.
"""

from __future__ import annotations

import itertools

import lxml.html
import pytest

from bench.extract_equivalence import pages, synthetic
from crawler.extract.urls import _resolve, _resolve_general, _resolve_plain, origin_of, resolve_href

MIRROR_ARTICLES = 200


def _hrefs(body: bytes) -> list[str]:
    try:
        tree = lxml.html.fromstring(body)
    except (ValueError, lxml.etree.ParserError):
        return []
    return [str(value) for value in tree.xpath("//@href | //@src")]


@pytest.fixture(scope="module")
def corpus_links() -> list[tuple[str, str]]:
    """(href as resolve_href passes it, page URL) of every link of the corpus pages."""
    links: list[tuple[str, str]] = []
    for _name, body, url, _ctype, _base in itertools.chain(pages(), synthetic(MIRROR_ARTICLES)):
        links.extend((href.strip(), url) for href in _hrefs(body))
    return links


def _same(href: str, base: str) -> str | None:
    """The shortcut's answer where it gives one, checked against the general path's."""
    plain = _resolve_plain(href, base)
    general = _resolve_general(href, base)
    if plain is not None:
        assert plain == general, (href, base)
    assert (plain or general) == general, (href, base)
    return plain


def test_corpus_links_resolve_alike_on_both_paths(corpus_links):
    answered = 0
    for href, url in corpus_links:
        for base in (url, origin_of(url)):
            answered += _same(href, base) is not None
    # The shortcut is not idle: most links of the corpus take it.
    assert len(corpus_links) > 5000
    assert answered > len(corpus_links)


def test_resolve_href_is_unchanged_on_corpus_links(corpus_links):
    """resolve_href (shortcut and cache) against the general path, as resolve_href called it before."""
    for href, url in corpus_links:
        assert resolve_href(href, url) == _general_resolve_href(href, url), (href, url)


def _general_resolve_href(href: str, url: str) -> str | None:
    href = href.strip()
    if not href or href.startswith("#"):
        return None
    scheme = href.split(":", 1)[0].lower() if ":" in href.split("/", 1)[0] else ""
    if scheme and scheme not in ("http", "https"):
        return None
    if href.startswith(("http://", "https://", "//", "/")):
        return _resolve_general(href, origin_of(url))
    return _resolve_general(href, url)


# Page URLs: plain ones, and each way a page URL can leave the shortcut or change under w3lib.
TRICKY_BASES = [
    "https://www.sichuanpeace.gov.cn/scyw/20211103/2541288.html",
    "https://www.sichuanpeace.gov.cn/scyw/", "http://h.cn/a/b/c/d/e.html", "http://h.cn/a.html?x=1",
    "https://www.sichuanpeace.gov.cn",
    "http://127.0.0.1:8000/scyw/index_2.html?from=x#top",
    "http://127.0.0.1:80/a/b.html", "https://h.cn:443/a/b.html", "http://h.cn:8080/a/", "http://h.cn:/a/",
    "http://h.cn:080/a/", "http://h.cn:99999/a/", "http://h.cn:x/a/",
    "HTTP://WWW.Sichuanpeace.GOV.cn/A/b.html", "http://www.sichuanpeace.gov.cn./a/",
    "http://user:pw@h.cn/a/b.html", "http://@h.cn/a/", "http://例子.中国/新闻/a.html", "http://xn--fsqu00a.xn--fiqs8s/a/",
    "http://0x7f.1/a/", "http://127.1/a/", "http://1.2.3.256/a/", "http://[::1]/a/", "http://h.cn/a//b/c.html",
    "http://h.cn/a/../b/c.html", "http://h.cn/a/./b/", "http://h.cn/a/%E6%96%B0/c.html", "http://h.cn/a b/c.html",
    "http://h.cn/a;p/b;q", "http://h.cn\\a/b.html", "http://h.cn/a\\b/c.html", "http:///h.cn/a/", "http:h.cn/a/",
    "ftp://h.cn/a/", "file:///etc/", "h.cn/a/", "", "https://h.cn/.well-known/x", "http://h.cn/a/..",
    "http://-h.cn/a/", "http://h..cn/a/", "http://" + "a" * 64 + ".cn/a/", "http://h.cn/a/?", "http://h.cn/a/#",
]

_PATHS = ["", "a.html", "b/c.html", "/", "/a.html", "/scyw/20211103/2541288.html", "a/", "index_2.html",
          "..", "../a.html", "./a.html", ".", "a/../b", "a/./b", "/a/../../b", "a//b", "/a//b", ".hidden",
          "a%20b", "a%zz", "%2e%2e/a", "a b", " a", "a\tb", "a\nb", "新闻/a.html", "a\\b", "\\a", "a;p",
          "a:b", "a@b", "a'b", "a|b", "a[b]", "a{b}", "a^b", "a`b", 'a"b', "a<b>", "~a!$&()*+,=-_.b", "A.HTML",
          "\ud800", "a\x00b", "a\x7fb", "http", "httpa.html", "https", "http.html", "../../a.html",
          "../../../../../a/b.html", "./../a/", "../", "./", ".././b", "../a//b", "../.a", "../..", "..//a",
          ".//a", "../a/../b", "...", ".../a", "..a/b", "../?x", "./?x", "../#x", "/a/b//", "//a"]
_QUERIES = ["", "?", "?x=1", "?x=1&y=2", "?a=b?c/d", "?x=1:2", "?x='y'", "?x=%41", "?x=新", "?x y", "?x=1;y",
            "?x=a@b", "?x=/../", "?x=\\", "?u=http://g.cn/a.jpg&w=1", "?:", "?@", "?x=[1]", "?x=<y>"]
_FRAGMENTS = ["", "#", "#top", "#新", "#a b", "#\ud800"]
_PREFIXES = ["", "http://h.cn", "https://h.cn", "//h.cn", "http://H.CN", "http://h.cn:80", "https://h.cn:443",
             "http://h.cn:8080", "http://h.cn:", "//u:p@h.cn", "http://u@h.cn", "http://例子.中国", "http://xn--fsqu00a.xn--fiqs8s",
             "http://127.1", "http://[::1]", "http://h.cn\\", "http:", "https:", "http:/", "http:///h.cn", "HTTP://h.cn",
             "//", "///h.cn", "http://h.cn?x", "http://h.cn#x", "ftp://h.cn", "javascript:", "http://-h.cn",
             "http://h..cn", "http://" + "a" * 64 + ".cn", "http://h.cn.", "http://0x7f.1"]


def _tricky_hrefs() -> list[str]:
    hrefs = set()
    for prefix, path in itertools.product(_PREFIXES, _PATHS):
        joined = prefix + path if not prefix or path[:1] in ("", "/") else f"{prefix}/{path}"
        hrefs.add(joined)
        if prefix in ("", "http://h.cn", "//h.cn"):
            # Each query alone and with a fragment, each fragment alone and after a query.
            hrefs.update(joined + query + fragment for query in _QUERIES for fragment in ("", "#top"))
            hrefs.update(joined + query + fragment for query in ("", "?x=1") for fragment in _FRAGMENTS)
    return sorted(hrefs)


def test_tricky_hrefs_resolve_alike_on_both_paths():
    hrefs = _tricky_hrefs()
    assert len(hrefs) > 5000
    answered = 0
    for href, base in itertools.product(hrefs, TRICKY_BASES):
        answered += _same(href, base) is not None
    assert answered > 1000


@pytest.mark.parametrize(("href", "base", "expected"), [
    # What the shortcut answers, as the general path did.
    ("b.html?x=1", "http://h.cn/a/c.html?y=2#z", "http://h.cn/a/b.html?x=1"),
    ("/b/", "https://h.cn:8080/a/c.html", "https://h.cn:8080/b/"),
    ("//g.cn", "https://h.cn/a/", "https://g.cn/"),
    ("http://g.cn/x/y.pdf", "https://h.cn/a/", "http://g.cn/x/y.pdf"),
    ("../../i/x.jpg", "http://h.cn/a/b/c/d.html", "http://h.cn/a/i/x.jpg"),
    ("./../../../x.jpg", "http://h.cn/a/b.html", "http://h.cn/x.jpg"),
    ("/u//x.jpg?u=http://g.cn/y@z", "http://h.cn/a/", "http://h.cn/u//x.jpg?u=http://g.cn/y@z"),
    # What it leaves to the general path: dot segments, escapes, case, default ports, fragments.
    ("a/../b.html", "http://h.cn/a/c/d.html", "http://h.cn/a/c/b.html"),
    ("b//c.html", "http://h.cn/a/", "http://h.cn/a/b/c.html"),
    ("b%20c.html", "http://h.cn/a/", "http://h.cn/a/b%20c.html"),
    ("新.html", "http://h.cn/a/", "http://h.cn/a/%E6%96%B0.html"),
    ("http://H.CN/x", "http://h.cn/", "http://h.cn/x"),
    ("b.html#top", "http://h.cn/a/", "http://h.cn/a/b.html"),
    ("?x=1", "http://h.cn/a/c.html?y=2", "http://h.cn/a/c.html?x=1"),
])
def test_resolve_examples(href, base, expected):
    assert _resolve(href, base) == expected
    assert _resolve_general(href, base) == expected
