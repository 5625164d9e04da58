"""Contracts for ``scrapy check`` (SPIDER_CONTRACTS): sample pages on the site being crawled, and records.

Scrapy's ``@url`` takes a fixed URL, which would always be the live site. ``@path`` takes a path
and resolves it against the spider's ``base_url``, so the same contracts check the live site
(``scrapy check sichuanpeace``) or a mirror (``scrapy check sichuanpeace -a base_url=http://...``).

``@scrapes`` only checks that a field exists on the item, and the article item has every field from
the start (the body is built by the clean pipeline, which ``scrapy check`` does not run). ``@record``
runs each item through the clean and validate pipelines, as a crawl does, and checks the record a
consumer would get: valid against the schema, with the named fields filled.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from types import MethodType
from typing import Any
from urllib.parse import urljoin, urlsplit

from itemadapter import ItemAdapter, is_item
from scrapy import Spider
from scrapy.contracts import Contract
from scrapy.exceptions import ContractFail, DropItem

from .items import ArticleItem
from .pipelines.clean import CleanPipeline
from .pipelines.validate import ValidatePipeline


class PathContract(Contract):
    """``@path /scyw/20211103/2541288.html``: the sample URL, on the spider's ``base_url``."""

    name = "path"

    def __init__(self, method: Callable[..., Any], *args: Any):
        super().__init__(method, *args)
        self.method = method

    def adjust_request_args(self, args: dict[str, Any]) -> dict[str, Any]:
        if len(self.args) != 1 or not str(self.args[0]).startswith("/"):
            raise ValueError(f"@path takes one path starting with '/', got {' '.join(self.args)!r}")
        spider = getattr(self.method, "__self__", None)
        base_url = getattr(spider, "base_url", None)
        if not base_url or not urlsplit(base_url).hostname:
            raise ValueError("@path needs a spider with a base_url (an http(s) URL with a host)")
        args["url"] = urljoin(base_url, self.args[0])
        return args


class RecordContract(Contract):
    """``@record id title body``: each item, cleaned and validated as in a crawl, is a record with
    these fields filled (not None, not empty). Fails when the callback returned no item."""

    name = "record"

    def __init__(self, method: Callable[..., Any], *args: Any):
        super().__init__(method, *args)
        self.method = method

    def post_process(self, output: list[Any]) -> None:
        items = [x for x in output if is_item(x)]
        if not items:
            raise ContractFail("No item to check the record of")
        # Scrapy hands a contract the spider's bound callback.
        spider = self.method.__self__ if isinstance(self.method, MethodType) else None
        assert isinstance(spider, Spider)
        stats = spider.crawler.stats
        chain: list[CleanPipeline | ValidatePipeline] = [CleanPipeline(stats), ValidatePipeline(stats)]
        for item in items:
            built = copy.deepcopy(item)  # the callback's own item is left as it was
            try:
                for pipeline in chain:
                    built = pipeline.process_item(built)
            except DropItem as dropped:
                raise ContractFail(f"Dropped by {type(pipeline).__name__}: {dropped}") from None
            record = built.record() if isinstance(built, ArticleItem) else ItemAdapter(built).asdict()
            empty = [name for name in self.args if record.get(name) in (None, "", [], {})]
            if empty:
                raise ContractFail(f"Missing or empty record fields: {', '.join(empty)} ({record.get('url')})")
