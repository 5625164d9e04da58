"""Functions for the extraction worker tests: importable by name in a spawned worker process."""

from __future__ import annotations

import os


def double(value: int) -> int:
    return value * 2


def die_on(value: int, fatal: int) -> int:
    """Kill the worker process (as a parser crash would) when ``value`` is ``fatal``."""
    if value == fatal:
        os._exit(70)
    return value * 2


def pid() -> int:
    return os.getpid()
