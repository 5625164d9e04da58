"""The default feed: one JSONL file per run under OUTPUT_DIR, unless -O/-o gives another."""

from __future__ import annotations

from typing import Any

from scrapy import Spider
from scrapy.settings import BaseSettings

DEFAULT_FEED_URI = "%(output_dir)s/sichuanpeace-%(time)s.jsonl"


class DefaultFeed:
    """Add-on: set FEEDS to the per-run file when the command line named no feed."""

    def update_settings(self, settings: BaseSettings) -> None:
        if not settings.getdict("FEEDS"):
            settings.set("FEEDS", {DEFAULT_FEED_URI: {"format": "jsonlines", "encoding": "utf-8"}}, priority="addon")


def uri_params(params: dict[str, Any], spider: Spider) -> dict[str, Any]:
    """Add ``output_dir`` (the OUTPUT_DIR setting) to the feed URI parameters."""
    return {**params, "output_dir": spider.settings.get("OUTPUT_DIR").rstrip("/")}
