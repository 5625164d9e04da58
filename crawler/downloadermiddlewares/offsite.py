"""Only the crawl host is followed: links, redirects and meta refreshes alike.

Scrapy's own ``OffsiteMiddleware`` (a downloader middleware since 2.11.2, the only one since 2.13)
would do three things this crawl cannot have:

- it admits every subdomain of ``allowed_domains`` (``app.sichuanpeace.gov.cn``, or anything a
  hijacked DNS name under the site's domain points at);
- it exempts requests with ``dont_filter`` (the articles earlier runs left pending) and every
  redirect hop they take, since ``RedirectMiddleware`` copies ``dont_filter`` onto the hop;
- it drops an off-site redirect hop from its ``request_scheduled`` handler, before the hop reaches
  the downloader, where no errback hears of it: the article that redirected away is lost silently.

This middleware takes its place (``DOWNLOADER_MIDDLEWARES``: Scrapy's set to None, this one at 50,
Scrapy's slot, ahead of robots.txt so no other host's robots.txt is fetched either). It decides in
``process_request``, for every request that reaches the downloader, with one pure function,
:func:`refusal`: a request is followed when its host is one of the spider's ``allowed_domains``
exactly, or that host's ``www.``/bare twin (``crawler.extract.urls.same_site``, the rule the link
extraction uses), and is not a private, loopback, link-local or reserved address (or ``localhost``)
unless an allowed host is one itself (a mirror on 127.0.0.1). A refused request fails with
:class:`RefusedRequest`, so its errback runs: the spider buckets it (``crawler.accounting``), an
article as a failure kept pending for the next run. Stats: ``offsite/refused/<reason>``.

Page requisites (an article's images and attachments, ``meta["requisite"]``, fetched by the
requisites pipeline) are part of the page as its readers saw it, wherever they are served from, as
browsertrix-crawler and Heritrix take them: with ``REQUISITES_OFFSITE`` (on by default) they may come
from any public host (a CDN, the live site a mirror links to), still never from a private address
unless the crawl host is one; a redirect hop of a requisite keeps its rule; so does the robots.txt
of the requisite's host (Scrapy's robots.txt middleware asks for it through this middleware). They
go through the downloader like pages: robots.txt per host, the politeness delay per host (Scrapy's
download slots are per host), ``REQUISITES_MAX_SIZE``. With ``REQUISITES_OFFSITE=False`` they keep
to the crawl host, as pages do. The requisites pipeline asks :func:`refusal` the same question
before it makes a request, so the rule is decided here only.

Not covered: a host name that resolves to a private address (the check reads the URL, not DNS).
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import re
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.utils.httpobj import urlparse_cached

from ..exceptions import RefusedRequest
from ..extract.urls import same_site

logger = logging.getLogger(__name__)

# Reasons, in the stats (offsite/refused/<reason>) and on the exception.
PRIVATE_ADDRESS = "private_address"
OTHER_HOST = "other_host"

STATS_REFUSED = "offsite/refused/"
# Marks a page requisite's request (set by crawler.pipelines.requisites; a redirect hop keeps it).
META_REQUISITE = "requisite"
# Set by Scrapy's robots.txt middleware on its robots.txt requests.
META_ROBOTS = "dont_obey_robotstxt"
# Host names that are this machine whatever DNS says (RFC 6761).
LOCAL_NAMES = ("localhost", "localhost.localdomain")
# A host that may be an IPv4 address in a short or numeric form (127.1, 0x7f000001, 2130706433),
# which resolvers accept as one.
NUMERIC_HOST_RE = re.compile(r"^[0-9a-fx.]+$")


def ip_address_of(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address a host literally is (any form a resolver reads as one), else None."""
    host = host.strip("[]").lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if not NUMERIC_HOST_RE.match(host):
            return None
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return address


# Asked for every request and every page requisite, of a handful of hosts: answered once per host.
@functools.lru_cache(maxsize=4096)
def is_private_host(host: str) -> bool:
    """True for ``localhost`` and literal private, loopback, link-local, reserved, multicast or
    unspecified IP addresses (pure: no DNS lookup)."""
    name = host.strip("[]").lower().rstrip(".")
    if name in LOCAL_NAMES or name.endswith(".localhost"):
        return True
    address = ip_address_of(name)
    if address is None:
        return False
    return (address.is_private or address.is_loopback or address.is_link_local or address.is_reserved
            or address.is_multicast or address.is_unspecified)


def refusal(url: str, allowed_hosts: Sequence[str], redirected_from: str | None = None,
            any_public_host: bool = False) -> str | None:
    """Why a request for ``url`` is not followed (``private_address``, ``other_host``), or None.

    ``allowed_hosts``: the hosts crawled (no subdomains; a host's ``www.``/bare twin counts as it).
    ``redirected_from``: the URL first asked for, when a redirect led here. Without allowed hosts
    (a spider that names none, as ``scrapy fetch`` and ``shell`` use), every host is followed, as
    Scrapy does, except a redirect from a public host to a private address. ``any_public_host``:
    any host is followed but a private address (unless an allowed host is one): a page requisite's
    rule under ``REQUISITES_OFFSITE`` (:func:`requisite_refusal`).
    """
    host = _hostname(url)
    if host is None:
        return OTHER_HOST
    crawl_hosts = list(allowed_hosts) or [h for h in [_hostname(redirected_from or "")] if h]
    if crawl_hosts and is_private_host(host) and not any(is_private_host(h) for h in crawl_hosts):
        return PRIVATE_ADDRESS
    if allowed_hosts and not any_public_host and not any(same_site(url, h) for h in allowed_hosts):
        return OTHER_HOST
    return None


def requisite_refusal(url: str, crawl_hosts: Sequence[str], offsite: bool) -> str | None:
    """Why a page requisite at ``url`` is not fetched, or None: with ``offsite``
    (``REQUISITES_OFFSITE``) any public host serves one; without, only the crawl host, as for pages."""
    return refusal(url, crawl_hosts, any_public_host=offsite)


def _hostname(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:  # an unparseable authority ("http://[broken"): no host to follow
        return None


class CrawlHostOffsiteMiddleware:
    """Downloader middleware: refuses requests (links and redirect hops) off the crawl host."""

    def __init__(self, crawler: Crawler, requisites_offsite: bool):
        self.crawler = crawler
        self.requisites_offsite = requisites_offsite

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlHostOffsiteMiddleware:
        return cls(crawler, crawler.settings.getbool("REQUISITES_OFFSITE"))

    def process_request(self, request: Request) -> None:
        spider = self.crawler.spider
        allowed = [h for h in (getattr(spider, "allowed_domains", None) or []) if h]
        redirected_from = request.meta.get("redirect_urls") or []
        if request.meta.get(META_REQUISITE) or (request.meta.get(META_ROBOTS)
                                                 and urlparse_cached(request).path == "/robots.txt"):
            # A requisite (or the robots.txt of its host: a page on another host never gets this
            # far, so its robots.txt is never asked for): any public host, under REQUISITES_OFFSITE.
            reason = requisite_refusal(request.url, allowed, self.requisites_offsite)
        else:
            reason = refusal(request.url, allowed, redirected_from[0] if redirected_from else None)
        if reason is None:
            return
        host = urlparse_cached(request).hostname or ""
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(STATS_REFUSED + reason)
        if redirected_from:
            logger.info("Refused redirect (%s): %s redirected to %s", reason, redirected_from[0], request.url)
        else:
            logger.info("Refused request (%s): %s", reason, request.url)
        raise RefusedRequest(request.url, host, reason, redirected=bool(redirected_from))
