"""The run's metrics file (node_exporter's textfile format), read back with prometheus-client's parser
and checked against the run's final manifest; a failed run keeps the last success time."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from prometheus_client import write_to_textfile
from prometheus_client.parser import text_string_to_metric_families

from crawler import exitcodes
from crawler.accounting import FAILURE_BUCKETS
from crawler.run import lock
from crawler.run.metrics import PREFIX, last_success, metrics_path, registry_for_run, template_error, write_run_metrics
from tests.fixture_server import FixtureSite
from tests.utils.crawl import run_crawl

SITE = "127.0.0.1"


def read_metrics(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a textfile, by name and labels, as Prometheus would scrape it."""
    samples = {}
    for family in text_string_to_metric_families(path.read_text("utf-8")):
        for sample in family.samples:
            samples[(sample.name.removeprefix(PREFIX), tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted({"site": SITE, **labels}.items())))]


def final_manifest(output_dir: Path) -> dict:
    manifests = [json.loads(p.read_text("utf-8")) for p in sorted((output_dir / "runs").glob("*.json"))]
    return [m for m in manifests if m.get("final")][-1]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """A complete run, then a run of the same OUTPUT_DIR while the site is down (exit 4), whose
    metrics go to another METRICS_FILE: the last success time must come from the manifests."""
    output_dir = tmp_path_factory.mktemp("out")
    elsewhere = tmp_path_factory.mktemp("textfile") / "crawl-%(site)s.prom"
    with FixtureSite() as site:
        first = run_crawl(site.base_url, output_dir)
        first_manifest = final_manifest(output_dir)
        first_metrics = read_metrics(output_dir / "metrics" / f"{SITE}.prom")
    # The site is gone (its port closed): nothing can be fetched.
    second = run_crawl(site.base_url, output_dir, "-s", "RETRY_TIMES=0", "-s", f"METRICS_FILE={elsewhere}")
    second_metrics = read_metrics(Path(str(elsewhere) % {"site": SITE}))
    return first, first_manifest, first_metrics, second, final_manifest(output_dir), second_metrics


def test_metrics_of_a_complete_run_match_its_manifest(two_runs):
    first, manifest, samples, *_ = two_runs
    assert first.returncode == 0, first.log[-3000:]
    counts = manifest["counts"]
    assert value(samples, "last_run_exit_code") == first.returncode == manifest["exit_code"]
    assert value(samples, "last_run_complete") == 1
    for status in ("new", "modified", "deleted", "restored", "unchanged"):
        assert value(samples, "last_run_records", status=status) == counts[status], status
    assert value(samples, "last_run_records", status="new") == 21
    buckets = manifest["accounting"]["buckets"]
    for bucket in FAILURE_BUCKETS:
        assert value(samples, "last_run_failures", bucket=bucket) == buckets.get(bucket, 0), bucket
    assert value(samples, "last_run_attempts") == counts["attempted"]
    assert value(samples, "last_run_pages_fetched") == counts["pages_fetched"] > 0
    assert value(samples, "last_run_error_rate") == counts["error_rate"]
    assert value(samples, "last_run_drift") == len(manifest["drift"]) == 0
    ended = datetime.fromisoformat(manifest["end"]).timestamp()
    assert value(samples, "last_success_timestamp_seconds") == ended
    assert ended <= value(samples, "last_run_end_timestamp_seconds") < ended + 60
    assert 0 < value(samples, "last_run_duration_seconds") < 300
    assert value(samples, "last_run_info", run_id=manifest["run_id"]) == 1


def test_a_failed_run_keeps_the_last_success_time(two_runs):
    _, first_manifest, first_samples, second, second_manifest, samples = two_runs
    assert second.returncode == exitcodes.FETCHED_NOTHING, second.log[-3000:]
    assert value(samples, "last_run_exit_code") == second.returncode == second_manifest["exit_code"]
    assert value(samples, "last_run_complete") == 0
    assert value(samples, "last_success_timestamp_seconds") == value(first_samples, "last_success_timestamp_seconds")
    assert value(samples, "last_run_end_timestamp_seconds") > value(first_samples, "last_run_end_timestamp_seconds")
    assert value(samples, "last_run_records", status="new") == 0
    # The site did not answer at all: its requests failed unretried (crawler/downloadermiddlewares/retry.py).
    assert value(samples, "last_run_failures", bucket="unreachable") == \
        second_manifest["accounting"]["buckets"]["unreachable"] > 0


def test_a_run_without_a_final_manifest_still_reports_its_exit_code(tmp_path):
    """A crash or a failed commit: exit code, times and the earlier success; no counts to report."""
    text = tmp_path / "m.prom"
    write_to_textfile(str(text), registry_for_run(SITE, "20261202T000000Z-abcdef", exitcodes.OUTPUT_FAILED,
                                                  1_800_000_000.0, 12.5, None, 1_799_990_000.0))
    samples = read_metrics(text)
    assert value(samples, "last_run_exit_code") == exitcodes.OUTPUT_FAILED
    assert value(samples, "last_success_timestamp_seconds") == 1_799_990_000.0
    assert value(samples, "last_run_duration_seconds") == 12.5
    assert not [key for key in samples if key[0] == "last_run_records"]


def test_never_succeeded_has_no_success_time(tmp_path):
    assert last_success(tmp_path, SITE) is None
    text = tmp_path / "m.prom"
    write_to_textfile(str(text), registry_for_run(SITE, "r", 4, 1_800_000_000.0, 1.0, None, None))
    assert not [key for key in read_metrics(text) if key[0] == "last_success_timestamp_seconds"]


def test_only_the_lock_holder_writes(tmp_path):
    template = "%(output_dir)s/metrics/%(site)s.prom"
    assert write_run_metrics(template, tmp_path, SITE, "r", 0, 1.0, 1.0) is None
    assert not (tmp_path / "metrics").exists()
    lock.acquire(tmp_path, "r")
    try:
        written = write_run_metrics(template, tmp_path, SITE, "r", 0, 1.0, 1.0)
        assert written == tmp_path / "metrics" / f"{SITE}.prom"
        assert written is not None and written.is_file()
        assert not [p for p in written.parent.iterdir() if p != written]  # no temporary file left
    finally:
        lock._HELD.pop(tmp_path.resolve()).close()


def test_metrics_file_template():
    assert metrics_path("%(output_dir)s/metrics/%(site)s.prom", "/data/out/", "www.x.gov.cn") == \
        Path("/data/out/metrics/www.x.gov.cn.prom")
    assert metrics_path("/var/lib/node_exporter/sichuanpeace.prom", "/data", "s") == \
        Path("/var/lib/node_exporter/sichuanpeace.prom")
    assert template_error("%(output_dir)s/%(site)s.prom") is None
    assert (template_error("%(host)s.prom") or "").startswith("may only use")
    assert template_error("") == "must not be empty"
