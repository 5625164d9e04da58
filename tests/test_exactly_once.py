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
