"""The run's report: settles the state store and writes ``OUTPUT_DIR/runs/<run id>.json``.

When the run ends (engine stopped: every feed file is stored by then), the staged state of the run
is promoted if its output is in place, and a manifest is written atomically: run id, start and end,
finish reason, ``complete`` and the exit code, counts, the files written with SHA-256 and record
counts, and software versions. Consumers read the files listed in complete manifests.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import sys
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler

from . import exitcodes
from .accounting import HTTP_ERROR, OVERSIZE, PARSE_FAILURE, RETRIES_EXHAUSTED, STATS_ATTEMPTS, STATS_BUCKET
from .feeds import PART_PREFIX, PART_SUFFIX, fsync_dir
from .quality import detect_drift, summarize
from .stateful import state_store

logger = logging.getLogger(__name__)

BOUND_REASONS = ("closespider_", "memusage_")
FAILURE_BUCKETS = (RETRIES_EXHAUSTED, HTTP_ERROR, OVERSIZE, PARSE_FAILURE)
PACKAGES = ("scrapy", "twisted", "lxml", "w3lib", "warcio", "cdxj-indexer", "sichuanpeace-crawler")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write JSON to a hidden temporary file, fsync, rename into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f"{PART_PREFIX}{path.name}{PART_SUFFIX}")
    with part.open("w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=2, default=str)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(part, path)
    fsync_dir(path.parent)


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def remove_stale_parts(output_dir: Path) -> list[Path]:
    """Delete hidden part/open files that killed runs left (the caller holds the run lock)."""
    stale = [p for p in output_dir.rglob(f"{PART_PREFIX}*") if p.is_file()
             and (p.name.endswith(PART_SUFFIX) or p.name.endswith(".open"))]
    for path in stale:
        path.unlink()
    return stale


class RunReport:
    """Extension: recover after killed runs at start; settle state and write the manifest at the end."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        settings = crawler.settings
        self.output_dir = Path(settings.get("OUTPUT_DIR"))
        self.run_id = settings.get("RUN_ID")
        self.max_error_rate = settings.getfloat("RUN_MAX_ERROR_RATE")
        self.started = datetime.now(timezone.utc)
        self.reason: str | None = None
        self.feeds: list[dict[str, Any]] = []
        self.feeds_failed = 0
        self.output_dir.mkdir(parents=True, exist_ok=True)
        for path in remove_stale_parts(self.output_dir):
            logger.warning("Removed partial file left by a killed run: %s", path)
        for run_id, outcome in state_store(crawler).recover(self.output_dir).items():
            logger.warning("State of killed run %s %s", run_id, outcome)
        crawler.signals.connect(self.feed_slot_closed, signal=signals.feed_slot_closed)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(self.engine_stopped, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunReport:
        return cls(crawler)

    def feed_slot_closed(self, slot: Any) -> None:
        path = Path(slot.storage.path) if hasattr(slot.storage, "path") else None
        if path is None or not path.exists():
            self.feeds_failed += 1
            return
        self.feeds.append({"file": str(path), "kind": "records", "records": slot.itemcount,
                           "sha256": sha256_of(path), "bytes": path.stat().st_size})

    def spider_closed(self, spider: Spider, reason: str) -> None:
        self.reason = reason

    def _counts(self, stats: dict[str, Any]) -> dict[str, Any]:
        def prefixed(prefix: str) -> dict[str, int]:
            return {k[len(prefix):]: v for k, v in stats.items() if k.startswith(prefix)}
        robots_ok = stats.get("robotstxt/response_status_count/200", 0)
        # Attempts that failed: given up after retries, HTTP errors, too large, broke extraction or
        # gave an invalid record; plus callbacks that raised anyway.
        failed = (sum(stats.get(STATS_BUCKET + bucket, 0) for bucket in FAILURE_BUCKETS)
                  + sum(prefixed("spider_exceptions/").values()))
        return {
            "requests": stats.get("downloader/request_count", 0),
            "pages_fetched": stats.get("response_received_count", 0),
            "pages_ok": stats.get("downloader/response_status_count/200", 0) - robots_ok,
            "new": stats.get("state/new", 0),
            "modified": stats.get("state/modified", 0),
            "unchanged": stats.get("state/unchanged", 0) + stats.get("state/not_modified", 0),
            "deleted": stats.get("state/deleted", 0),
            "skipped_known": stats.get("discovery/skipped_known", 0),
            "failed": failed,
            "dropped": {**{f"not_article/{k}": v for k, v in prefixed("extract/not_article/").items()},
                        **{f"invalid/{k}": v for k, v in prefixed("validate/dropped/").items()},
                        "duplicate": stats.get("dedupe/duplicate", 0)},
            "cleaned": prefixed("clean/"),
            "warc_records": stats.get("warc/records", 0),
            # WAF challenges (412, 521) and rate limits (429) met, each backed off before a retry.
            "waf_challenges": {code: stats.get(f"retry/backoff/{code}", 0) for code in (412, 429, 521)},
            "pager_bound": stats.get("discovery/pager_bound", 0),
        }

    @staticmethod
    def _accounting(stats: dict[str, Any]) -> dict[str, Any]:
        buckets = {k[len(STATS_BUCKET):]: v for k, v in stats.items() if k.startswith(STATS_BUCKET)}
        attempts = stats.get(STATS_ATTEMPTS, 0)
        return {"attempts": attempts, "buckets": buckets, "balanced": attempts == sum(buckets.values())}

    def _baseline(self) -> list[dict[str, Any]]:
        """Quality summaries of the earlier complete runs, oldest first."""
        summaries = []
        for path in sorted((self.output_dir / "runs").glob("*.json")):
            try:
                earlier = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError):
                continue
            if earlier.get("complete") and earlier.get("quality", {}).get("articles"):
                summaries.append(earlier["quality"])
        return summaries

    def _exit_code(self, counts: dict[str, Any], drift: list[str]) -> int:
        reason = self.reason or "unknown"
        if self.feeds_failed:
            return exitcodes.OUTPUT_FAILED
        if counts["pages_ok"] <= 0 and not self._fleet_worker():
            return exitcodes.FETCHED_NOTHING
        if reason == "shutdown":
            return exitcodes.INTERRUPTED
        if reason.startswith(BOUND_REASONS):
            return exitcodes.BOUND_HIT
        if reason != "finished":
            return exitcodes.FAILED
        if counts["failed"] > self.max_error_rate * max(counts["requests"], 1):
            return exitcodes.ERROR_THRESHOLD
        if drift:
            return exitcodes.TEMPLATE_DRIFT
        return exitcodes.COMPLETE

    def _paged_everything(self, complete: bool, counts: dict[str, Any], stats: dict[str, Any]) -> bool:
        """Whether the next run may stop paging at known pages: this run read every list to its
        end (no -a since/channels limit, no pager bound) and lost no request."""
        spider = self.crawler.spider
        limited = getattr(spider, "since", None) is not None or getattr(spider, "channels", None) is not None
        return (complete and not limited and counts["failed"] == 0 and not counts["pager_bound"]
                and not stats.get("discovery/paging_stopped_since"))

    def _fleet_worker(self) -> bool:
        """A fleet worker may rightly find nothing to do: the others took it all."""
        return bool(self.crawler.settings.get("REDIS_URL")) and getattr(self.crawler.spider, "fleet_role", "") == "worker"

    def engine_stopped(self) -> None:
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        counts = self._counts(stats)
        quality = summarize(stats)
        drift = detect_drift(quality, self._baseline())
        for finding in drift:
            logger.error("Template drift: %s", finding)
        exit_code = self._exit_code(counts, drift)
        complete = exit_code in (exitcodes.COMPLETE, exitcodes.TEMPLATE_DRIFT)
        store = state_store(self.crawler)
        if self.feeds_failed:
            store.discard(self.run_id)
        else:
            store.promote(self.run_id, getattr(self.crawler.spider, "site", ""), complete=self._paged_everything(complete, counts, stats))
        store.close()
        archive = getattr(self.crawler, "warc_archive", None)
        files = list(self.feeds)
        for warc in archive.closed_files if archive else []:
            files.append({"file": str(warc), "kind": "warc", "sha256": sha256_of(warc), "bytes": warc.stat().st_size})
        manifest = {
            "run_id": self.run_id,
            "spider": self.crawler.spidercls.name,
            "start": self.started.isoformat(timespec="seconds"),
            "end": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "finish_reason": self.reason,
            # A drifting run went through everything: complete, but it exits non-zero so cron mails.
            "complete": complete,
            "exit_code": exit_code,
            "output_dir": str(self.output_dir),
            "counts": counts,
            "accounting": self._accounting(stats),
            "quality": quality,
            "drift": drift,
            "files": files,
            "versions": _versions(),
            "argv": sys.argv,
        }
        write_json_atomic(self.output_dir / "runs" / f"{self.run_id}.json", manifest)
        log = logger.info if exit_code == exitcodes.COMPLETE else logger.error
        log("Run %s %s (exit code %s, finish reason %s): %s new, %s modified, %s deleted, %s unchanged",
            self.run_id, "complete" if complete else "INCOMPLETE", exit_code, self.reason,
            counts["new"], counts["modified"], counts["deleted"], counts["unchanged"])
