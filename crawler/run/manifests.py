"""Manifests: ``runs/<seq>-<run id>.json``, each one a commit.

The consumer's rule (README): read the manifests in order of ``seq``, and in each the byte range
(``offset``, ``bytes``) of every ``files`` entry of ``kind`` ``records``. Each record a run emits is
in exactly one manifest. From version 3 a ``records`` range is always the archive's own copy, under
OUTPUT_DIR; a feed the user named is listed as ``delivery`` (the same records, not read back).
``seq`` only grows within an OUTPUT_DIR: the next one is the highest present plus one, read under
the run lock, so a clock set back changes nothing.

A run commits in slices; each slice writes one manifest. The run's last one has ``final: true``
and the run's verdict (``complete``, ``exit_code``, counts). A run that died is given its final
manifest by the next run (``recovered: true``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .files import write_json_atomic

logger = logging.getLogger(__name__)

RUNS_DIR = "runs"
# Where the WARC files (and their CDXJ) are, under OUTPUT_DIR.
WARC_DIR = "warc"
# 2: seq, slices, byte ranges (0.1.0 wrote runs/<run id>.json, one per run, read when complete).
# 3: the records ranges are always the archive's own copy under OUTPUT_DIR; a feed the user named
# (-O, -o, stdout:, ftp://) is a ``delivery`` entry. The consumer's rule is unchanged.
MANIFEST_VERSION = 3
NAME_RE = re.compile(r"^(\d{8,})-(.+)\.json$")


def manifest_path(output_dir: Path, seq: int, run_id: str) -> Path:
    return output_dir / RUNS_DIR / f"{seq:08d}-{run_id}.json"


class ManifestRef:
    """A manifest by its name: ``seq`` and run id, and its path (made when first asked for: a
    listing of years of runs makes thousands of refs, and most callers look at the newest few)."""

    __slots__ = ("_folder", "_name", "_path", "run_id", "seq")

    def __init__(self, seq: int, run_id: str, path: Path | None = None, *, folder: Path | None = None,
                 name: str | None = None):
        self.seq = seq
        self.run_id = run_id
        self._path = path
        self._folder = folder
        self._name = name

    @property
    def path(self) -> Path:
        if self._path is None:
            assert self._folder is not None and self._name is not None
            self._path = self._folder / self._name
        return self._path

    def read(self) -> dict[str, Any]:
        return read_manifest(self.path)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ManifestRef) and (self.seq, self.run_id, self.path) == (other.seq, other.run_id,
                                                                                        other.path)

    def __hash__(self) -> int:
        return hash((self.seq, self.run_id))

    def __repr__(self) -> str:
        return f"ManifestRef(seq={self.seq}, run_id={self.run_id!r}, path={self.path!r})"


class DamagedManifest(ValueError):
    """A file in ``runs/`` that cannot be read as a manifest. A manifest is a commit, so the archive
    is damaged: no run may start on it (recovery, the state rebuild and the revisits all read it)."""

    def __init__(self, path: Path, reason: object):
        super().__init__(f"the archive is damaged: {path} cannot be read as a manifest ({reason}). A manifest "
                         "is a commit: restore this file from a backup of OUTPUT_DIR, then run again (moving it "
                         "out of runs/ would drop the records it lists from the archive)")
        self.path = path


def read_manifest(path: Path) -> dict[str, Any]:
    """A manifest's content; ``DamagedManifest`` when it is not a JSON object with a ``files`` list."""
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as error:  # a torn or foreign file, bytes that are not UTF-8
        raise DamagedManifest(path, error) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        raise DamagedManifest(path, "not a JSON object with a files list")
    return manifest


def check_readable(output_dir: Path, after: int | None = None, listed: Listing | None = None) -> None:
    """Raise ``DamagedManifest`` for the first manifest a run must read that cannot be read:
    checked once, under the lock, before a crawl reads any of them. Those are the newest one and
    every one after ``after`` (the state's last promoted ``seq``; None: all of them, 0.1.0's too).
    An older damaged manifest is ``scrapy verify``'s to find: a run's start costs the same whatever
    the archive's age. ``listed``: ``runs/`` as the caller listed it."""
    listed = listed or listing(output_dir)
    refs = listed.refs
    paths = [*listed.legacy, *(ref.path for ref in refs)] if after is None else \
        [ref.path for ref in refs if ref.seq > after or ref is refs[-1]]
    for path in paths:
        read_manifest(path)


@dataclass
class Listing:
    """One listing of ``runs/``: the manifests in ``seq`` order, 0.1.0's, and the hidden files
    (a killed write's part files). A run's start lists the folder once and passes this on; what it
    writes there itself it adds (``add``), so no step lists again. Only names are read."""

    folder: Path
    refs: list[ManifestRef]
    legacy: list[Path]
    hidden: list[str]

    @property
    def last_seq(self) -> int:
        return self.refs[-1].seq if self.refs else 0

    def add(self, path: Path) -> None:
        """A manifest this process wrote (with the highest seq: ``last_seq`` + 1)."""
        match = NAME_RE.match(path.name)
        assert match and int(match.group(1)) > self.last_seq
        self.refs.append(ManifestRef(int(match.group(1)), match.group(2), path))

    def of_run(self, run_id: str) -> list[ManifestRef]:
        return [ref for ref in self.refs if ref.run_id == run_id]


def listing(output_dir: Path) -> Listing:
    """``runs/`` as it is now: one ``scandir``, names only (no ``Path`` or ``stat`` per file). Cron
    runs add a few names a day for years: a caller that needs the list twice passes it on."""
    folder = output_dir / RUNS_DIR
    try:
        with os.scandir(folder) as entries:
            names = [entry.name for entry in entries]
    except (FileNotFoundError, NotADirectoryError):
        names = []
    found, old, hidden = [], [], []
    for name in names:
        if name.startswith("."):
            hidden.append(name)
        elif name.endswith(".json"):
            match = NAME_RE.match(name)
            if match:
                found.append((int(match.group(1)), match.group(2), name))
            else:
                old.append(name)
    found.sort(key=lambda item: item[0])
    return Listing(folder, [ManifestRef(seq, run_id, folder=folder, name=name) for seq, run_id, name in found],
                   [folder / name for name in sorted(old)], hidden)


def committed(output_dir: Path) -> list[ManifestRef]:
    """Every manifest of OUTPUT_DIR, in ``seq`` order (from the names; they are written so)."""
    return listing(output_dir).refs


def legacy(output_dir: Path) -> list[Path]:
    """Manifests of 0.1.0 (``runs/<run id>.json``, no seq), in run-id order: read before all others."""
    return listing(output_dir).legacy


def last_seq(output_dir: Path) -> int:
    return listing(output_dir).last_seq


def write(output_dir: Path, manifest: dict[str, Any]) -> Path:
    """Write a manifest atomically under its seq: the commit point of a slice."""
    path = manifest_path(output_dir, manifest["seq"], manifest["run_id"])
    if path.exists():  # a seq is used once; the caller read the highest under the lock
        raise FileExistsError(f"manifest {path} already exists")
    write_json_atomic(path, manifest)
    return path


def relative_name(output_dir: Path, path: Path) -> str:
    """How a manifest names a file: relative to OUTPUT_DIR when inside it, else absolute."""
    try:
        return str(path.resolve().relative_to(output_dir.resolve()))
    except ValueError:
        return str(path.resolve())


def range_entry(*, kind: str, uri: str, file: str | None, records: int, offset: int, size: int,
                sha256: str) -> dict[str, Any]:
    """A ``files`` entry for a byte range of records (``file`` None: at ``uri``): ``records``, the
    archive's own copy a consumer reads; ``delivery``, the same records in a feed the user named."""
    return {"kind": kind, "uri": uri, "file": file, "records": records, "offset": offset, "bytes": size,
            "sha256": sha256}


def warc_entry_kind(path: Path) -> str:
    """What a closed archive file is: ``warc`` (a ``.warc.gz``) or ``cdxj`` (its index)."""
    return "cdxj" if path.name.endswith(".cdxj") else "warc"


def warc_entry(output_dir: Path, path: Path, sha256: str) -> dict[str, Any]:
    """A ``files`` entry for a closed archive file: ``warc`` (a ``.warc.gz``) or ``cdxj`` (its index)."""
    kind = warc_entry_kind(path)
    return {"kind": kind, "file": relative_name(output_dir, path), "bytes": path.stat().st_size, "sha256": sha256}


def new(seq: int, run_id: str, slice_no: int, *, final: bool, site: str | None, records: int,
        files: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
    """A manifest: what every one holds, then the run's verdict (``more``) on a final one."""
    return {"manifest_version": MANIFEST_VERSION, "seq": seq, "run_id": run_id, "slice": slice_no, "final": final,
            "site": site, "records": records, "files": files, **more}


def slices_of(output_dir: Path, run_id: str, listed: Listing | None = None) -> list[dict[str, Any]]:
    """The manifests of one run, in ``seq`` order (``listed``: ``runs/`` as the caller listed it)."""
    return [ref.read() for ref in (listed or listing(output_dir)).of_run(run_id)]


# How many of the newest manifests a run's look-back reads (the early stop, the drift baseline, the
# last success in the metrics): its cost does not grow with the archive's age. 500 manifests are
# months of cron runs, each with a few slices.
LOOKBACK_MANIFESTS = 500


def final_manifests(output_dir: Path, site: str | None = None, lookback: int | None = LOOKBACK_MANIFESTS,
                    listed: Listing | None = None) -> Iterator[dict[str, Any]]:
    """Final manifests (one per run), newest ``seq`` first, of ``site`` when given, among the
    ``lookback`` newest manifests (None: all of them). Read one at a time, as far as asked
    (``listed``: ``runs/`` as the caller listed it)."""
    refs = (listed or listing(output_dir)).refs
    for ref in reversed(refs[-lookback:] if lookback else refs):
        try:
            manifest = ref.read()
        except (OSError, ValueError) as error:
            # A crawl refuses to start on it (``check_readable``, under the lock), with one line:
            # only that refused run's metrics meet it here.
            logger.debug("Unreadable manifest %s: %s", ref.path, error)
            continue
        if manifest.get("final") and (site is None or manifest.get("site") == site):
            yield manifest


def may_stop_early(output_dir: Path, site: str) -> bool:
    """Whether list paging may stop at a page of known articles: the site's last run (by seq)
    read every list it needed to its end, so no older list page hides an article never fetched.
    A last run of unknown site (one that died before committing a record) answers no."""
    last = next((m for m in final_manifests(output_dir) if m.get("site") in (site, None)), None)
    return bool(last and last.get("paged_to_end"))


class UnreadableRecords(Exception):
    """A manifest lists records this machine cannot read back (a remote feed, a missing file), or
    whose bytes are not the ones committed (``DamagedRange``)."""


class DamagedRange(UnreadableRecords):
    """A committed range whose bytes differ from what its manifest says: short, another SHA-256
    (a file replaced since, as ``-O`` does), or another record count."""


def records_path(output_dir: Path, entry: dict[str, Any]) -> Path:
    """The local file a ``records`` entry names (relative to OUTPUT_DIR, or absolute)."""
    if not entry.get("file"):
        raise UnreadableRecords(f"records at {entry.get('uri')} are not a local file")
    path = Path(entry["file"])
    return path if path.is_absolute() else output_dir / path


def read_range(output_dir: Path, entry: dict[str, Any]) -> bytes:
    """The bytes a ``records`` entry commits: ``offset`` to ``offset + bytes`` of its file (a legacy
    manifest's whole file), verified against the entry's ``bytes``, ``sha256`` and ``records``.

    The one place a committed range is read: the state rebuild, the catch-up, the export, the WACZ
    and ``scrapy verify`` all read through it, so none of them trusts bytes it did not check.
    Raises ``UnreadableRecords`` (``DamagedRange`` when the bytes are there but not the committed ones).
    """
    path = records_path(output_dir, entry)
    try:
        with path.open("rb") as handle:
            handle.seek(entry.get("offset", 0))
            data = handle.read(entry["bytes"]) if "bytes" in entry else handle.read()
    except OSError as error:
        raise UnreadableRecords(f"{path}: {error}") from error
    if "bytes" in entry and len(data) != entry["bytes"]:
        raise DamagedRange(f"{path} ends before its committed range ({len(data)} of {entry['bytes']} bytes "
                           f"from offset {entry.get('offset', 0)})")
    if "sha256" in entry and hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise DamagedRange(f"the committed range of {path} does not match its sha256 (the file was replaced "
                           "or changed since it was committed, as -O does to yesterday's file)")
    lines = data.count(b"\n")
    if "records" in entry and "bytes" in entry and lines != entry["records"]:
        raise DamagedRange(f"the committed range of {path} holds {lines} records, its manifest says "
                           f"{entry['records']}")
    return data


def read_records(output_dir: Path, manifest: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The records a manifest commits, in order: each ``records`` entry's byte range, verified and
    read as the README tells a consumer to (a legacy manifest's whole files)."""
    for entry in manifest.get("files", []):
        if entry.get("kind") != "records":
            continue
        data = read_range(output_dir, entry)
        for line in data.decode("utf-8").splitlines():
            if line.strip():
                yield json.loads(line)
