"""History is looked up through an index (issue 20, item 1): the state store's capture index answers
the revisits and the requisites one URL at a time, is written at the commit point and rebuilt from
the manifests' CDXJ when missing; a rerun reads no earlier run's ``.cdxj``, the spider holds no set
of every known id, and the start reads only the manifests it needs."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from crawler.archive.verify import verify
from crawler.run.ids import RUN_ID_RE
from tests.fixture_server import FixtureSite
from tests.utils.crawl import run_crawl


def _revisits(out: Path, run_id: str) -> list[str]:
    """The URLs of the revisit records run ``run_id`` wrote."""
    found = []
    for path in sorted((out / "warc").glob(f"*-{run_id}-*.warc.gz")):
        with path.open("rb") as stream:
            found += [r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(stream)
                      if r.rec_type == "revisit"]
    return found


def _new_run_id(out: Path, before: set[str]) -> str:
    ids = {match.group(0) for p in (out / "runs").glob("*.json") if (match := RUN_ID_RE.search(p.name))}
    (new,) = ids - before
    return new


def _run_ids(out: Path) -> set[str]:
    return {match.group(0) for p in (out / "runs").glob("*.json") if (match := RUN_ID_RE.search(p.name))}


def _indexed(out: Path) -> dict[str, tuple[int, str]]:
    with sqlite3.connect(out / "state.sqlite3") as db:
        return {url: (seq, file) for url, seq, file in db.execute("SELECT url, seq, file FROM captures")}


def test_the_capture_index_is_written_at_the_commit_and_rebuilt_from_the_manifests(tmp_path):
    """Run 1 fills the index at its commits; with the state store gone, run 2 rebuilds it from the
    manifests' CDXJ files (as the articles) and still writes revisits of the unchanged pages."""
    with FixtureSite() as site:
        first = run_crawl(site.base_url, tmp_path)
        assert first.returncode == 0, first.log[-2000:]
        indexed = _indexed(tmp_path)
        assert site.base_url + "/" in indexed or site.base_url in indexed, sorted(indexed)[:5]
        assert all(file.startswith("warc/") and seq >= 1 for seq, file in indexed.values())
        for suffix in ("", "-wal", "-shm"):
            (tmp_path / f"state.sqlite3{suffix}").unlink(missing_ok=True)
        before = _run_ids(tmp_path)
        second = run_crawl(site.base_url, tmp_path)
    assert second.returncode == 0, second.log[-2000:]
    assert "rebuilding it from the manifests" in second.log
    run_id = _new_run_id(tmp_path, before)
    assert _revisits(tmp_path, run_id), "an unchanged rerun refers to the captures the rebuilt index holds"
    rebuilt = _indexed(tmp_path)
    assert set(indexed) <= set(rebuilt)


def test_a_rerun_reads_no_earlier_cdxj_file(tmp_path):
    """Once the index holds run 1's captures, its ``.cdxj`` files are not read again: moved away,
    run 2 still writes its revisits (from the index, each record read back from its WARC file)."""
    aside = tmp_path / "aside"
    out = tmp_path / "out"
    with FixtureSite() as site:
        first = run_crawl(site.base_url, out)
        assert first.returncode == 0, first.log[-2000:]
        aside.mkdir()
        indexes = sorted((out / "warc").glob("*.cdxj"))
        assert indexes
        for path in indexes:
            shutil.move(path, aside / path.name)
        before = _run_ids(out)
        # verify=False: the archive lacks run 1's indexes until they are put back, below.
        second = run_crawl(site.base_url, out, verify=False)
    assert second.returncode == 0, second.log[-2000:]
    run_id = _new_run_id(out, before)
    assert _revisits(out, run_id), "revisits come from the capture index, not from earlier .cdxj files"
    for path in aside.iterdir():
        shutil.move(path, out / "warc" / path.name)
    assert not verify(out)


def test_the_spider_asks_the_store_per_list_page_and_holds_no_set_of_known_ids(monkeypatch):
    from scrapy.utils.test import get_crawler

    from crawler.extract.listing import ListedArticle
    from crawler.extract.urls import article_ref
    from crawler.spiders.sichuanpeace import SichuanpeaceSpider

    base = "http://127.0.0.1:1/"
    asked: list[list[str]] = []

    class Store:
        def known_ids(self, site: str, ids) -> set[str]:
            ids = list(ids)
            asked.append(ids)
            return {i for i in ids if i == "2541288"}

        def get(self, site, article_id):
            return None

    monkeypatch.setattr("crawler.spiders.sichuanpeace.state_store", lambda _crawler: Store())
    spider = SichuanpeaceSpider.from_crawler(get_crawler(SichuanpeaceSpider), base_url=base)
    urls = [base + "scyw/20211103/2541288.html", base + "scyw/20211103/2541289.html"]
    refs = [article_ref(url, base) for url in urls]
    listed = [ListedArticle(ref=ref, title=url) for ref, url in zip(refs, urls, strict=True) if ref is not None]
    assert len(listed) == len(urls)
    assert [r.url for r in spider._requests_for(listed, None, None)] == urls[1:]
    assert asked == [["2541288", "2541289"]]  # the page's ids, in one question
    assert not any(isinstance(value, (set, frozenset)) and "2541288" in value for value in vars(spider).values())


def _checks(path: Path) -> list[str]:
    from crawler.state.sqlite import SqliteStateStore

    store = SqliteStateStore(path)
    statements: list[str] = []
    store.db.set_trace_callback(statements.append)
    store.check()
    store.close()
    return [s for s in statements if "quick_check" in s]


def test_the_whole_file_check_runs_only_after_an_unclean_close_or_once_a_week(tmp_path):
    """``PRAGMA quick_check`` reads every page (a second on a million articles): a run's start pays
    it when the last writer was killed (or a week after the last one), not every time."""
    from crawler.state.sqlite import SqliteStateStore

    path = tmp_path / "state.sqlite3"
    assert _checks(path)  # a new store: checked whole
    assert not _checks(path)  # closed cleanly, checked today
    SqliteStateStore(path)  # opened and never closed: as a killed run leaves it
    assert _checks(path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value='0' WHERE key='checked_at'")
    assert _checks(path)
