"""The archive's history, read from its manifests as a consumer reads them (``scrapy runs``).

- ``runs``: one summary per run, from the manifests alone (no record is read);
- ``revisions``: every record of one article, in commit order, each with what changed since the one
  before (a word-level diff of the title and the body, the other content fields old and new);
- ``deletions``: the articles the site removed (their last ``deleted`` record, not followed by a
  return), each with the last content the archive holds of it.

Records are read only through ``manifests.read_range`` (bytes, SHA-256 and count verified), one
committed range at a time: memory holds one range and what is being answered (one article's
revisions; the deleted articles), never the archive. The cost is a scan: every committed range is
read, and its SHA-256 computed, once per question (twice for ``deletions``), as a full read of the
archive costs; ``revisions`` parses only the lines that hold the article's id, ``deletions`` every line.

Chinese has no spaces, so a "word" is a run of Latin letters and digits, a run of white space, or
one other character (each Han character its own token); difflib's matcher groups the changed tokens
into runs, shown as ``[-removed-]{+added+}`` the way ``git diff --word-diff`` shows them.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .items import CONTENT_FIELDS, STATUS_DELETED
from .run import manifests

# One token of a word diff: a Latin word or number (with its inner punctuation), white space, or one character.
TOKEN_RE = re.compile(r"[A-Za-z0-9]+(?:[.,:/_'-][A-Za-z0-9]+)*|\s+|.", re.S)
# The content fields diffed word by word; the others (lists, dates) are shown old and new.
TEXT_FIELDS = ("title", "body")


class HistoryError(Exception):
    """A manifest or a committed range that cannot be read as committed: named, for one line on stderr."""


@dataclass(frozen=True)
class Committed:
    """A record and the commit that holds it."""

    seq: int
    run_id: str
    record: dict[str, Any]


def _manifests(output_dir: Path) -> Iterator[tuple[int, str, Path]]:
    """(seq, run id, path) of every manifest in the consumer's order: 0.1.0's (seq 0) first."""
    for path in manifests.legacy(output_dir):
        yield 0, path.stem, path
    for ref in manifests.committed(output_dir):
        yield ref.seq, ref.run_id, ref.path


def _read(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as error:
        raise HistoryError(f"unreadable manifest {path}: {error}") from None


def records(output_dir: Path, containing: bytes | None = None) -> Iterator[Committed]:
    """Every committed record, in commit order, each range read verified (``manifests.read_range``);
    with ``containing``, only the lines holding those bytes are parsed (a filter, not a match: the
    caller still checks the record)."""
    for seq, run_id, path in _manifests(output_dir):
        manifest = _read(path)
        for entry in manifest.get("files", []):
            if entry.get("kind") != "records":
                continue
            try:
                data = manifests.read_range(output_dir, entry)
            except manifests.UnreadableRecords as error:
                raise HistoryError(f"manifest {path.name}: {error}") from None
            for line in data.splitlines():
                if line.strip() and (containing is None or containing in line):
                    yield Committed(seq, manifest.get("run_id", run_id), json.loads(line))


# --- runs ------------------------------------------------------------------------------------------

@dataclass
class RunSummary:
    """One run as its manifests tell it."""

    run_id: str
    first_seq: int
    last_seq: int
    site: str | None = None
    start: str | None = None
    end: str | None = None
    final: bool = False
    exit_code: int | None = None
    complete: bool | None = None
    recovered: bool = False
    records: int = 0
    counts: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_seconds(self) -> int | None:
        if not (self.start and self.end):
            return None
        return int((datetime.fromisoformat(self.end) - datetime.fromisoformat(self.start)).total_seconds())

    def as_json(self) -> dict[str, Any]:
        counts = self.counts
        return {"run_id": self.run_id, "seq": [self.first_seq, self.last_seq], "site": self.site, "start": self.start,
                "end": self.end, "duration_seconds": self.duration_seconds, "final": self.final,
                "exit_code": self.exit_code, "complete": self.complete, "recovered": self.recovered,
                "records": self.records,
                **{name: counts.get(name) for name in ("new", "modified", "deleted", "restored", "unchanged")},
                "failed": counts.get("failed"), "broken_links": counts.get("broken_links")}


def runs(output_dir: Path) -> list[RunSummary]:
    """Every run, in the order of its first commit; one without a final manifest is still running or died
    (the next crawl gives it one). Manifests only: no record is read."""
    found: dict[str, RunSummary] = {}
    for seq, run_id, path in _manifests(output_dir):
        manifest = _read(path)
        run_id = manifest.get("run_id", run_id)
        run = found.setdefault(run_id, RunSummary(run_id, seq, seq))
        run.last_seq = seq
        run.site = manifest.get("site") or run.site
        run.start = run.start or manifest.get("run_start") or manifest.get("start")
        run.end = manifest.get("end") or run.end
        run.records += manifest.get("records") or 0
        if manifest.get("final") or "complete" in manifest:  # 0.1.0's have no ``final``: one per run
            run.final = True
            run.start = manifest.get("run_start") or run.start
            run.exit_code = manifest.get("exit_code")
            run.complete = manifest.get("complete")
            run.recovered = bool(manifest.get("recovered"))
            run.counts = manifest.get("counts") or {}
    return list(found.values())


# --- one article's revisions -----------------------------------------------------------------------

def tokens(text: str) -> list[str]:
    return TOKEN_RE.findall(text)


def word_diff(old: str, new: str) -> str:
    """``new`` with what changed since ``old`` marked ``[-removed-]`` and ``{+added+}``."""
    before, after = tokens(old), tokens(new)
    shown = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        if op == "equal":
            shown.append("".join(before[i1:i2]))
            continue
        if i2 > i1:
            shown.append("[-" + "".join(before[i1:i2]) + "-]")
        if j2 > j1:
            shown.append("{+" + "".join(after[j1:j2]) + "+}")
    return "".join(shown)


def paragraph_diff(old: str, new: str) -> list[str]:
    """The changed paragraphs of a body (one a line), each numbered as in ``new`` and word-diffed."""
    before, after = old.split("\n"), new.split("\n")
    shown = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        pairs = max(i2 - i1, j2 - j1)
        for k in range(pairs):
            was = before[i1 + k] if i1 + k < i2 else None
            now = after[j1 + k] if j1 + k < j2 else None
            where = f"¶{j1 + k + 1}" if now is not None else f"¶{j1 + 1} (removed)"
            if was is None:
                shown.append(f"{where}: {{+{now}+}}")
            elif now is None:
                shown.append(f"{where}: [-{was}-]")
            else:
                shown.append(f"{where}: {word_diff(was, now)}")
    return shown


def changes(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """What changed in the content fields from ``old`` (None: nothing before) to ``new``: a text
    field's word diff (the body's per changed paragraph), another field's ``{"old", "new"}``."""
    if old is None or new.get("status") == STATUS_DELETED:
        return {}
    changed: dict[str, Any] = {}
    for name in CONTENT_FIELDS:
        was, now = old.get(name), new.get(name)
        if was == now:
            continue
        if name == "title":
            changed[name] = word_diff(was or "", now or "")
        elif name == "body":
            changed[name] = paragraph_diff(was or "", now or "")
        else:
            changed[name] = {"old": was, "new": now}
    return changed


@dataclass(frozen=True)
class Revision:
    """One committed record of an article and what changed since the last content before it."""

    committed: Committed
    changes: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        record = self.committed.record
        return {"seq": self.committed.seq, "run_id": self.committed.run_id, "site": record.get("site"),
                "id": record.get("id"), "status": record.get("status"), "revision": record.get("revision"),
                "fetched_at": record.get("fetched_at"), "url": record.get("url"), "title": record.get("title"),
                "changes": self.changes}


def revisions(output_dir: Path, article_id: str, site: str | None = None) -> Iterator[Revision]:
    """Every committed record of one article (of ``site``, when given), in commit order, with its changes."""
    last_content: dict[str, dict[str, Any]] = {}  # per site: the last record that had content
    # The id as JSON writes it: a line without it is not parsed (most of an archive's bytes, skipped).
    for committed in records(output_dir, json.dumps(article_id, ensure_ascii=False).encode("utf-8")):
        record = committed.record
        if str(record.get("id")) != article_id or (site is not None and record.get("site") != site):
            continue
        where = record.get("site") or ""
        yield Revision(committed, changes(last_content.get(where), record))
        if record.get("status") != STATUS_DELETED:
            last_content[where] = record


# --- deletions -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Deletion:
    """An article the site removed: its deleted record and the last content the archive holds of it."""

    deleted: Committed
    last: Committed | None

    def as_json(self) -> dict[str, Any]:
        record = self.deleted.record
        return {"site": record.get("site"), "id": record.get("id"), "url": record.get("url"),
                "deleted_at": record.get("fetched_at"), "run_id": self.deleted.run_id, "seq": self.deleted.seq,
                "last": self.last.record if self.last else None,
                "last_seq": self.last.seq if self.last else None}


def deletions(output_dir: Path, since: str | None = None) -> list[Deletion]:
    """The articles whose latest record says ``deleted`` (removed, not back since), deleted on or
    after ``since`` (YYYY-MM-DD, UTC), in the order they were deleted; two scans of the records."""
    gone: dict[tuple[str, str], Committed] = {}
    for committed in records(output_dir):
        key = (committed.record.get("site") or "", str(committed.record.get("id")))
        if committed.record.get("status") == STATUS_DELETED:
            gone[key] = committed
        else:
            gone.pop(key, None)  # back (restored), or never gone
    wanted = {key: deleted for key, deleted in gone.items()
              if since is None or (deleted.record.get("fetched_at") or "")[:10] >= since}
    last: dict[tuple[str, str], Committed] = {}
    if wanted:
        for committed in records(output_dir):
            key = (committed.record.get("site") or "", str(committed.record.get("id")))
            if key in wanted and committed.record.get("status") != STATUS_DELETED:
                last[key] = committed  # before its deletion: the deletion is the key's latest record
    found = [Deletion(deleted, last.get(key)) for key, deleted in wanted.items()]
    return sorted(found, key=lambda d: (d.deleted.seq, d.deleted.record.get("fetched_at") or ""))
