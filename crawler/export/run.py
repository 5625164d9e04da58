"""One export, in order: list the manifests, fold the new ones into the database, write the other
formats from it.

Where it writes: the export folder only (default ``OUTPUT_DIR/export/``), never anything else under
OUTPUT_DIR, and it takes no crawl lock: it reads committed manifests, which a running crawl only
adds to. Two exports of one folder at once are kept apart by the folder's own lock file.

Every file is written hidden (``.<name>.part``), fsynced and renamed over the old one, so a kill
mid-export leaves each table whole, old or new. The database is renamed first: it is the fold's
state. Then each other output is rewritten when it does not hold the database's generation (the
manifests folded), as ``outputs.json`` records: an export killed between the two finishes the job
next time.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..run.files import fsync_dir, part_path, write_json_atomic
from . import fold
from .fold import ExportError, ManifestKey
from .jsonl import write_jsonl
from .parquet import write_parquet
from .store import ArchiveStore, check_sqlite
from .tables import TABLES

logger = logging.getLogger(__name__)

EXPORT_DIR = "export"  # under OUTPUT_DIR, unless --out says otherwise
ARCHIVE_DB = "archive.sqlite"
OUTPUTS_FILE = "outputs.json"  # which generation each JSONL and Parquet file holds
LOCK_FILE = ".export.lock"
# The database is always written: it is the fold's state. The others on request (all by default).
FORMATS = ("jsonl", "parquet", "sqlite")
WRITERS: dict[str, tuple[str, Callable]] = {
    "jsonl": ("{table}.jsonl", lambda rows, table, path: write_jsonl(rows, path)),
    "parquet": ("{table}.parquet", lambda rows, table, path: write_parquet(rows, TABLES[table], path)),
}


class ExportLocked(Exception):
    """Another export is writing this export folder."""


@dataclass
class ExportReport:
    manifests: int = 0  # manifests listed
    folded_manifests: int = 0  # read and folded by this export
    folded_records: int = 0
    rebuilt: str | None = None  # why the database was built from nothing, when it was
    written: list[str] = field(default_factory=list)  # files renamed into place
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # rows per status, per table


def generation(folded: list[ManifestKey]) -> str:
    """What a database holds, as one string: the manifests folded into it."""
    text = "\n".join(f"{key.seq} {key.run_id} {key.name} {key.size}" for key in folded)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """A hidden part file to write, fsynced and renamed to ``path`` when the block ends well."""
    part = part_path(path)
    part.unlink(missing_ok=True)  # left by a killed export
    try:
        yield part
        with part.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


@contextmanager
def _export_lock(export_dir: Path) -> Iterator[None]:
    with (export_dir / LOCK_FILE).open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ExportLocked(f"another export is writing {export_dir}") from None
        yield


def _folded_state(db_path: Path, output_dir: Path, current: list[ManifestKey]) -> tuple[list[ManifestKey] | None, str]:
    """What the committed database folded, checked against OUTPUT_DIR; None (and why) when it must
    be built again."""
    if not db_path.exists():
        return None, "no database yet"
    store = ArchiveStore.open(db_path)
    try:
        if not store.usable():
            return None, "the database is damaged or of another export version"
        folded = store.folded()
    finally:
        store.close()
    keys = [key for key, _ in folded]
    if fold.pending(keys, current) is None:
        return None, "a manifest it folded is gone or changed"
    if folded:  # the tripwire: the last manifest folded still has the bytes it had
        last, sha = folded[-1]
        if fold.read(output_dir, last).sha256 != sha:
            return None, f"manifest {last.name} changed since it was folded"
    return keys, ""


def _fold_into(store: ArchiveStore, output_dir: Path, todo: list[ManifestKey], report: ExportReport) -> None:
    position = store.stream_length()
    with store.db:  # one transaction: the part file is renamed only once it is committed
        for key in todo:
            commit = fold.read(output_dir, key)
            revisions = fold.revisions_of(commit, fold.records_of(output_dir, commit), position)
            for revision in revisions:
                store.add_revision(fold.revision_row(revision))
                before = store.article(*fold.article_key(revision.record))
                store.put_article(fold.fold(before, revision), known=before is not None)
            store.mark_folded(commit, len(revisions), position)
            position += len(revisions)
            report.folded_manifests += 1
            report.folded_records += len(revisions)
            logger.info("Folded manifest %s: %d records", key.name, len(revisions))


def export(output_dir: Path, export_dir: Path, formats: tuple[str, ...] = FORMATS) -> ExportReport:
    """Fold OUTPUT_DIR's manifests not folded yet into ``export_dir``, and write ``formats``."""
    check_sqlite()
    if not (output_dir / "runs").is_dir():
        raise ExportError(f"{output_dir} holds no runs/ folder: no crawl has committed there")
    export_dir.mkdir(parents=True, exist_ok=True)
    db_path = export_dir / ARCHIVE_DB
    report = ExportReport()
    with _export_lock(export_dir):
        current = fold.listed(output_dir)
        report.manifests = len(current)
        folded, why = _folded_state(db_path, output_dir, current)
        if folded is None:
            report.rebuilt = why
            logger.info("Building %s from every manifest: %s", db_path, why)
        todo = current if folded is None else current[len(folded):]
        if todo or folded is None:
            with _replacing(db_path) as part:
                store = ArchiveStore.create(part) if folded is None else ArchiveStore.copy_of(db_path, part)
                try:
                    _fold_into(store, output_dir, todo, report)
                finally:
                    store.close()
            report.written.append(ARCHIVE_DB)
        _write_others(db_path, export_dir, [f for f in formats if f in WRITERS], report)
    return report


def _write_others(db_path: Path, export_dir: Path, formats: list[str], report: ExportReport) -> None:
    outputs_path = export_dir / OUTPUTS_FILE
    try:
        outputs = json.loads(outputs_path.read_text("utf-8"))
    except (OSError, ValueError):
        outputs = {}
    store = ArchiveStore.open(db_path)
    try:
        current = generation([key for key, _ in store.folded()])
        for fmt in formats:
            name_pattern, write = WRITERS[fmt]
            for table in TABLES:
                name = name_pattern.format(table=table)
                if outputs.get(name) == current and (export_dir / name).exists():
                    continue
                with _replacing(export_dir / name) as part:
                    write(store.rows(table), table, part)
                # Said at once: an export killed at the next file rewrites only what it did not finish.
                outputs[name] = current
                write_json_atomic(outputs_path, outputs)
                report.written.append(name)
        if outputs.get(ARCHIVE_DB) != current:
            outputs[ARCHIVE_DB] = current
            write_json_atomic(outputs_path, outputs)
        report.counts = store.counts()
    finally:
        store.close()
