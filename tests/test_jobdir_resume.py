"""A JOBDIR resumed after a bound (issue 19, case 7): the restored seen-request filter must not drop
the new run's home, list and discovery pages, nor its rechecks, and the exit code tells the truth."""

from __future__ import annotations

from crawler import exitcodes
from tests import consumer
from tests.fixture_server import FixtureSite
from tests.utils.crawl import run_crawl

GCSY_ARTICLES = {"1792665", "1801234"}


def test_a_run_resumed_after_a_bound_reads_the_site_again(tmp_path):
    out, job = tmp_path / "out", tmp_path / "job"
    with FixtureSite() as site:
        # Run 1 stops at its bound just as it has every record: little or nothing is left in the queue.
        first = run_crawl(site.base_url, out, "-a", "channels=gcsy", "-s", f"JOBDIR={job}",
                          "-s", f"CLOSESPIDER_ITEMCOUNT={len(GCSY_ARTICLES)}")
        assert first.returncode == exitcodes.BOUND_HIT, first.log[-3000:]
        assert {r["id"] for r in first.records} == GCSY_ARTICLES
        assert "resuming" not in first.log
        site.requests.clear()
        second = run_crawl(site.base_url, out, "-a", "channels=gcsy", "-a", "recheck=all", "-s", f"JOBDIR={job}")
        fetched = site.request_counts()
    assert "JOBDIR" in second.log and "resuming the job its last run left (closespider_itemcount)" in second.log
    assert second.returncode == exitcodes.COMPLETE, second.log[-3000:]
    final = consumer.final(out)
    assert final["complete"] and final["counts"]["pages_ok"] > 0
    # The home page, the list and the site maps are read again; each known article is rechecked once.
    assert fetched["/"] >= 1 and fetched["/gcsy/"] + fetched["/gcsy/index.html"] >= 1
    assert fetched["/wzdt/index.html"] == 1 and fetched["/wzlm/index.html"] == 1
    assert fetched["/gcsy/20190319/1792665.html"] == 1 and fetched["/gcsy/20190402/1801234.html"] == 1
    assert consumer.records(out, final["run_id"]) == []  # nothing changed: nothing emitted again
