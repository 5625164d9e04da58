"""Listing extraction (home page, channel list pages, 网站地图 / 网站栏目): links in, no Scrapy.

Every page the crawler parses is read as a listing: its article links, its channel links, the
site-map links, and the next page of its own list, whichever pagination form the page uses
(a 下一页 link, numbered ``index_N.html`` links, or a ``createPageHTML(total, current, ...)``
script pager).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .page import HtmlPage, element_text, load_page
from .urls import ArticleRef, article_ref, is_page_candidate, list_page, page_url, resolve_href, same_site

# TRS-style pager script: createPageHTML(total_pages, current_page, "index", "html").
PAGER_SCRIPT_RE = re.compile(r"createPageHTML\s*\(\s*['\"]?(?P<total>\d+)['\"]?\s*,\s*['\"]?(?P<current>\d+)['\"]?")
# Link texts of a "next page" control.
NEXT_TEXTS = frozenset({"下一页", "下页", "后一页", "下一页>", "下一页>>", "next", ">", ">>"})
# Link texts of the site-map pages that may list every channel.
SITEMAP_TEXTS = frozenset({"网站地图", "网站栏目", "栏目导航"})
# Breadcrumb on a list page: 您的位置:首页 > 四川要闻
BREADCRUMB_RE = re.compile(r"(?:您的位置|当前位置|所在位置)\s*[:：]?\s*(?:网站)?首页\s*(?:>|›|»|＞|&gt;)\s*(?P<name>[^>›»＞\s]{2,20})")


@dataclass
class ListedArticle:
    """An article link: what its canonical URL says (id, channel, date), and the link text."""

    ref: ArticleRef
    title: str

    @property
    def url(self) -> str:
        return self.ref.url


@dataclass
class Listing:
    """What a listing page links to."""

    articles: list[ListedArticle] = field(default_factory=list)
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
    return page_url(url, current + 1) if current + 1 < total else None


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
    for anchor in tree.iter("a"):
        href = resolve_href(anchor.get("href"), link_base)
        if href is None or not same_site(href, site_host) or not is_page_candidate(href):
            continue
        label = " ".join(element_text(anchor).split())
        ref = article_ref(href, base_url)
        if ref is not None:
            if ref.url not in seen_articles:
                seen_articles.add(ref.url)
                listing.articles.append(ListedArticle(ref=ref, title=label or anchor.get("title", "")))
            continue
        if label in SITEMAP_TEXTS:
            listing.sitemaps.append(href)
        target = list_page(href)
        if target is None:
            continue
        channel, page = target
        if here and channel == here[0]:
            if label.lower() in NEXT_TEXTS and page > here[1]:
                listing.next_page = page_url(href, page)
            elif page > 0:
                numbered.setdefault(page, page_url(href, page))
        if page == 0:
            listing.channels.setdefault(channel, href)
            if label and len(label) <= 20:
                listing.channel_names.setdefault(channel, label)

    if here and listing.next_page is None:
        listing.next_page = _next_from_pager_script(text, url)
        if listing.next_page is None:
            later = sorted(p for p in numbered if p > here[1])
            listing.next_page = numbered[later[0]] if later else None
    if here:  # only a list page names its channel (an article page's breadcrumb is read by parse_article)
        crumb = BREADCRUMB_RE.search(" ".join(element_text(tree).split()))
        if crumb:
            listing.channel_name = crumb["name"]
    return listing
