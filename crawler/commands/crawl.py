"""``scrapy crawl`` for unattended runs: the only command that writes OUTPUT_DIR.

Settings and spider arguments are checked before anything is written (exit 1, one line on stderr):
values, ``-a fleet=`` against REDIS_URL, OUTPUT_DIR (a writable folder, or one that can be made),
and last ``-a channels=`` against the channels the site's home page and site maps name
(``crawler.run.preflight``). Then the run takes
the OUTPUT_DIR lock (exit 3 when another run holds it), opens its log file, settles what earlier
runs left (``crawler.run.recovery``) and crawls; the commit (``crawler.run.commit``) writes the
manifests. The exit code is the final manifest's (``crawler.exitcodes``); once it is final, the
run's metrics file is written with it (``crawler.run.metrics``). The first SIGTERM/SIGINT is answered
at once ("stopping: N requests in flight, committing what is done"), the requests not yet being
transferred are given up and the run commits what it did (exit code 5); a second one exits at once,
without the commit, and the next run recovers it as it recovers a killed run (``crawler.run.stopping``).

The full log goes to ``logs/<run id>.log`` (or LOG_FILE), and the logs of runs beyond the newest
``LOG_RETENTION_RUNS`` are deleted at the start (``crawler.run.logs``); stderr gets warnings and
errors, a few of each kind, from LOG_LEVEL (``-L``) up and nothing with ``--nolog``: a complete run
without warnings prints nothing, a failed one its summary (``crawler.extensions.console``). On a
terminal the live progress display shows the run (``crawler.extensions.progress``).
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
from scrapy.utils.ossignal import install_shutdown_handlers

from .. import exitcodes
from ..extensions import console
from ..extensions.contact import OperatorContact
from ..run import lock, logs, manifests, metrics, preflight, recovery, stopping
from ..run.commit import RunCommitter
from ..run.ids import new_run_id
from ..run.politeness import relax_for_local_mirror
from ..run.settings_check import setting_errors
from ..spiders.arguments import SpiderArguments, fleet_errors, spider_argument_errors
from ..state import StateError

logger = logging.getLogger(__name__)

# Seconds the channel check waits for a page (at most DOWNLOAD_TIMEOUT): a slow site is checked by
# the crawl itself, not before it.
PREFLIGHT_TIMEOUT = 20.0


def _refuse(message: str, code: int = exitcodes.FAILED) -> None:
    print(f"sichuanpeace: {message}", file=sys.stderr)
    sys.exit(code)


class Command(ScrapyCrawlCommand):
    """Scrapy's crawl, plus checks, the run lock, the per-run log file, recovery and exit codes."""

    started = 0.0  # time.time() when the run's options were read: its metrics' duration
    stderr_handler: console.ConsoleHandler | None = None  # None with --nolog
    crawler: Crawler | None = None
    # The run's folder and id, read once its options are checked (RUN_ID made here unless given).
    output_dir = Path()
    run_id = ""

    def long_desc(self) -> str:
        return (f"{super().long_desc()}. The spider's arguments (-a NAME=VALUE), the settings that matter with "
                "their defaults, the sister sites and the channels: scrapy describe.")

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        self.started = time.time()
        super().process_options(args, opts)
        assert self.settings is not None
        errors = setting_errors(self.settings)
        if args:
            errors += self._argument_errors(args[0], opts.spargs)
        if not errors and args:  # the site's own answer, once everything else holds
            errors += self._channel_errors(opts.spargs)
        if errors:
            _refuse("not starting: " + "; ".join(errors))
        if not self.settings.get("RUN_ID"):
            self.settings.set("RUN_ID", new_run_id(), priority="cmdline")
        self.run_id = self.settings.get("RUN_ID")
        self.output_dir = output_dir = Path(self.settings.get("OUTPUT_DIR"))
        try:
            lock.acquire(output_dir, self.run_id)
            if not self.settings.get("LOG_FILE"):
                log_file = logs.log_path(output_dir, self.run_id)
                log_file.parent.mkdir(parents=True, exist_ok=True)
                self.settings.set("LOG_FILE", str(log_file), priority="cmdline")
        except lock.Locked as locked:
            _refuse(f"{locked}; not starting (exit code {exitcodes.LOCKED})", exitcodes.LOCKED)
        except OSError as error:  # what settings_check could not foresee (a race, a full disk)
            _refuse(f"not starting: OUTPUT_DIR {output_dir} cannot hold a run: {error}")
        # The log always goes to a file here, so Scrapy writes nothing to stderr itself: this handler
        # is the only one there, whether LOG_FILE is ours or given (no line twice, none hidden).
        level = console.console_level(self.settings)
        if level is None:
            # --nolog: quiet on stderr, yet the run's log file is still its account of what happened.
            self.settings.set("LOG_ENABLED", True, priority="cmdline")
        else:
            self.stderr_handler = console.install(level, self.settings.get("LOG_FILE"))

    def _argument_errors(self, name: str, arguments: dict[str, Any]) -> list[str]:
        assert self.settings is not None
        try:
            spidercls = get_spider_loader(self.settings).load(name)
        except KeyError:
            return []  # Scrapy says so itself
        return spider_argument_errors(spidercls, arguments) + fleet_errors(arguments, self.settings.get("REDIS_URL"))

    def _channel_errors(self, arguments: dict[str, Any]) -> list[str]:
        """``-a channels=`` naming a channel the site does not have (crawler/run/preflight.py)."""
        assert self.settings is not None
        parsed = SpiderArguments.parse(arguments)  # checked already
        if parsed.channels is None or self.settings.get("REDIS_URL"):
            return []  # a fleet's requests all go through its shared rate limit
        settings = self.settings.copy()
        OperatorContact().update_settings(settings)  # the User-Agent the crawl will send
        relax_for_local_mirror(settings, parsed.crawl_host, log=False)  # the delay the crawl will keep
        fetch = preflight.http_fetch(parsed.crawl_host, settings.get("USER_AGENT"),
                                     min(settings.getfloat("DOWNLOAD_TIMEOUT"), PREFLIGHT_TIMEOUT),
                                     settings.getfloat("DOWNLOAD_DELAY"))
        return preflight.channel_errors(parsed.channels, parsed.base_url, parsed.crawl_host, fetch)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give one spider: scrapy crawl sichuanpeace")
        # Until the run says otherwise (a crash, a refused start under the lock): what the process exits with.
        self.exitcode = exitcodes.FAILED
        try:
            self._crawl(args[0], opts)
        finally:
            self._write_metrics(opts.spargs)
            if self.stderr_handler is not None:
                self.stderr_handler.finish()  # "… and 312 more …": the kinds of line held back

    def _crawl(self, name: str, opts: argparse.Namespace) -> None:
        assert self.settings is not None and self.crawler_process is not None
        # Under the lock, with the run's log open: the old runs' logs beyond the retention go.
        logs.prune(self.output_dir, self.run_id, self.settings.getint("LOG_RETENTION_RUNS"))
        try:
            recovery.prepare(self.settings)
        except (StateError, manifests.DamagedManifest) as error:
            logger.error("Not starting: %s", error)  # one line on stderr too: the console handler is in place
            sys.exit(exitcodes.FAILED)
        crawler = self.crawler_process.create_crawler(name)
        self.crawler = crawler
        self.crawler_process._signal_shutdown = self._signal_first  # type: ignore[method-assign]  # replaces Scrapy's first-signal handler
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        committer = _committer(crawler)
        if self.crawler_process.bootstrap_failed or committer is None or committer.exit_code is None:
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
            self.settings.get("METRICS_FILE"), self.output_dir,
            SpiderArguments.parse(spider_arguments).site,  # checked before the lock was taken
            self.run_id, self.exitcode, end, end - self.started)
        if written is not None:
            logger.info("Metrics written to %s", written)

    def _signal_first(self, signum: int, _: Any) -> None:
        """The first SIGTERM/SIGINT: answered at once, in-flight requests given up, what is done committed."""
        from twisted.internet import reactor
        install_shutdown_handlers(self._signal_again)
        reactor.callFromThread(self._stop, signum)

    def _stop(self, signum: int) -> None:
        assert self.crawler_process is not None
        self.crawler_process._log_shutdown(signum)  # Scrapy's own line, in the log file
        if self.crawler is not None and self.crawler.engine is not None and self.crawler.engine.running:
            stopping.request_stop(self.crawler)
        self.crawler_process._graceful_stop_reactor()

    def _signal_again(self, signum: int, _: Any) -> None:
        """A second SIGTERM/SIGINT: exit at once; the next run recovers the uncommitted slice."""
        assert self.settings is not None
        stopping.stop_at_once(signum, self.settings.get("LOG_FILE"))


def _committer(crawler: Crawler) -> RunCommitter | None:
    """The crawl's committer, or None when the crawl failed before its extensions were built (a bad
    spider argument) or did not commit (no OUTPUT_DIR lock: Scrapy's own exporter)."""
    try:
        return crawler.get_extension(RunCommitter)
    except RuntimeError:
        return None
