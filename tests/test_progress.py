"""The console of ``scrapy crawl``: a live progress display on a terminal, and on a pipe (cron) nothing
for a complete run, whatever LOG_FILE says (tests/test_console.py has the rest); CONTACT in the User-Agent."""

from __future__ import annotations

import fcntl
import logging
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Callable

import pytest
from rich.console import Console
from scrapy.settings import Settings
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.project import get_project_settings
from scrapy.utils.test import get_crawler
from warcio.archiveiterator import ArchiveIterator

from crawler.extensions.contact import ContactWarning, OperatorContact, contact_missing, is_live_host, user_agent
from crawler.extensions.progress import ProgressView, progress_wanted
from crawler.run import lock
from crawler.run.settings_check import setting_errors
from crawler.spiders.sichuanpeace import SichuanpeaceSpider
from tests.fixture_server import FixtureSite
from tests.utils.cmdline import FAST, PROJECT, crawl, crawl_command
from tests.utils.crawl import run_crawl

SOFT_404 = "Not an article (soft 404)"  # an info line of the fixture site's crawl: in the log file only
SUMMARY_RE = re.compile(r"\[crawler\.run\.commit\] INFO: Run \S+ complete \(exit code 0")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_in_terminal(command: list[str], timeout: float = 300,
                    on_screen: Callable[[bytes, subprocess.Popen], None] | None = None) -> tuple[int, str]:
    """Run ``command`` with stdin, stdout and stderr on a pseudo-terminal (120x40); its exit code and
    screen. ``on_screen(screen so far, process)`` is called as the screen grows."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "TERM": "xterm-256color"}
    for name in ("NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):  # rich reads these: the terminal decides
        env.pop(name, None)
    process = subprocess.Popen(command, cwd=PROJECT, env=env, stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    output = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if on_screen is not None:
                on_screen(bytes(output), process)
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: every writer closed the terminal
                    break
                if not data:
                    break
                output += data
            elif process.poll() is not None:
                break
        return process.wait(timeout=10), output.decode("utf-8", "replace")
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)


def test_terminal_run_shows_progress_and_gives_the_terminal_back(tmp_path):
    with FixtureSite() as site:
        code, screen = run_in_terminal(crawl_command(site.base_url, tmp_path / "out", *FAST))
    assert code == 0, screen[-3000:]
    plain = ANSI.sub("", screen)
    assert "\x1b[?25l" in screen  # drawn live, cursor hidden while drawing
    assert screen.rstrip().endswith("\x1b[?25h")  # and shown again at the end: nothing printed after it
    # Whatever frames a loaded machine managed to draw, the last one (drawn by live.stop()) has these:
    # the phase, the elapsed time (any length), every figure, and the list page last read.
    for shown in ("pages ", "/min)", " new ", " modified ", " deleted ", "failures ", " done elapsed "):
        assert shown in plain, shown
    assert re.search(r"(reading|last read) [a-z]+ page \d+ \S+  http://127\.0\.0\.1:\d+/[a-z]+/", plain), plain[-1500:]
    # The last frame holds the run's totals: 21 new records of the fixture site.
    assert re.search(r"done elapsed \d+:\d\d:\d\d\s+pages \d+ \([\d.]+/min\)\s+records 21 new", plain), plain[-1500:]
    # A complete run prints no log line on the terminal: no summary, no info line; the display says it.
    assert " INFO: " not in plain and SOFT_404 not in plain and not SUMMARY_RE.search(plain)


@pytest.fixture(scope="module")
def cron_run(tmp_path_factory):
    """A run as cron starts it: stderr a pipe, and an operator contact."""
    with FixtureSite() as site:
        yield run_crawl(site.base_url, tmp_path_factory.mktemp("out"), "-s", "CONTACT=ops@example.org")


def stderr_of(result) -> str:
    logs = sorted((result.output_dir / "logs").glob("*.log"))
    return result.log[:len(result.log) - len(logs[-1].read_text("utf-8"))] if logs else result.log


def test_cron_run_prints_nothing_when_complete(cron_run):
    assert cron_run.returncode == 0
    assert stderr_of(cron_run) == ""  # no display, no summary: cron mails nothing
    # The full log is in logs/, INFO lines, the summary and Scrapy's stats included.
    log = next((cron_run.output_dir / "logs").glob("*.log")).read_text("utf-8")
    assert " INFO: " in log and "Dumping Scrapy stats" in log and SOFT_404 in log and len(SUMMARY_RE.findall(log)) == 1


def test_contact_goes_into_the_user_agent(cron_run):
    agents = set()
    for path in (cron_run.output_dir / "warc").glob("*.warc.gz"):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "request":
                    agents.add(record.http_headers.get_header("User-Agent"))
    assert agents == {"sichuanpeace-archive/0.2 (+https://github.com/sichuanpeace-archive/crawler; "
                      "research archive crawler; contact: ops@example.org)"}
    assert "without a contact" not in cron_run.log  # a mirror needs none anyway


def test_warnings_reach_stderr_with_a_log_file_given(tmp_path):
    log_file = tmp_path / "given.log"
    with FixtureSite() as site:
        site.challenge("/scyw/20250829/2992286.html", "busy", times=0)  # a warning, and a failed run
        done = crawl(site.base_url, tmp_path / "out", *FAST, "-s", f"LOG_FILE={log_file}")
    assert done.returncode == 11, done.stderr[-3000:]
    assert done.stderr.count("WARNING: Request failed (challenge)") == 1  # once: no handler writes it twice
    assert " INFO: " not in done.stderr and " DEBUG: " not in done.stderr
    assert "ERROR: Run " in done.stderr.splitlines()[-1]  # the failed run's summary
    assert "Dumping Scrapy stats" in log_file.read_text("utf-8")
    assert not (tmp_path / "out" / "logs").exists()


# --- the parts, without a crawl --------------------------------------------------------------------

class Terminal:
    def isatty(self) -> bool:
        return True


class Pipe:
    def isatty(self) -> bool:
        return False


@pytest.mark.parametrize(("value", "stream", "shown"), [
    ("auto", Terminal(), True), ("auto", Pipe(), False), ("AUTO", Terminal(), True), (None, Pipe(), False),
    ("True", Pipe(), True), (True, Pipe(), True), ("1", Pipe(), True),
    ("False", Terminal(), False), (False, Terminal(), False), ("0", Terminal(), False),
])
def test_progress_wanted(value, stream, shown):
    assert progress_wanted(value, stream) is shown


def test_progress_view_shows_the_figures():
    stats = MemoryStatsCollector(get_crawler())
    for key, value in {"response_received_count": 120, "state/new": 7, "state/modified": 2, "state/deleted": 1,
                       "state/unchanged": 30, "state/not_modified": 5, "accounting/bucket/http_error": 3,
                       "accounting/bucket/retries_exhausted": 1, "accounting/bucket/broken_link": 9}.items():
        stats.set_value(key, value)
    view = ProgressView(stats, "20261202T000000Z-abcdef", "www.sichuanpeace.gov.cn")
    view.list_page_read("https://www.sichuanpeace.gov.cn/scyw/index_4.html", "四川要闻")
    console = Console(record=True, width=160, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(view)
    text = console.export_text()
    assert "www.sichuanpeace.gov.cn" in text and "20261202T000000Z-abcdef" in text and "crawling" in text
    assert "pages 120" in text
    assert "7 new  2 modified  1 deleted  0 restored  35 unchanged" in text
    assert "failures 4" in text  # broken links are no failures (crawler/accounting.py)
    assert "reading scyw page 5 四川要闻" in text


def test_progress_rate_is_over_the_recent_past():
    view = ProgressView(MemoryStatsCollector(get_crawler()), None)
    assert view.rate(0.0, 0) == 0.0
    assert view.rate(30.0, 60) == pytest.approx(120.0)
    assert view.rate(90.0, 90) == pytest.approx(30.0)  # 30 pages since 30 s: the first sample left the window


def test_progress_and_metrics_settings_are_checked():
    def errors(**values):
        settings = get_project_settings()
        settings.setdict(values, priority="cmdline")
        return setting_errors(settings)
    assert errors(PROGRESS_ENABLED="auto", METRICS_FILE="%(output_dir)s/m/%(site)s.prom", CONTACT="a@b.org") == []
    assert errors(PROGRESS_ENABLED="sometimes") == ["PROGRESS_ENABLED must be True or False, got 'sometimes'"]
    assert errors(CONTACT="a@b.org\r\nX-Evil: 1") == ["CONTACT must be one line"]
    assert errors(METRICS_FILE="%(host)s.prom")[0].startswith("METRICS_FILE may only use")
    assert errors(METRICS_FILE=" ") == ["METRICS_FILE must not be empty"]


# --- CONTACT ---------------------------------------------------------------------------------------

def test_user_agent_carries_the_contact():
    assert user_agent("bot/1 (+https://x.example; archive)", "ops@example.org") == \
        "bot/1 (+https://x.example; archive; contact: ops@example.org)"
    assert user_agent("bot/1", "https://ops.example") == "bot/1 (contact: https://ops.example)"


def test_operator_contact_addon_keeps_a_user_agent_given_by_the_operator():
    settings = Settings({"USER_AGENT": "bot/1 (+x)", "CONTACT": "ops@example.org"}, priority="project")
    OperatorContact().update_settings(settings)
    assert settings["USER_AGENT"] == "bot/1 (+x; contact: ops@example.org)"
    settings.set("USER_AGENT", "mine/2", priority="cmdline")
    OperatorContact().update_settings(settings)
    assert settings["USER_AGENT"] == "mine/2"
    unset = Settings({"USER_AGENT": "bot/1 (+x)", "CONTACT": ""}, priority="project")
    OperatorContact().update_settings(unset)
    assert unset["USER_AGENT"] == "bot/1 (+x)"


def test_contact_missing_only_for_the_live_site():
    assert is_live_host("www.sichuanpeace.gov.cn") and is_live_host("www.chengdupeace.gov.cn")
    assert not is_live_host("127.0.0.1") and not is_live_host("mirror.example.org")
    assert contact_missing("", "www.sichuanpeace.gov.cn")
    assert contact_missing("  ", "www.sichuanpeace.gov.cn")
    assert not contact_missing("ops@example.org", "www.sichuanpeace.gov.cn")
    assert not contact_missing("", "127.0.0.1")


# (spider arguments, warnings): no base_url is the live site; a mirror on 127.0.0.1 needs no contact.
CONTACT_CASES = [({}, 1), ({"base_url": "http://127.0.0.1:8000/"}, 0)]


@pytest.mark.parametrize("arguments, warnings", CONTACT_CASES, ids=["live", "mirror"])
def test_live_crawl_without_contact_warns_once(tmp_path, caplog, arguments, warnings):
    """The extension as ``scrapy crawl`` (holding the lock) builds it, with the project's CONTACT (unset)."""
    output_dir = tmp_path / "out"
    lock.acquire(output_dir, "test-run")
    try:
        settings = {"OUTPUT_DIR": str(output_dir), "CONTACT": get_project_settings().get("CONTACT")}
        spider = SichuanpeaceSpider(**arguments)
        crawler = get_crawler(SichuanpeaceSpider, settings)
        extension = ContactWarning.from_crawler(crawler)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="crawler.extensions.contact"):
            extension.spider_opened(spider)
        found = [r for r in caplog.records if "without a contact" in r.getMessage()]
        assert len(found) == warnings, spider.crawl_host
    finally:
        lock._HELD.pop(output_dir.resolve()).close()


def test_sigterm_stops_the_display_and_gives_the_terminal_back(tmp_path):
    """A graceful stop: the last frame drawn, the cursor shown again, exit code 5 after the commit."""
    signalled: list[int] = []

    def stop_on_a_list_page(screen: bytes, process: subprocess.Popen) -> None:
        if not signalled and re.search(rb"[a-z]+ page \d", screen):  # a list page is being read
            process.send_signal(signal.SIGTERM)
            signalled.append(True)

    with FixtureSite() as site:
        command = crawl_command(site.base_url, tmp_path / "out", *FAST, "-s", "DOWNLOAD_DELAY=0.2")
        code, screen = run_in_terminal(command, on_screen=stop_on_a_list_page)
    assert signalled and code == 5, screen[-2000:]
    assert screen.rstrip().endswith("\x1b[?25h")
    assert "committing (shutdown)" in screen or "done" in screen
    # The signal is answered at once (crawler/run/stopping.py), above the display and in it (when a frame
    # is drawn before the commit ends); rich wraps the line at the terminal's width.
    text = " ".join(re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", screen).split())
    assert re.search(r"stopping: \d+ requests? in flight, committing what is done", text), text[-3000:]


def test_console_lines_carry_no_traceback_the_log_file_keeps_it(tmp_path, capsys):
    """An error logged with its exception (Scrapy's, for an unreachable site) is one line on stderr."""
    from crawler.extensions.console import ConsoleHandler

    logger = logging.getLogger("tests.console")
    console, logfile = ConsoleHandler(), logging.FileHandler(tmp_path / "run.log")
    logger.propagate = False  # only these two handlers
    for handler in (console, logfile):
        logger.addHandler(handler)
    try:
        try:
            raise ConnectionError("DNS lookup failed")
        except ConnectionError:
            logger.exception("Error downloading %s", "https://www.sichuanpeace.gov.cn/")
    finally:
        for handler in (console, logfile):
            logger.removeHandler(handler)
        logfile.close()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Error downloading https://www.sichuanpeace.gov.cn/" in err
    assert "Traceback" not in err and "(traceback in the log file)" in err
    logged = (tmp_path / "run.log").read_text()
    assert "Traceback" in logged and "DNS lookup failed" in logged
