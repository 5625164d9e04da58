"""A consumer, exactly as README tells one to read OUTPUT_DIR: the manifests under ``runs/`` in
order of ``seq``, and in each the byte range of every ``records`` entry. Written from the README,
not from the crawler's code, so the end-to-end tests judge the output as a consumer would."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path


def manifests(output_dir: Path) -> list[dict]:
    found = [json.loads(p.read_text("utf-8")) for p in (output_dir / "runs").glob("*.json")]
    found = [m for m in found if "seq" in m]
    seqs = [m["seq"] for m in found]
    assert len(seqs) == len(set(seqs)), f"a seq used twice: {sorted(seqs)}"
    return sorted(found, key=lambda m: m["seq"])


def final(output_dir: Path) -> dict:
    """The last run's final manifest."""
    return [m for m in manifests(output_dir) if m.get("final")][-1]


def records(output_dir: Path, run_id: str | None = None) -> list[dict]:
    """Every committed record (of one run, when given), in commit order; each range checked
    against its SHA-256."""
    found = []
    for manifest in manifests(output_dir):
        if run_id is not None and manifest["run_id"] != run_id:
            continue
        for entry in manifest["files"]:
            if entry["kind"] != "records" or entry["file"] is None:  # elsewhere: at entry["uri"]
                continue
            path = Path(entry["file"])
            path = path if path.is_absolute() else output_dir / path
            with path.open("rb") as handle:
                handle.seek(entry["offset"])
                data = handle.read(entry["bytes"])
            assert len(data) == entry["bytes"], f"{path}: range past the end"
            assert hashlib.sha256(data).hexdigest() == entry["sha256"], f"{path}: digest differs"
            lines = data.decode("utf-8").splitlines()
            assert len(lines) == entry["records"]
            found += [json.loads(line) for line in lines]
    return found


def listed_files(output_dir: Path) -> set[Path]:
    """Files the manifests list, resolved."""
    listed = set()
    for manifest in manifests(output_dir):
        for entry in manifest["files"]:
            if entry.get("file"):
                path = Path(entry["file"])
                listed.add((path if path.is_absolute() else output_dir / path).resolve())
    return listed
