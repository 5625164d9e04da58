"""glibc's mmap threshold, fixed for a crawl (crawler/extensions/malloc_tuning.py): a large buffer
freed does not move later ones into the heap. Checked in a child process: the setting is the process's."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from crawler.extensions.malloc_tuning import MallocTuning

PROJECT = Path(__file__).resolve().parent.parent

glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt and mallinfo2 are glibc's")

# In a fresh interpreter: a crawler built with the given settings, then a 8 MiB buffer freed (glibc's
# dynamic threshold rises to 8 MiB) and a 512 KiB one made (a response body): did it get a mapping
# of its own (mallinfo2's hblks), or a place in the heap?
PROBE = """
import ctypes, json, sys
from scrapy.utils.test import get_crawler
from crawler.extensions.malloc_tuning import MallocTuning
from crawler.spiders.sichuanpeace import SichuanpeaceSpider

class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                      "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Mallinfo2
try:
    MallocTuning.from_crawler(get_crawler(SichuanpeaceSpider, json.loads(sys.argv[1])))
except Exception as error:
    print(type(error).__name__, file=sys.stderr)
large = bytearray(8 << 20)
del large
mapped = libc.mallinfo2().hblks
body = bytearray(512 << 10)
print(json.dumps({"own_mapping": libc.mallinfo2().hblks - mapped}))
"""


def _own_mapping(settings: dict) -> int:
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(settings)], cwd=PROJECT, capture_output=True,
                          text=True, timeout=120, check=True, env={"PYTHONPATH": str(PROJECT)})
    return json.loads(done.stdout)["own_mapping"]


@glibc_only
def test_a_large_body_gets_its_own_mapping_after_a_larger_one_was_freed():
    assert _own_mapping({}) == 1  # the project's default: 128 KiB, fixed
    assert _own_mapping({"MALLOC_MMAP_THRESHOLD": 0}) == 0  # glibc's dynamic threshold: cut from the heap


def test_zero_leaves_malloc_alone():
    with pytest.raises(NotConfigured):
        MallocTuning.from_crawler(get_crawler(settings_dict={"MALLOC_MMAP_THRESHOLD": 0}))
