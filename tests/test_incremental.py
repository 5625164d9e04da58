"""Cron runs: incremental reruns, new/modified/deleted records, kills, shutdowns, locks, site down."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from crawler import exitcodes
from tests import consumer
from tests.fixture_cases import load_cases
from tests.fixture_server import FixtureSite, Resource
from tests.utils.crawl import run_crawl, start_crawl

ARTICLE_IDS = {case.expected["id"] for case in load_cases("article")}
EDITED = "/szdt/20240110/2868001.html"
REMOVED = "/scyw/20250829/2992286.html"


SOFT_404 = "/gcsy/20200101/2000001.html"  # not an article, so never "known": fetched each run


def article_paths(counts) -> list[str]:
    return [p for p in counts if p.count("/") == 3 and p.endswith(".html") and p != SOFT_404]


def manifests(output_dir: Path) -> list[dict]:
    return consumer.manifests(output_dir)


def visible_records(output_dir: Path) -> list[dict]:
    return consumer.records(output_dir)


def last_run_records(output_dir: Path) -> list[dict]:
    return consumer.records(output_dir, consumer.final(output_dir)["run_id"])


@pytest.fixture
def first_run(tmp_path):
    with FixtureSite() as site:
        result = run_crawl(site.base_url, tmp_path)
        assert result.returncode == 0, result.log[-2000:]
        assert {r["status"] for r in result.records} == {"new"}
        yield site, tmp_path


def test_unchanged_site_second_run_emits_nothing_and_fetches_no_article(first_run):
    site, out = first_run
    site.requests.clear()
    result = run_crawl(site.base_url, out, "-a", "recheck=0")
    assert result.returncode == 0, result.log[-2000:]
    assert len(list(out.glob("*.jsonl"))) == 1  # no empty file for the second run
    assert article_paths(site.request_counts()) == []
    second = consumer.final(out)
    assert second["complete"] and second["counts"]["new"] == 0
    # the WARC file and its index (and the run's WACZ): no records file
    assert [f["kind"] for f in second["files"] if f["kind"] != "wacz"] == ["warc", "cdxj"]


def test_default_recheck_refetches_recent_only(first_run):
    site, out = first_run
    site.requests.clear()
    result = run_crawl(site.base_url, out, "-s", "RECHECK_BUDGET=0")
    assert result.returncode == 0
    assert visible_records(out) and len(list(out.glob("*.jsonl"))) == 1
    # The fixture articles are all older than 7 days, and no older one is budgeted: nothing is rechecked.
    assert article_paths(site.request_counts()) == []


def test_one_article_added(first_run):
    site, out = first_run
    case = next(c for c in load_cases("article") if c.meta["path"] == EDITED)
    new_path = "/szdt/20261120/3100001.html"
    site.put(new_path, Resource(200, dict(case.meta["headers"]), case.body.replace(
        "张三".encode(), "李四".encode()).replace(b"<title>", "<title>新增".encode())))
    listing = site.resources["/szdt/index.html"]
    link = f'<li><a href="{new_path}">新增文章</a><span>2026-11-20</span></li>'.encode()
    site.put("/szdt/index.html", Resource(listing.status, listing.headers,
                                          listing.body.replace(b"<ul", b"<ul>" + link + b"</ul><ul", 1)))
    site.put("/szdt/", site.resources["/szdt/index.html"])
    site.requests.clear()
    result = run_crawl(site.base_url, out, "-a", "recheck=0")
    assert result.returncode == 0, result.log[-2000:]
    assert [(r["id"], r["status"], r["revision"]) for r in result.records if r["id"] == "3100001"] == [
        ("3100001", "new", 1)]
    assert len(last_run_records(out)) == 1
    assert article_paths(site.request_counts()) == [new_path]


def test_one_article_edited_with_recheck_all(first_run):
    site, out = first_run
    old = site.resources[EDITED]
    site.put(EDITED, Resource(old.status, old.headers, old.body.replace("张三".encode(), "王二".encode())))
    result = run_crawl(site.base_url, out, "-a", "recheck=all")
    assert result.returncode == 0, result.log[-2000:]
    records = last_run_records(out)
    assert [(r["id"], r["status"], r["revision"]) for r in records] == [("2868001", "modified", 2)]
    assert "王二" in records[0]["body"]
    first = next(r for r in visible_records(out) if r["id"] == "2868001" and r["revision"] == 1)
    assert records[0]["first_seen"] == first["first_seen"]


def test_one_article_removed_with_recheck_all(first_run):
    site, out = first_run
    site.put(REMOVED, None)
    result = run_crawl(site.base_url, out, "-a", "recheck=all")
    assert result.returncode == 0, result.log[-2000:]
    records = last_run_records(out)
    assert [(r["id"], r["status"]) for r in records] == [("2992286", "deleted")]
    assert consumer.final(out)["counts"]["deleted"] == 1


def _start_crawl(base_url: str, out: Path, *args: str) -> subprocess.Popen:
    return start_crawl(base_url, out, "-s", "AUTOTHROTTLE_ENABLED=False", *args)


def _wait_for_articles(site: FixtureSite, process: subprocess.Popen, count: int) -> None:
    deadline = time.monotonic() + 120
    while len(article_paths(site.request_counts())) < count:
        assert process.poll() is None, "crawl ended before the kill point"
        assert time.monotonic() < deadline
        time.sleep(0.02)


@pytest.mark.parametrize("kill_after", [1, 8, 16])
def test_sigkill_then_rerun_loses_nothing(tmp_path, kill_after):
    with FixtureSite() as site:
        # An earlier complete run's file must stay untouched by what follows.
        earlier = run_crawl(site.base_url, tmp_path, "-a", "channels=gcsy")
        earlier_files = {p: p.read_bytes() for p in tmp_path.glob("*.jsonl")}
        assert earlier.returncode == 0 and earlier_files
        process = _start_crawl(site.base_url, tmp_path, "-s", "DOWNLOAD_DELAY=0.15", "-s", "DOWNLOAD_DELAY_JITTER=0")
        _wait_for_articles(site, process, kill_after)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        assert not [p for p in tmp_path.glob("*.jsonl") if p not in earlier_files]
        rerun = run_crawl(site.base_url, tmp_path)
    assert rerun.returncode == 0, rerun.log[-2000:]
    ids = [r["id"] for r in visible_records(tmp_path)]
    assert sorted(ids) == sorted(ARTICLE_IDS)
    assert {p: p.read_bytes() for p in earlier_files} == earlier_files
    assert not [p for p in tmp_path.rglob(".*") if p.name.endswith((".part", ".open"))]


def test_sigterm_gives_incomplete_manifest_and_nonzero_exit(tmp_path):
    with FixtureSite() as site:
        process = _start_crawl(site.base_url, tmp_path, "-s", "DOWNLOAD_DELAY=0.2", "-s", "DOWNLOAD_DELAY_JITTER=0")
        _wait_for_articles(site, process, 3)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == exitcodes.INTERRUPTED
    manifest = consumer.final(tmp_path)
    assert manifest["complete"] is False and manifest["finish_reason"] == "shutdown"
    # What the interrupted run did write is complete, and the next run does not repeat it.
    written = {r["id"] for r in visible_records(tmp_path)}
    with FixtureSite() as site:
        rerun = run_crawl(site.base_url, tmp_path)
    assert rerun.returncode == 0
    assert sorted(r["id"] for r in visible_records(tmp_path)) == sorted(ARTICLE_IDS)
    assert written <= ARTICLE_IDS


def test_overlapping_run_exits_locked(tmp_path):
    with FixtureSite() as site:
        process = _start_crawl(site.base_url, tmp_path, "-s", "DOWNLOAD_DELAY=0.2")
        _wait_for_articles(site, process, 1)
        second = run_crawl(site.base_url, tmp_path, timeout=60)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    assert second.returncode == exitcodes.LOCKED
    assert "is locked by run" in second.log


def test_site_down_fails_without_touching_files(tmp_path):
    target = tmp_path / "records.jsonl"
    target.write_text('{"id": "yesterday"}\n', encoding="utf-8")
    with FixtureSite() as site:
        down = site.base_url
    result = run_crawl(down, tmp_path / "out", "-O", str(target), "-s", "RETRY_TIMES=1", timeout=120)
    assert result.returncode == exitcodes.FETCHED_NOTHING
    assert target.read_text("utf-8") == '{"id": "yesterday"}\n'
    assert not list((tmp_path / "out").glob("*.jsonl"))
    assert consumer.final(tmp_path / "out")["complete"] is False


def test_bound_hit_exits_with_its_code(tmp_path):
    with FixtureSite() as site:
        result = run_crawl(site.base_url, tmp_path, "-s", "CLOSESPIDER_PAGECOUNT=5")
    assert result.returncode == exitcodes.BOUND_HIT
    manifest = consumer.final(tmp_path)
    assert manifest["complete"] is False and manifest["finish_reason"].startswith("closespider_")


def test_error_threshold_exits_with_its_code(tmp_path):
    with FixtureSite() as site:
        for case in load_cases("article")[:8]:
            site.put(case.meta["path"], None)  # now 404
        result = run_crawl(site.base_url, tmp_path, "-s", "RUN_MAX_ERROR_RATE=0.1")
    assert result.returncode == exitcodes.ERROR_THRESHOLD
    manifest = consumer.final(tmp_path)
    # Complete is coverage: every list page was read; the failed articles wait for the next run.
    assert manifest["complete"] is True and manifest["counts"]["failed"] >= 8
