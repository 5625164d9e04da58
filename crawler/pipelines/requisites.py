"""Requisites pipeline: an article's images and attachments fetched into the WARC archive, once.

A replay of an archived article (pywb, ReplayWeb.page) shows its pictures only when the archive
holds them. For each record about to be emitted, every image (and every attachment, up to
REQUISITES_MAX_SIZE bytes) on the crawl host is fetched through the downloader, so robots.txt,
the download delay, AutoThrottle, retries and the offsite rule apply to it as to a page, and the
WARC middleware archives it. Its response record's position goes into ``images[].warc`` (and
``attachments[].warc``).

An item's requisites are asked for together (the downloader's per-host limits space them), so an
article with ten pictures waits about as long as for its slowest one, not for the ten in a row.

Ordering, for the commit protocol: the item waits in this pipeline until its requisites' records
are written (the WARC middleware hands back their position only once written), so the record
reaches the feed, and its slice, after them; the slice's commit seals every WARC record written
before it (``warc_sealed`` precedes ``manifest_written``). A record never points into a WARC file
that is not sealed and listed by the same or an earlier manifest.

Once: a URL fetched earlier in this run, or archived with status 200 in a WARC file a committed
manifest lists (its newest capture, asked of the capture index in the state store one URL at a
time, ``crawler.state.captures``), is not fetched again;
its earlier record is pointed at once it is read back. A capture whose record cannot be read back
(its WARC file gone or damaged) is fetched again (``requisites/earlier_unreadable``), as a page's
revisit is archived in full then. Identical bytes at two URLs are counted
(``requisites/identical_payload``): both are archived, since a replay looks a requisite up by URL.

What the pipeline holds is bounded however long the run: it remembers the last REQUISITES_REMEMBERED
URLs it settled (``requisites/reused``) and payload digests it saw. One fetched earlier in this run
and forgotten since is found in the capture index once its slice is promoted
(``requisites/archived_earlier``), as an earlier run's is; a failed one is tried again.

A requisite that fails (404, robots.txt, too large, retries exhausted) leaves its ``warc`` null and
is counted (``requisites/failed/<reason>``); the record still goes out. Which hosts a requisite
may come from is the offsite middleware's rule (``offsite.requisite_refusal``): any public host with
``REQUISITES_OFFSITE`` (the default), only the crawl host without; never a private address unless the
crawl host is one. A requisite it refuses is not requested (``requisites/skipped/<reason>``). Requisites are not
attempts of the run's accounting (they are no pages: ``meta["accounted"]``); their own stats are
``requisites/*``.

Runs last (after the state pipeline): only records that will be emitted fetch anything, and the
pointers are not part of the content the state compares.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.python.failure import Failure

from ..accounting import META_LINKED_FROM, classify_failure
from ..archive.warc import StoredCaptures
from ..downloadermiddlewares.offsite import META_REQUISITE as OFFSITE_META_REQUISITE
from ..downloadermiddlewares.offsite import requisite_refusal
from ..downloadermiddlewares.warc import WarcArchiveMiddleware
from ..items import STATUS_DELETED, ArticleItem
from ..recent import RecentValues
from ..state.stores import state_store

logger = logging.getLogger(__name__)

# Marks a requisite request (the WARC middleware archives it like any response).
META_REQUISITE = OFFSITE_META_REQUISITE  # the offsite middleware reads it: any public host
# Requisites before the articles and list pages waiting: their article's record waits for them.
PRIORITY_REQUISITE = 30
# Requisites whose pointer (or failure) the pipeline remembers: a picture shown again soon (a series'
# banner) is pointed at without asking the index. ~0.6 KB each; about 2,000 articles' pictures, more
# than a slice holds (CHECKPOINT_RECORDS), so one is in the index before it is forgotten.
REQUISITES_REMEMBERED = 4096

Pointer = dict[str, Any]


class RequisitesPipeline:
    """Fetch each emitted record's images and attachments into the archive; point at their records."""

    def __init__(self, crawler: Crawler, max_size: int, offsite: bool):
        self.crawler = crawler
        self.offsite = offsite  # REQUISITES_OFFSITE: any public host, not only the crawl host
        self.stats = crawler.stats
        self.max_size = max_size
        self.output_dir = Path(crawler.settings.get("OUTPUT_DIR"))
        # URL → its pointer (None: it failed this run), for the URLs settled last.
        self.fetched: RecentValues[Pointer | None] = RecentValues(REQUISITES_REMEMBERED)
        self.under_way: dict[str, asyncio.Future] = {}  # URL → the fetch under way for it
        # Payload digest → first URL archived with it, among the last ones archived.
        self.digests: RecentValues[str] = RecentValues(REQUISITES_REMEMBERED)
        self.earlier: StoredCaptures | None = None  # the capture index, opened on first need

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RequisitesPipeline:
        settings = crawler.settings
        if not settings.getbool("REQUISITES_ENABLED") or not settings.getbool("WARC_ENABLED"):
            raise NotConfigured
        return cls(crawler, settings.getint("REQUISITES_MAX_SIZE"), settings.getbool("REQUISITES_OFFSITE"))

    async def process_item(self, item: ArticleItem) -> ArticleItem:
        # Outside a ``scrapy crawl`` holding OUTPUT_DIR nothing is archived: nothing to point at.
        if item.status == STATUS_DELETED or self.crawler.get_downloader_middleware(WarcArchiveMiddleware) is None:
            return item
        requisites: list[dict[str, Any]] = [*item.images, *item.attachments]
        # All at once: the downloader's limits (per host, robots.txt, delay) space them, not the
        # wait for the one before; a URL listed twice is fetched once (``under_way``).
        pointers = await asyncio.gather(*(self._pointer(requisite["url"], item.url) for requisite in requisites))
        for requisite, pointer in zip(requisites, pointers, strict=True):
            requisite["warc"] = pointer
        return item

    async def _pointer(self, url: str, page_url: str) -> Pointer | None:
        """Where ``url``'s response record is: fetched once per run, never again once committed."""
        under_way = self.under_way.get(url)
        if under_way is not None:
            return await asyncio.shield(under_way)
        if url in self.fetched:
            self.stats.inc_value("requisites/reused")
            return self.fetched[url]
        spider = self.crawler.spider
        crawl_host = getattr(spider, "crawl_host", None)
        reason = requisite_refusal(url, [crawl_host] if crawl_host else [], self.offsite)
        if reason is not None:
            self.stats.inc_value(f"requisites/skipped/{reason}")
            logger.debug("Requisite not fetched (%s): %s (of %s)", reason, url, page_url)
            self.fetched[url] = None
            return None
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self.under_way[url] = future
        try:
            pointer = await self._earlier(url)
            if pointer is None:
                pointer = await self._fetch(url, page_url)
        except Exception as error:  # a failed requisite costs its pointer, never the record
            logger.exception("Requisite %s of %s failed unexpectedly", url, page_url)
            self.stats.inc_value(f"requisites/failed/{type(error).__name__}")
            pointer = None
        self.fetched[url] = pointer
        del self.under_way[url]
        future.set_result(pointer)
        return pointer

    async def _earlier(self, url: str) -> Pointer | None:
        """The record an earlier run committed for ``url``, if it is an image or file (status 200,
        not text) and can be read back; else None, and ``url`` is fetched again."""
        if self.earlier is None:
            self.earlier = StoredCaptures(self.output_dir, state_store(self.crawler).capture)
        found = self.earlier.known(url)  # one question to the index, on the reactor thread
        if found is None or found.status != 200 or found.mime.startswith("text/"):
            return None
        capture = await asyncio.to_thread(self.earlier.newest, url, found)  # reads its record back
        if capture is None:  # its WARC file gone or damaged: archived again, as a revisit would be
            self.stats.inc_value("requisites/earlier_unreadable")
            return None
        self.stats.inc_value("requisites/archived_earlier")
        return {"file": capture.file, "record_id": capture.record_id, "offset": capture.offset}

    async def _fetch(self, url: str, page_url: str) -> Pointer | None:
        request = Request(url, headers={"Referer": page_url}, priority=PRIORITY_REQUISITE, dont_filter=True,
                          meta={META_REQUISITE: True, "accounted": True, META_LINKED_FROM: page_url,
                                "download_maxsize": self.max_size})
        engine = self.crawler.engine
        assert engine is not None
        self.stats.inc_value("requisites/requested")
        try:
            if hasattr(engine, "download_async"):  # Scrapy >= 2.14
                response = await engine.download_async(request)
            else:
                response = await maybe_deferred_to_future(engine.download(request))
        except Exception as error:
            reason = classify_failure(Failure(error), article=False)  # the run's own buckets' names
            self.stats.inc_value(f"requisites/failed/{reason}")
            logger.info("Requisite not archived (%s): %s (of %s)", reason, url, page_url)
            return None
        pointer = response.meta.get("warc")
        if response.status != 200 or pointer is None:
            self.stats.inc_value(f"requisites/failed/http_{response.status}")
            logger.info("Requisite not archived (HTTP %s): %s (of %s)", response.status, url, page_url)
            return None
        self.stats.inc_value("requisites/archived")
        self._note_digest(url, response.meta.get("warc_payload_digest"))
        return dict(pointer)

    def _note_digest(self, url: str, digest: str | None) -> None:
        """Count a second URL with the same bytes (by the payload digest the WARC record holds)."""
        if digest is None:
            return
        first = self.digests.get(digest)
        if first is None:
            self.digests[digest] = url
        elif first != url:
            self.stats.inc_value("requisites/identical_payload")
            logger.debug("Requisite %s has the same bytes as %s", url, first)
