"""The run's feeds: the archive's own per-slice JSONL file, atomic local files, and bytes tracked
for every storage Scrapy has (``stdout:``, ``-``, ``file://``, ``s3://``, ``ftp://``).

The archive keeps its own copy of every record it commits, under OUTPUT_DIR, whatever feed the
command line asked for: the manifests list it as ``records``, so the state can always be rebuilt
from them and a consumer reads it. A feed the user names (``-O``, ``-o``, ``stdout:``, ``ftp://``)
is a delivery: listed as ``delivery``, never read back (``-O`` replaces yesterday's file, a remote
one cannot be read).

Scrapy writes a local feed in place, so a killed run leaves a torn last line and ``-O`` on a
failed run truncates yesterday's file. Here a local feed is written to a hidden ``.<name>.part``
beside its target and renamed into place (after fsync) when its slice is stored. Whatever the
storage, the bytes written pass through ``TrackedFile``: its count and SHA-256 go in the manifest,
and a failed write (a full disk) marks the slice, which then is never stored.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

from scrapy import Spider
from scrapy.extensions.feedexport import FileFeedStorage
from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings
from twisted.internet.defer import maybeDeferred

from ..items import RECORD_FIELDS
from .files import fsync_dir, part_path
from .ids import new_run_id, run_id_error
from .lock import holds
from .manifests import range_entry, relative_name

logger = logging.getLogger(__name__)

# The archive's copy: one file per slice (checkpoint); %(batch_id)05d is Scrapy's batch number, 1 for
# the first slice. Every record field in schema order, whatever FEED_EXPORT_FIELDS says for the
# deliveries: the state is rebuilt from it.
ARCHIVE_FEED_URI = "%(output_dir)s/sichuanpeace-%(run_id)s-%(batch_id)05d.jsonl"
ARCHIVE_FEED_OPTIONS = {"format": "jsonlines", "encoding": "utf-8", "fields": list(RECORD_FIELDS),
                        "item_export_kwargs": {}}


class OutputFailed(Exception):
    """A slice's records could not all be written: it is not stored, its articles come again."""


class TrackedFile(io.RawIOBase):
    """The file an exporter writes to: passes bytes on, counts and hashes them, remembers a failure."""

    def __init__(self, inner: IO[bytes]):
        super().__init__()
        self.inner = inner
        self.bytes = 0
        self.digest = hashlib.sha256()
        self.error: BaseException | None = None

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.error is not None:
            raise OutputFailed(f"an earlier write failed: {self.error}")
        try:
            written = self.inner.write(data)
        except BaseException as error:
            self.error = error
            raise
        view = memoryview(data)
        self.digest.update(view)
        self.bytes += view.nbytes
        return view.nbytes if written is None else written

    def flush(self) -> None:
        if getattr(self.inner, "closed", False):  # the storage closed it when it stored it
            return
        try:
            self.inner.flush()
        except BaseException as error:
            self.error = error
            raise

    def close(self) -> None:  # the storage closes the inner file when it stores it
        super().close()


def without_password(uri: str) -> str:
    """The URI as a manifest may show it: a password in it (``ftp://user:secret@host/``) is not."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class TrackedStorage:
    """Wraps a Scrapy feed storage: the exporter writes through a TrackedFile; ``store`` refuses a
    slice whose writes failed, and says whether the storage reported success."""

    def __init__(self, inner: Any, uri: str):
        self.inner = inner
        self.uri = uri
        self.file: TrackedFile | None = None

    @property
    def local_path(self) -> Path | None:
        return Path(self.inner.path) if isinstance(self.inner, AtomicFileFeedStorage) else None

    @property
    def replaces(self) -> bool:
        """Whether storing replaces a file that may hold earlier records (``-O``)."""
        return isinstance(self.inner, AtomicFileFeedStorage) and self.inner.write_mode == "wb"

    @property
    def offset(self) -> int:
        """Where this slice's bytes start in the stored file (``-o`` appends)."""
        return getattr(self.inner, "appended_from", 0)

    def open(self, spider: Spider) -> IO[bytes]:
        self.file = TrackedFile(self.inner.open(spider))
        return self.file  # type: ignore[return-value]  # a file-like wrapper, not an IO subclass

    def mark_failed(self, error: BaseException) -> None:
        if self.file is not None and self.file.error is None:
            self.file.error = error

    def store(self, file: IO[bytes]) -> Any:
        assert self.file is not None
        if self.file.error is not None:
            self.discard()
            raise OutputFailed(f"not storing {self.uri}: a write failed ({self.file.error})")
        return maybeDeferred(self.inner.store, self.file.inner)

    def discard(self) -> None:
        """Drop what was written (local part file); other storages have nothing stored yet."""
        if isinstance(self.inner, AtomicFileFeedStorage):
            self.inner.discard()

    def entry(self, kind: str, records: int, output_dir: Path) -> dict[str, Any]:
        """The manifest's line for this slice's bytes (``kind``: ``records`` or ``delivery``), as
        written: their count and SHA-256 are known before the file is stored."""
        assert self.file is not None
        path = self.local_path
        return range_entry(kind=kind, uri=without_password(self.uri),
                           file=relative_name(output_dir, path) if path else None, records=records,
                           offset=self.offset, size=self.file.bytes, sha256=self.file.digest.hexdigest())


class AtomicFileFeedStorage(FileFeedStorage):
    """Local feed storage that appears atomically: hidden part file, fsync, rename on store."""

    appended_from = 0

    def open(self, spider: Spider) -> IO[bytes]:
        target = Path(self.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        self.part = part_path(target)
        if self.write_mode == "ab" and target.exists():  # -o appends: the part starts as the file
            shutil.copyfile(target, self.part)
            self.appended_from = self.part.stat().st_size
            return self.part.open("ab")
        return self.part.open("wb")

    def store(self, file: IO[bytes]) -> None:
        file.flush()
        os.fsync(file.fileno())
        file.close()
        os.replace(self.part, self.path)
        fsync_dir(Path(self.path).parent)

    def discard(self) -> None:
        part = getattr(self, "part", None)
        if part is not None:
            part.unlink(missing_ok=True)


class RunOutput:
    """Add-on: give the run its id, and the archive's feed beside any the command line named when
    ``scrapy crawl`` holds the lock (other commands and Python-started crawls get none)."""

    def update_settings(self, settings: BaseSettings) -> None:
        if not settings.get("RUN_ID"):
            settings.set("RUN_ID", new_run_id(), priority="addon")
        # The run id names files (WARC, WACZ, manifests, the log): ``scrapy crawl`` refused a bad one
        # already; a crawl started from Python meets the same rule here.
        problem = run_id_error(settings.get("RUN_ID"))
        if problem:
            raise ValueError(f"RUN_ID {problem}")
        if holds(settings.get("OUTPUT_DIR")):
            priority = max(settings.getpriority("FEEDS") or 0, SETTINGS_PRIORITIES["addon"])  # -o's is cmdline
            settings.set("FEEDS", {**settings.getdict("FEEDS"), ARCHIVE_FEED_URI: dict(ARCHIVE_FEED_OPTIONS)},
                         priority=priority)


def uri_params(params: dict[str, Any], spider: Spider) -> dict[str, Any]:
    """Add ``output_dir`` (OUTPUT_DIR) and ``run_id`` (RUN_ID) to the feed URI parameters."""
    settings = spider.settings
    return {**params, "output_dir": settings.get("OUTPUT_DIR").rstrip("/"), "run_id": settings.get("RUN_ID")}
