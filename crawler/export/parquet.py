"""Parquet output (pyarrow): a file of rows typed by ``tables``: times as timestamps with their zone
(``published_at`` in Asia/Shanghai, the crawl's times in UTC), images, attachments, warc and
encoding as (lists of) structs, not JSON text.

The rows come as the JSON lines JSONL has (from the database or the JSONL file); pyarrow's JSON reader
parses them straight into the table's types (ISO times with their offset included), in C++.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import pyarrow.json as pa_json
import pyarrow.parquet as pq

from .tables import Column, arrow_schema


def write_parquet(blocks: Iterable[bytes], columns: tuple[Column, ...], path: Path) -> int:
    """Write the rows (blocks of whole JSON lines, a row group each) to ``path``; the number written."""
    schema = arrow_schema(columns)
    # Fields a row has and the table does not (none today) are left out, as pyarrow's own
    # conversion of a dict to a struct leaves them.
    options = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    count = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for data in blocks:
            # One block of pyarrow's for ours: a row must not straddle two (a body runs to many KB).
            read = pa_json.ReadOptions(block_size=len(data) + 1)
            table = pa_json.read_json(io.BytesIO(data), read_options=read, parse_options=options)
            writer.write_table(table.select(schema.names).cast(schema))
            count += table.num_rows
    return count
