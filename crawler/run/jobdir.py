"""``-s JOBDIR=...``: Scrapy's persisted scheduler queue and seen-request filter, kept only when
they can be trusted.

A run marks the JOBDIR when it starts and writes how it ended after its final commit. The next run
resumes the queue only after a graceful stop (SIGTERM, a bound): Scrapy saved it whole. After a
kill (no end written) the queue files may be torn, and after a finished run the seen-request
filter would drop every request of the new crawl (home page included): in both cases Scrapy's
files are removed, with a warning, and the run discovers the site afresh (the state keeps what was
committed; pages that failed are asked for again from the state's pending list).
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from .files import write_json_atomic

logger = logging.getLogger(__name__)

MARKER = "sichuanpeace-run.json"
# What Scrapy keeps in a JOBDIR: the scheduler's disk queue, the dupefilter's fingerprints, spider.state.
SCRAPY_FILES = ("requests.queue", "requests.seen", "spider.state")
RESUMABLE = ("shutdown", "closespider_timeout", "closespider_itemcount", "closespider_pagecount",
             "closespider_errorcount", "closespider_timeout_no_item", "closespider_pagecount_no_item")


def start(jobdir: str | None, run_id: str) -> None:
    if not jobdir:
        return
    folder = Path(jobdir)
    marker = folder / MARKER
    left = [folder / name for name in SCRAPY_FILES if (folder / name).exists()]
    if left:
        try:
            ended = json.loads(marker.read_text("utf-8")).get("ended")
        except (OSError, ValueError):
            ended = None
        if ended not in RESUMABLE:
            why = "ended" if ended == "finished" else "did not end cleanly (killed?)"
            logger.warning("JOBDIR %s: its last run %s; starting a new job there instead of resuming", folder, why)
            for path in left:
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        else:
            logger.info("JOBDIR %s: resuming the job its last run left (%s)", folder, ended)
    write_json_atomic(marker, {"run_id": run_id, "ended": None})


def end(jobdir: str | None, run_id: str, reason: str | None) -> None:
    if jobdir:
        write_json_atomic(Path(jobdir) / MARKER, {"run_id": run_id, "ended": reason})
