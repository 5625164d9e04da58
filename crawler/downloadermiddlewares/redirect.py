"""Scrapy's redirect middlewares, with a redirect to a URL that cannot be parsed left unfollowed.

Since w3lib 2.6 a ``Location`` (or meta refresh URL) that is not a valid URL by the WHATWG rules
(``http://sub.127.0.0.1/``: a host ending in a number must be an IPv4 address) makes Scrapy's
middlewares raise ``ValueError`` while building the next hop. The request then fails with an
exception of no known kind, and the accounting has to file it as ``retries_exhausted``: a lie, no
retry was made, and the article is asked for again forever. Here such a redirect is treated as
Scrapy treats one to a scheme it does not follow (``file:``, ``data:``): the 3xx response is given
back, so the request fails on its status and lands in ``redirect_dropped``; a meta refresh page is
read as the page it is. One warning line and the stat ``redirect/invalid_location`` say so.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware, RedirectMiddleware
from scrapy.http import Response

logger = logging.getLogger(__name__)

STATS_INVALID_LOCATION = "redirect/invalid_location"


class _InvalidLocationNotFollowed:
    crawler: Any

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Request | Response:
        try:
            return super().process_response(request, response)  # type: ignore[misc]  # a mixin: the class it is mixed into has it
        except ValueError as error:  # w3lib's URL parser refused the target
            logger.warning("Not following the redirect of %s (%s): %s", request.url, response.status, error)
            self.crawler.stats.inc_value(STATS_INVALID_LOCATION)
            return response


class ParsedRedirectMiddleware(_InvalidLocationNotFollowed, RedirectMiddleware):
    """Scrapy's 3xx redirects; an unparseable ``Location`` is not followed."""


class ParsedMetaRefreshMiddleware(_InvalidLocationNotFollowed, MetaRefreshMiddleware):
    """Scrapy's meta refresh redirects; an unparseable URL is not followed."""
