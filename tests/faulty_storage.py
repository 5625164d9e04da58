"""A feed storage whose disk is full for a while: writes number FULL_DISK_WRITES (``6-8``, counted
from 1 in the process) fail with ENOSPC, as a volume that fills up and is freed again would."""

from __future__ import annotations

import errno
import os
from typing import IO, Any

from crawler.run.feeds import AtomicFileFeedStorage

WRITES = {"count": 0}


class FullFile:
    def __init__(self, inner: IO[bytes]):
        self.inner = inner
        first, _, last = os.environ["FULL_DISK_WRITES"].partition("-")
        self.full = range(int(first), int(last or first) + 1)

    def write(self, data: bytes) -> int:
        WRITES["count"] += 1
        if WRITES["count"] in self.full:
            self.inner.write(data[: len(data) // 2])  # a torn line, then the error
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.inner.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class FullForAWhileStorage(AtomicFileFeedStorage):
    def open(self, spider: Any) -> IO[bytes]:
        return FullFile(super().open(spider))  # type: ignore[return-value]  # a file-like wrapper, not an IO subclass
