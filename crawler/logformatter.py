"""Log lines for dropped records: URL and reason, not the whole article body."""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Spider
from scrapy.http import Response
from scrapy.logformatter import LogFormatter, LogFormatterResult
from twisted.python.failure import Failure


class ArchiveLogFormatter(LogFormatter):
    """Scrapy's formatter, with a one-line message for dropped items (the reason names the URL)."""

    def dropped(self, item: Any, exception: BaseException, response: Response | Failure | None,
                spider: Spider) -> LogFormatterResult:
        level = getattr(exception, "log_level", None) or "INFO"
        return {"level": getattr(logging, str(level).upper(), logging.INFO),
                "msg": "Dropped: %(exception)s", "args": {"exception": exception}}
