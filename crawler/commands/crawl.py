"""``scrapy crawl`` for unattended runs: one run per OUTPUT_DIR, a log file per run, exit codes.

Plain ``scrapy crawl`` exits 0 on nearly every runtime failure; this one exits with the code the
run's manifest gives (see ``crawler.exitcodes``), and refuses to start while another run holds the
OUTPUT_DIR lock.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import logging
import os
import sys
from pathlib import Path
from typing import IO

from scrapy.commands.crawl import Command as ScrapyCrawlCommand

from .. import exitcodes
from ..feeds import new_run_id

LOCK_FILE = ".lock"


class Command(ScrapyCrawlCommand):
    """Scrapy's crawl, plus the run lock, the per-run log file and exit codes from the manifest."""

    lock: IO[str] | None = None

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        if not self.settings.get("RUN_ID"):
            self.settings.set("RUN_ID", new_run_id(), priority="cmdline")
        output_dir = Path(self.settings.get("OUTPUT_DIR"))
        output_dir.mkdir(parents=True, exist_ok=True)
        self.lock = (output_dir / LOCK_FILE).open("a+")
        try:
            fcntl.flock(self.lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.lock.seek(0)
            holder = self.lock.read().strip() or "another run"
            print(f"sichuanpeace: {output_dir} is locked by {holder}; not starting (exit code {exitcodes.LOCKED})",
                  file=sys.stderr)
            sys.exit(exitcodes.LOCKED)
        self.lock.seek(0)
        self.lock.truncate()
        self.lock.write(f"run {self.settings.get('RUN_ID')} (pid {os.getpid()})\n")
        self.lock.flush()
        if not self.settings.get("LOG_FILE"):
            log_file = output_dir / "logs" / f"{self.settings.get('RUN_ID')}.log"
            log_file.parent.mkdir(parents=True, exist_ok=True)
            self.settings.set("LOG_FILE", str(log_file), priority="cmdline")
            self._warnings_to_stderr()

    @staticmethod
    def _warnings_to_stderr() -> None:
        """With the log in a file, still show warnings and errors on stderr (cron mails them)."""
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(logging.WARNING)
        handler.setFormatter(logging.Formatter("%(asctime)s [%(name)s] %(levelname)s: %(message)s"))
        logging.getLogger().addHandler(handler)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        super().run(args, opts)
        if self.exitcode:
            return
        assert self.settings is not None
        manifest = Path(self.settings.get("OUTPUT_DIR")) / "runs" / f"{self.settings.get('RUN_ID')}.json"
        try:
            self.exitcode = json.loads(manifest.read_text("utf-8"))["exit_code"]
        except (OSError, ValueError, KeyError):
            self.exitcode = exitcodes.FAILED
