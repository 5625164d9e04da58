"""Run ids: unique names for a run's files. Never an order: the manifests' ``seq`` is the order."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timezone

# 20261125T054925Z-1d7baf: the UTC start time (for people reading a folder) and a random suffix.
RUN_ID_RE = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{6}")


def run_id_error(value: object) -> str | None:
    """What is wrong with a ``-s RUN_ID`` value, or None (not given: the run makes its own).

    A run id names the run's files (``runs/<seq>-<run id>.json``, ``logs/<run id>.log``, its WARC and
    WACZ files), so only the shape :func:`new_run_id` makes is taken: nothing else can reach
    another folder (``../``) or pass for another kind of file."""
    if value is None:
        return None
    if RUN_ID_RE.fullmatch(str(value)):
        return None
    return f"must look like 20261125T054925Z-1d7baf (UTC start time, a dash, 6 hex digits), got {value!r}"


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)
