"""``scrapy export --format wacz``: a WACZ of any range of committed runs, made on demand.

Why on demand: a WACZ holds its WARC files whole, so one written by every run (``WACZ_ENABLED``)
keeps each archived byte twice on disk (warc/ + wacz/ was 1.93× the WARC bytes). The archive keeps
one copy, its WARC files and their indexes; a WACZ is packed from them when someone wants one.

Built from the committed manifests only, as a consumer reads them:

- the manifests in range (``--runs``, ``--seq``, ``--since``; all when none is given), in ``seq`` order;
- the WARC files they list, with their ``.cdxj`` indexes, and any earlier WARC file a record in
  range points into (a picture an earlier run archived), each packed only if its bytes are the
  size and SHA-256 its manifest lists (checked as they are packed: one read, streamed);
- the pages: each article record in range (read through ``manifests.read_range``, which verifies
  every range), its URL, title and capture time; the latest record of a URL wins.

Written hidden in the export folder and renamed when whole (``crawler.archive.wacz.write_wacz``).
Its name: ``<spider>-<run id>.wacz`` for one run (the name a run's own WACZ had), else
``<spider>-<first seq>-<last seq>.wacz``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any

from ..archive.wacz import DamagedFile, Expected, is_page, pointed_files, write_wacz
from ..run import manifests
from ..run.files import fsync_dir
from ..run.ids import RUN_ID_RE
from .fold import ExportError
from .run import export_lock

logger = logging.getLogger(__name__)

DEFAULT_SPIDER = "sichuanpeace"  # a WACZ's name when its manifests name no spider


@dataclass(frozen=True)
class Selection:
    """Which committed manifests a WACZ holds; all of them when nothing is said."""

    since: datetime | None = None  # slices that ended at or after (UTC)
    runs: tuple[str, ...] = ()  # every slice of these runs
    seq: tuple[int, int] | None = None  # manifests from seq A to seq B, both included

    def describe(self) -> str:
        if self.runs:
            return f"runs {', '.join(self.runs)}"
        if self.seq:
            return f"seq {self.seq[0]}-{self.seq[1]}"
        return f"since {self.since.isoformat()}" if self.since else "every run"


def parse_seq(text: str) -> tuple[int, int]:
    """``A-B`` (or ``A``): a range of manifest seqs, both ends included."""
    first, _, last = text.partition("-")
    try:
        low, high = int(first), int(last or first)
    except ValueError:
        raise ValueError(f"--seq takes A-B (manifest seqs); got {text!r}") from None
    if low < 1 or high < low:
        raise ValueError(f"--seq takes A-B with 1 <= A <= B; got {text!r}")
    return low, high


def parse_since(text: str) -> datetime:
    """A date (``2026-12-01``, midnight UTC) or an ISO date and time (UTC unless it says its zone)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--since takes a date or an ISO date and time (2026-12-01, 2026-12-01T06:00); "
                         f"got {text!r}") from None
    if len(text) <= len("2026-12-01"):
        moment = datetime.combine(date.fromisoformat(text), time(), timezone.utc)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _read(ref: manifests.ManifestRef) -> dict[str, Any]:
    try:
        return ref.read()
    except (OSError, ValueError) as error:
        raise ExportError(f"cannot read manifest {ref.path}: {error}") from None


def selected(output_dir: Path, selection: Selection) -> list[dict[str, Any]]:
    """The manifests in range, in ``seq`` order."""
    refs = manifests.committed(output_dir)
    if selection.runs:
        missing = sorted(set(selection.runs) - {ref.run_id for ref in refs})
        if missing:
            raise ExportError(f"no committed manifest of run {', '.join(missing)} under {output_dir}")
        refs = [ref for ref in refs if ref.run_id in selection.runs]
    if selection.seq:
        refs = [ref for ref in refs if selection.seq[0] <= ref.seq <= selection.seq[1]]
    chosen = [_read(ref) for ref in refs]
    if selection.since:
        chosen = [m for m in chosen if m.get("end") and _utc(m["end"]) >= selection.since]
    return chosen


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class _Listings:
    """The manifest entries of archive files (``warc``, ``cdxj``) by file name, read from the
    manifests in range and, for a file an earlier run wrote, from that run's manifests (its run
    id is in the file's name), else from every manifest."""

    def __init__(self, output_dir: Path, chosen: list[dict[str, Any]]):
        self.output_dir = output_dir
        self.entries: dict[str, dict[str, Any]] = {}
        self.read_runs: set[str] = set()
        self.read_all = False
        for manifest in chosen:
            self._add(manifest)

    def _add(self, manifest: dict[str, Any]) -> None:
        for entry in manifest.get("files", []):
            if entry.get("kind") in ("warc", "cdxj") and entry.get("file"):
                self.entries.setdefault(entry["file"], entry)

    def entry(self, name: str) -> dict[str, Any]:
        found = self.entries.get(name)
        run = RUN_ID_RE.search(Path(name).name)
        if found is None and run and run.group(0) not in self.read_runs:
            self.read_runs.add(run.group(0))
            for ref in manifests.committed(self.output_dir):
                if ref.run_id == run.group(0):
                    self._add(_read(ref))
            found = self.entries.get(name)
        if found is None and not self.read_all:
            self.read_all = True
            for ref in manifests.committed(self.output_dir):
                self._add(_read(ref))
            found = self.entries.get(name)
        if found is None:
            raise ExportError(f"{name} is in no committed manifest: it cannot be packed as archived")
        return found

    def path(self, name: str) -> Path:
        path = Path(name)
        return path if path.is_absolute() else self.output_dir / path

    def expected(self, name: str) -> Expected:
        entry = self.entry(name)
        if "bytes" not in entry or "sha256" not in entry:
            raise ExportError(f"the manifest of {name} lists no size and SHA-256 to check it against")
        return int(entry["bytes"]), str(entry["sha256"])


def wacz_file_name(chosen: list[dict[str, Any]]) -> str:
    spider = next((m["spider"] for m in chosen if m.get("spider")), DEFAULT_SPIDER)
    runs = dict.fromkeys(m["run_id"] for m in chosen)
    if len(runs) == 1:
        return f"{spider}-{next(iter(runs))}.wacz"
    return f"{spider}-{chosen[0]['seq']:08d}-{chosen[-1]['seq']:08d}.wacz"


def export_wacz(output_dir: Path, export_dir: Path, selection: Selection) -> Path:
    """Write the WACZ of the manifests ``selection`` names into ``export_dir``; its path."""
    chosen = selected(output_dir, selection)
    if not chosen:
        raise ExportError(f"no committed manifest in range ({selection.describe()}) under {output_dir}")
    listings = _Listings(output_dir, chosen)
    names = dict.fromkeys(e["file"] for m in chosen for e in m.get("files", [])
                          if e.get("kind") == "warc" and e.get("file"))
    pages: dict[str, dict[str, Any]] = {}
    for manifest in chosen:
        try:
            for record in manifests.read_records(output_dir, manifest):
                names.update(dict.fromkeys(pointed_files(record)))
                if is_page(record):
                    pages.pop(record["url"], None)  # the latest record of a URL, in the order last seen
                    pages[record["url"]] = {"url": record["url"], "title": record.get("title") or record["url"],
                                            "capture": (Path(record["warc"]["file"]).name, record["warc"]["offset"])}
        except manifests.UnreadableRecords as error:
            raise ExportError(f"manifest {manifest.get('seq')} of run {manifest.get('run_id')}: {error}") from None
    if not names:
        raise ExportError(f"the runs in range ({selection.describe()}) archived nothing: no WACZ to make")
    expected: dict[Path, Expected] = {}
    for name in names:
        expected[listings.path(name)] = listings.expected(name)
        expected[listings.path(name + ".cdxj")] = listings.expected(name + ".cdxj")
    missing = [str(path) for path in expected if not path.is_file()]
    if missing:
        raise ExportError(f"{', '.join(missing)}: listed by a committed manifest but missing; no WACZ written")
    target = export_dir / wacz_file_name(chosen)
    title = f"{chosen[0].get('site') or DEFAULT_SPIDER} {selection.describe()}"
    try:
        with export_lock(export_dir):
            for stale in export_dir.glob(".*.wacz.open"):  # a killed export's: none writes here but this one
                stale.unlink()
            write_wacz(target, [listings.path(name) for name in names], list(pages.values()), title,
                       expected=expected)
    except DamagedFile as error:
        raise ExportError(f"{error}; no WACZ written") from None
    except OSError as error:
        raise ExportError(f"cannot write {target}: {error}; no WACZ written") from None
    fsync_dir(target.parent)
    logger.info("Wrote %s: %d WARC files, %d pages", target, len(names), len(pages))
    return target
