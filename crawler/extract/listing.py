"""Listing extraction (home page, channel list pages, 网站地图 / 网站栏目): links in, no Scrapy.

Every page the crawler parses is read as a listing: its article links, its channel links, the
site-map links, and the next page of its own list, whichever pagination form the page uses
(a 下一页 link, numbered ``index_N.html`` links, or a ``createPageHTML(total, current, ...)``
script pager). Links of another URL shape become candidate articles (``other_articles``) only when
the page's structure puts them in its article list (``crawler/rules/discovery.py``); the feeds a
page announces (``<link rel="alternate" type="application/rss+xml">``) are listed too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit

from lxml import etree

from ..rules import discovery as D
from .page import HtmlPage, element_text, load_page
from .urls import (
    ArticleRef,
    article_ref,
    is_page_candidate,
    list_page,
    other_page_ref,
    page_url,
    resolve_href,
    same_site,
)

# TRS-style pager script: createPageHTML(total_pages, current_page, "index", "html").
# Its fourth argument is the pages' extension: a sister site serving .shtml pages says "shtml".
PAGER_SCRIPT_RE = re.compile(r"createPageHTML\s*\(\s*['\"]?(?P<total>\d+)['\"]?\s*,\s*['\"]?(?P<current>\d+)['\"]?"
                             r"(?:\s*,\s*['\"]\w*['\"]\s*,\s*['\"](?P<ext>s?html?)['\"])?")
# Link texts of a "next page" control.
NEXT_TEXTS = frozenset({"下一页", "下页", "后一页", "下一页>", "下一页>>", "next", ">", ">>"})
# Link texts of the site-map pages that may list every channel.
SITEMAP_TEXTS = frozenset({"网站地图", "网站栏目", "栏目导航"})
# Breadcrumb on a list page: 您的位置:首页 > 四川要闻
BREADCRUMB_RE = re.compile(r"(?:您的位置|当前位置|所在位置)\s*[:：]?\s*(?:网站)?首页\s*(?:>|›|»|＞|&gt;)\s*"
                           r"(?P<name>[^>›»＞\s]{2,20})")


@dataclass
class ListedArticle:
    """An article link: what its canonical URL says (id, channel, date), and the link text."""

    ref: ArticleRef
    title: str
    date: date | None = None  # a date written beside the link in its list entry

    @property
    def url(self) -> str:
        return self.ref.url


@dataclass
class Listing:
    """What a listing page links to."""

    articles: list[ListedArticle] = field(default_factory=list)
    # Links of another URL shape in the page's article list: candidates, articles if their page says so.
    other_articles: list[ListedArticle] = field(default_factory=list)
    feeds: list[str] = field(default_factory=list)  # RSS/Atom feeds the page announces
    channels: dict[str, str] = field(default_factory=dict)  # channel slug -> first link URL
    channel_names: dict[str, str] = field(default_factory=dict)  # channel slug -> link text
    sitemaps: list[str] = field(default_factory=list)
    next_page: str | None = None
    page: int | None = None  # this page's number in its channel list, when it is a list page
    channel_name: str | None = None  # from the page's breadcrumb


def _next_from_pager_script(text: str, url: str) -> str | None:
    match = PAGER_SCRIPT_RE.search(text)
    if not match:
        return None
    total, current = int(match["total"]), int(match["current"])
    return page_url(url, current + 1, match["ext"] or "html") if current + 1 < total else None


def parse_listing(content: bytes | str | HtmlPage, url: str, site_host: str, base_url: str,
                  content_type: str | None = None) -> Listing:
    """Links of a listing page; hrefs that are off-site, non-HTTP or media are dropped."""
    page = load_page(content, content_type)
    listing = Listing()
    here = list_page(url)
    if here:
        listing.page = here[1]
    if page.tree is None:
        return listing
    tree, text = page.tree, page.text
    link_base = page.link_base(url)

    numbered: dict[int, str] = {}
    seen_articles: set[str] = set()
    article_anchors: list[tuple[etree._Element, str]] = []
    other_anchors: list[tuple[etree._Element, str, str]] = []
    for anchor in tree.iter("a"):
        href = resolve_href(anchor.get("href"), link_base)
        if href is None or not same_site(href, site_host) or not is_page_candidate(href):
            continue
        label = " ".join(element_text(anchor).split())
        ref = article_ref(href, base_url)
        if ref is not None:
            article_anchors.append((anchor, ref.url))
            if ref.url not in seen_articles:
                seen_articles.add(ref.url)
                listing.articles.append(ListedArticle(ref=ref, title=label or anchor.get("title", "")))
            continue
        if label in SITEMAP_TEXTS:
            listing.sitemaps.append(href)
        target = list_page(href)
        if target is None:
            other_anchors.append((anchor, href, label or anchor.get("title", "")))
            continue
        channel, number = target
        if here and channel == here[0]:
            if label.lower() in NEXT_TEXTS and number > here[1]:
                listing.next_page = page_url(href, number)
            elif number > 0:
                numbered.setdefault(number, page_url(href, number))
        if number == 0:
            listing.channels.setdefault(channel, href)
            if label and len(label) <= 20:
                listing.channel_names.setdefault(channel, label)

    if here and listing.next_page is None:
        listing.next_page = _next_from_pager_script(text, url)
        if listing.next_page is None:
            later = sorted(p for p in numbered if p > here[1])
            listing.next_page = numbered[later[0]] if later else None
    listing.other_articles = _other_articles(article_anchors, other_anchors, url, base_url)
    listing.feeds = _feeds(tree, link_base, site_host)
    if here:  # only a list page names its channel (an article page's breadcrumb is read by parse_article)
        crumb = BREADCRUMB_RE.search(" ".join(element_text(tree).split()))
        if crumb:
            listing.channel_name = crumb["name"]
    return listing


def _feeds(tree: etree._Element, link_base: str, site_host: str) -> list[str]:
    """On-site RSS/Atom feeds the page announces with ``<link rel="alternate" type=...>``."""
    feeds: list[str] = []
    for link in tree.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").strip().lower()
        if "alternate" not in rel or kind not in D.FEED_TYPES:
            continue
        href = resolve_href(link.get("href"), link_base)
        if href is not None and same_site(href, site_host) and href not in feeds:
            feeds.append(href)
    return feeds


def _is_chrome(element: etree._Element) -> bool:
    """True when the element or an ancestor is navigation, header, footer, pager or the like."""
    for node in element.iterancestors():
        if node.tag in D.CHROME_TAGS:
            return True
        names = f"{node.get('class') or ''} {node.get('id') or ''}".strip()
        if names and D.CHROME_NAME_RE.search(names):
            return True
    return False


def _signature(element: etree._Element) -> tuple[str, str]:
    """What makes list entries siblings of one kind: their tag and class."""
    return str(element.tag), " ".join((element.get("class") or "").split())


def _items(anchors: list[tuple[etree._Element, str]]) -> dict[etree._Element, etree._Element]:
    """Each anchor's list entry: its highest ancestor that holds no link to another page of interest.

    The entry's parent is the list: for ``<ul><li><a/><span>date</span></li>...</ul>`` an anchor's
    entry is its ``li``; for links written straight into a ``div`` between ``<br>``, the anchor itself.
    """
    hrefs_under: dict[etree._Element, set[str]] = {}
    for anchor, href in anchors:
        for node in (anchor, *anchor.iterancestors()):
            hrefs_under.setdefault(node, set()).add(href)
    items = {}
    for anchor, href in anchors:
        item = anchor
        parent = item.getparent()
        while parent is not None and parent.tag not in ("body", "html") and hrefs_under[parent] == {href}:
            item, parent = parent, parent.getparent()
        items[anchor] = item
    return items


def _listed_date(item: etree._Element) -> date | None:
    match = D.LIST_DATE_RE.search(element_text(item))
    if not match:
        return None
    try:
        return date(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError:
        return None


def _other_articles(article_anchors: list[tuple[etree._Element, str]],
                    other_anchors: list[tuple[etree._Element, str, str]], url: str,
                    base_url: str) -> list[ListedArticle]:
    """Links of another shape that the page's structure puts in its article list.

    A link is a candidate when its list entry is a sibling of an article-shaped link's entry (same
    list, same tag and class), or when it sits in a list of at least ``MIN_DATED_ENTRIES`` entries of
    one kind that each carry a date beside the link; never inside navigation, header, footer or
    pager (``crawler/rules/discovery.py``), never a short control text, at most
    ``OTHER_ARTICLES_MAX_PER_PAGE`` per page.
    """
    others = [(a, href, label) for a, href, label in other_anchors
              if len(label) >= D.OTHER_TITLE_MIN_CHARS and not D.INDEX_PATH_RE.search(urlsplit(href).path)
              and not _is_chrome(a)]
    if not others:
        return []
    items = _items(article_anchors + [(a, href) for a, href, _ in others])
    article_lists: dict[etree._Element, set[tuple[str, str]]] = {}
    for anchor, _ in article_anchors:
        item = items[anchor]
        if item.getparent() is not None:
            article_lists.setdefault(item.getparent(), set()).add(_signature(item))
    dated: dict[tuple[etree._Element, tuple[str, str]], int] = {}
    entries = []
    for anchor, href, label in others:
        item = items[anchor]
        parent = item.getparent()
        if item.tag not in D.LIST_ITEM_TAGS or parent is None:
            continue
        day = _listed_date(item)
        key = (parent, _signature(item))
        if day is not None:
            dated[key] = dated.get(key, 0) + 1
        entries.append((key, href, label, day))
    found: list[ListedArticle] = []
    seen = {other_page_ref(url, base_url).url}
    for (parent, signature), href, label, day in entries:
        in_article_list = signature in article_lists.get(parent, ())
        in_dated_list = day is not None and dated[(parent, signature)] >= D.MIN_DATED_ENTRIES
        if not (in_article_list or in_dated_list):
            continue
        ref = other_page_ref(href, base_url)
        if ref.url in seen:
            continue
        seen.add(ref.url)
        found.append(ListedArticle(ref=ref, title=label, date=day))
        if len(found) >= D.OTHER_ARTICLES_MAX_PER_PAGE:
            break
    return found
