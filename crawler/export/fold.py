"""Reading OUTPUT_DIR as README's consumer rule says: which manifests to fold, and their records.

The rule: every manifest under ``runs/`` is a commit; read them in order of ``seq`` (0.1.0's
``runs/<run id>.json``, without ``seq``, before all others, whole files), and in each the byte range
of every ``records`` entry, checked against its ``sha256`` and ``records`` count. Only committed
manifests are read: a manifest is renamed into place whole, after the files it lists, so a crawl
running meanwhile is never half seen, and nothing here takes its lock or writes under OUTPUT_DIR.

The fold itself (a record into its article's row) is SQL, in ``store``: SQLite parses each record's
line and changes the row in place, with no Python per record.

Each manifest folded is remembered by its name, seq, run id, size and the SHA-256 of its bytes. An
export lists the manifests (names and sizes only), and reads the records of those after the folded
ones; it re-reads none it folded, except the last, whose SHA-256 is checked as a tripwire. When one
it folded is gone or changed, it starts again from nothing (``pending``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..run import manifests


class ExportError(Exception):
    """OUTPUT_DIR cannot be folded as it is (a range that does not check, records elsewhere)."""


@dataclass(frozen=True)
class ManifestKey:
    """A committed manifest as a directory listing shows it: enough to tell it was folded."""
    seq: int  # 0 for a 0.1.0 manifest (no seq; read first, in run-id order)
    run_id: str
    name: str  # its file name under runs/
    size: int


@dataclass(frozen=True)
class Commit:
    """A manifest read: its key, the SHA-256 of its bytes and what it says."""
    key: ManifestKey
    sha256: str
    manifest: dict[str, Any]


def listed(output_dir: Path) -> list[ManifestKey]:
    """Every manifest of OUTPUT_DIR in the consumer's order (0.1.0's first, then by ``seq``), from
    the directory listing alone."""
    legacy = [ManifestKey(0, path.stem, path.name, path.stat().st_size) for path in manifests.legacy(output_dir)]
    return [*legacy, *(ManifestKey(ref.seq, ref.run_id, ref.path.name, ref.path.stat().st_size)
                       for ref in manifests.committed(output_dir))]


def read(output_dir: Path, key: ManifestKey) -> Commit:
    """A manifest's bytes, hashed and parsed."""
    path = output_dir / manifests.RUNS_DIR / key.name
    try:
        data = path.read_bytes()
        manifest = json.loads(data)
    except (OSError, ValueError) as error:
        raise ExportError(f"cannot read manifest {path}: {error}") from None
    return Commit(key, hashlib.sha256(data).hexdigest(), manifest)


def pending(folded: list[ManifestKey], current: list[ManifestKey]) -> list[ManifestKey] | None:
    """The manifests to fold next: those after the folded ones, which must begin the current list
    unchanged; None when they do not (one gone, resized, renamed): the archive is built again."""
    if current[:len(folded)] != folded:
        return None
    return current[len(folded):]


def _checked_range(output_dir: Path, entry: dict[str, Any], name: str) -> bytes:
    if not entry.get("file"):
        raise ExportError(f"manifest {name} lists records at {entry.get('uri')}, not a local file: "
                          "the export reads records files under or named by OUTPUT_DIR")
    try:
        return manifests.read_range(output_dir, entry)  # bytes, sha256 and records checked there
    except manifests.UnreadableRecords as error:
        raise ExportError(f"manifest {name}: cannot read {error} (the export needs every committed range)") from None


def record_lines(output_dir: Path, commit: Commit) -> list[str]:
    """The records a manifest commits, in order, as their JSON lines, every range checked (sha256, count)."""
    found: list[str] = []
    if "seq" not in commit.manifest and commit.manifest.get("complete") is not True:
        return found  # a 0.1.0 run that did not complete: README's upgrade note reads none of it
    for entry in commit.manifest.get("files", []):
        if entry.get("kind") != "records":
            continue
        lines = [line for line in _checked_range(output_dir, entry, commit.key.name).decode("utf-8").splitlines()
                 if line.strip()]
        if "records" in entry and len(lines) != entry["records"]:
            raise ExportError(f"manifest {commit.key.name}: {entry['file']} holds {len(lines)} records in its "
                              f"range, the manifest says {entry['records']}")
        found += lines
    return found
