"""The kinds of request the spider makes, and the one builder that turns a kind into a Request.

Each kind is one row of ``ROUTES``: the spider's callback and errback for it, its priority, how it
is kept from being asked twice, and the meta it always carries. The spider says which kind and
what varies (URL, cb_kwargs, headers, meta of its own); everything else is read here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

import scrapy

from ..accounting import META_LINKED_FROM
from ..state.rechecks import RECHECK_STATUSES, REDIRECT_STATUSES

if TYPE_CHECKING:
    from .sichuanpeace import SichuanpeaceSpider

# Request priorities: finish articles before opening more list pages, so memory stays flat (a
# page's requisites, crawler/pipelines/requisites.py, go first of all, at 30).
PRIORITY_ARTICLE = 20    # articles, pending articles, rechecks and their redirect hops
PRIORITY_NEXT_PAGE = 10  # the next page of a channel's list: after its articles, before new channels
PRIORITY_CHANNEL = 5     # the home page, channels, site maps, sitemaps and feeds: what opens more pages

# Answers a sitemap or feed request handles itself: a site without one answers 404, which is normal.
ABSENT_STATUSES = [404, 410]
# The meta a recheck carries through its redirect hops (the rest is the route's, or the hop's own).
RECHECK_CARRIED_META = ("recheck_id", META_LINKED_FROM)


class RequestKind(Enum):
    """What a request asks for; each has one row in ``ROUTES``."""

    HOME = "home"                          # the run's start: the base URL
    CHANNEL = "channel"                    # a channel's list page or a site map page, linked from a page
    NEXT_PAGE = "next_page"                # the next page of a channel's list
    SITEMAP = "sitemap"                    # an XML sitemap or sitemap index
    FEED = "feed"                          # an RSS or Atom feed a page announced
    ARTICLE = "article"                    # a listed article, or a candidate of another URL shape
    PENDING = "pending"                    # an article an earlier run left pending
    RECHECK = "recheck"                    # a known article asked for again, conditionally
    RECHECK_REDIRECT = "recheck_redirect"  # the next hop of a recheck's redirect


class Dedupe(Enum):
    """How a kind of request is kept from being asked twice in a run."""

    # Scrapy's duplicate filter (after the spider's bounded recent_requests).
    FILTER = "filter"
    # The spider's own once-per-run sets (seen_list_pages, discovery_requested), past the duplicate
    # filter: a resumed JOBDIR's filter holds the run before's fingerprints and would drop the home
    # page and every list page. A fleet keeps its shared filter (the spider's ``own_dedupe`` off).
    SPIDER = "spider"
    # Asked once per run by construction (the start, the store's pending list and recheck plan, a
    # redirect hop), past the duplicate filter: a resumed JOBDIR's remembers the run before's.
    ONCE = "once"


@dataclass(frozen=True)
class Route:
    """How one kind of request is made: the spider's method names, priority, dedupe and fixed meta."""

    callback: str
    errback: str
    priority: int
    dedupe: Dedupe
    meta: Mapping[str, Any] = field(default_factory=dict)


# Recheck redirects are read by the callback, not followed by Scrapy: one to the home page or a list
# page is how a CMS says an article is gone (and Scrapy's duplicate filter would drop it unseen).
_RECHECK_META = {"recheck": True, "dont_redirect": True, "handle_httpstatus_list": RECHECK_STATUSES + REDIRECT_STATUSES}

ROUTES: dict[RequestKind, Route] = {
    RequestKind.HOME: Route("parse_listing_page", "on_error", PRIORITY_CHANNEL, Dedupe.ONCE),
    RequestKind.CHANNEL: Route("parse_listing_page", "on_error", PRIORITY_CHANNEL, Dedupe.SPIDER),
    RequestKind.NEXT_PAGE: Route("parse_listing_page", "on_error", PRIORITY_NEXT_PAGE, Dedupe.SPIDER),
    # A missing sitemap or feed is no failure: its 404 reaches the callback, which counts it.
    RequestKind.SITEMAP: Route("parse_sitemap", "on_discovery_error", PRIORITY_CHANNEL, Dedupe.SPIDER,
                               {"handle_httpstatus_list": ABSENT_STATUSES}),
    RequestKind.FEED: Route("parse_feed", "on_discovery_error", PRIORITY_CHANNEL, Dedupe.SPIDER,
                            {"handle_httpstatus_list": ABSENT_STATUSES}),
    RequestKind.ARTICLE: Route("parse_article_page", "on_error", PRIORITY_ARTICLE, Dedupe.FILTER),
    # A resumed JOBDIR remembers the failed request as seen: past the duplicate filter.
    RequestKind.PENDING: Route("parse_article_page", "on_error", PRIORITY_ARTICLE, Dedupe.ONCE),
    RequestKind.RECHECK: Route("parse_article_page", "on_error", PRIORITY_ARTICLE, Dedupe.ONCE, _RECHECK_META),
    # A hop, not a new attempt: accounted already (the recheck's first answer was), judged by the
    # offsite middleware as one.
    RequestKind.RECHECK_REDIRECT: Route("parse_article_page", "on_error", PRIORITY_ARTICLE, Dedupe.ONCE,
                                        {**_RECHECK_META, "accounted": True}),
}


def build_request(spider: SichuanpeaceSpider, kind: RequestKind, url: str, *, cb_kwargs: dict[str, Any] | None = None,
                  meta: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> scrapy.Request:
    """The request of this kind for ``url``: the route's callback, errback, priority, dedupe and
    meta, with the caller's ``cb_kwargs``, ``meta`` (over the route's) and ``headers``."""
    route = ROUTES[kind]
    if route.meta:  # most requests (articles, list pages) have none: nothing to copy
        meta = {**_fresh(route.meta), **meta} if meta else _fresh(route.meta)
    dont_filter = route.dedupe is Dedupe.ONCE or (route.dedupe is Dedupe.SPIDER and spider.own_dedupe)
    return scrapy.Request(url, callback=getattr(spider, route.callback), errback=getattr(spider, route.errback),
                          priority=route.priority, dont_filter=dont_filter, headers=headers,
                          cb_kwargs=cb_kwargs, meta=meta)


def _fresh(meta: Mapping[str, Any]) -> dict[str, Any]:
    """A route's meta for one request: its lists copied, so a middleware that changes one changes no other."""
    return {key: list(value) if isinstance(value, list) else value for key, value in meta.items()}
