"""The garbage collector, tuned for a long crawl: startup objects frozen, young objects collected less often.

CPython's cyclic collector runs a young-generation pass every 700 net container allocations, and a
full pass over every tracked object (Scrapy, Twisted, lxml and their modules: ~130,000 objects)
every few thousand of those. A crawl allocates constantly and, since no page leaves a reference
cycle behind (``tests/test_gc_tuning.py`` checks that), those passes find almost nothing, yet they
took a tenth of a benchmark crawl's time (BENCHMARKS.md). So, once the engine has started:

* ``gc.freeze()`` moves everything alive into the permanent generation, which no pass visits;
* the young generation's threshold is raised from 700 to ``GC_GEN0_THRESHOLD``.

Both are undone when the engine stops. ``GC_TUNING_ENABLED = False`` leaves the collector alone.
"""

from __future__ import annotations

import gc
import logging

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

logger = logging.getLogger(__name__)


class GcTuning:
    """Freeze the startup heap and raise the young generation's threshold while the engine runs.

    The collector is the process's: with several crawlers in one process, the first engine to
    start tunes it and the last one to stop restores it.
    """

    running = 0  # engines started and not stopped, in this process
    saved: tuple[int, int, int] | None = None  # the thresholds before the first one started

    def __init__(self, gen0_threshold: int):
        if gen0_threshold < 1:
            raise ValueError(f"GC_GEN0_THRESHOLD must be at least 1, not {gen0_threshold}")
        self.gen0_threshold = gen0_threshold
        self.started = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> GcTuning:
        if not crawler.settings.getbool("GC_TUNING_ENABLED"):
            raise NotConfigured  # no message: Scrapy would log one as a warning, into cron's mail
        extension = cls(crawler.settings.getint("GC_GEN0_THRESHOLD"))
        crawler.signals.connect(extension.engine_started, signal=signals.engine_started)
        crawler.signals.connect(extension.engine_stopped, signal=signals.engine_stopped)
        return extension

    def engine_started(self) -> None:
        self.started = True
        GcTuning.running += 1
        if GcTuning.running == 1:
            GcTuning.saved = gc.get_threshold()
        gc.collect()
        gc.freeze()
        assert GcTuning.saved is not None
        gc.set_threshold(self.gen0_threshold, *GcTuning.saved[1:])
        logger.debug("Garbage collector: %d objects frozen, thresholds %s",
                     gc.get_freeze_count(), gc.get_threshold())

    def engine_stopped(self) -> None:
        if not self.started:
            return
        self.started = False
        GcTuning.running -= 1
        if GcTuning.running == 0 and GcTuning.saved is not None:
            gc.set_threshold(*GcTuning.saved)
            GcTuning.saved = None
            gc.unfreeze()
