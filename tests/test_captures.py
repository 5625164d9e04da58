"""Which earlier capture of a URL the archive uses: the newest by commit (manifest ``seq``, then
position in the file), never by clock; and only one whose record can be read back. A revisit
refers to it, a requisite archived earlier is pointed at it; when it is gone, the URL is archived
again."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator

from crawler.archive.verify import verify
from crawler.archive.warc import SERVER_NOT_MODIFIED, Capture, StoredCaptures
from crawler.run import manifests
from crawler.run.files import sha256_of
from crawler.state import IndexedCapture, captures
from crawler.state.sqlite import SqliteStateStore
from tests import consumer
from tests.fixture_server import FixtureSite, Resource
from tests.utils.crawl import run_crawl

WITH_IMAGES = "/scyw/20211103/2541288.html"
WITH_ETAG = "/szdt/20240110/2868001.html"
DAY = 24 * 3600
# Loaded by the crawl's interpreter (PYTHONPATH): its clock (time.time) set back by TEST_CLOCK_SHIFT
# seconds, as an NTP step or a wrong RTC would.
CLOCK_SHIFT = """import os, time
_real, _shift = time.time, float(os.environ["TEST_CLOCK_SHIFT"])
time.time = lambda: _real() + _shift
"""


def _index_line(url: str, timestamp: str, offset: int, name: str) -> str:
    fields = {"url": url, "mime": "text/html", "status": "200", "digest": f"sha1:{offset:032d}", "length": "10",
              "offset": str(offset), "filename": name}
    return f"key {timestamp} {json.dumps(fields)}\n"


def test_the_newest_capture_is_the_last_committed_not_the_latest_dated(tmp_path):
    """Two files in commit order (two manifests), the second one's capture dated a day earlier; in
    one file, two captures of a URL sorted by date (the index's order), the later-written one dated
    earlier. The capture index built from the manifests' CDXJ answers by commit order."""
    warc = tmp_path / "warc"
    warc.mkdir()
    (warc / "a.warc.gz.cdxj").write_text(_index_line("http://x/one", "20250102000000", 100, "a.warc.gz"))
    (warc / "b.warc.gz.cdxj").write_text(_index_line("http://x/one", "20250101000000", 50, "b.warc.gz")
                                         + _index_line("http://x/two", "20250101000000", 900, "b.warc.gz")
                                         + _index_line("http://x/two", "20250102000000", 300, "b.warc.gz"))
    for seq, name in ((1, "a"), (2, "b")):
        index = warc / f"{name}.warc.gz.cdxj"
        files = [{"kind": "warc", "file": f"warc/{name}.warc.gz", "bytes": 0, "sha256": ""},
                 manifests.warc_entry(tmp_path, index, sha256_of(index))]
        manifests.write(tmp_path, manifests.new(seq, f"run{seq}", 1, final=True, site="x", records=0, files=files))
    store = SqliteStateStore(tmp_path / "state.sqlite3")
    assert captures.catch_up(tmp_path, store) == 2
    one, two = store.capture("http://x/one"), store.capture("http://x/two")
    assert one is not None and (one.file, one.offset) == ("warc/b.warc.gz", 50)
    assert two is not None and (two.file, two.offset) == ("warc/b.warc.gz", 900)
    assert store.captures_seq == 2 and captures.catch_up(tmp_path, store) == 0  # up to date: nothing read
    stored = StoredCaptures(tmp_path, store.capture)
    known = stored.known("http://x/one")
    assert known is not None and known.order == (2, 0, 50)


def test_a_runs_own_captures_leave_memory_once_the_index_answers_for_them(tmp_path):
    """What a run wrote is held in memory only until its slice is promoted into the capture index:
    then the index answers for it, with the same record. A capture in a file not promoted yet (the
    open one), or one the index answers otherwise (another worker's newer capture), stays. Before:
    every capture of the run stayed in memory to its end (~1 KB per response)."""
    store = SqliteStateStore(tmp_path / "state.sqlite3")
    stored = StoredCaptures(tmp_path, store.capture_lookup())
    promoted, still_open = "warc/r-00001.warc.gz", "warc/r-00002.warc.gz"
    written = {"http://x/a": (promoted, 100), "http://x/b": (promoted, 900), "http://x/c": (still_open, 100),
               "http://x/d": (promoted, 1700)}
    for url, (file, offset) in written.items():
        stored.remember(url, Capture(f"sha1:{offset:032d}", file, offset, (1, offset), 200, "image/jpeg",
                                     "2026-12-07T20:00:00Z", f"<urn:uuid:{offset}>"))
    staged = [IndexedCapture(url, 0, 0, promoted, offset, f"sha1:{offset:032d}", 200, "image/jpeg")
              for url, (file, offset) in written.items() if file == promoted and url != "http://x/d"]
    staged.append(IndexedCapture("http://x/d", 0, 1, "warc/other-00001.warc.gz", 5, "sha1:" + "5" * 32, 200))
    store.stage_captures("run", 1, staged)
    store.promote("run", 1, 1)

    assert stored.forget_indexed({promoted}) == 2
    assert sorted(stored.this_run) == ["http://x/c", "http://x/d"]
    for url in ("http://x/a", "http://x/b"):  # now answered by the index: the same record
        answer = stored.known(url)
        assert answer is not None
        offset = written[url][1]
        assert (answer.file, answer.offset, answer.digest) == (promoted, offset, f"sha1:{offset:032d}")
    newer = stored.known("http://x/d")
    assert newer is not None and newer.offset == 1700  # this run's, newer than the index's answer
    assert StoredCaptures(tmp_path).forget_indexed({promoted}) == 0  # no index: nothing to hand over


def _records_of(path: Path) -> list:
    with path.open("rb") as stream:
        return [(record.rec_type, record.rec_headers) for record in ArchiveIterator(stream)]


def _responses_for(out: Path, run_id: str, url: str) -> list:
    return [headers for path in sorted((out / "warc").glob(f"*-{run_id}-*.warc.gz"))
            for kind, headers in _records_of(path)
            if kind == "response" and headers.get_header("WARC-Target-URI") == url]


def test_a_304_after_the_clock_was_set_back_refers_to_the_last_committed_version(tmp_path):
    """Run 1 archives version 1; run 2, its clock a day behind, archives version 2 (dated before
    version 1); run 3 gets a 304 for version 2's ETag: its revisit refers to version 2."""
    out = tmp_path / "out"
    clock = tmp_path / "clock"
    clock.mkdir()
    (clock / "sitecustomize.py").write_text(CLOCK_SHIFT)
    with FixtureSite() as site:
        def behaviour(handler, hits: int) -> None:
            resource = site.resources[WITH_ETAG]
            etag = f'"v{2 if "1.3万余名".encode() in resource.body else 1}"'
            if handler.headers.get("If-None-Match") == etag:
                handler.send_response(304)
                handler.send_header("ETag", etag)
                handler.end_headers()
                return
            site.send(handler, Resource(resource.status, {**resource.headers, "ETag": etag}, resource.body))
        site.behaviours[WITH_ETAG] = behaviour
        url = site.base_url.rstrip("/") + WITH_ETAG
        first = run_crawl(site.base_url, out, "-a", "channels=szdt")
        assert first.returncode == 0, first.log[-3000:]
        page = site.resources[WITH_ETAG]
        edited = page.body.replace("1.2万余名".encode(), "1.3万余名".encode())
        site.put(WITH_ETAG, Resource(page.status, page.headers, edited))
        second = run_crawl(site.base_url, out, "-a", "channels=szdt", "-a", "recheck=all",
                           env={"PYTHONPATH": str(clock), "TEST_CLOCK_SHIFT": str(-DAY)})
        assert second.returncode == 0, second.log[-3000:]
        third = run_crawl(site.base_url, out, "-a", "channels=szdt", "-a", "recheck=all")
        assert third.returncode == 0, third.log[-3000:]
    runs = [m["run_id"] for m in consumer.manifests(out) if m.get("final")]
    assert [r["status"] for r in consumer.records(out, runs[1]) if r["url"] == url] == ["modified"]
    (version_1,), (version_2,) = _responses_for(out, runs[0], url), _responses_for(out, runs[1], url)
    assert version_2.get_header("WARC-Date") < version_1.get_header("WARC-Date")  # the clock was set back
    revisits = [headers for path in sorted((out / "warc").glob(f"*-{runs[2]}-*.warc.gz"))
                for kind, headers in _records_of(path)
                if kind == "revisit" and headers.get_header("WARC-Target-URI") == url]
    assert [h.get_header("WARC-Profile") for h in revisits] == [SERVER_NOT_MODIFIED]
    assert revisits[0].get_header("WARC-Refers-To") == version_2.get_header("WARC-Record-ID")
    assert revisits[0].get_header("WARC-Refers-To-Date") == version_2.get_header("WARC-Date")


def test_a_picture_whose_earlier_warc_file_is_gone_is_fetched_again(tmp_path):
    """The WARC file holding an article's pictures is lost; the article changes: the rerun fetches
    its pictures again and points at the new records (before: no fetch, ``warc`` null, exit 0)."""
    out = tmp_path / "out"
    with FixtureSite() as site:
        first = run_crawl(site.base_url, out)
        assert first.returncode == 0, first.log[-3000:]
        article = next(r for r in first.records if r["url"].endswith(WITH_IMAGES))
        assert article["images"] and all(i["warc"] for i in article["images"])
        lost = article["images"][0]["warc"]["file"]
        (out / lost).unlink()  # its .cdxj stays: the index still names the captures
        page = site.resources[WITH_IMAGES]
        edited = page.body.replace("遂宁市政法队伍教育整顿综述".encode(), "遂宁市政法队伍教育整顿工作综述".encode())
        site.put(WITH_IMAGES, Resource(page.status, page.headers, edited))
        # The archive is damaged on purpose (a listed WARC file removed): verified below.
        second = run_crawl(site.base_url, out, "-a", "recheck=all", verify=False)
        assert second.returncode == 0, second.log[-3000:]
        counts = site.request_counts()
    run_id = consumer.final(out)["run_id"]
    modified = next(r for r in consumer.records(out, run_id) if r["url"].endswith(WITH_IMAGES))
    lost_images = [i for i in modified["images"] if i["url"] in
                   {x["url"] for x in article["images"] if x["warc"]["file"] == lost}]
    assert lost_images
    for image in lost_images:
        pointer = image["warc"]
        assert pointer is not None and run_id in pointer["file"], image
        with (out / pointer["file"]).open("rb") as stream:
            stream.seek(pointer["offset"])
            record = next(iter(ArchiveIterator(stream)))
            assert record.rec_type == "response"
            assert record.rec_headers.get_header("WARC-Record-ID") == pointer["record_id"]
            assert record.rec_headers.get_header("WARC-Target-URI") == image["url"]
        assert counts[urlsplit(image["url"]).path] == 2
    # What verify says is exactly the loss: the file, and no revisit of the rerun refers into it.
    problems = verify(out)
    assert problems and {p.file for p in problems} == {lost}, problems
