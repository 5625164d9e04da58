"""A WARC archive whose disk is full for a while: writes number WARC_FULL_DISK_WRITES (``6-8``,
counted from 1 in the process, each file's warcinfo record not counted) fail with ENOSPC after half
their bytes, as a volume that fills up and is freed again would."""

from __future__ import annotations

import errno
import os
from typing import IO, Any

from crawler.downloadermiddlewares.warc import WarcArchiveMiddleware

WRITES = {"count": 0}


class FullFile:
    def __init__(self, inner: IO[bytes]):
        self.inner = inner
        first, _, last = os.environ["WARC_FULL_DISK_WRITES"].partition("-")
        self.full = range(int(first), int(last or first) + 1)

    def write(self, data: bytes) -> int:
        WRITES["count"] += 1
        if WRITES["count"] in self.full:
            self.inner.write(data[: len(data) // 2])  # a torn record, then the error
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.inner.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class FullDiskWarcMiddleware(WarcArchiveMiddleware):
    """The crawl's WARC middleware, each file written through ``FullFile`` after its warcinfo record."""

    def _open_next(self) -> None:
        super()._open_next()
        assert self.writer is not None and self.file is not None
        self.file = self.writer.out = FullFile(self.file)  # type: ignore[assignment]  # a file-like wrapper
