"""Atomic files: written hidden beside their target, fsynced, renamed into place."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

# A file being written is hidden: ``.<name>.part`` (feeds, manifests) or ``.<name>.open`` (WARC).
PART_PREFIX = "."
PART_SUFFIX = ".part"
OPEN_SUFFIX = ".open"


def part_path(path: Path) -> Path:
    """The hidden file written before it is renamed to ``path``."""
    return path.with_name(f"{PART_PREFIX}{path.name}{PART_SUFFIX}")


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write JSON to a hidden part file, fsync, rename into place, fsync the folder.

    On any error the part file is removed and the error raised: the target is either the old
    file or the whole new one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(path)
    try:
        with part.open("w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, indent=2, default=str)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    try:
        fsync_dir(path.parent)
    except OSError as error:  # the file is in place; only the rename's durability is in doubt
        logger.warning("Could not fsync %s after writing %s: %s", path.parent, path.name, error)


def sha256_of(path: Path, offset: int = 0, length: int | None = None) -> str:
    """SHA-256 of a file, or of ``length`` bytes of it from ``offset``."""
    digest = hashlib.sha256()
    remaining = length
    with path.open("rb") as handle:
        handle.seek(offset)
        while remaining is None or remaining > 0:
            chunk = handle.read(1 << 20 if remaining is None else min(1 << 20, remaining))
            if not chunk:
                break
            digest.update(chunk)
            if remaining is not None:
                remaining -= len(chunk)
    return digest.hexdigest()
