"""Ctrl-C / SIGTERM: the first is answered at once and the run exits within seconds with its work
committed; a second exits at once, and the next run recovers what was not committed.

Times are printed (run with -s to see them), bounded only generously: the machine may be busy."""

from __future__ import annotations

import functools
import io
import signal
import time

import pytest
from rich.console import Console

from crawler import exitcodes
from crawler.extensions.progress import Progress, ProgressView
from tests import consumer
from tests.fixture_server import FixtureSite
from tests.test_commit import ARTICLE_IDS, assert_no_stray_files
from tests.utils.crawl import run_crawl, start_crawl, wait_for_article_requests

# The live site's politeness, given on the command line: a mirror on 127.0.0.1 has none by default.
LIVE_POLITENESS = ("-s", "DOWNLOAD_DELAY=2", "-s", "AUTOTHROTTLE_ENABLED=True")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_first_signal_is_answered_and_the_run_commits_within_seconds(tmp_path, signum):
    with FixtureSite() as site:
        process = start_crawl(site.base_url, tmp_path, *LIVE_POLITENESS)
        wait_for_article_requests(site, process, 2)
        sent = time.monotonic()
        process.send_signal(signum)
        code = process.wait(timeout=60)
        took = time.monotonic() - sent
        assert process.stderr is not None
        stderr = process.stderr.read()
        print(f"\n{signal.Signals(signum).name} at default politeness: exited {took:.1f} s after the signal")
        assert code == exitcodes.INTERRUPTED, stderr[-2000:]
        assert took < 30, "the run waits for its queued requests again (it took 30-41 s before)"
        assert "stopping: " in stderr and "in flight, committing what is done" in stderr
        final = consumer.final(tmp_path)
        assert final["finish_reason"] == "shutdown" and final["complete"] is False
        assert final["accounting"]["balanced"], final["accounting"]
        assert consumer.records(tmp_path), "what was done reached the consumer"
        assert_no_stray_files(tmp_path)
        rerun = run_crawl(site.base_url, tmp_path)
    assert rerun.returncode == 0, rerun.log[-2000:]
    assert sorted(r["id"] for r in consumer.records(tmp_path)) == ARTICLE_IDS


def _stall_articles(site: FixtureSite, seconds: float) -> None:
    """Every article page answers only after ``seconds``: a transfer under way holds the first stop."""
    def behaviour(handler, hits: int, path: str) -> None:
        time.sleep(seconds)
        site.send(handler, site.resources[path])

    for path in [p for p in site.resources if p.count("/") == 3 and p.endswith(".html")]:
        site.behaviours[path] = functools.partial(behaviour, path=path)


def test_second_signal_stops_at_once_and_the_next_run_recovers(tmp_path):
    with FixtureSite() as site:
        _stall_articles(site, 20)
        process = start_crawl(site.base_url, tmp_path, *LIVE_POLITENESS)
        wait_for_article_requests(site, process, 1)
        process.send_signal(signal.SIGTERM)
        assert process.stderr is not None
        while "stopping: " not in (line := process.stderr.readline()):
            assert line, "the first signal was not answered"
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
        took = time.monotonic() - sent
        stderr = process.stderr.read()
        print(f"\nSIGTERM again, during a stalled transfer: exited {took:.1f} s after the second")
        assert code == exitcodes.INTERRUPTED, stderr[-2000:]
        assert "stopped at once, without committing; the next run recovers" in stderr
        assert took < 15, "the second signal waited for the transfer (20 s)"
        site.behaviours.clear()
        rerun = run_crawl(site.base_url, tmp_path)
    assert rerun.returncode == 0, rerun.log[-2000:]
    assert "of a dead run" in rerun.log  # recovered as a killed run is
    assert sorted(r["id"] for r in consumer.records(tmp_path)) == ARTICLE_IDS
    assert_no_stray_files(tmp_path)


def test_the_display_says_it_is_stopping():
    """The live display's header, from the first signal on (the commit's phase follows)."""
    class Stats:
        def get_value(self, key: str, default: int = 0) -> int:
            return default

    view = ProgressView(Stats(), "20261207T000000Z-abcdef", "www.sichuanpeace.gov.cn")  # type: ignore[arg-type]  # a fake: get_value only
    Progress(view, 4, Console(file=io.StringIO())).stop_requested(in_flight=3)
    screen = Console(file=io.StringIO(), width=200)
    screen.print(view)
    assert "stopping: 3 requests in flight, committing what is done" in screen.file.getvalue()  # type: ignore[attr-defined]  # a StringIO, given above
