"""Page requisites and the run's WACZ: an archived article replays with its images, from the CDXJ
index as pywb looks it up, and from the WACZ a ReplayWeb.page-style tool opens (a run's own WACZ,
``WACZ_ENABLED``, off by default: tests/test_wacz_export.py has the one made on demand)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import socket
import subprocess
import sys
import tempfile
import threading
import zipfile
from bisect import bisect_left
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import surt
from cdxj_indexer import CDXJIndexer
from warcio.archiveiterator import ArchiveIterator

from crawler.archive.wacz import pages_of, warc_files_of
from crawler.run.manifests import read_records
from tests import consumer
from tests.fixture_server import FixtureSite, Resource
from tests.utils.cmdline import PROJECT, crawl
from tests.utils.crawl import run_crawl

SCHEMA = json.loads((PROJECT / "crawler/schema/article.schema.json").read_text("utf-8"))
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif")
PER_RUN_WACZ = ("-s", "WACZ_ENABLED=True")  # off by default


def listed(output_dir: Path, kind: str) -> list[dict]:
    """The manifest entries of ``kind``, read as a consumer reads them."""
    return [e for m in consumer.manifests(output_dir) for e in m["files"] if e["kind"] == kind]


class CdxjReplay:
    """What pywb does for a capture: look the URL's SURT key up in the sorted CDXJ index of the
    listed WARC files, then read the record at the line's offset of its file."""

    def __init__(self, output_dir: Path):
        self.lines: list[tuple[str, str, dict]] = []
        for entry in listed(output_dir, "warc"):
            folder = (output_dir / entry["file"]).parent
            for line in (output_dir / (entry["file"] + ".cdxj")).read_text("utf-8").splitlines():
                key, timestamp, fields = line.split(" ", 2)
                self.lines.append((key, timestamp, {**json.loads(fields), "folder": folder}))
        self.lines.sort(key=lambda line: (line[0], line[1]))
        self.keys = [line[0] for line in self.lines]

    def get(self, url: str) -> tuple[int, bytes, str]:
        """The latest capture of ``url``: HTTP status, payload, Content-Type (404 when none).

        A revisit record (an unchanged capture) is replayed as pywb does: with the payload of the
        capture it refers to (the same URI at ``WARC-Refers-To-Date``).
        """
        key = surt.surt(url)
        at = bisect_left(self.keys, key)
        captures = [self.lines[i] for i in range(at, len(self.lines)) if self.keys[i] == key]
        if not captures:
            return 404, b"", ""
        record = self._read(captures[-1][2])
        assert record["headers"].get_header("WARC-Target-URI") == url
        payload = record
        if record["type"] == "revisit":
            refers_date = record["headers"].get_header("WARC-Refers-To-Date")
            payload = next(read for read in (self._read(line[2]) for line in captures)
                           if read["type"] == "response" and read["headers"].get_header("WARC-Date") == refers_date)
        return (int(record["http"].get_statuscode()), payload["payload"],
                payload["http"].get_header("Content-Type") or "")

    @staticmethod
    def _read(fields: dict) -> dict:
        """The record at a CDXJ line: its type, WARC and HTTP headers, and payload."""
        with (fields["folder"] / fields["filename"]).open("rb") as stream:
            stream.seek(int(fields["offset"]))
            record = next(iter(ArchiveIterator(stream)))
            return {"type": record.rec_type, "headers": record.rec_headers, "http": record.http_headers,
                    "payload": record.content_stream().read()}


def image_paths(records: list[dict]) -> list[str]:
    return sorted({urlsplit(i["url"]).path for r in records for i in r["images"]})


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A crawl, then a rerun where one article's text changed (a ``modified`` record with images);
    each writes its own WACZ."""
    output_dir = tmp_path_factory.mktemp("requisites")
    with FixtureSite() as site:
        first = run_crawl(site.base_url, output_dir, *PER_RUN_WACZ)
        assert first.returncode == 0, first.log[-3000:]
        counts_after_first = site.request_counts()
        edited = "/scyw/20211103/2541288.html"
        page = site.resources[edited]
        body = page.body.replace("遂宁市政法队伍教育整顿综述".encode(), "遂宁市政法队伍教育整顿工作综述".encode())
        site.put(edited, Resource(page.status, page.headers, body))
        second = run_crawl(site.base_url, output_dir, "-a", "recheck=all", *PER_RUN_WACZ)
        assert second.returncode == 0, second.log[-3000:]
        yield first, counts_after_first, second, site.request_counts(), site


def test_every_image_is_archived_once_and_pointed_at(runs):
    first, counts, _, _, _ = runs
    images = [i for r in first.records for i in r["images"]]
    assert len(images) >= 7
    for image in images:
        pointer = image["warc"]
        assert pointer is not None, image
        with (first.output_dir / pointer["file"]).open("rb") as stream:
            stream.seek(pointer["offset"])
            record = next(iter(ArchiveIterator(stream)))
        assert record.rec_type == "response"
        assert record.rec_headers.get_header("WARC-Record-ID") == pointer["record_id"]
        assert record.rec_headers.get_header("WARC-Target-URI") == image["url"]
        assert record.http_headers.get_header("Content-Type").startswith("image/")
    for path in image_paths(first.records):
        assert counts[path] == 1, path  # fetched once, whatever number of articles shows it
    for record in first.records:
        jsonschema.validate(record, SCHEMA)


def test_pointers_only_into_warc_files_a_manifest_lists(runs):
    first, *_ = runs
    files = {e["file"] for e in listed(first.output_dir, "warc")}
    for record in first.records:
        for requisite in record["images"] + record["attachments"]:
            if requisite["warc"] is not None:
                assert requisite["warc"]["file"] in files


def test_an_attachment_is_archived_too(runs):
    first, *_ = runs
    attachments = [a for r in first.records for a in r["attachments"]]
    assert attachments and all(a["warc"] is not None for a in attachments)


def test_replay_from_the_cdxj_index_gives_the_page_and_its_images(runs):
    first, _, _, _, site = runs
    replay = CdxjReplay(first.output_dir)
    shown = [r for r in first.records if r["images"]]
    assert shown
    for record in shown:
        status, body, content_type = replay.get(record["url"])
        assert status == 200 and content_type.startswith("text/html")
        for image in record["images"]:
            assert urlsplit(image["url"]).path.encode() in body or image["url"].encode() in site.rewrite(
                site.resources[urlsplit(record["url"]).path])
            status, payload, content_type = replay.get(image["url"])
            assert status == 200 and content_type.startswith("image/"), image["url"]
            assert payload == site.resources[urlsplit(image["url"]).path].body


def test_a_rerun_points_at_the_images_an_earlier_run_archived_without_fetching_them(runs):
    first, counts, second, counts_after, _ = runs
    second_run = consumer.final(second.output_dir)["run_id"]
    modified = [r for r in consumer.records(second.output_dir, second_run) if r["status"] == "modified"]
    assert [r["url"].endswith("/2541288.html") for r in modified] == [True]
    first_images = {i["url"]: i["warc"] for r in first.records for i in r["images"]}
    for image in modified[0]["images"]:
        assert image["warc"] == first_images[image["url"]]
    for path in image_paths(first.records):
        assert counts_after[path] == counts[path] == 1, path
    # The rerun's WACZ holds the earlier file those pointers lead into: it replays alone.
    wacz = listed(second.output_dir, "wacz")[-1]
    with zipfile.ZipFile(second.output_dir / wacz["file"]) as archive:
        names = archive.namelist()
    assert f"archive/{Path(modified[0]['images'][0]['warc']['file']).name}" in names


def test_the_run_wacz_is_listed_valid_and_replayable(runs):
    first, *_ = runs
    manifest = [m for m in consumer.manifests(first.output_dir) if m["run_id"] == consumer.manifests(
        first.output_dir)[0]["run_id"] and m.get("final")][0]
    entries = [e for e in manifest["files"] if e["kind"] == "wacz"]
    assert len(entries) == 1
    path = first.output_dir / entries[0]["file"]
    data = path.read_bytes()
    assert len(data) == entries[0]["bytes"] and hashlib.sha256(data).hexdigest() == entries[0]["sha256"]
    done = subprocess.run([sys.executable, "-m", "wacz", "validate", "-f", str(path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and "is valid" in done.stdout, done.stdout + done.stderr
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        warcs = {f"archive/{Path(e['file']).name}" for e in manifest["files"] if e["kind"] == "warc"}
        assert warcs <= names
        assert {"datapackage.json", "indexes/index.cdx.gz", "pages/pages.jsonl"} <= names
        package = json.loads(archive.read("datapackage.json"))
        for resource in package["resources"]:
            assert resource["hash"] == "sha256:" + hashlib.sha256(archive.read(resource["path"])).hexdigest()
        pages = [json.loads(line) for line in archive.read("pages/pages.jsonl").decode().splitlines()[1:]]
        assert {p["url"] for p in pages} == {r["url"] for r in consumer.records(first.output_dir, manifest["run_id"])}
        index = gzip.decompress(archive.read("indexes/index.cdx.gz")).decode()
        assert all(p.get("ts") and p.get("id") for p in pages)  # when each page was captured
        # The ZipNum index holds what py-wacz's indexer finds in the WACZ's own WARC files, in order.
        expected = io.StringIO()
        with tempfile.TemporaryDirectory() as unpacked:
            archive.extractall(unpacked, [n for n in names if n.startswith("archive/")])
            CDXJIndexer(output=expected, inputs=sorted(str(p) for p in Path(unpacked, "archive").iterdir()),
                        sort=True).process_all()
        key = [line.split(" {")[0] for line in index.splitlines()]
        assert key == [line.split(" {")[0] for line in expected.getvalue().splitlines()]
        blocks = archive.read("indexes/index.idx").decode().splitlines()
        assert blocks[0].startswith("!meta") and len(blocks) > 1
    image = next(i["url"] for r in first.records for i in r["images"])
    assert surt.surt(image) in index


def test_a_failed_requisite_leaves_its_pointer_null_and_the_record_goes_out(tmp_path):
    with FixtureSite() as site:
        site.put("/sccaw/u_yhscwj/202111/9288ddce26e586400c70a19f9c549e74.jpeg", None)  # 404
        robots = site.resources["/robots.txt"]
        site.put("/robots.txt", Resource(200, robots.headers, robots.body + b"Disallow: /uploadfiles/\n"))
        pdf = "/sccaw/u_yhscwj/202401/2024011501.pdf"
        site.put(pdf, Resource(200, {"Content-Type": "application/pdf"}, b"%PDF-1.4\n" + b"0" * 50_000))
        result = run_crawl(site.base_url, tmp_path, "-s", "REQUISITES_MAX_SIZE=20000")
        requests = site.request_counts()
    assert result.returncode == 0, result.log[-3000:]
    by_url = {urlsplit(i["url"]).path: i["warc"] for r in result.records for i in r["images"] + r["attachments"]}
    assert by_url["/sccaw/u_yhscwj/202111/9288ddce26e586400c70a19f9c549e74.jpeg"] is None
    assert by_url["/uploadfiles/201706/20170605091530.jpg"] is None  # robots.txt forbids it
    assert requests["/uploadfiles/201706/20170605091530.jpg"] == 0
    assert by_url[pdf] is None  # larger than REQUISITES_MAX_SIZE
    assert by_url["/sccaw/u_yhscwj/202111/d65346c1518ba9487226edbf74f78a3e.jpeg"] is not None
    assert any(r["url"].endswith("/2541288.html") for r in result.records)
    counts = consumer.final(tmp_path)
    assert counts["accounting"]["balanced"], counts["accounting"]
    assert "requisites/failed/http_404: 1" in result.log.replace("'", "").replace(",", "")
    assert "requisites/failed/robots: 1" in result.log.replace("'", "").replace(",", "")
    assert "requisites/failed/oversize: 1" in result.log.replace("'", "").replace(",", "")


SAMPLE_PICTURES = ("/sccaw/u_yhscwj/202111/9288ddce26e586400c70a19f9c549e74.jpeg",
                   "/sccaw/u_yhscwj/202111/d65346c1518ba9487226edbf74f78a3e.jpeg")


def test_an_articles_pictures_are_fetched_at_the_same_time(tmp_path):
    """The sample article's two pictures are asked for together: the site holds each one until both
    have been asked for (up to 10 s), so a pipeline that fetched them one after the other would see
    its first picture held until the timeout and never both under way."""
    both_asked = threading.Barrier(2, timeout=10)
    together: list[bool] = []
    with FixtureSite() as site:
        for path in SAMPLE_PICTURES:
            picture = site.resources[path]

            def hold(handler, hits: int, picture: Resource = picture) -> None:
                try:
                    both_asked.wait()
                    together.append(True)
                except threading.BrokenBarrierError:
                    together.append(False)
                site.send(handler, picture)

            site.behaviours[path] = hold
        result = run_crawl(site.base_url, tmp_path)
    assert result.returncode == 0, result.log[-3000:]
    assert together == [True, True]
    pointers = {urlsplit(i["url"]).path: i["warc"] for r in result.records for i in r["images"]}
    assert all(pointers[path] is not None for path in SAMPLE_PICTURES)


def test_requisites_and_wacz_can_be_turned_off(tmp_path):
    with FixtureSite() as site:
        result = run_crawl(site.base_url, tmp_path, "-s", "REQUISITES_ENABLED=False", "-s", "WACZ_ENABLED=False")
        requests = site.request_counts()
    assert result.returncode == 0, result.log[-3000:]
    assert all(requests[p] == 0 for p in image_paths(result.records))
    assert all("warc" not in i for r in result.records for i in r["images"])
    assert listed(tmp_path, "wacz") == []


def test_a_run_that_archived_nothing_writes_no_wacz_and_no_error(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on: every request is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_crawl(f"http://127.0.0.1:{port}/", tmp_path, *PER_RUN_WACZ)
    assert result.returncode == 4, result.log[-3000:]  # the site could not be reached
    assert listed(tmp_path, "wacz") == [] and not (tmp_path / "wacz").exists()
    assert "Could not write the run's WACZ" not in result.log


@pytest.mark.parametrize("setting", ["REQUISITES_MAX_SIZE=0", "REQUISITES_ENABLED=perhaps", "WACZ_ENABLED=maybe",
                                     "REQUISITES_OFFSITE=sometimes"])
def test_a_bad_requisites_setting_exits_1(tmp_path, setting):
    done = crawl("http://127.0.0.1:9/", tmp_path, "-s", setting, timeout=120)
    assert done.returncode == 1 and setting.split("=")[0] in done.stderr, done.stderr[-2000:]
    assert not (tmp_path / "runs").exists()


def test_pages_and_warc_files_of_a_run(tmp_path):
    records: list[dict[str, Any]] = [
        {"url": "http://h/a.html", "title": "A", "status": "new", "warc": {"file": "warc/x-00001.warc.gz"},
         "images": [{"url": "http://h/i.jpg", "warc": {"file": "warc/old-00003.warc.gz"}},
                    {"url": "http://h/k.jpg", "warc": {"file": "warc/old-00003.warc.gz"}}],  # one file, once
         "attachments": []},
        {"url": "http://h/b.html", "title": None, "status": "deleted", "warc": {"file": "warc/x-00001.warc.gz"},
         "images": [], "attachments": []},
        {"url": "http://h/a.html", "title": "A", "status": "modified", "warc": {"file": "warc/x-00001.warc.gz"},
         "images": [{"url": "http://h/j.jpg", "warc": None}], "attachments": []},
    ]
    assert pages_of(records) == [{"url": "http://h/a.html", "title": "A"}]
    for name in ["warc/x-00001.warc.gz", "warc/x-00002.warc.gz", "warc/old-00003.warc.gz"]:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    found = warc_files_of(tmp_path, ["warc/x-00001.warc.gz", "warc/x-00002.warc.gz", "warc/gone.warc.gz"], records)
    assert found == [tmp_path / "warc/x-00001.warc.gz", tmp_path / "warc/x-00002.warc.gz",
                     tmp_path / "warc/old-00003.warc.gz"]


def test_with_a_slice_per_record_every_pointer_leads_into_a_file_listed_by_then(tmp_path):
    """The record waits for its requisites' WARC records: with a commit after every record, each
    record's images point into WARC files its own manifest or an earlier one lists."""
    with FixtureSite() as site:
        result = run_crawl(site.base_url, tmp_path, "-s", "CHECKPOINT_RECORDS=1", "-s", "WARC_MAX_SIZE=4000")
    assert result.returncode == 0, result.log[-3000:]
    listed_by_then: set[str] = set()
    pointed = 0
    for manifest in consumer.manifests(tmp_path):
        listed_by_then |= {e["file"] for e in manifest["files"] if e["kind"] == "warc"}
        records_entries = {"files": [e for e in manifest["files"] if e["kind"] == "records"]}
        for record in read_records(tmp_path, records_entries):
            for requisite in record["images"] + record["attachments"]:
                assert requisite["warc"] is not None, requisite
                assert requisite["warc"]["file"] in listed_by_then, (manifest["seq"], requisite)
                pointed += 1
    assert pointed >= 8
