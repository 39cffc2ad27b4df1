"""Incremental load by watermark: rows changed since the last committed position, merged by key.

The position (``{"watermark": <value as text>, "key": <last key at that watermark>}``) is
read from the newest lake commit of the pipeline, and the new one is written in the same
commit as the merged rows, so a crash at any point either kept both or neither.

A run reads ``wm > last`` and ``wm = last AND key > last_key``: rows sharing the last
watermark value (many rows updated in the same second) are never skipped because the
previous run stopped in the middle of them, and a run that finds nothing new commits
nothing. With a composite key there is no single "last key", so the run reads
``wm >= last`` and merges the rows at ``last`` again (merging is idempotent).

The first run (no position yet) is a full load, and its position is the highest watermark
(and key) of what it loaded. Rows whose watermark is NULL are only picked up by full loads;
a source that updates rows without moving their watermark needs a CDC pipeline.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from govdata.core.errors import InvalidInput
from govdata.exchange import mapping
from govdata.exchange.engine.context import RunContext
from govdata.exchange.engine.full import (
    DEFAULT_BATCH_ROWS,
    ChunkReader,
    StagedWriter,
    clear_stale_staging,
    ensure_table,
    finished_already,
    overwrite_from,
    remove_staging,
    stage_source,
    staged_reader,
    staging_dir,
    target_info,
)
from govdata.sources.base import Filter, TableInfo


def _fields(rc: RunContext) -> tuple[str, str | None]:
    """The lake fields of the watermark and of the single key (None for a composite key)."""
    mount = rc.mount
    column = mount.watermark_column
    if not column:
        raise InvalidInput(
            "增量管道须在挂载上设置水位列",
            "An incremental pipeline needs a watermark column on the mount",
            code="pipeline_watermark_missing",
            details={"mount_id": mount.id},
        )
    try:
        wm_field = mount.field_of(column)
    except KeyError:
        raise InvalidInput(
            f"水位列“{column}”未映射到湖表字段，无法记录增量位置",
            f"The watermark column {column!r} is not mapped to a lake field; the position "
            "cannot be recorded",
            code="pipeline_watermark_unmapped",
            details={"column": column},
        ) from None
    if not mount.key_columns:
        raise InvalidInput(
            "增量管道须在挂载上设置主键字段",
            "An incremental pipeline needs key columns on the mount",
            code="pipeline_key_missing",
            details={"mount_id": mount.id},
        )
    key_field = mount.key_columns[0] if len(mount.key_columns) == 1 else None
    return wm_field, key_field


def _json_value(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    return value


def _typed(value: Any, t: pa.DataType) -> Any:
    """A position value (JSON) as the Python value of the source column's Arrow type."""
    if value is None:
        return None
    if pa.types.is_timestamp(t):
        parsed = dt.datetime.fromisoformat(str(value))
        if t.tz is None and parsed.tzinfo is not None:
            parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
        return parsed
    if pa.types.is_date(t):
        return dt.date.fromisoformat(str(value)[:10])
    if pa.types.is_integer(t):
        return int(value)
    if pa.types.is_decimal(t):
        return Decimal(str(value))
    if pa.types.is_floating(t):
        return float(value)
    return str(value)


def position_of(files: Sequence[Path], wm_field: str, key_field: str | None) -> dict[str, Any]:
    """The highest watermark in the staged files, and the highest key among its rows."""
    best: Any = None
    best_key: Any = None
    columns = list(dict.fromkeys([wm_field] if key_field is None else [wm_field, key_field]))
    key_index = None if key_field is None else columns.index(key_field)
    for path in files:
        with pq.ParquetFile(path) as pf:
            for batch in pf.iter_batches(batch_size=DEFAULT_BATCH_ROWS, columns=columns):
                wm = batch.column(0)
                top = pc.max(wm).as_py()
                if top is None:
                    continue
                key_at = None
                if key_index is not None:
                    mask = pc.equal(wm, pa.scalar(top, wm.type))
                    key_at = pc.max(pc.filter(batch.column(key_index), mask)).as_py()
                if best is None or top > best:
                    best, best_key = top, key_at
                elif top == best and key_at is not None and (best_key is None or key_at > best_key):
                    best_key = key_at
    return {"watermark": _json_value(best), "key": _json_value(best_key)}


def _delta_filters(
    rc: RunContext, info: TableInfo, position: dict[str, Any], key_field: str | None
) -> list[list[Filter]]:
    column = str(rc.mount.watermark_column)
    last = _typed(position.get("watermark"), info.column(column).arrow_type)
    if last is None:
        return [[]]
    if key_field is None or position.get("key") is None:
        return [[(column, ">=", last)]]
    key_column = rc.mount.column_of(key_field)
    last_key = _typed(position["key"], info.column(key_column).arrow_type)
    return [[(column, ">", last)], [(column, "=", last), (key_column, ">", last_key)]]


def _writer_for(path: Path, schema: pa.Schema) -> Callable[[], StagedWriter]:
    return lambda: StagedWriter(path, schema)


def run_incremental(rc: RunContext) -> None:
    """Merge the rows changed since the committed position (see the module docstring)."""
    _fields(rc)
    ensure_table(rc)
    if finished_already(rc):
        remove_staging(rc)
        return
    clear_stale_staging(rc)
    if not incremental_pass(rc):
        rc.log("info", "没有新变化 / nothing new since the committed position")


def incremental_pass(rc: RunContext) -> int:
    """One pass: merge what changed since the newest committed position, in one commit.

    Returns the rows merged (0: nothing new, nothing committed). A run may make many passes
    (CDC falling back to polling): each starts from the position the previous one committed.
    """
    wm_field, key_field = _fields(rc)
    table = ensure_table(rc)
    committed = rc.committed()
    position = committed.position if committed is not None else None
    connector = rc.connector()
    info = target_info(rc, connector)
    if not position or position.get("watermark") is None:
        rc.log("info", "尚无增量位置，先做一次全量 / no position yet: loading everything first")
        staged = stage_source(rc, connector, info)
        first = position_of(staged, wm_field, key_field)
        before = rc.counts.written
        overwrite_from(rc, table, staged, first)
        remove_staging(rc)
        return rc.counts.written - before

    reader = ChunkReader(rc, connector, info, fast=False)
    schema = mapping.mount_schema(rc.mount)
    stop = threading.Event()
    files: list[Path] = []
    for i, where in enumerate(_delta_filters(rc, info, position, key_field)):
        path = staging_dir(rc) / f"delta-{i}.parquet"
        writer = reader.stage(where, _writer_for(path, schema), stop)
        rc.add_counts(read=writer.rows)
        if writer.rows:
            files.append(path)
    if not files:
        rc.record_commit(committed.version if committed else 0, position)
        rc.lake_version_after = rc.lake_version()
        remove_staging(rc)
        return 0
    new = position_of(files, wm_field, key_field)
    batch_rows = int(rc.pipeline.option("batch_rows", DEFAULT_BATCH_ROWS))
    result = rc.lake.merge(
        table,
        staged_reader(files, schema, batch_rows),
        list(rc.mount.key_columns),
        commit_metadata=rc.commit_metadata(new),
    )
    inserted = int(result.metrics.get("num_target_rows_inserted", 0))
    updated = int(result.metrics.get("num_target_rows_updated", 0))
    rc.add_counts(written=inserted + updated, inserted=inserted, updated=updated)
    rc.record_commit(result.version, new)
    rc.log(
        "info",
        f"合并 {inserted} 行新增、{updated} 行更新，位置 {new} / merged {inserted} new and "
        f"{updated} updated rows, position {new}",
    )
    remove_staging(rc)
    return inserted + updated
