"""glibc's malloc, tuned for a long crawl: a large buffer (a response body, a picture) gets a mapping
of its own, given back to the system when freed, so the heap does not fragment as the run goes on.

glibc gives an allocation of at least M_MMAP_THRESHOLD bytes (128 KiB at first) its own mapping.
The threshold is dynamic, though: each time such a block is freed, the threshold rises to that
block's size (up to 32 MiB). After the first large picture, every body below its size is cut from
the heap, and bodies of every size, coming and going, leave holes that the heap keeps but cannot
give back. In a 6,000-article crawl, the heap's free space grew from 5.3 MB at 1,000 articles
to 11.0 MB at the end (``mallinfo2``; BENCHMARKS.md, Memory). Setting the threshold turns the
adjustment off (mallopt(3)), and the free space then grew only from 4.2 to 7.4 MB. Elsewhere
(musl, macOS) it does nothing. ``MALLOC_MMAP_THRESHOLD = 0`` leaves glibc's own dynamic threshold.
"""

from __future__ import annotations

import ctypes
import logging
import platform

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

logger = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # mallopt(3)'s parameter number (<malloc.h>)


def set_mmap_threshold(size: int) -> bool:
    """Fix glibc's mmap threshold at ``size`` bytes for the whole process; False where the C
    library is not glibc (nothing done)."""
    if platform.libc_ver()[0] != "glibc":
        return False
    return bool(ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, size))


class MallocTuning:
    """Fix glibc's mmap threshold (``MALLOC_MMAP_THRESHOLD`` bytes) as the crawler is built. The
    setting is the process's and is left in place: a threshold is no state to restore."""

    def __init__(self, threshold: int):
        self.threshold = threshold

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> MallocTuning:
        threshold = crawler.settings.getint("MALLOC_MMAP_THRESHOLD")  # its range: crawler/run/settings_check.py
        if not threshold:
            raise NotConfigured  # no message: Scrapy would log one as a warning, into cron's mail
        if not set_mmap_threshold(threshold):
            logger.debug("MALLOC_MMAP_THRESHOLD not applied: the C library is not glibc")
            raise NotConfigured
        logger.debug("glibc's mmap threshold fixed at %d bytes", threshold)
        return cls(threshold)
