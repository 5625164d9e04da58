"""A disk full for a while, under the records or under the WARC archive: the writes numbered by an
environment variable (``6-8``, counted from 1 in the process) fail with ENOSPC after half their
bytes, as a volume that fills up and is freed again would.

- ``FullForAWhileStorage``, a feed storage: its writes numbered FULL_DISK_WRITES fail;
- ``FullDiskWarcMiddleware``, the crawl's WARC middleware: its writes numbered
  WARC_FULL_DISK_WRITES fail (each file's warcinfo record not counted).
"""

from __future__ import annotations

import errno
import os
from collections import Counter
from typing import IO, Any

from crawler.downloadermiddlewares.warc import WarcArchiveMiddleware
from crawler.run.feeds import AtomicFileFeedStorage

WRITES: Counter[str] = Counter()  # per environment variable: the writes counted so far


class FullFile:
    def __init__(self, inner: IO[bytes], variable: str):
        self.inner = inner
        self.variable = variable
        first, _, last = os.environ[variable].partition("-")
        self.full = range(int(first), int(last or first) + 1)

    def write(self, data: bytes) -> int:
        WRITES[self.variable] += 1
        if WRITES[self.variable] in self.full:
            self.inner.write(data[: len(data) // 2])  # a torn line or record, then the error
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.inner.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class FullForAWhileStorage(AtomicFileFeedStorage):
    def open(self, spider: Any) -> IO[bytes]:
        return FullFile(super().open(spider), "FULL_DISK_WRITES")  # type: ignore[return-value]  # a file-like wrapper, not an IO subclass


class FullDiskWarcMiddleware(WarcArchiveMiddleware):
    """The crawl's WARC middleware, each file written through ``FullFile`` after its warcinfo record."""

    def _open_next(self) -> None:
        super()._open_next()
        assert self.writer is not None and self.file is not None
        self.file = self.writer.out = FullFile(self.file, "WARC_FULL_DISK_WRITES")  # type: ignore[assignment]  # a file-like wrapper
