"""Run output: the run id, the default per-run JSONL feed, and atomic feed files.

Scrapy writes a feed file in place, so a killed run leaves a torn last line and ``-O`` on a failed
run truncates yesterday's file. Here every local feed is written to a hidden ``.<name>.part`` file
beside its target and renamed into place (after fsync) only when the run stores it; a run with no
records stores nothing (FEED_STORE_EMPTY is off).
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from scrapy import Spider
from scrapy.extensions.feedexport import FileFeedStorage
from scrapy.settings import BaseSettings

DEFAULT_FEED_NAME = "sichuanpeace-%(run_id)s.jsonl"
PART_PREFIX = "."
PART_SUFFIX = ".part"


def new_run_id() -> str:
    """A sortable, unique run id: UTC start time plus a random suffix."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def part_path(path: Path) -> Path:
    """The hidden file a feed is written to before it is renamed to ``path``."""
    return path.with_name(f"{PART_PREFIX}{path.name}{PART_SUFFIX}")


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class AtomicFileFeedStorage(FileFeedStorage):
    """Local feed storage that appears atomically: hidden part file, fsync, rename on store."""

    def open(self, spider: Spider) -> IO[bytes]:
        target = Path(self.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        self.part = part_path(target)
        if self.write_mode == "ab" and target.exists():  # -o appends: start from the current file
            self.part.write_bytes(target.read_bytes())
        return self.part.open("ab")

    def store(self, file: IO[bytes]) -> None:
        file.flush()
        os.fsync(file.fileno())
        file.close()
        os.replace(self.part, self.path)
        fsync_dir(Path(self.path).parent)


class RunOutput:
    """Add-on: give the run its id, and the default feed when the command line named none."""

    def update_settings(self, settings: BaseSettings) -> None:
        if not settings.get("RUN_ID"):
            settings.set("RUN_ID", new_run_id(), priority="addon")
        if not settings.getdict("FEEDS"):
            uri = "%(output_dir)s/" + DEFAULT_FEED_NAME
            settings.set("FEEDS", {uri: {"format": "jsonlines", "encoding": "utf-8"}}, priority="addon")
            # The state store needs the name to settle a run killed right after its rename.
            settings.set("RUN_FEED_FILE", DEFAULT_FEED_NAME % {"run_id": settings.get("RUN_ID")}, priority="addon")


def uri_params(params: dict[str, Any], spider: Spider) -> dict[str, Any]:
    """Add ``output_dir`` (OUTPUT_DIR) and ``run_id`` (RUN_ID) to the feed URI parameters."""
    settings = spider.settings
    return {**params, "output_dir": settings.get("OUTPUT_DIR").rstrip("/"), "run_id": settings.get("RUN_ID")}
