"""Exactly once by construction (issue 19): a slice is recognised by the bytes it wrote, every
committed range is read verified, the archive keeps its own copy of every record whatever feed was
asked for, the final manifest's exit code is the process's, and a damaged manifest stops the run.
End to end with the real ``scrapy crawl``; the consumer reads OUTPUT_DIR as README says."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from crawler import exitcodes
from tests import consumer
from tests.conftest import PROJECT, run_crawl
from tests.fixture_cases import load_cases
from tests.fixture_server import FixtureSite

ARTICLE_IDS = sorted(case.expected["id"] for case in load_cases("article"))
SLICED = ("-s", "CHECKPOINT_RECORDS=5")


def _runs(out: Path) -> list[Path]:
    return sorted((out / "runs").glob("*.json"))


def _crawl_stderr(base_url: str, out: Path, *args: str) -> subprocess.CompletedProcess:
    """The real ``scrapy crawl``, for its stderr alone (what cron mails)."""
    command = [sys.executable, "-m", "scrapy", "crawl", "sichuanpeace", "-a", f"base_url={base_url}",
               "-s", f"OUTPUT_DIR={out}", "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", *args]
    return subprocess.run(command, cwd=PROJECT, env={**os.environ, "PYTHONPATH": str(PROJECT)},
                          capture_output=True, text=True, timeout=300)


# --- case 11: an unparseable manifest -----------------------------------------------------------

@pytest.mark.parametrize("which", ["newest", "older"])
def test_an_unparseable_manifest_stops_the_run_with_one_line(tmp_path, which):
    with FixtureSite() as site:
        first = run_crawl(site.base_url, tmp_path, *SLICED)
        assert first.returncode == 0, first.log[-2000:]
        runs = _runs(tmp_path)
        damaged = runs[-1] if which == "newest" else runs[1]
        damaged.write_bytes(damaged.read_bytes()[:100])  # a torn copy
        before = {p.name: p.read_bytes() for p in (tmp_path / "runs").iterdir()}
        refused = _crawl_stderr(site.base_url, tmp_path)
    assert refused.returncode == exitcodes.FAILED, refused.stderr[-2000:]
    assert "Traceback" not in refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and str(damaged) in lines[0] and "restore this file from a backup" in lines[0], lines
    # Nothing was written: no manifest, the damaged one left as it was for the repair.
    assert {p.name: p.read_bytes() for p in (tmp_path / "runs").iterdir()} == before


# --- case 8: once the final manifest is written, its exit code is the process's -------------------

WITH_STATE_FAULT = ("-s", "EXTENSIONS=" + json.dumps({
    "scrapy.extensions.feedexport.FeedExporter": None, "crawler.run.commit.RunCommitter": 0,
    "crawler.extensions.accounting.AccountingExtension": 800, "tests.state_faults.FailOnce": 900}))


def test_a_failure_after_the_final_manifest_keeps_its_exit_code(tmp_path, monkeypatch):
    monkeypatch.setenv("STATE_FAULT", "promote:1")  # the disk fills up once the final manifest is in place
    with FixtureSite() as site:
        first = run_crawl(site.base_url, tmp_path, *WITH_STATE_FAULT)
        final = consumer.final(tmp_path)
        assert first.returncode == final["exit_code"] == exitcodes.COMPLETE, first.log[-2000:]
        assert final["complete"] is True
        assert "the next run does" in first.log
        # Both metrics series tell the same story: the run's exit code is its final manifest's.
        prom = (tmp_path / "metrics" / "127.0.0.1.prom").read_text("utf-8")
        assert 'sichuanpeace_crawl_last_run_exit_code{site="127.0.0.1"} 0.0' in prom
        monkeypatch.delenv("STATE_FAULT")
        rerun = run_crawl(site.base_url, tmp_path, "-a", "recheck=0")
    assert rerun.returncode == 0, rerun.log[-2000:]
    assert "committed, state now promoted" in rerun.log  # the next run finished the promotion
    assert consumer.final(tmp_path)["counts"]["new"] == 0
    assert sorted(r["id"] for r in consumer.records(tmp_path)) == ARTICLE_IDS
