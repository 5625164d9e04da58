"""What a run's start and close read of the archive's history: ``runs/`` listed once, and a bounded
number of manifests parsed whatever the number of earlier runs (issue 20: a run costs what its own
work costs, not what the archive's age costs). The drift baseline comes from the state store's
index, checked against the names in ``runs/`` and rebuilt when they disagree."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from scrapy.settings import Settings

from crawler.quality import MIN_ARTICLES, drift_baseline
from crawler.run import baselines, manifests, recovery
from crawler.state import ArticleState
from crawler.state.sqlite import SqliteStateStore

SITE = "www.sccaw.gov.cn"
# A quality summary that lets a run join the drift baseline, and one of a rerun too small to.
GOOD = {"articles": MIN_ARTICLES, "fallback_share": 0.0, "body_chars_mean": 900.0,
        "coverage": {"title": 1.0, "published_at": 1.0, "source": 1.0, "editor": 1.0, "images": 0.5}}
SMALL = {**GOOD, "articles": 2}


def _final(out: Path, seq: int, run_id: str, quality: dict) -> None:
    manifests.write(out, manifests.new(seq, run_id, 1, final=True, site=SITE, records=0, files=[],
                                       complete=True, paged_to_end=True, exit_code=0, drift=[],
                                       scope={"channels": None, "since": None}, quality=quality))


def _history(out: Path, runs: int) -> None:
    """``runs`` earlier runs: the first ones good baselines, then reruns too small to be one."""
    for seq in range(1, runs + 1):
        _final(out, seq, f"20200101T000000Z-{seq:06x}", GOOD if seq <= 6 else SMALL)


class Spy:
    """Counts manifest parses and how many names of ``runs/`` were matched (one listing: one each)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.parses = 0
        self.matched = 0
        real_read, real_re = manifests.read_manifest, manifests.NAME_RE

        def read(path: Path) -> dict:
            self.parses += 1
            return real_read(path)

        class CountingPattern:
            def match(_, name: str) -> re.Match | None:
                self.matched += 1
                return real_re.match(name)

        monkeypatch.setattr(manifests, "read_manifest", read)
        monkeypatch.setattr(manifests, "NAME_RE", CountingPattern())


def _start(out: Path, run_id: str) -> None:
    recovery.prepare(Settings({"OUTPUT_DIR": str(out), "RUN_ID": run_id, "JOBDIR": None}))


@pytest.mark.parametrize("runs", [20, 400])
def test_a_start_and_its_verdict_read_a_bounded_number_of_manifests(tmp_path, monkeypatch, runs):
    """The second start on an archive of ``runs`` runs (the first built the state and its indexes):
    recovery lists ``runs/`` once and parses the newest manifest and the last run's; the verdict's
    drift baseline parses only manifests the index does not hold yet: the same count for 20 runs
    as for 400."""
    _history(tmp_path, runs)
    _start(tmp_path, "20261207T000000Z-aaaaaa")  # the first start after an upgrade: builds the indexes
    store = SqliteStateStore(tmp_path / "state.sqlite3")
    baselines.drift_baseline_of(tmp_path, store, SITE, None)
    store.close()
    _final(tmp_path, runs + 1, "20261207T000000Z-aaaaaa", SMALL)  # that run's end, committed and promoted
    store = SqliteStateStore(tmp_path / "state.sqlite3")
    store.promote("20261207T000000Z-aaaaaa", 1, runs + 1)
    store.close()

    spy = Spy(monkeypatch)
    _start(tmp_path, "20261207T060000Z-bbbbbb")
    assert spy.matched <= runs + 1 + 2  # one listing (and a name or two it adds)
    assert spy.parses <= 2  # the newest manifest (check_readable; whether its run ended)
    store = SqliteStateStore(tmp_path / "state.sqlite3")
    spy.parses = 0
    found = baselines.drift_baseline_of(tmp_path, store, SITE, None)
    assert spy.parses <= 1  # the last run's final manifest, folded into the index
    store.close()
    assert found == [GOOD] * 5
    monkeypatch.undo()
    assert found == drift_baseline(manifests.final_manifests(tmp_path, SITE, lookback=None), SITE, None)


def test_the_baseline_index_follows_new_runs_and_is_rebuilt_for_other_manifests(tmp_path):
    """A run that qualifies after the index was built joins the baseline; a store whose index is up
    to a manifest that is not in ``runs/`` (another folder's copy) is rebuilt from the manifests."""
    _history(tmp_path, 8)
    store = SqliteStateStore(tmp_path / "state.sqlite3")
    assert baselines.drift_baseline_of(tmp_path, store, SITE, None) == [GOOD] * 5
    newer = {**GOOD, "fallback_share": 0.1}
    _final(tmp_path, 9, "20261207T000000Z-cccccc", newer)
    assert baselines.drift_baseline_of(tmp_path, store, SITE, None) == [GOOD] * 4 + [newer]
    assert baselines.drift_baseline_of(tmp_path, store, SITE, ["scyw"]) == []  # another scope
    assert baselines.drift_baseline_of(tmp_path, store, "other.site", None) == []

    other = tmp_path / "other"
    _history(other, 3)  # three good runs only: the copied store's index is not this folder's
    copied = SqliteStateStore(other / "state.sqlite3")
    copied.index_baselines([(seq, SITE, "null", '{"articles": 99}') for seq in range(1, 9)], (9, "foreign"),
                           reset=False)
    assert baselines.drift_baseline_of(other, copied, SITE, None) == [GOOD] * 3
    assert copied.baselines_at == (3, "20200101T000000Z-000003")
    store.close()
    copied.close()


def test_a_read_only_store_or_a_damaged_manifest_reads_the_manifests(tmp_path):
    """No index to write (a read-only store) or a manifest the index cannot fold: the manifests answer."""
    _history(tmp_path, 7)
    writer = SqliteStateStore(tmp_path / "state.sqlite3")
    writer.close()
    reader = SqliteStateStore(tmp_path / "state.sqlite3", readonly=True)
    assert baselines.drift_baseline_of(tmp_path, reader, SITE, None) == [GOOD] * 5
    assert reader.baselines_at is None
    reader.close()
    damaged = SqliteStateStore(tmp_path / "state.sqlite3")
    manifests.manifest_path(tmp_path, 8, "20200101T000000Z-000008").write_text("{", "utf-8")
    assert baselines.drift_baseline_of(tmp_path, damaged, SITE, None) == [GOOD] * 5
    damaged.close()


def _row(article_id: str, published: str | None, checked: str | None) -> ArticleState:
    return ArticleState(site=SITE, id=article_id, url=f"http://{SITE}/a/{article_id}.html", published_at=published,
                        first_seen="2020-01-01", last_seen="2020-01-01", content_sha256="h", revision=1,
                        last_checked=checked)


def test_the_fleet_recheck_plan_reads_through_an_index(tmp_path, redis_url, monkeypatch):
    """The Redis store answers the recent window and the budgeted recheck from its sorted sets, not
    by scanning every article (a scan only once, for rows written before the index existed), and
    answers as the SQLite store does, touches and rewrites included."""
    from crawler.state.redis_store import RedisStateStore

    redis_store, sqlite_store = RedisStateStore(redis_url, tmp_path), SqliteStateStore(tmp_path / "state.sqlite3")
    rows = [_row(str(k), f"20{10 + k % 15:02d}-0{1 + k % 9}-01", None if k % 3 else f"2026-0{1 + k % 9}-02")
            for k in range(300)] + [_row("900", None, None), _row("901", "2026-12-01", None)]
    for store in (redis_store, sqlite_store):
        for row in rows[:150]:
            store.stage("run", 1, row)
        store.promote("run", 1, 1)
    redis_store.recheck_oldest(SITE, "2026-11-24", 1)  # rows written before: indexed once, by one scan
    for store in (redis_store, sqlite_store):
        for row in rows[150:]:
            store.stage("run", 2, row)
        store.promote("run", 2, 2)
        store.touch_checked(SITE, "7", "2026-12-05")
        store.stage("run", 3, replace(rows[8], published_at="2026-11-30"))  # into the window
        store.promote("run", 3, 3)

    scans: list[tuple] = []
    real_scan = redis_store.redis.hscan_iter

    def counted_scan(*args, **kwargs):
        scans.append(args)
        return real_scan(*args, **kwargs)

    monkeypatch.setattr(redis_store.redis, "hscan_iter", counted_scan)
    for limit in (1, 10, 250, 400):
        assert [r.id for r in redis_store.recheck_oldest(SITE, "2026-11-24", limit)] == \
            [r.id for r in sqlite_store.recheck_oldest(SITE, "2026-11-24", limit)]
    assert sorted(r.id for r in redis_store.recheck_candidates(SITE, "2024-06-01")) == \
        sorted(r.id for r in sqlite_store.recheck_candidates(SITE, "2024-06-01"))
    assert {r.id for r in redis_store.recheck_candidates(SITE, "2026-11-24")} == {"8", "901"}
    assert scans == []
    redis_store.close()
    sqlite_store.close()


def test_a_read_only_store_reads_the_file_itself_and_creates_nothing(tmp_path):
    """A reader (scrapy shell, parse, describe, a crawl started from Python) of a store of this
    crawler's schema reads the file in place (nothing copied into memory, whatever its size) and
    creates no file beside it; a store of an older schema is read through a migrated copy."""
    writer = SqliteStateStore(tmp_path / "state.sqlite3")
    writer.stage("run", 1, _row("1", "2020-01-01", None))
    writer.promote("run", 1, 1)
    writer.close()
    before = sorted(p.name for p in tmp_path.iterdir())
    reader = SqliteStateStore(tmp_path / "state.sqlite3", readonly=True)
    assert [row[2] for row in reader.db.execute("PRAGMA database_list")] == [str(tmp_path / "state.sqlite3")]
    row = reader.get(SITE, "1")
    assert row is not None and row.published_at == "2020-01-01" and reader.last_seq == 1
    assert [r.id for r in reader.recheck_oldest(SITE, "2026-01-01", 5)] == ["1"]
    reader.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == before

    import sqlite3
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        db.execute("DROP TABLE baselines")  # as a store of the crawler before the baseline index
    db.close()
    reader = SqliteStateStore(tmp_path / "state.sqlite3", readonly=True)
    assert [row[2] for row in reader.db.execute("PRAGMA database_list")] == [""]  # in memory
    assert reader.get(SITE, "1") is not None and reader.baselines_at is None
    reader.close()
