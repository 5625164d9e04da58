"""The raw archive: WARC 1.1 files that hold every response, and records that point into them."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import socket
import subprocess
import sys
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from cdxj_indexer import CDXJIndexer
from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord

from crawler.extract.article import parse_article
from crawler.extract.cleaning import clean_blocks
from tests import consumer
from tests.fixture_cases import load_cases
from tests.fixture_server import FixtureSite, Resource
from tests.utils.cmdline import PROJECT
from tests.utils.crawl import run_crawl


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


# --- WARC as archivists expect: revisits, warcinfo, capture time, the request as sent ---------------

ARTICLES = sorted(load_cases("article"), key=lambda case: case.meta["path"])
NOT_MODIFIED = ARTICLES[0].meta["path"]   # answers with an ETag, and 304 when it is sent back
EDITED = ARTICLES[1].meta["path"]         # another body on the rerun: archived in full again
SLOW = ARTICLES[2].meta["path"]           # its answer comes SLOW_SECONDS after the request
SLOW_SECONDS = 3.0  # room for a slow connect on a loaded machine, and still far from the answer's time
OPERATOR = "Test Archive (archive@example.org)"


def _serve(handler: BaseHTTPRequestHandler, site: FixtureSite, path: str, extra: dict[str, str]) -> None:
    with site._lock:
        resource = site.resources[path]
    body = site.rewrite(resource)
    handler.send_response(resource.status)
    for name, value in {**resource.headers, **extra}.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _with_etag(site: FixtureSite, path: str) -> None:
    def behaviour(handler: BaseHTTPRequestHandler, hits: int) -> None:
        if handler.headers.get("If-None-Match") == '"v1"':
            handler.send_response(304)
            handler.send_header("ETag", '"v1"')
            handler.end_headers()
            return
        _serve(handler, site, path, {"ETag": '"v1"'})
    site.behaviours[path] = behaviour


def _slow(site: FixtureSite, path: str) -> None:
    def behaviour(handler: BaseHTTPRequestHandler, hits: int) -> None:
        time.sleep(SLOW_SECONDS)
        _serve(handler, site, path, {})
    site.behaviours[path] = behaviour


def _records(path: Path) -> list[ArcWarcRecord]:
    """Every record of a WARC file, headers parsed, payloads read."""
    found = []
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream):
            record.payload = record.content_stream().read()
            found.append(record)
    return found


def _run_files(out: Path, run_id: str) -> list[Path]:
    return sorted((out / "warc").glob(f"*-{run_id}-*.warc.gz"))


def _warc_bytes(out: Path) -> int:
    return sum(p.stat().st_size for p in (out / "warc").glob("*.warc.gz"))


@pytest.fixture(scope="module")
def rechecked(tmp_path_factory):
    """A crawl, then a ``-a recheck=all`` rerun of the same site: one article answers 304, one was
    edited in between, the rest are the same bytes."""
    out = tmp_path_factory.mktemp("recheck")
    with FixtureSite() as site:
        _with_etag(site, NOT_MODIFIED)
        _slow(site, SLOW)
        first = run_crawl(site.base_url, out, "-s", f"WARC_OPERATOR={OPERATOR}")
        assert first.returncode == 0, first.log[-3000:]
        first_bytes = _warc_bytes(out)
        times = dict(zip(site.requests, site.request_times, strict=True))
        edited = site.resources[EDITED]
        site.put(EDITED, Resource(edited.status, edited.headers, edited.body.replace("。".encode(), "！".encode(), 1)))
        second = run_crawl(site.base_url, out, "-a", "recheck=all", "-s", f"WARC_OPERATOR={OPERATOR}")
        assert second.returncode == 0, second.log[-3000:]
        refetched = set(site.requests[len(times):])
    runs = [m["run_id"] for m in consumer.manifests(out) if m.get("final")]
    yield {"out": out, "runs": runs, "first_bytes": first_bytes, "added_bytes": _warc_bytes(out) - first_bytes,
           "request_times": times, "refetched": refetched, "base": site.base_url}


def test_an_unchanged_recheck_is_revisit_records(rechecked):
    out, (first_run, second_run) = rechecked["out"], rechecked["runs"]
    stored = {}  # URL -> the first run's response record (its headers)
    for path in _run_files(out, first_run):
        stored.update({r.rec_headers.get_header("WARC-Target-URI"): r.rec_headers for r in _records(path)
                       if r.rec_type == "response" and r.http_headers.get_statuscode() == "200"})
    base = rechecked["base"].rstrip("/")
    revisits, responses = {}, {}
    for path in _run_files(out, second_run):
        for record in _records(path):
            url = record.rec_headers.get_header("WARC-Target-URI")
            if record.rec_type == "revisit":
                revisits[url] = record
            elif record.rec_type == "response":
                responses[url] = record
    # Every article was fetched again; only the edited one is archived in full.
    assert {base + case.meta["path"] for case in ARTICLES} <= set(revisits) | set(responses)
    assert base + EDITED in responses and base + EDITED not in revisits
    profiles = {url: r.rec_headers.get_header("WARC-Profile") for url, r in revisits.items()}
    assert profiles.pop(base + NOT_MODIFIED) == "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
    assert revisits[base + NOT_MODIFIED].http_headers.get_statuscode() == "304"
    assert len(profiles) >= len(ARTICLES) - 2
    assert set(profiles.values()) == {"http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"}
    for url, record in revisits.items():
        original = stored[url]
        headers = record.rec_headers
        assert headers.get_header("WARC-Refers-To-Target-URI") == url
        assert headers.get_header("WARC-Refers-To-Date") == original.get_header("WARC-Date")
        assert headers.get_header("WARC-Refers-To") == original.get_header("WARC-Record-ID")
        assert headers.get_header("WARC-Payload-Digest") == original.get_header("WARC-Payload-Digest")
        assert record.payload == b""
    for url, record in responses.items():  # a full response only when the payload is new
        assert url not in stored or stored[url].get_header("WARC-Payload-Digest") != \
            record.rec_headers.get_header("WARC-Payload-Digest")


def test_recheck_adds_a_fraction_of_the_first_runs_bytes(rechecked):
    # Before revisits, the rerun stored every payload again: about as many bytes as the first run.
    assert rechecked["added_bytes"] < 0.5 * rechecked["first_bytes"], rechecked


def test_warcio_and_fastwarc_check_every_file(rechecked):
    files = sorted((rechecked["out"] / "warc").glob("*.warc.gz"))
    assert len(files) == 2
    bin_dir = Path(sys.executable).parent
    for path in files:
        done = subprocess.run([str(bin_dir / "warcio"), "check", "-v", str(path)], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        done = subprocess.run([str(bin_dir / "fastwarc"), "check", "-q", str(path)], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        # With payloads verified too, fastwarc fails a revisit (its payload digest is the referred
        # record's, as WARC 1.1 asks) and nothing else.
        report = path.with_name("fastwarc-report.txt")
        subprocess.run([str(bin_dir / "fastwarc"), "check", "-q", "-p", "-o", str(report), str(path)],
                       capture_output=True, timeout=60)
        failed = {line.rsplit(">: ", 1)[0] + ">" for line in report.read_text().splitlines() if "FAIL" in line}
        report.unlink()
        revisits = {r.rec_headers.get_header("WARC-Record-ID") for r in _records(path) if r.rec_type == "revisit"}
        assert failed <= revisits


# The version pyproject.toml declares: the installed one the warcinfo names must be it.
_VERSION_LINE = re.search(r'^version = "([^"]+)"', (PROJECT / "pyproject.toml").read_text("utf-8"), re.M)
assert _VERSION_LINE is not None, "pyproject.toml has no version"
DECLARED_VERSION = _VERSION_LINE[1]


def test_warcinfo_names_the_crawl_and_every_record_names_its_warcinfo(rechecked):
    out = rechecked["out"]
    for run_id in rechecked["runs"]:
        for path in _run_files(out, run_id):
            records = _records(path)
            info = records[0]
            assert info.rec_type == "warcinfo"
            fields = dict(line.split(": ", 1) for line in info.payload.decode("utf-8").splitlines())
            assert fields["software"].startswith(f"sichuanpeace-crawler/{DECLARED_VERSION} (Scrapy/")
            assert fields["hostname"] == socket.gethostname()
            assert fields["operator"] == OPERATOR
            assert fields["isPartOf"] == f"127.0.0.1/{run_id}"
            assert fields["robots"] == "obey"
            assert fields["http-header-user-agent"].startswith("sichuanpeace-archive/")
            assert fields["format"] == "WARC File Format 1.1"
            assert fields["conformsTo"].endswith("/warc-1.1/")
            info_id = info.rec_headers.get_header("WARC-Record-ID")
            assert len(records) > 1
            for record in records[1:]:
                assert record.rec_headers.get_header("WARC-Warcinfo-ID") == info_id
                assert record.rec_headers.get_header("WARC-IP-Address") == "127.0.0.1"


def test_request_records_say_the_protocol_they_were_sent_with(rechecked):
    out = rechecked["out"]
    for path in (out / "warc").glob("*.warc.gz"):
        by_id = {}
        for record in _records(path):
            by_id[record.rec_headers.get_header("WARC-Record-ID")] = record
        requests = [r for r in by_id.values() if r.rec_type == "request"]
        assert requests
        for request in requests:
            response = by_id[request.rec_headers.get_header("WARC-Concurrent-To")]
            assert response.http_headers.protocol == "HTTP/1.0"  # Python's http.server answers so
            # warcio reads a request line as method, then path and protocol: "GET", "/x HTTP/1.1".
            assert request.http_headers.protocol == "GET"
            assert request.http_headers.statusline.startswith("/")
            assert request.http_headers.statusline.endswith(" HTTP/1.1")  # what Scrapy sent
            assert request.rec_headers.get_header("WARC-Date") == response.rec_headers.get_header("WARC-Date")


def test_warc_date_is_when_the_capture_began(rechecked):
    out, (first_run, _) = rechecked["out"], rechecked["runs"]
    asked = rechecked["request_times"][SLOW]
    url = rechecked["base"].rstrip("/") + SLOW
    record = next(r for p in _run_files(out, first_run) for r in _records(p)
                  if r.rec_type == "response" and r.rec_headers.get_header("WARC-Target-URI") == url)
    date = datetime.fromisoformat(record.rec_headers.get_header("WARC-Date").replace("Z", "+00:00"))
    # When the request went out (the server got it then, or after a connect that took its time: a
    # SYN retried on a loaded machine put it 1.01 s earlier once), not once the answer came
    # SLOW_SECONDS later and was written.
    assert asked - SLOW_SECONDS * 2 / 3 < date.timestamp() < asked + SLOW_SECONDS / 3, (date, asked)


def test_cdxj_files_are_listed_with_their_sha256(rechecked):
    out = rechecked["out"]
    indexes = sorted((out / "warc").glob("*.cdxj"))
    assert len(indexes) == 2 and not list((out / "warc").glob(".*"))
    entries = {entry["file"]: entry for m in consumer.manifests(out) for entry in m["files"]
               if entry["kind"] == "cdxj"}
    assert sorted(entries) == [f"warc/{p.name}" for p in indexes]
    for path in indexes:
        data = path.read_bytes()
        assert entries[f"warc/{path.name}"]["sha256"] == hashlib.sha256(data).hexdigest()
        assert entries[f"warc/{path.name}"]["bytes"] == len(data)
    # A WARC file's SHA-256 is taken as it is written: it is the file's.
    warcs = {entry["file"]: entry for m in consumer.manifests(out) for entry in m["files"] if entry["kind"] == "warc"}
    assert sorted(warcs) == sorted(f"warc/{p.name}" for p in (out / "warc").glob("*.warc.gz"))
    for name, entry in warcs.items():
        data = (out / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["bytes"] == len(data)
    # The rerun's index holds its revisits, as pywb reads them.
    second = next(p for p in indexes if rechecked["runs"][1] in p.name).read_text("utf-8")
    assert '"mime": "warc/revisit"' in second


def test_a_record_made_from_a_revisit_points_at_the_bytes(rechecked):
    """Records of the rerun point at a response record holding their page's bytes."""
    out = rechecked["out"]
    for record in consumer.records(out, rechecked["runs"][1]):
        with (out / record["warc"]["file"]).open("rb") as stream:
            stream.seek(record["warc"]["offset"])
            found = next(iter(ArchiveIterator(stream)))
        assert found.rec_type == "response"
        assert found.rec_headers.get_header("WARC-Record-ID") == record["warc"]["record_id"]
        assert found.rec_headers.get_header("WARC-Target-URI") == record["url"]


def test_an_operator_of_more_than_one_line_stops_the_run_at_once(tmp_path):
    with FixtureSite() as site:
        bad = run_crawl(site.base_url, tmp_path / "bad", "-s", "WARC_OPERATOR=me\r\nWARC-Type: response")
        assert not site.request_counts()
    assert bad.returncode == 1
    assert "WARC_OPERATOR must be one line" in bad.log


def test_payloads_already_compressed_are_stored_members_and_read_back_whole():
    """A JPEG (or a gzip-coded body) is stored in its gzip member, not deflated again; HTML is
    compressed at the level set; warcio reads every record back with its payload and digest."""
    import random

    from warcio.statusandheaders import StatusAndHeaders

    from crawler.archive.warc import LeveledWARCWriter, incompressible

    picture = random.Random(3).randbytes(40_000)
    page = ("<p>" + "政法队伍建设" * 3000 + "</p>").encode()
    cases = [("image/jpeg", None, picture), ("text/html; charset=utf-8", "gzip", gzip.compress(page)),
             ("text/html; charset=utf-8", None, page)]
    out = io.BytesIO()
    writer = LeveledWARCWriter(out, 6, warc_version="1.1")
    lengths = []
    for media_type, coding, body in cases:
        headers = [("Content-Type", media_type)] + ([("Content-Encoding", coding)] if coding else [])
        http = StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")
        assert incompressible(http) == (coding is not None or media_type == "image/jpeg")
        record = writer.create_warc_record("http://127.0.0.1/x", "response", payload=io.BytesIO(body),
                                           length=len(body), http_headers=http)
        lengths.append(writer.write_record(record))
    assert len(picture) < lengths[0] < len(picture) + 1000  # stored: the bytes plus headers
    assert lengths[2] < len(page) / 20  # HTML still compressed
    out.seek(0)
    read = [(r.http_headers.get_header("Content-Type"), r.raw_stream.read()) for r in ArchiveIterator(out)]
    assert [body for _, body in read] == [body for _, _, body in cases]
