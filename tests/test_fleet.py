"""Scale-out on scrapy-redis: two crawler processes share one frontier and one state in Redis.

A real ``redis-server`` on 127.0.0.1 (``.ci/run`` installs it when missing), a fixture family of
three sites (the fixture site mirrored as 四川, 成都 and 眉山), two worker processes per round.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest
import redis

from crawler.extract.urls import extension, is_attachment
from crawler.fleet import FleetClaims, rate_window
from crawler.state import ArticleState
from crawler.state.redis_store import RedisStateStore
from tests import consumer
from tests.fixture_cases import load_cases
from tests.fixture_server import FixtureSite
from tests.utils.cmdline import start_crawl

# The extensions of the fixture site's images (page requisites, never page attempts).
IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "gif"})

ARTICLE_IDS = sorted(case.expected["id"] for case in load_cases("article"))
FAMILY = ("sichuan", "chengdu", "meishan")
HOSTS = {"sichuan": "www.sichuanpeace.gov.cn", "chengdu": "www.chengdupeace.gov.cn",
         "meishan": "www.meishanpeace.gov.cn"}

if not shutil.which("redis-server"):
    if os.environ.get("CI"):
        raise RuntimeError("redis-server is not installed: .ci/run installs it")
    pytest.skip("redis-server is not installed (apt-get install redis-server)", allow_module_level=True)


def stderr_of(process: subprocess.Popen[str]) -> str:
    """What a crawl started with ``stderr=PIPE`` (text) wrote there."""
    assert process.stderr is not None
    return process.stderr.read()


def start_worker(site_url: str, short: str, out: Path, redis_url: str, role: str, *settings: str) -> subprocess.Popen:
    return start_crawl(site_url, out, "-a", f"site={short}", "-a", f"fleet={role}",
                       "-s", f"REDIS_URL={redis_url}", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0.3",
                       "-s", "DOWNLOAD_DELAY_JITTER=0", "-s", "FLEET_MAX_RATE=1000", "-s", "FLEET_IDLE_SECONDS=6",
                       *settings)


def run_round(sites: dict[str, FixtureSite], outs: list[Path], redis_url: str, *settings: str) -> None:
    """One cron round for each site of the family: a seeder and a worker at the same time."""
    for short, site in sites.items():
        worker = start_worker(site.base_url, short, outs[1], redis_url, "worker", *settings)
        seeder = start_worker(site.base_url, short, outs[0], redis_url, "seed", *settings)
        assert seeder.wait(timeout=180) == 0, stderr_of(seeder)[-3000:]
        assert worker.wait(timeout=180) == 0, stderr_of(worker)[-3000:]


def records(outs: list[Path]) -> list[dict]:
    """Every committed record of every machine, read as README tells a consumer to."""
    return [record for out in outs if (out / "runs").is_dir() for record in consumer.records(out)]


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
    assert seeder.wait(timeout=180) == 0, stderr_of(seeder)[-3000:]
    run_round({"chengdu": site}, outs, redis_url)
    ids = Counter(r["id"] for r in records(outs))
    assert sorted(ids) == ARTICLE_IDS and set(ids.values()) == {1}


def busiest_window(times: list[float], seconds: float) -> int:
    """The most arrivals any window of ``seconds`` holds (sliding, not calendar seconds)."""
    times = sorted(times)
    return max((sum(1 for t in times[i:] if t - start < seconds) for i, start in enumerate(times)), default=0)


def test_busiest_window_sees_a_burst_around_a_second_boundary():
    # Calendar seconds hold 4 each; the sliding second 10.6-11.6 holds 8.
    assert busiest_window([10.1, 10.2, 10.6, 10.7, 10.8, 10.9, 11.0, 11.1, 11.2, 11.3, 11.9, 11.95], 1.0) == 8


@pytest.mark.parametrize(("rate", "limit", "window"), [(4, 4, 1.0), (1, 1, 1.0), (0.5, 1, 2.0), (2.5, 2, 1.0),
                                                      (0.3, 1, 1 / 0.3)])
def test_rate_window_never_exceeds_the_rate(rate, limit, window):
    assert rate_window(rate) == (limit, pytest.approx(window))


def test_fleet_rate_per_host_stays_under_the_limit(tmp_path, redis_url, family):
    """Two workers without a delay: no second, taken at the server, holds more than the limit."""
    outs = [tmp_path / "machine-a", tmp_path / "machine-b"]
    site = family["meishan"]
    limit = 4
    run_round({"meishan": site}, outs, redis_url, "-s", "DOWNLOAD_DELAY=0", "-s", f"FLEET_MAX_RATE={limit}")
    assert sorted(r["id"] for r in records(outs)) == ARTICLE_IDS
    assert len(site.request_times) > 3 * limit
    # Every request counts, robots.txt too, in every window of 1 s (arrival times at the server).
    assert busiest_window(site.request_times, 1.0) <= limit, sorted(site.request_times)


def test_fleet_rate_takes_fractions(tmp_path, redis_url, family):
    """FLEET_MAX_RATE=0.5: one request every 2 s across the fleet, measured at the server."""
    outs = [tmp_path / "machine-a", tmp_path / "machine-b"]
    site = family["sichuan"]
    run_round({"sichuan": site}, outs, redis_url, "-s", "DOWNLOAD_DELAY=0", "-s", "FLEET_MAX_RATE=0.5",
              "-a", "channels=gcsy", "-s", "DISCOVERY_SITEMAPS=False")
    assert sorted(r["id"] for r in records(outs)) == ["1792665", "1801234"]
    times = sorted(site.request_times)
    assert len(times) >= 4
    assert busiest_window(times, 2.0) == 1, [round(b - a, 3) for a, b in pairwise(times)]


def test_fleet_max_rate_is_checked(tmp_path, redis_url, family):
    worker = start_worker(family["sichuan"].base_url, "sichuan", tmp_path, redis_url, "seed", "-s", "FLEET_MAX_RATE=0")
    assert worker.wait(timeout=120) == 1
    assert "FLEET_MAX_RATE must be at least" in stderr_of(worker)


# --- one record per (site, id) across the fleet ---------------------------------------------------

def claim_keys(redis_url: str) -> dict[str, int]:
    """Each claim in Redis with its TTL in ms (-1: none)."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    found = {key: client.pttl(key) for key in client.scan_iter("sichuanpeace:claim:*")}
    client.close()
    return found


def test_claims_hold_across_workers_and_lapse_when_the_worker_is_gone(tmp_path, redis_url):
    site = "www.chengdupeace.gov.cn"
    stores = {name: RedisStateStore(redis_url, tmp_path / name) for name in ("a", "b")}
    claims = {name: FleetClaims(redis.Redis.from_url(redis_url, decode_responses=True), f"run-{name}",
                                f"{store.prefix}:slices", ttl, store)
              for (name, store), ttl in zip(stores.items(), (1.0, 60.0), strict=True)}
    a, b = claims["a"], claims["b"]
    for name, store in stores.items():
        store.open_slice(f"run-{name}", 1, [])
    # Held by a live run: the other worker drops its record, and so does a second URL of the same run.
    assert a.claim(site, "1001") and not b.claim(site, "1001") and not a.claim(site, "1001")
    a.refresh()
    assert not b.claim(site, "1001")
    # Worker a killed before its slice's commit point: its waiting claim lapses after its TTL.
    time.sleep(1.2)
    assert b.claim(site, "1001")
    # A claim whose slice is about to commit has no TTL: the record may be in a manifest already.
    assert a.claim(site, "1002")
    row = ArticleState(site=site, id="1002", url="http://x/scyw/20240101/1002.html", published_at=None,
                       first_seen="t", last_seen="t", content_sha256="0" * 64, revision=1)
    stores["a"].stage("run-a", 1, row)
    a.committing(1)
    assert claim_keys(redis_url)[FleetClaims.key(site, "1002")] == -1
    time.sleep(1.2)
    assert not b.claim(site, "1002")
    # Once its next run settled the slice (promoted from its manifest), the store knows the article.
    stores["a"].promote("run-a", 1, 1)
    assert stores["b"].get(site, "1002") is not None
    assert b.claim(site, "1002")  # stale: b's state pipeline now sees a known article
    # A run with no unsettled slice holds nothing, whatever the TTL.
    stores["a"].open_slice("run-a", 2, [])
    assert a.claim(site, "1003") and not b.claim(site, "1003")
    stores["a"].discard("run-a", 2)
    assert b.claim(site, "1003")
    # settled() deletes a slice's claims; release() one never emitted.
    stores["b"].stage("run-b", 1, ArticleState(**{**row.__dict__, "id": "1003"}))
    b.settled(1)
    assert b.claim(site, "1004")
    b.release(site, "1004")
    assert set(claim_keys(redis_url)) == {FleetClaims.key(site, "1001"), FleetClaims.key(site, "1002")}
    # Claims no live run holds are swept (each run does at its start); live ones stay.
    a.claim(site, "1005")  # run-a has no open slice: stale at once
    assert b.claim(site, "1006")
    assert b.sweep() == 1 and set(claim_keys(redis_url)) == {FleetClaims.key(site, k) for k in ("1001", "1002", "1006")}


def consumer_ids(outs: list[Path]) -> Counter:
    return Counter((r["site"], r["id"]) for r in records(outs))


def test_worker_killed_after_claiming_before_its_commit(tmp_path, redis_url, family):
    """Killed before its records files were in place: its claims lapse (FLEET_CLAIM_SECONDS), and
    other machines emit every article, once."""
    outs = [tmp_path / "machine-a", tmp_path / "machine-b", tmp_path / "machine-c"]
    site = family["chengdu"]
    killed = start_worker(site.base_url, "chengdu", outs[0], redis_url, "seed", "-s", "FAULT_KILL_AT=warc_sealed",
                          "-s", "FLEET_CLAIM_SECONDS=2")
    assert killed.wait(timeout=180) == -signal.SIGKILL
    claimed = claim_keys(redis_url)
    assert len(claimed) == len(ARTICLE_IDS) and all(ttl > 0 for ttl in claimed.values()), claimed
    assert records(outs) == []
    time.sleep(2.5)
    run_round({"chengdu": site}, outs[1:], redis_url)
    expected = Counter({(HOSTS["chengdu"], i): 1 for i in ARTICLE_IDS})
    assert consumer_ids(outs) == expected
    # The killed machine's next run discards its slice and emits nothing more.
    again = start_worker(site.base_url, "chengdu", outs[0], redis_url, "worker")
    assert again.wait(timeout=180) == 0, stderr_of(again)[-3000:]
    assert consumer_ids(outs) == expected
    assert claim_keys(redis_url) == {}


@pytest.mark.parametrize("point", ["records_stored", "manifest_written"])
def test_worker_killed_once_its_slice_is_bound_to_commit(tmp_path, redis_url, family, point):
    """Killed once its records files were in place (its next run's recovery writes their manifest)
    or after its manifest, before the state knew: its records reach the consumer, so no other
    worker emits them again, however long it waits; its next run settles the slice."""
    outs = [tmp_path / "machine-a", tmp_path / "machine-b", tmp_path / "machine-c"]
    site = family["chengdu"]
    killed = start_worker(site.base_url, "chengdu", outs[0], redis_url, "seed", "-s", f"FAULT_KILL_AT={point}",
                          "-s", "FLEET_CLAIM_SECONDS=2")
    assert killed.wait(timeout=180) == -signal.SIGKILL
    expected = Counter({(HOSTS["chengdu"], i): 1 for i in ARTICLE_IDS})
    claimed = claim_keys(redis_url)
    assert len(claimed) == len(ARTICLE_IDS) and set(claimed.values()) == {-1}, claimed
    time.sleep(2.5)
    run_round({"chengdu": site}, outs[1:], redis_url, "-s", "FLEET_CLAIM_SECONDS=2")
    assert consumer_ids(outs[1:]) == Counter()
    again = start_worker(site.base_url, "chengdu", outs[0], redis_url, "worker")
    assert again.wait(timeout=180) == 0, stderr_of(again)[-3000:]
    assert consumer_ids(outs) == expected
    run_round({"chengdu": site}, outs[1:], redis_url, "-a", "recheck=0")
    assert consumer_ids(outs) == expected
    assert claim_keys(redis_url) == {}


def test_accounting_balances_when_a_redirect_hop_runs_on_another_worker(tmp_path, redis_url, family):
    """Every article answers 301 first: the hop goes through the shared queue, and any worker may
    take it. Each worker's buckets add up to its attempts, and the fleet's attempts are the URLs."""
    outs = [tmp_path / "machine-a", tmp_path / "machine-b"]
    site = family["meishan"]
    cases = load_cases("article")

    def moved(handler, hits):
        path = handler.path
        if "?" not in path:
            handler.send_response(301)
            handler.send_header("Location", path + "?moved=1")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        site.send(handler, site.resources[path.split("?")[0]])

    for case in cases:
        site.behaviours[case.meta["path"]] = moved
    run_round({"meishan": site}, outs, redis_url, "-s", "DOWNLOAD_DELAY=0.1")
    assert sorted(r["id"] for r in records(outs)) == ARTICLE_IDS
    finals = [consumer.final(out) for out in outs]
    for final in finals:
        assert final["accounting"]["balanced"], final["accounting"]
    hops = sum(1 for p in site.requests if "?moved=1" in p)
    assert hops >= len(cases)
    # Page requisites (images, attachments: crawler/pipelines/requisites.py) are no page attempts.
    attempted = {p for p in site.requests if "?moved=1" not in p and p != "/robots.txt"
                 and not (is_attachment(p) or extension(p) in IMAGE_EXTENSIONS)}
    assert sum(f["accounting"]["attempts"] for f in finals) == len(attempted)


def test_a_hop_taken_by_another_worker_takes_its_attempt_along(redis_url):
    """The scheduler level of the test above, deterministic: worker a counted the attempt, its
    redirect hop went to the shared queue, worker b took it (and will bucket its outcome)."""
    from scrapy import Request, Spider
    from scrapy.utils.test import get_crawler

    from crawler.accounting import STATS_ATTEMPTS
    from crawler.fleet import DUPEFILTER_KEY, QUEUE_KEY, FleetScheduler

    settings = {"REDIS_URL": redis_url, "SCHEDULER_QUEUE_KEY": QUEUE_KEY, "SCHEDULER_DUPEFILTER_KEY": DUPEFILTER_KEY,
                "SCHEDULER_PERSIST": True, "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter"}
    workers = []
    for _ in range(2):
        crawler = get_crawler(Spider, settings)
        spider = Spider.from_crawler(crawler, "fleet-test")
        crawler.spider = spider
        scheduler = FleetScheduler.from_crawler(crawler)
        scheduler.open(spider)
        workers.append((crawler.stats, scheduler))
    (stats_a, a), (stats_b, b) = workers

    def attempts(stats):
        return stats.get_value(STATS_ATTEMPTS, 0)

    stats_a.inc_value(STATS_ATTEMPTS)  # the first request reached a's downloader
    assert a.enqueue_request(Request("http://x/new.html", meta={"accounted": True, "redirect_times": 1}))
    assert attempts(stats_a) == 0
    taken = b.next_request()
    assert taken.url == "http://x/new.html" and attempts(stats_b) == 1
    assert "fleet_attempt_handoff" not in taken.meta and taken.meta["accounted"]
    # A hop the duplicate filter drops stays with its worker (bucket duplicate there).
    stats_a.inc_value(STATS_ATTEMPTS)
    assert not a.enqueue_request(Request("http://x/new.html", meta={"accounted": True, "redirect_times": 1}))
    assert attempts(stats_a) == 1
    # A request no worker counted yet is no hand-off.
    assert a.enqueue_request(Request("http://x/other.html"))
    assert b.next_request().url == "http://x/other.html" and attempts(stats_b) == 1 and attempts(stats_a) == 1


def test_stalled_worker_whose_claims_lapsed_commits_nothing(tmp_path, redis_url, family):
    """Issue 19, case 3: a worker stopped (SIGSTOP) for longer than FLEET_CLAIM_SECONDS while its
    records waited for their commit. Another machine claimed and committed the same articles; once
    resumed, the first worker's commit finds its fencing tokens gone: its slice is not committed,
    its articles go back to pending, and the consumer gets every article once."""
    outs = [tmp_path / "machine-a", tmp_path / "machine-b", tmp_path / "machine-c"]
    site = family["chengdu"]
    stalled = start_worker(site.base_url, "chengdu", outs[0], redis_url, "seed", "-s", "FLEET_CLAIM_SECONDS=2",
                           "-s", "DOWNLOAD_DELAY=0.5")
    deadline = time.monotonic() + 120
    while sum(1 for ttl in claim_keys(redis_url).values() if ttl > 0) < 2:
        assert time.monotonic() < deadline and stalled.poll() is None
        time.sleep(0.02)
    stalled.send_signal(signal.SIGSTOP)
    try:
        taken = {key.rsplit(":", 1)[1] for key in claim_keys(redis_url)}
        time.sleep(3)  # its claims lapse on the Redis server's clock
        assert claim_keys(redis_url) == {}
        run_round({"chengdu": site}, outs[1:], redis_url, "-s", "FLEET_CLAIM_SECONDS=2")
    finally:
        stalled.send_signal(signal.SIGCONT)
    expected = Counter({(HOSTS["chengdu"], i): 1 for i in ARTICLE_IDS})
    assert consumer_ids(outs[1:]) == expected
    returncode = stalled.wait(timeout=180)
    assert consumer_ids(outs) == expected
    log = stderr_of(stalled)
    assert returncode == 8 and "claims were taken by another worker" in log, log[-3000:]
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    assert taken & set(client.hkeys(f"sichuanpeace:state:pending:{HOSTS['chengdu']}"))  # back to pending
    client.close()
    # The stalled machine's next run settles nothing twice; a new round adds nothing.
    again = start_worker(site.base_url, "chengdu", outs[0], redis_url, "worker")
    assert again.wait(timeout=180) == 0, stderr_of(again)[-3000:]
    run_round({"chengdu": site}, outs[1:], redis_url, "-a", "recheck=0")
    assert consumer_ids(outs) == expected


def folder_owner(out: Path) -> str:
    """How the fleet's state names a worker folder (crawler.state.redis_store)."""
    import socket

    return f"{socket.gethostname()}:{out.resolve()}"


@pytest.mark.parametrize("loss", ["restart", "older_snapshot"])
def test_a_redis_that_lost_the_state_is_rebuilt_from_the_manifests(tmp_path, redis_url, family, loss):
    """Issue 19, case 4: Redis restarted without persistence (everything gone), or came back from an
    older snapshot (the articles and each folder's last promoted seq behind the manifests). Each
    folder's next run folds its manifests in before crawling: the next round emits nothing again."""
    outs = [tmp_path / "machine-a", tmp_path / "machine-b"]
    site = family["meishan"]
    run_round({"meishan": site}, outs, redis_url)
    expected = Counter({(HOSTS["meishan"], i): 1 for i in ARTICLE_IDS})
    assert consumer_ids(outs) == expected
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    if loss == "restart":
        client.flushall()
    else:
        client.delete(f"sichuanpeace:state:articles:{HOSTS['meishan']}")
        client.hset("sichuanpeace:state:folders", mapping={folder_owner(out): 0 for out in outs})
    client.close()
    run_round({"meishan": site}, outs, redis_url, "-a", "recheck=0")
    assert consumer_ids(outs) == expected


def test_a_fleet_state_ahead_of_the_folder_is_refused(tmp_path, redis_url, family):
    """The state says this folder committed more than its manifests hold (manifests removed, a
    copy of another machine's folder): the run refuses, exit 1, with the reason on stderr."""
    out = tmp_path / "machine-a"
    site = family["sichuan"]
    seeder = start_worker(site.base_url, "sichuan", out, redis_url, "seed", "-a", "channels=gcsy",
                          "-s", "DISCOVERY_SITEMAPS=False")
    assert seeder.wait(timeout=180) == 0, stderr_of(seeder)[-3000:]
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.hset("sichuanpeace:state:folders", folder_owner(out), 99)
    client.close()
    again = start_worker(site.base_url, "sichuan", out, redis_url, "seed")
    assert again.wait(timeout=120) == 1
    assert "the fleet's state in Redis holds manifest 99" in stderr_of(again)
