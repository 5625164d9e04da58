"""A WACZ, no Scrapy: WARC files, their CDXJ index, pages and a datapackage with the SHA-256 of
each, in the layout py-wacz writes (WACZ 1.1.1) and ReplayWeb.page opens.

Two callers. ``scrapy export --format wacz`` (``crawler.export.wacz``) makes one on demand for any
range of committed runs, each file checked against its manifest as it is packed: the way a WACZ is
delivered, since the archive then keeps one copy of each byte (its WARC files). With
``WACZ_ENABLED`` (off by default) the run's final commit (``crawler.run.commit``) calls
:func:`build_run_wacz` once the final slice's WARC files are sealed and its records stored, and
lists the file in the final manifest (``"kind": "wacz"``, with its size and SHA-256). Either WACZ
holds every WARC file its manifests list, plus any earlier run's file holding a requisite (an
image) one of its records points at, so it replays alone. Its pages list (``pages/pages.jsonl``)
names each article record with its title and capture time. It is written hidden
(``.<name>.open``) and renamed when complete.

Why not ``wacz create``: py-wacz reads every WARC record again to index it, then every entry of the
zip again to hash it; that took 7.1 s after a 2,000-article crawl (BENCHMARKS.md). Here nothing is
read twice. The index is the ``.cdxj`` the crawl wrote beside each WARC file, by cdxj-indexer's
per-record code (the library py-wacz indexes with), merged and cut into a ZipNum index by
cdxj-indexer's own ``CompressedWriter``, as py-wacz does; a run's WARC file's SHA-256 is the one
the commit about to list it holds, an exported one's is computed as it is packed and compared with
its manifest's, and the other entries are hashed as they are written. ``wacz validate`` (py-wacz)
checks the result in the tests.
"""

from __future__ import annotations

import hashlib
import heapq
import io
import json
import os
import shutil
import zipfile
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from cdxj_indexer.main import CompressedWriter
from warcio.timeutils import timestamp_to_iso_date

from ..items import STATUS_DELETED
from ..run import manifests
from ..run.files import fsync_dir, sha256_of
from ..versions import package_version

WACZ_DIR = "wacz"
WACZ_VERSION = "1.1.1"  # the version py-wacz 0.6 writes and validates
# py-wacz's pages list header (json-pages-1.0).
PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "Articles"}
INDEX_LINES_PER_BLOCK = 1024  # py-wacz's DEFAULT_NUM_LINES: lines per gzip block of the ZipNum index
COPY_BUFFER = 1024 * 1024


def wacz_name(spider: str, run_id: str) -> str:
    return f"{spider}-{run_id}.wacz"


def is_page(record: dict[str, Any]) -> bool:
    """Whether a record is a page of the WACZ's pages list: an article with an archived response."""
    return bool(record.get("warc") and record.get("status") != STATUS_DELETED and record.get("url"))


def pages_of(records: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    """The pages list: each article record that has an archived response, once, with its title."""
    pages: dict[str, dict[str, str]] = {}
    for record in records:
        if is_page(record):
            pages.setdefault(record["url"], {"url": record["url"], "title": record.get("title") or record["url"]})
    return list(pages.values())


def pointed_files(record: dict[str, Any]) -> list[str]:
    """The WARC files (as records name them, relative to OUTPUT_DIR) a record and its images and
    attachments point into."""
    pointers = [record.get("warc")] + [r.get("warc") for r in [*(record.get("images") or []),
                                                               *(record.get("attachments") or [])]]
    return [p["file"] for p in pointers if p and p.get("file")]


def warc_files_of(output_dir: Path, listed: Iterable[str], records: Iterable[dict[str, Any]]) -> list[Path]:
    """The WARC files for the WACZ: those listed (relative to OUTPUT_DIR), and those the records or
    their images and attachments point at; each once, existing, in order."""
    names = dict.fromkeys(listed)  # ordered, each once
    for record in records:
        names.update(dict.fromkeys(pointed_files(record)))
    return [output_dir / name for name in names if (output_dir / name).is_file()]


class DamagedFile(Exception):
    """A file to pack whose bytes are not those its manifest lists (size or SHA-256)."""


# A file's size and SHA-256 as its manifest lists them: what its bytes must be to be packed.
Expected = tuple[int, str]


def _check(path: Path, expected: Expected | None, size: int, sha256: str) -> None:
    if expected is not None and (size, sha256) != expected:
        what = (f"{size} bytes, not {expected[0]}" if size != expected[0]
                else f"sha256 {sha256[:12]}…, not {expected[1][:12]}…")
        raise DamagedFile(f"{path} is not the file its manifest lists ({what}): damaged or replaced since it "
                          "was committed")


def _lines_checked(path: Path, expected: Expected | None) -> Iterator[str]:
    """A sorted ``.cdxj`` index's lines, its bytes checked against ``expected`` once all are read."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        for raw in handle:
            digest.update(raw)
            size += len(raw)
            yield raw.decode("utf-8")
    _check(path, expected, size, digest.hexdigest())


def _index_lines(index_files: list[Path], expected: dict[Path, Expected]) -> Iterator[str]:
    """The lines of the WARC files' sorted ``.cdxj`` indexes, merged in sort order (cdxj-indexer
    sorts a file's lines as strings; so does the merge); each file checked as it is read."""
    yield from heapq.merge(*(_lines_checked(path, expected.get(path)) for path in index_files))


class _HashingWriter(io.RawIOBase):
    """A zip entry's stream that hashes what goes through it: the datapackage's digest without a
    second read."""

    def __init__(self, out: IO[bytes]):
        self.out = out
        self.sha256 = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.sha256.update(data)
        self.size += len(data)
        return self.out.write(data)


def _datapackage(resources: list[dict[str, Any]], title: str) -> bytes:
    package = {"profile": "data-package", "resources": resources, "title": title,
               "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
               "wacz_version": WACZ_VERSION,
               "software": f"sichuanpeace-crawler {package_version('sichuanpeace-crawler') or 'unknown'}"}
    return json.dumps(package, indent=2).encode("utf-8")


def _resource(path: str, sha256: str, size: int) -> dict[str, Any]:
    return {"name": os.path.basename(path).lower(), "path": path, "hash": f"sha256:{sha256}", "bytes": size}


def write_wacz(target: Path, warc_files: list[Path], pages: list[dict[str, Any]], title: str,
               known_sha256: dict[Path, str] | None = None, expected: dict[Path, Expected] | None = None) -> Path:
    """Write the WACZ of ``warc_files`` (each with its ``.cdxj`` beside it) with ``pages`` to
    ``target``, atomically (hidden, renamed). ``known_sha256`` spares hashing a WARC file again.

    ``expected`` holds the size and SHA-256 each WARC file and index must have (their manifest's):
    each file's bytes are hashed as they are packed (one read, no file whole in memory), so the
    bytes packed are the bytes checked, and a difference leaves no WACZ (``DamagedFile``).

    A page is ``url`` and ``title``; its ``capture`` (the WARC file's name and the record's offset,
    as the record's ``warc`` pointer says) gives its capture time from the index, else the URL's
    first capture in the WACZ does.
    """
    known_sha256 = known_sha256 or {}
    expected = expected or {}
    target.parent.mkdir(parents=True, exist_ok=True)
    hidden = target.with_name(f".{target.name}.open")
    hidden.unlink(missing_ok=True)  # left by a killed writer of this file
    resources: list[dict[str, Any]] = []
    captured: dict[str, str] = {}  # URL → its first capture's 14-digit timestamp, for the pages list
    wanted = {tuple(page["capture"]): "" for page in pages if page.get("capture")}  # (file, offset) → timestamp
    try:
        with zipfile.ZipFile(hidden, "w", allowZip64=True) as wacz:
            for path in warc_files:  # stored, as the format wants WARC files (they are gzipped)
                arcname = f"archive/{path.name}"
                info = zipfile.ZipInfo.from_file(path, arcname)
                if path in expected and info.file_size != expected[path][0]:  # before a byte is copied
                    _check(path, expected[path], info.file_size, expected[path][1])
                with path.open("rb") as source, wacz.open(info, "w") as entry:
                    hashed = path in expected or path not in known_sha256
                    hasher = _HashingWriter(entry) if hashed else None
                    shutil.copyfileobj(source, hasher or entry, COPY_BUFFER)
                digest = hasher.sha256.hexdigest() if hasher is not None else known_sha256[path]
                size = hasher.size if hasher is not None else info.file_size
                _check(path, expected.get(path), size, digest)
                resources.append(_resource(arcname, digest, size))
            index_entry = zipfile.ZipInfo("indexes/index.cdx.gz", _zip_time())
            idx = io.StringIO()
            with wacz.open(index_entry, "w") as data:
                sink = _HashingWriter(data)
                writer = CompressedWriter(idx, data_out=sink, data_out_name="index.cdx.gz",
                                          num_lines=INDEX_LINES_PER_BLOCK, digest_records=True)
                for line in _index_lines([path.with_name(path.name + ".cdxj") for path in warc_files], expected):
                    writer.write(line)
                    _, timestamp, data_fields = line.split(" ", 2)
                    fields = json.loads(data_fields)
                    if fields.get("url") and str(fields.get("status")) == "200":
                        captured.setdefault(fields["url"], timestamp)
                    if wanted and (fields.get("filename"), int(fields.get("offset", -1))) in wanted:
                        wanted[(fields["filename"], int(fields["offset"]))] = timestamp
                if writer.block:
                    writer.flush()
            resources.append(_resource("indexes/index.cdx.gz", sink.sha256.hexdigest(), sink.size))
            lines = [json.dumps(PAGES_HEADER, ensure_ascii=False)]
            for page in pages:
                page_entry = {"url": page["url"], "title": page["title"],
                              "id": hashlib.sha1(page["url"].encode()).hexdigest()[:22]}
                captured_at = wanted.get(tuple(page.get("capture") or ())) or captured.get(page["url"])
                if captured_at:
                    page_entry["ts"] = timestamp_to_iso_date(captured_at)
                lines.append(json.dumps(page_entry, ensure_ascii=False))
            for name, small in (("indexes/index.idx", idx.getvalue().encode("utf-8")),
                                ("pages/pages.jsonl", ("\n".join(lines) + "\n").encode("utf-8"))):
                _write_small(wacz, name, small)
                resources.append(_resource(name, hashlib.sha256(small).hexdigest(), len(small)))
            package = _datapackage(resources, title)
            _write_small(wacz, "datapackage.json", package)
            package_digest = {"path": "datapackage.json", "hash": "sha256:" + hashlib.sha256(package).hexdigest()}
            _write_small(wacz, "datapackage-digest.json", json.dumps(package_digest, indent=2).encode("utf-8"))
        with hidden.open("rb") as handle:
            os.fsync(handle.fileno())
    except BaseException:
        hidden.unlink(missing_ok=True)
        raise
    hidden.replace(target)
    return target


def _zip_time() -> tuple[int, int, int, int, int, int]:
    return datetime.now(timezone.utc).timetuple()[:6]


def _write_small(wacz: zipfile.ZipFile, name: str, data: bytes) -> None:
    """Index, pages and datapackage files: deflated, as py-wacz writes them."""
    info = zipfile.ZipInfo(name, _zip_time())
    info.compress_type = zipfile.ZIP_DEFLATED
    wacz.writestr(info, data)


def build_run_wacz(output_dir: Path, spider: str, run_id: str, final_entries: list[dict[str, Any]],
                   unclaimed_warcs: list[tuple[Path, str]]) -> dict[str, Any] | None:
    """The run's WACZ, from its committed slices' manifests and the final slice about to be listed
    (its records ``final_entries``, its WARC files and their SHA-256 ``unclaimed_warcs``); its
    manifest entry. None for a run that archived nothing (nothing to replay)."""
    earlier = manifests.slices_of(output_dir, run_id)
    listed = [e["file"] for m in earlier for e in m.get("files", []) if e.get("kind") == "warc"]
    final_warcs = [(path, digest) for path, digest in unclaimed_warcs
                   if manifests.warc_entry_kind(path) == "warc"]  # not their indexes
    listed += [manifests.relative_name(output_dir, path) for path, _ in final_warcs]
    known = {output_dir / e["file"]: e["sha256"] for ref in manifests.committed(output_dir)
             for e in ref.read().get("files", []) if e.get("kind") == "warc" and e.get("file") and e.get("sha256")}
    known.update(dict(final_warcs))
    records: list[dict[str, Any]] = []
    for manifest in [*earlier, {"files": [e for e in final_entries if e.get("file")]}]:
        records += manifests.read_records(output_dir, manifest)
    warc_files = warc_files_of(output_dir, listed, records)
    if not warc_files:
        return None
    target = output_dir / WACZ_DIR / wacz_name(spider, run_id)
    for stale in target.parent.glob(".*.wacz.open"):  # a killed run's, under the run lock: dead
        stale.unlink()
    write_wacz(target, warc_files, pages_of(records), f"{spider} {run_id}", known)
    fsync_dir(target.parent)
    return {"kind": "wacz", "file": manifests.relative_name(output_dir, target), "bytes": target.stat().st_size,
            "sha256": sha256_of(target)}
