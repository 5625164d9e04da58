"""The run lock: one ``scrapy crawl`` per OUTPUT_DIR, and the only process that may write there.

The crawl command takes an exclusive ``flock`` on ``OUTPUT_DIR/.lock`` before anything is written.
Components that write (the commit, the WARC writer, the state store) ask ``holds(output_dir)``:
only a process holding the lock writes, so ``scrapy shell``, ``parse``, ``check``, ``bench`` and
crawls started from Python code leave OUTPUT_DIR as they found it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

LOCK_FILE = ".lock"

# Lock files this process holds, by resolved OUTPUT_DIR.
_HELD: dict[Path, IO[str]] = {}


class Locked(Exception):
    """Another process holds the OUTPUT_DIR lock."""

    def __init__(self, output_dir: Path, holder: str):
        super().__init__(f"{output_dir} is locked by {holder}")
        self.holder = holder


def acquire(output_dir: Path, run_id: str) -> None:
    """Take the lock (creating OUTPUT_DIR), or raise Locked; the lock lives as long as the process."""
    key = output_dir.resolve()
    if key in _HELD:
        return
    output_dir.mkdir(parents=True, exist_ok=True)
    handle = (output_dir / LOCK_FILE).open("a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another run"
        handle.close()
        raise Locked(output_dir, holder) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"run {run_id} (pid {os.getpid()})\n")
    handle.flush()
    _HELD[key] = handle


def holds(output_dir: str | Path | None) -> bool:
    """Whether this process holds the lock of ``output_dir``."""
    return output_dir is not None and output_dir != "" and Path(output_dir).resolve() in _HELD
