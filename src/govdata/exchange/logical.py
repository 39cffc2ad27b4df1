"""Reading a mount's rows: at the source for logical mounts, from the lake for physical ones.

A logical read goes to the source at request time with the projection, the filters and the
limit pushed down (a table's ``SELECT <columns> … WHERE … LIMIT n``; a query mount's query
wrapped the same way), capped at the mount's row cap, and under the mount's timeout, which
the source itself enforces (``source_timeout``): a slow request never keeps working at the
department's database after we gave up on it. A physical read scans the mount's lake table
with the same projection and filters.

Either way the caller names output FIELDS (not source columns) and gets them back typed as
the mapping says. Every read is audited with its fields and row count.

Lake tables as such (``/api/v1/lake/tables``) are read here too: their metadata with
``exchange.read``, their rows with ``data.preview``, both over the department providing the
catalog entry the table belongs to (a table of no entry: platform-wide grants only).
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.orm import Session

from govdata.catalog.models import CatalogEntry
from govdata.config import Settings
from govdata.core.errors import InvalidInput, NotFound
from govdata.exchange import mapping
from govdata.exchange.models import Mount
from govdata.exchange.mounts import load_mount
from govdata.exchange.schemas import LakeTableOut, LakeVersionOut, RowsOut
from govdata.exchange.vocab import MountMode, TargetKind
from govdata.lake.tables import Lake
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm, Scope
from govdata.sources.base import FILTER_OPS, Filter
from govdata.sources.registry import connector_for, source_facts
from govdata.sources.sql import SqlConnector


class _Mapping:
    """A subset of a mount's mapping, in the order asked for (what ``conform`` applies)."""

    def __init__(self, columns: Sequence[dict[str, Any]]) -> None:
        self.columns = list(columns)


def _bad_field(name: str, fields: Sequence[str]) -> InvalidInput:
    return InvalidInput(
        f"挂载中没有字段“{name}”",
        f"The mount has no field {name!r}",
        code="mount_field_unknown",
        details={"field": name, "fields": list(fields)},
    )


def _select(mount: Mount, fields: Sequence[str] | None) -> list[dict[str, Any]]:
    by_field = {c["field"]: c for c in mount.columns}
    if fields is None:
        return list(mount.columns)
    if not fields:
        raise InvalidInput(
            "至少选择一个字段", "Select at least one field", code="mount_field_unknown"
        )
    out = []
    for name in dict.fromkeys(fields):
        if name not in by_field:
            raise _bad_field(name, list(by_field))
        out.append(by_field[name])
    return out


def _source_filters(mount: Mount, filters: Sequence[Filter]) -> list[Filter]:
    """Filters on fields → the same filters on the source columns behind them."""
    by_field = {c["field"]: c["column"] for c in mount.columns}
    out: list[Filter] = []
    for cond in filters:
        if not isinstance(cond, (tuple, list)) or len(cond) not in (2, 3):
            raise InvalidInput(
                "每个条件须为 [字段, 运算符, 值]",
                "Each filter is [field, op, value]",
                code="source_filter_invalid",
                details={"condition": repr(cond)},
            )
        name = cond[0]
        if name not in by_field:
            raise _bad_field(str(name), list(by_field))
        out.append((by_field[name], str(cond[1]).upper().strip(), *cond[2:]))
    return out


def lake_filter(schema: pa.Schema, filters: Sequence[Filter]) -> pc.Expression | None:
    expr: pc.Expression | None = None
    for cond in filters:
        if not isinstance(cond, (tuple, list)) or len(cond) not in (2, 3):
            raise InvalidInput(
                "每个条件须为 [字段, 运算符, 值]",
                "Each filter is [field, op, value]",
                code="source_filter_invalid",
                details={"condition": repr(cond)},
            )
        name, op = str(cond[0]), str(cond[1]).upper().strip()
        value = cond[2] if len(cond) == 3 else None
        if name not in schema.names:
            raise _bad_field(name, schema.names)
        if op not in FILTER_OPS:
            raise InvalidInput(
                f"不支持运算符 {op}",
                f"Unsupported operator {op}",
                code="source_filter_invalid",
                details={"condition": repr(cond)},
            )
        field = pc.field(name)
        t = schema.field(name).type
        if op == "IS NULL":
            term = field.is_null()
        elif op == "IS NOT NULL":
            term = field.is_valid()
        elif op == "IN":
            if not isinstance(value, (list, tuple)) or not value:
                raise InvalidInput(
                    "IN 需要非空列表",
                    "IN needs a non-empty list",
                    code="source_filter_invalid",
                    details={"condition": repr(cond)},
                )
            term = field.isin(pa.array([_scalar(v, t, cond) for v in value], type=t))
        else:
            scalar = _scalar(value, t, cond)
            term = {
                "=": field == scalar,
                "<": field < scalar,
                "<=": field <= scalar,
                ">": field > scalar,
                ">=": field >= scalar,
            }[op]
        expr = term if expr is None else expr & term
    return expr


def _scalar(value: Any, t: pa.DataType, cond: Any) -> Any:
    try:
        return pa.scalar(value).cast(t).as_py()
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise InvalidInput(
            f"值 {value!r} 不符合字段类型 {t}",
            f"{value!r} does not fit the field type {t}",
            code="source_filter_invalid",
            details={"condition": repr(cond)},
        ) from exc


def _logical(
    s: Session,
    settings: Settings,
    mount: Mount,
    cols: list[dict[str, Any]],
    where: list[Filter],
    limit: int,
    order_by: list[str] | None,
) -> Iterator[pa.RecordBatch]:
    facts = source_facts(s, mount.source_id)
    if facts is None:
        raise InvalidInput(
            "挂载的数据源已不存在",
            "The mount's source no longer exists",
            code="mount_source_invalid",
            details={"source_id": mount.source_id},
        )
    connector = connector_for(settings, facts)
    columns = mapping.source_columns(_Mapping(cols))
    timeout = float(mount.timeout_seconds)
    batch_rows = min(limit, 50_000)
    if mount.target_kind == TargetKind.QUERY:
        if not isinstance(connector, SqlConnector):
            raise InvalidInput(
                "只有数据库类数据源支持只读查询挂载",
                "Only database sources can mount a read-only query",
                code="mount_target_invalid",
            )
        return connector.read_query(
            mount.target,
            columns=columns,
            where=where,
            limit=limit,
            timeout=timeout,
            batch_rows=batch_rows,
            order_by=order_by,
        )
    if isinstance(connector, SqlConnector):
        return connector.read_batches(
            mount.target,
            columns=columns,
            where=where,
            limit=limit,
            timeout=timeout,
            batch_rows=batch_rows,
            order_by=order_by,
        )
    return connector.read_batches(
        mount.target, columns=columns, where=where, limit=limit, batch_rows=batch_rows
    )


def typed_filters(mount: Mount, filters: Sequence[Filter]) -> list[Filter]:
    """Filter values cast to their field's type, so every source compares like with like
    (a "42" from a query string against an integer column)."""
    types = {c["field"]: mapping.parse_type(c["type"]) for c in mount.columns}
    out: list[Filter] = []
    for cond in filters:
        if isinstance(cond, (tuple, list)) and len(cond) == 3 and cond[0] in types:
            t = types[str(cond[0])]
            value = cond[2]
            if isinstance(value, (list, tuple)):
                value = [_scalar(v, t, cond) for v in value]
            elif value is not None:
                value = _scalar(value, t, cond)
            out.append((cond[0], cond[1], value))
        else:
            out.append(cond)
    return out


def fetch(
    s: Session,
    settings: Settings,
    mount: Mount,
    *,
    fields: Sequence[str] | None = None,
    filters: Sequence[Filter] = (),
    limit: int,
    order_by: Sequence[str] | None = None,
) -> pa.Table:
    """Rows of a mount's FIELDS, no permission check: the caller has authorised the read.

    Logical mounts read the source now, projection, filters, order and limit pushed down;
    physical mounts scan the lake table. ``order_by`` (field names, ascending) is what
    keyset paging needs; without it the order is the store's.
    """
    cols = _select(mount, fields)
    wanted = _Mapping(cols)
    schema = mapping.mount_schema(wanted)
    filters = typed_filters(mount, filters)
    order = list(order_by or [])
    for name in order:
        if name not in {c["field"] for c in mount.columns}:
            raise _bad_field(name, [c["field"] for c in mount.columns])
    if mount.mode == MountMode.LOGICAL:
        where = _source_filters(mount, filters)
        by_field = {c["field"]: c["column"] for c in mount.columns}
        source_order = [by_field[f] for f in order] or None
        facts = source_facts(s, mount.source_id)
        pushed = facts is not None and facts.kind in ("mariadb", "postgresql", "sqlite")
        # Files and APIs cannot sort: read up to the row cap, then sort here.
        n = limit if pushed or not order else mount.row_cap
        extra = [by_field[f] for f in order if f not in schema.names]
        read_cols = cols + [c for c in mount.columns if c["column"] in extra]
        batches = [
            mapping.conform(b, _Mapping(read_cols))
            for b in _logical(s, settings, mount, read_cols, where, n, source_order)
        ]
        table = pa.Table.from_batches(batches, schema=mapping.mount_schema(_Mapping(read_cols)))
        if order and not pushed:
            table = table.sort_by([(f, "ascending") for f in order]).slice(0, limit)
        return table.select(schema.names)
    return _physical(settings, mount, schema, filters, limit, order)


def read_mount(
    ctx: ActionContext,
    mount_id: str,
    *,
    columns: Sequence[str] | None = None,
    filters: Sequence[Filter] | None = None,
    limit: int | None = None,
) -> pa.Table:
    """Rows of a mount as an Arrow table of its mapped fields.

    ``columns`` are field names (default: all), ``filters`` ``[field, op, value]`` conditions
    (ops ``= < <= > >= IN IS NULL IS NOT NULL``), ``limit`` at most the mount's row cap
    (default: the row cap). Logical mounts read the source now, with all of it pushed down and
    the mount's timeout enforced by the source (``source_timeout``); physical mounts read the
    lake table. Needs ``data.preview`` over the provider department; audited
    (``exchange.mount.read``) with the fields and the row count.
    """
    mount, _scope = load_mount(ctx, mount_id, Perm.DATA_PREVIEW)
    cap = mount.row_cap
    if limit is not None and limit < 1:
        raise InvalidInput(
            "行数上限须为正整数",
            "limit must be a positive integer",
            code="source_limit_invalid",
            details={"limit": limit},
        )
    n = cap if limit is None else min(limit, cap)
    table = fetch(ctx.session, ctx.settings, mount, fields=columns, filters=filters or (), limit=n)
    ctx.audit(
        "exchange.mount.read",
        target_type="mount",
        target_id=mount.id,
        fields=table.schema.names,
        row_count=table.num_rows,
        details={"mode": mount.mode, "filters": [list(map(str, f)) for f in filters or ()]},
    )
    return table


def _physical(
    settings: Settings,
    mount: Mount,
    schema: pa.Schema,
    filters: Sequence[Filter],
    limit: int,
    order_by: list[str],
) -> pa.Table:
    lake = Lake.from_settings(settings)
    if not mount.lake_table or not lake.exists(mount.lake_table):
        # Nothing collected yet: an empty result of the mount's shape, not an error.
        return schema.empty_table()
    ds = lake.dataset(mount.lake_table)
    expr = lake_filter(ds.schema, filters)
    columns = list(dict.fromkeys([*schema.names, *order_by]))
    # The conditions themselves too: a lookup by an encrypted key still runs in the scan.
    reader = lake.scan(mount.lake_table, columns=columns, filter=expr, dataset=ds, lookups=filters)
    if order_by:
        # Keyset pages: keep the smallest ``limit`` rows seen so far, batch by batch, so
        # memory stays at one batch plus one page whatever the table's size.
        keys = [(f, "ascending") for f in order_by]
        best: pa.Table | None = None
        for batch in reader:
            if batch.num_rows == 0:
                continue
            part = pa.Table.from_batches([batch])
            merged = part if best is None else pa.concat_tables([best, part])
            idx = pc.select_k_unstable(merged, k=min(limit, merged.num_rows), sort_keys=keys)
            best = merged.take(idx)
        table = reader.schema.empty_table() if best is None else best.sort_by(keys)
        table = table.select(schema.names)
    else:
        batches: list[pa.RecordBatch] = []
        got = 0
        for batch in reader:
            if got + batch.num_rows > limit:
                batch = batch.slice(0, limit - got)
            batches.append(batch)
            got += batch.num_rows
            if got >= limit:
                break
        table = pa.Table.from_batches(batches, schema=reader.schema).select(schema.names)
    return table.cast(schema) if table.schema != schema else table


# -- rows for people --------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        # As text: a float would round a 18-digit amount.
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def rows_out(table: pa.Table) -> RowsOut:
    """An Arrow table as JSON-ready rows (decimals as text, binary as base64)."""
    rows = [{k: jsonable(v) for k, v in row.items()} for row in table.to_pylist()]
    return RowsOut(
        fields=[{"name": f.name, "type": str(f.type)} for f in table.schema],
        rows=rows,
        row_count=table.num_rows,
    )


# -- lake tables ----------------------------------------------------------------------------

LAKE_ROWS_MAX = 1000


def _table_scope(ctx: ActionContext, entry_id: str | None) -> Scope:
    entry = ctx.session.get(CatalogEntry, entry_id) if entry_id else None
    if entry is None:
        # Covered by platform-wide grants only.
        return Scope()
    return Scope(region_path=entry.region_path, department_id=entry.provider_department_id)


def _lake_table(ctx: ActionContext, lake: Lake, name: str, perm: Perm) -> Scope:
    """The scope of lake table ``name`` once ``perm`` over it is checked (404 if unseen)."""
    ctx.require(perm)
    if name not in lake.list_tables():
        raise NotFound(
            f"湖表 {name} 不存在",
            f"Lake table {name} does not exist",
            code="lake_table_not_found",
            details={"table": name},
        )
    scope = _table_scope(ctx, lake.info(name).entry_id)
    if not ctx.actor.can(Perm.EXCHANGE_READ, scope):
        raise NotFound(
            f"湖表 {name} 不存在",
            f"Lake table {name} does not exist",
            code="lake_table_not_found",
            details={"table": name},
        )
    ctx.require(perm, scope, target_id=name)
    return scope


def list_lake_tables(ctx: ActionContext) -> list[LakeTableOut]:
    """Lake tables the actor may see (``exchange.read`` over the entry's department): name,
    entry, version, rows and size. Metadata only: no row is read."""
    ctx.require(Perm.EXCHANGE_READ)
    lake = Lake.from_settings(ctx.settings)
    out = []
    for name in lake.list_tables():
        info = lake.info(name)
        if not ctx.actor.can(Perm.EXCHANGE_READ, _table_scope(ctx, info.entry_id)):
            continue
        out.append(
            LakeTableOut(
                name=info.name,
                entry_id=info.entry_id,
                version=info.version,
                rows=info.num_rows,
                size_bytes=info.size_bytes,
                disk_bytes=info.disk_bytes,
                description=info.description,
            )
        )
    return out


def lake_table_versions(ctx: ActionContext, name: str, *, limit: int = 50) -> list[LakeVersionOut]:
    """The table's commits, newest first, with the pipeline and run that made each."""
    lake = Lake.from_settings(ctx.settings)
    _lake_table(ctx, lake, name, Perm.EXCHANGE_READ)
    out = []
    for commit in lake.history(name, limit=max(1, min(limit, 500))):
        ts = commit.get("timestamp")
        metrics = commit.get("operationMetrics") or {}
        out.append(
            LakeVersionOut(
                version=int(commit.get("version", 0)),
                timestamp=dt.datetime.fromtimestamp(ts / 1000, dt.UTC) if ts else None,
                operation=commit.get("operation"),
                pipeline_id=commit.get("govdata.pipeline_id"),
                run_id=commit.get("govdata.run_id"),
                metrics={k: jsonable(v) for k, v in metrics.items()},
            )
        )
    return out


def read_lake_table(
    ctx: ActionContext, name: str, *, version: int | None = None, limit: int = 100
) -> pa.Table:
    """The first ``limit`` rows (at most 1000) of a lake table, or of a past ``version``.

    Needs ``data.preview`` over the entry's provider department; audited (``lake.table.read``).
    """
    if not 1 <= limit <= LAKE_ROWS_MAX:
        raise InvalidInput(
            f"行数上限须在 1 到 {LAKE_ROWS_MAX} 之间",
            f"limit must be between 1 and {LAKE_ROWS_MAX}",
            code="source_limit_invalid",
            details={"limit": limit},
        )
    lake = Lake.from_settings(ctx.settings)
    _lake_table(ctx, lake, name, Perm.DATA_PREVIEW)
    reader = lake.scan(name, version=version, batch_size=limit)
    batches: list[pa.RecordBatch] = []
    got = 0
    for batch in reader:
        batches.append(batch.slice(0, limit - got))
        got += batches[-1].num_rows
        if got >= limit:
            break
    table = pa.Table.from_batches(batches, schema=reader.schema)
    ctx.audit(
        "lake.table.read",
        target_type="lake_table",
        target_id=name,
        fields=table.schema.names,
        row_count=table.num_rows,
        details={"version": version},
    )
    return table
