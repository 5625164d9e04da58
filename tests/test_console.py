"""stderr of ``scrapy crawl`` as cron mails it: nothing for a complete run, the errors and the summary
for a failed one, a few lines of each kind of warning, and Scrapy's ``-L`` / ``LOG_LEVEL`` / ``--nolog``."""

from __future__ import annotations

import logging
import re
import subprocess
from pathlib import Path

import pytest
from scrapy.settings import Settings

from crawler import exitcodes
from crawler.extensions.console import PER_KIND, ConsoleHandler, console_kind, console_level, describe_kind
from tests.fixture_cases import load_cases
from tests.fixture_server import FixtureSite
from tests.utils import cmdline

SUMMARY_FAILED = re.compile(r"\[crawler\.run\.commit\] ERROR: Run \S+ INCOMPLETE \(exit code (\d+)")
ARTICLE = "/scyw/20250829/2992286.html"  # linked from the home page: one challenged article


def crawl(base_url: str, output_dir: Path, *args: str) -> tuple[subprocess.CompletedProcess, str]:
    """``scrapy crawl`` as cron runs it (stderr a pipe, no LOG_LEVEL given); the process and its log file."""
    done = cmdline.crawl(base_url, output_dir, *cmdline.FAST, *args)
    logs = sorted((output_dir / "logs").glob("*.log"))
    return done, logs[-1].read_text("utf-8") if logs else ""


def test_a_complete_crawl_prints_nothing_on_stderr(tmp_path):
    with FixtureSite() as site:
        done, log = crawl(site.base_url, tmp_path)
    assert done.returncode == exitcodes.COMPLETE, done.stderr[-3000:]
    assert done.stderr == ""
    # The summary is in the log file (and the soft 404 of the fixture site, an info line there).
    assert re.search(r"INFO: Run \S+ complete \(exit code 0", log) and "Not an article (soft 404)" in log


@pytest.fixture(scope="module")
def challenged_site():
    """The fixture site answering a challenge page for one article: a run that fails (exit 11)."""
    with FixtureSite() as site:
        site.challenge(ARTICLE, "busy", times=0)
        yield site


# (command-line options, levels of the lines expected on stderr); the run fails (exit 11) each time.
LEVELS = [
    ((), {"WARNING", "ERROR"}),
    (("-s", "LOG_LEVEL=INFO"), {"WARNING", "ERROR"}),  # the log file's level: stderr stays at warnings
    (("-L", "ERROR"), {"ERROR"}),
    (("-s", "LOG_LEVEL=ERROR"), {"ERROR"}),
    (("--nolog",), set()),
]


@pytest.mark.parametrize(("options", "levels"), LEVELS, ids=[" ".join(o) or "default" for o, _ in LEVELS])
def test_a_failed_crawl_prints_its_errors_and_summary_at_the_level_asked(challenged_site, tmp_path, options, levels):
    done, log = crawl(challenged_site.base_url, tmp_path, *options)
    assert done.returncode == exitcodes.CHALLENGED, done.stderr[-3000:] + log[-3000:]
    lines = done.stderr.splitlines()
    shown = [re.search(r"\] ([A-Z]+): ", line) for line in lines]
    assert {found.group(1) if found else line for found, line in zip(shown, lines, strict=True)} == levels, done.stderr
    if "ERROR" in levels:
        assert len([line for line in lines if SUMMARY_FAILED.search(line)]) == 1
        last = SUMMARY_FAILED.search(lines[-1])  # the last line
        assert last is not None and last.group(1) == str(exitcodes.CHALLENGED)
    if "WARNING" in levels:
        failed = f"Request failed (challenge): {challenged_site.base_url}{ARTICLE[1:]}"
        assert sum(failed in line for line in lines) == 1
    # The log file at LOG_LEVEL, whatever stderr showed: --nolog keeps the run's log file.
    assert SUMMARY_FAILED.search(log)
    assert ("Request failed (challenge)" in log) is ("ERROR" not in " ".join(options))


def test_twenty_warnings_of_one_kind_print_five_and_one_line_for_the_rest(tmp_path):
    # Every article linked from a list page (not the one only another article links to): 20 of them.
    articles = [case.meta["path"] for case in load_cases("article") if "prevnext_only" not in case.name]
    assert len(articles) == 20
    with FixtureSite() as site:
        for path in articles:
            site.challenge(path, "busy", times=0)
        done, log = crawl(site.base_url, tmp_path)
    assert done.returncode not in (exitcodes.COMPLETE, exitcodes.FAILED), done.stderr[-3000:]
    lines = done.stderr.splitlines()
    challenged = [line for line in lines if "WARNING: Request failed (challenge): " in line]
    assert len(challenged) == PER_KIND == 5, done.stderr
    log_file = next((tmp_path / "logs").glob("*.log"))
    assert lines.count(f"… and 15 more failed requests (challenge) (all in {log_file})") == 1, done.stderr
    assert lines.index(challenged[-1]) < len(lines) - 1 and lines[-1].startswith("… and 15 more")  # at the end
    assert len(re.findall(r"WARNING: Request failed \(challenge\): ", log)) == 20  # the log file has every one
    manifests = "".join(p.read_text("utf-8") for p in (tmp_path / "runs").glob("*.json"))
    assert '"challenge": 20' in manifests


# --- the parts, without a crawl --------------------------------------------------------------------

def log_through(handler: ConsoleHandler, records: list[tuple[int, str, tuple, dict]]) -> None:
    logger = logging.getLogger("tests.console.kinds")
    logger.propagate, logger.level = False, logging.DEBUG
    logger.addHandler(handler)
    try:
        for level, message, args, extra in records:
            logger.log(level, message, *args, extra=extra)
    finally:
        logger.removeHandler(handler)


def test_lines_are_held_back_per_kind_and_counted_at_the_end(capsys):
    handler = ConsoleHandler(logging.WARNING, "out/logs/r.log")
    log_through(handler, [(logging.WARNING, "Odd page %s", (f"u{i}",), {}) for i in range(7)]
                + [(logging.WARNING, "Request failed (%s): %s", ("challenge", f"u{i}"),
                    console_kind("failed requests (challenge)")) for i in range(6)]
                + [(logging.WARNING, "Request failed (%s): %s", ("http_error", "x"),
                    console_kind("failed requests (http_error)")),
                   (logging.INFO, "Odd page %s", ("info",), {}), (logging.ERROR, "Broken %d%% of %s", (3, "x"), {})])
    handler.finish()
    handler.finish()  # once
    lines = capsys.readouterr().err.splitlines()
    assert sum("Odd page u" in line for line in lines) == 5 and "Odd page info" not in "".join(lines)
    assert sum("(challenge): u" in line for line in lines) == 5 and sum("(http_error)" in line for line in lines) == 1
    assert lines[-2:] == ['… and 2 more "Odd page …" (tests.console.kinds) (all in out/logs/r.log)',
                          "… and 1 more failed requests (challenge) (all in out/logs/r.log)"]


def test_describe_kind():
    assert describe_kind(("a.b", "Broken %d%% of %(n)s: %r")) == '"Broken …% of …: …" (a.b)'
    assert describe_kind("failed requests (challenge)") == "failed requests (challenge)"


@pytest.mark.parametrize(("settings", "level"), [
    ({}, logging.WARNING), ({"LOG_LEVEL": "DEBUG"}, logging.WARNING), ({"LOG_LEVEL": "info"}, logging.WARNING),
    ({"LOG_LEVEL": "ERROR"}, logging.ERROR), ({"LOG_LEVEL": logging.CRITICAL}, logging.CRITICAL),
    ({"LOG_ENABLED": False}, None),
])
def test_console_level(settings, level):
    assert console_level(Settings(settings)) == level  # Scrapy's defaults beneath: LOG_LEVEL DEBUG, LOG_ENABLED
