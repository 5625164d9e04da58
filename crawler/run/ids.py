"""Run ids: unique names for a run's files. Never an order: the manifests' ``seq`` is the order."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timezone

# 20261125T054925Z-1d7baf: the UTC start time (for people reading a folder) and a random suffix.
RUN_ID_RE = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{6}")


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)
