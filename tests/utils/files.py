"""What a folder holds, for tests that check a command wrote nothing (or nothing more)."""

from __future__ import annotations

from pathlib import Path


def files_under(directory: Path) -> list[str]:
    """The files under ``directory``, as sorted paths relative to it."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())
