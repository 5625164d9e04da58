"""``scrapy export``: the committed runs under OUTPUT_DIR as one dataset (``crawler.export``).

A reader of OUTPUT_DIR, like a consumer: it takes no crawl lock and writes only its export folder,
so it may run while a crawl does. ``-s OUTPUT_DIR=…`` names the crawl's folder, as for a crawl.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError


class Command(ScrapyCommand):
    """Fold the committed runs into the archive (JSONL, Parquet, SQLite with full-text search), or
    pack a range of them into a WACZ (``--format wacz``)."""

    requires_project = True
    requires_crawler_process = False  # nothing is crawled

    def syntax(self) -> str:
        return ("[--out DIR] [--format jsonl,parquet,sqlite,wacz] [--since DATE | --runs RUN_ID… | --seq A-B] "
                "[--search QUERY] [--limit N]")

    def short_desc(self) -> str:
        return ("Export every committed article, latest version and every revision (JSONL, Parquet, SQLite), "
                "or a WACZ of any runs")

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        from ..export import cli  # here, not at the top: every scrapy command imports this module
        cli.add_arguments(parser)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError(f"scrapy export takes no arguments (got {' '.join(args)}); OUTPUT_DIR comes from "
                             "the settings: -s OUTPUT_DIR=…")
        assert self.settings is not None
        from ..export import cli  # pyarrow, only when exporting
        self.exitcode = cli.run(Path(self.settings.get("OUTPUT_DIR")), opts)
