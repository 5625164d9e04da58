"""Before a crawl, under the lock: check the state against the manifests and settle what killed
runs left. The manifests are the source of truth; the state store is their index.

- A slice with its manifest but not promoted (killed between the two): promoted now.
- A slice whose archive copy was renamed into place but got no manifest (killed between the two):
  it gets its manifest now (``recovered: true``), then is promoted. The file is recognised by the
  size and SHA-256 of the bytes the slice wrote, recorded in the state store before the rename.
- A slice with anything less: its staged rows are discarded (its articles come again) and its
  hidden part files removed.
- A run that died without its final manifest gets one (``recovered``, not complete), so the next
  run does not stop paging early; it lists the run's sealed WARC files no manifest listed yet.
- A missing, damaged or foreign SQLite state is rebuilt from the manifests, with a warning; a
  state of a newer schema is refused (exit 1). A state behind the manifests (a restored backup)
  folds the newer ones in. Every records range is read verified (``manifests.read_range``); one
  that cannot be (a 0.1.0 or version 2 manifest whose ``-O`` file was replaced since) stops the
  run (exit 1). So does a manifest the run must read that cannot be parsed: the newest, and those
  the state does not hold yet (an older one is ``scrapy verify``'s to find: the start reads only
  what it needs, whatever the archive's age).
- The capture index (``crawler.state.captures``) folds in the CDXJ files of the manifests it does
  not hold yet: all of them when it is missing (an older crawler's store, a rebuilt one).

Clean-up touches only names the crawler gives (``.<name>.part``/``.open`` of a run id, in
OUTPUT_DIR, its ``warc/`` and ``runs/``; a dead run's unlisted WACZ in ``wacz/``), of runs other
than this one: every other run is dead while this process holds the lock.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from scrapy.settings import BaseSettings

from ..archive.wacz import WACZ_DIR
from ..state import StateError, StateTooNew, captures
from ..state.redis_store import RedisStateStore
from ..state.sqlite import SqliteStateStore
from ..state.stores import STATE_FILE, StateStore, open_store
from . import jobdir, manifests
from .files import OPEN_SUFFIX, PART_PREFIX, PART_SUFFIX, part_path, sha256_of
from .ids import RUN_ID_RE

logger = logging.getLogger(__name__)

WARC_DIR = manifests.WARC_DIR


def prepare(settings: BaseSettings) -> None:
    """Settle OUTPUT_DIR for the run ``RUN_ID``; raise StateError (or ``manifests.DamagedManifest``)
    when the crawl must not start."""
    output_dir = Path(settings.get("OUTPUT_DIR"))
    run_id = settings.get("RUN_ID")
    jobdir.start(settings.get("JOBDIR"), run_id)
    # ``runs/`` and ``warc/`` are listed once (names only) and the lists passed on: they grow by a
    # few names a run for years, and a start costs what the run's own work costs.
    listed = manifests.listing(output_dir)
    warcs = _warc_names(output_dir)
    store = _open_checked(output_dir, settings.get("REDIS_URL"), run_id, listed)
    try:
        # The manifests every step below reads: the newest, and those the state does not hold yet.
        manifests.check_readable(output_dir, after=store.last_seq, listed=listed)
        _remove_dead_parts(output_dir, run_id, store, listed, warcs)
        for dead_run, slice_no, files in store.open_slices():
            _settle_slice(output_dir, store, dead_run, slice_no, files, listed, warcs)
        _finish_dead_runs(output_dir, run_id, listed, warcs)
        last_seq = store.last_seq
        if last_seq is not None:
            _catch_up(output_dir, store, listed, last_seq)
        captures.catch_up(output_dir, store, listed.refs)
    finally:
        store.close()


def _warc_names(output_dir: Path) -> list[str]:
    """The names in ``warc/`` (one ``scandir``; no ``Path`` per file)."""
    try:
        with os.scandir(output_dir / WARC_DIR) as entries:
            return sorted(entry.name for entry in entries)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _open_checked(output_dir: Path, redis_url: str, run_id: str, listed: manifests.Listing) -> StateStore:
    path = output_dir / STATE_FILE
    existed = path.exists()
    try:
        store = open_store(output_dir, redis_url, readonly=False)
        store.check()
    except StateTooNew:
        raise
    except StateError as error:
        logger.warning("State store unusable (%s): moved aside, rebuilding it from the manifests", error)
        _move_aside(path, f"damaged-{run_id}")
        return _rebuild(output_dir, path, listed)
    if isinstance(store, RedisStateStore):  # the fleet's state, checked against this folder's manifests
        store.reconcile(output_dir, listed)
        return store
    assert isinstance(store, SqliteStateStore)
    newest = listed.last_seq
    if not existed and (newest or listed.legacy):
        logger.warning("No state store in %s: rebuilding it from the manifests", output_dir)
        store.close()
        return _rebuild(output_dir, path, listed)
    if store.last_seq > newest:
        logger.warning("State store %s knows manifest %s, but the newest in %s is %s (a copy from another "
                       "folder, or manifests removed): moved aside, rebuilding it from the manifests",
                       path, store.last_seq, output_dir, newest)
        store.close()
        _move_aside(path, f"foreign-{run_id}")
        return _rebuild(output_dir, path, listed)
    return store


def _move_aside(path: Path, tag: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        source = path.with_name(path.name + suffix)
        if source.exists():
            source.replace(path.with_name(f"{path.name}.{tag}{suffix}"))


def _rebuild(output_dir: Path, path: Path, listed: manifests.Listing) -> SqliteStateStore:
    """A new store from the manifests, in order (0.1.0's complete manifests first)."""
    fresh = path.with_name(f".{path.name}.rebuild")
    for suffix in ("", "-wal", "-shm"):
        fresh.with_name(fresh.name + suffix).unlink(missing_ok=True)
    store = SqliteStateStore(fresh)
    try:
        for legacy in listed.legacy:
            manifest = manifests.ManifestRef(0, "", legacy).read()
            if manifest.get("complete"):
                _fold(output_dir, store, legacy, manifest, 0)
        for ref in listed.refs:
            _fold(output_dir, store, ref.path, ref.read(), ref.seq)
    finally:
        store.close()
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    os.replace(fresh, path)
    return SqliteStateStore(path)


def _catch_up(output_dir: Path, store: StateStore, listed: manifests.Listing, last_seq: int) -> None:
    """Manifests newer than the store's last promoted one (``last_seq``), whose staged rows are gone:
    replay them."""
    for ref in listed.refs:
        if ref.seq > last_seq:
            logger.warning("Manifest %s was committed but not in the state store: folding its records in", ref.path)
            _fold(output_dir, store, ref.path, ref.read(), ref.seq)


def _fold(output_dir: Path, store: StateStore, path: Path, manifest: dict[str, Any], seq: int) -> None:
    """A manifest's records into the state, each range read verified; StateError, saying what to do,
    when one cannot be read as committed: the state is never guessed."""
    try:
        store.apply_records(manifests.read_records(output_dir, manifest), seq)
    except manifests.UnreadableRecords as error:
        raise StateError(
            f"cannot bring the state up to manifest {path}: its records cannot be read back as committed ({error}). "
            f"Put that file back as it was committed, or restore {STATE_FILE} from a backup, then run again: "
            "the crawler does not guess which articles a consumer already has (manifests of version 3 "
            "list the archive's own copy under OUTPUT_DIR, which no feed replaces)") from None


def _remove_dead_parts(output_dir: Path, run_id: str, store: StateStore, listed: manifests.Listing,
                       warcs: list[str]) -> None:
    def parts(folder: Path, names: list[str]) -> list[Path]:
        return [folder / name for name in names if name.startswith(PART_PREFIX)
                and name.endswith((PART_SUFFIX, OPEN_SUFFIX))
                and (match := RUN_ID_RE.search(name)) is not None and match.group(0) != run_id]
    top = os.listdir(output_dir) if output_dir.is_dir() else []
    dead = [path for path in [*parts(output_dir, top), *parts(output_dir / WARC_DIR, warcs),
                              *parts(listed.folder, listed.hidden)] if path.is_file()]
    # Feeds named on the command line (-o, -O) carry no run id: the state named their slices' files.
    dead += [part_path(Path(f)) for _, _, files in store.open_slices() for f in files]
    for path in dead:
        if path.is_file():
            logger.warning("Removed a partial file of a dead run: %s", path)
            path.unlink()


def _settle_slice(output_dir: Path, store: StateStore, run_id: str, slice_no: int, files: list[str],
                  listed: manifests.Listing, warcs: list[str]) -> None:
    done = next((m for m in manifests.slices_of(output_dir, run_id, listed) if m.get("slice") == slice_no), None)
    if done is not None:
        store.promote(run_id, slice_no, done["seq"])
        logger.warning("Run %s slice %s: committed, state now promoted", run_id, slice_no)
        return
    stored = _stored_in_place(output_dir, run_id, slice_no, store.stored_entries(run_id, slice_no))
    if stored is not None:
        entries, site = stored
        seq = listed.last_seq + 1
        records = sum(entry["records"] for entry in entries if entry["kind"] == "records")
        listed.add(manifests.write(output_dir, manifests.new(
            seq, run_id, slice_no, final=False, site=site, records=records,
            files=entries + _unlisted_warcs(output_dir, run_id, listed, warcs), recovered=True)))
        store.promote(run_id, slice_no, seq)
        logger.warning("Run %s slice %s: records file in place without a manifest; manifest written (seq %s)",
                       run_id, slice_no, seq)
        return
    store.discard(run_id, slice_no)
    for path in files:
        part_path(Path(path)).unlink(missing_ok=True)
    logger.warning("Run %s slice %s: never committed; its articles will be emitted again", run_id, slice_no)


def _stored_in_place(output_dir: Path, run_id: str, slice_no: int,
                     stored: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str] | None:
    """A slice killed between storing its files and writing its manifest: its manifest entries and
    site, when its archive copy is in place with the very bytes the slice wrote (the size and
    SHA-256 recorded before the rename, checked by ``manifests.read_range``), else None. Never a file
    that merely holds the same records (yesterday's ``-O`` file).

    The archive copy is stored last, so every delivery was stored before it; a local one that no
    longer holds its bytes (replaced since) is left out of the manifest, with a warning."""
    archive = [entry for entry in stored if entry.get("kind") == "records"]
    try:
        data = [manifests.read_range(output_dir, entry) for entry in archive]
    except manifests.UnreadableRecords as error:
        logger.info("Run %s slice %s: its archive copy is not in place as written (%s)", run_id, slice_no, error)
        return None
    if not data or not data[0]:
        return None
    entries = list(archive)
    for entry in stored:
        if entry.get("kind") != "delivery":
            continue
        try:
            if entry.get("file"):
                manifests.read_range(output_dir, entry)
            entries.append(entry)
        except manifests.UnreadableRecords as error:
            logger.warning("Run %s slice %s: delivery %s no longer holds what was stored (%s): not listed",
                           run_id, slice_no, entry.get("uri"), error)
    return entries, json.loads(data[0].splitlines()[0])["site"]


def _unlisted_warcs(output_dir: Path, run_id: str, listed: manifests.Listing,
                    warcs: list[str]) -> list[dict[str, Any]]:
    named = {entry.get("file") for m in manifests.slices_of(output_dir, run_id, listed) for entry in m.get("files", [])}
    found = [output_dir / WARC_DIR / name for name in warcs
             if f"-{run_id}-" in name and name.endswith((".warc.gz", ".warc.gz.cdxj"))]
    return [manifests.warc_entry(output_dir, p, sha256_of(p)) for p in found
            if p.is_file() and manifests.relative_name(output_dir, p) not in named]


def _remove_unlisted_wacz(output_dir: Path, dead_run: str, listed_runs: manifests.Listing) -> None:
    """A dead run's WACZ that no manifest lists (killed between writing it and its final manifest):
    it describes a final slice that never committed, so it goes."""
    listed = {entry.get("file") for m in manifests.slices_of(output_dir, dead_run, listed_runs)
              for entry in m.get("files", [])}
    folder = output_dir / WACZ_DIR
    for path in sorted(folder.glob(f"*-{dead_run}.wacz")) if folder.is_dir() else ():
        if manifests.relative_name(output_dir, path) not in listed:
            logger.warning("Removed the WACZ of a run that died before listing it: %s", path)
            path.unlink()


def _finish_dead_runs(output_dir: Path, run_id: str, listed: manifests.Listing, warcs: list[str]) -> None:
    """Give each dead run with a commit (or an archive file) but no final manifest its final one.

    Runs follow one another under the lock, and each settles the one before: only the run of the
    newest manifest can lack its final one, besides runs that died before their first commit
    (WARC files of a run no manifest names; 0.1.0's runs ended with their own manifest).
    """
    refs = listed.refs
    dead = []
    if refs and refs[-1].run_id != run_id and not refs[-1].read().get("final"):
        dead.append(refs[-1].run_id)
    named = {ref.run_id for ref in refs} | {path.stem for path in listed.legacy} | {run_id}
    for name in warcs:
        if not name.endswith(".warc.gz"):
            continue
        match = RUN_ID_RE.search(name)
        if match and match.group(0) not in named and match.group(0) not in dead:
            dead.append(match.group(0))
    for dead_run in dead:
        _remove_unlisted_wacz(output_dir, dead_run, listed)
        slices = manifests.slices_of(output_dir, dead_run, listed)
        seq = listed.last_seq + 1
        listed.add(manifests.write(output_dir, manifests.new(
            seq, dead_run, max((m.get("slice", 0) for m in slices), default=0) + 1, final=True,
            site=next((m.get("site") for m in slices if m.get("site")), None), records=0,
            files=_unlisted_warcs(output_dir, dead_run, listed, warcs), recovered=True, finish_reason="killed",
            complete=False, paged_to_end=False, exit_code=None)))
        logger.warning("Run %s died before its end: final manifest written (seq %s), not complete", dead_run, seq)
