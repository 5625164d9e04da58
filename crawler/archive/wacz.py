"""A WACZ per run, no Scrapy: the run's WARC files, their CDXJ index, its pages and a datapackage
with the SHA-256 of each, made by the ``wacz`` package (py-wacz), as ReplayWeb.page opens them.

The run's final commit (``crawler.run.commit``) calls :func:`write_run_wacz` once the final slice's
WARC files are sealed and its records stored, and lists the file in the final manifest
(``"kind": "wacz"``, with its size and SHA-256). The WACZ holds every WARC file the run's manifests
list, plus any earlier run's file holding a requisite (an image) one of its records points at, so
it replays alone. Its pages list (``pages/pages.jsonl``) names each article record of the run with
its title. py-wacz prints as it works: it runs in a subprocess (stdout may be the run's feed),
writes a hidden ``.<name>.open`` and the file is renamed into place when complete.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..run import manifests
from ..run.files import fsync_dir, sha256_of

logger = logging.getLogger(__name__)

WACZ_DIR = "wacz"
# py-wacz's pages list header (json-pages-1.0).
PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "Articles"}


def wacz_name(spider: str, run_id: str) -> str:
    return f"{spider}-{run_id}.wacz"


def pages_of(records: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    """The pages list: each article record that has an archived response, once, with its title."""
    pages: dict[str, dict[str, str]] = {}
    for record in records:
        if record.get("warc") and record.get("status") != "deleted" and record.get("url"):
            pages.setdefault(record["url"], {"url": record["url"], "title": record.get("title") or record["url"]})
    return list(pages.values())


def warc_files_of(output_dir: Path, listed: Iterable[str], records: Iterable[dict[str, Any]]) -> list[Path]:
    """The WARC files for the WACZ: those listed (relative to OUTPUT_DIR), and those the records or
    their images and attachments point at; each once, existing, in order."""
    names = list(dict.fromkeys(listed))
    for record in records:
        pointers = [record.get("warc")] + [r.get("warc") for r in [*(record.get("images") or []),
                                                                   *(record.get("attachments") or [])]]
        names += [p["file"] for p in pointers if p and p.get("file") and p["file"] not in names]
    return [output_dir / name for name in names if (output_dir / name).is_file()]


def write_wacz(target: Path, warc_files: list[Path], pages: list[dict[str, str]], title: str) -> Path:
    """Write the WACZ of ``warc_files`` with ``pages`` to ``target``, atomically (hidden, renamed)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(".*.wacz.open"):  # a killed run's, under the run lock: dead
        stale.unlink()
    hidden = target.with_name(f".{target.name}.open")
    with tempfile.TemporaryDirectory(prefix=".wacz-", dir=target.parent) as work:
        command = [sys.executable, "-m", "wacz", "create", "-o", str(hidden), "--hash-type", "sha256",
                   "--title", title]
        if pages:
            pages_file = Path(work) / "pages.jsonl"
            lines = [json.dumps(PAGES_HEADER, ensure_ascii=False)] + [json.dumps(p, ensure_ascii=False) for p in pages]
            pages_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
            command += ["-p", str(pages_file)]
        else:
            command += ["--detect-pages"]
        done = subprocess.run([*command, *map(str, warc_files)], capture_output=True, text=True, cwd=work)
    if done.returncode != 0 or not hidden.is_file():
        hidden.unlink(missing_ok=True)
        raise OSError(f"wacz create failed (exit {done.returncode}): {(done.stderr or done.stdout)[-500:]}")
    with hidden.open("rb") as handle:
        os.fsync(handle.fileno())
    hidden.replace(target)
    return target


def build_run_wacz(output_dir: Path, spider: str, run_id: str, final_entries: list[dict[str, Any]],
                   unclaimed_warcs: list[Path]) -> dict[str, Any]:
    """The run's WACZ, from its committed slices' manifests and the final slice about to be listed
    (its records ``final_entries``, its WARC files ``unclaimed_warcs``); its manifest entry."""
    earlier = manifests.slices_of(output_dir, run_id)
    listed = [e["file"] for m in earlier for e in m.get("files", []) if e.get("kind") == "warc"]
    listed += [manifests.relative_name(output_dir, path) for path in unclaimed_warcs]
    records: list[dict[str, Any]] = []
    for manifest in [*earlier, {"files": [e for e in final_entries if e.get("file")]}]:
        records += manifests.read_records(output_dir, manifest)
    target = output_dir / WACZ_DIR / wacz_name(spider, run_id)
    write_wacz(target, warc_files_of(output_dir, listed, records), pages_of(records), f"{spider} {run_id}")
    fsync_dir(target.parent)
    return {"kind": "wacz", "file": manifests.relative_name(output_dir, target), "bytes": target.stat().st_size,
            "sha256": sha256_of(target)}
