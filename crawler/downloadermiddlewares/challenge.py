"""Challenge, block and busy pages served with status 200 never reach the spider.

A WAF or an overloaded CMS answers 200 with a page that is not the one asked for (系统繁忙,
访问过于频繁, 请开启JavaScript, a cookie-setting script, a 安全狗 or Cloudflare block page). Read as an
article it would become a soft 404 or, worse, a record whose id is then known and never fetched
again; read as a list page it would hold no links. This middleware asks
``crawler.extract.challenge.challenge_reason`` about every 200 HTML response of a spider request
and fails the request with :class:`ChallengePage` instead: the request's errback buckets it as
``challenge`` (``crawler/accounting.py``, a failure that passes), so an article is kept pending in
the state and asked for again by the next run, a list page counts as not read, and the run is not
complete (``crawler/run/verdict.py``).

Its place (580): inside RedirectMiddleware (600) and HttpCompressionMiddleware (590), so it sees
the final, inflated body; the WARC middleware (950) has archived the response as received.
Stats: ``challenge/pages`` and ``challenge/<rule>``; a summary line when the spider closes.
"""

from __future__ import annotations

import logging

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.http import HtmlResponse, Response

from ..exceptions import ChallengePage
from ..extract.challenge import challenge_reason

logger = logging.getLogger(__name__)

PRIORITY = 580
STATS_PAGES = "challenge/pages"
STATS_RULE = "challenge/"


class ChallengeMiddleware:
    """Downloader middleware: fails a request whose 200 HTML answer is a challenge page."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ChallengeMiddleware:
        middleware = cls(crawler)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def process_response(self, request: Request, response: Response) -> Response:
        # robots.txt is the robots middleware's (dont_obey_robotstxt), not a page the spider reads.
        if response.status != 200 or not isinstance(response, HtmlResponse) or request.meta.get("dont_obey_robotstxt"):
            return response
        reason = challenge_reason(response.body, (response.headers.get(b"Content-Type") or b"").decode("latin-1"))
        if reason is None:
            return response
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(STATS_PAGES)
        self.crawler.stats.inc_value(STATS_RULE + reason.split(":", 1)[0])
        if request.errback is None:  # else the errback logs it once, with its bucket (crawler.accounting)
            logger.warning("Challenge page (%s) in place of %s: not read", reason, response.url)
        raise ChallengePage(reason, response)

    def spider_closed(self) -> None:
        assert self.crawler.stats is not None
        pages = self.crawler.stats.get_value(STATS_PAGES, 0)
        if pages:
            rules = {key[len(STATS_RULE):]: value for key, value in self.crawler.stats.get_stats().items()
                     if key.startswith(STATS_RULE) and key != STATS_PAGES}
            logger.warning("%s challenge, block or busy pages answered with status 200 (%s): the run is not "
                           "complete; their articles are asked for again by the next run", pages,
                           ", ".join(f"{rule} {n}" for rule, n in sorted(rules.items())))
