"""A live progress display for ``scrapy crawl`` on a terminal (rich): a backfill runs for days.

It shows pages fetched and their rate, records by status, failures, the list page being read and
the elapsed time, redrawn ``PROGRESS_REFRESH_PER_SECOND`` times a second on stderr. It costs the
crawl almost nothing: the signal handler per response keeps one reference, and the figures are
read from the stats (a few dictionary lookups) by rich's refresh thread, not computed per item.

``PROGRESS_ENABLED``: ``auto`` (the default) shows it only when stderr is a terminal, so cron's mail
holds warnings and the summary, never a redrawn screen; ``True`` / ``False`` force it. Only the
crawl that holds the OUTPUT_DIR lock shows it: ``scrapy shell`` and ``parse`` own their terminal.
"""

from __future__ import annotations

import atexit
import sys
import time
from collections import deque
from typing import Any, TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.statscollectors import StatsCollector

from ..accounting import FAILURE_BUCKETS, STATS_BUCKET
from ..extract.urls import list_page
from ..run.lock import holds
from ..run.stopping import stop_requested, stopping_line

# The spider's callbacks that read pages for links (crawler/spiders/sichuanpeace.py): what they read
# is "the list page being read".
LIST_CALLBACKS = frozenset({"parse_listing_page", "parse_sitemap", "parse_feed"})
# Records by the status the state pipeline gave them (stats ``state/<status>``), in display order.
RECORD_STATUSES = ("new", "modified", "deleted", "restored")
# The rate is over this many seconds of the recent past: a polite crawl's rate changes with the site.
RATE_WINDOW = 60.0
AUTO = "auto"


def progress_wanted(value: Any, stream: TextIO) -> bool:
    """Whether to show the display: ``auto`` when ``stream`` is a terminal, else the flag's value."""
    if value is None or str(value).strip().lower() == AUTO:
        isatty = getattr(stream, "isatty", None)
        return bool(isatty and isatty())
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)


class ProgressView:
    """What the display shows, rendered from the stats whenever rich refreshes."""

    def __init__(self, stats: StatsCollector, run_id: str | None, site: str | None = None):
        self.stats = stats
        self.run_id = run_id or ""
        self.site = site or ""
        self.started = time.monotonic()
        self.phase = "crawling"
        self.reading: tuple[str, str | None] | None = None  # (URL, channel name) of the last list page read
        self.samples: deque[tuple[float, int]] = deque()  # (time, pages fetched), over RATE_WINDOW
        self.spinner = Spinner("dots", style="cyan")

    def list_page_read(self, url: str, channel_name: str | None) -> None:
        self.reading = (url, channel_name)

    def figures(self) -> dict[str, int]:
        """The counters shown: single lookups, safe from the refresh thread while the crawl adds to them."""
        get = self.stats.get_value
        figures = {"pages": get("response_received_count", 0)}
        for status in RECORD_STATUSES:
            figures[status] = get(f"state/{status}", 0)
        figures["unchanged"] = get("state/unchanged", 0) + get("state/not_modified", 0)
        figures["failures"] = sum(get(STATS_BUCKET + bucket, 0) for bucket in FAILURE_BUCKETS)
        return figures

    def rate(self, now: float, pages: int) -> float:
        """Pages a minute over the last RATE_WINDOW seconds (since the start, early on)."""
        self.samples.append((now, pages))
        while len(self.samples) > 1 and now - self.samples[0][0] > RATE_WINDOW:
            self.samples.popleft()
        then, pages_then = self.samples[0]
        span = now - then
        return 60.0 * (pages - pages_then) / span if span >= 1.0 else 0.0

    def __rich__(self) -> Group:
        now = time.monotonic()
        figures = self.figures()
        elapsed = int(now - self.started)
        # Plain Text lines, no Table: a frame costs well under a millisecond of the crawl's thread.
        header = self.spinner.render(now) if self.phase == "crawling" else Text("•", style="cyan")
        assert isinstance(header, Text)  # a spinner without text renders its frame as a Text
        header.append_text(Text.assemble(
            " ", (self.site, "bold"), " ", (self.run_id, "dim"), f" {self.phase} ",
            f"elapsed {elapsed // 3600}:{elapsed % 3600 // 60:02d}:{elapsed % 60:02d}"))
        counts = Text.assemble(
            ("pages ", "dim"), (f"{figures['pages']:,}", "bold"),
            (f" ({self.rate(now, figures['pages']):.1f}/min)", "dim"),
            ("   records ", "dim"),
            *[part for status in RECORD_STATUSES
              for part in ((f"{figures[status]:,}", "bold green"), (f" {status}  ", ""))],
            (f"{figures['unchanged']:,}", "bold"), (" unchanged", ""),
            ("   failures ", "dim"), (f"{figures['failures']:,}", "bold red" if figures["failures"] else "bold"),
        )
        return Group(header, counts, self._reading_line())

    def _reading_line(self) -> Text:
        if self.reading is None:
            return Text("reading: (no list page yet)", style="dim")
        url, channel_name = self.reading
        key = list_page(url)
        where = f"{key[0]} page {key[1] + 1}" if key is not None else "home / site map"
        line = Text.assemble(("reading " if self.phase == "crawling" else "last read ", "dim"), (where, "bold"))
        if channel_name:
            line.append(f" {channel_name}")
        line.append(f"  {url}", style="dim")
        line.no_wrap = True
        line.overflow = "ellipsis"
        return line


class Progress:
    """Extension: the live display from engine start to engine stop, drawn on stderr."""

    def __init__(self, view: ProgressView, refresh_per_second: float, console: Console):
        self.view = view
        self.live = Live(view, console=console, refresh_per_second=refresh_per_second, transient=False,
                         # stdout may be the records feed (-o stdout:): never written to by the display.
                         redirect_stdout=False, redirect_stderr=True)
        self.running = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Progress:
        settings = crawler.settings
        if not holds(settings.get("OUTPUT_DIR")) or not progress_wanted(settings.get("PROGRESS_ENABLED"), sys.stderr):
            raise NotConfigured  # no message: Scrapy would log one as a warning, into cron's mail
        assert crawler.stats is not None
        view = ProgressView(crawler.stats, settings.get("RUN_ID"))
        extension = cls(view, settings.getfloat("PROGRESS_REFRESH_PER_SECOND"), Console(file=sys.stderr))
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.response_received, signal=signals.response_received)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(extension.engine_stopped, signal=signals.engine_stopped)
        crawler.signals.connect(extension.stop_requested, signal=stop_requested)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        self.view.site = getattr(spider, "site", None) or spider.name
        self.view.started = time.monotonic()
        self.live.start()
        self.running = True
        # A crash that never stops the engine must not leave the terminal with a hidden cursor.
        atexit.register(self.stop)

    def response_received(self, response: Response, request: Request, spider: Spider) -> None:
        if getattr(request.callback, "__name__", None) in LIST_CALLBACKS:
            self.view.list_page_read(response.url, request.cb_kwargs.get("channel_name"))

    def stop_requested(self, in_flight: int) -> None:
        self.view.phase = stopping_line(in_flight)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        self.view.phase = f"committing ({reason})"

    def engine_stopped(self) -> None:
        self.view.phase = "done"
        self.stop()

    def stop(self) -> None:
        """Draw the last frame and give the terminal back (cursor shown, stderr restored); once."""
        if self.running:
            self.running = False
            self.live.stop()
