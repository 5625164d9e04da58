"""The runs' log files, ``OUTPUT_DIR/logs/<run id>.log``, and how many of them are kept.

A crawl from cron runs 6 times a day for years: without a bound, ``logs/`` grows by a file a run
forever. At its start, under the run lock, a crawl deletes the logs of older runs beyond the newest
``LOG_RETENTION_RUNS`` (its own included); never its own, and never a file the crawler did not
name (only ``<run id>.log``). Newest means latest run id: a run id begins with its UTC start time,
the only order a log without a manifest has. That order decides nothing a consumer reads: a clock
set back only makes a log go sooner.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .ids import RUN_ID_RE

logger = logging.getLogger(__name__)

LOGS_DIR = "logs"
LOG_SUFFIX = ".log"


def log_path(output_dir: Path, run_id: str) -> Path:
    return output_dir / LOGS_DIR / f"{run_id}{LOG_SUFFIX}"


def prune(output_dir: Path, run_id: str, keep: int) -> list[Path]:
    """Delete the logs of runs older than the newest ``keep`` (this run's counted and always kept;
    0 keeps every log); the files deleted."""
    folder = output_dir / LOGS_DIR
    if keep < 1 or not folder.is_dir():
        return []
    others = sorted((p for p in folder.glob(f"*{LOG_SUFFIX}")
                     if RUN_ID_RE.fullmatch(p.stem) and p.stem != run_id and p.is_file()),
                    key=lambda p: p.stem, reverse=True)
    removed = []
    for path in others[keep - 1:]:
        try:
            path.unlink()
        except OSError as error:
            logger.warning("Could not delete the old log %s: %s", path, error)
            continue
        removed.append(path)
    if removed:
        logger.info("Deleted %d log files of earlier runs (LOG_RETENTION_RUNS=%d)", len(removed), keep)
    return removed
