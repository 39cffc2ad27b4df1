"""The data-service API (服务聚合): granted data, exactly as granted, every call audited.

A call names an entry by resource code, the fields it wants (default: all granted), filters
on granted fields (equality, ranges, IN), a keyset cursor, or one key to look up. The
answer holds only the granted fields and only rows inside the grant's row filter, masked
per item as the grant says. It reads the live source for logically accessed entries and
the lake table for physically aggregated ones, the same way.

Departure from one-action-one-transaction, on purpose: the grant check (with the rate
count) and the audit record are two short transactions around the read, so the store's
write lock is never held while a department's database or the lake is being read. The
audit record is committed before any row leaves: a call whose audit fails returns nothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from sqlalchemy import select

from govdata.catalog.models import CatalogEntry
from govdata.core.errors import GovDataError, InvalidInput, PermissionDenied, ServiceUnavailable
from govdata.core.pagination import decode_cursor, encode_cursor
from govdata.exchange import logical
from govdata.exchange.models import Mount
from govdata.security.audit import FAILURE
from govdata.security.context import ActionContext, Caller
from govdata.security.permissions import Perm
from govdata.sharing import limits, masking
from govdata.sharing.common import published_entry
from govdata.sharing.grants import grant_for_read
from govdata.sharing.models import Grant
from govdata.sharing.schemas import DataPage, VerifyIn, VerifyOut, VerifyResult
from govdata.sharing.vocab import ONWARD_TRANSFER_NOTICE
from govdata.sources.base import FILTER_OPS, Filter

AUDIT_READ = "sharing.data.read"
AUDIT_VERIFY = "sharing.data.verify"
# The grant code shown when a provider department reads its own entry.
OWN = "own"


def _count(ctx: ActionContext) -> None:
    """The call is served: count it against the caller's rate limit and quota."""
    if ctx.actor.kind in ("app", "user") and ctx.actor.id is not None:
        limits.consume(ctx.session, ctx.settings, ctx.actor.id, is_app=ctx.actor.kind == "app")


@dataclass(frozen=True)
class _Plan:
    """What the grant lets this call read, fixed inside the check transaction."""

    entry_id: str
    resource_code: str
    grant_id: str
    grant_code: str
    purpose: str
    mount: Mount
    granted: list[str]  # field names, mapping order
    masks: dict[str, str]  # field -> mask kind
    row_filter: list[Filter]  # on fields
    key: list[str]  # key fields


def _refuse(ctx: ActionContext, entry: str, error: GovDataError) -> GovDataError:
    # The caller's Caller.act() audits these as denied once the transaction has ended.
    ctx.denials.append((Perm.DATA_READ.value, entry))
    return error


def _plan(ctx: ActionContext, resource_code: str) -> _Plan:
    ctx.require(Perm.DATA_READ)
    s = ctx.session
    entry: CatalogEntry = published_entry(ctx, resource_code)
    own = ctx.actor.department_id == entry.provider_department_id
    grant: Grant | None = None
    if not own:
        try:
            grant = grant_for_read(ctx, entry)
        except PermissionDenied as exc:
            raise _refuse(ctx, entry.resource_code, exc) from None
    mount = s.scalars(select(Mount).where(Mount.entry_id == entry.id)).one_or_none()
    if mount is None:
        raise ServiceUnavailable(
            "该目录尚未挂载数据",
            "No data is mounted on this entry yet",
            code="sharing_no_data",
            details={"resource_code": entry.resource_code},
        )
    by_item = {c["item"]: c["field"] for c in mount.columns if c.get("item")}
    if grant is None:
        # A provider reads its own data, all of it, unmasked: it holds it already.
        return _Plan(
            entry_id=entry.id,
            resource_code=entry.resource_code,
            grant_id="",
            grant_code=OWN,
            purpose="",
            mount=mount,
            granted=[c["field"] for c in mount.columns if c.get("item")],
            masks={},
            row_filter=[],
            key=list(mount.key_columns or []),
        )
    granted = [c["field"] for c in mount.columns if c.get("item") in set(grant.items)]
    row_filter: list[Filter] = []
    for cond in grant.row_filter or []:
        item = cond[0]
        if item not in by_item:
            # A row limit we cannot apply means no rows, never all rows.
            raise ServiceUnavailable(
                "授权的行范围无法执行（信息项未挂载），已拒绝读取",
                "The grant's row scope names an unmapped item; the read is refused",
                code="sharing_grant_unenforceable",
                details={"item": item},
            )
        row_filter.append((by_item[item], *cond[1:]))  # type: ignore[arg-type]
    masks = {
        by_item[item]: kind
        for item, kind in (grant.masks or {}).items()
        if item in by_item and kind != masking.CLEAR
    }
    return _Plan(
        entry_id=entry.id,
        resource_code=entry.resource_code,
        grant_id=grant.id,
        grant_code=grant.code,
        purpose=grant.purpose,
        mount=mount,
        granted=granted,
        masks=masks,
        row_filter=row_filter,
        key=list(mount.key_columns or []),
    )


def _not_granted(names: Sequence[str], granted: Sequence[str]) -> InvalidInput:
    return InvalidInput(
        f"未获授权的字段：{'、'.join(names)}",
        f"Fields outside the grant: {', '.join(names)}",
        code="sharing_field_not_granted",
        details={"fields": list(names), "granted": list(granted)},
    )


def _check_filters(filters: Sequence[Filter], plan: _Plan) -> list[Filter]:
    out: list[Filter] = []
    for cond in filters:
        if not isinstance(cond, (tuple, list)) or len(cond) not in (2, 3):
            raise InvalidInput(
                "每个条件须为 [字段, 运算符, 值]",
                "Each filter is [field, op, value]",
                code="source_filter_invalid",
            )
        name, op = str(cond[0]), str(cond[1]).upper()
        if name not in plan.granted:
            # Filtering on an ungranted field would leak it one yes/no at a time.
            raise _not_granted([name], plan.granted)
        if op not in FILTER_OPS:
            raise InvalidInput(
                f"不支持运算符 {op}", f"Unsupported operator {op}", code="source_filter_invalid"
            )
        out.append((name, op, *cond[2:]))  # type: ignore[arg-type]
    return out


def _audit(
    caller: Caller,
    action: str,
    plan: _Plan,
    *,
    fields: list[str],
    rows: int,
    started: float,
    details: dict[str, Any],
    outcome: str = "success",
) -> None:
    with caller.act() as ctx:
        limits.flush(ctx.session)
        ctx.audit(
            action,
            target_type="entry",
            target_id=plan.entry_id,
            outcome=outcome,
            fields=fields,
            row_count=rows,
            details={
                "resource_code": plan.resource_code,
                "grant": plan.grant_code,
                "app": caller.actor.id if caller.actor.kind == "app" else None,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                **details,
            },
        )


def _read(caller: Caller, plan: _Plan, **kw: Any) -> pa.Table:
    with caller.db.sessions() as s:
        return logical.fetch(s, caller.settings, plan.mount, **kw)


def read_data(
    caller: Caller,
    resource_code: str,
    *,
    fields: Sequence[str] | None = None,
    filters: Sequence[Filter] = (),
    limit: int = 100,
    cursor: str | None = None,
    key: str | None = None,
) -> DataPage:
    """Granted rows of an entry, a page at a time in key order.

    ``fields`` (default: every granted field) and ``filters`` (``[field, op, value]``, ops
    ``= < <= > >= IN IS NULL IS NOT NULL``) may only name granted fields
    (``sharing_field_not_granted`` otherwise); the grant's row filter is always added.
    ``key`` looks up one record by the entry's single-field key. ``next_cursor`` continues
    in key order (entries with a single-field key); masked fields are listed in ``masked``.
    Needs ``data.read`` and an active grant to the caller's department (and app) — or the
    caller's department provides the entry; counted against the app's rate limit and quota;
    audited (``sharing.data.read``: app, grant, fields, filters, rows, duration).
    """
    started = time.perf_counter()
    max_rows = caller.settings.data_api_max_rows
    if not 1 <= limit <= max_rows:
        raise InvalidInput(
            f"每页行数须在 1 到 {max_rows} 之间",
            f"limit must be between 1 and {max_rows}",
            code="invalid_limit",
        )
    after = None
    if cursor:
        values = decode_cursor(cursor)
        if len(values) != 1:
            raise InvalidInput("分页游标无效", "Invalid pagination cursor", code="invalid_cursor")
        after = values[0]
    with caller.act() as ctx:
        plan = _plan(ctx, resource_code)
        wanted = list(dict.fromkeys(fields)) if fields else list(plan.granted)
        outside = [f for f in wanted if f not in plan.granted]
        if outside:
            raise _refuse(ctx, plan.resource_code, _not_granted(outside, plan.granted))
        conditions = _check_filters(filters, plan)
        if key is not None:
            if len(plan.key) != 1:
                raise InvalidInput(
                    "该目录不是单字段主键，请用过滤条件查询",
                    "The entry has no single-field key; use filters",
                    code="sharing_key_unsupported",
                )
            if plan.key[0] not in plan.granted:
                raise _refuse(ctx, plan.resource_code, _not_granted(plan.key, plan.granted))
            conditions.append((plan.key[0], "=", key))
            limit = 1
        _count(ctx)
    paging = len(plan.key) == 1
    where = [*conditions, *plan.row_filter]
    if after is not None:
        if not paging:
            raise InvalidInput(
                "该目录为复合主键，不支持翻页游标",
                "Keyset paging needs a single-field key",
                code="invalid_cursor",
            )
        where.append((plan.key[0], ">", after))
    n = min(limit + 1, plan.mount.row_cap) if paging else min(limit, plan.mount.row_cap)
    read_fields = list(dict.fromkeys([*wanted, *plan.key])) if paging else wanted
    try:
        table = _read(
            caller,
            plan,
            fields=read_fields,
            filters=where,
            limit=n,
            order_by=plan.key if paging else None,
        )
    except GovDataError as exc:
        _audit(
            caller,
            AUDIT_READ,
            plan,
            fields=wanted,
            rows=0,
            started=started,
            details={"filters": _shown(conditions), "error": exc.code},
            outcome=FAILURE,
        )
        raise
    next_cursor = None
    if paging and table.num_rows > limit:
        table = table.slice(0, limit)
        last = table.column(plan.key[0])[limit - 1].as_py()
        next_cursor = encode_cursor([logical.jsonable(last)])
    # The keys of the rows handed out (before masking) go into the audit record, so the
    # auditor can trace who read one record and anomaly detection can see enumeration.
    read_keys = _keys_of(table, plan.key)
    table = masking.mask_table(table.select(wanted), plan.masks)
    _audit(
        caller,
        AUDIT_READ,
        plan,
        fields=wanted,
        rows=table.num_rows,
        started=started,
        details={"filters": _shown(conditions), "cursor": bool(cursor), "keys": read_keys},
    )
    out = logical.rows_out(table)
    zh, en = ONWARD_TRANSFER_NOTICE
    return DataPage(
        resource_code=plan.resource_code,
        grant_code=plan.grant_code,
        purpose=plan.purpose,
        onward_transfer=en if caller.actor.locale.startswith("en") else zh,
        fields=out.fields,
        rows=out.rows,
        row_count=out.row_count,
        next_cursor=next_cursor,
        masked=[f for f in wanted if f in plan.masks],
    )


def lookup(
    caller: Caller, resource_code: str, key: str, *, fields: Sequence[str] | None = None
) -> DataPage:
    """The record with key ``key`` (entries with a single-field key): a page of 0 or 1 rows."""
    return read_data(caller, resource_code, fields=fields, key=key)


def _keys_of(table: pa.Table, key: Sequence[str]) -> list[str] | None:
    if len(key) != 1 or key[0] not in table.column_names:
        return None
    return [str(logical.jsonable(v)) for v in table.column(key[0]).to_pylist()]


def _shown(filters: Sequence[Filter]) -> list[list[str]]:
    return [[str(part) for part in cond] for cond in filters]


def verify(caller: Caller, resource_code: str, data: VerifyIn) -> VerifyOut:
    """Batch verification (核验): for each key, whether a record exists inside the grant and
    whether each claimed value equals the record's; no value comes back. Claimed fields and
    the key must be granted. Audited (``sharing.data.verify``) with the number of checks."""
    started = time.perf_counter()
    keys = []
    for check in data.checks:
        if "key" not in check or not isinstance(check.get("values", {}), dict):
            raise InvalidInput(
                "每项核验须含 key 和 values",
                "Each check needs key and values",
                code="sharing_verify_invalid",
            )
        keys.append(check["key"])
    with caller.act() as ctx:
        plan = _plan(ctx, resource_code)
        claimed = sorted({f for c in data.checks for f in (c.get("values") or {})})
        outside = [f for f in [data.key, *claimed] if f not in plan.granted]
        if outside:
            raise _refuse(ctx, plan.resource_code, _not_granted(outside, plan.granted))
        _count(ctx)
    fields = list(dict.fromkeys([data.key, *claimed]))
    table = _read(
        caller,
        plan,
        fields=fields,
        filters=[(data.key, "IN", list(dict.fromkeys(keys))), *plan.row_filter],
        limit=min(len(keys) * 2, plan.mount.row_cap),
    )
    found: dict[str, dict[str, Any]] = {}
    for row in table.to_pylist():
        found.setdefault(str(row[data.key]), row)
    results = []
    for check in data.checks:
        row = found.get(str(check["key"]))
        values = check.get("values") or {}
        per_field = {f: row is not None and _same(row.get(f), v) for f, v in values.items()}
        results.append(
            VerifyResult(
                key=check["key"],
                found=row is not None,
                match=row is not None and all(per_field.values()),
                fields=per_field,
            )
        )
    _audit(
        caller,
        AUDIT_VERIFY,
        plan,
        fields=fields,
        rows=len(results),
        started=started,
        details={
            "checks": len(results),
            "matched": sum(r.match for r in results),
            "keys": [str(check["key"]) for check in data.checks],
        },
    )
    return VerifyOut(resource_code=plan.resource_code, grant_code=plan.grant_code, results=results)


def _same(actual: Any, claimed: Any) -> bool:
    if actual is None or claimed is None:
        return actual is None and claimed is None
    return str(logical.jsonable(actual)).strip() == str(claimed).strip()
