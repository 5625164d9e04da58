"""Settings a run depends on, checked before anything is written: each wrong value is a clear
error (``scrapy crawl`` exits 1), never a silent default."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scrapy.settings import BaseSettings

from .ids import run_id_error
from .metrics import template_error
from .points import FaultInjection


def _number(kind: Callable[[Any], Any], low: float, high: float | None = None) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        try:
            number = kind(value)
        except (TypeError, ValueError):
            return f"must be a number, got {value!r}"
        if number < low or (high is not None and number > high):
            return f"must be between {low} and {high}, got {value!r}" if high is not None else \
                f"must be at least {low}, got {value!r}"
        return None
    return check


def _not_empty(value: Any) -> str | None:
    return None if value is not None and str(value).strip() else "must not be empty"


def _one_line(value: Any) -> str | None:
    """A WARC field's value: one line (a line break would end the field and start another)."""
    return None if value is None or not any(c in str(value) for c in "\r\n") else "must be one line"


def _flag(value: Any) -> str | None:
    if isinstance(value, bool) or value is None or value in (0, 1) or str(value).strip() in FLAG_TEXTS:
        return None
    return f"must be True or False, got {value!r}"


def _flag_or_auto(value: Any) -> str | None:
    """PROGRESS_ENABLED: a flag, or ``auto`` (on when stderr is a terminal)."""
    return None if str(value).strip().lower() == "auto" else _flag(value)


# What -s NAME=value may say for an on/off setting (Scrapy's getbool reads these).
FLAG_TEXTS = frozenset({"True", "False", "true", "false", "1", "0"})


def _fault(value: Any) -> str | None:
    try:
        FaultInjection(value or None)
    except ValueError as error:
        return str(error)
    return None


# Each setting with its rule; -s NAME=value reaches here as text.
RULES: dict[str, Callable[[Any], str | None]] = {
    "OUTPUT_DIR": _not_empty,
    # Names the run's files: only the shape the run makes itself (crawler/run/ids.py).
    "RUN_ID": run_id_error,
    "CHECKPOINT_RECORDS": _number(int, 1),
    "CHECKPOINT_SECONDS": _number(float, 0),
    "RUN_MAX_ERROR_RATE": _number(float, 0, 1),
    "LIST_PAGES_MAX": _number(int, 1),
    "LIST_EMPTY_PAGES_MAX": _number(int, 1),
    "RECHECK_BUDGET": _number(int, 0, 1_000_000),
    "WARC_MAX_SIZE": _number(int, 1),
    "WARC_GZIP_LEVEL": _number(int, 0, 9),
    "WARC_OPERATOR": _one_line,
    "REQUISITES_ENABLED": _flag,
    "REQUISITES_MAX_SIZE": _number(int, 1),
    "REQUISITES_OFFSITE": _flag,
    "WACZ_ENABLED": _flag,
    "FAULT_KILL_AT": _fault,
    "DISCOVERY_OTHER_SHAPES": _flag,
    "DISCOVERY_SITEMAPS": _flag,
    "DISCOVERY_FEEDS": _flag,
    "FLEET_MAX_RATE": _number(float, 0.001),
    "FLEET_IDLE_SECONDS": _number(float, 0),
    "FLEET_CLAIM_SECONDS": _number(float, 1),
    # Goes into the User-Agent header: a line break would end the header.
    "CONTACT": _one_line,
    "PROGRESS_ENABLED": _flag_or_auto,
    "PROGRESS_REFRESH_PER_SECOND": _number(float, 0.1, 60),
    "METRICS_ENABLED": _flag,
    "METRICS_FILE": template_error,
    "LOG_RETENTION_RUNS": _number(int, 0),
    "ACCOUNTING_LIST_MAX": _number(int, 0),
    # 0: glibc's own dynamic threshold; its largest on a 64-bit system is 32 MiB (mallopt(3)).
    "MALLOC_MMAP_THRESHOLD": _number(int, 0, 32 * 2**20),
}


def output_dir_error(value: Any) -> str | None:
    """Why OUTPUT_DIR cannot hold a run (a file, a read-only folder, a path that cannot be
    created), or None; found without writing anything."""
    if value is None or not str(value).strip():
        return None  # _not_empty says so
    path = Path(str(value)).absolute()
    if path.exists():
        if not path.is_dir():
            return f"OUTPUT_DIR {path} is not a folder"
        if not os.access(path, os.W_OK | os.X_OK):
            return f"OUTPUT_DIR {path} is not writable (a read-only file system, or its permissions)"
        return None
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"OUTPUT_DIR {path} cannot be created: {parent} is not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"OUTPUT_DIR {path} cannot be created: {parent} is not writable"
    return None


def setting_errors(settings: BaseSettings) -> list[str]:
    errors = []
    for name, rule in RULES.items():
        problem = rule(settings.get(name))
        if problem:
            errors.append(f"{name} {problem}")
    problem = output_dir_error(settings.get("OUTPUT_DIR"))
    if problem:
        errors.append(problem)
    return errors
