"""The answer to a recheck: what a known article's page says now that it is asked for again.

A recheck (``History.recheck_plan``) is a conditional request that reads its redirects itself. Its
answer is one of: unchanged (304), gone (404/410, a soft-404 page, or a redirect to the home page or
a channel list page: how a CMS says an article was removed), moved (a redirect elsewhere, followed
one hop at a time as Scrapy's redirect middleware would), or a redirect not followed. Pure: URLs
and a status in, a decision out; the spider logs, counts and routes it, and the state pipeline
decides whether a deleted record is news (the article was live) or a return.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import urljoin, urlsplit

from ..extract.urls import ArticleRef, list_page, same_site
from ..items import ArticleItem

# Answers a recheck handles itself: not modified, and gone; and redirects (gone when to the home
# page or a list page).
RECHECK_STATUSES = [304, 404, 410]
REDIRECT_STATUSES = [301, 302, 303, 307, 308]
# The paths of a site's home page below its base URL's path.
HOME_PAGES = ("", "index.html", "index.htm", "index.shtml")


class Verdict(Enum):
    """What a recheck's answer says of the known article."""

    UNCHANGED = "unchanged"                # 304: only its last check is recorded
    GONE = "gone"                          # a deleted record (the state pipeline keeps it if it was live)
    MOVED = "moved"                        # a redirect elsewhere: the next hop is asked for
    NO_LOCATION = "no_location"            # a redirect without a Location: a failed answer
    TOO_MANY_HOPS = "too_many_hops"        # past REDIRECT_MAX_TIMES: dropped, as Scrapy drops it


@dataclass(frozen=True)
class RecheckAnswer:
    """A recheck's verdict; for a redirect, where it led (``target``) and the URLs asked so far (``hops``)."""

    verdict: Verdict
    target: str | None = None
    hops: tuple[str, ...] = ()


def answer_recheck(status: int, url: str, location: str | None, redirect_urls: list[str], base_url: str,
                   crawl_host: str, redirect_max_times: int) -> RecheckAnswer:
    """The verdict on a recheck that answered ``status`` (one of RECHECK_STATUSES or REDIRECT_STATUSES)
    at ``url``, after ``redirect_urls`` (the hops before it) and with this ``Location`` header."""
    if status == 304:
        return RecheckAnswer(Verdict.UNCHANGED)
    if status not in REDIRECT_STATUSES:
        return RecheckAnswer(Verdict.GONE)
    target = urljoin(url, location) if location else None
    if target is not None and redirects_to_listing(target, base_url, crawl_host):
        return RecheckAnswer(Verdict.GONE, target)
    hops = (*redirect_urls, url)
    if target is None:
        return RecheckAnswer(Verdict.NO_LOCATION, None, hops)
    if len(hops) > redirect_max_times:
        return RecheckAnswer(Verdict.TOO_MANY_HOPS, target, hops)
    return RecheckAnswer(Verdict.MOVED, target, hops)


def redirects_to_listing(target: str, base_url: str, crawl_host: str) -> bool:
    """A redirect target that is the site's home page or a channel list page: the article is gone."""
    if not same_site(target, crawl_host):
        return False
    path = urlsplit(target).path or "/"
    home = urlsplit(base_url).path or "/"
    return path in {home + page for page in HOME_PAGES} or list_page(target) is not None


def rechecked_url(url: str, redirect_urls: list[str] | None) -> str:
    """The URL a request asked for, before any redirect hop (the known article a recheck names)."""
    return (redirect_urls or [url])[0]


def gone_record(ref: ArticleRef, site: str, warc: dict[str, Any] | None) -> ArticleItem:
    """The deleted record of a rechecked article (the state pipeline drops it unless the article
    was live; it fills in revision, first_seen and the first channel)."""
    item = ArticleItem.deleted(ref.url, ref.id, site, ref.channel)
    item.url_shape = ref.shape
    item.warc = warc
    return item
