"""Watermarks (数据水印) on data that leaves the platform as a file.

A watermark names who received the data, under which grant and when, so a copy found
elsewhere tells where it leaked from. It is visible on purpose (明水印): it is a statement
attached to the data, not a hidden fingerprint.

- CSV and Parquet (subscription files): every row carries the text in a last column
  ``_watermark``, so an excerpt copied out of the file keeps it; Parquet files also hold it
  in their key-value metadata (``govdata.watermark``).
- XLSX (exports): the workbook's description and keywords hold it, and every sheet prints it
  in its page header.

The grade's controls decide whether a file is watermarked (``GradeControls.watermark``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pyarrow as pa

from govdata.core.clock import DISPLAY_TZ

COLUMN = "_watermark"
METADATA_KEY = b"govdata.watermark"


def watermark_text(consumer: str, grant_code: str, at: datetime) -> str:
    """The watermark naming the consumer department, the grant and the time (Beijing)."""
    when = at.astimezone(DISPLAY_TZ).strftime("%Y-%m-%d %H:%M:%S")
    return f"GovData 共享数据｜使用部门：{consumer}｜授权：{grant_code}｜交付时间：{when}"


def watermarked_schema(schema: pa.Schema, text: str) -> pa.Schema:
    """``schema`` with the watermark column appended and the text in its metadata."""
    metadata = dict(schema.metadata or {})
    metadata[METADATA_KEY] = text.encode()
    return schema.append(pa.field(COLUMN, pa.string(), nullable=False)).with_metadata(metadata)


def watermark_batch(batch: pa.RecordBatch, schema: pa.Schema, text: str) -> pa.RecordBatch:
    """``batch`` with the watermark column, shaped as ``watermarked_schema`` made it."""
    mark = pa.repeat(pa.scalar(text, pa.string()), batch.num_rows)
    return pa.RecordBatch.from_arrays([*batch.columns, mark], schema=schema)


def watermark_workbook(workbook: Any, text: str) -> None:
    """Mark an openpyxl workbook: its properties and every sheet's printed header."""
    workbook.properties.description = text
    workbook.properties.keywords = text
    # "&" starts a control code in a header; "&&" prints one.
    header = text.replace("&", "&&")
    for sheet in workbook.worksheets:
        for part in (sheet.oddHeader, sheet.evenHeader, sheet.firstHeader):
            part.center.text = header
