"""Delta Lake tables under one folder: write, merge, delete, read, time travel, change feed.

Every operation takes and returns Arrow (tables or record-batch readers), so a large load
streams through in batches and never becomes Python row objects. Every write is exactly one
Delta commit: readers see the version before or the version after, never a half table, and
the commit history is the exchange log (see docs/lake.md).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import (
    CommitFailedError,
    DeltaError,
    SchemaMismatchError,
    TableNotFoundError,
)
from deltalake.schema import Schema as DeltaSchema
from deltalake.transaction import AddAction, RemoveAction

from govdata.config import Settings
from govdata.core.errors import Conflict, GovDataError, InvalidInput, NotFound
from govdata.core.sqlident import quote_identifier
from govdata.lake.names import TableName, parse_table_name
from govdata.security.crypto import columns as enc

if TYPE_CHECKING:
    from govdata.security.crypto.columns import CellCipher
    from govdata.security.crypto.lake_keys import LakeKeys

ArrowData: TypeAlias = "pa.Table | pa.RecordBatch | pa.RecordBatchReader"

CDF_CONFIG = "delta.enableChangeDataFeed"
# Custom table property linking a lake table to the catalog entry whose data it holds.
ENTRY_KEY = "govdata.entry_id"

DEFAULT_RETENTION = timedelta(days=7)
MIN_RETENTION = timedelta(days=1)

_VIEW_TYPES = {pa.string_view(): pa.string(), pa.binary_view(): pa.binary()}


@dataclass(frozen=True)
class TableInfo:
    """What ``Lake.info`` reports about one table."""

    name: str
    version: int
    num_rows: int
    # Bytes of the files making up the current version; ``disk_bytes`` adds old versions
    # and the log, i.e. what vacuum could reclaim plus what it must keep.
    size_bytes: int
    disk_bytes: int
    schema: pa.Schema
    entry_id: str | None
    description: str | None
    configuration: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WriteResult:
    """The version a write committed and the row counts delta-rs reported for it."""

    version: int
    metrics: dict[str, Any]


def _plain_types(schema: pa.Schema) -> pa.Schema:
    """The schema with string/binary *views* replaced by ordinary string/binary.

    delta-rs hands out view types from its change feed; many Arrow kernels (``take``,
    ``sort``) and consumers do not handle them yet, so callers always get plain types.
    """
    return pa.schema(
        [f.with_type(_VIEW_TYPES.get(f.type, f.type)) for f in schema], metadata=schema.metadata
    )


def _as_reader(data: ArrowData) -> pa.RecordBatchReader:
    if isinstance(data, pa.RecordBatchReader):
        return data
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    return pa.RecordBatchReader.from_batches(data.schema, data.to_batches())


def _plain_reader(reader: Any) -> pa.RecordBatchReader:
    """Any Arrow stream (delta-rs returns arro3 readers) as a pyarrow reader of plain types."""
    source = pa.RecordBatchReader.from_stream(reader)
    target = _plain_types(source.schema)
    if target == source.schema:
        return source
    return pa.RecordBatchReader.from_batches(target, (b.cast(target) for b in source))


def _schema_mismatch(table: TableName, detail: str) -> InvalidInput:
    return InvalidInput(
        f"写入湖表 {table} 的数据结构与表结构不一致：{detail}",
        f"Data written to lake table {table} does not match its schema: {detail}",
        code="lake_schema_mismatch",
        details={"table": str(table), "reason": detail},
    )


class _Conformed:
    """A reader of ``data`` cast batch by batch to ``schema``.

    Casting here rather than letting delta-rs do it gives a precise message; because the
    cast runs while delta-rs consumes the stream, a bad batch late in a large load aborts
    the write before its commit, so the table stays at its last version.
    """

    def __init__(
        self,
        table: TableName,
        data: ArrowData,
        schema: pa.Schema,
        cipher: CellCipher | None = None,
    ) -> None:
        self.table = table
        self.source = _as_reader(data)
        self.schema = schema
        # Encrypts the table's marked columns on the way in (docs/security/crypto.md).
        self.cipher = cipher
        self.error: GovDataError | None = None
        have = set(self.source.schema.names)
        want = set(schema.names)
        if have != want:
            missing = sorted(want - have)
            extra = sorted(have - want)
            raise _schema_mismatch(table, f"missing columns {missing}, unknown columns {extra}")

    def _batches(self) -> Iterator[pa.RecordBatch]:
        for batch in self.source:
            try:
                out = batch.select(self.schema.names).cast(self.schema, safe=True)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
                self.error = _schema_mismatch(self.table, str(exc))
                raise
            if self.cipher is not None:
                try:
                    out = self.cipher.encrypt(out)
                except GovDataError as exc:
                    self.error = exc
                    raise
            yield out

    def reader(self) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(self.schema, self._batches())


def _quote(column: str) -> str:
    # delta-rs reads merge predicates as DataFusion SQL.
    return quote_identifier(column, "datafusion")


class Lake:
    """The Delta tables of one node, rooted at ``root`` (``Settings.lake_dir``)."""

    def __init__(self, root: Path, keys: LakeKeys | None = None) -> None:
        self.root = root
        # The data keys of tables with encrypted columns. A lake opened without them reads
        # those columns as stored (ciphertext) and refuses to write to such tables.
        self.keys = keys

    @classmethod
    def from_settings(cls, settings: Settings) -> Lake:
        from govdata.security.crypto.lake_keys import LakeKeys

        return cls(settings.lake_dir, LakeKeys(settings))

    def _cipher(
        self, table: TableName, schema: pa.Schema, *, entry_id: str | None, write: bool
    ) -> CellCipher | None:
        """The cipher of the table's encrypted columns; None when it has none (or, for a
        read, when this lake holds no keys)."""
        marks = enc.marks(schema)
        if not marks:
            return None
        if self.keys is None:
            if not write:
                return None
            raise GovDataError(
                f"湖表 {table} 含加密列，须经节点配置打开湖才能写入",
                f"Lake table {table} has encrypted columns: open the lake with the node's "
                "settings to write to it",
                code="lake_keys_unavailable",
                details={"table": str(table)},
            )
        keys = (
            self.keys.for_write(str(table), entry_id) if write else self.keys.for_read(str(table))
        )
        return enc.CellCipher(keys, marks)

    def encrypted_columns(self, name: str | TableName) -> dict[str, str]:
        """The table's encrypted columns and their mode (``det`` or ``rnd``)."""
        return enc.marks(pa.schema(self._open(name).schema().to_arrow()))

    # -- naming and lookup -------------------------------------------------------------

    def path(self, name: str | TableName) -> Path:
        table = name if isinstance(name, TableName) else parse_table_name(name)
        return self.root / table.schema / table.name

    def exists(self, name: str | TableName) -> bool:
        return DeltaTable.is_deltatable(str(self.path(name)))

    def list_tables(self) -> list[str]:
        """Every lake table as ``schema.name``, sorted. Folders that are not tables are skipped."""
        found: list[str] = []
        if not self.root.is_dir():
            return found
        for schema_dir in sorted(self.root.iterdir()):
            if not schema_dir.is_dir():
                continue
            for table_dir in sorted(schema_dir.iterdir()):
                full = f"{schema_dir.name}.{table_dir.name}"
                try:
                    parse_table_name(full)
                except InvalidInput:
                    continue
                if (table_dir / "_delta_log").is_dir():
                    found.append(full)
        return found

    def _open(self, name: str | TableName, version: int | None = None) -> DeltaTable:
        table = name if isinstance(name, TableName) else parse_table_name(name)
        path = self.path(table)
        try:
            dt = DeltaTable(str(path))
        except TableNotFoundError as exc:
            raise NotFound(
                f"湖表 {table} 不存在",
                f"Lake table {table} does not exist",
                code="lake_table_not_found",
                details={"table": str(table)},
            ) from exc
        if version is not None:
            if version < 0 or version > dt.version():
                raise NotFound(
                    f"湖表 {table} 没有版本 {version}（当前版本 {dt.version()}）",
                    f"Lake table {table} has no version {version} (current {dt.version()})",
                    code="lake_version_not_found",
                    details={"table": str(table), "version": version, "current": dt.version()},
                )
            dt.load_as_version(version)
        return dt

    def table(self, name: str | TableName, version: int | None = None) -> DeltaTable:
        """The underlying ``DeltaTable``, pinned to ``version`` if given.

        A pinned table keeps reading that version after later writes (until vacuum removes
        its files), which is what lets a long read run while a load replaces the table.
        """
        return self._open(name, version)

    # -- writes ------------------------------------------------------------------------

    def create(
        self,
        name: str,
        schema: pa.Schema,
        *,
        entry_id: str | None = None,
        description: str | None = None,
        encrypted: Mapping[str, str] | None = None,
    ) -> int:
        """Create an empty table with the change data feed on; returns its version (0).

        ``encrypted``: string columns whose values are stored SM4-encrypted with the table's
        data key (``det`` or ``rnd``, see ``govdata.security.crypto.columns``).
        """
        table = parse_table_name(name)
        if encrypted:
            schema = enc.marked(schema, encrypted)
        path = self.path(table)
        if self.exists(table):
            raise Conflict(
                f"湖表 {table} 已存在",
                f"Lake table {table} already exists",
                code="lake_table_exists",
                details={"table": str(table)},
            )
        configuration: dict[str, str | None] = {CDF_CONFIG: "true"}
        if entry_id is not None:
            configuration[ENTRY_KEY] = entry_id
        path.mkdir(parents=True, exist_ok=True)
        try:
            # delta-rs rejects table properties it does not know unless told otherwise;
            # govdata.* keys are ours and readers of other engines ignore them.
            dt = DeltaTable.create(
                str(path),
                schema,
                name=str(table),
                description=description,
                configuration=configuration,
                raise_if_key_not_exists=False,
            )
        except (DeltaError, pa.ArrowException) as exc:
            raise InvalidInput(
                f"无法创建湖表 {table}：{exc}",
                f"Cannot create lake table {table}: {exc}",
                code="lake_create_failed",
                details={"table": str(table)},
            ) from exc
        return dt.version()

    def _write(
        self,
        name: str,
        data: ArrowData,
        mode: str,
        commit_metadata: Mapping[str, str] | None,
    ) -> WriteResult:
        table = parse_table_name(name)
        dt = self._open(table)
        schema = pa.schema(dt.schema().to_arrow())
        cipher = self._cipher(table, schema, entry_id=_entry_of(dt), write=True)
        conformed = _Conformed(table, data, schema, cipher)
        try:
            write_deltalake(
                dt,
                conformed.reader(),
                mode="overwrite" if mode == "overwrite" else "append",
                commit_properties=_commit(commit_metadata),
            )
        except Exception as exc:
            # delta-rs re-raises errors from our stream (and its own cast errors) as a bare
            # Exception; either way nothing was committed.
            raise _write_error(table, conformed.error, exc) from exc
        dt.update_incremental()
        return WriteResult(dt.version(), _last_metrics(dt))

    def overwrite(
        self, name: str, data: ArrowData, *, commit_metadata: Mapping[str, str] | None = None
    ) -> WriteResult:
        """Replace the whole content in one commit.

        Readers pinned to the old version keep reading it; new readers see the new content
        only once the commit lands. A failure leaves the table at its last version.
        """
        return self._write(name, data, "overwrite", commit_metadata)

    def append(
        self, name: str, data: ArrowData, *, commit_metadata: Mapping[str, str] | None = None
    ) -> WriteResult:
        """Add rows in one commit."""
        return self._write(name, data, "append", commit_metadata)

    def commit_files(
        self,
        name: str,
        files: Sequence[Path],
        *,
        mode: str = "overwrite",
        commit_metadata: Mapping[str, str] | None = None,
        encrypted: Mapping[str, str] | None = None,
    ) -> WriteResult:
        """Make finished Parquet files the table's content (``overwrite``) or add them
        (``append``) in one commit, without writing the data again.

        Bulk loads stage their data as Parquet files of exactly the table's schema; this
        moves them into the table's folder and commits them, so a load writes its data once.
        The files must be on the lake's file system. If the commit fails they are moved
        back, and the table stays at its last version.

        A table with encrypted columns is the exception: each file is rewritten into the
        table's folder with those columns encrypted (the staged file is left where it was).
        ``encrypted`` (with ``overwrite``) sets which columns are encrypted from this version
        on, in the same commit, when the entry's requirement changed since the table was made.
        """
        table = parse_table_name(name)
        dt = self._open(table)
        schema = pa.schema(dt.schema().to_arrow())
        new_schema = None
        if encrypted is not None and mode == "overwrite":
            wanted = enc.marked(schema, encrypted)
            if enc.marks(wanted) != enc.marks(schema):
                schema = new_schema = wanted
        cipher = self._cipher(table, schema, entry_id=_entry_of(dt), write=True)
        folder = self.path(table)
        for path in files:
            have = pq.read_schema(path)
            if [(f.name, f.type) for f in have] != [(f.name, f.type) for f in schema]:
                raise _schema_mismatch(table, f"{path.name} has schema {have}")
        moved: list[tuple[Path, Path]] = []
        written: list[Path] = []
        actions: list[AddAction | RemoveAction] = []
        rows = 0
        try:
            for path in files:
                target = folder / f"part-{uuid.uuid4().hex}-c000.snappy.parquet"
                if cipher is None:
                    os.replace(path, target)
                    moved.append((path, target))
                else:
                    written.append(target)
                    _encrypt_file(path, target, schema, cipher)
                meta = pq.ParquetFile(target).metadata
                rows += meta.num_rows
                st = target.stat()
                actions.append(
                    AddAction(
                        path=target.name,
                        size=st.st_size,
                        partition_values={},
                        modification_time=int(st.st_mtime * 1000),
                        data_change=True,
                        stats=json.dumps(_file_stats(meta, schema)),
                    )
                )
            dt.create_write_transaction(
                actions,
                mode="overwrite" if mode == "overwrite" else "append",
                schema=DeltaSchema.from_arrow(new_schema) if new_schema else dt.schema(),
                commit_properties=_commit(commit_metadata),
            )
        except BaseException as exc:
            for source, target in moved:
                os.replace(target, source)
            for target in written:
                target.unlink(missing_ok=True)
            if isinstance(exc, Exception):
                raise _write_error(table, None, exc) from exc
            raise
        dt.update_incremental()
        return WriteResult(dt.version(), {"num_added_rows": rows, "num_added_files": len(actions)})

    def merge(
        self,
        name: str,
        data: ArrowData,
        keys: Sequence[str],
        *,
        delete_column: str | None = None,
        commit_metadata: Mapping[str, str] | None = None,
    ) -> WriteResult:
        """Upsert ``data`` by ``keys`` in one commit: update matched rows, insert the rest.

        With ``delete_column`` (a boolean column of ``data`` that is not stored), source rows
        where it is true delete the matching target row instead — how a change stream
        carries deletes. Keys must be unique within ``data``.
        """
        table = parse_table_name(name)
        dt = self._open(table)
        schema = pa.schema(dt.schema().to_arrow())
        if not keys:
            raise InvalidInput(
                "合并须指定至少一个主键列",
                "Merge needs at least one key column",
                code="lake_merge_keys_missing",
            )
        unknown = [k for k in keys if k not in schema.names]
        if unknown:
            raise InvalidInput(
                f"合并主键列不在湖表 {table} 中：{unknown}",
                f"Merge key columns not in lake table {table}: {unknown}",
                code="lake_merge_keys_unknown",
                details={"table": str(table), "columns": unknown},
            )
        reader = _as_reader(data)
        if delete_column is not None:
            if (
                delete_column not in reader.schema.names
                or reader.schema.field(delete_column).type != pa.bool_()
            ):
                raise _schema_mismatch(table, f"{delete_column} must be boolean")
            stored = schema.append(pa.field(delete_column, pa.bool_()))
        else:
            stored = schema
        random_keys = [k for k in keys if enc.marks(schema).get(k) == enc.RANDOM]
        if random_keys:
            raise InvalidInput(
                f"湖表 {table} 的合并主键列以随机方式加密，无法按值合并：{random_keys}",
                f"Merge key columns of lake table {table} are encrypted at random and cannot "
                f"be matched by value: {random_keys}",
                code="lake_merge_keys_unknown",
                details={"table": str(table), "columns": random_keys},
            )
        cipher = self._cipher(table, schema, entry_id=_entry_of(dt), write=True)
        conformed = _Conformed(table, reader, stored, cipher)

        on = " AND ".join(f"t.{_quote(k)} = s.{_quote(k)}" for k in keys)
        values = {_quote(c): f"s.{_quote(c)}" for c in schema.names}
        merger = dt.merge(
            conformed.reader(),
            on,
            source_alias="s",
            target_alias="t",
            commit_properties=_commit(commit_metadata),
        )
        if delete_column is not None:
            flag = f"s.{_quote(delete_column)}"
            merger = (
                merger.when_matched_delete(predicate=flag)
                .when_matched_update(values, predicate=f"NOT {flag}")
                .when_not_matched_insert(values, predicate=f"NOT {flag}")
            )
        else:
            merger = merger.when_matched_update(values).when_not_matched_insert(values)
        try:
            metrics = merger.execute()
        except Exception as exc:
            raise _write_error(table, conformed.error, exc) from exc
        dt.update_incremental()
        return WriteResult(dt.version(), dict(metrics))

    def delete(
        self,
        name: str,
        predicate: str,
        *,
        commit_metadata: Mapping[str, str] | None = None,
    ) -> WriteResult:
        """Delete the rows matching a Delta SQL ``predicate`` (e.g. ``"id < 10"``) in one commit.

        The predicate is code written by the platform, never user text: it is SQL.
        """
        table = parse_table_name(name)
        dt = self._open(table)
        try:
            metrics = dt.delete(predicate, commit_properties=_commit(commit_metadata))
        except DeltaError as exc:
            raise InvalidInput(
                f"湖表 {table} 删除条件无效：{exc}",
                f"Invalid delete predicate on lake table {table}: {exc}",
                code="lake_predicate_invalid",
                details={"table": str(table), "predicate": predicate},
            ) from exc
        dt.update_incremental()
        return WriteResult(dt.version(), dict(metrics))

    # -- reads -------------------------------------------------------------------------

    def dataset(self, name: str | TableName, version: int | None = None) -> pads.Dataset:
        """The table (at ``version``) as a pyarrow dataset: lazy, projectable, filterable."""
        return self._open(name, version).to_pyarrow_dataset()

    def scan(
        self,
        name: str,
        *,
        columns: Sequence[str] | None = None,
        filter: pc.Expression | None = None,
        version: int | None = None,
        batch_size: int = 65_536,
        dataset: pads.Dataset | None = None,
        lookups: Sequence[Sequence[Any]] | None = None,
    ) -> pa.RecordBatchReader:
        """Stream the table in batches, with projection and filter pushed into the scan.

        ``dataset``: the table as the caller already opened it (``self.dataset``), so a
        caller that needed its schema first does not open it twice.

        Files that delta-rs rewrote in a merge or delete may store strings as Arrow *view*
        types, for which pyarrow has no comparison kernels: the filter cannot run inside
        the scan of such a file. Those files are read whole, cast to plain types and
        filtered here; every other file keeps the pushed-down filter (and its statistics).

        Encrypted columns come back decrypted (``_scan_encrypted``); ``lookups`` (the
        ``[column, op, value]`` conditions ``filter`` was made from) let equality and IN
        conditions on deterministically encrypted columns still run inside the scan.
        """
        ds = dataset if dataset is not None else self.dataset(name, version)
        _check_columns(name, ds.schema, columns)
        wanted = list(columns) if columns is not None else None
        table = parse_table_name(name)
        cipher = self._cipher(table, ds.schema, entry_id=None, write=False)
        if cipher is not None:
            return _scan_encrypted(ds, cipher, wanted, filter, lookups or (), batch_size)
        if filter is None:
            return ds.scanner(columns=wanted, batch_size=batch_size).to_reader()
        plain = _plain_types(ds.schema)
        out = plain if wanted is None else pa.schema([plain.field(c) for c in wanted])

        def batches() -> Iterator[pa.RecordBatch]:
            for fragment in ds.get_fragments():
                physical = fragment.physical_schema
                if _plain_types(physical) == physical:
                    for batch in fragment.to_batches(
                        schema=ds.schema, columns=wanted, filter=filter, batch_size=batch_size
                    ):
                        yield batch.cast(out) if batch.schema != out else batch
                    continue
                for batch in fragment.to_batches(schema=ds.schema, batch_size=batch_size):
                    table = pa.Table.from_batches([batch.cast(plain)]).filter(filter)
                    yield from table.select(out.names).to_batches()

        return pa.RecordBatchReader.from_batches(out, batches())

    def read(
        self,
        name: str,
        *,
        columns: Sequence[str] | None = None,
        filter: pc.Expression | None = None,
        version: int | None = None,
    ) -> pa.Table:
        """The table (or a past ``version``) as one Arrow table."""
        return self.scan(name, columns=columns, filter=filter, version=version).read_all()

    def changes(
        self,
        name: str,
        starting_version: int,
        ending_version: int | None = None,
        *,
        columns: Sequence[str] | None = None,
    ) -> pa.RecordBatchReader:
        """Row changes committed in versions ``starting_version..ending_version`` (inclusive).

        Each row carries ``_change_type`` (insert, update_preimage, update_postimage,
        delete), ``_commit_version`` and ``_commit_timestamp``. An overwrite shows as deletes
        of the old rows and inserts of the new ones.
        """
        table = parse_table_name(name)
        dt = self._open(table)
        current = dt.version()
        end = current if ending_version is None else ending_version
        if starting_version < 0 or starting_version > end or end > current:
            raise NotFound(
                f"湖表 {table} 没有版本区间 {starting_version}..{end}（当前版本 {current}）",
                f"Lake table {table} has no version range {starting_version}..{end} "
                f"(current {current})",
                code="lake_version_not_found",
                details={"table": str(table), "start": starting_version, "end": end},
            )
        try:
            raw = dt.load_cdf(
                starting_version=starting_version,
                ending_version=end,
                columns=list(columns) if columns is not None else None,
            )
        except DeltaError as exc:
            raise InvalidInput(
                f"无法读取湖表 {table} 的变更：{exc}",
                f"Cannot read changes of lake table {table}: {exc}",
                code="lake_changes_unavailable",
                details={"table": str(table)},
            ) from exc
        reader = _plain_reader(raw)
        cipher = self._cipher(table, pa.schema(dt.schema().to_arrow()), entry_id=None, write=False)
        if cipher is None:
            return reader
        return pa.RecordBatchReader.from_batches(reader.schema, (cipher.decrypt(b) for b in reader))

    def history(self, name: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Commits, newest first: version, timestamp (ms), operation, metrics, our metadata."""
        return self._open(name).history(limit)

    def last_commit(self, name: str, match: Mapping[str, str]) -> dict[str, Any] | None:
        """The newest commit whose metadata holds every key/value of ``match``, or None.

        Pipelines find their committed source position this way (the commit that wrote the
        data also wrote the position). The history is read newest first in growing pages,
        so a pipeline that committed recently costs a few commit files, not the whole log.
        """
        dt = self._open(name)
        total = dt.version() + 1
        page = 32
        while True:
            commits = dt.history(min(page, total))
            for commit in commits:
                if all(commit.get(k) == v for k, v in match.items()):
                    return commit
            if len(commits) >= total or page >= total:
                return None
            page *= 8

    def add_columns(
        self,
        name: str,
        fields: Sequence[pa.Field],
        *,
        commit_metadata: Mapping[str, str] | None = None,
    ) -> int:
        """Add nullable columns at the end of the schema in one commit; returns the version.

        Existing rows read the new columns as null. Columns already present are an error:
        the caller decides what a type change means, this only widens the table.
        """
        table = parse_table_name(name)
        dt = self._open(table)
        present = set(pa.schema(dt.schema().to_arrow()).names)
        clash = [f.name for f in fields if f.name in present]
        if clash:
            raise Conflict(
                f"湖表 {table} 已有列：{clash}",
                f"Lake table {table} already has columns {clash}",
                code="lake_column_exists",
                details={"table": str(table), "columns": clash},
            )
        if not fields:
            return dt.version()
        delta_fields = DeltaSchema.from_arrow(
            pa.schema([f.with_nullable(True) for f in fields])
        ).fields
        try:
            dt.alter.add_columns(list(delta_fields), commit_properties=_commit(commit_metadata))
        except (DeltaError, pa.ArrowException) as exc:
            raise InvalidInput(
                f"无法为湖表 {table} 增加列：{exc}",
                f"Cannot add columns to lake table {table}: {exc}",
                code="lake_alter_failed",
                details={"table": str(table)},
            ) from exc
        dt.update_incremental()
        return dt.version()

    def info(self, name: str) -> TableInfo:
        table = parse_table_name(name)
        dt = self._open(table)
        actions = pa.table(dt.get_add_actions(flatten=True))
        size = sum(actions["size_bytes"].to_pylist())
        records = actions["num_records"] if "num_records" in actions.column_names else None
        if records is not None and records.null_count == 0:
            rows = sum(records.to_pylist())
        else:
            # Files written without statistics: count from parquet footers instead.
            rows = dt.to_pyarrow_dataset().count_rows()
        meta = dt.metadata()
        config = dict(meta.configuration)
        return TableInfo(
            name=str(table),
            version=dt.version(),
            num_rows=int(rows),
            size_bytes=int(size),
            disk_bytes=_folder_size(self.path(table)),
            schema=pa.schema(dt.schema().to_arrow()),
            entry_id=config.get(ENTRY_KEY),
            description=meta.description,
            configuration=config,
        )

    # -- maintenance -------------------------------------------------------------------

    def vacuum(
        self,
        name: str,
        retention: timedelta = DEFAULT_RETENTION,
        *,
        allow_short_retention: bool = False,
        dry_run: bool = False,
    ) -> list[str]:
        """Delete data files no version younger than ``retention`` needs; returns their names.

        Time travel and change-feed reads further back than ``retention`` stop working, and
        a reader pinned to an older version loses its files. Seven days by default; under
        one day only with ``allow_short_retention`` (tests, emergency disk recovery).
        """
        table = parse_table_name(name)
        if retention < timedelta(0) or (retention < MIN_RETENTION and not allow_short_retention):
            raise InvalidInput(
                f"清理保留期不能短于1天（请求 {retention}）；确需更短请显式允许",
                f"Vacuum retention cannot be under 1 day (asked {retention}) "
                "unless explicitly allowed",
                code="lake_vacuum_retention_too_short",
                details={"table": str(table), "retention_hours": retention.total_seconds() / 3600},
            )
        dt = self._open(table)
        hours = int(retention.total_seconds() // 3600)
        # delta-rs enforces its own 7-day floor; our policy above replaces it.
        return dt.vacuum(
            retention_hours=hours,
            dry_run=dry_run,
            enforce_retention_duration=hours >= DEFAULT_RETENTION.total_seconds() // 3600,
        )


def _scan_encrypted(
    ds: pads.Dataset,
    cipher: CellCipher,
    wanted: list[str] | None,
    filter: pc.Expression | None,
    lookups: Sequence[Sequence[Any]],
    batch_size: int,
) -> pa.RecordBatchReader:
    """A scan of a table with encrypted columns: rows come back decrypted.

    ``filter`` is written against plaintext, so it runs after decryption; equality and IN
    conditions on deterministic columns are first turned into conditions on the ciphertext
    and pushed into the scan (with file statistics). With a filter every column is read:
    which ones it needs cannot be read off a compiled expression.
    """
    plain = _plain_types(ds.schema)
    out = plain if wanted is None else pa.schema([plain.field(c) for c in wanted])
    read = wanted if filter is None else None
    pushed: pc.Expression | None = None
    for cond in lookups:
        if len(cond) != 3 or str(cond[1]).upper().strip() not in ("=", "IN"):
            continue
        values = cond[2] if isinstance(cond[2], (list, tuple)) else [cond[2]]
        sealed = cipher.lookup_values(str(cond[0]), values)
        if sealed is None:
            continue
        term = pc.field(str(cond[0])).isin(pa.array(sealed, type=pa.string()))
        pushed = term if pushed is None else pushed & term

    def batches() -> Iterator[pa.RecordBatch]:
        for fragment in ds.get_fragments():
            physical = fragment.physical_schema
            push = pushed if _plain_types(physical) == physical else None
            for batch in fragment.to_batches(
                schema=ds.schema, columns=read, filter=push, batch_size=batch_size
            ):
                if batch.num_rows == 0:
                    continue
                target = plain if read is None else pa.schema([plain.field(c) for c in read])
                clear = cipher.decrypt(batch.cast(target) if batch.schema != target else batch)
                if filter is None:
                    yield clear
                    continue
                kept = pa.Table.from_batches([clear]).filter(filter)
                yield from kept.select(out.names).to_batches()

    return pa.RecordBatchReader.from_batches(out, batches())


def _encrypt_file(source: Path, target: Path, schema: pa.Schema, cipher: CellCipher) -> None:
    with (
        pq.ParquetFile(source) as pf,
        pq.ParquetWriter(target, schema, compression="snappy") as out,
    ):
        for batch in pf.iter_batches(batch_size=65_536):
            out.write_batch(cipher.encrypt(batch.cast(schema)))


def _entry_of(dt: DeltaTable) -> str | None:
    return dt.metadata().configuration.get(ENTRY_KEY)


def _commit(metadata: Mapping[str, str] | None) -> CommitProperties | None:
    # Pipelines put their run id here, so the table history names the run behind each version.
    return CommitProperties(custom_metadata=dict(metadata)) if metadata else None


def _last_metrics(dt: DeltaTable) -> dict[str, Any]:
    history = dt.history(1)
    metrics = history[0].get("operationMetrics", {}) if history else {}
    return dict(metrics)


def _write_error(table: TableName, stream_error: GovDataError | None, exc: Exception) -> Exception:
    if stream_error is not None:
        return stream_error
    if isinstance(exc, GovDataError):
        return exc
    if isinstance(exc, CommitFailedError):
        return Conflict(
            f"湖表 {table} 同时被其他写入修改，本次写入未提交",
            f"Lake table {table} was changed by a concurrent write; nothing was committed",
            code="lake_commit_conflict",
            details={"table": str(table)},
        )
    # delta-rs reports its own cast failures as a bare Exception with this prefix.
    if isinstance(exc, SchemaMismatchError) or str(exc).startswith("Cast error"):
        return _schema_mismatch(table, str(exc))
    return InvalidInput(
        f"写入湖表 {table} 失败，未提交任何变更：{exc}",
        f"Writing lake table {table} failed; nothing was committed: {exc}",
        code="lake_write_failed",
        details={"table": str(table)},
    )


def _file_stats(meta: pq.FileMetaData, schema: pa.Schema) -> dict[str, Any]:
    """Delta file statistics from a Parquet footer: row and null counts, and exact bounds
    for integers, dates and strings (what merges by key use to skip files)."""
    nulls: dict[str, int] = {}
    lows: dict[str, Any] = {}
    highs: dict[str, Any] = {}
    for i, f in enumerate(schema):
        bounded = (
            pa.types.is_integer(f.type) or pa.types.is_date(f.type) or pa.types.is_string(f.type)
        )
        low: Any = None
        high: Any = None
        count = 0
        exact = bounded
        for g in range(meta.num_row_groups):
            st = meta.row_group(g).column(i).statistics
            if st is None:
                exact = False
                count = -1
                break
            count += st.null_count
            if not st.has_min_max:
                continue
            low = st.min if low is None or st.min < low else low
            high = st.max if high is None or st.max > high else high
        if count >= 0:
            nulls[f.name] = count
        # Strings keep their exact bounds however long (as delta-rs writes them): delta-rs
        # reads a missing bound as null, and a filter on the column then skips the file.
        if not exact or low is None:
            continue
        if pa.types.is_date(f.type):
            low, high = low.isoformat(), high.isoformat()
        lows[f.name], highs[f.name] = low, high
    return {
        "numRecords": meta.num_rows,
        "minValues": lows,
        "maxValues": highs,
        "nullCount": nulls,
    }


def _check_columns(name: str, schema: pa.Schema, columns: Sequence[str] | None) -> None:
    unknown = [c for c in columns or () if c not in schema.names]
    if unknown:
        raise InvalidInput(
            f"湖表 {name} 没有列：{unknown}",
            f"Lake table {name} has no columns {unknown}",
            code="lake_column_unknown",
            details={"table": name, "columns": unknown},
        )


def _folder_size(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for file in files:
            total += (Path(dirpath) / file).stat().st_size
    return total
