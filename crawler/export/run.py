"""One export, in order: list the manifests, fold the new ones into the database, bring the other
outputs up to it.

Where it writes: the export folder only (default ``OUTPUT_DIR/export/``), never anything else under
OUTPUT_DIR, and it takes no crawl lock: it reads committed manifests, which a running crawl only
adds to. Two exports of one folder at once are kept apart by the folder's own lock file.

The database is the export's state and its commit point: the new manifests are folded into it in
place, in one transaction (a database built from nothing is written hidden and renamed into place).
Then each JSONL file and Parquet dataset is brought up to it (``outputs``: appended, never rewritten),
each recording in the database how far it got: an export killed between the two finishes the job
next time, cutting back what it had appended unrecorded.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..run.files import fsync_dir, part_path
from . import fold, outputs
from .fold import ExportError, ManifestKey
from .store import ArchiveStore, check_sqlite

logger = logging.getLogger(__name__)

EXPORT_DIR = "export"  # under OUTPUT_DIR, unless --out says otherwise
ARCHIVE_DB = "archive.sqlite"
LOCK_FILE = ".export.lock"
# The database is always written: it is the fold's state. The others on request (all by default).
FORMATS = ("jsonl", "parquet", "sqlite")


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


def _forget_journal(db_path: Path) -> None:
    """The old database's write-ahead log gone before a new database takes its name: SQLite would
    otherwise replay it onto the new one."""
    for suffix in ("-wal", "-shm"):
        db_path.with_name(db_path.name + suffix).unlink(missing_ok=True)


@contextmanager
def export_lock(export_dir: Path) -> Iterator[None]:
    """The export folder's lock: one export (tables or WACZ) writes a folder at a time."""
    export_dir.mkdir(parents=True, exist_ok=True)
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
    try:
        store = ArchiveStore.open(db_path)
        try:
            if not store.usable():
                return None, "the database is damaged or of another export version"
            folded = store.folded()
        finally:
            store.close()
    except sqlite3.DatabaseError:
        return None, "the database is damaged or of another export version"
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
    with store.db:  # one transaction: the export's commit point
        for key in todo:
            commit = fold.read(output_dir, key)
            lines = fold.record_lines(output_dir, commit)
            try:
                store.add_records(lines, position, commit.key.seq, commit.key.run_id)
            except sqlite3.OperationalError as error:
                if "JSON" not in str(error):
                    raise
                # Its range checked: a line written so, not damaged since.
                raise ExportError(f"manifest {key.name}: a record that is not JSON ({error})") from None
            store.mark_folded(commit, len(lines), position)
            position += len(lines)
            report.folded_manifests += 1
            report.folded_records += len(lines)
            logger.info("Folded manifest %s: %d records", key.name, len(lines))


def export(output_dir: Path, export_dir: Path, formats: tuple[str, ...] = FORMATS) -> ExportReport:
    """Fold OUTPUT_DIR's manifests not folded yet into ``export_dir``, and bring ``formats`` up to them."""
    check_sqlite()
    if not (output_dir / "runs").is_dir():
        raise ExportError(f"{output_dir} holds no runs/ folder: no crawl has committed there")
    export_dir.mkdir(parents=True, exist_ok=True)
    db_path = export_dir / ARCHIVE_DB
    report = ExportReport()
    with export_lock(export_dir):
        current = fold.listed(output_dir)
        report.manifests = len(current)
        folded, why = _folded_state(db_path, output_dir, current)
        if folded is None:
            report.rebuilt = why
            logger.info("Building %s from every manifest: %s", db_path, why)
            with _replacing(db_path) as part:
                store = ArchiveStore.create(part)
                try:
                    _fold_into(store, output_dir, current, report)
                finally:
                    store.close()
                ArchiveStore.finish_build(part)
                _forget_journal(db_path)
            report.written.append(ARCHIVE_DB)
        store = ArchiveStore.in_place(db_path)
        try:
            if folded is not None and len(current) > len(folded):
                _fold_into(store, output_dir, current[len(folded):], report)
                report.written.append(ARCHIVE_DB)
            report.written += outputs.bring_up(store, export_dir, tuple(formats))
            report.counts = store.counts()
        finally:
            store.close()
    return report
