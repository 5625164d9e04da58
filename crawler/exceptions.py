"""The crawler's own exceptions, in one module as Scrapy keeps its own (``scrapy.exceptions``).

Each is raised by one downloader middleware to fail a request, and read by the accounting
(:mod:`crawler.accounting`) to put the attempt in its bucket; neither side imports the other.
All are ``IgnoreRequest``s, so Scrapy calls the request's errback and logs nothing more.
"""

from __future__ import annotations

from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response


class TruncatedBody(IgnoreRequest):
    """The response body is not whole: a gzip/deflate stream cut short or corrupt, or (with
    DOWNLOAD_FAIL_ON_DATALOSS off) shorter than its Content-Length.

    Raised by :mod:`crawler.downloadermiddlewares.truncation`; bucket ``truncated``."""

    def __init__(self, message: str, response: Response | None = None):
        super().__init__(message)
        self.response = response


class RefusedRequest(IgnoreRequest):
    """A request this crawl does not follow; ``reason`` is ``other_host`` or ``private_address``,
    ``redirected`` says whether a redirect (3xx or meta refresh) led to it.

    Raised by :mod:`crawler.downloadermiddlewares.offsite`; bucket ``offsite`` or
    ``redirect_refused``."""

    def __init__(self, url: str, host: str, reason: str, redirected: bool):
        what = "redirect" if redirected else "request"
        # "offsite" in the message: the word accounting's fallback reads off a bare IgnoreRequest.
        super().__init__(f"Filtered offsite {what} to {host!r} ({reason.replace('_', ' ')}): {url}")
        self.url = url
        self.host = host
        self.reason = reason
        self.redirected = redirected


class ChallengePage(IgnoreRequest):
    """The site answered a challenge, block or busy page (status 200) in place of the page asked for.

    Raised by :mod:`crawler.downloadermiddlewares.challenge`; bucket ``challenge``."""

    def __init__(self, reason: str, response: Response | None = None):
        super().__init__(f"challenge page ({reason})")
        self.reason = reason
        self.response = response


class Unreachable(IgnoreRequest):
    """The crawl host cannot be reached at all (DNS lookup failed, connection refused) and nothing
    has answered this run: not retried, and the run ends (exit code 4).

    Raised by :mod:`crawler.downloadermiddlewares.retry`; bucket ``unreachable``."""

    def __init__(self, host: str, reason: str):
        super().__init__(f"cannot reach {host}: {reason}")
        self.host = host
        self.reason = reason


class Abandoned(IgnoreRequest):
    """A request given up because the run is stopping (Ctrl-C, SIGTERM): its article is asked for
    by the next run.

    Raised by :mod:`crawler.run.stopping` and :mod:`crawler.downloadermiddlewares.retry`; bucket ``stopped``."""

    def __init__(self) -> None:
        super().__init__("not fetched: the run is stopping")


class NotArchived(IgnoreRequest):
    """The response could not be written to the WARC archive (a full disk, an I/O error), or the
    archive is broken since an earlier write failed: no record may point at it, and no later slice
    commits (the run exits ``OUTPUT_FAILED``).

    Raised by :mod:`crawler.downloadermiddlewares.warc`; bucket ``not_archived``."""
