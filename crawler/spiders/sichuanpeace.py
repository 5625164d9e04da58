"""The 四川长安网 spider: it routes (home → channels → list pages → articles), nothing else.

Page understanding lives in ``crawler.extract``; cleaning, validation and dedupe in the pipelines.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from .. import accounting
from ..accounting import count
from ..extract.article_page import read_article_page
from ..extract.listing import Listing, parse_listing
from ..extract.urls import ArticleRef, article_ref, list_page
from ..fleet import ROLE_SEED, ROLE_WORKER, fleet_name, start_round
from ..items import ArticleItem
from ..sites import find_site
from ..quality import record_quality
from ..recent import RecentKeys
from ..state import StateStore
from ..stateful import state_store

BEIJING = timezone(timedelta(hours=8))

DEFAULT_BASE_URL = "https://www.sichuanpeace.gov.cn/"
DEFAULT_RECHECK_DAYS = 7
# Answers a recheck handles itself: not modified, and gone.
RECHECK_STATUSES = [304, 404, 410]
CHANNEL_SLUG_RE = re.compile(r"^[a-z][a-z0-9_]{0,30}$")

# Request priorities: finish articles before opening more list pages, so memory stays flat.
PRIORITY_ARTICLE = 20
PRIORITY_NEXT_PAGE = 10
PRIORITY_CHANNEL = 5

# Article URLs this spider requested last, skipped when linked again (上一篇/下一篇 of the page just
# read, mostly): Scrapy's duplicate filter would drop them anyway, after building each request,
# passing it through the spider middlewares and fingerprinting it, for 2.7 such links per article.
# Bounded (about 1 MB): an older repeat still meets the duplicate filter, which stays the authority.
RECENT_ARTICLE_REQUESTS = 10_000


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


def parse_recheck(value: str | None) -> int | None:
    """Days back to re-fetch known articles: a number, ``all`` (None: every one), default 7."""
    text = (value or str(DEFAULT_RECHECK_DAYS)).strip().lower()
    if text == "all":
        return None
    if not text.isdigit():
        raise ValueError(f"recheck must be a number of days or 'all', got {value!r}")
    return int(text)


def parse_fleet_role(value: str | None) -> str:
    """``seed`` (start a round) or ``worker`` (the default): only used with REDIS_URL."""
    role = (value or ROLE_WORKER).strip().lower()
    if role not in (ROLE_SEED, ROLE_WORKER):
        raise ValueError(f"fleet must be 'seed' or 'worker', got {value!r}")
    return role


def parse_since(value: str | None) -> date | None:
    """The ``since`` date (YYYY-MM-DD), or None."""
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"since must be a date like 2024-01-31, got {value!r}") from None


class SichuanpeaceSpider(scrapy.Spider):
    """Crawl 四川长安网, a sister site (``-a site=``) or a mirror (``-a base_url=``); one item per article."""

    name = "sichuanpeace"

    def __init__(self, base_url: str | None = None, channels: str | None = None,
                 since: str | None = None, recheck: str | None = None, site: str | None = None,
                 fleet: str | None = None, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        registered = find_site(site) if site else None
        self.base_url = parse_base_url(base_url or (f"https://{registered.host}/" if registered else None))
        # Where links are followed: the host actually crawled (the site, or its mirror).
        self.crawl_host = urlsplit(self.base_url).hostname or ""
        # What records and the state say: the registered site, else the crawled host.
        self.site = registered.host if registered else self.crawl_host
        self.allowed_domains = [self.crawl_host.removeprefix("www.")]
        self.fleet_role = parse_fleet_role(fleet)
        self.channels = parse_channels(channels)
        self.since = parse_since(since)
        self.recheck_days = parse_recheck(recheck)
        self.seen_list_pages: set[tuple[str, int]] = set()
        self.known: set[str] = set()  # ids of articles earlier runs emitted
        self.recent_requests = RecentKeys(RECENT_ARTICLE_REQUESTS)
        self.stop_at_known_pages = False
        self.list_pages_max = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SichuanpeaceSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        if crawler.settings.get("REDIS_URL"):
            spider.name = fleet_name(cls.name, spider.site)  # the site's own shared queue
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.list_pages_max = self.crawler.settings.getint("LIST_PAGES_MAX")
        store = state_store(self.crawler)
        self.known = store.known_ids(self.site)
        redis_url = self.crawler.settings.get("REDIS_URL")
        # A fleet pages every list to its end: a killed worker's lost requests may sit on any page.
        self.stop_at_known_pages = not redis_url and store.last_run_complete(self.site)
        if redis_url and self.fleet_role == ROLE_WORKER:
            return  # a worker takes its requests from the fleet's queue
        if redis_url:
            start_round(redis_url, self.name)
        yield scrapy.Request(self.base_url, callback=self.parse_listing_page, errback=self.on_error,
                             priority=PRIORITY_CHANNEL)
        for request in self._recheck_requests(store):
            yield request

    def _recheck_requests(self, store: StateStore) -> Iterator[scrapy.Request]:
        """Conditional requests for known articles published within ``recheck`` days (or all)."""
        horizon = None if self.recheck_days is None else (
            datetime.now(BEIJING) - timedelta(days=self.recheck_days)).isoformat(timespec="seconds")
        for state in store.recheck_candidates(self.site, horizon):
            ref = article_ref(state.url, self.base_url)
            if ref is None or not self._channel_wanted_for(ref, None):
                continue
            headers = {}
            if state.etag:
                headers["If-None-Match"] = state.etag
            if state.last_modified:
                headers["If-Modified-Since"] = state.last_modified
            self.crawler.stats.inc_value("state/recheck_requested")
            yield scrapy.Request(ref.url, callback=self.parse_article_page, errback=self.on_error,
                                 headers=headers, priority=PRIORITY_ARTICLE,
                                 meta={"recheck": True, "handle_httpstatus_list": RECHECK_STATUSES})

    # --- routing --------------------------------------------------------------------------------

    def _channel_wanted(self, channel: str) -> bool:
        return self.channels is None or channel in self.channels

    def _channel_wanted_for(self, ref: ArticleRef, list_channel: str | None) -> bool:
        if self.channels is None:
            return True
        return (ref.channel or list_channel) in self.channels

    def _list_request(self, url: str, priority: int, channel_name: str | None = None,
                      sitemap: bool = False) -> scrapy.Request | None:
        key = list_page(url)
        if key is not None and key[1] > self.list_pages_max:
            self.crawler.stats.inc_value("discovery/pager_bound")
            self.logger.warning("Not following list page %s: past LIST_PAGES_MAX (%s)", url, self.list_pages_max)
            return None
        if key is not None:
            # Site maps are read whatever -a channels says: they lead to the channels wanted.
            if key in self.seen_list_pages or not (sitemap or self._channel_wanted(key[0])):
                return None
            self.seen_list_pages.add(key)
        return scrapy.Request(url, callback=self.parse_listing_page, errback=self.on_error, priority=priority,
                              cb_kwargs={"channel_name": channel_name})

    def _article_requests(self, listing: Listing, list_channel: str | None,
                          list_channel_name: str | None) -> Iterator[scrapy.Request]:
        for listed in listing.articles:
            ref = listed.ref
            if not self._channel_wanted_for(ref, list_channel):
                continue
            if self.since is not None and ref.date < self.since:
                self.crawler.stats.inc_value("discovery/skipped_before_since")
                continue
            if ref.id in self.known:  # fetched by an earlier run; rechecks come from the store
                self.crawler.stats.inc_value("discovery/skipped_known")
                continue
            if not self.recent_requests.add(ref.url):
                self.crawler.stats.inc_value("discovery/skipped_recent")
                continue
            yield scrapy.Request(
                ref.url, callback=self.parse_article_page, errback=self.on_error, priority=PRIORITY_ARTICLE,
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
        count(self.crawler, accounting.LISTING)
        if not isinstance(response, TextResponse):
            self.crawler.stats.inc_value("discovery/not_html")
            self.logger.info("Not an HTML page, links not read: %s", response.url)
            return
        listing = parse_listing(response.body, response.url, self.crawl_host, self.base_url,
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
        if here is not None and self.stop_at_known_pages and self._only_known(listing):
            self.crawler.stats.inc_value("discovery/paging_stopped_known")
            self.logger.info("Stopped paging %s: every article it lists is known", response.url)
            return
        request = self._list_request(listing.next_page, PRIORITY_NEXT_PAGE, list_channel_name)
        if request is not None:
            yield request

    def _only_known(self, listing: Listing) -> bool:
        ids = [a.ref.id for a in listing.articles]
        return bool(ids) and all(i in self.known for i in ids)

    def _recheck_answer(self, response: Response) -> Iterator[ArticleItem]:
        """A recheck answered 304 (unchanged) or 404/410 (deleted)."""
        if response.status == 304:
            self.crawler.stats.inc_value("state/not_modified")
            count(self.crawler, accounting.UNCHANGED)
            return
        ref = article_ref(response.url, self.base_url)
        if ref is None:
            count(self.crawler, accounting.HTTP_ERROR)
            return
        self.logger.info("Known article is gone (%s): %s", response.status, response.url)
        item = ArticleItem.deleted(ref.url, ref.id, self.site, ref.channel)
        item.warc = response.meta.get("warc")
        yield item

    def _reached_since(self, listing: Listing) -> bool:
        # Most of the page older than `since`: one pinned (置顶) old article does not stop paging.
        dates = [a.ref.date for a in listing.articles]
        older = sum(1 for d in dates if d < self.since)  # type: ignore[operator]
        return bool(dates) and older * 2 > len(dates)

    def parse_article_page(self, response: Response, list_channel: str | None = None,
                           list_channel_name: str | None = None) -> Iterator[ArticleItem | scrapy.Request]:
        """An article page: one item (or a logged, counted skip), plus the articles it links to."""
        if response.meta.get("recheck") and response.status != 200:
            yield from self._recheck_answer(response)
            return
        content_type = response.headers.get("Content-Type", b"").decode("latin-1")
        try:  # whatever the Content-Type: load_page recognises PDFs, images and office files
            read = read_article_page(response.body, response.url, content_type, self.base_url, self.crawl_host)
        except Exception:  # a page that breaks extraction must not cost the other pages
            self.logger.exception("Parse failure: %s", response.url)
            self.crawler.stats.inc_value("extract/parse_failure")
            count(self.crawler, accounting.PARSE_FAILURE)
            return
        raw = read.article
        if raw.not_article_reason is not None:
            reason_key = raw.not_article_reason.split(":")[0].replace(" ", "_")
            self.crawler.stats.inc_value(f"extract/not_article/{reason_key}")
            self.logger.warning("Not an article (%s): %s", raw.not_article_reason, response.url)
            count(self.crawler, accounting.NOT_ARTICLE)
        else:
            record_quality(self.crawler.stats, raw)
            item = ArticleItem.from_raw(raw, self.site, list_channel, list_channel_name)
            item.warc = response.meta.get("warc")
            item.etag = _header(response, b"ETag")
            item.last_modified = _header(response, b"Last-Modified")
            yield item
        # Prev/next and related links on the article page count as discovery too.
        yield from self._follow(read.links, list_channel if raw.channel is None else raw.channel, list_channel_name)

    def on_error(self, failure: Failure) -> None:
        """A request that failed (HTTP error, retries exhausted, offsite redirect ...): log, bucket."""
        bucket = accounting.classify_failure(failure)
        request = getattr(failure, "request", None)
        # After redirects, name the URL the spider asked for.
        url = request.meta.get("redirect_urls", [request.url])[0] if request is not None else "?"
        count(self.crawler, bucket)
        self.logger.warning("Request failed (%s): %s: %s", bucket, url, failure.getErrorMessage()[:200])


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
