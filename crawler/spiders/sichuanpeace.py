"""The 四川长安网 spider: it routes (home → channels → list pages → articles), nothing else.

Page understanding lives in ``crawler.extract``; what history says (known articles, the early stop,
pending articles, the recheck plan) in ``crawler.state.history``, and what a recheck's answer says
in ``crawler.state.rechecks``; the kinds of request and how each is made in ``crawler.spiders.routes``;
cleaning, validation and dedupe in the pipelines.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Request, Response, TextResponse
from scrapy.settings import BaseSettings
from twisted.python.failure import Failure

from .. import accounting
from ..accounting import count
from ..defaults import apply_defaults
from ..extract.article_page import read_article_page
from ..extract.listing import ListedArticle, Listing, parse_listing
from ..extract.sitemaps import Discovered, parse_feed, parse_sitemap, sitemaps_in_robots
from ..extract.urls import URL_SHAPE_OTHER, ArticleRef, article_ref, list_page, other_page_ref, page_ref, same_site
from ..fleet import ROLE_WORKER, fleet_name, start_round
from ..items import ArticleItem, utc_now
from ..quality import record_quality
from ..recent import RecentKeys
from ..rules.discovery import SITEMAP_MAX_DEPTH, WELL_KNOWN_SITEMAPS
from ..run.politeness import relax_for_local_mirror
from ..state import ArticleState
from ..state.history import History, PagingStop, Seen
from ..state.rechecks import Verdict, answer_recheck, gone_record, rechecked_url
from ..state.stores import state_store
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
from .routes import ABSENT_STATUSES, RECHECK_CARRIED_META, RequestKind, build_request

# What crawler.extract.article says of a page that tells the reader the article is not there.
SOFT_404 = "soft 404"
# Stats: records emitted per URL shape (the manifest's counts.url_shapes), and the discovery sources.
STATS_URL_SHAPE = "records/url_shape/"

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
        self.recent_requests = RecentKeys(RECENT_ARTICLE_REQUESTS)
        self._history: History | None = None  # what earlier runs committed, asked per list page
        self.list_pages_max = 0
        self.list_empty_pages_max = 0
        # Discovery beyond the list pages (DISCOVERY_* settings), and the sitemaps and feeds asked for.
        self.discover_other_shapes = True
        self.discover_sitemaps = True
        self.discover_feeds = True
        self.discovery_requested: set[str] = set()
        self.recheck_budget = 0  # RECHECK_BUDGET: older articles rechecked per run
        # Whether list pages, sitemaps and feeds go past Scrapy's duplicate filter, deduplicated by
        # this spider instead (seen_list_pages, discovery_requested: once per run). The filter a
        # resumed JOBDIR restores holds the run before's fingerprints: it would drop the home page and
        # every list page, and the run would read nothing ("site down"). A fleet keeps its shared
        # filter, emptied by the seeder each round: it is what dedupes them across workers.
        self.own_dedupe = True
        # Read from the settings once, in from_crawler: the fleet's Redis ("" outside a fleet), the
        # run's OUTPUT_DIR (what earlier runs committed) and the redirect bound a recheck obeys.
        self.redis_url = ""
        self.output_dir: str | None = None
        self.redirect_max_times = 0

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        """The project's defaults beneath whatever the crawl gives: a crawl started without the
        project settings (a Python script, a test's crawler) sees what ``scrapy crawl`` sees."""
        apply_defaults(settings)
        super().update_settings(settings)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SichuanpeaceSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        # A mirror on this machine is crawled at full speed (before Scrapy freezes the settings).
        relax_for_local_mirror(crawler.settings, spider.crawl_host)
        settings = crawler.settings
        spider.list_pages_max = settings.getint("LIST_PAGES_MAX")
        spider.list_empty_pages_max = settings.getint("LIST_EMPTY_PAGES_MAX")
        spider.discover_other_shapes = settings.getbool("DISCOVERY_OTHER_SHAPES")
        spider.discover_sitemaps = settings.getbool("DISCOVERY_SITEMAPS")
        spider.discover_feeds = settings.getbool("DISCOVERY_FEEDS")
        spider.recheck_budget = settings.getint("RECHECK_BUDGET")
        spider.redis_url = settings.get("REDIS_URL")
        spider.output_dir = settings.get("OUTPUT_DIR")
        spider.redirect_max_times = settings.getint("REDIRECT_MAX_TIMES")
        spider.own_dedupe = not spider.redis_url
        crawler.signals.connect(spider._robots_received, signal=signals.response_received)
        crawler.signals.connect(spider._count_url_shape, signal=signals.item_scraped)
        if spider.redis_url:
            spider.name = fleet_name(cls.name, spider.site)  # the site's own shared queue
        return spider

    @property
    def history(self) -> History:
        """The history decisions (``crawler.state.history``) over the crawl's state store."""
        if self._history is None:
            self._history = History(state_store(self.crawler), self.site)
        return self._history

    async def start(self) -> AsyncIterator[scrapy.Request]:
        redis_url = self.redis_url
        # No OUTPUT_DIR (a crawl without the project settings): no earlier run paged to the end.
        self.history.stop_at_known_pages = self.output_dir is not None and History.may_stop_early(
            Path(self.output_dir), self.site, fleet=bool(redis_url))
        if redis_url and self.fleet_role == ROLE_WORKER:
            return  # a worker takes its requests from the fleet's queue
        if redis_url:
            start_round(redis_url, self.name)
        # The run's own start (once per run; in a fleet, by the seeder only).
        yield build_request(self, RequestKind.HOME, self.base_url)
        if self.discover_sitemaps:
            for path in WELL_KNOWN_SITEMAPS:
                request = self._discovery_request(urljoin(self.base_url, path), RequestKind.SITEMAP)
                if request is not None:
                    yield request
        for request in self._pending_requests():
            yield request
        for request in self._recheck_requests():
            yield request

    def _pending_requests(self) -> Iterator[scrapy.Request]:
        """Articles earlier runs left pending, asked for directly: an early stop at known list
        pages, or a rerun that does not read the linking page again, would never reach them."""
        for ref, channel in self.history.pending(self.base_url):  # an article's URL (or a candidate's)
            if not self._channel_wanted_for(ref, channel):
                continue
            self.history.asked_as_new(ref.id)
            self.recent_requests.add(ref.url)
            self.crawler.stats.inc_value("state/pending_requested")
            yield build_request(self, RequestKind.PENDING, ref.url, cb_kwargs={"list_channel": channel})

    def _recheck_requests(self) -> Iterator[scrapy.Request]:
        """Conditional requests for the known articles the recheck plan names
        (``crawler.state.history.History.recheck_plan``), counted by the part of the plan."""
        for state, older in self.history.recheck_plan(self.recheck_days, self.recheck_budget):
            request = self._recheck_request(state)
            if request is not None:
                self.crawler.stats.inc_value("state/recheck_older_requested" if older else "state/recheck_requested")
                yield request

    def _recheck_request(self, state: ArticleState) -> scrapy.Request | None:
        """A conditional request for a known article, filed under the channel it was first filed
        under (a recheck has no list page to say it; a legacy ``/system/`` URL names none)."""
        ref = self._page_ref(state.url)  # known articles, whatever the shape of their URL
        if not self._channel_wanted_for(ref, state.channel):
            return None
        headers = {}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        return build_request(self, RequestKind.RECHECK, ref.url, headers=headers,
                             cb_kwargs={"list_channel": state.channel, "list_channel_name": state.channel_name},
                             # The id the state holds it under (an earlier id, for some URLs of another shape).
                             meta={"recheck_id": state.id})

    # --- sitemaps and feeds ----------------------------------------------------------------------

    def _discovery_request(self, url: str, kind: RequestKind, depth: int = 0) -> scrapy.Request | None:
        """A request for a sitemap (``depth``: how deep in sitemap indexes) or feed on the crawl
        host, once per URL per run."""
        if not same_site(url, self.crawl_host) or url in self.discovery_requested:
            return None
        self.discovery_requested.add(url)
        return build_request(self, kind, url, cb_kwargs={"depth": depth} if kind is RequestKind.SITEMAP else None)

    def _robots_received(self, response: Response, request: Request, spider: scrapy.Spider) -> None:
        """robots.txt as Scrapy's robots middleware fetched it: its ``Sitemap:`` lines are requested."""
        if (spider is not self or not self.discover_sitemaps or response.status != 200
                or urlsplit(response.url).path != "/robots.txt" or not same_site(response.url, self.crawl_host)):
            return
        if self.fleet_role == ROLE_WORKER and self.redis_url:
            return  # the seeder of the round asks for them
        for url in sitemaps_in_robots(response.body, response.url):
            sitemap = self._discovery_request(url, RequestKind.SITEMAP)
            if sitemap is not None:
                self.crawler.stats.inc_value("discovery/sitemaps_in_robots")
                assert self.crawler.engine is not None
                self.crawler.engine.crawl(sitemap)

    def _absent(self, response: Response, what: str) -> bool:
        """A sitemap or feed that answered 404/410: logged, counted, no failure (most sites have none)."""
        if response.status not in ABSENT_STATUSES:
            return False
        self.crawler.stats.inc_value(f"discovery/{what}_missing")
        self.logger.info("No %s at %s (%s)", what, response.url, response.status)
        count(self.crawler, accounting.LISTING, response)
        return True

    def parse_sitemap(self, response: Response, depth: int = 0) -> Iterator[scrapy.Request]:
        """A sitemap or sitemap index (robots.txt ``Sitemap:``, ``/sitemap.xml``): its pages, routed like
        listed ones."""
        if self._absent(response, "sitemap"):
            return
        found = parse_sitemap(response.body, response.url, self.crawl_host, self.base_url)
        if found.kind is None:
            self.crawler.stats.inc_value("discovery/sitemap_invalid")
            self.logger.info("Not a sitemap, not read: %s", response.url)
        else:
            self.crawler.stats.inc_value("discovery/sitemaps")
            for url in found.sitemaps:
                if depth >= SITEMAP_MAX_DEPTH:
                    self.crawler.stats.inc_value("discovery/sitemap_depth_bound")
                    self.logger.warning("Not following sitemap %s: nested deeper than %s", url, SITEMAP_MAX_DEPTH)
                    continue
                request = self._discovery_request(url, RequestKind.SITEMAP, depth + 1)
                if request is not None:
                    yield request
            yield from self._route_discovered(found, "sitemap", response.url)
        count(self.crawler, accounting.LISTING, response)

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        """An RSS or Atom feed a page announced: the pages its items link, routed like listed ones."""
        if self._absent(response, "feed"):
            return
        found = parse_feed(response.body, response.url, self.crawl_host, self.base_url)
        if found.kind is None:
            self.crawler.stats.inc_value("discovery/feed_invalid")
            self.logger.info("Not an RSS or Atom feed, not read: %s", response.url)
        else:
            self.crawler.stats.inc_value("discovery/feeds")
            yield from self._route_discovered(found, "feed", response.url)
        count(self.crawler, accounting.LISTING, response)

    def _route_discovered(self, found: Discovered, source: str, url: str) -> Iterator[scrapy.Request]:
        """Articles, candidates and channel list pages a sitemap or feed names, as if a list page linked them."""
        if found.articles or found.other_articles or found.list_pages:
            self.crawler.stats.inc_value(accounting.STATS_LISTS_WITH_LINKS)
        requests: list[scrapy.Request] = list(self._requests_for(found.articles, None, None))
        if self.discover_other_shapes:
            requests += self._requests_for(found.other_articles, None, None)
        self.crawler.stats.inc_value(f"discovery/{source}_article_requests", len(requests))
        for page in found.list_pages:
            request = self._list_request(page, RequestKind.CHANNEL)
            if request is not None:
                requests.append(request)
        for request in requests:
            request.meta.setdefault(accounting.META_LINKED_FROM, url)
            yield request

    def on_discovery_error(self, failure: Failure) -> None:
        """A sitemap or feed that could not be fetched: one failed attempt, never a missed list page."""
        accounting.record_failure(self.crawler, failure, article=False)

    def _count_url_shape(self, item: Any, response: Response | None, spider: scrapy.Spider) -> None:
        """Each record that passed the pipelines, by its URL shape (the manifest's ``counts.url_shapes``)."""
        shape = getattr(item, "url_shape", None)
        if spider is self and shape:
            self.crawler.stats.inc_value(STATS_URL_SHAPE + shape)

    # --- routing --------------------------------------------------------------------------------

    def _channel_wanted(self, channel: str) -> bool:
        return self.channels is None or channel in self.channels

    def _channel_wanted_for(self, ref: ArticleRef, list_channel: str | None) -> bool:
        if self.channels is None:
            return True
        return (ref.channel or list_channel) in self.channels

    def _list_request(self, url: str, kind: RequestKind, channel_name: str | None = None,
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
        elif self.own_dedupe:  # a site map of another shape (/sitemap.html): once per run, by its URL
            if (url, -1) in self.seen_list_pages:
                return None
            self.seen_list_pages.add((url, -1))
        cb_kwargs: dict[str, Any] = {"channel_name": channel_name}
        if empty_run is not None:
            cb_kwargs["empty_run"] = empty_run
        return build_request(self, kind, url, cb_kwargs=cb_kwargs)

    def _page_ref(self, url: str) -> ArticleRef:
        """The article an article request's URL names: by its shape, else as a URL of another shape."""
        return page_ref(url, self.base_url)

    def _asked_ref(self, response: Response) -> ArticleRef:
        """The article a response's request asked for (the URL before any redirect hop)."""
        return self._page_ref(rechecked_url(response.url, response.meta.get("redirect_urls")))

    def _article_of(self, request: Request | None, url: str) -> ArticleRef | None:
        """The article a request asks for: an article-shaped URL, or any URL sent to parse_article_page."""
        ref = article_ref(url, self.base_url)
        if ref is None and request is not None and request.callback == self.parse_article_page:
            ref = other_page_ref(url, self.base_url)
        return ref

    def _article_request(self, listed: ListedArticle, list_channel: str | None,
                         list_channel_name: str | None, known: set[str]) -> scrapy.Request | None:
        """The request for a listed article (or candidate of another shape), unless it is skipped."""
        ref = listed.ref
        if not self._channel_wanted_for(ref, list_channel):
            return None
        # A URL of another shape has no date: the date beside its link (or in its sitemap/feed) stands in.
        day = ref.date or listed.date
        if self.since is not None and day is not None and day < self.since:
            self.crawler.stats.inc_value("discovery/skipped_before_since")
            return None
        seen, held_for = self.history.seen(ref, known)
        if seen is Seen.KNOWN:  # fetched by an earlier run; rechecks come from the store
            self.crawler.stats.inc_value("discovery/skipped_known")
            return None
        if seen is Seen.HELD_FOR_ANOTHER:
            if held_for is not None:  # logged and counted once a run
                accounting.id_conflict(self.crawler.stats, self.site, ref.id, ref.url, held_for)
            return None
        if not self.recent_requests.add(ref.url):
            self.crawler.stats.inc_value("discovery/skipped_recent")
            return None
        if ref.shape == URL_SHAPE_OTHER:
            self.crawler.stats.inc_value("discovery/other_candidates")
        self.history.asked_as_new(ref.id)
        return build_request(self, RequestKind.ARTICLE, ref.url,
                             cb_kwargs={"list_channel": list_channel, "list_channel_name": list_channel_name})

    def _article_requests(self, listing: Listing, list_channel: str | None,
                          list_channel_name: str | None) -> Iterator[scrapy.Request]:
        """Requests for the article-shaped links of a page."""
        return self._requests_for(listing.articles, list_channel, list_channel_name)

    def _requests_for(self, listed: list[ListedArticle], list_channel: str | None,
                      list_channel_name: str | None) -> Iterator[scrapy.Request]:
        known = self.history.known_among(listed)
        for article in listed:
            request = self._article_request(article, list_channel, list_channel_name, known)
            if request is not None:
                yield request

    def _follow(self, listing: Listing, list_channel: str | None, list_channel_name: str | None,
                from_list: bool = False) -> Iterator[scrapy.Request]:
        yield from self._article_requests(listing, list_channel, list_channel_name)
        if from_list and self.discover_other_shapes:
            # Candidates of another URL shape come from list pages' article lists only, not from the
            # related-article boxes of article pages.
            yield from self._requests_for(listing.other_articles, list_channel, list_channel_name)
        if self.discover_feeds:
            for url in listing.feeds:
                request = self._discovery_request(url, RequestKind.FEED)
                if request is not None:
                    yield request
        for channel, url in listing.channels.items():
            request = self._list_request(url, RequestKind.CHANNEL, listing.channel_names.get(channel))
            if request is not None:
                yield request
        for url in listing.sitemaps:
            request = self._list_request(url, RequestKind.CHANNEL, sitemap=True)
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
                                (response.headers.get("Content-Type") or b"").decode("latin-1"))
        here = list_page(response.url)
        list_channel = here[0] if here else None
        list_channel_name = listing.channel_name or channel_name
        self.crawler.stats.inc_value("discovery/list_pages")
        if listing.articles or listing.channels or listing.sitemaps:
            # A run that read no list page with links (a WAF challenge, an empty home) discovered nothing.
            self.crawler.stats.inc_value(accounting.STATS_LISTS_WITH_LINKS)
        yield from self._follow(listing, list_channel, list_channel_name, from_list=True)
        if listing.next_page is None:
            return
        # Articles of another shape count too: a list of them only is not an empty pager.
        listed = [a.url for a in listing.articles] + [a.url for a in listing.other_articles]
        run = (empty_run or EmptyRun()).after(listed) if here is not None else None
        stop = self.history.paging_stop(listing, None if run is None else run.pages, self.list_empty_pages_max,
                                        self.since)
        if stop is not None:
            self.crawler.stats.inc_value(f"discovery/paging_stopped_{stop.value}")
            if stop is PagingStop.EMPTY:
                self.logger.warning("Stopped paging %s: %s list pages in a row held no new article link "
                                    "(LIST_EMPTY_PAGES_MAX); its next page %s is not read",
                                    response.url, run.pages if run else 0, listing.next_page)
            elif stop is PagingStop.SINCE:
                self.logger.info("Stopped paging %s: its list reached articles older than %s", response.url, self.since)
            else:
                self.logger.info("Stopped paging %s: every article it lists is known", response.url)
            return
        request = self._list_request(listing.next_page, RequestKind.NEXT_PAGE, list_channel_name, empty_run=run)
        if request is not None:
            yield request

    def _recheck_answer(self, response: Response, list_channel: str | None,
                        list_channel_name: str | None) -> Iterator[ArticleItem | scrapy.Request]:
        """A recheck that answered other than 200, routed by its verdict (``crawler.state.rechecks``)."""
        answer = answer_recheck(response.status, response.url, _header(response, b"Location"),
                                response.meta.get("redirect_urls", []), self.base_url, self.crawl_host,
                                self.redirect_max_times)
        if answer.verdict is Verdict.UNCHANGED:
            self.crawler.stats.inc_value("state/not_modified")
            count(self.crawler, accounting.UNCHANGED, response)
            self.history.checked(response.meta.get("recheck_id", self._asked_ref(response).id), utc_now())
        elif answer.verdict is Verdict.MOVED:
            # A moved article: the next hop, as Scrapy's redirect middleware makes it.
            assert answer.target is not None
            carried = {key: response.meta[key] for key in RECHECK_CARRIED_META if key in response.meta}
            yield build_request(self, RequestKind.RECHECK_REDIRECT, answer.target,
                                cb_kwargs={"list_channel": list_channel, "list_channel_name": list_channel_name},
                                meta={**carried, "redirect_urls": list(answer.hops),
                                      "redirect_times": len(answer.hops)})
        elif answer.verdict is Verdict.GONE:
            self.logger.info("Known article is gone (%s%s): %s", response.status,
                             f" to {answer.target}" if answer.target else "", response.url)
            yield self._gone(response)
        else:
            no_location = answer.verdict is Verdict.NO_LOCATION
            self.logger.warning("Recheck redirect not followed (%s): %s",
                                "no Location" if no_location else "REDIRECT_MAX_TIMES", response.url)
            count(self.crawler, accounting.HTTP_ERROR if no_location else accounting.REDIRECT_DROPPED, response)

    def _gone(self, response: Response) -> ArticleItem:
        self.crawler.stats.inc_value(f"state/gone/{response.status}")
        return gone_record(self._asked_ref(response), self.site, response.meta.get("warc"))

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
            yield from self._recheck_answer(response, list_channel, list_channel_name)
            return
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1")
        try:  # whatever the Content-Type: load_page recognises PDFs, images and office files
            read = read_article_page(response.body, response.url, content_type, self.base_url, self.crawl_host)
        except Exception:  # a page that breaks extraction must not cost the other pages
            self.logger.exception("Parse failure: %s", response.url)
            self.crawler.stats.inc_value("extract/parse_failure")
            count(self.crawler, accounting.PARSE_FAILURE, response)
            self.history.settle(self._page_ref(response.url))
            return
        raw = read.article
        # Prev/next and related links on the article page count as discovery too. The articles
        # they lead to are held pending before this page's record can commit: a rerun does not read
        # this page again, and some articles are linked from no list page.
        follow = list(self._follow(read.links, list_channel if raw.channel is None else raw.channel,
                                   list_channel_name))
        self.history.hold_pending([(self._page_ref(request.url), request.cb_kwargs.get("list_channel"))
                                   for request in follow if request.callback == self.parse_article_page])
        if raw.not_article_reason is not None and raw.url_shape == URL_SHAPE_OTHER:
            # A candidate of another URL shape that does not read as an article: expected, not a failure.
            reason_key = raw.not_article_reason.split(":")[0].replace(" ", "_")
            self.crawler.stats.inc_value("discovery/other_not_article")
            self.crawler.stats.inc_value(f"discovery/other_not_article/{reason_key}")
            self.logger.info("Candidate of another URL shape is not an article (%s): %s", raw.not_article_reason,
                             response.url)
            count(self.crawler, accounting.NOT_ARTICLE, response)
            self.history.settle(self._page_ref(response.url))
        elif raw.not_article_reason == SOFT_404 and response.meta.get("recheck"):
            # A known article whose page now says it is not there: gone, as a 404 would say.
            self.logger.info("Known article is gone (soft 404): %s", response.url)
            yield self._gone(response)
        elif raw.not_article_reason == SOFT_404:
            # The page says the article is not there: settled (a known one is deleted by its recheck, above).
            self.crawler.stats.inc_value("extract/not_article/soft_404")
            # Info, not a warning: a site serves such pages routinely (counted, and in the manifest).
            self.logger.info("Not an article (%s): %s", raw.not_article_reason, response.url)
            count(self.crawler, accounting.NOT_ARTICLE, response)
            self.history.settle(self._page_ref(response.url))
        elif raw.not_article_reason is not None:
            # Empty, binary or unparsable: nothing says the article is gone, so it is asked for again.
            reason_key = raw.not_article_reason.split(":")[0].replace(" ", "_")
            self.crawler.stats.inc_value(f"extract/not_article/{reason_key}")
            self.logger.warning("Article page not readable (%s), asked for again next run: %s",
                                raw.not_article_reason, response.url)
            count(self.crawler, accounting.UNREADABLE, response)
            self.history.keep_pending(self._asked_ref(response), list_channel)
        else:
            record_quality(self.crawler.stats, raw)
            if raw.quality_flags:
                self.logger.warning("Article extracted with doubts (%s): %s", ", ".join(raw.quality_flags),
                                    response.url)
            item = ArticleItem.from_raw(raw, self.site, list_channel, list_channel_name)
            item.warc = response.meta.get("warc")
            item.asked_url = (response.meta.get("redirect_urls") or [None])[0]
            item.etag = _header(response, b"ETag")
            item.last_modified = _header(response, b"Last-Modified")
            yield item
        yield from follow

    def on_error(self, failure: Failure) -> None:
        """A request that failed (HTTP error, retries exhausted, offsite redirect ...): bucket, list, log."""
        request = getattr(failure, "request", None)
        # After redirects, judge the URL the spider asked for: a missing article is a failure, a
        # missing list or site-map page a broken link.
        url = request.meta.get("redirect_urls", [request.url])[0] if request is not None else ""
        ref = self._article_of(request, url)
        # A candidate of another shape that answers 404 was never known to be an article: a broken link.
        article = ref is not None and (ref.shape != URL_SHAPE_OTHER or self.history.is_known(ref.id))
        bucket = accounting.record_failure(self.crawler, failure, article=article)
        if ref is None:
            if bucket in accounting.FAILURE_BUCKETS:
                self.crawler.stats.inc_value(accounting.STATS_LIST_PAGES_FAILED)
        elif bucket in accounting.TRANSIENT_BUCKETS and request is not None:
            self.history.keep_pending(ref, request.cb_kwargs.get("list_channel"))
        else:
            self.history.settle(ref)


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
