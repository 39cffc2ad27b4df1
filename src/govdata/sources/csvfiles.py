"""CSV and TSV files: encoding and delimiter detection, type inference, streaming typed reads.

Department exports arrive as UTF-8 (with or without a BOM), GBK or GB18030. The encoding is
decided on the first megabyte: a BOM, then strict UTF-8, then charset-normalizer. GBK text is
read as GB18030, its superset, and a short GBK sample that charset-normalizer takes for another
CJK code page (Big5, CP949 ... a common confusion on a few hundred bytes) is read as GB18030
when it decodes as such. pyarrow's reader transcodes non-UTF-8 input itself, block by block.

Every column is read as text and then cast to the type inferred from the sample, with the
same casts discovery tried: a later value that does not fit fails with its row number. Empty
cells are NULL. Codes with leading zeros (postcodes, 0971 area codes) and digit strings of 16
or more digits (identity card numbers) stay text, so no digit is ever lost.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from charset_normalizer import from_bytes

from govdata.sources.records import file_invalid, unique_names, value_invalid

SAMPLE_BYTES = 1 << 20
BLOCK_BYTES = 1 << 18
_HEAD_BYTES = 1 << 16
_DELIMITERS = (",", "\t", ";", "|")
_GB_FAMILY = frozenset({"gb2312", "gbk", "gb18030", "hz", "cp936"})
# Code pages charset-normalizer confuses with GBK on short samples.
_CJK_LOOKALIKES = frozenset(
    {"big5", "big5hkscs", "cp950", "cp949", "euc_kr", "johab", "euc_jp", "shift_jis", "cp932"}
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Text that would lose digits as a number: leading zeros, or too long for an exact integer.
_KEEP_TEXT = re.compile(r"^[+-]?0[0-9]|^[+-]?[0-9]{16,}$")
_TRY_TYPES = (
    pa.int64(),
    pa.float64(),
    pa.bool_(),
    pa.date32(),
    pa.timestamp("us"),
    pa.timestamp("us", tz="UTC"),
)


@dataclass(frozen=True)
class CsvLayout:
    encoding: str
    delimiter: str
    names: tuple[str, ...]
    header_lines: int  # physical lines the header row spans (a quoted name may hold a newline)
    bytes_per_line: float  # in the first megabyte, for estimating the rows of a large file


def detect_encoding(sample: bytes, complete: bool, name: str) -> str:
    for bom, encoding in _BOMS:
        if sample.startswith(bom):
            return encoding
    if b"\x00" in sample:
        raise file_invalid(name, "binary content, not text")
    text = sample if complete else sample[: sample.rfind(b"\n") + 1] or sample
    try:
        text.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    best = from_bytes(text[:65536]).best()
    guess = best.encoding if best is not None else None
    if guess in _GB_FAMILY or guess in _CJK_LOOKALIKES or guess is None:
        try:
            text.decode("gb18030")
        except UnicodeDecodeError:
            if guess is None:
                raise file_invalid(name, "unknown text encoding") from None
        else:
            return "gb18030"
    assert guess is not None
    return guess


def _sniff_delimiter(lines: list[str]) -> str:
    """The candidate that splits the header into most fields, with rows agreeing with it."""
    best, best_score = ",", (0.0, 1)
    for delim in _DELIMITERS:
        rows = [r for r in csv.reader(lines, delimiter=delim) if r][:50]
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        agree = sum(len(r) == width for r in rows) / len(rows)
        score = (agree, width)
        if score > best_score:
            best, best_score = delim, score
    return best


def read_layout(path: Path, name: str, *, encoding: str | None, delimiter: str | None) -> CsvLayout:
    with path.open("rb") as f:
        sample = f.read(SAMPLE_BYTES + 1)
    complete = len(sample) <= SAMPLE_BYTES
    sample = sample[:SAMPLE_BYTES]
    if not sample.strip():
        raise file_invalid(name, "the file is empty")
    enc = encoding or detect_encoding(sample, complete, name)
    # The header and 50 rows to sniff the delimiter from sit in the first lines.
    head = sample[:_HEAD_BYTES]
    if len(sample) > _HEAD_BYTES:
        head = head[: head.rfind(b"\n") + 1] or sample
    text = head.decode(enc, errors="replace").lstrip("\ufeff")
    lines = text.splitlines(keepends=True)
    if delimiter is None:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else _sniff_delimiter(lines)
    reader = csv.reader(lines, delimiter=delimiter)
    header = next(reader, None)
    if not header:
        raise file_invalid(name, "no header row")
    return CsvLayout(
        encoding=enc,
        delimiter=delimiter,
        names=tuple(unique_names(header)),
        header_lines=reader.line_num,
        bytes_per_line=len(sample) / max(sample.count(b"\n"), 1),
    )


def text_batches(
    path: Path, name: str, layout: CsvLayout, columns: Sequence[str]
) -> Generator[pa.RecordBatch, None, None]:
    """Every row of ``columns`` as text, one parsed block at a time."""
    enc = "utf8" if layout.encoding == "utf-8" else layout.encoding
    try:
        reader = pacsv.open_csv(
            str(path),
            read_options=pacsv.ReadOptions(
                encoding=enc,
                block_size=BLOCK_BYTES,
                column_names=list(layout.names),
                skip_rows=layout.header_lines,
            ),
            parse_options=pacsv.ParseOptions(delimiter=layout.delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(layout.names, pa.string()),
                include_columns=list(columns),
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowException, UnicodeError) as exc:
        raise file_invalid(name, _reason(exc)) from exc
    try:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except (pa.ArrowException, UnicodeError) as exc:
                raise file_invalid(name, _reason(exc)) from exc
            yield batch
    finally:
        reader.close()


def _reason(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__


def infer_types(
    path: Path, name: str, layout: CsvLayout, sample_rows: int
) -> tuple[dict[str, pa.DataType], int, bool]:
    """Column types from the first ``sample_rows`` rows; also the rows seen and whether all."""
    parts: list[pa.RecordBatch] = []
    seen = 0
    exhausted = True
    stream = text_batches(path, name, layout, layout.names)
    try:
        for batch in stream:
            parts.append(batch.slice(0, sample_rows - seen))
            seen += parts[-1].num_rows
            if seen >= sample_rows:
                exhausted = False
                break
    finally:
        stream.close()
    types: dict[str, pa.DataType] = {}
    for col in layout.names:
        values = pa.chunked_array([p.column(col) for p in parts], pa.string()).drop_null()
        types[col] = _infer(values)
    return types, seen, exhausted


def _infer(values: pa.ChunkedArray) -> pa.DataType:
    if len(values) == 0:
        return pa.string()
    if pc.any(pc.match_substring_regex(values, _KEEP_TEXT.pattern)).as_py():
        return pa.string()
    for type_ in _TRY_TYPES:
        if type_ == pa.bool_():
            lowered = pc.utf8_lower(values)
            if not pc.all(pc.is_in(lowered, value_set=pa.array(["true", "false"]))).as_py():
                continue
        try:
            pc.cast(values, type_)
        except pa.ArrowException:
            continue
        return type_
    return pa.string()


def estimate_rows(layout: CsvLayout, size: int) -> int:
    """Rows in a file larger than the sample, from the sample's bytes per line."""
    return max(round(size / layout.bytes_per_line) - layout.header_lines, 0)


def typed(batch: pa.RecordBatch, schema: pa.Schema, table: str, first_row: int) -> pa.RecordBatch:
    """Cast a text batch to ``schema``; a value that does not fit names its row and column."""
    arrays = []
    for field in schema:
        arr = batch.column(field.name)
        if field.type == pa.string():
            arrays.append(arr)
            continue
        try:
            arrays.append(pc.cast(arr, field.type))
        except pa.ArrowException as exc:
            at = _first_bad(arr, field.type)
            raise value_invalid(
                table, field.name, field.type, first_row + at, arr[at].as_py(), _reason(exc)
            ) from exc
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _first_bad(arr: pa.Array, type_: pa.DataType) -> int:
    """Index of the first value that will not cast, by halving (each cast is vectorised)."""
    lo, hi = 0, len(arr)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            pc.cast(arr.slice(lo, mid - lo), type_)
        except pa.ArrowException:
            hi = mid
        else:
            lo = mid
    return lo
