"""``scrapy parse`` that shows the record a consumer would get, not the spider's raw item.

The article item leaves the spider with its body still in raw blocks: the clean pipeline builds
``body``, ``images`` and ``byline`` and removes the boilerplate, and the validate pipeline drops
records that are not fit to emit. So here the item pipelines run by default (``--nopipelines``
shows the raw items), each item is printed only once the whole chain has returned it (an item a
pipeline drops is logged, not printed), and an article is printed as its record
(``ArticleItem.record()``: the exported fields, in their order), without internal fields.

stdout holds only the records, one JSON object a line as in the run's records file (``| jq`` reads
it); the requests the callback would follow go to stderr (``--nolinks`` leaves them out). The log
is at WARNING unless ``-L`` / ``LOG_LEVEL`` says otherwise: a page's parse is not buried under
Scrapy's DEBUG lines.

Use the spider's ``parse`` callback to let it route the URL (article or list page)::

    scrapy parse --spider=sichuanpeace -a base_url=http://127.0.0.1:8000/ http://127.0.0.1:8000/scyw/20211103/2541288.html
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from typing import Any

from itemadapter import ItemAdapter
from scrapy.commands.parse import Command as ScrapyParseCommand
from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro
from twisted.internet.defer import Deferred

from ..items import ArticleItem
from ..spiders.arguments import spider_argument_errors

logger = logging.getLogger(__name__)


def shown(item: Any) -> dict[str, Any]:
    """What a consumer sees of an item: an article's record, any other item's fields."""
    if isinstance(item, ArticleItem):
        return item.record()
    return ItemAdapter(item).asdict()


def json_value(value: Any) -> Any:
    """What JSON makes of a value a raw item (``--nopipelines``) may hold: a block's fields, else its text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)


def json_line(item: Any) -> str:
    """An item as one line of JSON, Chinese as it is (the records file's encoding)."""
    return json.dumps(shown(item), ensure_ascii=False, default=json_value)


class Command(ScrapyParseCommand):
    """Scrapy's parse, with the item pipelines on by default and records printed as JSON lines."""

    # Below -L / LOG_LEVEL on the command line, above settings.py (priority "command").
    default_settings = {**ScrapyParseCommand.default_settings, "LOG_LEVEL": "WARNING"}

    def short_desc(self) -> str:
        return "Parse URL (using its spider), run the item pipelines and print the records as JSON lines"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.set_defaults(pipelines=True)
        parser.add_argument("--nopipelines", dest="pipelines", action="store_false",
                            help="print the items as the callback yields them, without the item pipelines")

    def scraped_data(self, args: tuple[Any, ...]) -> Any:
        items, requests, opts, depth, spider, callback = args
        # Scrapy's own handling runs the pipelines without waiting for them and prints an item even
        # when a pipeline dropped it. With -o/-O the items go back to the engine, whose pipelines
        # process them (running them here too would process each item twice).
        unpiped = argparse.Namespace(**{**vars(opts), "pipelines": False})
        if not opts.pipelines or opts.output:
            return super().scraped_data((items, requests, unpiped, depth, spider, callback))
        done: Deferred[list[Any]] = deferred_from_coro(self._through_pipelines(items))
        return done.addCallback(self._scraped_data_after_pipelines, requests, unpiped, depth, spider, callback)

    def _scraped_data_after_pipelines(self, kept: list[Any], *rest: Any) -> Any:
        return super().scraped_data((kept, *rest))

    async def _through_pipelines(self, items: list[Any]) -> list[Any]:
        """The items the whole pipeline chain returned, in order; dropped ones are logged."""
        assert self.pcrawler.engine is not None
        itemproc = self.pcrawler.engine.scraper.itemproc
        kept = []
        for item in items:
            try:
                kept.append(await itemproc.process_item_async(item))
            except DropItem as dropped:
                logger.warning("Not printed, dropped by the item pipelines: %s", dropped)
        return kept

    def print_items(self, lvl: int | None = None, colour: bool = True) -> None:
        """The records on stdout, one JSON line each (all depths, or depth ``lvl``)."""
        items = [item for level in self.items.values() for item in level] if lvl is None else self.items.get(lvl, [])
        for item in items:
            print(json_line(item))

    def print_requests(self, lvl: int | None = None, colour: bool = True) -> None:
        """The requests the callback would follow, on stderr: stdout is the records'."""
        if lvl is not None:
            requests = self.requests.get(lvl, [])
        else:
            requests = self.requests[max(self.requests)] if self.requests else []
        for request in requests:
            print(f"request: {request.method} {request.url}", file=sys.stderr)

    def print_results(self, opts: argparse.Namespace) -> None:
        if self.exitcode and not self.first_response:
            return  # refused or failed before anything was parsed: the error says it
        for level in range(1, self.max_level + 1) if opts.verbose else [None]:
            if level is not None:
                print(f"depth {level}:", file=sys.stderr)  # Scrapy's ">>> DEPTH LEVEL" header, off stdout
            if not opts.noitems:
                self.print_items(level)
            if not opts.nolinks:
                self.print_requests(level)

    def start_parsing(self, url: str, opts: argparse.Namespace) -> None:
        assert self.spidercls is not None
        errors = spider_argument_errors(self.spidercls, opts.spargs)
        if errors:  # refused before any request, in one line instead of a traceback
            print(f"scrapy parse: not parsing: {'; '.join(errors)}", file=sys.stderr)
            self.exitcode = 1
            return
        super().start_parsing(url, opts)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        super().run(args, opts)
        if self.spidercls and opts.depth > 0 and not self.first_response and not self.exitcode:
            self.exitcode = 1  # nothing was downloaded: Scrapy only logs it
