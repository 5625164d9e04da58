"""Stopping a run on Ctrl-C or SIGTERM: the first commits what is done within seconds, a second stops at once.

Scrapy's graceful stop waits for every request the downloader holds: with a 2 s delay per request
and up to CONCURRENT_REQUESTS of them queued for the one host (plus retries sleeping their backoff),
that was 30-41 s. Nothing is lost by not waiting: an article not fetched is found again by the next
run (this run is incomplete, so the next one pages every list to its end), and a request abandoned
here is counted in the bucket ``stopped`` (not a failure) and its article put on the state's
pending list. So the first signal abandons every request that has not started its transfer (a
transfer under way finishes, within DOWNLOAD_TIMEOUT), and the run commits what it has
(``crawler.run.commit``, exit code 5). A second signal exits at once, without the commit: the next
run settles the uncommitted slice as it settles a killed run's (``crawler.run.recovery``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys

from scrapy.crawler import Crawler
from twisted.python.failure import Failure

from .. import exitcodes
from ..exceptions import Abandoned

logger = logging.getLogger(__name__)

# Scrapy signal, sent once, at the first Ctrl-C or SIGTERM, before the engine stops:
# handlers take ``in_flight`` (requests the downloader held).
stop_requested = object()


def stopping_line(in_flight: int) -> str:
    """What the first signal answers, on stderr and in the progress display."""
    return f"stopping: {in_flight} request{'s' if in_flight != 1 else ''} in flight, committing what is done"


def request_stop(crawler: Crawler) -> int:
    """The first signal: say so, abandon what the downloader has not started; returns the requests in flight."""
    engine = crawler.engine
    downloader = engine.downloader if engine is not None else None
    in_flight = len(downloader.active) if downloader is not None else 0
    logger.warning("%s (a second Ctrl-C or SIGTERM stops at once; the next run recovers what was not committed)",
                   stopping_line(in_flight))
    crawler.signals.send_catch_log(stop_requested, in_flight=in_flight)
    if downloader is not None:
        for slot in downloader.slots.values():
            while slot.queue:
                request, queued = slot.queue.popleft()
                queued.errback(Failure(Abandoned()))
    return in_flight


def stop_at_once(signum: int, log_file: str | None) -> None:
    """The second signal: one line on stderr and in the log file, then exit without the commit.

    Called in the signal handler itself: no logging module (it may hold its lock), plain writes."""
    line = (f"sichuanpeace: signal {signum} again: stopped at once, without committing; the next run "
            "recovers this run's uncommitted slice (exit code 5)\n").encode()
    if sys.stderr.isatty():
        line = b"\x1b[?25h\n" + line  # the progress display hid the cursor
    with contextlib.suppress(OSError):
        os.write(2, line)
    if log_file:
        try:
            fd = os.open(log_file, os.O_WRONLY | os.O_APPEND)
            try:
                os.write(fd, line.replace(b"\x1b[?25h\n", b""))
            finally:
                os.close(fd)
        except OSError:
            pass
    os._exit(exitcodes.INTERRUPTED)

