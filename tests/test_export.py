"""``scrapy export``: the committed runs folded into one dataset, checked against the record stream.

One crawl sequence on the fixture site (module-scoped, the real ``scrapy crawl`` in a subprocess)
emits every status: new, then modified and deleted (a 404 and a redirect to the home page), then
restored. ``scrapy export`` runs after the second crawl and again after the third; every table of
its three outputs is compared with what tests/consumer.py reads, folded here as README says, each
output read as README tells a consumer to (the Parquet tables as datasets; an article's current row
the one with the greatest ``last_position``).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crawler.export import cli, fold, outputs, run
from crawler.export.store import ArchiveStore
from crawler.export.tables import ARTICLE_COLUMNS, RECORD_COLUMNS, REVISION_COLUMNS
from crawler.items import RECORD_FIELDS
from tests import consumer
from tests.fixture_server import FixtureSite, Resource
from tests.test_revisions import EDITED, HTML, edit
from tests.utils.cmdline import scrapy_export
from tests.utils.crawl import run_crawl
from tests.utils.files import files_under

GONE = "/scyw/20250829/2992286.html"  # a 404, then back: deleted, restored
TO_HOME = "/azsf/20220418/2620987.html"  # redirected to the home page: deleted, stays deleted
TABLES = ("articles", "revisions")


@dataclass
class Exported:
    stdout: str
    folder: Path  # a copy of the export folder as this export left it
    seq: int  # the last manifest committed when it ran


@dataclass
class Archive:
    out: Path
    first: Exported
    second: Exported


def export(out: Path, *args: str):
    """The real ``scrapy export`` in a subprocess."""
    done = scrapy_export(out, *args)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def export_here(capsys, out: Path, *args: str) -> tuple[int, str, str]:
    """The same command line in this process (``sichuanpeace-export``): exit code, stdout, stderr."""
    code = cli.main([str(out), *args])
    printed = capsys.readouterr()
    return code, printed.out, printed.err


def crawl(site: FixtureSite, out: Path, *args: str) -> None:
    result = run_crawl(site.base_url, out, *args)
    assert result.returncode == 0, result.log[-2000:]


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Archive:
    out = tmp_path_factory.mktemp("export-crawl")
    copies = tmp_path_factory.mktemp("export-copies")
    with FixtureSite() as site:
        crawl(site, out)
        gone = site.resources[GONE]
        edit(site, EDITED, "来源:广元日报", "来源:四川法治报")
        site.put(GONE, None)
        site.put(TO_HOME, Resource(302, {**HTML, "Location": "/"}, b""))
        crawl(site, out, "-a", "recheck=all")
        first = Exported(export(out).stdout, copies / "first", consumer.manifests(out)[-1]["seq"])
        shutil.copytree(out / "export", first.folder)
        site.put(GONE, gone)
        crawl(site, out, "-a", "recheck=all")
        second = Exported(export(out).stdout, copies / "second", consumer.manifests(out)[-1]["seq"])
        shutil.copytree(out / "export", second.folder)
    return Archive(out, first, second)


# --- what the tables must hold, folded here from the consumer's stream -----------------------------

def stream(out: Path, up_to_seq: int | None = None) -> list[dict]:
    """Every committed record with where it was committed (position, seq, run_id), in order."""
    rows: list[dict] = []
    for manifest in consumer.manifests(out):
        if up_to_seq is not None and manifest["seq"] > up_to_seq:
            break
        assert manifest["final"], "one slice per run here: a run's records are its manifest's"
        for record in consumer.records(out, manifest["run_id"]):
            rows.append({"position": len(rows), "seq": manifest["seq"], "run_id": manifest["run_id"], **record})
    return rows


def expected_articles(revisions: list[dict]) -> list[dict]:
    """One row per (site, id), in order of first sight: the latest record with content, flagged
    deleted when the latest record is a deletion (README's "The archive as one dataset")."""
    by_key: dict[tuple[str, str], list[dict]] = {}
    for row in revisions:
        by_key.setdefault((row["site"], row["id"]), []).append(row)
    articles = []
    for history in by_key.values():
        latest = history[-1]
        with_content = [r for r in history if r["status"] != "deleted"]
        content = with_content[-1] if with_content else latest
        deleted = latest["status"] == "deleted"
        articles.append({
            **{name: content[name] for name in RECORD_FIELDS},
            "url": content["url"], "status": latest["status"], "revision": latest["revision"],
            "first_seen": history[0]["first_seen"], "deleted": deleted,
            "deleted_at": latest["fetched_at"] if deleted else None, "last_seen": latest["fetched_at"],
            "revisions": len(history), "first_seq": history[0]["seq"], "last_seq": latest["seq"],
            "last_run_id": latest["run_id"], "last_position": latest["position"]})
    return sorted(articles, key=by_article)


def by_article(row: dict) -> tuple[str, str]:
    return row["site"], row["id"]


def without_absent_warc(rows: list[dict]) -> list[dict]:
    """Images and attachments with ``warc: null`` where a record leaves it out (Parquet's struct has the field)."""
    return [{**row, **{name: [{**entry, "warc": entry.get("warc")} for entry in row[name]]
                       for name in ("images", "attachments") if row.get(name) is not None}} for row in rows]


# --- reading each format, independently of crawler.export, as README tells a consumer ----------------

def current(rows: list[dict]) -> list[dict]:
    """README's rule for ``articles`` in JSONL and Parquet: of each (site, id), the row with the
    greatest ``last_position``."""
    latest: dict[tuple[str, str], dict] = {}
    for row in rows:
        if by_article(row) not in latest or row["last_position"] > latest[by_article(row)]["last_position"]:
            latest[by_article(row)] = row
    return sorted(latest.values(), key=by_article)


def read_jsonl(folder: Path, table: str) -> list[dict]:
    lines = (folder / f"{table}.jsonl").read_text("utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    return rows if table == "revisions" else current(rows)


def _iso(value: datetime) -> str:
    text = value.isoformat()
    return text[:-6] + "Z" if value.utcoffset() == timezone.utc.utcoffset(None) and text.endswith("+00:00") else text


def read_parquet(folder: Path, table: str) -> list[dict]:
    """The dataset ``<table>/`` (a file per fold) as one table."""
    rows = pq.read_table(folder / table).to_pylist()
    rows = [{k: _iso(v) if isinstance(v, datetime) else v for k, v in row.items()} for row in rows]
    return sorted(rows, key=lambda row: row["position"]) if table == "revisions" else current(rows)


def read_sqlite(folder: Path, table: str) -> list[dict]:
    order = "position" if table == "revisions" else "site, id"
    with closing(sqlite3.connect(folder / "archive.sqlite")) as db:  # closed: WAL files gone with it
        db.row_factory = sqlite3.Row
        rows = [dict(row) for row in db.execute(f"SELECT * FROM {table} ORDER BY {order}")]
    for row in rows:
        for name in ("images", "attachments", "encoding", "warc"):
            row[name] = json.loads(row[name]) if row[name] is not None else None
        if "deleted" in row:
            row["deleted"] = bool(row["deleted"])
    return rows


READERS = {"jsonl": read_jsonl, "parquet": read_parquet, "sqlite": read_sqlite}


# --- the tests --------------------------------------------------------------------------------------

def test_the_crawls_emitted_every_status(archive):
    revisions = stream(archive.out)
    statuses = [(r["id"], r["status"]) for r in revisions if r["status"] != "new"]
    assert sorted(statuses) == [("2620987", "deleted"), ("2868001", "modified"), ("2992286", "deleted"),
                                ("2992286", "restored")]


@pytest.mark.parametrize("fmt", sorted(READERS))
@pytest.mark.parametrize("table", TABLES)
def test_each_table_of_each_output_agrees_with_the_record_stream(archive, fmt, table):
    revisions = stream(archive.out)
    expected = revisions if table == "revisions" else expected_articles(revisions)
    found = READERS[fmt](archive.second.folder, table)
    if fmt == "parquet":
        expected = without_absent_warc(expected)
    assert len(found) == len(expected)
    for got, want in zip(found, expected, strict=True):
        assert got == want, (table, fmt, want["id"])


@pytest.mark.parametrize("fmt", sorted(READERS))
def test_the_first_export_held_the_stream_as_it_was(archive, fmt):
    revisions = stream(archive.out, up_to_seq=archive.first.seq)
    assert READERS[fmt](archive.first.folder, "revisions") == (
        without_absent_warc(revisions) if fmt == "parquet" else revisions)
    articles = {(a["site"], a["id"]): a for a in READERS[fmt](archive.first.folder, "articles")}
    assert articles[("127.0.0.1", "2992286")]["deleted"] is True
    assert articles[("127.0.0.1", "2992286")]["title"]  # a deleted article keeps its last content


def test_a_deleted_article_keeps_its_content_flagged_and_a_restored_one_is_live(archive):
    articles = {a["id"]: a for a in read_jsonl(archive.second.folder, "articles")}
    first = {r["id"]: r for r in stream(archive.out) if r["status"] == "new"}
    deleted = articles["2620987"]
    assert (deleted["deleted"], deleted["status"], deleted["revision"]) == (True, "deleted", 1)
    assert deleted["body"] == first["2620987"]["body"] and deleted["deleted_at"] == deleted["last_seen"]
    restored = articles["2992286"]
    assert (restored["deleted"], restored["status"], restored["revision"], restored["revisions"]) == (
        False, "restored", 2, 3)
    assert restored["deleted_at"] is None and restored["first_seen"] == first["2992286"]["first_seen"]
    assert articles["2868001"]["source"] == "四川法治报" and articles["2868001"]["revision"] == 2


def test_parquet_columns_are_typed(archive):
    schema = pq.read_schema(next((archive.second.folder / "articles").glob("*.parquet")))
    assert schema.field("published_at").type == pa.timestamp("us", tz="Asia/Shanghai")
    assert schema.field("fetched_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("deleted").type == pa.bool_()
    images = schema.field("images").type
    assert pa.types.is_list(images) and pa.types.is_struct(images.value_type)
    assert [f.name for f in images.value_type] == ["url", "caption", "warc"]
    assert pq.read_schema(next((archive.second.folder / "revisions").glob("*.parquet"))).names == [
        c.name for c in REVISION_COLUMNS]


def test_the_second_export_read_only_the_new_manifest(archive):
    manifests = consumer.manifests(archive.out)
    assert archive.first.stdout.startswith(f"Folded 2 of 2 manifests ({len(stream(archive.out, archive.first.seq))} "
                                           "records), built from nothing: no database yet")
    new_records = len(stream(archive.out)) - len(stream(archive.out, archive.first.seq))
    assert new_records == 1  # the restored article
    assert archive.second.stdout.startswith(f"Folded 1 of {len(manifests)} manifests (1 record) into")
    with closing(sqlite3.connect(archive.second.folder / "archive.sqlite")) as db:
        folded = list(db.execute("SELECT seq, run_id, records, first_position FROM folded ORDER BY ord"))
    assert [(seq, run_id) for seq, run_id, _, _ in folded] == [(m["seq"], m["run_id"]) for m in manifests]
    assert [records for _, _, records, _ in folded] == [m["records"] for m in manifests]
    assert "articles: 21 rows (deleted 1, modified 1, new 18, restored 1)" in archive.second.stdout


def test_an_export_with_nothing_new_reads_and_writes_nothing(archive, tmp_path, capsys):
    folder = tmp_path / "export"
    shutil.copytree(archive.second.folder, folder)
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*")}
    code, stdout, _ = export_here(capsys, archive.out, "--out", str(folder))
    assert code == 0 and stdout.startswith("Folded 0 of 3 manifests (0 records)")
    assert "Written: nothing (up to date)" in stdout
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*")} == before


def test_a_damaged_database_or_a_changed_manifest_means_a_rebuild(archive, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(archive.out, out, ignore=shutil.ignore_patterns("export", ".lock"))
    shutil.copytree(archive.first.folder, out / "export")
    (out / "export" / "archive.sqlite").write_bytes(b"not a database")
    report = run.export(out, out / "export")
    assert report.rebuilt == "the database is damaged or of another export version"
    assert read_jsonl(out / "export", "articles") == read_jsonl(archive.second.folder, "articles")

    # The last manifest folded, changed byte for byte but not in size: the tripwire sees it.
    last = sorted((out / "runs").glob("*.json"))[-1]
    text = last.read_text("utf-8")
    last.write_text(text.replace('  "seq"', ' "seq" ', 1), "utf-8")
    assert run.export(out, out / "export").rebuilt == f"manifest {last.name} changed since it was folded"
    # An earlier one, changed in size.
    earlier = sorted((out / "runs").glob("*.json"))[0]
    earlier.write_text(earlier.read_text("utf-8") + "\n", "utf-8")
    report = run.export(out, out / "export")
    assert report.rebuilt == "a manifest it folded is gone or changed" and report.folded_manifests == 3
    for fmt in READERS:
        for table in TABLES:
            assert READERS[fmt](out / "export", table) == READERS[fmt](archive.second.folder, table), (fmt, table)


def test_a_range_that_does_not_check_stops_the_export(archive, tmp_path, capsys):
    out = tmp_path / "out"
    shutil.copytree(archive.out, out, ignore=shutil.ignore_patterns("export", ".lock"))
    records_file = out / consumer.manifests(out)[0]["files"][0]["file"]
    data = records_file.read_bytes()
    records_file.write_bytes(data.replace("遂宁".encode(), "绵阳".encode(), 1))
    code, _, stderr = export_here(capsys, out)
    assert code == 1 and "does not match its sha256" in stderr
    assert not (out / "export" / "archive.sqlite").exists()


def test_search_finds_a_chinese_phrase_with_a_snippet(archive, capsys):
    done = export(archive.out, "--search", "政法队伍")
    lines = done.stdout.splitlines()
    assert lines[0] == "遂宁市政法队伍教育整顿综述"
    assert lines[1].strip().startswith("http://127.0.0.1:") and "/scyw/20211103/2541288.html" in lines[1]
    assert "2021-11-03T10:00:08+08:00" in lines[1]
    assert "«政法队伍»" in lines[2]
    assert lines[-1] == "1 article matching '政法队伍' (full-text index)"
    # Two characters are shorter than a trigram: scanned, same marks.
    code, stdout, _ = export_here(capsys, archive.out, "--search", "政法", "--limit", "2")
    hits = stdout.split("\n\n")[:-1]
    assert code == 0 and len(hits) == 2 and all("«政法»" in hit.splitlines()[2] for hit in hits)
    assert stdout.splitlines()[-1].startswith("2 articles matching '政法' (a scan")


def test_the_export_takes_no_crawl_lock_and_writes_only_its_folder(archive, tmp_path, capsys):
    out = tmp_path / "out"
    shutil.copytree(archive.out, out, ignore=shutil.ignore_patterns("export", ".lock"))
    before = contents(out)
    with (out / ".lock").open("a+") as crawl_lock:  # as a running crawl holds it
        fcntl.flock(crawl_lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        export(out)
        with (out / "export" / ".export.lock").open("a") as export_lock:  # another export running
            fcntl.flock(export_lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            code, _, stderr = export_here(capsys, out)
    assert code == 3 and "another export" in stderr
    after = contents(out)
    assert after.pop(".lock") == b"" and {k: v for k, v in after.items() if not k.startswith("export/")} == before
    seq = consumer.manifests(out)[-1]["seq"]
    assert sorted(k for k in after if k.startswith("export/")) == [
        "export/.export.lock", "export/archive.sqlite", "export/articles.jsonl",
        f"export/articles/part-00000001-{seq:08d}.parquet", "export/revisions.jsonl",
        f"export/revisions/part-00000001-{seq:08d}.parquet"]


def contents(directory: Path) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in files_under(directory)}


def test_bad_options_are_refused(archive, capsys):
    done = scrapy_export(archive.out, "--format", "xml")
    assert (done.returncode, done.stdout) == (1, "") and "--format takes jsonl, parquet, sqlite" in done.stderr
    done = scrapy_export(archive.out, "extra")
    assert done.returncode == 2 and "scrapy export takes no arguments" in done.stderr
    refused = (1, "", "sichuanpeace export: --limit must be 1 or more; got 0\n")
    assert export_here(capsys, archive.out, "--limit", "0") == refused
    assert export_here(capsys, archive.out, "--search", " ") == (1, "", "sichuanpeace export: --search needs a term\n")


# --- in process: a fold appends; a kill mid-export; the fold itself ----------------------------------

def parquet_parts(folder: Path) -> dict[str, bytes]:
    return {f"{p.parent.name}/{p.name}": p.read_bytes() for p in sorted(folder.glob("*/*.parquet"))}


def test_a_fold_appends_and_leaves_what_was_written_as_it_was(archive):
    first, second = archive.first.folder, archive.second.folder
    for name in ("articles.jsonl", "revisions.jsonl"):
        before, after = (first / name).read_bytes(), (second / name).read_bytes()
        assert after.startswith(before) and len(after) > len(before), name
    # The restored article's new row, appended to the articles' change log; its old row stays above it.
    appended = (second / "articles.jsonl").read_bytes()[len((first / "articles.jsonl").read_bytes()):]
    assert [(row["id"], row["status"]) for row in map(json.loads, appended.splitlines())] == [
        ("2992286", "restored")]
    parts_before, parts_after = parquet_parts(first), parquet_parts(second)
    assert parts_before and {name: parts_after[name] for name in parts_before} == parts_before
    seq = archive.second.seq
    assert sorted(set(parts_after) - set(parts_before)) == [
        f"articles/part-{seq:08d}-{seq:08d}.parquet", f"revisions/part-{seq:08d}-{seq:08d}.parquet"]


@pytest.mark.parametrize("fmt", sorted(READERS))
@pytest.mark.parametrize("table", TABLES)
def test_the_reading_rule_gives_what_a_build_from_nothing_gives(archive, tmp_path, fmt, table, capsys):
    folder = tmp_path / "rebuilt"
    code, stdout, _ = export_here(capsys, archive.out, "--out", str(folder))
    assert code == 0 and "built from nothing: no database yet" in stdout
    assert READERS[fmt](archive.second.folder, table) == READERS[fmt](folder, table)
    # Built from nothing, an output holds each article once.
    if fmt == "jsonl":
        assert len((folder / "articles.jsonl").read_text("utf-8").splitlines()) == len(read_jsonl(folder, "articles"))


class Killed(BaseException):
    """A kill at one step of an export (BaseException: nothing catches it)."""


def _kill_when_recording(monkeypatch, output_name: str) -> None:
    """A kill after an output's bytes are written, before the database records them."""
    record = ArchiveStore.set_output

    def killed(self, name, held):
        if name == output_name:
            raise Killed
        record(self, name, held)
    monkeypatch.setattr(ArchiveStore, "set_output", killed)


def _kill_mid_line(monkeypatch, output_name: str) -> None:
    """A kill halfway through a line of a JSONL file: a torn line at its end."""
    write = outputs.write_jsonl

    def torn(chunks, handle):
        write(chunks, handle)
        if Path(handle.name).name == output_name:
            handle.write(b'{"position":9')
            handle.flush()
            raise Killed
    monkeypatch.setattr(outputs, "write_jsonl", torn)


def _kill_in_the_fold(monkeypatch, _output_name: str) -> None:
    """A kill inside the fold's transaction, after the records are in, before the manifest is marked."""
    def killed(self, *args):
        raise Killed
    monkeypatch.setattr(ArchiveStore, "mark_folded", killed)


KILLS = {"recording": _kill_when_recording, "mid_line": _kill_mid_line, "fold": _kill_in_the_fold}
KILLED_OUTPUTS = [("recording", name) for name in ("articles.jsonl", "revisions.jsonl", "articles", "revisions")] + [
    ("mid_line", "articles.jsonl"), ("mid_line", "revisions.jsonl"), ("fold", "archive.sqlite")]


@pytest.mark.parametrize(("kill", "output_name"), KILLED_OUTPUTS)
def test_a_kill_mid_fold_leaves_a_correct_export_after_the_next_run(archive, tmp_path, monkeypatch, kill,
                                                                     output_name):
    out = tmp_path / "out"
    shutil.copytree(archive.out, out, ignore=shutil.ignore_patterns("export", ".lock"))
    shutil.copytree(archive.first.folder, out / "export")
    KILLS[kill](monkeypatch, output_name)
    with pytest.raises(Killed):
        run.export(out, out / "export")
    monkeypatch.undo()
    left = out / "export" / output_name
    if kill == "recording" and left.is_file():  # appended whole lines the database does not hold yet
        assert left.stat().st_size > (archive.first.folder / output_name).stat().st_size
    elif kill == "mid_line":
        assert not left.read_bytes().endswith(b"\n")
    elif kill == "recording":  # a part file in place the database does not list
        assert len(list(left.glob("*.parquet"))) == 2
    report = run.export(out, out / "export")
    assert report.rebuilt is None
    assert report.folded_manifests == (1 if kill == "fold" else 0)
    # The export as a fold without a kill left it: the same bytes, the same parts, the same rows.
    for name in ("articles.jsonl", "revisions.jsonl"):
        assert (out / "export" / name).read_bytes() == (archive.second.folder / name).read_bytes(), name
    assert parquet_parts(out / "export") == parquet_parts(archive.second.folder)
    assert not [p for p in (out / "export").rglob(".*") if p.name != ".export.lock"]
    for fmt in READERS:
        for table in TABLES:
            assert READERS[fmt](out / "export", table) == READERS[fmt](archive.second.folder, table), (fmt, table)


@pytest.mark.parametrize("killed", [False, True], ids=["whole", "killed_before_recording"])
def test_an_output_shorter_than_recorded_is_written_whole(archive, tmp_path, monkeypatch, killed):
    out = tmp_path / "out"
    shutil.copytree(archive.out, out, ignore=shutil.ignore_patterns("export", ".lock"))
    shutil.copytree(archive.second.folder, out / "export")
    (out / "export" / "revisions.jsonl").write_bytes(b"")
    (out / "export" / "articles.jsonl").unlink()
    (out / "export" / "articles" / os.listdir(out / "export" / "articles")[0]).unlink()
    if killed:  # the file rewritten whole is longer than its old recorded length: never cut back to it
        with closing(sqlite3.connect(out / "export" / "archive.sqlite")) as db, db:
            db.execute("UPDATE outputs SET bytes = 10 WHERE name = 'articles.jsonl'")
        _kill_when_recording(monkeypatch, "articles.jsonl")
        with pytest.raises(Killed):
            run.export(out, out / "export")
        monkeypatch.undo()
    report = run.export(out, out / "export")
    assert sorted(report.written) == ["articles", "articles.jsonl", "revisions.jsonl"]
    for fmt in READERS:
        for table in TABLES:
            assert READERS[fmt](out / "export", table) == READERS[fmt](archive.second.folder, table), (fmt, table)


def test_a_version_1_export_folder_is_built_again_in_the_new_layout(archive, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(archive.out, out, ignore=shutil.ignore_patterns("export", ".lock"))
    shutil.copytree(archive.second.folder, out / "export")
    with closing(sqlite3.connect(out / "export" / "archive.sqlite")) as db, db:
        db.execute("UPDATE export_meta SET value = '1' WHERE key = 'export_schema_version'")
    for name in outputs.VERSION_1_FILES:
        (out / "export" / name).write_bytes(b"version 1")
    report = run.export(out, out / "export", ("sqlite", "jsonl"))
    assert report.rebuilt == "the database is damaged or of another export version"
    left = sorted(p.name for p in (out / "export").iterdir())
    assert left == [".export.lock", "archive.sqlite", "articles.jsonl", "revisions.jsonl"]
    assert read_jsonl(out / "export", "articles") == read_jsonl(archive.second.folder, "articles")


def test_the_tables_carry_every_record_field():
    assert [c.name for c in RECORD_COLUMNS] == list(RECORD_FIELDS)
    assert [c.name for c in ARTICLE_COLUMNS][:len(RECORD_FIELDS)] == list(RECORD_FIELDS)


def test_fold_new_deleted_restored(tmp_path):
    store = ArchiveStore.create(tmp_path / "archive.sqlite")

    def fold_one(position: int, status: str, revision: int, when: str, **content) -> dict:
        fields = dict.fromkeys(RECORD_FIELDS)
        fields.update(site="s", id="1", url="http://s/1", status=status, revision=revision, fetched_at=when,
                      first_seen="T0", **content)
        store.add_records([json.dumps(fields)], position, position + 1, "r")
        folded = store.article("s", "1")
        assert folded is not None
        return folded
    row = fold_one(0, "new", 1, "T0", title="a", body="x", images=[{"url": "u", "caption": "c"}])
    assert (row["title"], row["deleted"], row["revisions"], row["first_seq"]) == ("a", False, 1, 1)
    row = fold_one(1, "deleted", 1, "T1")
    assert (row["title"], row["body"], row["deleted"], row["deleted_at"]) == ("a", "x", True, "T1")
    assert (row["status"], row["revision"], row["last_seq"], row["last_position"]) == ("deleted", 1, 2, 1)
    # The capture its content is from.
    assert row["fetched_at"] == "T0" and row["images"] == [{"url": "u", "caption": "c"}]
    row = fold_one(2, "restored", 2, "T2", title="b", body="y")
    assert (row["title"], row["deleted"], row["deleted_at"], row["images"]) == ("b", False, None, None)
    assert (row["status"], row["revision"], row["revisions"], row["first_seq"]) == ("restored", 2, 3, 1)
    store.close()
    assert fold.pending([], []) == [] and fold.pending([fold.ManifestKey(1, "r", "n", 5)], []) is None


@pytest.mark.parametrize("block_bytes", [1, 7, 64, 1 << 20])
def test_lines_read_back_from_a_jsonl_file_come_whole(tmp_path, monkeypatch, block_bytes):
    from crawler.export import jsonl
    monkeypatch.setattr(jsonl, "BLOCK_BYTES", block_bytes)
    lines = [json.dumps({"n": n, "body": "政法" * n}, ensure_ascii=False).encode() + b"\n" for n in range(12)]
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"".join(lines))
    start, end = len(lines[0]), sum(map(len, lines[:-1]))
    blocks = list(jsonl.blocks_of(path, start, end))
    assert b"".join(blocks) == b"".join(lines[1:-1]) and all(block.endswith(b"\n") for block in blocks)
