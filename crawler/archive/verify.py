"""``scrapy verify``: the archive's fsck, as archivists run ``warcio check`` or ``bagit validate``.
No Scrapy: OUTPUT_DIR in, the problems found out. It reads only (no lock, nothing written), so it
may run beside a crawl: a file no manifest lists yet is no part of the archive and is not read.

What it checks, for a consumer who reads OUTPUT_DIR as README says:

- every manifest under ``runs/`` parses; the ``seq`` in its name is the one it holds; no ``seq``
  is used twice and none is missing (1, 2, 3 …: a missing one is a lost commit);
- every ``records`` range matches its ``bytes``, ``sha256`` and ``records``
  (``crawler.run.manifests.read_range``, the one place a committed range is read), and no two
  committed ranges of a file overlap (a record would reach the consumer twice);
- every listed WARC, CDXJ and WACZ file has the size and SHA-256 its manifest gives;
- every record's ``warc`` pointer (and each ``images[].warc``, ``attachments[].warc``) leads into a
  WARC file listed by the same or an earlier manifest, to a ``response`` record (never a
  ``revisit``) with the pointer's record id, for the record's (the requisite's) URL;
- every ``revisit`` record of a listed WARC file refers (``WARC-Refers-To``) to a response record
  the archive holds, for the URL it names (``WARC-Refers-To-Target-URI``).

Each file is read once: a WARC file is hashed as its records are iterated, the pointers into it
and its revisits checked on the way; CDXJ and WACZ files are hashed; a records range is read once.
Records committed elsewhere (a remote feed: no local ``file``) are counted, not checked.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import IO, Any

from warcio.archiveiterator import ArchiveIterator

from ..run import manifests

READ_BLOCK = 1 << 20
# File kinds a manifest lists with their size and SHA-256, besides records ranges.
HASHED_KINDS = ("warc", "cdxj", "wacz")
# Where a record points into the WARC archive: its own response, and its requisites'.
REQUISITE_LISTS = ("images", "attachments")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the archive: the file it is in (as the manifests name it) and what."""

    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


@dataclass
class Report:
    """What ``check`` found, and how much it read (for the summary line)."""

    problems: list[Problem] = field(default_factory=list)
    manifests: int = 0
    records: int = 0
    not_local: int = 0       # records ranges committed elsewhere (a remote feed): not checked here
    files: int = 0           # WARC, CDXJ and WACZ files checked
    pointers: int = 0
    revisits: int = 0

    def add(self, file: str, message: str) -> None:
        self.problems.append(Problem(file, message))


@dataclass(frozen=True)
class Pointer:
    """A ``warc`` pointer of a committed record, and what it must lead to."""

    record_id: str
    url: str
    owner: str   # which record holds it, for the message: "record <site>/<id> of runs/…json"


def verify(output_dir: Path) -> list[Problem]:
    """Every problem of the archive in ``output_dir``; none when it verifies."""
    return check(output_dir).problems


def check(output_dir: Path) -> Report:
    """Check the archive in ``output_dir`` (see the module docstring)."""
    report = Report()
    # A manifest missing or unparseable (not ``whole``) may be the one listing a file others point
    # or refer into: that is said once, for the manifest, not again for each pointer.
    committed, whole = _read_manifests(output_dir, report)
    listed: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)  # file -> (manifest, entry)
    listed_warcs: set[str] = set()
    pointers: dict[str, dict[int, list[Pointer]]] = defaultdict(lambda: defaultdict(list))
    unlisted: dict[str, list[str]] = defaultdict(list)  # file no manifest lists -> the pointers into it
    ranges: dict[Path, list[tuple[int, int, str]]] = defaultdict(list)
    for name, manifest in committed:
        entries = [e for e in manifest.get("files") or [] if isinstance(e, dict)]
        for entry in entries:  # a manifest's records may point into the WARC files it lists itself
            if entry.get("kind") in HASHED_KINDS and entry.get("file"):
                listed[_name(output_dir, entry["file"])].append((name, entry))
                if entry["kind"] == "warc":
                    listed_warcs.add(_name(output_dir, entry["file"]))
        for entry in entries:
            if entry.get("kind") == "records":
                for record in _records(output_dir, name, entry, ranges, report):
                    _collect_pointers(output_dir, record, name, listed_warcs, pointers, unlisted, report)
    _check_overlaps(output_dir, ranges, report)
    for file, owners in unlisted.items() if whole else ():  # else the missing manifest may list it: said once
        report.add(file, f"{len(owners)} pointers lead into this file, which no manifest lists by then (first: "
                         f"{owners[0]})")
    responses: dict[str, str] = {}  # record id -> URL, of every response record of a listed WARC file
    revisits: dict[str, list[tuple[int, str, str, str]]] = defaultdict(list)  # file -> offset, id, refers to, URL
    for name, listings in listed.items():
        report.files += 1
        kind = listings[0][1].get("kind")
        wanted = pointers.pop(name, {}) if kind == "warc" else {}
        _check_file(output_dir, name, listings, wanted, responses, revisits, report)
    for name, found in revisits.items():
        report.revisits += len(found)
        _check_revisits(name, found, responses, report, whole)
    return report


# --- manifests ---------------------------------------------------------------------------------

def _read_manifests(output_dir: Path, report: Report) -> tuple[list[tuple[str, dict[str, Any]]], bool]:
    """The manifests that parse, in the order a consumer reads them (0.1.0's first, then by seq),
    and whether none is missing or unparseable; a problem for each that does not parse, and for
    each seq used twice, missing or misnamed."""
    found = []
    refs: list[tuple[Path, int | None]] = [(path, None) for path in manifests.legacy(output_dir)]
    refs += [(ref.path, ref.seq) for ref in manifests.committed(output_dir)]
    for path, seq in refs:
        name = manifests.relative_name(output_dir, path)
        report.manifests += 1
        try:
            manifest = json.loads(path.read_text("utf-8"))
            if not isinstance(manifest, dict) or not isinstance(manifest.get("files", []), list):
                raise ValueError("not a manifest (no object with a files list)")
        except (OSError, ValueError) as error:
            report.add(name, f"does not parse ({error}): its records and files are not checked; restore it from "
                             "a backup or a copy of the archive")
            continue
        if seq is not None and manifest.get("seq") != seq:
            report.add(name, f"holds seq {manifest.get('seq')!r}, its name says {seq}")
        found.append((name, manifest))
    by_seq: dict[int, list[str]] = defaultdict(list)
    for ref in manifests.committed(output_dir):
        by_seq[ref.seq].append(manifests.relative_name(output_dir, ref.path))
    for seq, names in sorted(by_seq.items()):
        if len(names) > 1:
            for name in names:
                report.add(name, f"seq {seq} is used by {len(names)} manifests ({', '.join(names)}): each "
                                 "commit has its own")
    seqs = sorted(by_seq)
    missing = sorted(set(range(1, seqs[-1] + 1)) - set(seqs)) if seqs else []
    for seq in missing:
        report.add(f"{manifests.RUNS_DIR}/", f"no manifest holds seq {seq} (seqs run 1 to {seqs[-1]}): a commit "
                                             "is missing")
    return found, len(found) == len(refs) and not missing


# --- records -----------------------------------------------------------------------------------

def _records(output_dir: Path, manifest: str, entry: dict[str, Any],
             ranges: dict[Path, list[tuple[int, int, str]]], report: Report) -> Iterator[dict[str, Any]]:
    """The records of one committed range, read and verified by ``read_range``."""
    if not entry.get("file"):
        report.not_local += 1
        return
    label = entry["file"]
    try:
        data = manifests.read_range(output_dir, entry)
    except manifests.UnreadableRecords as error:
        report.add(label, f"records range of {manifest}: {error}")
        return
    if "bytes" in entry:
        ranges[manifests.records_path(output_dir, entry).resolve()].append(
            (entry.get("offset", 0), entry.get("offset", 0) + entry["bytes"], manifest))
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
        except ValueError as error:
            report.add(label, f"record {number} of the range of {manifest} is not a record ({error})")
            continue
        report.records += 1
        yield record


def _check_overlaps(output_dir: Path, ranges: dict[Path, list[tuple[int, int, str]]], report: Report) -> None:
    """Two manifests committing the same bytes would hand their records to the consumer twice."""
    for path, spans in ranges.items():
        spans.sort()
        for (start, end, first), (next_start, _, second) in pairwise(spans):
            if next_start < end:
                report.add(manifests.relative_name(output_dir, path),
                           f"the ranges of {first} ({start}-{end}) and {second} (from {next_start}) overlap: "
                           "their records reach a consumer twice")


@lru_cache(maxsize=4096)
def _name(output_dir: Path, file: str) -> str:
    """A file as the manifests name it, whichever way it was written (0.1.0 wrote absolute paths)."""
    path = Path(file)
    return manifests.relative_name(output_dir, path if path.is_absolute() else output_dir / path)


def _collect_pointers(output_dir: Path, record: dict[str, Any], manifest: str, listed_warcs: set[str],
                      pointers: dict[str, dict[int, list[Pointer]]], unlisted: dict[str, list[str]],
                      report: Report) -> None:
    """Note where the record's pointers lead, to be checked as the WARC files are read."""
    owner = f"record {record.get('site')}/{record.get('id')} of {manifest}"
    found = [("warc", record.get("warc"), record.get("url"))]
    for key in REQUISITE_LISTS:
        items = record.get(key) or []
        found += [(f"{key}[{i}].warc", item.get("warc"), item.get("url"))
                  for i, item in enumerate(items) if isinstance(item, dict)]
    for where, pointer, url in found:
        if pointer is None:
            continue
        report.pointers += 1
        try:
            file, offset, record_id = pointer["file"], int(pointer["offset"]), str(pointer["record_id"])
            file = _name(output_dir, file)
        except (KeyError, TypeError, ValueError):
            report.add(manifest, f"{owner}: {where} is not a pointer ({pointer!r})")
            continue
        if file not in listed_warcs:
            unlisted[file].append(f"{owner}: {where}")
            continue
        pointers[file][offset].append(Pointer(record_id, str(url), f"{owner}: {where}"))


# --- files -------------------------------------------------------------------------------------

class _HashingReader:
    """A file read once: what goes through it is hashed and counted (``tell`` for warcio)."""

    def __init__(self, handle: IO[bytes]):
        self.handle = handle
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.sha256.update(data)
        self.size += len(data)
        return data

    def tell(self) -> int:
        return self.size

    def drain(self) -> None:
        while self.read(READ_BLOCK):
            pass


def _check_file(output_dir: Path, name: str, entries: list[tuple[str, dict[str, Any]]],
                wanted: dict[int, list[Pointer]], responses: dict[str, str],
                revisits: dict[str, list[tuple[int, str, str, str]]], report: Report) -> None:
    """Hash a listed file once against its manifest entries; a WARC file's records on the way."""
    path = Path(name) if Path(name).is_absolute() else output_dir / name
    try:
        handle = path.open("rb")
    except OSError as error:
        lost = sum(len(p) for p in wanted.values())
        report.add(name, f"listed by {entries[0][0]} but cannot be read ({error.strerror or error})"
                         + (f"; {lost} record pointers lead into it" if lost else ""))
        return
    unresolved: list[str] = []
    with handle:
        reader = _HashingReader(handle)
        if entries[0][1].get("kind") == "warc":
            unresolved = _read_warc(name, reader, wanted, responses, revisits[name], report)
        reader.drain()
    digest = reader.sha256.hexdigest()
    damaged = False
    for manifest, entry in entries:
        wrong = []
        if "bytes" in entry and entry["bytes"] != reader.size:
            wrong.append(f"{reader.size} bytes, not {entry['bytes']}")
        if entry.get("sha256") and entry["sha256"] != digest:
            wrong.append(f"SHA-256 {digest}, not {entry['sha256']}")
        if wrong:
            damaged = True
            report.add(name, f"does not match its entry in {manifest}: {'; '.join(wrong)}")
    if damaged and len(unresolved) > 1:  # one cause, said above: its consequence in one line
        report.add(name, f"{len(unresolved)} record pointers into it do not resolve (first: {unresolved[0]})")
    else:
        for message in unresolved:
            report.add(name, message)


def _read_warc(name: str, reader: _HashingReader, wanted: dict[int, list[Pointer]], responses: dict[str, str],
               revisits: list[tuple[int, str, str, str]], report: Report) -> list[str]:
    """Iterate a WARC file's records: note responses and revisits; what is wrong with the pointers
    into it."""
    unresolved = []
    records = ArchiveIterator(reader)
    offset = 0
    try:
        for record in records:
            offset = records.get_record_offset()
            headers = record.rec_headers
            record_id = headers.get_header("WARC-Record-ID") or ""
            url = headers.get_header("WARC-Target-URI") or ""
            if record.rec_type == "response":
                responses[record_id] = url
            elif record.rec_type == "revisit":
                revisits.append((offset, record_id, headers.get_header("WARC-Refers-To") or "",
                                 headers.get_header("WARC-Refers-To-Target-URI") or ""))
            for pointer in wanted.pop(offset, ()):
                if record.rec_type != "response":
                    unresolved.append(f"{pointer.owner} points at offset {offset}, a {record.rec_type} record, "
                                      "not a response")
                elif record_id != pointer.record_id:
                    unresolved.append(f"{pointer.owner} points at offset {offset}, record {record_id}, not "
                                      f"{pointer.record_id}")
                elif url != pointer.url:
                    unresolved.append(f"{pointer.owner} points at offset {offset}, a response for {url}, not "
                                      f"for {pointer.url}")
            offset = records.get_record_offset() + records.get_record_length()
    except Exception as error:  # a torn gzip member, a bad header: the rest of the file is unread
        report.add(name, f"cannot be read past offset {offset} ({type(error).__name__}: {error})")
    for at, lost in sorted(wanted.items()):
        unresolved += [f"{pointer.owner} points at offset {at}, where no record of this file begins"
                       for pointer in lost]
    return unresolved


def _check_revisits(name: str, found: list[tuple[int, str, str, str]], responses: dict[str, str], report: Report,
                    whole: bool) -> None:
    """Each revisit of a WARC file refers to a response record of the archive, for its URL."""
    gone = [(offset, record_id, refers_to) for offset, record_id, refers_to, _ in found if refers_to not in responses]
    if gone:
        offset, record_id, refers_to = gone[0]
        why = ("its WARC file gone, damaged or listed by no manifest" if whole
               else "a missing or unparseable manifest may list it")
        report.add(name, f"{len(gone)} revisit records refer to a record the archive does not hold ({why}); first: "
                         f"{record_id} at offset {offset} refers to {refers_to}")
    for offset, record_id, refers_to, url in found:
        if refers_to in responses and url and responses[refers_to] != url:
            report.add(name, f"revisit {record_id} at offset {offset} refers to {refers_to}, a response for "
                             f"{responses[refers_to]}, not for {url}")
