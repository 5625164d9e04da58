"""``scrapy check`` that says why a spider could not be built instead of "Ran 0 contracts ... OK".

Scrapy's check runs with logging off, so a spider whose arguments are refused (``-a chanels=``)
fails silently: the run prints an empty, successful test summary and exits 1. Here the spider's
arguments are checked first (the spider's ``argument_errors``) and every problem is printed on
stderr (exit code 1, nothing fetched).
The contracts themselves are in the spider's callbacks and ``crawler.contracts``.
"""

from __future__ import annotations

import argparse
import sys

from scrapy.commands.check import Command as ScrapyCheckCommand

from ..spiders.arguments import spider_argument_errors


class Command(ScrapyCheckCommand):
    """Scrapy's check, with the spider arguments checked before any request."""

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if not opts.list:
            assert self.crawler_process is not None
            loader = self.crawler_process.spider_loader
            for name in args or loader.list():
                errors = spider_argument_errors(loader.load(name), opts.spargs)
                if errors:
                    print(f"scrapy check {name}: not checking: {'; '.join(errors)}", file=sys.stderr)
                    self.exitcode = 1
                    return
        super().run(args, opts)
