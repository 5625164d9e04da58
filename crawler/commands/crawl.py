"""``scrapy crawl`` for unattended runs: the only command that writes OUTPUT_DIR.

Settings and spider arguments are checked before anything is written (exit 1), then the run takes
the OUTPUT_DIR lock (exit 3 when another run holds it), opens its log file, settles what earlier
runs left (``crawler.run.recovery``) and crawls; the commit (``crawler.run.commit``) writes the
manifests. The exit code is the final manifest's (``crawler.exitcodes``); once it is final, the
run's metrics file is written with it (``crawler.run.metrics``). A second SIGTERM/SIGINT does not
abandon the commit: the run still ends with its manifest and exit code 5.

The full log goes to ``logs/<run id>.log`` (or LOG_FILE); stderr gets warnings, errors and the
summary line whatever LOG_FILE says (``crawler.extensions.console``), and on a terminal the live
progress display (``crawler.extensions.progress``).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.crawler import Crawler
from scrapy.exceptions import UsageError
from scrapy.spiderloader import get_spider_loader

from .. import exitcodes
from ..extensions import console
from ..run import lock, metrics, recovery
from ..run.commit import RunCommitter
from ..run.ids import new_run_id
from ..run.settings_check import setting_errors
from ..spiders.arguments import SpiderArguments, spider_argument_errors
from ..state import StateError

logger = logging.getLogger(__name__)


def _refuse(message: str, code: int = exitcodes.FAILED) -> None:
    print(f"sichuanpeace: {message}", file=sys.stderr)
    sys.exit(code)


class Command(ScrapyCrawlCommand):
    """Scrapy's crawl, plus checks, the run lock, the per-run log file, recovery and exit codes."""

    started = 0.0  # time.time() when the run's options were read: its metrics' duration

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        self.started = time.time()
        super().process_options(args, opts)
        assert self.settings is not None
        errors = setting_errors(self.settings)
        if args:
            errors += self._argument_errors(args[0], opts.spargs)
        if errors:
            _refuse("not starting: " + "; ".join(errors))
        if not self.settings.get("RUN_ID"):
            self.settings.set("RUN_ID", new_run_id(), priority="cmdline")
        output_dir = Path(self.settings.get("OUTPUT_DIR"))
        try:
            lock.acquire(output_dir, self.settings.get("RUN_ID"))
        except lock.Locked as locked:
            _refuse(f"{locked}; not starting (exit code {exitcodes.LOCKED})", exitcodes.LOCKED)
        if not self.settings.get("LOG_FILE"):
            log_file = output_dir / "logs" / f"{self.settings.get('RUN_ID')}.log"
            log_file.parent.mkdir(parents=True, exist_ok=True)
            self.settings.set("LOG_FILE", str(log_file), priority="cmdline")
        # The log always goes to a file here, so Scrapy writes nothing to stderr itself: this handler
        # is the only one there, whether LOG_FILE is ours or given (no line twice, none hidden).
        console.install()

    def _argument_errors(self, name: str, arguments: dict[str, Any]) -> list[str]:
        assert self.settings is not None
        try:
            spidercls = get_spider_loader(self.settings).load(name)
        except KeyError:
            return []  # Scrapy says so itself
        return spider_argument_errors(spidercls, arguments)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give one spider: scrapy crawl sichuanpeace")
        # Until the run says otherwise (a crash, a refused start under the lock): what the process exits with.
        self.exitcode = exitcodes.FAILED
        try:
            self._crawl(args[0], opts)
        finally:
            self._write_metrics(opts.spargs)

    def _crawl(self, name: str, opts: argparse.Namespace) -> None:
        assert self.settings is not None and self.crawler_process is not None
        try:
            recovery.prepare(self.settings)
        except StateError as error:
            logger.error("Not starting: %s", error)
            _refuse(f"not starting: {error}")
        crawler = self.crawler_process.create_crawler(name)
        self.crawler_process._signal_kill = self._signal_again  # type: ignore[method-assign]
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        committer = _committer(crawler)
        if self.crawler_process.bootstrap_failed:
            self.exitcode = exitcodes.FAILED
        elif committer is None or committer.exit_code is None:
            self.exitcode = exitcodes.FAILED
        else:
            self.exitcode = committer.exit_code

    def _write_metrics(self, spider_arguments: dict[str, Any]) -> None:
        """The run's metrics file, with the exit code the process is about to exit with."""
        assert self.settings is not None
        if not self.settings.getbool("METRICS_ENABLED"):
            return
        end = time.time()
        written = metrics.write_run_metrics(
            self.settings.get("METRICS_FILE"), Path(self.settings.get("OUTPUT_DIR")),
            SpiderArguments.parse(spider_arguments).site,  # checked before the lock was taken
            self.settings.get("RUN_ID"), self.exitcode, end, end - self.started)
        if written is not None:
            logger.info("Metrics written to %s", written)

    @staticmethod
    def _signal_again(signum: int, _: Any) -> None:
        """A second SIGTERM/SIGINT: the graceful stop goes on to its manifest (SIGKILL abandons it;
        the next run recovers)."""
        from twisted.internet import reactor
        reactor.callFromThread(logger.warning, "Signal %s again: still shutting down, committing what was done "
                               "(send SIGKILL to abandon; the next run recovers)", signum)


def _committer(crawler: Crawler) -> RunCommitter | None:
    """The crawl's committer, or None when the crawl failed before its extensions were built (a bad
    spider argument) or did not commit (no OUTPUT_DIR lock: Scrapy's own exporter)."""
    try:
        return crawler.get_extension(RunCommitter)
    except RuntimeError:
        return None
