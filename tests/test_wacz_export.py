"""One copy of each byte: a default crawl writes no WACZ (the archive on disk is its WARC files and
their indexes), and ``scrapy export --format wacz`` packs a WACZ of any runs on demand, from the
committed manifests, each file checked against its manifest, valid and replayable."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from warcio.timeutils import timestamp_to_iso_date

from bench.common import mirror_server
from crawler.export import cli
from tests import consumer
from tests.fixture_server import FixtureSite, Resource
from tests.test_requisites import CdxjReplay
from tests.utils.cmdline import scrapy_export
from tests.utils.crawl import run_crawl

EDITED = "/scyw/20211103/2541288.html"
OLD_TITLE, NEW_TITLE = "遂宁市政法队伍教育整顿综述", "遂宁市政法队伍教育整顿工作综述"
# The archive on disk against its WARC bytes: one copy of each byte, and small indexes (issue 20).
MAX_ARCHIVE_TO_WARC = 1.05


@dataclass
class Runs:
    out: Path
    first: str  # run ids
    second: str
    modified: dict  # the rerun's modified record: its images were captured by the first run
    site: FixtureSite


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two default crawls: the second rechecks all and finds one article's text changed (a
    ``modified`` record whose images the first run archived)."""
    out = tmp_path_factory.mktemp("wacz-export")
    with FixtureSite() as site:
        first = run_crawl(site.base_url, out)
        assert first.returncode == 0, first.log[-3000:]
        page = site.resources[EDITED]
        site.put(EDITED, Resource(page.status, page.headers, page.body.replace(OLD_TITLE.encode(), NEW_TITLE.encode())))
        second = run_crawl(site.base_url, out, "-a", "recheck=all")
        assert second.returncode == 0, second.log[-3000:]
        finals = [m["run_id"] for m in consumer.manifests(out) if m.get("final")]
        modified = [r for r in consumer.records(out, finals[1]) if r["status"] == "modified"]
        assert [r["url"].endswith(EDITED) for r in modified] == [True]
        yield Runs(out, finals[0], finals[1], modified[0], site)


def on_disk(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


def test_a_default_crawl_writes_no_wacz(runs):
    assert not (runs.out / "wacz").exists()
    assert not [e for m in consumer.manifests(runs.out) for e in m["files"] if e["kind"] == "wacz"]


def test_the_archive_on_disk_is_its_warc_bytes_and_small_indexes(tmp_path):
    """On the benchmark's mirror (article pages with their pictures, as the site has them): the
    archive (warc/: WARC files and their CDXJ indexes; wacz/) takes at most 1.05x its WARC bytes."""
    with mirror_server(30) as server:
        result = run_crawl(server.base_url, tmp_path)
    assert result.returncode == 0, result.log[-3000:]
    assert len(result.records) == 30
    warc_bytes = sum(p.stat().st_size for p in (tmp_path / "warc").glob("*.warc.gz"))
    archive_bytes = on_disk(tmp_path / "warc") + on_disk(tmp_path / "wacz")
    assert warc_bytes > 0 and archive_bytes <= MAX_ARCHIVE_TO_WARC * warc_bytes, (archive_bytes, warc_bytes)


class WaczReplay(CdxjReplay):
    """The same lookup as pywb's (``CdxjReplay``), in a WACZ: its ZipNum index, its WARC files."""

    def __init__(self, wacz: Path, unpacked: Path):
        with zipfile.ZipFile(wacz) as archive:
            archive.extractall(unpacked, [n for n in archive.namelist() if n.startswith("archive/")])
            index = gzip.decompress(archive.read("indexes/index.cdx.gz")).decode()
        self.lines = []
        for line in index.splitlines():
            key, timestamp, fields = line.split(" ", 2)
            self.lines.append((key, timestamp, {**json.loads(fields), "folder": unpacked / "archive"}))
        self.lines.sort(key=lambda line: (line[0], line[1]))
        self.keys = [line[0] for line in self.lines]


def validate(path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "wacz", "validate", "-f", str(path)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0 and "is valid" in done.stdout, done.stdout + done.stderr


def selections(runs: Runs) -> dict[str, list[str]]:
    """Ways to name the rerun (and, for --since, what committed with or after it)."""
    rerun = [m for m in consumer.manifests(runs.out) if m["run_id"] == runs.second]
    return {"runs": ["--runs", runs.second], "seq": ["--seq", f"{rerun[0]['seq']}-{rerun[-1]['seq']}"],
            "since": ["--since", rerun[0]["start"]]}


@pytest.mark.parametrize("how", ["runs", "seq", "since"])
def test_export_wacz_of_a_rerun_validates_and_replays_its_article_and_an_earlier_runs_picture(runs, tmp_path, how):
    folder = tmp_path / "export"
    done = scrapy_export(runs.out, "--format", "wacz", "--out", str(folder), *selections(runs)[how])
    assert done.returncode == 0, done.stderr[-3000:]
    made = list(folder.glob("*.wacz"))
    assert len(made) == 1 and not list(folder.glob(".*.open"))
    if how == "runs":  # the name a run's own WACZ had
        assert made[0].name == f"sichuanpeace-{runs.second}.wacz"
    assert f"WACZ written: {made[0]}" in done.stdout
    validate(made[0])
    replay = WaczReplay(made[0], tmp_path / "unpacked")
    status, body, content_type = replay.get(runs.modified["url"])
    assert status == 200 and content_type.startswith("text/html") and NEW_TITLE.encode() in body
    images = runs.modified["images"]
    assert images and all(runs.first in i["warc"]["file"] for i in images)
    for image in images:  # captured by the first run, packed with the rerun
        status, payload, content_type = replay.get(image["url"])
        assert status == 200 and content_type.startswith("image/"), image["url"]
        assert payload == runs.site.resources[urlsplit(image["url"]).path].body
    with zipfile.ZipFile(made[0]) as archive:
        pages = [json.loads(line) for line in archive.read("pages/pages.jsonl").decode().splitlines()[1:]]
    page = next(p for p in pages if p["url"] == runs.modified["url"])
    # Its capture time is the one of the capture its record points at (not the first run's).
    pointer = runs.modified["warc"]
    captured = next(timestamp for _, timestamp, fields in replay.lines
                    if fields["filename"] == Path(pointer["file"]).name and int(fields["offset"]) == pointer["offset"])
    assert page["title"] == NEW_TITLE and page["ts"] == timestamp_to_iso_date(captured) and page["id"]


def test_export_wacz_of_every_run_holds_every_article_once_in_its_pages(runs, tmp_path):
    done = scrapy_export(runs.out, "--format", "wacz", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    made = list(tmp_path.glob("*.wacz"))
    assert [p.name for p in made] == [f"sichuanpeace-{1:08d}-{consumer.manifests(runs.out)[-1]['seq']:08d}.wacz"]
    validate(made[0])
    with zipfile.ZipFile(made[0]) as archive:
        pages = [json.loads(line) for line in archive.read("pages/pages.jsonl").decode().splitlines()[1:]]
        names = set(archive.namelist())
    assert sorted(p["url"] for p in pages) == sorted({r["url"] for r in consumer.records(runs.out)})
    assert {f"archive/{Path(e['file']).name}" for m in consumer.manifests(runs.out) for e in m["files"]
            if e["kind"] == "warc"} <= names


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-10])


def _damage_earlier_warc(out: Path, runs: Runs) -> Path:
    """A WARC file of the first run holding a picture the rerun's record points at."""
    path = out / runs.modified["images"][0]["warc"]["file"]
    _flip_last_byte(path)
    return path


def _damage_rerun_index(out: Path, runs: Runs) -> Path:
    name = next(e["file"] for m in consumer.manifests(out) if m["run_id"] == runs.second for e in m["files"]
                if e["kind"] == "cdxj")
    path = out / name
    path.write_text(path.read_text("utf-8").replace("200", "404", 1), "utf-8")
    return path


def _truncate_rerun_warc(out: Path, runs: Runs) -> Path:
    name = next(e["file"] for m in consumer.manifests(out) if m["run_id"] == runs.second for e in m["files"]
                if e["kind"] == "warc")
    _truncate(out / name)
    return out / name


@pytest.mark.parametrize("damage", [_damage_earlier_warc, _damage_rerun_index, _truncate_rerun_warc],
                         ids=["earlier-warc-sha256", "cdxj-sha256", "warc-size"])
def test_a_damaged_archive_file_makes_the_wacz_export_refuse(runs, tmp_path, damage):
    out = tmp_path / "out"
    shutil.copytree(runs.out, out, ignore=shutil.ignore_patterns(".lock"))
    damaged = damage(out, runs)
    folder = tmp_path / "export"
    done = scrapy_export(out, "--format", "wacz", "--runs", runs.second, "--out", str(folder))
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(damaged) in lines[0] and "no WACZ written" in lines[0], done.stderr
    assert not [p for p in folder.rglob("*") if p.name.endswith((".wacz", ".open"))]


def test_the_default_export_writes_no_wacz(runs, tmp_path):
    done = scrapy_export(runs.out, "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "articles.jsonl").exists() and not list(tmp_path.glob("*.wacz"))


@pytest.mark.parametrize("args", [["--since", "2026-01-01"], ["--format", "jsonl", "--runs", "x"],
                                  ["--format", "wacz", "--seq", "3-1"], ["--format", "wacz", "--since", "yesterday"],
                                  ["--format", "wacz", "--runs", "20990101T000000Z-abcdef"],
                                  ["--format", "wacz", "--seq", "900-901"]])
def test_a_bad_wacz_range_exits_1_with_one_line(runs, tmp_path, capsys, args):
    code = cli.main([str(runs.out), "--out", str(tmp_path), *args])
    printed = capsys.readouterr()
    assert code == 1 and len(printed.err.strip().splitlines()) == 1, printed.err
    assert not list(tmp_path.glob("*.wacz"))
