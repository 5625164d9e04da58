"""The run's life around its commits: a full disk, the state store checked against the manifests,
settings checked before anything is written, and commands other than ``crawl`` writing nothing."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import pytest

from crawler import exitcodes
from crawler.settings import DOWNLOADER_MIDDLEWARES
from tests import consumer
from tests.fixture_cases import load_cases
from tests.fixture_server import FixtureSite
from tests.utils.cmdline import crawl_command, project_env, run_command, scrapy
from tests.utils.crawl import run_crawl

ARTICLE_IDS = sorted(case.expected["id"] for case in load_cases("article"))
FULL_DISK = json.dumps({"": "tests.faulty_storage.FullForAWhileStorage",
                        "file": "tests.faulty_storage.FullForAWhileStorage"})
# The crawl's downloader middlewares, its WARC writer's disk full for a while (tests/faulty_storage.py).
FULL_WARC_DISK = json.dumps({**{name: order for name, order in DOWNLOADER_MIDDLEWARES.items()
                                if name != "crawler.downloadermiddlewares.warc.WarcArchiveMiddleware"},
                             "tests.faulty_storage.FullDiskWarcMiddleware": 950})


@pytest.mark.parametrize(("variable", "writes", "setting", "said"), [
    # Under the records: a slice's batch file cannot be written.
    ("FULL_DISK_WRITES", "7-8", f"FEED_STORAGES={FULL_DISK}", "NOT committed"),
    # Under the WARC archive: no later seal succeeds, so no record may point into the torn file; the
    # pages fetched after it are not_archived (a failure that passes), not retried ones.
    ("WARC_FULL_DISK_WRITES", "40-41", f"DOWNLOADER_MIDDLEWARES={FULL_WARC_DISK}", "WARC write failed"),
], ids=["records", "warc"])
def test_disk_full_for_a_while_loses_nothing(tmp_path, monkeypatch, variable, writes, setting, said):
    monkeypatch.setenv(variable, writes)
    with FixtureSite() as site:
        full = run_crawl(site.base_url, tmp_path, "-s", "CHECKPOINT_RECORDS=5", "-s", setting)
        assert full.returncode == exitcodes.OUTPUT_FAILED, full.log[-2000:]
        assert said in full.log and "No space left on device" in full.log
        buckets = consumer.final(tmp_path)["accounting"]["buckets"]
        assert "retries_exhausted" not in buckets, buckets
        if variable == "WARC_FULL_DISK_WRITES":
            assert buckets.get("not_archived", 0) > 0, buckets
        committed = [r["id"] for r in consumer.records(tmp_path)]
        assert len(committed) == len(set(committed)) < len(ARTICLE_IDS)
        monkeypatch.delenv(variable)
        rerun = run_crawl(site.base_url, tmp_path)
    assert rerun.returncode == 0, rerun.log[-2000:]
    assert sorted(r["id"] for r in consumer.records(tmp_path)) == ARTICLE_IDS
    assert not [p for p in tmp_path.rglob(".*") if p.name.endswith((".part", ".open"))]


def _first_run(site: FixtureSite, out: Path) -> None:
    assert run_crawl(site.base_url, out).returncode == 0


def test_damaged_state_is_rebuilt_from_the_manifests(tmp_path):
    with FixtureSite() as site:
        _first_run(site, tmp_path)
        (tmp_path / "state.sqlite3").write_bytes(b"not a database" * 100)
        for extra in ("state.sqlite3-wal", "state.sqlite3-shm"):
            (tmp_path / extra).unlink(missing_ok=True)
        rerun = run_crawl(site.base_url, tmp_path, "-a", "recheck=0")
    assert rerun.returncode == 0, rerun.log[-2000:]
    assert "rebuilding it from the manifests" in rerun.log
    assert consumer.final(tmp_path)["counts"]["new"] == 0
    assert sorted(r["id"] for r in consumer.records(tmp_path)) == ARTICLE_IDS
    assert list(tmp_path.glob("state.sqlite3.damaged-*"))


def test_missing_state_is_rebuilt(tmp_path):
    with FixtureSite() as site:
        _first_run(site, tmp_path)
        for name in ("state.sqlite3", "state.sqlite3-wal", "state.sqlite3-shm"):
            (tmp_path / name).unlink(missing_ok=True)
        site.requests.clear()
        rerun = run_crawl(site.base_url, tmp_path, "-a", "recheck=0")
        fetched_articles = [p for p in site.request_counts() if p.count("/") == 3 and "/gcsy/2020" not in p
                            and p.endswith(".html")]
    assert rerun.returncode == 0
    assert "No state store" in rerun.log
    assert fetched_articles == [] and consumer.final(tmp_path)["counts"]["new"] == 0


def test_foreign_state_is_not_trusted(tmp_path):
    with FixtureSite() as site:
        _first_run(site, tmp_path / "a")
        (tmp_path / "b").mkdir()
        (tmp_path / "b" / "state.sqlite3").write_bytes((tmp_path / "a" / "state.sqlite3").read_bytes())
        other = run_crawl(site.base_url, tmp_path / "b")
    assert other.returncode == 0
    # b has no manifest: a state that knows articles is another folder's; b's consumer gets them all.
    assert sorted(r["id"] for r in consumer.records(tmp_path / "b")) == ARTICLE_IDS


def test_newer_state_schema_is_refused(tmp_path):
    with FixtureSite() as site:
        _first_run(site, tmp_path)
        db = sqlite3.connect(tmp_path / "state.sqlite3")
        db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
        db.commit()
        db.close()
        before = sorted(p.name for p in (tmp_path / "runs").iterdir())
        refused = run_crawl(site.base_url, tmp_path)
    assert refused.returncode == exitcodes.FAILED
    assert "newer than this crawler's" in refused.log
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == before


@pytest.mark.parametrize("setting", ["OUTPUT_DIR=", "CHECKPOINT_RECORDS=0", "RUN_MAX_ERROR_RATE=2",
                                     "FAULT_KILL_AT=nowhere"])
def test_empty_or_bad_settings_write_nothing(tmp_path, setting):
    # Run from tmp_path (no scrapy.cfg there: the settings module by name), so whatever a bad setting
    # would write lands in tmp_path, which must stay empty.
    done = run_command(crawl_command("http://127.0.0.1:9/", tmp_path / "out", "-s", setting), timeout=120,
                       cwd=tmp_path, env=project_env(SCRAPY_SETTINGS_MODULE="crawler.settings"))
    assert done.returncode == exitcodes.FAILED, (setting, done.stderr[-1000:])
    assert setting.split("=")[0] in done.stderr
    assert not any(tmp_path.iterdir()), setting


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")
            if p.is_file()}


def test_other_commands_never_touch_output_dir(tmp_path):
    with FixtureSite() as site:
        _first_run(site, tmp_path)
        # What a crawl that is running right now would have there.
        live = "20990101T000000Z-abcdef"
        (tmp_path / f".sichuanpeace-{live}-00001.jsonl.part").write_text('{"id": "1"}\n', encoding="utf-8")
        (tmp_path / "warc" / f".sichuanpeace-{live}-00001.warc.gz.open").write_bytes(b"x")
        before = _snapshot(tmp_path)
        article = site.base_url + "scyw/20211103/2541288.html"
        settings = ["-s", f"OUTPUT_DIR={tmp_path}", "-s", "DOWNLOAD_DELAY=0"]
        commands = [
            ["shell", article, "-c", "response.status", *settings],
            ["fetch", "--nolog", article, *settings],
            ["parse", "--spider=sichuanpeace", "-a", f"base_url={site.base_url}", article, *settings],
            ["bench", "-s", "CLOSESPIDER_TIMEOUT=2", "-s", "LOG_LEVEL=WARNING", *settings],
        ]
        for command in commands:
            done = scrapy(*command, timeout=180)
            assert done.returncode == 0, (command[0], done.stderr[-2000:])
        script = ("from scrapy.crawler import CrawlerProcess\n"
                  "from scrapy.utils.project import get_project_settings\n"
                  f"s = get_project_settings(); s.set('OUTPUT_DIR', {str(tmp_path)!r}); s.set('DOWNLOAD_DELAY', 0)\n"
                  "p = CrawlerProcess(s)\n"
                  f"p.crawl('sichuanpeace', base_url={site.base_url!r}); p.start()\n")
        done = run_command([sys.executable, "-c", script], timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
    assert _snapshot(tmp_path) == before


WITH_STATE_FAULT = ("-s", "EXTENSIONS=" + json.dumps({
    "scrapy.extensions.feedexport.FeedExporter": None, "crawler.run.commit.RunCommitter": 0,
    "crawler.extensions.accounting.AccountingExtension": 800, "tests.state_faults.FailOnce": 900}))


@pytest.mark.parametrize("fault", ["open_slice:2", "stage:3", "promote:2"])
def test_a_failing_state_store_loses_and_doubles_nothing(tmp_path, monkeypatch, fault):
    monkeypatch.setenv("STATE_FAULT", fault)
    with FixtureSite() as site:
        first = run_crawl(site.base_url, tmp_path, *WITH_STATE_FAULT, "-s", "CHECKPOINT_RECORDS=5")
        assert first.returncode == exitcodes.OUTPUT_FAILED, first.log[-2000:]
        assert consumer.final(tmp_path)["complete"] is False
        monkeypatch.delenv("STATE_FAULT")
        rerun = run_crawl(site.base_url, tmp_path, "-a", "recheck=0")
    assert rerun.returncode == 0, rerun.log[-2000:]
    assert sorted(r["id"] for r in consumer.records(tmp_path)) == ARTICLE_IDS


def test_dash_O_killed_while_storing_is_recovered_whole(tmp_path):
    target = tmp_path / "records.jsonl"
    with FixtureSite() as site:
        killed = run_crawl(site.base_url, tmp_path / "out", "-O", str(target), "-s", "FAULT_KILL_AT=records_stored")
        assert killed.returncode < 0
        rerun = run_crawl(site.base_url, tmp_path / "out", "-O", str(target))
    assert rerun.returncode == 0, rerun.log[-2000:]
    # The killed run's file was whole and in place: recovery gave it its manifest; the rerun had
    # nothing new, so it left the file as it was.
    assert sorted(r["id"] for r in consumer.records(tmp_path / "out")) == ARTICLE_IDS
    assert consumer.manifests(tmp_path / "out")[0]["recovered"] is True


def test_a_discarded_slice_leaves_its_articles_pending(tmp_path):
    """Some articles are linked only from other articles' pages, which a rerun does not read again:
    a slice that never committed hands its records' articles to the next run directly."""
    from crawler.state import ArticleState
    from crawler.state.sqlite import SqliteStateStore

    store = SqliteStateStore(tmp_path / "state.sqlite3")
    row = ArticleState(site="s", id="2959870", url="https://s/scyw/20250601/2959870.html", published_at=None,
                       first_seen="t", last_seen="t", content_sha256="h", revision=1)
    unchanged = ArticleState(**{**row.__dict__, "id": "1"})
    store.open_slice("run", 2, [])
    store.stage("run", 2, row)
    store.stage("run", 2, unchanged, emitted=False)
    store.discard("run", 2)
    assert store.pending("s") == [(row.url, None)]
    assert store.open_slices() == []
    store.close()


def test_a_last_run_of_unknown_site_never_allows_an_early_stop(tmp_path):
    from crawler.run import manifests

    manifests.write(tmp_path, manifests.new(1, "a", 1, final=True, site="s", records=0, files=[], paged_to_end=True))
    assert manifests.may_stop_early(tmp_path, "s")
    # A run that died before committing a record: its site is not known, its coverage is none.
    manifests.write(tmp_path, manifests.new(2, "b", 1, final=True, site=None, records=0, files=[],
                                            paged_to_end=False))
    assert not manifests.may_stop_early(tmp_path, "s")
    manifests.write(tmp_path, manifests.new(3, "c", 1, final=True, site="other", records=0, files=[],
                                            paged_to_end=True))
    assert not manifests.may_stop_early(tmp_path, "s")


def test_an_output_dir_of_0_1_0_is_taken_over(tmp_path):
    """0.1.0 wrote runs/<run id>.json (no seq) and a state without meta, slices or pending."""
    with FixtureSite() as site:
        _first_run(site, tmp_path)
        run_id = consumer.final(tmp_path)["run_id"]
        records = sorted(tmp_path.glob("*.jsonl"))
        for path in (tmp_path / "runs").iterdir():
            path.unlink()
        (tmp_path / "runs" / f"{run_id}.json").write_text(json.dumps({
            "run_id": run_id, "complete": True, "exit_code": 0,
            "files": [{"file": str(p), "kind": "records"} for p in records]  # 0.1.0 listed its WARC files too
            + [{"file": str(p), "kind": "warc"} for p in sorted((tmp_path / "warc").glob("*.warc.gz"))]}),
            encoding="utf-8")
        db = sqlite3.connect(tmp_path / "state.sqlite3")
        db.executescript("DROP TABLE meta; DROP TABLE slices; DROP TABLE pending; DROP TABLE staged;"
                         "CREATE TABLE staged (run_id TEXT, feed_file TEXT, site TEXT, id TEXT);"
                         "CREATE TABLE settled_runs (run_id TEXT, site TEXT, complete INTEGER);")
        db.close()
        site.requests.clear()
        upgraded = run_crawl(site.base_url, tmp_path, "-a", "recheck=0")
        fetched = [p for p in site.request_counts() if p.count("/") == 3 and p.endswith(".html")
                   and "/gcsy/2020" not in p]
        assert upgraded.returncode == 0, upgraded.log[-2000:]
        assert fetched == []  # the 0.1.0 state's articles are known
        # Its run ended with its own manifest: it is not taken for a killed one.
        assert [m["run_id"] for m in consumer.manifests(tmp_path)] == [consumer.final(tmp_path)["run_id"]]
        for name in ("state.sqlite3", "state.sqlite3-wal", "state.sqlite3-shm"):
            (tmp_path / name).unlink(missing_ok=True)
        rebuilt = run_crawl(site.base_url, tmp_path, "-a", "recheck=0")
    assert rebuilt.returncode == 0 and consumer.final(tmp_path)["counts"]["new"] == 0  # from the 0.1.0 manifest
