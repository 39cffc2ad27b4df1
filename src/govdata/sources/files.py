"""Files as a source: CSV/TSV, XLSX, JSON and JSON Lines in a folder (or one file).

Table names are file paths relative to the root, with their extension (``people.csv``,
``2024/people.csv``); every worksheet of a workbook is its own table, ``book.xlsx#Sheet1``.
Hidden files and files of other kinds are not tables. Discovery infers column types from the
first ``sample_rows`` rows; a read casts every row to those types, so discovery and reads
agree, and a later value that does not fit fails with ``source_value_invalid`` naming its
column and row. Files carry no primary key: the caller may declare one per table (``keys``).

A table name can never reach outside the root: absolute paths, ``..`` and symbolic links
that lead out are refused with ``source_path_invalid``.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pyarrow as pa

from govdata.core.errors import InvalidInput
from govdata.sources import csvfiles, jsonfiles, xlsxfiles
from govdata.sources.base import (
    ColumnInfo,
    Filter,
    SourceConnector,
    TableInfo,
    check_limit,
    table_unknown,
    unreachable,
)
from govdata.sources.records import RowFilter, finish, needed_columns

FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_SHEET_MARK = ".xlsx#"


def path_invalid(name: str) -> InvalidInput:
    return InvalidInput(
        f"文件路径 {name} 不合法：只能读取数据源目录内的文件",
        f"The file path {name} is not allowed: only files inside the source folder can be read",
        code="source_path_invalid",
        details={"path": name},
    )


def _config_invalid(key: str, value: object) -> InvalidInput:
    return InvalidInput(
        f"文件数据源配置项 {key} 的值 {value!r} 不合法",
        f"The file source setting {key} has an invalid value {value!r}",
        code="source_config_invalid",
        details={"key": key, "value": repr(value)},
    )


@dataclass(frozen=True)
class _FileTable:
    info: TableInfo
    file: str  # the file's name relative to the root
    path: Path
    kind: str
    encoding: str = ""
    csv: csvfiles.CsvLayout | None = None
    sheet: xlsxfiles.SheetLayout | None = None


class FileConnector(SourceConnector):
    """A folder of data files (or a single file) on this server."""

    def __init__(
        self,
        root: str | Path,
        *,
        keys: Mapping[str, Sequence[str]] | None = None,
        sample_rows: int = 10_000,
        encoding: str | None = None,
        delimiter: str | None = None,
    ) -> None:
        if encoding is not None:
            try:
                encoding = codecs.lookup(encoding).name
            except LookupError:
                raise _config_invalid("encoding", encoding) from None
        if delimiter is not None and len(delimiter) != 1:
            raise _config_invalid("delimiter", delimiter)
        if sample_rows < 1:
            raise _config_invalid("sample_rows", sample_rows)
        self.root = Path(root)
        self.keys = {name: tuple(cols) for name, cols in (keys or {}).items()}
        self.sample_rows, self.encoding, self.delimiter = sample_rows, encoding, delimiter
        self.target = f"file://{self.root}"
        self._tables: dict[str, _FileTable] = {}

    # -- the interface ---------------------------------------------------------------------

    def test_connection(self) -> None:
        if self.root.is_file():
            if not os.access(self.root, os.R_OK):
                raise unreachable(self.target, "the file is not readable")
            return
        if not self.root.is_dir():
            raise unreachable(self.target, "no such file or folder")
        try:
            next(os.scandir(self.root), None)
        except OSError as exc:
            raise unreachable(self.target, exc.strerror or str(exc)) from exc

    def discover(self) -> list[TableInfo]:
        self.test_connection()
        found: dict[str, _FileTable] = {}
        for rel in self._files():
            for table in self._inspect(rel):
                found[table.info.name] = table
        self._tables = found
        return [t.info for t in found.values()]

    def table(self, table: str) -> TableInfo:
        """The table called ``table``, inspecting only its file if it was not discovered yet."""
        return self._table(table).info

    def preview(self, table: str, limit: int = 20) -> pa.Table:
        info = self.table(table)
        check_limit(limit)
        return pa.Table.from_batches(
            list(self.read_batches(table, batch_rows=limit, limit=limit)), info.arrow_schema()
        )

    def read_batches(
        self,
        table: str,
        columns: Sequence[str] | None = None,
        where: Sequence[Filter] | None = None,
        batch_rows: int = 50_000,
        limit: int | None = None,
    ) -> Iterator[pa.RecordBatch]:
        # Validate now, not at the first next(): a bad request fails where it is made.
        entry = self._table(table)
        check_limit(batch_rows, maximum=1_000_000)
        if limit is not None:
            check_limit(limit, maximum=100_000_000)
        rows = RowFilter(entry.info, where)
        needed = needed_columns(entry.info, columns, rows)
        projection = (
            needed[: len(columns)] if columns is not None else needed[: len(entry.info.columns)]
        )
        # Without a filter the first ``limit`` rows are the answer: convert no row past them.
        upto = None if rows else limit
        source = self._batches(entry, needed, min(batch_rows, upto or batch_rows), upto)
        return finish(source, projection, rows, batch_rows, limit)

    # -- internals -------------------------------------------------------------------------

    def _files(self) -> list[str]:
        if self.root.is_file():
            return [self.root.name] if self.root.suffix.lower() in FORMATS else []
        out = []
        base = self.root.resolve()
        for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for fname in sorted(filenames):
                if fname.startswith(".") or Path(fname).suffix.lower() not in FORMATS:
                    continue
                full = Path(dirpath, fname)
                if not full.resolve().is_relative_to(base) or not full.resolve().is_file():
                    continue
                out.append(full.relative_to(base).as_posix())
        return out

    def _resolve(self, rel: str) -> Path:
        """The file ``rel`` names, refusing anything that would lead outside the root."""
        pure = PurePosixPath(rel)
        if not rel or pure.is_absolute() or "\\" in rel or ".." in pure.parts:
            raise path_invalid(rel)
        if self.root.is_file():
            if rel != self.root.name or self.root.suffix.lower() not in FORMATS:
                raise table_unknown(rel)
            return self.root
        base = self.root.resolve()
        full = (base / pure).resolve()
        if not full.is_relative_to(base):
            raise path_invalid(rel)
        if not full.is_file() or full.suffix.lower() not in FORMATS:
            raise table_unknown(rel)
        return full

    def _table(self, table: str) -> _FileTable:
        entry = self._tables.get(table)
        if entry is not None:
            return entry
        rel = table
        cut = table.lower().find(_SHEET_MARK)
        if cut >= 0:
            rel = table[: cut + len(_SHEET_MARK) - 1]
        for found in self._inspect(rel, only=table):
            self._tables[found.info.name] = found
        entry = self._tables.get(table)
        if entry is None:
            raise table_unknown(table)
        return entry

    def _inspect(self, rel: str, only: str | None = None) -> list[_FileTable]:
        path = self._resolve(rel)
        kind = FORMATS[path.suffix.lower()]
        if kind == "xlsx":
            sheet = only[len(rel) + 1 :] if only is not None else None
            return [
                _FileTable(
                    self._info(f"{rel}#{found.layout.sheet}", found.schema, found.rows),
                    rel,
                    path,
                    kind,
                    sheet=found.layout,
                )
                for found in xlsxfiles.inspect(path, rel, self.sample_rows, only=sheet)
            ]
        if kind == "csv":
            shape = csvfiles.read_layout(
                path, rel, encoding=self.encoding, delimiter=self.delimiter
            )
            types, seen, exhausted = csvfiles.infer_types(path, rel, shape, self.sample_rows)
            schema = pa.schema([pa.field(n, types[n]) for n in shape.names])
            estimate = seen if exhausted else csvfiles.estimate_rows(shape, path.stat().st_size)
            return [_FileTable(self._info(rel, schema, estimate), rel, path, kind, csv=shape)]
        encoding = self.encoding or jsonfiles.file_encoding(path, rel)
        schema, estimate = jsonfiles.inspect(path, rel, kind, encoding, self.sample_rows)
        return [_FileTable(self._info(rel, schema, estimate), rel, path, kind, encoding=encoding)]

    def _info(self, name: str, schema: pa.Schema, rows: int) -> TableInfo:
        keys = self.keys.get(name, ())
        columns = tuple(
            ColumnInfo(
                name=f.name,
                type=str(f.type),
                arrow_type=f.type,
                # Nothing in a file forbids an empty cell, a declared key column included.
                nullable=True,
                is_key=f.name in keys,
            )
            for f in schema
        )
        info = TableInfo(
            schema="file", name=name, columns=columns, primary_key=keys, row_estimate=rows
        )
        for key in keys:
            info.column(key)
        return info

    def _batches(
        self, entry: _FileTable, columns: list[str], batch_rows: int, upto: int | None
    ) -> Iterator[pa.RecordBatch]:
        info = entry.info
        if entry.kind == "csv":
            assert entry.csv is not None
            schema = info.arrow_schema(columns)
            row = 1
            for batch in csvfiles.text_batches(entry.path, info.name, entry.csv, columns):
                if upto is not None:
                    batch = batch.slice(0, upto - row + 1)
                yield csvfiles.typed(batch, schema, info.name, row)
                row += batch.num_rows
                if upto is not None and row > upto:
                    return
        elif entry.kind == "xlsx":
            assert entry.sheet is not None
            yield from xlsxfiles.batches(
                entry.path, entry.file, entry.sheet, info.arrow_schema(), columns, batch_rows
            )
        else:
            yield from jsonfiles.batches(
                entry.path,
                entry.file,
                entry.kind,
                entry.encoding,
                info.arrow_schema(),
                columns,
                batch_rows,
            )
