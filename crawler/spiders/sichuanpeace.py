"""The 四川长安网 spider: it routes (home → channels → list pages → articles), nothing else.

Page understanding lives in ``crawler.extract``; cleaning, validation and dedupe in the pipelines.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import scrapy
from scrapy.http import Response, TextResponse

from ..extract.article import parse_article
from ..extract.listing import Listing, parse_listing
from ..extract.page import load_page
from ..extract.urls import article_ref, list_page
from ..items import ArticleItem

DEFAULT_BASE_URL = "https://www.sichuanpeace.gov.cn/"
CHANNEL_SLUG_RE = re.compile(r"^[a-z][a-z0-9_]{0,30}$")

# Request priorities: finish articles before opening more list pages, so memory stays flat.
PRIORITY_ARTICLE = 20
PRIORITY_NEXT_PAGE = 10
PRIORITY_CHANNEL = 5


def parse_base_url(value: str | None) -> str:
    """The crawl's root URL (scheme, host, port), or ValueError for anything but http(s)."""
    parts = urlsplit((value or DEFAULT_BASE_URL).strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"base_url must be an http(s) URL with a host, got {value!r}")
    return urlunsplit((parts.scheme, parts.netloc, "/", "", ""))


def parse_channels(value: str | None) -> frozenset[str] | None:
    """Channel slugs from ``scyw,szdt``, or None for all channels."""
    if not value:
        return None
    slugs = frozenset(s.strip().lower() for s in value.split(",") if s.strip())
    bad = sorted(s for s in slugs if not CHANNEL_SLUG_RE.match(s))
    if bad or not slugs:
        raise ValueError(f"channels must be comma-separated channel folders like scyw,szdt, got {value!r}")
    return slugs


def parse_since(value: str | None) -> date | None:
    """The ``since`` date (YYYY-MM-DD), or None."""
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"since must be a date like 2024-01-31, got {value!r}") from None


class SichuanpeaceSpider(scrapy.Spider):
    """Crawl 四川长安网 (or a mirror given by ``-a base_url=``) and yield one item per article."""

    name = "sichuanpeace"

    def __init__(self, base_url: str | None = None, channels: str | None = None,
                 since: str | None = None, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.base_url = parse_base_url(base_url)
        self.site = urlsplit(self.base_url).hostname or ""
        self.allowed_domains = [self.site.removeprefix("www.")]
        self.channels = parse_channels(channels)
        self.since = parse_since(since)
        self.seen_list_pages: set[tuple[str, int]] = set()

    async def start(self) -> AsyncIterator[scrapy.Request]:
        yield scrapy.Request(self.base_url, callback=self.parse_listing_page, priority=PRIORITY_CHANNEL)

    # --- routing --------------------------------------------------------------------------------

    def _channel_wanted(self, channel: str) -> bool:
        return self.channels is None or channel in self.channels

    def _list_request(self, url: str, priority: int, channel_name: str | None = None,
                      sitemap: bool = False) -> scrapy.Request | None:
        key = list_page(url)
        if key is not None:
            # Site maps are read whatever -a channels says: they lead to the channels wanted.
            if key in self.seen_list_pages or not (sitemap or self._channel_wanted(key[0])):
                return None
            self.seen_list_pages.add(key)
        return scrapy.Request(url, callback=self.parse_listing_page, priority=priority,
                              cb_kwargs={"channel_name": channel_name})

    def _article_requests(self, listing: Listing, list_channel: str | None,
                          list_channel_name: str | None) -> Iterator[scrapy.Request]:
        for listed in listing.articles:
            ref = article_ref(listed.url, self.base_url)
            if ref is None:
                continue
            if ref.channel is not None and not self._channel_wanted(ref.channel):
                continue
            if ref.channel is None and self.channels is not None and list_channel not in self.channels:
                continue
            if self.since is not None and ref.date < self.since:
                self.crawler.stats.inc_value("discovery/skipped_before_since")
                continue
            yield scrapy.Request(
                ref.url, callback=self.parse_article_page, priority=PRIORITY_ARTICLE,
                cb_kwargs={"list_channel": list_channel, "list_channel_name": list_channel_name},
            )

    def _follow(self, listing: Listing, list_channel: str | None,
                list_channel_name: str | None) -> Iterator[scrapy.Request]:
        yield from self._article_requests(listing, list_channel, list_channel_name)
        for channel, url in listing.channels.items():
            request = self._list_request(url, PRIORITY_CHANNEL, listing.channel_names.get(channel))
            if request is not None:
                yield request
        for url in listing.sitemaps:
            request = self._list_request(url, PRIORITY_CHANNEL, sitemap=True)
            if request is not None:
                yield request

    def parse_listing_page(self, response: Response, channel_name: str | None = None) -> Iterator[scrapy.Request]:
        """Home page, site maps and channel list pages: follow articles, channels and the next page."""
        if not isinstance(response, TextResponse):
            self.crawler.stats.inc_value("discovery/not_html")
            self.logger.info("Not an HTML page, links not read: %s", response.url)
            return
        listing = parse_listing(response.body, response.url, self.site, self.base_url,
                                response.headers.get("Content-Type", b"").decode("latin-1"))
        here = list_page(response.url)
        list_channel = here[0] if here else None
        list_channel_name = listing.channel_name or channel_name
        self.crawler.stats.inc_value("discovery/list_pages")
        yield from self._follow(listing, list_channel, list_channel_name)
        if listing.next_page is None:
            return
        if self.since is not None and self._reached_since(listing):
            self.crawler.stats.inc_value("discovery/paging_stopped_since")
            self.logger.info("Stopped paging %s: its list reached articles older than %s", response.url, self.since)
            return
        request = self._list_request(listing.next_page, PRIORITY_NEXT_PAGE, list_channel_name)
        if request is not None:
            yield request

    def _reached_since(self, listing: Listing) -> bool:
        dates = [ref.date for a in listing.articles if (ref := article_ref(a.url, self.base_url))]
        return bool(dates) and min(dates) < self.since  # type: ignore[operator]

    def parse_article_page(self, response: Response, list_channel: str | None = None,
                           list_channel_name: str | None = None) -> Iterator[ArticleItem | scrapy.Request]:
        """An article page: one item (or a logged, counted skip), plus the articles it links to."""
        stats = self.crawler.stats
        if not isinstance(response, TextResponse):
            stats.inc_value("extract/not_article/not_html")
            self.logger.warning("Not an article (not an HTML page): %s", response.url)
            return
        content_type = response.headers.get("Content-Type", b"").decode("latin-1")
        page = load_page(response.body, content_type)
        raw = parse_article(page, response.url, base_url=self.base_url)
        if raw.not_article_reason is not None:
            stats.inc_value(f"extract/not_article/{raw.not_article_reason.split(':')[0].replace(' ', '_')}")
            self.logger.warning("Not an article (%s): %s", raw.not_article_reason, response.url)
        else:
            stats.inc_value(f"extract/extractor/{raw.extractor}")
            yield ArticleItem.from_raw(raw, self.site, list_channel, list_channel_name)
        # Prev/next and related links on the article page count as discovery too.
        listing = parse_listing(page, response.url, self.site, self.base_url)
        yield from self._follow(listing, list_channel if raw.channel is None else raw.channel,
                                list_channel_name)
