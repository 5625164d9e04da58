"""The JSONL files and Parquet datasets, brought up to the database in time proportional to what is new.

The database is the export's state: its ``folded`` table says what the archive holds, and its
``outputs`` and ``parts`` tables how far each output was brought. An export first folds new manifests
into the database (one transaction: the commit point), then brings each output up to it:

- a JSONL file is appended to: the records (``revisions.jsonl``) or the articles' new rows
  (``articles.jsonl``) from the stream position it holds on, fsynced, then its new length recorded.
  A file longer than its recorded length holds an append that was not recorded (a kill between the
  two): it is cut back to that length first, so no torn line and no half fold stays;
- a Parquet dataset (``revisions/``, ``articles/``) gets one more file for the stream since it was
  last brought, ``part-<first seq>-<last seq>.parquet`` (the manifests' seqs), written hidden,
  fsynced, renamed into place, then recorded. A file there that ``parts`` does not list (a kill
  between the two) is removed and written again.

An output with no state, or shorter than its state says (deleted, replaced), is written whole again.
A reader of ``articles`` takes, for each (site, id), its row with the greatest ``last_position``
(README's rule): appending an article's new row is then all a fold has to do.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..run.files import fsync_dir, part_path
from .jsonl import blocks_of, write_jsonl
from .parquet import write_parquet
from .store import ArchiveStore, Held
from .tables import TABLES

logger = logging.getLogger(__name__)

PART_NAME = "part-{first:08d}-{last:08d}.parquet"  # the seqs of the first and last manifest it holds


@dataclass(frozen=True)
class Appended:
    """Lines a JSONL file got: the rows from stream position ``since`` on, bytes ``start`` to ``end``."""
    path: Path
    since: int
    start: int
    end: int

    def blocks(self) -> Iterator[bytes]:
        return blocks_of(self.path, self.start, self.end)


@dataclass(frozen=True)
class Output:
    name: str  # a file (JSONL) or a folder (a Parquet dataset) of the export folder
    table: str
    format: str  # jsonl | parquet


OUTPUTS: tuple[Output, ...] = (
    Output("articles.jsonl", "articles", "jsonl"), Output("revisions.jsonl", "revisions", "jsonl"),
    Output("articles", "articles", "parquet"), Output("revisions", "revisions", "parquet"),
)
# Export version 1's files (each table rewritten whole, one Parquet file each): removed by the rebuild.
VERSION_1_FILES = ("articles.parquet", "revisions.parquet", "outputs.json")


def bring_up(store: ArchiveStore, export_dir: Path, formats: tuple[str, ...]) -> list[str]:
    """Bring each output of ``formats`` up to what the database holds; the names of those written.

    An output not asked for keeps what an earlier export wrote (``outputs`` says how far), unless the
    database has no state for it (it was built from nothing since): then it is removed, as are export
    version 1's files, for they would not agree with it.
    """
    target = store.held()
    written = []
    appended: dict[str, Appended] = {}  # a table's lines this export wrote to JSONL
    for output in OUTPUTS:  # JSONL first: the Parquet part of the same rows reads them back from there
        if output.format not in formats:
            if store.output(output.name) is None:
                _remove(export_dir / output.name)
            continue
        if output.format == "jsonl":
            lines = _bring_jsonl(store, export_dir, output, target)
            if lines is not None:
                appended[output.table] = lines
            wrote = lines is not None
        else:
            wrote = _bring_dataset(store, export_dir, output, target, appended.get(output.table))
        if wrote:
            written.append(output.name)
    for name in VERSION_1_FILES:
        (export_dir / name).unlink(missing_ok=True)
    return written


def _remove(path: Path) -> None:
    if path.is_dir():
        for file in path.iterdir():
            file.unlink()
        path.rmdir()
    else:
        path.unlink(missing_ok=True)


def _record(store: ArchiveStore, output: Output, held: Held) -> None:
    with store.db:
        store.set_output(output.name, held)


def _bring_jsonl(store: ArchiveStore, export_dir: Path, output: Output, target: Held) -> Appended | None:
    path = export_dir / output.name
    state = store.output(output.name)
    size = path.stat().st_size if path.exists() else None
    if state is None or size is None or state.bytes is None or size < state.bytes:
        if state is not None:
            logger.warning("%s is not the %s bytes the export recorded (%s): writing it whole",
                           path, state.bytes, "missing" if size is None else f"{size} bytes")
            # Forgotten first: the whole file must never be taken for an append past the old length.
            with store.db:
                store.forget_output(output.name)
        part = part_path(path)
        try:
            with part.open("wb") as handle:
                write_jsonl(store.json_blocks(output.table), handle)
                handle.flush()
                os.fsync(handle.fileno())
                length = handle.tell()
            os.replace(part, path)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        fsync_dir(path.parent)
        _record(store, output, Held(target.folded, target.positions, length))
        return Appended(path, 0, 0, length)
    if size == state.bytes and state.positions == target.positions:
        if state.folded != target.folded:  # manifests of no records folded since: nothing to append
            _record(store, output, Held(target.folded, target.positions, size))
        return None
    with path.open("r+b") as handle:
        if size > state.bytes:
            logger.warning("%s: %d bytes after the %d recorded (an export stopped mid-append): cut back",
                           path, size - state.bytes, state.bytes)
            handle.truncate(state.bytes)
        handle.seek(state.bytes)
        write_jsonl(store.json_blocks(output.table, since=state.positions), handle)
        handle.flush()
        os.fsync(handle.fileno())
        length = handle.tell()
    _record(store, output, Held(target.folded, target.positions, length))
    return Appended(path, state.positions, state.bytes, length)


def _bring_dataset(store: ArchiveStore, export_dir: Path, output: Output, target: Held,
                   appended: Appended | None) -> bool:
    folder = export_dir / output.name
    folder.mkdir(exist_ok=True)
    state = store.output(output.name)
    parts = store.parts(output.name)
    on_disk = {path.name for path in folder.iterdir()}
    for stray in sorted(on_disk - set(parts)):
        logger.warning("%s: %s is not a part the export recorded (an export stopped before recording it): "
                       "removed", folder, stray)
        (folder / stray).unlink()
    if state is None or not on_disk.issuperset(parts):
        if state is not None:
            logger.warning("%s: a part is missing: writing the dataset whole", folder)
        for name in parts:
            (folder / name).unlink(missing_ok=True)
        with store.db:
            store.forget_output(output.name)
        state, parts = Held(0, 0), []
    if state.positions == target.positions:
        if state.folded != target.folded:
            _record(store, output, target)
        return False
    first_seq, last_seq = store.seqs_folded(state.folded, target.folded)
    name = PART_NAME.format(first=first_seq, last=last_seq)
    if name in parts:  # 0.1.0 manifests have no seq (0): folds of them alone share a name
        name = name.replace(".parquet", f"-{state.positions}.parquet")
    path = folder / name
    part = part_path(path)
    if appended is not None and appended.since == state.positions:
        blocks = appended.blocks()
    else:
        blocks = store.json_blocks(output.table, since=state.positions)
    rows = write_parquet(blocks, TABLES[output.table], part)
    with part.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(part, path)
    fsync_dir(folder)
    with store.db:
        store.add_part(output.name, name, state.positions, target.positions, rows)
        store.set_output(output.name, target)
    return True
