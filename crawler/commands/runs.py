"""``scrapy runs``: the archive's history at a glance, from the manifests (``crawler.history``).

    scrapy runs                        one line per run: seqs, run id, start, duration, exit code, counts
    scrapy runs --article 2992286      every revision of one article, each change as a word diff
    scrapy runs --deleted [--since D]  the articles the site removed, with their last content and when

``--json`` prints the same as JSON lines. A reader like ``scrapy export``: no lock, nothing written,
so it may run while a crawl does (it sees what is committed). A manifest or committed range that
cannot be read as committed is one line on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from .. import history

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The columns of the run list: (header, width).
RUN_COLUMNS: tuple[tuple[str, int], ...] = (
    ("SEQ", 9), ("RUN ID", 23), ("START (UTC)", 19), ("TOOK", 8), ("EXIT", 4), ("NEW", 6), ("MODIFIED", 8),
    ("DELETED", 7), ("RESTORED", 8), ("FAILED", 6), ("BROKEN LINKS", 12))


def duration(seconds: int | None) -> str:
    if seconds is None:
        return "?"
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def run_line(run: history.RunSummary) -> list[str]:
    counts = run.counts
    seqs = f"{run.first_seq}" if run.first_seq == run.last_seq else f"{run.first_seq}-{run.last_seq}"
    start = (run.start or "?").replace("T", " ").replace("+00:00", "")[:19]
    if not run.final:
        return [seqs, run.run_id, start, duration(run.duration_seconds), "-",
                "(running, or died: no final manifest yet)"]
    exit_code = "?" if run.exit_code is None else str(run.exit_code)
    return [seqs, run.run_id, start, duration(run.duration_seconds), exit_code,
            *(str(counts.get(name, "?"))
              for name in ("new", "modified", "deleted", "restored", "failed", "broken_links"))]


def print_table(rows: Iterable[list[str]]) -> None:
    """Left-aligned seq, run id and start; the figures right-aligned under their headers."""
    def line(values: Iterable[str]) -> str:
        return "  ".join(f"{value:<{width}}" if i < 3 else f"{value:>{width}}"
                         for i, (value, (_, width)) in enumerate(zip(values, RUN_COLUMNS, strict=False))).rstrip()
    print(line(name for name, _ in RUN_COLUMNS))
    for row in rows:
        print(line(row))


def print_revision(revision: history.Revision) -> None:
    record, committed = revision.committed.record, revision.committed
    print(f"revision {record.get('revision')} {record.get('status')}  fetched {record.get('fetched_at')}  "
          f"run {committed.run_id} (seq {committed.seq})  {record.get('url')}")
    if record.get("status") == "new" or (not revision.changes and record.get("status") != "deleted"):
        print(f"  title: {record.get('title')}")
    for name, change in revision.changes.items():
        if name == "title":
            print(f"  title: {change}")
        elif name == "body":
            print("  body:")
            for line in change:
                print(f"    {line}")
        else:
            old, new = (json.dumps(change[side], ensure_ascii=False) for side in ("old", "new"))
            print(f"  {name}: {old} -> {new}")
    print()


def print_deletion(deletion: history.Deletion) -> None:
    record = deletion.deleted.record
    print(f"{record.get('fetched_at')}  deleted  {record.get('site')} {record.get('id')}  {record.get('url')}  "
          f"(run {deletion.deleted.run_id}, seq {deletion.deleted.seq})")
    if deletion.last is None:
        print("  no content committed before its deletion")
    else:
        last = deletion.last.record
        print(f"  last content: revision {last.get('revision')}, fetched {last.get('fetched_at')} "
              f"(seq {deletion.last.seq}), published {last.get('published_at')}")
        print(f"  title: {last.get('title')}")
        for paragraph in (last.get("body") or "").split("\n"):
            print(f"    {paragraph}")
    print()


def json_line(value: dict[str, Any]) -> None:
    print(json.dumps(value, ensure_ascii=False))


class Command(ScrapyCommand):
    """List the runs; one article's revisions; the deleted articles."""

    requires_project = True
    requires_crawler_process = False  # nothing is crawled

    def syntax(self) -> str:
        return "[--article ID [--site HOST] | --deleted [--since YYYY-MM-DD]] [--json]"

    def short_desc(self) -> str:
        return "The archive's history: its runs, one article's revisions, the deleted articles"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--article", metavar="ID", help="every revision of this article, with what each changed")
        parser.add_argument("--site", metavar="HOST", help="with --article: only this site's article of that id")
        parser.add_argument("--deleted", action="store_true",
                            help="the articles the site removed, with their last content")
        parser.add_argument("--since", metavar="YYYY-MM-DD",
                            help="with --deleted: those deleted on or after this day (UTC)")
        parser.add_argument("--json", action="store_true", help="JSON lines instead of text")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError(f"scrapy runs takes no arguments (got {' '.join(args)}); OUTPUT_DIR comes from the "
                             "settings: -s OUTPUT_DIR=…")
        if opts.article and opts.deleted:
            raise UsageError("give --article or --deleted, not both")
        if opts.since and not opts.deleted:
            raise UsageError("--since goes with --deleted")
        if opts.site and not opts.article:
            raise UsageError("--site goes with --article")
        if opts.since and not DATE_RE.match(opts.since):
            raise UsageError(f"--since takes a date like 2024-01-31, got {opts.since!r}")
        assert self.settings is not None
        output_dir = Path(self.settings.get("OUTPUT_DIR"))
        try:
            found = self._show(output_dir, opts)
        except history.HistoryError as error:
            print(f"scrapy runs: {error}", file=sys.stderr)
            self.exitcode = 1
            return
        if not found:
            print(f"scrapy runs: {self._nothing(output_dir, opts)}", file=sys.stderr)

    @staticmethod
    def _show(output_dir: Path, opts: argparse.Namespace) -> int:
        """Print what was asked for, streaming; how many entries were printed."""
        shown = 0
        if opts.article:
            for revision in history.revisions(output_dir, opts.article, opts.site):
                json_line(revision.as_json()) if opts.json else print_revision(revision)
                shown += 1
        elif opts.deleted:
            for deletion in history.deletions(output_dir, opts.since):
                json_line(deletion.as_json()) if opts.json else print_deletion(deletion)
                shown += 1
        else:
            summaries = history.runs(output_dir)
            if opts.json:
                for run in summaries:
                    json_line(run.as_json())
            elif summaries:
                print_table(run_line(run) for run in summaries)
            shown = len(summaries)
        return shown

    @staticmethod
    def _nothing(output_dir: Path, opts: argparse.Namespace) -> str:
        if opts.article:
            return f"no committed record of article {opts.article} in {output_dir}"
        if opts.deleted:
            return f"no deleted article{' since ' + opts.since if opts.since else ''} in {output_dir}"
        return f"no committed run in {output_dir}"
