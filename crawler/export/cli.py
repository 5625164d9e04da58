"""The export's command line, shared by ``scrapy export`` (OUTPUT_DIR from the project's settings,
``-s OUTPUT_DIR=…``) and the ``sichuanpeace-export OUTPUT_DIR`` script (no Scrapy needed).

Exit codes: 0 done; 1 the archive cannot be folded or packed (a range that does not check, records
not in a local file, an SQLite without the trigram tokenizer, a WARC or CDXJ file that is not the
one its manifest lists) or bad options; 3 another export is writing the same folder.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import exitcodes
from .fold import ExportError
from .run import ARCHIVE_DB, EXPORT_DIR, FORMATS, ExportLocked, ExportReport, export
from .search import TRIGRAM, indexed, search, terms_of
from .store import ArchiveStore, ExportStoreError, check_sqlite
from .wacz import Selection, export_wacz, parse_seq, parse_since

DEFAULT_LIMIT = 20
# Made only when asked (--format wacz): it copies the WARC files it holds (crawler/export/wacz.py).
WACZ = "wacz"
DESCRIPTION = ("Fold the committed runs under OUTPUT_DIR into one dataset: every article, its latest version, "
               "and every revision (JSONL, Parquet, SQLite with full-text search).")
OK = 0  # exitcodes.FAILED and LOCKED mean here what they mean for a crawl; "complete" does not apply


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="DIR", help=f"the export folder (default: OUTPUT_DIR/{EXPORT_DIR})")
    parser.add_argument("--format", default=",".join(FORMATS), metavar="LIST",
                        help="outputs to write, comma-separated: jsonl, parquet, sqlite (default: all three; "
                             f"{ARCHIVE_DB} is always kept, it is the export's state), and wacz, only when asked "
                             "(a WACZ of the runs --since, --runs or --seq name, else of every run)")
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("--since", metavar="DATE", help="the WACZ holds the slices committed at or after DATE "
                       "(2026-12-01 or 2026-12-01T06:00, UTC unless a zone is given)")
    scope.add_argument("--runs", nargs="+", metavar="RUN_ID", help="the WACZ holds these runs")
    scope.add_argument("--seq", metavar="A-B", help="the WACZ holds the manifests of seq A to B")
    parser.add_argument("--search", metavar="QUERY",
                        help="do not export: print the articles of the exported database matching QUERY")
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT, metavar="N",
                        help=f"at most N search results (default {DEFAULT_LIMIT})")


def _formats(value: str) -> tuple[str, ...]:
    formats = tuple(f.strip() for f in value.split(",") if f.strip())
    unknown = sorted(set(formats) - {*FORMATS, WACZ})
    if not formats or unknown:
        raise ValueError(f"--format takes {', '.join((*FORMATS, WACZ))}; got {value!r}")
    return formats


def _selection(opts: argparse.Namespace, formats: tuple[str, ...]) -> Selection | None:
    """The WACZ's runs, when --format asks for a WACZ; --since, --runs and --seq say nothing else."""
    chosen = [f"--{name}" for name in ("since", "runs", "seq") if getattr(opts, name, None)]
    if WACZ not in formats:
        if chosen:
            raise ValueError(f"{chosen[0]} chooses the runs of a WACZ: give --format wacz")
        return None
    return Selection(since=parse_since(opts.since) if getattr(opts, "since", None) else None,
                     runs=tuple(getattr(opts, "runs", None) or ()),
                     seq=parse_seq(opts.seq) if getattr(opts, "seq", None) else None)


def summary(report: ExportReport, export_dir: Path) -> str:
    records = f"{report.folded_records} record{'' if report.folded_records == 1 else 's'}"
    lines = [f"Folded {report.folded_manifests} of {report.manifests} manifests ({records})"
             + (f", built from nothing: {report.rebuilt}" if report.rebuilt else "") + f" into {export_dir}"]
    for table, by_status in report.counts.items():
        total = sum(by_status.values())
        lines.append(f"{table}: {total} rows ({', '.join(f'{s} {n}' for s, n in by_status.items())})")
    lines.append("Written: " + (", ".join(report.written) or "nothing (up to date)"))
    return "\n".join(lines)


def print_search(export_dir: Path, query: str, limit: int) -> int:
    db_path = export_dir / ARCHIVE_DB
    if not db_path.exists():
        print(f"sichuanpeace export: no {db_path} yet: run the export first", file=sys.stderr)
        return exitcodes.FAILED
    check_sqlite()
    store = ArchiveStore.open(db_path)
    try:
        hits = search(store, query, limit)
    finally:
        store.close()
    for hit in hits:
        print(f"{hit.title}{'  [deleted]' if hit.deleted else ''}\n  {hit.url}  {hit.published_at or ''}\n"
              f"  {hit.snippet}\n")
    how = "full-text index" if indexed(query) else (
        f"a scan: the index holds no term shorter than {TRIGRAM} characters")
    print(f"{len(hits)} {'article' if len(hits) == 1 else 'articles'} matching {query!r} ({how})")
    return OK


def run(output_dir: Path, opts: argparse.Namespace) -> int:
    """Export (or search) as the options say; the exit code."""
    export_dir = Path(opts.out) if opts.out else output_dir / EXPORT_DIR
    try:
        if opts.limit < 1:
            raise ValueError(f"--limit must be 1 or more; got {opts.limit}")
        formats = _formats(opts.format)
        if opts.search is not None:
            if not terms_of(opts.search):
                raise ValueError("--search needs a term")
            return print_search(export_dir, opts.search, opts.limit)
        selection = _selection(opts, formats)
        tables = tuple(f for f in formats if f != WACZ)
        report = export(output_dir, export_dir, tables) if tables else None
        wacz = export_wacz(output_dir, export_dir, selection) if selection is not None else None
    except ExportLocked as error:
        print(f"sichuanpeace export: {error}", file=sys.stderr)
        return exitcodes.LOCKED
    except (ExportError, ExportStoreError, ValueError) as error:
        print(f"sichuanpeace export: {error}", file=sys.stderr)
        return exitcodes.FAILED
    if report is not None:
        print(summary(report, export_dir))
    if wacz is not None:
        print(f"WACZ written: {wacz}")
    return OK


def main(argv: list[str] | None = None) -> int:
    """``sichuanpeace-export OUTPUT_DIR [options]``."""
    parser = argparse.ArgumentParser(prog="sichuanpeace-export", description=DESCRIPTION)
    parser.add_argument("output_dir", metavar="OUTPUT_DIR", help="the crawl's OUTPUT_DIR")
    add_arguments(parser)
    opts = parser.parse_args(argv)
    return run(Path(opts.output_dir), opts)


if __name__ == "__main__":
    sys.exit(main())
