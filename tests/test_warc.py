"""The raw archive: WARC 1.1 files that hold every response, and records that point into them."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cdxj_indexer import CDXJIndexer
from warcio.archiveiterator import ArchiveIterator

from crawler.extract.article import parse_article
from crawler.extract.cleaning import clean_blocks
from tests.conftest import run_crawl
from tests.fixture_server import FixtureSite


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    with FixtureSite() as site:
        result = run_crawl(site.base_url, tmp_path_factory.mktemp("warc"), "-s", "WARC_MAX_SIZE=40000")
        assert result.returncode == 0, result.log[-2000:]
        yield result, site.request_counts()


def test_every_response_archived_with_its_request(crawl):
    result, requests = crawl
    files = sorted((result.output_dir / "warc").glob("*.warc.gz"))
    assert len(files) > 1  # rotated by size
    responses, request_records = [], []
    for path in files:
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                assert record.rec_headers.get_header("WARC-Type") != "response" or \
                    record.rec_headers.protocol == "WARC/1.1"
                if record.rec_type == "response":
                    responses.append(record.rec_headers.get_header("WARC-Target-URI"))
                elif record.rec_type == "request":
                    request_records.append(record.rec_headers.get_header("WARC-Target-URI"))
    paths = sorted("/" + url.split("/", 3)[3] for url in responses)
    assert paths == sorted(p for p, n in requests.items() for _ in range(n))
    assert sorted(responses) == sorted(request_records)
    assert any(url.endswith("/robots.txt") for url in responses)


def test_record_pointer_leads_to_its_response_and_reextracts_identically(crawl):
    result, _ = crawl
    for record in result.records:
        pointer = record["warc"]
        with (result.output_dir / pointer["file"]).open("rb") as stream:
            stream.seek(pointer["offset"])
            warc_record = next(iter(ArchiveIterator(stream)))
            assert warc_record.rec_headers.get_header("WARC-Record-ID") == pointer["record_id"]
            assert warc_record.rec_headers.get_header("WARC-Target-URI") == record["url"]
            body = warc_record.content_stream().read()
            content_type = warc_record.http_headers.get_header("Content-Type")
        raw = parse_article(body, record["url"], content_type)
        cleaned = clean_blocks(raw.blocks)
        assert (raw.title, raw.published_at, raw.source, raw.editor) == (
            record["title"], record["published_at"], record["source"], record["editor"])
        assert cleaned.body == record["body"]
        assert cleaned.images == [{k: v for k, v in i.items() if k != "warc"} for i in record["images"]]


def test_archived_bodies_are_bytes_as_received(crawl):
    result, _ = crawl
    legacy = next(r for r in result.records if r["id"] == "000451520")
    with (result.output_dir / legacy["warc"]["file"]).open("rb") as stream:
        stream.seek(legacy["warc"]["offset"])
        body = next(iter(ArchiveIterator(stream))).content_stream().read()
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")  # still GB2312 bytes, not re-encoded
    assert "政法".encode("gb2312") in body


def test_warcio_index_reads_every_file_and_cdxj_exists(crawl):
    result, _ = crawl
    for path in (result.output_dir / "warc").glob("*.warc.gz"):
        done = subprocess.run([str(Path(sys.executable).with_name("warcio")), "index", str(path)],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip()
        cdxj = path.with_name(path.name + ".cdxj").read_text("utf-8").splitlines()
        assert cdxj and all(json.loads(line.split(" ", 2)[2])["filename"] == path.name for line in cdxj)


def test_cdxj_written_as_records_go_equals_indexing_the_closed_file(crawl):
    result, _ = crawl
    files = sorted((result.output_dir / "warc").glob("*.warc.gz"))
    assert len(files) > 1 and not list((result.output_dir / "warc").glob(".*.open"))
    for path in files:
        expected = io.StringIO()
        CDXJIndexer(output=expected, inputs=[str(path)], sort=True).process_all()
        written = path.with_name(path.name + ".cdxj").read_text("utf-8")
        assert written.splitlines() == expected.getvalue().splitlines()  # a failure shows the lines
        assert written == expected.getvalue()


def test_manifest_lists_files_with_hashes(crawl):
    result, _ = crawl
    manifest = json.loads(next((result.output_dir / "runs").glob("*.json")).read_text("utf-8"))
    assert manifest["complete"] and manifest["exit_code"] == 0
    kinds = [f["kind"] for f in manifest["files"]]
    assert kinds.count("records") == 1 and kinds.count("warc") > 1
    records_file = next(f for f in manifest["files"] if f["kind"] == "records")
    assert records_file["records"] == len(result.records)
    assert manifest["counts"]["new"] == len(result.records)
    assert sum(manifest["quality"]["by_extractor"].values()) == len(result.records)
    assert manifest["accounting"]["balanced"]
    assert "scrapy" in manifest["versions"] and "warcio" in manifest["versions"]


def _members_by_index(warc_dir: Path) -> list[bytes]:
    """Each indexed record's bytes, cut out of its file by the CDXJ offset and length."""
    members = []
    for index in warc_dir.glob("*.warc.gz.cdxj"):
        data = index.with_name(index.name.removesuffix(".cdxj")).read_bytes()
        for line in index.read_text("utf-8").splitlines():
            entry = json.loads(line.split(" ", 2)[2])
            members.append(data[int(entry["offset"]):int(entry["offset"]) + int(entry["length"])])
    return members


def test_gzip_level_is_a_setting_and_every_record_stays_its_own_gzip_member(crawl, tmp_path):
    result, _ = crawl
    with FixtureSite() as site:
        stored = run_crawl(site.base_url, tmp_path / "level0", "-s", "WARC_GZIP_LEVEL=0")
    assert stored.returncode == 0, stored.log[-2000:]
    size = {name: sum(p.stat().st_size for p in (out / "warc").glob("*.warc.gz"))
            for name, out in (("default", result.output_dir), ("level0", stored.output_dir))}
    assert size["level0"] > 1.5 * size["default"]  # level 0 stores, the default (6) compresses
    for out in (result.output_dir, stored.output_dir):
        members = _members_by_index(out / "warc")
        assert members and all(gzip.decompress(m).startswith(b"WARC/1.1\r\n") for m in members)


def test_a_bad_gzip_level_stops_the_run_at_once(tmp_path):
    with FixtureSite() as site:
        bad = run_crawl(site.base_url, tmp_path / "bad", "-s", "WARC_GZIP_LEVEL=12")
        assert not site.request_counts()  # nothing fetched
    assert bad.returncode == 1
    assert "WARC_GZIP_LEVEL must be between 0 and 9" in bad.log
    assert not (tmp_path / "bad").exists()  # checked before anything is written
