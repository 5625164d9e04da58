"""Shared fixtures: the fixture site on 127.0.0.1 and a runner for the real ``scrapy crawl``."""

from __future__ import annotations

import functools
import inspect
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from crawler.archive.verify import verify as archive_verify
from tests import consumer
from tests.fixture_server import FixtureSite

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture
def site():
    with FixtureSite() as running:
        yield running


@dataclass
class CrawlResult:
    returncode: int
    log: str
    records: list[dict]
    output_dir: Path


# Politeness off, retries quick: what a test crawl of the local fixture site runs with.
FAST = ("-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "RETRY_BACKOFF_BASE=0.05")


def crawl_command(base_url: str, output_dir: Path, *args: str) -> list[str]:
    """``scrapy crawl sichuanpeace -a base_url=… -s OUTPUT_DIR=…`` and ``args``, as a subprocess runs it."""
    return [sys.executable, "-m", "scrapy", "crawl", "sichuanpeace", "-a", f"base_url={base_url}",
            "-s", f"OUTPUT_DIR={output_dir}", *args]


def start_crawl(base_url: str, output_dir: Path, *args: str) -> subprocess.Popen:
    """A crawl running in the background (stderr kept), for a test that signals or kills it."""
    return subprocess.Popen(crawl_command(base_url, output_dir, *args), cwd=PROJECT,
                            env={**os.environ, "PYTHONPATH": str(PROJECT)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def wait_for_article_requests(site: FixtureSite, process: subprocess.Popen, count: int,
                              timeout: float = 180) -> None:
    """Until the site has been asked for ``count`` article pages (the crawl must still be running)."""
    deadline = time.monotonic() + timeout
    while sum(1 for p in site.request_counts() if p.count("/") == 3 and p.endswith(".html")) < count:
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)


def run_crawl(base_url: str, output_dir: Path, *args: str, timeout: float = 300, verify: bool = True,
              env: dict[str, str] | None = None) -> CrawlResult:
    """Run ``scrapy crawl sichuanpeace -a base_url=...`` in a subprocess, politeness off for speed.

    Then, whatever the exit code, the archive must verify as ``scrapy verify`` checks it (in
    process, for speed): a test that damages the archive on purpose, or whose records are not all
    local files, passes ``verify=False`` and says why. ``env``: more environment variables (a
    ``PYTHONPATH`` there comes before the project's)."""
    command = crawl_command(base_url, output_dir, *FAST, "-s", "LOG_LEVEL=INFO", *args)
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


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on (at the time of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    """A redis-server of the test's own on 127.0.0.1 (no persistence), stopped after it."""
    if not shutil.which("redis-server"):
        if os.environ.get("CI"):
            raise RuntimeError("redis-server is not installed: .ci/run installs it")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait(timeout=10)


# --- The quick tier (`python3 -m pytest -m quick`, the edit loop) ---------------------------------
# A test is end-to-end when it or one of its fixtures starts something: a fixture site, a crawl, a
# redis-server, any subprocess. Every other test is marked `quick`. Decided here, from the code
# itself, so that a new test lands in the right tier without anyone listing it.
E2E_WORDS = ("run_crawl", "FixtureSite", "BadSite", "subprocess", "redis_url", "Popen", "run_in_terminal",
             "crawl_command", "CrawlerProcess")


@functools.cache
def _starts_something(function: object) -> bool:
    """Whether ``function``'s source, or that of a function of the tests or bench it calls by name
    (``scrapy(…)``, ``run_bench(…)``, and so on down), holds one of E2E_WORDS."""
    seen, todo = set(), [function]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            source = inspect.getsource(current)  # type: ignore[arg-type]
        except (OSError, TypeError):
            continue
        if any(word in source for word in E2E_WORDS):
            return True
        code, scope = getattr(current, "__code__", None), getattr(current, "__globals__", {})
        todo += [f for name in (code.co_names if code is not None else ()) if inspect.isfunction(f := scope.get(name))
                 and f.__module__.split(".")[0] in ("tests", "bench")]
    return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        functions = [getattr(item, "function", None)]
        fixture_info = getattr(item, "_fixtureinfo", None)
        if fixture_info is not None:
            functions += [d.func for defs in fixture_info.name2fixturedefs.values() for d in defs]
        if not any(f is not None and _starts_something(f) for f in functions):
            item.add_marker(pytest.mark.quick)
