"""CKAN's ``datastore_search`` over an open dataset's lake table.

The table is read as of its current version, streamed from ``Lake.scan`` (only the open
fields, plus the key columns that number the rows) into an in-memory DuckDB that sees
nothing else; the SQL is built with SQLGlot from names checked against the open fields
(a sensitive or unknown column is refused the same way) and bound parameters for every
value. ``_id`` is the row's 1-based position in key order, so it stays put across calls
on one version.

The reader's right (``grants.may_read_data``) is checked before the lake is read (a
refusal is audited); the quota (``grants.consume``), the CALL count and the
``opendata.data.call`` audit record then commit together in one transaction, or — when
anything fails — none of them, and no record is returned.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import duckdb
import pyarrow as pa
from sqlglot import exp

from govdata.core.errors import NotFound, PermissionDenied
from govdata.lake.tables import Lake
from govdata.opendata import access, grants, usage, views
from govdata.opendata.ckan import (
    CkanCall,
    invalid,
    missing,
    param_bool,
    param_int,
    param_list,
    param_str,
)
from govdata.opendata.downloads import audit_denied
from govdata.opendata.vocab import UsageKind

DEFAULT_LIMIT = 100
MAX_LIMIT = 32_000
ID = "_id"
_SOURCE = "src"
_SORT_PART = re.compile(r'^\s*(?:"(?P<q>[^"]+)"|(?P<n>[^\s"]+))(?:\s+(?P<dir>asc|desc))?\s*$', re.I)


@dataclass(frozen=True)
class _Column:
    name: str
    arrow: pa.DataType

    @property
    def ckan_type(self) -> str:
        t = self.arrow
        if pa.types.is_integer(t):
            return "int"
        if pa.types.is_floating(t) or pa.types.is_decimal(t):
            return "numeric"
        if pa.types.is_timestamp(t):
            return "timestamp"
        if pa.types.is_date(t):
            return "date"
        if pa.types.is_boolean(t):
            return "bool"
        return "text"

    @property
    def sql_type(self) -> str:
        return {
            "int": "BIGINT",
            "numeric": "DOUBLE",
            "timestamp": "TIMESTAMP",
            "date": "DATE",
            "bool": "BOOLEAN",
        }.get(self.ckan_type, "VARCHAR")


def _not_found(rid: str) -> NotFound:
    return NotFound("资源不存在", f'Resource "{rid}" was not found.', code="ckan_not_found")


def _col(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


def _unknown(param: str, name: str) -> Exception:
    # A sensitive or unopened column is answered exactly like one that does not exist.
    return invalid(param, f'field "{name}" not in table')


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


@dataclass
class _Search:
    fields: list[str]
    filters: dict[str, list[Any]]
    q_all: list[str]
    q_fields: dict[str, str]
    sort: list[tuple[str, bool]]
    limit: int
    offset: int
    include_total: bool
    distinct: bool
    records_format: str


def _parse(call: CkanCall, columns: dict[str, _Column]) -> _Search:
    p = call.params
    known = {ID, *columns}
    fields = param_list(p, "fields") or [ID, *columns]
    for f in fields:
        if f not in known:
            raise _unknown("fields", f)
    filters_raw = p.get("filters") or {}
    if isinstance(filters_raw, str):
        try:
            filters_raw = json.loads(filters_raw)
        except ValueError:
            raise invalid("filters", "Not a JSON object") from None
    if not isinstance(filters_raw, dict):
        raise invalid("filters", "Not a JSON object")
    filters: dict[str, list[Any]] = {}
    for key, value in filters_raw.items():
        if key not in known:
            raise _unknown("filters", key)
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, str | int | float | bool) for v in values):
            raise invalid("filters", f"Invalid value for {key}")
        filters[key] = values
    q_raw = p.get("q")
    q_all: list[str] = []
    q_fields: dict[str, str] = {}
    if isinstance(q_raw, str) and q_raw.strip().startswith("{"):
        try:
            q_raw = json.loads(q_raw)
        except ValueError:
            raise invalid("q", "Not a JSON object") from None
    if isinstance(q_raw, dict):
        for key, value in q_raw.items():
            if key not in columns:
                raise _unknown("q", key)
            q_fields[key] = str(value)
    elif q_raw not in (None, ""):
        q_all = [w for w in str(q_raw).split() if w]
    distinct = param_bool(p, "distinct", False)
    sort: list[tuple[str, bool]] = []
    sort_raw = param_str(p, "sort")
    for part in (sort_raw or "").split(",") if sort_raw else []:
        m = _SORT_PART.match(part)
        if m is None:
            raise invalid("sort", f"Invalid sort {part.strip()}")
        name = m["q"] or m["n"]
        if name not in known:
            raise _unknown("sort", name)
        if distinct and name not in fields:
            raise invalid("sort", f'field "{name}" must be among the fields when distinct')
        sort.append((name, (m["dir"] or "asc").lower() == "desc"))
    records_format = param_str(p, "records_format") or "objects"
    if records_format not in {"objects", "lists"}:
        raise invalid("records_format", "Must be objects or lists")
    return _Search(
        fields=fields,
        filters=filters,
        q_all=q_all,
        q_fields=q_fields,
        sort=sort,
        limit=param_int(p, "limit", DEFAULT_LIMIT, cap=MAX_LIMIT),
        offset=param_int(p, "offset", 0),
        include_total=param_bool(p, "include_total", True),
        distinct=distinct,
        records_format=records_format,
    )


def _contains(column: str, placeholder: exp.Expr) -> exp.Expr:
    text = exp.Lower(this=exp.Cast(this=_col(column), to=exp.DataType.build("VARCHAR")))
    return exp.GT(
        this=exp.Anonymous(this="strpos", expressions=[text, exp.Lower(this=placeholder)]),
        expression=exp.Literal.number(0),
    )


def _where(search: _Search, columns: dict[str, _Column]) -> tuple[exp.Expr | None, list[Any]]:
    conditions: list[exp.Expr] = []
    params: list[Any] = []
    for key, values in search.filters.items():
        sql_type = "BIGINT" if key == ID else columns[key].sql_type
        options = []
        for v in values:
            text = ("true" if v else "false") if isinstance(v, bool) else str(v)
            params.append(text)
            options.append(
                exp.EQ(
                    this=_col(key),
                    expression=exp.TryCast(this=exp.Placeholder(), to=exp.DataType.build(sql_type)),
                )
            )
        conditions.append(exp.or_(*options) if len(options) > 1 else options[0])
    texts = [name for name, c in columns.items() if c.ckan_type == "text"]
    for word in search.q_all:
        if not texts:
            conditions.append(exp.false())
            break
        either = []
        for name in texts:
            params.append(word)
            either.append(_contains(name, exp.Placeholder()))
        conditions.append(exp.paren(exp.or_(*either)))
    for key, text in search.q_fields.items():
        for word in text.split() or [text]:
            params.append(word)
            conditions.append(_contains(key, exp.Placeholder()))
    if not conditions:
        return None, params
    return exp.and_(*conditions), params


def _numbered(keys: list[str], columns: list[str]) -> exp.Select:
    """``SELECT row_number() OVER (ORDER BY keys) AS _id, columns FROM src``."""
    order = exp.Order(expressions=[exp.Ordered(this=_col(k)) for k in keys]) if keys else None
    window = exp.Window(this=exp.RowNumber(), order=order)
    return exp.select(exp.alias_(window, ID, quoted=True), *[_col(c) for c in columns]).from_(
        exp.to_table(_SOURCE)
    )


def _statements(
    search: _Search, columns: dict[str, _Column], keys: list[str]
) -> tuple[str, str | None, list[Any]]:
    where, params = _where(search, columns)
    inner = _numbered(keys, list(columns))
    base = exp.select(*[_col(f) for f in search.fields]).from_(inner.subquery("t"))
    if where is not None:
        base = base.where(where)
    if search.distinct:
        base = base.distinct()
    order = [exp.Ordered(this=_col(n), desc=d) for n, d in search.sort]
    # A total order, so pages never overlap: _id last, or every returned field when distinct.
    if search.distinct:
        order += [exp.Ordered(this=_col(f)) for f in search.fields]
    else:
        order.append(exp.Ordered(this=_col(ID)))
    page = base.order_by(*order).limit(search.limit).offset(search.offset)
    total = None
    if search.include_total:
        counted = base.subquery("c")
        total = exp.select(exp.Count(this=exp.Star())).from_(counted).sql(dialect="duckdb")
    return page.sql(dialect="duckdb"), total, params


def _run(
    lake: Lake, table: str, version: int, scan_columns: list[str], sql: str, params: list[Any]
) -> pa.Table:
    con = duckdb.connect(":memory:")
    try:
        # Registering binds a name to the stream; DuckDB pulls batches as it needs them.
        con.register(_SOURCE, lake.scan(table, columns=scan_columns, version=version))
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        try:
            return con.sql(sql, params=params).to_arrow_table()
        except duckdb.Error as exc:
            raise invalid("q", f"Query failed: {exc}") from exc
    finally:
        con.close()


def _links(call: CkanCall, rid: str, search: _Search) -> dict[str, str]:
    base = "/api/3/action/datastore_search"
    given = {k: v for k, v in call.params.items() if isinstance(v, str | int) and k != "offset"}
    given["resource_id"] = rid
    start = f"{base}?{urlencode(given)}"
    nxt = f"{base}?{urlencode({**given, 'offset': search.offset + search.limit})}"
    return {"start": start, "next": nxt}


def datastore_search(call: CkanCall) -> dict[str, Any]:
    """Search the records of a resource (any resource of an open dataset reads its table).

    :param resource_id: id of the resource
    :param filters: field -> value (or list of values) the records must equal
    :param q: full-text words over the text fields, or field -> text
    :param fields: fields to return (list or comma-separated; default all)
    :param sort: ``"field1 asc, field2 desc"`` (default ``_id``)
    :param limit: records per call (default 100, at most 32000)
    :param offset: records to skip
    :param include_total: count all matching records (default true)
    :param distinct: return distinct rows only (default false)
    :param records_format: ``objects`` (default) or ``lists``
    :rtype: dict with ``resource_id``, ``fields``, ``records``, ``total``, ``_links``
    """
    rid = param_str(call.params, "resource_id") or param_str(call.params, "id")
    if rid is None:
        raise missing("resource_id")
    settings = call.caller.settings
    caller = call.caller
    # Resolve and authorize in a read-only session, query the lake outside any transaction
    # (on SQLite the counting transaction holds the write lock, which must not wait on a
    # table scan), then take the quota, count and audit together in one transaction.
    with caller.db.sessions() as s:
        try:
            ds, entry, _fmt = views.find_resource(s, rid)
        except NotFound:
            raise _not_found(rid) from None
        if not grants.may_read_data(s, call.who, ds, entry):
            audit_denied(caller.db, call.who, ds.id, "opendata.data.call", caller.client_addr)
            raise PermissionDenied(
                "有条件开放的数据须申请获批后使用",
                "This dataset is conditionally open: its data needs an approved application"
                f" (apply at /open/datasets/{ds.name}/apply)",
                code="opendata_access_required",
                details={"dataset": ds.name},
            )
        dataset_id, department_id = ds.id, entry.provider_department_id
        open_fields = access.open_fields(s, ds, entry)
        mount = access.lake_mount(s, entry.id)
        lake = Lake.from_settings(settings)
        if mount is None or not mount.lake_table or not lake.exists(mount.lake_table):
            raise _not_found(rid)
        table, key_columns = mount.lake_table, list(mount.key_columns)
    version = lake.table(table).version()
    # The schema as the scan yields it (encrypted columns come back decrypted).
    schema = lake.scan(table, version=version).schema
    columns = {f.field: _Column(f.field, schema.field(f.field).type) for f in open_fields}
    search = _parse(call, columns)
    keys = [k for k in key_columns if k in schema.names]
    scan_columns = list(dict.fromkeys([*columns, *keys]))
    sql, total_sql, params = _statements(search, columns, keys)
    page = _run(lake, table, version, scan_columns, sql, params)
    total = None
    if total_sql is not None:
        counted = _run(lake, table, version, scan_columns, total_sql, params)
        total = int(counted.column(0)[0].as_py())
    records: list[Any]
    rows = [{k: _json_value(v) for k, v in r.items()} for r in page.to_pylist()]
    if search.records_format == "lists":
        records = [[r[f] for f in search.fields] for r in rows]
    else:
        records = rows
    with caller.act() as ctx:
        grants.consume(ctx.session, settings, call.who, caller.client_addr)
        usage.record_usage(ctx.session, dataset_id, department_id, UsageKind.CALL)
        ctx.audit(
            "opendata.data.call",
            target_type="open_dataset",
            target_id=dataset_id,
            fields=[f for f in search.fields if f != ID],
            row_count=len(records),
            details={
                "via": "ckan.datastore_search",
                "resource_id": rid,
                "lake_version": version,
                "filters": search.filters,
                "q": search.q_fields or " ".join(search.q_all) or None,
                "limit": search.limit,
                "offset": search.offset,
                "key_id": call.who.key_id,
            },
        )
    out: dict[str, Any] = {
        "resource_id": rid,
        "fields": [
            {"id": f, "type": "int" if f == ID else columns[f].ckan_type} for f in search.fields
        ],
        "records_format": search.records_format,
        "records": records,
        "limit": search.limit,
        "include_total": search.include_total,
        "_links": _links(call, rid, search),
    }
    if "offset" in call.params:
        out["offset"] = search.offset
    if total is not None:
        out["total"] = total
        out["total_was_estimated"] = False
    return out
