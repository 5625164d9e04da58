"""WARC files, no Scrapy: warcio's writer with one gzip member per record at a chosen level, the
position of each record for the CDXJ index, the index sorted as cdxj-indexer sorts it and written
atomically, the warcinfo fields, and the stored captures a ``revisit`` record refers to.

The crawl's downloader middleware (``crawler.downloadermiddlewares.warc``) drives these on its
writer thread.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import socket
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from cdxj_indexer.main import SortingWriter
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from ..recent import RecentValues
from ..run.files import OPEN_SUFFIX, fsync_dir

logger = logging.getLogger(__name__)


# Payloads their format has already compressed: deflating them again costs about 10× the time of
# storing them (2.3 ms against 0.2 ms for a 56 KB JPEG on the benchmark machine) and saves nothing
# (0.02 %). Their records are stored gzip members (level 0): still one valid gzip member each.
INCOMPRESSIBLE_TYPES = frozenset({
    "image/jpeg", "image/pjpeg", "image/png", "image/gif", "image/webp", "image/avif", "image/heic",
    "application/zip", "application/gzip", "application/x-gzip", "application/x-7z-compressed",
    "application/x-rar-compressed", "application/vnd.rar", "application/x-bzip2", "application/x-xz",
    "application/zstd", "font/woff", "font/woff2",
})
INCOMPRESSIBLE_PREFIXES = ("video/", "audio/")
# The same holds for a body sent with one of these codings (archived as received, still encoded).
COMPRESSED_CODINGS = frozenset({"gzip", "x-gzip", "deflate", "br", "zstd", "compress"})


def incompressible(http_headers: StatusAndHeaders | None) -> bool:
    """Whether a record's payload is already compressed, by its HTTP headers."""
    if http_headers is None:
        return False
    coding = (http_headers.get_header("Content-Encoding") or "").strip().lower()
    if coding in COMPRESSED_CODINGS:
        return True
    media_type = (http_headers.get_header("Content-Type") or "").split(";", 1)[0].strip().lower()
    return media_type in INCOMPRESSIBLE_TYPES or media_type.startswith(INCOMPRESSIBLE_PREFIXES)


class RecordGzip:
    """What warcio's GzippingWrapper does (a gzip member per record), at ``level`` and in one call.

    warcio fixes level 9 and compresses each 16 KB piece as it comes; here the pieces are joined and
    compressed when warcio flushes the record: one GIL release per record instead of one per piece,
    each of which the writer thread would have to win back from the busy reactor thread.
    """

    def __init__(self, out: IO[bytes], level: int, file_hash: hashlib._Hash):
        self.out = out
        self.level = level
        self.file_hash = file_hash
        self.parts: list[bytes] = []
        self.length = 0

    def write(self, data: bytes) -> None:
        self.parts.append(data)

    def flush(self) -> None:
        # compressobj, not zlib.compress(..., wbits=): the latter exists from Python 3.11 on.
        gzip = zlib.compressobj(self.level, zlib.DEFLATED, zlib.MAX_WBITS + 16)
        member = gzip.compress(b"".join(self.parts)) + gzip.flush()
        self.file_hash.update(member)
        self.out.write(member)
        self.out.flush()
        self.length = len(member)


class LeveledWARCWriter(WARCWriter):
    """warcio's writer, each record its own gzip member at ``level`` (stored when its payload is
    already compressed), bodies hashed in one piece. The file's SHA-256 is taken as it is written
    (``sha256``, ``written``): the commit lists the file with it, without reading it back."""

    def __init__(self, out: IO[bytes], level: int, warc_version: str):
        super().__init__(out, gzip=False, warc_version=warc_version)
        self.level = level
        self.sha256 = hashlib.sha256()
        self.written = 0

    def write_record(self, record: ArcWarcRecord, params: object = None) -> int:
        """Write the record; return the length of its gzip member."""
        member = RecordGzip(self.out, 0 if incompressible(record.http_headers) else self.level, self.sha256)
        self._write_warc_record(member, record)
        self.written += member.length
        return member.length

    @staticmethod
    def _iter_stream(stream: IO[bytes]) -> Iterator[bytes]:
        """The whole payload at once (warcio: 16 KB pieces): it is in memory, and each piece is a GIL handoff."""
        data = stream.read()
        if data:
            yield data


@dataclass
class RecordPosition:
    """Where a record was written: what CDXJIndexer asks its ArchiveIterator for."""

    offset: int
    length: int

    def get_record_offset(self) -> int:
        return self.offset

    def get_record_length(self) -> int:
        return self.length


# Index lines sorted in memory at a time when a closed file's .cdxj is written (more go through
# temporary files, merged): memory stays flat however many records a WARC file holds.
INDEX_SORT_BUFFER = 4 * 1024 * 1024


def write_sorted_index(unsorted: Path, index: Path) -> None:
    """Write the CDXJ lines of ``unsorted`` to ``index`` sorted as CDXJIndexer sorts them, through
    temporary files past INDEX_SORT_BUFFER: memory stays flat however many records a file holds."""
    with unsorted.open(encoding="utf-8") as lines, index.open("w", encoding="utf-8") as out:
        sorting = SortingWriter(out, max_sort_buff_size=INDEX_SORT_BUFFER)
        for line in lines:
            sorting.write(line)
        sorting.flush()


def write_index_atomically(unsorted: Path, index: Path) -> None:
    """Write ``index`` (a ``.cdxj``) as a WARC file is: hidden (``.<name>.open``), fsynced, renamed,
    the folder fsynced. A kill leaves either no index or the whole one, never a torn one."""
    hidden = index.with_name(f".{index.name}{OPEN_SUFFIX}")
    write_sorted_index(unsorted, hidden)
    with hidden.open("rb") as handle:
        os.fsync(handle.fileno())
    hidden.replace(index)
    fsync_dir(index.parent)


# --- what a record says about the capture ------------------------------------------------------

# WARC 1.1, 6.7.2 and 6.7.3: the two revisit profiles written.
IDENTICAL_PAYLOAD_DIGEST = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
SERVER_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
WARC_1_1_SPEC = "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"


def payload_digest(body: bytes) -> str:
    """The ``WARC-Payload-Digest`` warcio writes for ``body`` (SHA-1, base32)."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


def warc_date(timestamp: float) -> str:
    """A WARC 1.1 date (microseconds) for a POSIX time: when the capture began, not when written."""
    moment = datetime.fromtimestamp(timestamp, timezone.utc).replace(tzinfo=None)
    return datetime_to_iso_date(moment, use_micros=True)


def warcinfo_fields(*, software: str, operator: str, is_part_of: str, robots: str, user_agent: str,
                    hostname: str | None = None) -> dict[str, str]:
    """The ``warcinfo`` record's fields (WARC 1.1, annex on warcinfo; the names Heritrix and wget use)."""
    return {
        "software": software,
        "hostname": hostname or socket.gethostname(),
        "operator": operator,
        "isPartOf": is_part_of,
        "robots": robots,
        "http-header-user-agent": user_agent,
        "format": "WARC File Format 1.1",
        "conformsTo": WARC_1_1_SPEC,
    }


# --- stored captures: what a revisit refers to, what a requisite is found at -------------------

@dataclass
class Capture:
    """The newest archived response of a URL: its payload digest and where its record is. ``date``
    and ``record_id`` are read from the record itself when first needed (an index holds the date
    to the second only), which also checks that the record is there."""

    digest: str
    file: str           # relative to OUTPUT_DIR: warc/<name>
    offset: int
    order: tuple[int, ...]  # which capture is newer: (manifest seq, file's place in it, offset)
    status: int = 200
    mime: str = ""
    date: str | None = None
    record_id: str | None = None


# Committed captures a run keeps once read back (a rerun revisits each URL once: a bound, not a cache
# that pays; about 1 KB each).
READ_BACK_REMEMBERED = 4096

# The capture index's answer for a URL (``crawler.state.captures``): an ``IndexedCapture`` or None.
CaptureLookup = Callable[[str], Any]


class StoredCaptures:
    """Per URL, the newest response record committed to OUTPUT_DIR (asked of the capture index in
    the state store, one URL at a time) or written by this run. A revisit refers only to those, and
    a requisite archived earlier is pointed at only there: a file no manifest lists may be a dead
    run's, and is not part of the archive.

    Newest is by commit, never by clock: the index orders captures by manifest ``seq``, then the
    file's place in it, then the record's offset; one written by this run is newer than all.
    Nothing proportional to the archive's history, or to the run's length, is held: this run's
    captures only until the index answers for them (``forget_indexed``, after their slice is
    promoted), and the last READ_BACK_REMEMBERED captures read back."""

    def __init__(self, output_dir: Path, lookup: CaptureLookup | None = None):
        self.output_dir = output_dir
        self.lookup = lookup
        self.this_run: dict[str, Capture] = {}
        # Committed captures read back (None: could not be); one forgotten is read back again.
        self.read_back: RecentValues[Capture | None] = RecentValues(READ_BACK_REMEMBERED)

    def remember(self, url: str, capture: Capture) -> None:
        """A capture this run wrote: newer than every committed one (and than one read back)."""
        self.this_run[url] = capture
        self.read_back.pop(url)

    def forget_indexed(self, files: set[str]) -> int:
        """Drop this run's captures in ``files`` (``warc/<name>``) that the index now answers with
        the same record (their slice was promoted); the others stay (a slice not promoted, another
        worker's newer capture). Returns how many were dropped."""
        if self.lookup is None:
            return 0
        dropped = [url for url, capture in self.this_run.items()
                   if capture.file in files and self._indexed_as(url, capture)]
        for url in dropped:
            del self.this_run[url]
        return len(dropped)

    def _indexed_as(self, url: str, capture: Capture) -> bool:
        assert self.lookup is not None
        indexed = self.lookup(url)
        return indexed is not None and (indexed.file, indexed.offset) == (capture.file, capture.offset)

    def known(self, url: str) -> Capture | None:
        """The newest capture of ``url`` as indexed, its record not read back yet."""
        capture = self.this_run.get(url)
        if capture is not None:
            return capture
        if url in self.read_back:
            return self.read_back[url]
        indexed = self.lookup(url) if self.lookup is not None else None
        if indexed is None:
            return None
        return Capture(indexed.digest, indexed.file, indexed.offset, indexed.order,
                       indexed.status, indexed.mime or "")

    def newest(self, url: str, capture: Capture | None = None) -> Capture | None:
        """The newest capture of ``url`` (``capture``, when the caller asked ``known`` already), its
        date and record id read from its record if need be; None when there is none, or its record
        cannot be read back as a response for ``url`` (a WARC file gone or damaged): then it is
        neither referred to nor pointed at."""
        capture = capture if capture is not None else self.known(url)
        if capture is None or capture.date is not None:
            return capture
        try:
            with (self.output_dir / capture.file).open("rb") as stream:
                stream.seek(capture.offset)
                record = next(iter(ArchiveIterator(stream)))
            headers = record.rec_headers
            if record.rec_type != "response" or headers.get_header("WARC-Target-URI") != url:
                raise ValueError(f"the record there is a {record.rec_type} for {headers.get_header('WARC-Target-URI')}")
        except (OSError, StopIteration, ValueError, ArchiveLoadFailed) as error:
            logger.warning("The archived capture of %s (%s, offset %s) cannot be read back (%s): not referred to",
                           url, capture.file, capture.offset, error)
            self.read_back[url] = None
            return None
        capture.date = headers.get_header("WARC-Date")
        capture.record_id = headers.get_header("WARC-Record-ID")
        self.read_back[url] = capture
        return capture
