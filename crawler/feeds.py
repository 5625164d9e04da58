"""Feed URI parameters: lets FEEDS name files under the OUTPUT_DIR setting."""

from __future__ import annotations

from typing import Any

from scrapy import Spider


def uri_params(params: dict[str, Any], spider: Spider) -> dict[str, Any]:
    """Add ``output_dir`` (the OUTPUT_DIR setting) to the feed URI parameters."""
    return {**params, "output_dir": spider.settings.get("OUTPUT_DIR").rstrip("/")}
