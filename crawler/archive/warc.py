"""WARC files, no Scrapy: warcio's writer with one gzip member per record at a chosen level, the
position of each record for the CDXJ index, and the index sorted as cdxj-indexer sorts it.

The crawl's downloader middleware (``crawler.downloadermiddlewares.warc``) drives these on its
writer thread.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from cdxj_indexer.main import SortingWriter
from warcio.recordloader import ArcWarcRecord
from warcio.warcwriter import WARCWriter


class RecordGzip:
    """What warcio's GzippingWrapper does (a gzip member per record), at ``level`` and in one call.

    warcio fixes level 9 and compresses each 16 KB piece as it comes; here the pieces are joined and
    compressed when warcio flushes the record: one GIL release per record instead of one per piece,
    each of which the writer thread would have to win back from the busy reactor thread.
    """

    def __init__(self, out: IO[bytes], level: int):
        self.out = out
        self.level = level
        self.parts: list[bytes] = []
        self.length = 0

    def write(self, data: bytes) -> None:
        self.parts.append(data)

    def flush(self) -> None:
        member = zlib.compress(b"".join(self.parts), self.level, wbits=zlib.MAX_WBITS + 16)
        self.out.write(member)
        self.out.flush()
        self.length = len(member)


class LeveledWARCWriter(WARCWriter):
    """warcio's writer, each record its own gzip member at ``level``, bodies hashed in one piece."""

    def __init__(self, out: IO[bytes], level: int, warc_version: str):
        super().__init__(out, gzip=False, warc_version=warc_version)
        self.level = level

    def write_record(self, record: ArcWarcRecord, params: object = None) -> int:
        """Write the record; return the length of its gzip member."""
        member = RecordGzip(self.out, self.level)
        self._write_warc_record(member, record)
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
