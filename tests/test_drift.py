"""The drift alarm's baseline: per site, same scope, and made only of runs that did not drift."""

from __future__ import annotations

import json
import re

from crawler.quality import BASELINE_RUNS, COVERAGE_FIELDS, detect_drift, drift_baseline
from tests.fixture_cases import load_cases
from tests.fixture_server import FixtureSite, Resource
from tests.utils.crawl import run_crawl

MAIN = "www.sichuanpeace.gov.cn"
SISTER = "www.chengdupeace.gov.cn"


def quality(fallback_share: float, coverage: float = 1.0, body: float = 800.0, articles: int = 40) -> dict:
    return {"articles": articles, "by_extractor": {}, "fallback_share": fallback_share,
            "coverage": dict.fromkeys(COVERAGE_FIELDS, coverage), "body_chars_mean": body}


GOOD = quality(0.0)
DRIFTED = quality(1.0, coverage=0.3, body=200.0)


class Runs:
    """An OUTPUT_DIR's final manifests, as the commit reads them (newest first), and its run step."""

    def __init__(self) -> None:
        self.manifests: list[dict] = []

    def newest_first(self):
        return iter(reversed(self.manifests))

    def run(self, site: str, summary: dict, channels: list[str] | None = None, complete: bool = True) -> list[str]:
        """One run: judged against the baseline the commit would read, then committed."""
        drift = detect_drift(summary, drift_baseline(self.newest_first(), site, channels))
        self.manifests.append({"seq": len(self.manifests) + 1, "final": True, "site": site, "complete": complete,
                               "scope": {"channels": channels, "since": None}, "quality": summary, "drift": drift})
        return drift


def test_every_drifted_run_alarms_not_only_the_first_few():
    runs = Runs()
    for _ in range(3):
        assert runs.run(MAIN, GOOD) == []
    alarms = [runs.run(MAIN, DRIFTED) for _ in range(3 * BASELINE_RUNS)]
    assert all(alarms), [len(a) for a in alarms]
    assert all(any("fallback share 1.00 (before 0.00)" in f for f in a) for a in alarms)
    # Extraction fixed: quiet again, and the baseline is still the good runs.
    assert runs.run(MAIN, GOOD) == []
    assert drift_baseline(runs.newest_first(), MAIN, None) == [GOOD] * 4


def test_drifted_runs_never_enter_the_baseline():
    manifests = [{"final": True, "site": MAIN, "complete": True, "scope": {"channels": None},
                  "quality": DRIFTED, "drift": ["fallback share 1.00 (before 0.00)"]},
                 {"final": True, "site": MAIN, "complete": True, "scope": {"channels": None},
                  "quality": GOOD, "drift": []}]
    assert drift_baseline(iter(manifests), MAIN, None) == [GOOD]


def test_another_sites_runs_do_not_enter_the_baseline():
    runs = Runs()
    for _ in range(2):
        runs.run(MAIN, GOOD)
    # A sister site whose template reads through the fallback: normal for it, never drift for it.
    for _ in range(2 * BASELINE_RUNS):
        assert runs.run(SISTER, DRIFTED) == []
    assert drift_baseline(runs.newest_first(), MAIN, None) == [GOOD, GOOD]
    assert drift_baseline(runs.newest_first(), SISTER, None) == [DRIFTED] * BASELINE_RUNS
    assert runs.run(MAIN, DRIFTED), "the main site's drift hidden by the sister site's runs"
    assert runs.run(SISTER, DRIFTED) == []


def test_baseline_keeps_scope_completeness_and_size_rules():
    runs = Runs()
    runs.run(MAIN, GOOD)
    runs.run(MAIN, DRIFTED, channels=["scyw"])            # another scope
    runs.run(MAIN, DRIFTED, complete=False)               # incomplete
    runs.run(MAIN, quality(1.0, articles=2))              # too few articles to count
    assert drift_baseline(runs.newest_first(), MAIN, None) == [GOOD]
    assert drift_baseline(runs.newest_first(), MAIN, ["scyw"]) == [DRIFTED]


def test_baseline_is_the_last_undrifted_runs_oldest_first():
    runs = Runs()
    summaries = [quality(0.01 * n) for n in range(BASELINE_RUNS + 3)]
    for summary in summaries:
        runs.run(MAIN, summary)
    assert drift_baseline(runs.newest_first(), MAIN, None) == summaries[-BASELINE_RUNS:]


def _final_manifest(output_dir, run_id: str) -> dict:
    found = [json.loads(p.read_text("utf-8")) for p in (output_dir / "runs").glob("*.json")]
    return next(m for m in found if m["run_id"] == run_id and m["final"])


def test_drift_keeps_alarming_run_after_run_end_to_end(tmp_path):
    """Real crawls: one good run, then more drifted runs than the old baseline survived; each exits 9.
    A sister site crawled from the same mirror into the same OUTPUT_DIR has a baseline of its own."""
    with FixtureSite() as site:
        assert run_crawl(site.base_url, tmp_path).returncode == 0
        for case in load_cases("article"):  # no known class or id left: everything reads through the fallback
            old = site.resources[case.meta["path"]]
            site.put(case.meta["path"], Resource(old.status, old.headers,
                                                 re.sub(rb'\s(?:class|id)="[^"]*"', b"", old.body)))
        codes = [run_crawl(site.base_url, tmp_path, "-a", "recheck=all").returncode for _ in range(4)]
        sister = run_crawl(site.base_url, tmp_path, "-a", "site=chengdu", "-a", "recheck=all")
    assert codes == [9, 9, 9, 9]
    finals = sorted((json.loads(p.read_text("utf-8")) for p in (tmp_path / "runs").glob("*.json")),
                    key=lambda m: m["seq"])
    finals = [m for m in finals if m["final"]]
    assert [bool(m["drift"]) for m in finals[:5]] == [False, True, True, True, True]
    assert all(m["complete"] and m["exit_code"] == 9 for m in finals[1:5])
    assert finals[-1]["site"] == SISTER and finals[-1]["drift"] == [], finals[-1]["drift"]
    assert sister.returncode == 0, sister.log[-2000:]
