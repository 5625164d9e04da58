"""The 四川长安网 spider: it routes (home → channels → list pages → articles), nothing else.

Page understanding lives in ``crawler.extract``; cleaning, validation and dedupe in the pipelines.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from .. import accounting
from ..accounting import count
from ..extract.article_page import read_article_page
from ..extract.listing import Listing, parse_listing
from ..extract.urls import ArticleRef, article_ref, list_page
from ..fleet import ROLE_WORKER, fleet_name, start_round
from ..items import ArticleItem
from ..quality import record_quality
from ..run.manifests import may_stop_early
from ..state.stores import StateStore, state_store
from .arguments import (  # noqa: F401 (the parsers stay importable from here)
    CHANNEL_SLUG_RE,
    DEFAULT_BASE_URL,
    DEFAULT_RECHECK_DAYS,
    SpiderArguments,
    parse_base_url,
    parse_channels,
    parse_fleet_role,
    parse_recheck,
    parse_since,
)
from .paging import EmptyRun
from .recent import RecentKeys

BEIJING = timezone(timedelta(hours=8))

# Answers a recheck handles itself: not modified, and gone.
RECHECK_STATUSES = [304, 404, 410]

# Request priorities: finish articles before opening more list pages, so memory stays flat.
PRIORITY_ARTICLE = 20
PRIORITY_NEXT_PAGE = 10
PRIORITY_CHANNEL = 5

# Article URLs this spider requested last, skipped when linked again (上一篇/下一篇 of the page just
# read, mostly): Scrapy's duplicate filter would drop them anyway, after building each request,
# passing it through the spider middlewares and fingerprinting it, for 2.7 such links per article.
# Bounded (about 1 MB): an older repeat still meets the duplicate filter, which stays the authority.
RECENT_ARTICLE_REQUESTS = 10_000


class SichuanpeaceSpider(scrapy.Spider):
    """Crawl 四川长安网, a sister site (``-a site=``) or a mirror (``-a base_url=``); one item per article."""

    name = "sichuanpeace"

    @classmethod
    def argument_errors(cls, arguments: Mapping[str, Any]) -> list[str]:
        """Every problem with these spider arguments ([]: none), for commands that refuse them before
        writing anything; ``__init__`` raises ValueError with the first."""
        return SpiderArguments.errors(arguments)

    def __init__(self, **kwargs: Any):
        # Every argument is checked (crawler/spiders/arguments.py) before anything else happens: an
        # unknown name or an empty value is a ValueError naming it. Names starting with "_" are a
        # job runner's (scrapyd's _job) and become attributes, as Scrapy's Spider does with any.
        arguments = SpiderArguments.parse(kwargs)
        super().__init__(**arguments.runner)
        self.base_url = arguments.base_url
        # Where links are followed: the host actually crawled (the site, or its mirror).
        self.crawl_host = arguments.crawl_host
        # What records and the state say: the registered site, else the crawled host.
        self.site = arguments.site
        # The crawl host exactly, no subdomain: crawler/downloadermiddlewares/offsite.py follows this
        # host and its www./bare twin only, for links and redirects alike.
        self.allowed_domains = [self.crawl_host]
        self.fleet_role = arguments.fleet_role
        self.channels = arguments.channels
        self.since = arguments.since
        self.recheck_days = arguments.recheck_days
        self.seen_list_pages: set[tuple[str, int]] = set()
        self.known: set[str] = set()  # ids of articles earlier runs emitted
        self.recent_requests = RecentKeys(RECENT_ARTICLE_REQUESTS)
        self.stop_at_known_pages = False
        self.list_pages_max = 0
        self.list_empty_pages_max = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SichuanpeaceSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.list_pages_max = crawler.settings.getint("LIST_PAGES_MAX")
        spider.list_empty_pages_max = crawler.settings.getint("LIST_EMPTY_PAGES_MAX")
        if crawler.settings.get("REDIS_URL"):
            spider.name = fleet_name(cls.name, spider.site)  # the site's own shared queue
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.list_pages_max = self.crawler.settings.getint("LIST_PAGES_MAX")
        self.list_empty_pages_max = self.crawler.settings.getint("LIST_EMPTY_PAGES_MAX")
        store = state_store(self.crawler)
        self.known = store.known_ids(self.site)
        redis_url = self.crawler.settings.get("REDIS_URL")
        # A fleet pages every list to its end: a killed worker's lost requests may sit on any page.
        self.stop_at_known_pages = not redis_url and may_stop_early(
            Path(self.crawler.settings.get("OUTPUT_DIR")), self.site)
        if redis_url and self.fleet_role == ROLE_WORKER:
            return  # a worker takes its requests from the fleet's queue
        if redis_url:
            start_round(redis_url, self.name)
        yield scrapy.Request(self.base_url, callback=self.parse_listing_page, errback=self.on_error,
                             priority=PRIORITY_CHANNEL)
        for request in self._pending_requests(store):
            yield request
        for request in self._recheck_requests(store):
            yield request

    def _pending_requests(self, store: StateStore) -> Iterator[scrapy.Request]:
        """Articles earlier runs left pending (failed, linked from an article page, or in a slice
        that never committed), asked for directly: an early stop at known list pages, or a rerun
        that does not read the linking page again, would never reach them."""
        for url, channel in store.pending(self.site):
            ref = article_ref(url, self.base_url)
            if ref is None or ref.id in self.known or not self._channel_wanted_for(ref, channel):
                continue
            self.recent_requests.add(ref.url)
            self.crawler.stats.inc_value("state/pending_requested")
            # Past the duplicate filter: a resumed JOBDIR remembers the failed request as seen.
            yield scrapy.Request(ref.url, callback=self.parse_article_page, errback=self.on_error,
                                 priority=PRIORITY_ARTICLE, cb_kwargs={"list_channel": channel}, dont_filter=True)

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
                      sitemap: bool = False, empty_run: EmptyRun | None = None) -> scrapy.Request | None:
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
        cb_kwargs: dict[str, Any] = {"channel_name": channel_name}
        if empty_run is not None:
            cb_kwargs["empty_run"] = empty_run
        return scrapy.Request(url, callback=self.parse_listing_page, errback=self.on_error, priority=priority,
                              cb_kwargs=cb_kwargs)

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

    def parse(self, response: Response, **kwargs: Any) -> Iterator[ArticleItem | scrapy.Request]:
        """Any page of the site by its URL (``scrapy parse``, ``scrapy check``): an article-shaped URL
        goes to ``parse_article_page``, anything else (home, list pages, site maps) to ``parse_listing_page``.

        @path /szdt/20240110/2868001.html
        @returns items 1 1
        @returns requests 2
        @record id url title published_at body channel
        """
        if article_ref(response.url, self.base_url) is not None:
            yield from self.parse_article_page(response, **kwargs)
        else:
            yield from self.parse_listing_page(response, **kwargs)

    def parse_listing_page(self, response: Response, channel_name: str | None = None,
                           empty_run: EmptyRun | None = None) -> Iterator[scrapy.Request]:
        """Home page, site maps and channel list pages: follow articles, channels and the next page.

        ``empty_run``: the list pages before this one, in a row, that held no new article link.

        @path /scyw/
        @returns items 0 0
        @returns requests 3
        """
        try:
            for request in self._read_listing(response, channel_name, empty_run):
                # The page that linked it: a 404 on a list page is this page's broken link.
                request.meta.setdefault(accounting.META_LINKED_FROM, response.url)
                yield request
        except Exception:
            # Not read to its end: a list page missed, and one parse failure (the spider_error signal).
            self.crawler.stats.inc_value(accounting.STATS_LIST_PAGES_FAILED)
            raise
        # Bucketed once read to its end.
        count(self.crawler, accounting.LISTING, response)

    def _read_listing(self, response: Response, channel_name: str | None,
                      empty_run: EmptyRun | None = None) -> Iterator[scrapy.Request]:
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
        if listing.articles or listing.channels or listing.sitemaps:
            # A run that read no list page with links (a WAF challenge, an empty home) discovered nothing.
            self.crawler.stats.inc_value(accounting.STATS_LISTS_WITH_LINKS)
        yield from self._follow(listing, list_channel, list_channel_name)
        if listing.next_page is None:
            return
        run = (empty_run or EmptyRun()).after([a.url for a in listing.articles]) if here is not None else None
        if run is not None and run.pages >= self.list_empty_pages_max:
            self.crawler.stats.inc_value("discovery/paging_stopped_empty")
            self.logger.warning("Stopped paging %s: %s list pages in a row held no new article link "
                                "(LIST_EMPTY_PAGES_MAX); its next page %s is not read",
                                response.url, run.pages, listing.next_page)
            return
        if self.since is not None and self._reached_since(listing):
            self.crawler.stats.inc_value("discovery/paging_stopped_since")
            self.logger.info("Stopped paging %s: its list reached articles older than %s", response.url, self.since)
            return
        if here is not None and self.stop_at_known_pages and self._only_known(listing):
            self.crawler.stats.inc_value("discovery/paging_stopped_known")
            self.logger.info("Stopped paging %s: every article it lists is known", response.url)
            return
        request = self._list_request(listing.next_page, PRIORITY_NEXT_PAGE, list_channel_name, empty_run=run)
        if request is not None:
            yield request

    def _only_known(self, listing: Listing) -> bool:
        ids = [a.ref.id for a in listing.articles]
        return bool(ids) and all(i in self.known for i in ids)

    def _recheck_answer(self, response: Response) -> Iterator[ArticleItem]:
        """A recheck answered 304 (unchanged) or 404/410 (deleted)."""
        if response.status == 304:
            self.crawler.stats.inc_value("state/not_modified")
            count(self.crawler, accounting.UNCHANGED, response)
            return
        ref = article_ref(response.url, self.base_url)
        if ref is None:
            count(self.crawler, accounting.HTTP_ERROR, response)
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
        """An article page: one item (or a logged, counted skip), plus the articles it links to.

        @path /scyw/20211103/2541288.html
        @returns items 1 1
        @returns requests 2
        @scrapes id url site channel title published_at
        @record id url title published_at body byline images
        """
        if response.meta.get("recheck") and response.status != 200:
            yield from self._recheck_answer(response)
            return
        content_type = response.headers.get("Content-Type", b"").decode("latin-1")
        try:  # whatever the Content-Type: load_page recognises PDFs, images and office files
            read = read_article_page(response.body, response.url, content_type, self.base_url, self.crawl_host)
        except Exception:  # a page that breaks extraction must not cost the other pages
            self.logger.exception("Parse failure: %s", response.url)
            self.crawler.stats.inc_value("extract/parse_failure")
            count(self.crawler, accounting.PARSE_FAILURE, response)
            self._settled(response.url)
            return
        raw = read.article
        # Prev/next and related links on the article page count as discovery too. The articles
        # they lead to are held pending before this page's record can commit: a rerun does not read
        # this page again, and some articles are linked from no list page.
        follow = list(self._follow(read.links, list_channel if raw.channel is None else raw.channel,
                                   list_channel_name))
        self._hold_pending(follow)
        if raw.not_article_reason is not None:
            reason_key = raw.not_article_reason.split(":")[0].replace(" ", "_")
            self.crawler.stats.inc_value(f"extract/not_article/{reason_key}")
            self.logger.warning("Not an article (%s): %s", raw.not_article_reason, response.url)
            count(self.crawler, accounting.NOT_ARTICLE, response)
            self._settled(response.url)
        else:
            record_quality(self.crawler.stats, raw)
            item = ArticleItem.from_raw(raw, self.site, list_channel, list_channel_name)
            item.warc = response.meta.get("warc")
            item.etag = _header(response, b"ETag")
            item.last_modified = _header(response, b"Last-Modified")
            yield item
        yield from follow

    def _hold_pending(self, requests: list[scrapy.Request]) -> None:
        """Article requests found on an article page, held in the state until their records commit."""
        held = []
        for request in requests:
            ref = article_ref(request.url, self.base_url) if request.callback == self.parse_article_page else None
            if ref is not None:
                held.append((ref.id, ref.url, request.cb_kwargs.get("list_channel") or ref.channel))
        if held:
            state_store(self.crawler).add_pending_many(self.site, held)

    def _settled(self, url: str) -> None:
        """An article URL whose answer will not change by asking again: no longer pending."""
        ref = article_ref(url, self.base_url)
        if ref is not None:
            state_store(self.crawler).clear_pending(self.site, ref.id)

    def on_error(self, failure: Failure) -> None:
        """A request that failed (HTTP error, retries exhausted, offsite redirect ...): bucket, list, log."""
        request = getattr(failure, "request", None)
        # After redirects, judge the URL the spider asked for: a missing article is a failure, a
        # missing list or site-map page a broken link.
        url = request.meta.get("redirect_urls", [request.url])[0] if request is not None else ""
        ref = article_ref(url, self.base_url)
        bucket = accounting.record_failure(self.crawler, failure, article=ref is not None)
        if ref is None:
            if bucket in accounting.FAILURE_BUCKETS:
                self.crawler.stats.inc_value(accounting.STATS_LIST_PAGES_FAILED)
        elif bucket in accounting.TRANSIENT_BUCKETS and request is not None:
            # Asked for again by the next run, whether or not its list page is read again.
            state_store(self.crawler).add_pending(self.site, ref.id, ref.url,
                                                  request.cb_kwargs.get("list_channel") or ref.channel)
        else:
            state_store(self.crawler).clear_pending(self.site, ref.id)


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
