"""Checks ``scrapy crawl`` makes against the site itself before anything is written.

``-a channels=`` names URL folders that only the site knows: its home page and the site-map pages
the home page links to (网站地图, 网站栏目) list them. A scope that names a channel found on none of
those pages would run "complete" with nothing in it, so the command reads the home page first, and
the site maps only while a channel asked for is still not found (plain HTTP with the crawl's
User-Agent, DOWNLOAD_DELAY after each request, never off the crawl host), and refuses the run with
the channels the site has. When those pages cannot be read (the site is down, a challenge page, no
channel links at all), nothing is refused here: the run's own verdict says what happened (exit 4,
10 ...). A fleet (REDIS_URL) is not checked here: every request of a fleet goes through its shared
rate limit, which this check could not honour.
"""

from __future__ import annotations

import logging
import time
import urllib.request
from collections.abc import Callable, Iterable
from http.client import HTTPException
from urllib.parse import urlsplit

from ..extract.listing import Listing, parse_listing
from ..extract.urls import same_site

logger = logging.getLogger(__name__)

# The most site-map pages read besides the home page (the site links two: 网站地图 and 网站栏目).
SITEMAP_PAGES_MAX = 5
# The most bytes read of one page: a home page is far smaller.
PAGE_BYTES_MAX = 5_000_000

# url -> (body, Content-Type), or None when the page could not be read.
Fetch = Callable[[str], "tuple[bytes, str] | None"]


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects on the crawl host (and its www./bare twin) only, as the crawl does."""

    def __init__(self, crawl_host: str):
        self.crawl_host = crawl_host

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not same_site(urlsplit(newurl).hostname or "", self.crawl_host):
            return None  # urllib then raises HTTPError: the page is not read
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def http_fetch(crawl_host: str, user_agent: str, timeout: float, delay: float = 0.0) -> Fetch:
    """A :data:`Fetch` over plain HTTP(S) that stays on ``crawl_host`` and waits ``delay`` seconds
    after each request (DOWNLOAD_DELAY: the crawl's first request follows the last one)."""
    opener = urllib.request.build_opener(_SameHostRedirects(crawl_host))

    def fetch(url: str) -> tuple[bytes, str] | None:
        request = urllib.request.Request(url, headers={"User-Agent": user_agent})
        try:
            with opener.open(request, timeout=timeout) as response:
                if response.status != 200:
                    return None
                return response.read(PAGE_BYTES_MAX), response.headers.get("Content-Type", "")
        except (OSError, HTTPException, ValueError) as error:  # urllib.error.URLError is an OSError
            logger.info("Channel check: could not read %s (%s)", url, error)
            return None
        finally:
            time.sleep(delay)
    return fetch


def _channels_of(listing: Listing) -> set[str]:
    return set(listing.channels) | {a.ref.channel for a in listing.articles if a.ref.channel}


def site_channels(base_url: str, crawl_host: str, fetch: Fetch,
                  wanted: Iterable[str] = ()) -> frozenset[str] | None:
    """The channels the home page and its site-map pages link to (the site maps are read only while
    a channel of ``wanted`` is not found); None when the home page cannot be read or names none
    (then nobody can say which channels the site has)."""
    home = fetch(base_url)
    if home is None:
        return None
    listing = parse_listing(home[0], base_url, crawl_host, base_url, home[1])
    found = _channels_of(listing)
    for url in listing.sitemaps[:SITEMAP_PAGES_MAX]:
        if found and not set(wanted) - found:
            break
        page = fetch(url)
        if page is not None:
            found |= _channels_of(parse_listing(page[0], url, crawl_host, base_url, page[1]))
    return frozenset(found) or None


def channel_errors(wanted: Iterable[str] | None, base_url: str, crawl_host: str, fetch: Fetch) -> list[str]:
    """The error for a channel scope that names channels the site does not have; [] when every
    channel is there, or when the site's channels cannot be known."""
    if not wanted:
        return []
    known = site_channels(base_url, crawl_host, fetch, wanted)
    if known is None:
        return []
    missing = sorted(set(wanted) - known)
    if not missing:
        return []
    verb = "is not a channel" if len(missing) == 1 else "are not channels"
    return [f"channels: {', '.join(missing)} {verb} of {base_url} "
            f"(its home page and site maps link to {', '.join(sorted(known))})"]
