"""Scale-out on scrapy-redis: two crawler processes share one frontier and one state in Redis.

A real ``redis-server`` on 127.0.0.1 (``.ci/run`` installs it when missing), a fixture family of
three sites (the fixture site mirrored as 四川, 成都 and 眉山), two worker processes per round.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import PROJECT
from tests.fixture_cases import load_cases
from tests.fixture_server import FixtureSite

ARTICLE_IDS = sorted(case.expected["id"] for case in load_cases("article"))
FAMILY = ("sichuan", "chengdu", "meishan")
HOSTS = {"sichuan": "www.sichuanpeace.gov.cn", "chengdu": "www.chengdupeace.gov.cn",
         "meishan": "www.meishanpeace.gov.cn"}

if not shutil.which("redis-server"):
    if os.environ.get("CI"):
        raise RuntimeError("redis-server is not installed: .ci/run installs it")
    pytest.skip("redis-server is not installed (apt-get install redis-server)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
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


def start_worker(site_url: str, short: str, out: Path, redis_url: str, role: str, *settings: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "scrapy", "crawl", "sichuanpeace", "-a", f"base_url={site_url}",
               "-a", f"site={short}", "-a", f"fleet={role}", "-s", f"OUTPUT_DIR={out}",
               "-s", f"REDIS_URL={redis_url}", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0.3",
               "-s", "DOWNLOAD_DELAY_JITTER=0", "-s", "FLEET_MAX_RATE=1000", "-s", "FLEET_IDLE_SECONDS=6", *settings]
    return subprocess.Popen(command, cwd=PROJECT, env={**os.environ, "PYTHONPATH": str(PROJECT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def run_round(sites: dict[str, FixtureSite], outs: list[Path], redis_url: str, *settings: str) -> None:
    """One cron round for each site of the family: a seeder and a worker at the same time."""
    for short, site in sites.items():
        worker = start_worker(site.base_url, short, outs[1], redis_url, "worker", *settings)
        seeder = start_worker(site.base_url, short, outs[0], redis_url, "seed", *settings)
        assert seeder.wait(timeout=180) == 0, seeder.stderr.read()[-3000:]
        assert worker.wait(timeout=180) == 0, worker.stderr.read()[-3000:]


def records(outs: list[Path]) -> list[dict]:
    found = []
    for out in outs:
        for path in out.glob("*.jsonl"):
            found += [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    return found


@pytest.fixture
def family():
    sites = {short: FixtureSite() for short in FAMILY}
    for site in sites.values():
        site.__enter__()
    yield sites
    for site in sites.values():
        site.__exit__(None, None, None)


def test_two_workers_emit_every_article_once_and_rerun_adds_nothing(tmp_path, redis_url, family):
    outs = [tmp_path / "machine-a", tmp_path / "machine-b"]
    run_round(family, outs, redis_url)
    first = records(outs)
    keys = Counter((r["site"], r["id"]) for r in first)
    assert sorted(keys) == sorted((HOSTS[s], i) for s in FAMILY for i in ARTICLE_IDS)
    assert set(keys.values()) == {1}
    # Both processes did part of the work.
    assert all(list(out.glob("*.jsonl")) for out in outs)
    for site in family.values():
        assert all(n == 1 for p, n in site.request_counts().items() if p.count("/") == 3), site.request_counts()
    run_round(family, outs, redis_url, "-a", "recheck=0")
    assert len(records(outs)) == len(first)


def test_killed_worker_loses_nothing(tmp_path, redis_url, family):
    outs = [tmp_path / "machine-a", tmp_path / "machine-b"]
    site = family["chengdu"]
    slow = ("-s", "DOWNLOAD_DELAY=0.5")
    worker = start_worker(site.base_url, "chengdu", outs[1], redis_url, "worker", *slow)
    seeder = start_worker(site.base_url, "chengdu", outs[0], redis_url, "seed", *slow)
    deadline = time.monotonic() + 60
    while sum(1 for p in site.request_counts() if p.count("/") == 3) < 6:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    assert seeder.wait(timeout=180) == 0, seeder.stderr.read()[-3000:]
    run_round({"chengdu": site}, outs, redis_url)
    ids = Counter(r["id"] for r in records(outs))
    assert sorted(ids) == ARTICLE_IDS and set(ids.values()) == {1}


def test_fleet_rate_per_host_stays_under_the_limit(tmp_path, redis_url, family):
    outs = [tmp_path / "machine-a", tmp_path / "machine-b"]
    site = family["meishan"]
    limit = 4
    run_round({"meishan": site}, outs, redis_url, "-s", "DOWNLOAD_DELAY=0", "-s", f"FLEET_MAX_RATE={limit}")
    per_second = Counter(int(t) for t in site.request_times)
    assert sorted(r["id"] for r in records(outs)) == ARTICLE_IDS
    # robots.txt is fetched by each process outside the budget; allow those two.
    assert max(per_second.values()) <= limit + 2, per_second
