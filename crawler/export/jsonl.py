"""JSONL output: one JSON object per line, UTF-8, Chinese as itself (no ``\\u`` escapes).

The lines come whole from the database (``ArchiveStore.json_blocks``: SQLite's ``json_object``), so
writing a table is a copy, not a decode and an encode per row in Python; the Parquet part of a fold
reads the lines just appended back from the file (``blocks_of``) rather than from the database again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

BLOCK_BYTES = 8 << 20  # lines read back at a time: a Parquet row group of a couple of thousand rows


def write_jsonl(blocks: Iterable[bytes], handle: BinaryIO) -> None:
    """Write the blocks (whole lines, each ended by a newline) at ``handle``'s position."""
    for block in blocks:
        handle.write(block)


def blocks_of(path: Path, start: int, end: int) -> Iterator[bytes]:
    """The lines of ``path`` from byte ``start`` to ``end`` (both at a line's start), in blocks of
    whole lines of about ``BLOCK_BYTES``."""
    with path.open("rb") as handle:
        handle.seek(start)
        left, rest = end - start, b""
        while left > 0 and (data := handle.read(min(BLOCK_BYTES, left))):
            left -= len(data)
            data = rest + data
            cut = len(data) if left == 0 else data.rfind(b"\n") + 1
            if cut:
                yield data[:cut]
            rest = data[cut:]
