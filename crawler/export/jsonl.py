"""JSONL output: one JSON object per line, UTF-8, Chinese as itself (no ``\\u`` escapes)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def write_jsonl(rows: Iterable[dict[str, Any]], path: Path) -> int:
    """Write the rows to ``path`` (the caller renames it into place); the number written."""
    count = 0
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
            handle.write("\n")
            count += 1
    return count
