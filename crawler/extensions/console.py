"""What ``scrapy crawl`` shows on stderr: warnings and errors, a few of each kind, and nothing on success.

The full log goes to a file (``logs/<run id>.log`` unless LOG_FILE or ``--logfile`` names another),
so a cron job mails only what this handler prints: a complete run without warnings prints nothing (its
summary line is in the log file and its figures in the metrics file); a run that fails logs its
summary as an error (``crawler/run/commit.py``), so that line is printed, with the errors before it.

The level follows Scrapy's options: stderr shows the log's lines from ``LOG_LEVEL`` (``-L``) up, and
never below WARNING (INFO and DEBUG lines are the log file's; a terminal has the progress display);
``--nolog`` (LOG_ENABLED=False) prints nothing, though the run's log file is still written.

A warning repeated for many URLs (a WAF episode answers thousands of challenge pages) is printed
``PER_KIND`` times; the rest of that kind are counted and summed up in one line at the end of the run
(``… and 312 more failed requests (challenge)``). A kind is what the line says it is
(``extra=console_kind("failed requests (challenge)")``: the accounting names its bucket), else the
logger and the message's format string, before its arguments: the URL varies, the sentence does
not. The log file and the manifest keep every one.

Each line is one line: a traceback stays in the log file (an unreachable site would otherwise mail
Scrapy's stack traces). The live progress display (``progress.py``) is the only other thing written
to stderr, and only on a terminal.
"""

from __future__ import annotations

import logging
import re
import sys
from collections import Counter
from typing import Any, TextIO

FORMAT = "%(asctime)s [%(name)s] %(levelname)s: %(message)s"
# Lines of one kind printed before the rest are only counted.
PER_KIND = 5
# The lowest level stderr shows, whatever LOG_LEVEL says: below it is the log file's.
LOWEST_LEVEL = logging.WARNING
# printf-style placeholders of a format string: shown as "…" in the closing count.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdrifgeExXoac%]")


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


def console_kind(kind: str) -> dict[str, str]:
    """``logger.warning(..., extra=console_kind("failed requests (challenge)"))``: the line's kind, named."""
    return {"console_kind": kind}


def kind_of(record: logging.LogRecord) -> str | tuple[str, str]:
    """What makes two log lines "the same warning": their named kind, else logger and unformatted message."""
    return getattr(record, "console_kind", None) or (record.name, str(record.msg))


def describe_kind(kind: str | tuple[str, str]) -> str:
    """A kind as the closing line names it: its name, or the message with its arguments elided and the logger."""
    if isinstance(kind, str):
        return kind
    name, message = kind
    sentence = PLACEHOLDER.sub(lambda m: "%" if m.group() == "%%" else "…", message)
    return f'"{sentence}" ({name})'


class ConsoleHandler(logging.StreamHandler):
    """Lines from ``level`` up, ``PER_KIND`` of each kind, to whatever ``sys.stderr`` is when each is logged.

    Resolved at each line, as ``logging.lastResort`` does: while the progress display runs, rich
    puts its own stderr in place, which prints the line above the display instead of through it.
    """

    def __init__(self, level: int = LOWEST_LEVEL, log_file: str | None = None) -> None:
        super().__init__()
        self.setLevel(max(level, LOWEST_LEVEL))
        self.setFormatter(OneLineFormatter(FORMAT))
        self.log_file = log_file
        self.printed: Counter[str | tuple[str, str]] = Counter()
        self.held_back: Counter[str | tuple[str, str]] = Counter()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        """StreamHandler.__init__ sets a stream: ignored, the current stderr is always used."""

    def filter(self, record: logging.LogRecord) -> Any:
        if not super().filter(record):
            return False
        kind = kind_of(record)
        if self.printed[kind] >= PER_KIND:
            self.held_back[kind] += 1
            return False
        self.printed[kind] += 1
        return True

    def finish(self) -> None:
        """One line per kind that was held back, saying how many more the log file has; once."""
        where = f" (all in {self.log_file})" if self.log_file else " (all in the log file)"
        for kind, count in self.held_back.items():
            self.stream.write(f"… and {count} more {describe_kind(kind)}{where}\n")
        self.held_back.clear()
        self.flush()


def console_level(settings: Any) -> int | None:
    """The level stderr shows for these settings (LOG_LEVEL, never below WARNING), or None for --nolog."""
    if not settings.getbool("LOG_ENABLED"):
        return None
    level = settings.get("LOG_LEVEL")
    if not isinstance(level, int):
        level = logging.getLevelName(str(level).upper())
    return max(level if isinstance(level, int) else logging.DEBUG, LOWEST_LEVEL)


def install(level: int = LOWEST_LEVEL, log_file: str | None = None) -> ConsoleHandler:
    """Add the console handler to the root logger once (a second call returns the first)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, ConsoleHandler):
            return handler
    handler = ConsoleHandler(level, log_file)
    root.addHandler(handler)
    return handler
