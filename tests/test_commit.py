"""The commit protocol: each record reaches a consumer through exactly one manifest, whatever
stopped the run. The consumer here reads OUTPUT_DIR as README says (tests/consumer.py)."""

from __future__ import annotations

import hashlib
import json
import signal
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from crawler import exitcodes
from crawler.run.points import (
    MANIFEST_DUE,
    MANIFEST_WRITTEN,
    POINTS,
    RECORDS_STORED,
    SLICE_CUT,
    STATE_PROMOTED,
    WACZ_WRITTEN,
    WARC_SEALED,
)
from tests import consumer
from tests.fixture_cases import load_cases
from tests.fixture_server import FixtureSite, Resource
from tests.utils.cmdline import NO_POLITENESS, crawl
from tests.utils.crawl import run_crawl, start_crawl, wait_for_article_requests

ARTICLE_IDS = sorted(case.expected["id"] for case in load_cases("article"))
# 21 articles, a slice every 5 records: slices 1-4 are cut, slice 5 is the final one.
SLICED = ("-s", "CHECKPOINT_RECORDS=5")
FINAL_SLICE = 5


def assert_each_article_once(out: Path) -> None:
    ids = sorted(r["id"] for r in consumer.records(out))
    assert ids == ARTICLE_IDS


def assert_no_stray_files(out: Path) -> None:
    """No hidden part/open file, and every records, WARC, CDXJ or WACZ file is listed by a manifest
    (an index with the SHA-256 of its bytes)."""
    assert not [p for p in out.rglob(".*") if p.name.endswith((".part", ".open"))]
    listed = consumer.listed_files(out)
    indexes = list((out / "warc").glob("*.cdxj"))
    on_disk = {p.resolve() for p in [*out.glob("*.jsonl"), *(out / "warc").glob("*.warc.gz"), *indexes,
                                      *(out / "wacz").glob("*.wacz")]}
    assert on_disk <= listed, sorted(on_disk - listed)
    digests = {entry["file"]: entry["sha256"] for m in consumer.manifests(out) for entry in m["files"]
               if entry["kind"] == "cdxj"}
    for index in indexes:
        assert digests[f"warc/{index.name}"] == hashlib.sha256(index.read_bytes()).hexdigest()
    for record in consumer.records(out):
        assert (out / record["warc"]["file"]).resolve() in listed


KILLS = [(point, 1) for point in POINTS] + [(SLICE_CUT, 4)] + [
    (point, FINAL_SLICE) for point in (WARC_SEALED, RECORDS_STORED, MANIFEST_DUE, MANIFEST_WRITTEN, STATE_PROMOTED)]


@pytest.mark.parametrize(("point", "nth"), KILLS, ids=[f"{p}-{n}" for p, n in KILLS])
def test_kill_at_each_commit_point_then_rerun(tmp_path, point, nth):
    # The run's own WACZ is written only when asked (WACZ_ENABLED, off by default).
    wacz = ("-s", "WACZ_ENABLED=True") if point == WACZ_WRITTEN else ()
    with FixtureSite() as site:
        killed = run_crawl(site.base_url, tmp_path, *SLICED, *wacz, "-s", f"FAULT_KILL_AT={point}:{nth}")
        assert killed.returncode == -signal.SIGKILL, killed.log[-2000:]
        rerun = run_crawl(site.base_url, tmp_path, *SLICED, *wacz)
    assert rerun.returncode == 0, rerun.log[-3000:]
    assert_each_article_once(tmp_path)
    assert_no_stray_files(tmp_path)
    found = consumer.manifests(tmp_path)
    # Recovered manifests say whose site they committed: "the site's last run" must find them.
    assert all(m["site"] == "127.0.0.1" for m in found if m["records"])
    killed_run, rerun_id = found[0]["run_id"], found[-1]["run_id"]
    finals = [m for m in found if m.get("final")]
    assert [m["run_id"] for m in finals].count(rerun_id) == 1 and finals[-1]["complete"]
    killed_finals = [m for m in finals if m["run_id"] == killed_run and killed_run != rerun_id]
    if nth == FINAL_SLICE and point in (MANIFEST_WRITTEN, STATE_PROMOTED):
        assert [m.get("recovered") for m in killed_finals] == [None]  # its own, written before the kill
    elif killed_run != rerun_id:  # it committed something: its end is recorded, not complete
        assert [(m["recovered"], m["complete"]) for m in killed_finals] == [(True, False)]


def test_unsliced_run_commits_once(tmp_path):
    with FixtureSite() as site:
        result = run_crawl(site.base_url, tmp_path)
    assert result.returncode == 0
    assert [m["final"] for m in consumer.manifests(tmp_path)] == [True]
    assert_each_article_once(tmp_path)


def test_checkpoints_commit_slices(tmp_path):
    with FixtureSite() as site:
        result = run_crawl(site.base_url, tmp_path, *SLICED)
    assert result.returncode == 0, result.log[-2000:]
    found = consumer.manifests(tmp_path)
    assert [m["seq"] for m in found] == [1, 2, 3, 4, 5]
    assert [m["records"] for m in found] == [5, 5, 5, 5, 1]
    assert [m["final"] for m in found] == [False] * 4 + [True]
    assert len(list(tmp_path.glob("*.jsonl"))) == 5
    assert_each_article_once(tmp_path)
    assert_no_stray_files(tmp_path)


def _start(base_url: str, out: Path, *args: str) -> subprocess.Popen:
    return start_crawl(base_url, out, "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY_JITTER=0", *args)


def test_sigterm_commits_what_was_done(tmp_path):
    """(A second SIGTERM stops at once, without the commit: tests/test_stopping.py.)"""
    with FixtureSite() as site:
        process = _start(site.base_url, tmp_path, "-s", "DOWNLOAD_DELAY=0.2")
        wait_for_article_requests(site, process, 4)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=90) == exitcodes.INTERRUPTED
        final = consumer.final(tmp_path)
        assert final["finish_reason"] == "shutdown" and final["complete"] is False
        interrupted = {r["id"] for r in consumer.records(tmp_path)}
        assert interrupted, "the interrupted run's records reach the consumer"
        rerun = run_crawl(site.base_url, tmp_path)
    assert rerun.returncode == 0
    assert_each_article_once(tmp_path)
    # The rerun did not stop early after an incomplete run: it paged every list to its end.
    assert consumer.final(tmp_path)["paged_to_end"] is True


def test_bound_keeps_its_records(tmp_path):
    with FixtureSite() as site:
        bounded = run_crawl(site.base_url, tmp_path, "-s", "CLOSESPIDER_ITEMCOUNT=5")
        assert bounded.returncode == exitcodes.BOUND_HIT
        assert len(consumer.records(tmp_path)) >= 5
        rerun = run_crawl(site.base_url, tmp_path)
    assert rerun.returncode == 0
    assert_each_article_once(tmp_path)


def test_unchanged_rerun_stops_paging_at_known_pages(tmp_path):
    with FixtureSite() as site:
        assert run_crawl(site.base_url, tmp_path).returncode == 0
        site.requests.clear()
        rerun = run_crawl(site.base_url, tmp_path, "-a", "recheck=0")
        counts = site.request_counts()
    assert rerun.returncode == 0
    # Page 1 of 四川要闻 lists only known articles: its pages 2 and 3 are not read again.
    assert counts["/scyw/index.html"] + counts["/scyw/"] == 1
    assert "/scyw/index_1.html" not in counts and "/scyw/index_2.html" not in counts
    assert consumer.final(tmp_path)["paged_to_end"] is True


def test_last_run_is_found_by_seq_not_by_clock(tmp_path):
    """A run whose id sorts last (a clock set ahead, then back) is not "the last run"."""
    with FixtureSite() as site:
        ahead = run_crawl(site.base_url, tmp_path, "-s", "RUN_ID=29991231T235959Z-aaaaaa")
        assert ahead.returncode == 0
        site.requests.clear()
        process = _start(site.base_url, tmp_path, "-s", "DOWNLOAD_DELAY=0.2", "-s", "RUN_ID=20000101T000000Z-bbbbbb",
                         "-a", "recheck=all")
        wait_for_article_requests(site, process, 3)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=90) == exitcodes.INTERRUPTED
        site.requests.clear()
        rerun = run_crawl(site.base_url, tmp_path, "-a", "recheck=0")
        counts = site.request_counts()
    assert rerun.returncode == 0
    # The interrupted run is the last by seq: the rerun pages every list to its end.
    assert "/scyw/index_2.html" in counts


def test_interrupted_run_never_replaces_dash_O_file(tmp_path):
    target = tmp_path / "records.jsonl"
    with FixtureSite() as site:
        first = run_crawl(site.base_url, tmp_path / "out", "-O", str(target))
        assert first.returncode == 0
        yesterday = target.read_bytes()
        bounded = run_crawl(site.base_url, tmp_path / "out", "-O", str(target), "-a", "recheck=all",
                            "-s", "CLOSESPIDER_PAGECOUNT=3")
        assert bounded.returncode == exitcodes.BOUND_HIT
    assert target.read_bytes() == yesterday
    assert sorted(r["id"] for r in consumer.records(tmp_path / "out")) == ARTICLE_IDS


def test_dash_o_appends_a_range(tmp_path):
    target = tmp_path / "all.jsonl"
    with FixtureSite() as site:
        assert run_crawl(site.base_url, tmp_path / "out", "-o", str(target), "-a", "channels=scyw").returncode == 0
        assert run_crawl(site.base_url, tmp_path / "out", "-o", str(target)).returncode == 0
    entries = [f for m in consumer.manifests(tmp_path / "out") for f in m["files"] if f["kind"] == "delivery"]
    assert entries[1]["offset"] == entries[0]["bytes"] > 0
    assert sorted(r["id"] for r in consumer.records(tmp_path / "out")) == ARTICLE_IDS
    assert len(target.read_text("utf-8").splitlines()) == len(ARTICLE_IDS)


def test_stdout_feed_is_committed(tmp_path):
    with FixtureSite() as site:
        done = crawl(site.base_url, tmp_path, *NO_POLITENESS, "-o", "stdout::jsonlines", text=False)
    assert done.returncode == 0, done.stderr[-2000:]
    printed = [json.loads(line) for line in done.stdout.decode("utf-8").splitlines() if line.startswith("{")]
    assert sorted(r["id"] for r in printed) == ARTICLE_IDS
    entry = next(f for f in consumer.final(tmp_path)["files"] if f["kind"] == "delivery")
    assert entry["uri"] == "stdout:" and entry["records"] == len(ARTICLE_IDS) and entry["file"] is None
    # The consumer reads the archive's own copy: the same bytes as were printed.
    assert consumer.records(tmp_path) == printed
    # The state was promoted: a rerun finds nothing new.
    with FixtureSite() as site:
        rerun = run_crawl(site.base_url, tmp_path, "-a", "recheck=0")
    assert rerun.returncode == 0 and consumer.final(tmp_path)["counts"]["new"] == 0


def test_jobdir_after_a_kill_starts_afresh_and_loses_nothing(tmp_path):
    jobdir = ("-s", f"JOBDIR={tmp_path / 'job'}")
    with FixtureSite() as site:
        killed = run_crawl(site.base_url, tmp_path / "out", *SLICED, *jobdir, "-s", "FAULT_KILL_AT=records_stored:2")
        assert killed.returncode == -signal.SIGKILL
        resumed = run_crawl(site.base_url, tmp_path / "out", *SLICED, *jobdir)
        assert resumed.returncode == 0, resumed.log[-2000:]
        assert "did not end cleanly" in resumed.log
        # A finished JOBDIR does not make the next run find nothing.
        again = run_crawl(site.base_url, tmp_path / "out", *jobdir, "-a", "recheck=0")
    assert again.returncode == 0, again.log[-2000:]
    assert sorted(r["id"] for r in consumer.records(tmp_path / "out")) == ARTICLE_IDS


def test_jobdir_resumes_after_sigterm(tmp_path):
    jobdir = ("-s", f"JOBDIR={tmp_path / 'job'}")
    with FixtureSite() as site:
        process = _start(site.base_url, tmp_path / "out", "-s", "DOWNLOAD_DELAY=0.2", *jobdir)
        wait_for_article_requests(site, process, 4)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=90) == exitcodes.INTERRUPTED
        resumed = run_crawl(site.base_url, tmp_path / "out", *jobdir)
    assert resumed.returncode == 0, resumed.log[-2000:]
    assert "resuming the job" in resumed.log
    assert sorted(r["id"] for r in consumer.records(tmp_path / "out")) == ARTICLE_IDS


def test_failed_article_is_asked_for_again_despite_an_early_stop(tmp_path):
    late = "/scyw/20200521/2106645.html"  # listed only on 四川要闻's last list page
    with FixtureSite() as site:
        good = site.resources[late]
        site.put(late, Resource(503, {"Content-Type": "text/html"}, b"busy"))
        first = run_crawl(site.base_url, tmp_path, "-s", "RETRY_TIMES=1")
        assert first.returncode == 0, first.log[-2000:]
        assert "2106645" not in {r["id"] for r in consumer.records(tmp_path)}
        assert consumer.final(tmp_path)["paged_to_end"] is True
        site.put(late, good)
        site.requests.clear()
        rerun = run_crawl(site.base_url, tmp_path, "-a", "recheck=0")
        counts = site.request_counts()
    assert rerun.returncode == 0
    assert "/scyw/index_2.html" not in counts  # the rerun stopped paging early ...
    assert counts[late] == 1  # ... and still asked for the article that had failed
    assert sorted(r["id"] for r in consumer.records(tmp_path)) == ARTICLE_IDS
    assert consumer.final(tmp_path)["counts"]["pending_retried"] == 1


def test_file_uri_feed_commits_slices(tmp_path):
    with FixtureSite() as site:
        result = run_crawl(site.base_url, tmp_path / "out", *SLICED,
                           "-o", f"file://{tmp_path}/export/records-%(batch_id)05d.jsonl")
    assert result.returncode == 0, result.log[-2000:]
    assert sorted(r["id"] for r in consumer.records(tmp_path / "out")) == ARTICLE_IDS
    assert len(list((tmp_path / "export").glob("records-*.jsonl"))) == 5


def test_ftp_feed_is_committed(tmp_path):
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import ThreadedFTPServer

    (tmp_path / "ftp").mkdir()
    authorizer = DummyAuthorizer()
    authorizer.add_user("crawler", "secret", str(tmp_path / "ftp"), perm="elradfmw")
    handler = type("Handler", (FTPHandler,), {"authorizer": authorizer, "passive_ports": range(60000, 60100)})
    server = ThreadedFTPServer(("127.0.0.1", 0), handler)
    port = server.socket.getsockname()[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.2}, daemon=True)
    thread.start()
    try:
        with FixtureSite() as site:
            result = run_crawl(site.base_url, tmp_path / "out", *SLICED,
                               "-o", f"ftp://crawler:secret@127.0.0.1:{port}/records-%(batch_id)d.jsonl:jsonlines")
    finally:
        server.close_all()
    assert result.returncode == 0, result.log[-2000:]
    entries = [f for m in consumer.manifests(tmp_path / "out") for f in m["files"] if f["kind"] == "delivery"]
    assert [e["records"] for e in entries] == [5, 5, 5, 5, 1]
    assert all("secret" not in e["uri"] and e["file"] is None for e in entries)
    # Each manifest's digest is that of the bytes the server received.
    for entry in entries:
        uploaded = tmp_path / "ftp" / entry["uri"].rsplit("/", 1)[1]
        assert hashlib.sha256(uploaded.read_bytes()).hexdigest() == entry["sha256"]
    uploaded_ids = [json.loads(line)["id"] for p in (tmp_path / "ftp").glob("*.jsonl")
                    for line in p.read_text("utf-8").splitlines()]
    assert sorted(uploaded_ids) == ARTICLE_IDS


def test_failed_upload_commits_nothing_of_its_slice(tmp_path):
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with FixtureSite() as site:
        failed = run_crawl(site.base_url, tmp_path, *SLICED, "-o", f"{tmp_path}/a-%(batch_id)d.jsonl",
                           "-o", f"ftp://u:p@127.0.0.1:{port}/b-%(batch_id)d.jsonl:jsonlines")
        assert failed.returncode == exitcodes.OUTPUT_FAILED, failed.log[-2000:]
        assert consumer.records(tmp_path) == []  # a slice is all its feeds or nothing
        rerun = run_crawl(site.base_url, tmp_path)
    assert rerun.returncode == 0
    assert_each_article_once(tmp_path)


def test_checkpoint_seconds_cuts_slices_by_time(tmp_path):
    with FixtureSite() as site:
        result = run_crawl(site.base_url, tmp_path, "-s", "CHECKPOINT_SECONDS=1", "-s", "DOWNLOAD_DELAY=0.15",
                           "-s", "DOWNLOAD_DELAY_JITTER=0")
    assert result.returncode == 0, result.log[-2000:]
    found = consumer.manifests(tmp_path)
    assert len(found) >= 3 and all(m["records"] for m in found[:-1])  # no slice cut without a record
    assert_each_article_once(tmp_path)
    assert_no_stray_files(tmp_path)
