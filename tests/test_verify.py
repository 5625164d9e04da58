"""``scrapy verify``: the archive's fsck. A clean archive verifies (exit 0); each kind of damage is
reported, naming the file, with exit code 1. And the record made from a revisit: it points at the
original response, which verify checks for every record after every crawl (tests/conftest.py)."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.archive.verify import verify
from tests import consumer
from tests.fixture_server import FixtureSite
from tests.utils.cmdline import scrapy_verify
from tests.utils.crawl import run_crawl

GONE = "/scyw/20250829/2992286.html"      # 404 on the second run, back as it was on the third
ETAG = "/szdt/20240110/2868001.html"      # answers 304 to its ETag: a server-not-modified revisit


def _with_etag(site: FixtureSite, path: str) -> None:
    def behaviour(handler, hits: int) -> None:
        if handler.headers.get("If-None-Match") == '"v1"':
            handler.send_response(304)
            handler.send_header("ETag", '"v1"')
            handler.end_headers()
            return
        resource = site.resources[path]
        body = site.rewrite(resource)
        handler.send_response(resource.status)
        for name, value in {**resource.headers, "ETag": '"v1"'}.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    site.behaviours[path] = behaviour


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """Three runs, committed in slices of 5: the first, a recheck while one article is gone (404)
    and another answers 304, and a recheck after the gone one came back with the same bytes (a
    ``restored`` record made from an identical-payload revisit)."""
    out = tmp_path_factory.mktemp("verified")
    with FixtureSite() as site:
        _with_etag(site, ETAG)
        original = site.resources[GONE]
        first = run_crawl(site.base_url, out, "-s", "CHECKPOINT_RECORDS=5")
        assert first.returncode == 0, first.log[-3000:]
        site.put(GONE, None)
        second = run_crawl(site.base_url, out, "-a", "recheck=all", "-s", "CHECKPOINT_RECORDS=5")
        assert second.returncode == 0, second.log[-3000:]
        site.put(GONE, original)
        third = run_crawl(site.base_url, out, "-a", "recheck=all", "-s", "CHECKPOINT_RECORDS=5")
        assert third.returncode == 0, third.log[-3000:]
        yield out, site.base_url.rstrip("/")


def _record_at(path: Path, offset: int):
    with path.open("rb") as stream:
        stream.seek(offset)
        record = next(iter(ArchiveIterator(stream)))
        record.payload = record.content_stream().read()
        return record


def test_a_clean_archive_verifies(archive):
    out, _ = archive
    done = scrapy_verify(str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    summary = done.stdout.strip().splitlines()[-1]
    assert summary.startswith(f"scrapy verify: {out}: OK (") and " 0 revisits" not in summary, summary


def test_verify_reads_the_output_dir_setting_without_an_argument(archive):
    out, _ = archive
    done = scrapy_verify("-s", f"OUTPUT_DIR={out}")
    assert done.returncode == 0 and "OK" in done.stdout, done.stdout + done.stderr


def test_a_folder_without_an_archive_is_one_line_and_exit_1(tmp_path):
    done = scrapy_verify(str(tmp_path))
    assert done.returncode == 1
    assert done.stderr.strip() == f"scrapy verify: {tmp_path} holds no archive (no runs/ folder)"


def test_verify_writes_nothing(archive):
    out, _ = archive
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    assert verify(out) == []
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before


def test_a_record_made_from_a_revisit_points_at_the_original_response(archive):
    """The restored record's page was an identical-payload revisit: its pointer leads to the first
    run's response record, whose payload is the page (not to the revisit, which holds no bytes)."""
    out, base = archive
    restored = [r for r in consumer.records(out, consumer.final(out)["run_id"]) if r["status"] == "restored"]
    assert [r["url"] for r in restored] == [base + GONE]
    pointer = restored[0]["warc"]
    record = _record_at(out / pointer["file"], pointer["offset"])
    assert record.rec_type == "response"
    assert record.rec_headers.get_header("WARC-Record-ID") == pointer["record_id"]
    assert record.rec_headers.get_header("WARC-Target-URI") == base + GONE
    assert b"<html" in record.payload.lower()
    first_run = consumer.manifests(out)[0]["run_id"]
    assert first_run in pointer["file"]  # the first run's capture: the third run wrote a revisit
    # The third run's own record of the page is that revisit, referring to the same response.
    revisits = [r for path in sorted((out / "warc").glob("*.warc.gz")) if consumer.final(out)["run_id"] in path.name
                for r in ArchiveIterator(path.open("rb"))
                if r.rec_type == "revisit" and r.rec_headers.get_header("WARC-Target-URI") == base + GONE]
    assert [r.rec_headers.get_header("WARC-Refers-To") for r in revisits] == [pointer["record_id"]]


# --- damage: each kind is reported, naming the file, exit 1 ---------------------------------------

def _manifest_paths(out: Path) -> list[Path]:
    return sorted((out / "runs").glob("*.json"))


def _last_records_entry(out: Path) -> tuple[Path, dict, dict]:
    """The first run's last records range that ends its file (so it may be rewritten)."""
    for path in _manifest_paths(out):
        manifest = json.loads(path.read_text("utf-8"))
        for entry in manifest["files"]:
            if entry["kind"] == "records" and entry["records"] >= 2 and \
                    (out / entry["file"]).stat().st_size == entry["offset"] + entry["bytes"]:
                return path, manifest, entry
    raise AssertionError("no records range to damage")


def _recommit(out: Path, change: Callable[[list[dict]], None]) -> str:
    """Change the records of a committed range and commit them again (the manifest's bytes and
    sha256 made to match): only the pointers are wrong. Returns the records file's name."""
    path, manifest, entry = _last_records_entry(out)
    records_file = out / entry["file"]
    data = records_file.read_bytes()
    records = [json.loads(line) for line in data[entry["offset"]:].decode("utf-8").splitlines()]
    change(records)
    new = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    records_file.write_bytes(data[:entry["offset"]] + new)
    entry["bytes"], entry["sha256"] = len(new), hashlib.sha256(new).hexdigest()
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), "utf-8")
    return entry["file"]


def flip_a_byte_in_a_records_range(out: Path) -> str:
    _, _, entry = _last_records_entry(out)
    path = out / entry["file"]
    data = bytearray(path.read_bytes())
    data[entry["offset"] + entry["bytes"] // 2] ^= 0x01
    path.write_bytes(bytes(data))
    return f"{entry['file']}: records range of runs/"


def truncate_a_warc_file(out: Path) -> str:
    path = sorted((out / "warc").glob("*.warc.gz"))[0]
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.truncate(size // 2)
    return f"warc/{path.name}: does not match its entry in runs/"


def change_a_cdxj_file(out: Path) -> str:
    path = sorted((out / "warc").glob("*.cdxj"))[0]
    path.write_text(path.read_text("utf-8").replace('"status": "200"', '"status": "404"', 1), "utf-8")
    return f"warc/{path.name}: does not match its entry in runs/"


def point_at_a_wrong_offset(out: Path) -> str:
    def change(records: list[dict]) -> None:
        records[0]["warc"]["offset"] += 1
    _recommit(out, change)
    return "where no record of this file begins"


def point_at_a_request_record(out: Path) -> str:
    def change(records: list[dict]) -> None:  # the request record follows the response
        pointer = records[0]["warc"]
        path = out / pointer["file"]
        with path.open("rb") as stream:
            stream.seek(pointer["offset"])
            records_there = ArchiveIterator(stream)
            next(records_there)
            pointer["offset"] += records_there.get_record_length()
    _recommit(out, change)
    return "a request record, not a response"


def point_at_another_url(out: Path) -> str:
    def change(records: list[dict]) -> None:
        records[0]["url"], records[1]["url"] = records[1]["url"], records[0]["url"]
    _recommit(out, change)
    return ", not for "


def remove_what_revisits_refer_to(out: Path) -> str:
    first_run = json.loads(_manifest_paths(out)[0].read_text("utf-8"))["run_id"]
    for path in (out / "warc").glob(f"*-{first_run}-*.warc.gz"):
        path.unlink()
    return "revisit records refer to a record the archive does not hold"


def make_a_manifest_unparseable(out: Path) -> str:
    path = _manifest_paths(out)[1]
    path.write_text(path.read_text("utf-8")[:40], "utf-8")
    return f"runs/{path.name}: does not parse"


def use_a_seq_twice(out: Path) -> str:
    path = _manifest_paths(out)[-1]
    manifest = json.loads(path.read_text("utf-8"))
    copy = path.with_name(f"{manifest['seq']:08d}-20990101T000000Z-abcdef.json")
    copy.write_text(json.dumps({**manifest, "run_id": "20990101T000000Z-abcdef"}), "utf-8")
    return f"seq {manifest['seq']} is used by 2 manifests"


def remove_a_manifest(out: Path) -> str:
    _manifest_paths(out)[2].unlink()
    return "no manifest holds seq 3"


@pytest.mark.parametrize("damage", [
    flip_a_byte_in_a_records_range, truncate_a_warc_file, change_a_cdxj_file, point_at_a_wrong_offset,
    point_at_a_request_record, point_at_another_url, remove_what_revisits_refer_to, make_a_manifest_unparseable,
    use_a_seq_twice, remove_a_manifest,
], ids=lambda damage: damage.__name__)
def test_damage_is_reported_naming_what_and_exit_1(archive, tmp_path, damage):
    out = tmp_path / "archive"
    shutil.copytree(archive[0], out)
    expected = damage(out)
    done = scrapy_verify(str(out))
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert any(expected in line for line in lines[:-1]), done.stdout
    assert lines[-1].startswith(f"scrapy verify: {out}: {len(lines) - 1} problems ("), done.stdout
