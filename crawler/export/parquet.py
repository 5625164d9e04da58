"""Parquet output (pyarrow): one file per table, typed by ``tables``: times as timestamps with their
zone (``published_at`` in Asia/Shanghai, the crawl's times in UTC), images, attachments, warc and
encoding as (lists of) structs, not JSON text."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .tables import Column, arrow_schema, to_arrow_value

# Rows per row group: bodies run to a few KB, so a group stays a few MB in memory.
BATCH_ROWS = 2000


def write_parquet(rows: Iterable[dict[str, Any]], columns: tuple[Column, ...], path: Path) -> int:
    """Write the rows to ``path`` (the caller renames it into place); the number written."""
    schema = arrow_schema(columns)
    count = 0
    iterator = iter(rows)
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        while batch := list(islice(iterator, BATCH_ROWS)):
            data = {c.name: [to_arrow_value(c, row.get(c.name)) for row in batch] for c in columns}
            writer.write_table(pa.Table.from_pydict(data, schema=schema))
            count += len(batch)
    return count
