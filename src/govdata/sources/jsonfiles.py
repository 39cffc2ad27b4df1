"""JSON and JSON Lines files, streamed record by record.

A JSON file holds an array of objects, or an object with such an array under one of its keys
(the first key whose value is an array of objects, e.g. ``{"total": 3, "data": [...]}``). The
file is scanned incrementally with the standard library's decoder, one element at a time,
so a large file never becomes one Python list. JSON Lines files hold one object per line.

Types follow the JSON records rules in ``records.py`` (shared with HTTP sources): nested
objects are flattened into ``parent.child`` columns, arrays are kept as JSON text.
"""

from __future__ import annotations

import codecs
import io
import json
import re
from collections.abc import Generator, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.json as pajson

from govdata.sources.csvfiles import SAMPLE_BYTES, detect_encoding
from govdata.sources.records import file_invalid, flatten, infer_record_types, records_to_batch

CHUNK_CHARS = 1 << 20
BLOCK_BYTES = 1 << 20
_SPACE = re.compile(r"[ \t\n\r]*")


def file_encoding(path: Path, name: str) -> str:
    with path.open("rb") as f:
        sample = f.read(SAMPLE_BYTES + 1)
    return detect_encoding(sample[:SAMPLE_BYTES], len(sample) <= SAMPLE_BYTES, name)


class _Scanner:
    """Pulls JSON values off a text stream one at a time, refilling a bounded buffer."""

    def __init__(self, stream: IO[str], name: str) -> None:
        self.stream, self.name = stream, name
        self.buf, self.pos, self.eof = "", 0, False
        self.dropped = 0  # characters consumed and dropped from the buffer
        self.decoder = json.JSONDecoder()

    @property
    def consumed(self) -> int:
        return self.dropped + self.pos

    def _more(self) -> bool:
        if self.eof:
            return False
        chunk = self.stream.read(CHUNK_CHARS)
        if not chunk:
            self.eof = True
            return False
        self.dropped += self.pos
        self.buf = self.buf[self.pos :] + chunk
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next non-blank character without consuming it; "" at the end of the file."""
        while True:
            match = _SPACE.match(self.buf, self.pos)
            assert match is not None
            self.pos = match.end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def take(self, expected: str) -> None:
        found = self.peek()
        if found != expected:
            raise file_invalid(
                self.name, f"expected {expected!r}, found {found or 'end of file'!r}"
            )
        self.pos += 1

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self._more():
                    continue
                raise file_invalid(self.name, f"invalid JSON: {exc.msg}") from exc
            # A number cut at the buffer's edge parses short: read on before trusting it.
            if end == len(self.buf) and self._more():
                continue
            self.pos = end
            return value

    def elements(self) -> Iterator[Any]:
        """The values of an array whose "[" was just consumed, up to and including its "]"."""
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            yield self.value()
            sep = self.peek()
            self.pos += 1
            if sep == "]":
                return
            if sep != ",":
                raise file_invalid(
                    self.name, f"expected ',' or ']', found {sep or 'end of file'!r}"
                )

    def records(self) -> Iterator[Any]:
        first = self.peek()
        if first == "[":
            self.pos += 1
            yield from self.elements()
            return
        if first != "{":
            raise file_invalid(self.name, "not a JSON array or object")
        self.pos += 1
        while self.peek() not in ("}", ""):
            key = self.value()
            if not isinstance(key, str):
                raise file_invalid(self.name, "invalid JSON object key")
            self.take(":")
            if self.peek() == "[":
                self.pos += 1
                if self.peek() in ("{", "]"):
                    yield from self.elements()
                    return
                for _ in self.elements():
                    pass
            else:
                self.value()
            sep = self.peek()
            if sep == ",":
                self.pos += 1
            elif sep != "}":
                raise file_invalid(
                    self.name, f"expected ',' or '}}', found {sep or 'end of file'!r}"
                )
        raise file_invalid(self.name, "no array of objects in the file")


class _Meter:
    """Characters of the file consumed so far, for estimating the rows of a large file."""

    chars = 0


def iter_records(
    path: Path, name: str, kind: str, encoding: str, meter: _Meter | None = None
) -> Generator[dict[str, Any], None, None]:
    """Flattened records of a JSON (``kind="json"``) or JSON Lines file, in file order."""
    meter = meter or _Meter()
    # utf-8-sig also reads a file without a BOM; with one, the BOM is not taken for JSON.
    codec = "utf-8-sig" if encoding == "utf-8" else encoding
    with path.open(encoding=codec, errors="strict", newline="") as f:
        try:
            if kind == "jsonl":
                yield from _lines(f, name, meter)
            else:
                scanner = _Scanner(f, name)
                for n, element in enumerate(scanner.records(), start=1):
                    if not isinstance(element, dict):
                        raise file_invalid(name, f"element {n} is not a JSON object")
                    meter.chars = scanner.consumed
                    yield flatten(element)
        except UnicodeDecodeError as exc:
            raise file_invalid(name, f"not valid {encoding} text") from exc


def _lines(
    f: Iterable[str], name: str, meter: _Meter, first_line: int = 1
) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(f, start=first_line):
        meter.chars += len(line)
        text = line.strip().lstrip("\ufeff")
        if not text:
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            raise file_invalid(name, f"line {number}: invalid JSON: {exc.msg}") from exc
        if not isinstance(record, dict):
            raise file_invalid(name, f"line {number} is not a JSON object")
        yield flatten(record)


def inspect(
    path: Path, name: str, kind: str, encoding: str, sample_rows: int
) -> tuple[pa.Schema, int]:
    """Schema inferred from the first ``sample_rows`` records, and a row count or estimate."""
    sample: list[dict[str, Any]] = []
    meter = _Meter()
    stream = iter_records(path, name, kind, encoding, meter)
    exhausted = True
    chars = 0
    try:
        for record in stream:
            sample.append(record)
            if len(sample) >= sample_rows:
                chars = meter.chars
                exhausted = next(stream, None) is None
                break
    finally:
        stream.close()
    types = infer_record_types(sample)
    schema = pa.schema([pa.field(n, t) for n, t in types.items()])
    if exhausted:
        return schema, len(sample)
    # Too large to count at discovery: scale by the share of the file the sample took.
    with path.open("rb") as f:
        head = f.read(SAMPLE_BYTES)
    bytes_per_char = len(head) / max(len(head.decode(encoding, errors="ignore")), 1)
    return schema, round(path.stat().st_size * len(sample) / max(chars * bytes_per_char, 1))


def batches(
    path: Path,
    name: str,
    kind: str,
    encoding: str,
    schema: pa.Schema,
    columns: Sequence[str],
    batch_rows: int,
) -> Iterator[pa.RecordBatch]:
    wanted = pa.schema([schema.field(c) for c in columns])
    if kind == "jsonl" and not codecs.lookup(encoding).name.startswith(("utf-16", "utf-32")):
        yield from _jsonl_blocks(path, name, encoding, schema, wanted)
        return
    chunk: list[dict[str, Any]] = []
    row = 1
    stream = iter_records(path, name, kind, encoding)
    try:
        for record in stream:
            chunk.append(record)
            if len(chunk) >= batch_rows:
                yield records_to_batch(chunk, wanted, name, row)
                row += len(chunk)
                chunk = []
        if chunk:
            yield records_to_batch(chunk, wanted, name, row)
    finally:
        stream.close()


# -- JSON Lines through pyarrow.json ---------------------------------------------------------
#
# pyarrow parses JSON Lines natively, some thirty times faster than json.loads per line, but
# with rules of its own: ISO strings become timestamps, a field whose kind changes within a
# block fails the block, and a number never reads into a text column. So a block read by
# pyarrow is used only when its columns come out as exactly the types of the records rules
# (int64 widening to float64, whole floats narrowing to int64, as those rules do); any other
# block is re-read line by line in Python, which gives identical results and exact line and
# row numbers for errors. Top-level text columns are declared to pyarrow as text, so a date
# string stays text and does not by itself force the slow path.


def _line_blocks(path: Path) -> Iterator[tuple[bytes, int]]:
    """The file in blocks of whole lines (about BLOCK_BYTES each) and each block's line count."""
    carry = b""
    with path.open("rb") as f:
        while True:
            data = f.read(BLOCK_BYTES)
            if not data:
                break
            carry += data
            cut = carry.rfind(b"\n") + 1
            if cut:
                yield carry[:cut], carry.count(b"\n", 0, cut)
                carry = carry[cut:]
    if carry:
        yield carry, 1


def _jsonl_blocks(
    path: Path, name: str, encoding: str, schema: pa.Schema, wanted: pa.Schema
) -> Iterator[pa.RecordBatch]:
    utf8 = codecs.lookup(encoding).name == "utf-8"
    # A name that is also an object elsewhere ("addr" beside "addr.city") is left to inference.
    parents = {f.name.split(".", 1)[0] for f in schema if "." in f.name}
    text_fields = [
        f for f in schema if f.type == pa.string() and "." not in f.name and f.name not in parents
    ]
    options = pajson.ParseOptions(
        explicit_schema=pa.schema(text_fields), unexpected_field_behavior="infer"
    )
    line = row = 1
    for number, (block, lines) in enumerate(_line_blocks(path)):
        if number == 0 and block.startswith(codecs.BOM_UTF8):
            block = block[len(codecs.BOM_UTF8) :]
        batch = None
        if utf8:
            batch = _native(block, options, wanted)
        if batch is None:
            try:
                text = block.decode(encoding)
            except UnicodeDecodeError as exc:
                raise file_invalid(name, f"not valid {encoding} text near line {line}") from exc
            if not utf8:
                batch = _native(text.encode(), options, wanted)
        if batch is None:
            records = list(_lines(text.splitlines(), name, _Meter(), first_line=line))
            batch = records_to_batch(records, wanted, name, row)
        yield batch
        line += lines
        row += batch.num_rows


def _native(data: bytes, options: pajson.ParseOptions, wanted: pa.Schema) -> pa.RecordBatch | None:
    """One block parsed by pyarrow and typed as the records rules would, or None."""
    try:
        table = pajson.read_json(
            io.BytesIO(data),
            read_options=pajson.ReadOptions(use_threads=False, block_size=len(data) + 1),
            parse_options=options,
        ).combine_chunks()
    except pa.ArrowException:
        return None
    if table.num_rows == 0 or any(c.num_chunks != 1 for c in table.columns):
        return None
    found: dict[str, pa.Array] = {}
    pending = [(f.name, table.column(i).chunk(0)) for i, f in enumerate(table.schema)]
    while pending:
        label, arr = pending.pop()
        if pa.types.is_struct(arr.type):
            if arr.type.num_fields == 0:
                return None  # {} is a value (text "{}") to the records rules
            children = arr.flatten()
            pending += [(f"{label}.{arr.type.field(i).name}", c) for i, c in enumerate(children)]
        elif label in found:
            return None
        else:
            found[label] = arr
    arrays = []
    for field in wanted:
        arr = found.get(field.name)
        if arr is None or arr.type == pa.null():
            arrays.append(pa.nulls(table.num_rows, field.type))
        elif arr.type == field.type:
            arrays.append(arr)
        elif (arr.type, field.type) in _WIDEN:
            try:
                arrays.append(arr.cast(field.type))
            except pa.ArrowException:
                return None
        else:
            return None
    return pa.RecordBatch.from_arrays(arrays, schema=wanted)


_WIDEN = {(pa.int64(), pa.float64()), (pa.float64(), pa.int64())}
