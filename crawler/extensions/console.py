"""What ``scrapy crawl`` shows on stderr: warnings, errors and the run's summary, whatever LOG_FILE says.

The full log goes to a file (``logs/<run id>.log`` unless LOG_FILE or ``--logfile`` names another),
so without this handler a cron run would mail nothing but its exit code, and a run given
``--logfile`` would hide even its errors. The handler sits on the root logger at WARNING; a record
logged with ``extra=SUMMARY`` (the run's verdict line, ``crawler/run/commit.py``) passes too, so a
complete run still says what it did. Each is one line: a traceback stays in the log file (an
unreachable site would otherwise mail Scrapy's stack traces). The live progress display (``progress.py``) is the only other
thing written to stderr, and only on a terminal.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

# ``logger.info(..., extra=SUMMARY)``: this line reaches stderr although it is no warning.
SUMMARY = {"console_summary": True}
FORMAT = "%(asctime)s [%(name)s] %(levelname)s: %(message)s"


class OneLineFormatter(logging.Formatter):
    """FORMAT, without the traceback a record may carry (the log file keeps it)."""

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info = record.exc_text = record.stack_info = None  # not cached for other handlers
        try:
            line = super().format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved
        return line + (" (traceback in the log file)" if saved[0] or saved[1] else "")


class ConsoleHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Warnings, errors and summary lines, to whatever ``sys.stderr`` is when each is logged.

    Resolved at each line, as ``logging.lastResort`` does: while the progress display runs, rich
    puts its own stderr in place, which prints the line above the display instead of through it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.setLevel(logging.DEBUG)  # the filter decides
        self.addFilter(wanted_on_console)
        self.setFormatter(OneLineFormatter(FORMAT))

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        """StreamHandler.__init__ sets a stream: ignored, the current stderr is always used."""


def wanted_on_console(record: logging.LogRecord) -> bool:
    """Whether a log record belongs on stderr: a warning or worse, or a summary line."""
    return record.levelno >= logging.WARNING or bool(getattr(record, "console_summary", False))


def install() -> ConsoleHandler:
    """Add the console handler to the root logger once (a second call returns the first)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, ConsoleHandler):
            return handler
    handler = ConsoleHandler()
    root.addHandler(handler)
    return handler
