"""``scrapy verify [OUTPUT_DIR]``: check the archive (``crawler.archive.verify``), as archivists run
``warcio check`` or ``bagit validate``.

One line per problem on stdout, then a summary line; exit code 0 when the archive verifies, 1 when
anything is wrong (or OUTPUT_DIR holds no archive). A reader, like a consumer: it takes no crawl
lock and writes nothing, so it may run while a crawl does. Without an argument it checks the
``OUTPUT_DIR`` setting's folder.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from ..run import manifests


class Command(ScrapyCommand):
    """Check every manifest, records range, archive file, record pointer and revisit of OUTPUT_DIR."""

    requires_project = False
    requires_crawler_process = False  # nothing is crawled
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[OUTPUT_DIR]"

    def short_desc(self) -> str:
        return "Check an archive: manifests, records ranges, WARC/CDXJ/WACZ files, pointers and revisits"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) > 1:
            raise UsageError(f"scrapy verify takes one OUTPUT_DIR at most (got {' '.join(args)})")
        assert self.settings is not None
        output_dir = Path(args[0] if args else self.settings.get("OUTPUT_DIR"))
        if not (output_dir / manifests.RUNS_DIR).is_dir():
            print(f"scrapy verify: {output_dir} holds no archive (no {manifests.RUNS_DIR}/ folder)", file=sys.stderr)
            self.exitcode = 1
            return
        from ..archive.verify import check  # warcio, only when verifying
        report = check(output_dir)
        for problem in report.problems:
            print(problem)
        checked = (f"{report.manifests} manifests, {report.records} records, {report.pointers} pointers, "
                   f"{report.files} archive files, {report.revisits} revisits")
        if report.not_local:
            checked += f"; {report.not_local} records ranges committed elsewhere (not local), not checked"
        if report.problems:
            print(f"scrapy verify: {output_dir}: {len(report.problems)} problems ({checked})")
            self.exitcode = 1
        else:
            print(f"scrapy verify: {output_dir}: OK ({checked})")
