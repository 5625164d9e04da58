"""The WARC writer process (crawler/archive/writer.py): it dies with a killed crawl, leaving only
``.open`` files that the next run recovers; a writer that fails or dies fails the run, with
OUTPUT_FAILED, and commits nothing that might point into a torn file."""

from __future__ import annotations

import io
import os
import signal
import time
from pathlib import Path

import pytest

from crawler import exitcodes
from crawler.archive.writer import (FAILED, SEAL, SEALED, WRITE, WRITTEN, Exchange, WriterConfig, frame,
                                    read_frame, serve)
from tests import consumer
from tests.conftest import archive_verify, run_crawl, start_crawl, wait_for_article_requests
from tests.fixture_server import FixtureSite
from tests.test_commit import assert_each_article_once, assert_no_stray_files

SLOW = ("-s", "DOWNLOAD_DELAY=0.2", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "LOG_LEVEL=INFO")
WRITER_MODULE = b"crawler.archive.writer"


def _writers_of(pid: int) -> list[int]:
    """The WARC writer processes whose parent is ``pid`` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and WRITER_MODULE in cmdline:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """Running, not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_until(condition, limit: float = 60) -> bool:
    """A guard against a hang, not a timed assertion: whether ``condition`` came true in ``limit`` s."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _exchange(url: str = "http://127.0.0.1/a.html") -> tuple:
    return (url, b"<html>body</html>", 200, [(b"Content-Type", [b"text/html"])], "HTTP/1.1", "GET", url,
            [(b"User-Agent", [b"test"])], 1.7e9, "127.0.0.1")


def _serve(config: WriterConfig, *messages: tuple) -> list[tuple]:
    """Run the writer's loop over ``messages`` in this process; its answers."""
    stream_in = io.BytesIO(frame(config) + b"".join(frame(m) for m in messages))
    stream_out = io.BytesIO()
    serve(stream_in, stream_out)
    stream_out.seek(0)
    answers = []
    while (answer := read_frame(stream_out)) is not None:
        answers.append(answer)
    return answers


def _config(directory: Path) -> WriterConfig:
    return WriterConfig(str(directory), "test-run", 1 << 30, 6, {"software": "test"}, output_dir=str(directory.parent))


def test_writer_answers_in_order_and_seals_on_demand(tmp_path):
    answers = _serve(_config(tmp_path / "warc"), (WRITE, *_exchange()), (WRITE, *_exchange("http://127.0.0.1/b.jpg")),
                     (SEAL, True))
    assert [a[0] for a in answers] == [WRITTEN, WRITTEN, SEALED]
    first, second = answers[0], answers[1]
    assert first[1] == second[1] == "warc/test-run-00001.warc.gz" and first[3] < second[3]
    assert first[4].startswith("sha1:") and first[5] is None
    sealed, digests = answers[2][1], answers[2][2]
    assert [Path(p).name for p in sealed] == ["test-run-00001.warc.gz", "test-run-00001.warc.gz.cdxj"]
    assert list(digests) == [sealed[0]]
    assert sorted(p.name for p in (tmp_path / "warc").iterdir()) == ["test-run-00001.warc.gz",
                                                                     "test-run-00001.warc.gz.cdxj"]


def test_writer_that_cannot_write_answers_failed_and_refuses_every_later_seal(tmp_path):
    (tmp_path / "warc").write_text("not a folder")  # the writer cannot make its folder
    answers = _serve(_config(tmp_path / "warc"), (WRITE, *_exchange()), (WRITE, *_exchange()), (SEAL, False))
    assert [a[0] for a in answers] == [FAILED, FAILED, FAILED]
    assert "broken" in answers[1][1] and "broken" in answers[2][1]


def test_input_ending_leaves_open_files_unsealed(tmp_path):
    """The crawl gone (its socket closed), the writer stops where it is: nothing renamed, no index."""
    answers = _serve(_config(tmp_path / "warc"), (WRITE, *_exchange()))
    assert [a[0] for a in answers] == [WRITTEN]
    assert sorted(p.name for p in (tmp_path / "warc").iterdir()) == [".test-run-00001.warc.gz.cdxj-lines.open",
                                                                     ".test-run-00001.warc.gz.open"]


def test_writer_dies_with_a_killed_crawl_and_the_next_run_recovers(tmp_path):
    out = tmp_path / "out"
    with FixtureSite() as site:
        crawl = start_crawl(site.base_url, out, *SLOW)
        try:
            wait_for_article_requests(site, crawl, 3)
            assert _wait_until(lambda: bool(_writers_of(crawl.pid)))
            [writer] = _writers_of(crawl.pid)
            assert _alive(writer)
            crawl.kill()
            crawl.wait(timeout=60)
        finally:
            if crawl.poll() is None:
                crawl.kill()
        assert _wait_until(lambda: not _alive(writer)), "the writer outlived the killed crawl"
        # Nothing was committed: the killed run's WARC files are all still open.
        names = [p.name for p in (out / "warc").iterdir()]
        assert names and all(name.startswith(".") and name.endswith(".open") for name in names), names
        rerun = run_crawl(site.base_url, out)
    assert rerun.returncode == exitcodes.COMPLETE, rerun.log[-3000:]
    assert_each_article_once(out)
    assert_no_stray_files(out)


def test_writer_killed_mid_crawl_fails_the_run_without_a_hang(tmp_path):
    out = tmp_path / "out"
    with FixtureSite() as site:
        crawl = start_crawl(site.base_url, out, *SLOW)
        try:
            wait_for_article_requests(site, crawl, 3)
            assert _wait_until(lambda: bool(_writers_of(crawl.pid)))
            [writer] = _writers_of(crawl.pid)
            os.kill(writer, signal.SIGKILL)
            _, log = crawl.communicate(timeout=240)
        finally:
            if crawl.poll() is None:
                crawl.kill()
        assert crawl.returncode == exitcodes.OUTPUT_FAILED, log[-3000:]
        assert "WARC writer process is gone" in log
        # What the killed writer held is not committed; the next run archives it again.
        rerun = run_crawl(site.base_url, out)
    assert rerun.returncode == exitcodes.COMPLETE, rerun.log[-3000:]
    assert_each_article_once(out)
    assert_no_stray_files(out)


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM])
def test_writer_outlives_a_signal_to_the_process_group_until_the_final_seal(tmp_path, signal_number):
    """Ctrl-C (or a TERM to the process group) reaches the writer too: it waits for the crawl's
    final seal, so the interrupted run still commits what it fetched."""
    out = tmp_path / "out"
    with FixtureSite() as site:
        crawl = start_crawl(site.base_url, out, *SLOW)
        try:
            wait_for_article_requests(site, crawl, 3)
            assert _wait_until(lambda: bool(_writers_of(crawl.pid)))
            [writer] = _writers_of(crawl.pid)
            os.kill(writer, signal_number)
            crawl.send_signal(signal_number)
            _, log = crawl.communicate(timeout=240)
        finally:
            if crawl.poll() is None:
                crawl.kill()
    assert crawl.returncode == exitcodes.INTERRUPTED, log[-3000:]
    ids = [record["id"] for record in consumer.records(out)]
    assert ids and len(ids) == len(set(ids))
    assert any((out / "warc").glob("*.warc.gz"))
    assert not archive_verify(out)  # every record's pointer resolves into a sealed, listed file
