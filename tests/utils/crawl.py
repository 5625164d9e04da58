"""A crawl of the fixture site as the tests run it: to its end, then read as a consumer reads it and
verified as ``scrapy verify`` verifies it; or in the background, for a test that stops it."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from crawler.archive.verify import verify as archive_verify
from tests import consumer
from tests.fixture_server import FixtureSite
from tests.utils.cmdline import FAST_INFO, PROJECT, crawl_command, start_crawl

__all__ = ["CrawlResult", "run_crawl", "start_crawl", "wait_for_article_requests"]


@dataclass
class CrawlResult:
    returncode: int
    log: str
    records: list[dict]
    output_dir: Path


def run_crawl(base_url: str, output_dir: Path, *args: str, timeout: float = 300, verify: bool = True,
              env: dict[str, str] | None = None) -> CrawlResult:
    """Run ``scrapy crawl sichuanpeace -a base_url=...`` in a subprocess, politeness off for speed.

    Then, whatever the exit code, the archive must verify as ``scrapy verify`` checks it (in
    process, for speed): a test that damages the archive on purpose, or whose records are not all
    local files, passes ``verify=False`` and says why. ``env``: more environment variables (a
    ``PYTHONPATH`` there comes before the project's)."""
    command = crawl_command(base_url, output_dir, *FAST_INFO, *args)
    more = dict(env or {})
    path = os.pathsep.join(p for p in (more.pop("PYTHONPATH", ""), str(PROJECT)) if p)
    done = subprocess.run(command, cwd=PROJECT, env={**os.environ, **more, "PYTHONPATH": path}, capture_output=True,
                          text=True, timeout=timeout)
    records = consumer.records(output_dir) if (output_dir / "runs").is_dir() else []
    logs = sorted((output_dir / "logs").glob("*.log"), key=lambda p: p.stat().st_mtime)
    log = done.stderr + (logs[-1].read_text("utf-8") if logs else "")
    if verify and (output_dir / "runs").is_dir():
        problems = archive_verify(output_dir)
        assert not problems, "the archive does not verify after the crawl:\n" + "\n".join(map(str, problems))
    return CrawlResult(done.returncode, log, records, output_dir)


def wait_for_article_requests(site: FixtureSite, process: subprocess.Popen, count: int,
                              timeout: float = 180) -> None:
    """Until the site has been asked for ``count`` article pages (the crawl must still be running)."""
    deadline = time.monotonic() + timeout
    while sum(1 for p in site.request_counts() if p.count("/") == 3 and p.endswith(".html")) < count:
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
