"""Accounting: every URL the run attempts ends in exactly one bucket, and the buckets add up.

An attempt is a request the spider made, counted once when it first reaches the downloader
(retries and redirects continue the same attempt; robots.txt is the middleware's, not the
spider's). Its bucket is set where its fate is known: the item pipelines' outcome for an article
that yielded a record, the spider for pages that yield none, the errback for failures, the
scheduler when a redirect lands on a URL already crawled, and the ``spider_error`` signal when a
callback raised. Stats: ``accounting/attempts`` and ``accounting/bucket/<bucket>``; the run's
manifest shows both and whether they balance.

A run's health (:func:`run_health`) comes from those stats only: failed attempts are the attempts
in :data:`FAILURE_BUCKETS`, each counted once, and the error rate is failed over attempted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from scrapy import Request
from scrapy import exceptions as scrapy_exceptions
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import defer
from twisted.internet import error as tx_error
from twisted.python.failure import Failure
from twisted.web.client import ResponseFailed

from .exceptions import Abandoned, ChallengePage, NotArchived, RefusedRequest, TruncatedBody, Unreachable
from .extensions.console import console_kind

try:  # what Twisted puts in a ResponseFailed when a body ends before its Content-Length
    from twisted.web.http import _DataLoss
except ImportError:  # pragma: no cover (a private name of Twisted)
    _DataLoss = None  # type: ignore[assignment,misc]  # the name is absent there
try:  # what HttpCompressionMiddleware chains to its IgnoreRequest when a body inflates past DOWNLOAD_MAXSIZE
    from scrapy.utils._compression import _DecompressionMaxSizeExceeded
except ImportError:  # pragma: no cover (a private name of Scrapy; the message check below remains)
    _DecompressionMaxSizeExceeded = None  # type: ignore[assignment,misc]  # the name is absent there

logger = logging.getLogger(__name__)

# Buckets, each with what lands in it.
RECORD = "record"                      # a record was written (new, modified, deleted)
UNCHANGED = "unchanged"                # known content (same hash, or 304 Not Modified)
LISTING = "listing"                    # home, site map or list page, read for links
# article URL whose page says it is not there (soft 404), or a candidate that is no article
NOT_ARTICLE = "soft_404"
# article URL answering a 200 that cannot be read as its article (empty, binary, unparsable)
UNREADABLE = "unreadable"
HTTP_ERROR = "http_error"              # 4xx (an article URL's 404/410 too), or a 5xx not retried
BROKEN_LINK = "broken_link"            # a linked page that is not an article (list, site map) answered 404/410
RETRIES_EXHAUSTED = "retries_exhausted"  # 5xx/429/412/521, timeouts, dropped connections, after all retries
TRUNCATED = "truncated"                # body shorter than its Content-Length, or a gzip/deflate stream cut short
OFFSITE = "offsite"                    # redirected to another host or a non-HTTP scheme
REDIRECT_REFUSED = "redirect_refused"  # an article URL redirected off the crawl host or to a private address
OVERSIZE = "oversize"                  # larger than DOWNLOAD_MAXSIZE (also once decompressed)
REDIRECT_DROPPED = "redirect_dropped"  # redirect loop or chain longer than REDIRECT_MAX_TIMES
ROBOTS = "robots"                      # forbidden by robots.txt
PARSE_FAILURE = "parse_failure"        # the page broke extraction or a callback raised, or its record was invalid
DUPLICATE = "duplicate"                # same article as another URL of this run
CHALLENGE = "challenge"                # a 200 page that was a challenge, block or busy page (系统繁忙, a WAF)
ID_CONFLICT = "id_conflict"            # an article whose (site, id) the state or this run holds for another URL
# DNS lookup failed or connection refused before the site ever answered: not retried
UNREACHABLE = "unreachable"
STOPPED = "stopped"                    # not fetched: the run was stopping (Ctrl-C, SIGTERM; crawler/run/stopping.py)
NOT_ARCHIVED = "not_archived"          # fetched, but its WARC record could not be written (a full disk)

# The buckets whose attempts failed: the only source of a run's failure count and error rate.
# Not failures: a broken link (the linking page's fault: the site's, not the run's), a page forbidden
# by robots.txt, off-site or dropped redirects of pages that are not articles, duplicates, id conflicts, soft 404s,
# unreadable article pages (the site's bad answer, as a soft 404 was counted; the article stays in the
# state's pending list and is asked for again: only a 404/410, soft-404 wording or a redirect to the
# home page or a list page ever makes an article ``deleted``).
# An article whose redirect was refused was not fetched: a failure.
FAILURE_BUCKETS: tuple[str, ...] = (RETRIES_EXHAUSTED, HTTP_ERROR, OVERSIZE, PARSE_FAILURE, TRUNCATED,
                                    REDIRECT_REFUSED, CHALLENGE, UNREACHABLE, NOT_ARCHIVED)
# Failures that may pass (the site was down, the connection cut, a redirect hijacked, a WAF challenged
# the crawler, the archive's disk was full): the article is asked for again by the next run from the
# state's pending list.
# A request abandoned by a stopping run is no failure, but its article is asked for again too.
TRANSIENT_BUCKETS = frozenset({RETRIES_EXHAUSTED, TRUNCATED, REDIRECT_REFUSED, CHALLENGE, UNREACHABLE, STOPPED,
                               NOT_ARCHIVED})

STATS_ATTEMPTS = "accounting/attempts"
STATS_BUCKET = "accounting/bucket/"
# Article URLs that answered 404/410 (in the http_error bucket); list pages that had links; list
# pages the run needed and could not read (failed, or raised half-way; a broken link is not one).
STATS_ARTICLE_MISSING = "accounting/article_missing"
STATS_LISTS_WITH_LINKS = "discovery/list_pages_with_links"
STATS_LIST_PAGES_FAILED = "discovery/list_pages_failed"
# Article URLs whose (site, id) is held for another canonical URL: never emitted, never a revision
# (the final manifest's ``counts.id_conflicts``).
STATS_ID_CONFLICT = "state/id_conflict"
GONE_STATUSES = (404, 410)

# Request meta: the page that linked the request (set by the spider, else taken from the Referer
# header when the attempt starts), the bucket an attempt was put in, and whether a callback raised.
META_LINKED_FROM = "linked_from"
META_BUCKET = "accounting_bucket"
META_ESCAPED = "accounting_escaped"



def _scrapy_types(*names: str) -> tuple[type[BaseException], ...]:
    """Scrapy's download-handler exceptions of these names (newer Scrapy: older ones raise Twisted's)."""
    return tuple(getattr(scrapy_exceptions, name) for name in names if hasattr(scrapy_exceptions, name))


# A body that ended before its Content-Length (DOWNLOAD_FAIL_ON_DATALOSS), after all retries.
DATA_LOSS_ERRORS: tuple[type[BaseException], ...] = (TruncatedBody, *_scrapy_types("ResponseDataLossError"))
# The download handler cancelled the download: it does so when the body passes DOWNLOAD_MAXSIZE
# (older Scrapy versions let Twisted's CancelledError through).
CANCELLED_ERRORS = (*_scrapy_types("DownloadCancelledError"), defer.CancelledError)
UNSUPPORTED_SCHEME_ERRORS = _scrapy_types("UnsupportedURLSchemeError")
# Transport failures that retries did not cure: Scrapy's types, and Twisted's (which older Scrapy
# versions let through, and which handlers that do not wrap them still raise).
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    *_scrapy_types("DownloadTimeoutError", "DownloadConnectionRefusedError", "CannotResolveHostError",
                   "DownloadFailedError"),
    tx_error.TimeoutError, tx_error.DNSLookupError, tx_error.ConnectError, tx_error.ConnectionLost,
    tx_error.ConnectionDone, ResponseFailed,
)


def id_conflict(stats: Any, site: str, article_id: str, url: str, held_url: str) -> None:
    """Log and count an article URL whose (site, id) is held for another URL: the one place that
    says so, whoever found it (discovery, the dedupe or the state pipeline)."""
    stats.inc_value(STATS_ID_CONFLICT)
    logger.warning("Id conflict: %s has id %s of %s, which is held for %s; not emitted, not a revision",
                   url, article_id, site, held_url)


def meta_of(where: Response | Request | Failure | None) -> dict[str, Any] | None:
    """The meta of the attempt a response, request or (errback) failure belongs to."""
    if isinstance(where, Request):
        return where.meta
    if isinstance(where, Failure):
        request = getattr(where, "request", None)
        return request.meta if isinstance(request, Request) else None
    if isinstance(where, Response) and isinstance(where.request, Request):
        return where.request.meta
    return None


def count(crawler: Crawler, bucket: str, where: Response | Request | None = None) -> None:
    """Put one attempt in ``bucket``.

    Given the attempt's response (or request), the bucket is noted on it, so that a callback raising
    afterwards moves the attempt to ``parse_failure`` instead of counting it twice; once a callback
    raised, the attempt is settled and later buckets for it are not counted.
    """
    assert crawler.stats is not None
    meta = meta_of(where)
    if meta is not None:
        if meta.get(META_ESCAPED):
            return
        meta[META_BUCKET] = bucket
    crawler.stats.inc_value(STATS_BUCKET + bucket)


class DropRecord(DropItem):
    """DropItem that says which bucket its attempt goes to."""

    def __init__(self, message: str, bucket: str, log_level: str | None = None):
        super().__init__(message, log_level=log_level)
        self.bucket = bucket


def linked_from(request: Request | None) -> str | None:
    """The page that linked ``request``: what the spider noted, else its Referer header."""
    if request is None:
        return None
    noted = request.meta.get(META_LINKED_FROM)
    if noted:
        return str(noted)
    referer = request.headers.get(b"Referer")
    return referer.decode("latin-1") if referer else None


def _lost_data(error: BaseException | None) -> bool:
    """A ResponseFailed (raised by a handler that does not wrap it) for a body cut short."""
    reasons = getattr(error, "reasons", None) if isinstance(error, ResponseFailed) else None
    return _DataLoss is not None and any(isinstance(r, Failure) and r.check(_DataLoss) for r in reasons or ())


def _ignored_by(error: IgnoreRequest) -> str:
    """The bucket of a plain IgnoreRequest, raised by one of Scrapy's downloader middlewares."""
    cause = error.__cause__
    if _DecompressionMaxSizeExceeded is not None and isinstance(cause, _DecompressionMaxSizeExceeded):
        return OVERSIZE
    # Last resort: Scrapy's robots.txt, redirect and offsite middlewares all raise a bare
    # IgnoreRequest (no subclass, no cause), so only their messages tell them apart:
    # "Forbidden by robots.txt", "max redirections reached", "Filtered offsite request to ...".
    message = str(error).lower()
    if "offsite" in message:
        return OFFSITE
    if "robots.txt" in message:
        return ROBOTS
    if "redirect" in message:
        return REDIRECT_DROPPED
    if "max size" in message or "maxsize" in message or "download_maxsize" in message:
        return OVERSIZE
    return OFFSITE  # any other middleware's deliberate drop: out of the crawl's scope


def classify_failure(failure: Failure, article: bool = True) -> str:
    """The bucket of a request that failed in the downloader or on its response status.

    ``article``: whether the URL is an article's. A 404/410 on any other page that a page linked is
    a broken link, not a failure; on an article, or on the start page, it is an ``http_error``.
    """
    error = failure.value
    if isinstance(error, Abandoned):
        return STOPPED
    if isinstance(error, Unreachable):
        return UNREACHABLE
    if isinstance(error, ChallengePage):
        return CHALLENGE
    if isinstance(error, NotArchived):
        return NOT_ARCHIVED
    if isinstance(error, HttpError):
        response: Response = error.response
        if 300 <= response.status < 400:  # a redirect not followed (to file:, data:, ftp: ...)
            return REDIRECT_DROPPED
        if response.status in GONE_STATUSES:
            request = getattr(failure, "request", None) or response.request
            return HTTP_ERROR if article or linked_from(request) is None else BROKEN_LINK
        retried = response.request is not None and response.request.meta.get("retry_times", 0) > 0
        return RETRIES_EXHAUSTED if retried or response.status >= 500 or response.status == 429 else HTTP_ERROR
    if isinstance(error, DATA_LOSS_ERRORS) or _lost_data(error):
        return TRUNCATED
    if isinstance(error, CANCELLED_ERRORS):
        return OVERSIZE
    if isinstance(error, UNSUPPORTED_SCHEME_ERRORS):
        return OFFSITE
    if isinstance(error, TRANSIENT_ERRORS):
        return RETRIES_EXHAUSTED
    if isinstance(error, RefusedRequest):
        return REDIRECT_REFUSED if article and error.redirected else OFFSITE
    if isinstance(error, IgnoreRequest):
        return _ignored_by(error)
    # An exception of no known type (a third-party handler's): a failure all the same.
    return RETRIES_EXHAUSTED


def record_failure(crawler: Crawler, failure: Failure, article: bool = True) -> str:
    """For a spider's errback: bucket a failed request once, list it if it is a broken link or a
    missing article (``AccountingExtension``), log it; returns the bucket."""
    bucket = classify_failure(failure, article)
    request = getattr(failure, "request", None)
    # After redirects, name the URL the spider asked for.
    url = request.meta.get("redirect_urls", [request.url])[0] if request is not None else "?"
    linking = linked_from(request)
    count(crawler, bucket, request)
    error = failure.value
    status = error.response.status if isinstance(error, HttpError) else None
    from .extensions.accounting import AccountingExtension  # it imports this module

    ledger = crawler.get_extension(AccountingExtension)
    if bucket == BROKEN_LINK:
        if ledger is not None:
            ledger.broken_link(url, status, linking)
        logger.info("Broken link (%s): %s answered %s, linked from %s", bucket, url, status, linking)
        return bucket
    # One line for the stop (crawler/run/stopping.py) or for the unreachable site (the run's summary),
    # not one per request.
    if bucket in (STOPPED, UNREACHABLE):
        logger.info("Not fetched (%s): %s", bucket, url)
        return bucket
    if status in GONE_STATUSES and article:
        assert crawler.stats is not None
        crawler.stats.inc_value(STATS_ARTICLE_MISSING)
        if ledger is not None:
            ledger.missing_article(url, status, linking)
    logger.warning("Request failed (%s): %s: %s%s", bucket, url, failure.getErrorMessage()[:200],
                   f" (linked from {linking})" if linking else "", extra=console_kind(f"failed requests ({bucket})"))
    return bucket


def run_health(stats: Mapping[str, Any]) -> dict[str, Any]:
    """The run's failure accounting from its stats, for the run report (pure).

    ``attempted``: URLs attempted (retries are not attempts); ``failed``: attempts in
    :data:`FAILURE_BUCKETS`, each once; ``error_rate``: failed / attempted (0.0 when nothing was
    attempted); ``broken_links``: linked non-article pages that answered 404/410 (not failures);
    ``article_missing``: article URLs that answered 404/410 (failures, in ``http_error``);
    ``lists_with_links``: list pages (home, site maps, channel lists) that had at least one article,
    channel or site-map link: 0 means the run discovered nothing (a WAF challenge page, an empty home);
    ``list_pages_failed``: list pages that failed or raised half-way (broken links are not counted);
    ``challenged``: attempts answered by a challenge, block or busy page (bucket ``challenge``).
    """
    buckets = {key[len(STATS_BUCKET):]: int(value) for key, value in stats.items()
               if key.startswith(STATS_BUCKET) and value}
    attempted = int(stats.get(STATS_ATTEMPTS, 0) or 0)
    failed_by_bucket = {bucket: buckets[bucket] for bucket in FAILURE_BUCKETS if buckets.get(bucket)}
    failed = sum(failed_by_bucket.values())
    return {
        "attempted": attempted,
        "failed": failed,
        "error_rate": failed / attempted if attempted else 0.0,
        "failed_by_bucket": failed_by_bucket,
        "broken_links": buckets.get(BROKEN_LINK, 0),
        "article_missing": int(stats.get(STATS_ARTICLE_MISSING, 0) or 0),
        "lists_with_links": int(stats.get(STATS_LISTS_WITH_LINKS, 0) or 0),
        "list_pages_failed": int(stats.get(STATS_LIST_PAGES_FAILED, 0) or 0),
        "challenged": buckets.get(CHALLENGE, 0),
        "buckets": buckets,
        "balanced": attempted == sum(buckets.values()),
    }
