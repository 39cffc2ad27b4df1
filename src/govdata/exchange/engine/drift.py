"""Schema drift: the source's columns compared with the mount's mapping at the start of a run.

- A source column the mapping does not know is carried along: appended to the mapping with
  no item (``item: null``), added to the lake table as a nullable column (existing rows read
  null), recorded in ``Mount.drift``, put on the entry's timeline, and told to the provider
  department's data officers, who decide whether it becomes a catalog item.
- A mapped column that disappeared, or whose type can no longer feed its mapped type, fails
  the run with ``source_schema_drift`` before anything is written: the lake table stays as
  it was until someone fixes the mapping.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from govdata.core.clock import now
from govdata.core.errors import InvalidInput
from govdata.exchange import mapping
from govdata.exchange.engine.context import MountFacts, RunContext
from govdata.exchange.models import Mount
from govdata.sources.base import ColumnInfo, TableInfo

DRIFT_EVENT = "source_drift"


def schema_drift(column: str, old: str, new: str | None) -> InvalidInput:
    if new is None:
        return InvalidInput(
            f"数据源结构变化：已映射的列“{column}”（{old}）已被删除，本次运行未写入任何数据；"
            "请调整挂载映射",
            f"Source schema drift: the mapped column {column!r} ({old}) was dropped; "
            "nothing was written. Adjust the mount's mapping",
            code="source_schema_drift",
            details={"column": column, "old_type": old, "new_type": None},
        )
    return InvalidInput(
        f"数据源结构变化：已映射的列“{column}”类型由 {old} 变为 {new}，本次运行未写入任何数据；"
        "请调整挂载映射",
        f"Source schema drift: the mapped column {column!r} changed type from {old} to {new}; "
        "nothing was written. Adjust the mount's mapping",
        code="source_schema_drift",
        details={"column": column, "old_type": old, "new_type": new},
    )


def _feeds(source: pa.DataType, declared: pa.DataType) -> bool:
    """Whether values of ``source`` still cast to the mapped type without changing meaning."""
    text = pa.types.is_string(source) or pa.types.is_large_string(source)
    if text and not (pa.types.is_string(declared) or pa.types.is_binary(declared)):
        return False
    try:
        pa.array([], type=source).cast(declared)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
        return False
    return True


def _described(col: ColumnInfo) -> str:
    return f"{col.type} ({col.arrow_type})" if col.type else str(col.arrow_type)


def check(rc: RunContext, info: TableInfo) -> list[str]:
    """Compare ``info`` (the source as discovered now) with the mapping; returns added columns.

    Raises ``source_schema_drift`` for a dropped or retyped mapped column. Added columns are
    applied to the mount, the lake table and the entry before returning, and ``rc.mount`` is
    refreshed to the new mapping.
    """
    current = {c.name: c for c in info.columns}
    for entry in rc.mount.columns:
        column = str(entry["column"])
        declared = mapping.parse_type(str(entry["type"]))
        col = current.get(column)
        if col is None:
            raise schema_drift(column, str(declared), None)
        if not _feeds(col.arrow_type, declared):
            raise schema_drift(column, str(declared), _described(col))
    # Columns the officer saw when mapping and left out stay out: only newcomers are drift.
    known = set(mapping.source_columns(rc.mount)) | set(rc.mount.known_columns)
    new = [c for c in info.columns if c.name not in known]
    if new:
        _add_columns(rc, new)
    reconcile_lake(rc)
    return [c.name for c in new]


def _add_columns(rc: RunContext, new: list[ColumnInfo]) -> None:
    from govdata.catalog.models import CatalogEntry, EntryEvent
    from govdata.identity import queries as org
    from govdata.notifications.actions import Message, notify
    from govdata.security.permissions import Role, Scope

    seen_at = now().isoformat()
    with rc.db.transaction(immediate=True) as s:
        mount = s.get(Mount, rc.mount.id)
        assert mount is not None
        columns = [dict(c) for c in mount.columns or ()]
        known = {str(c["column"]) for c in columns}
        taken = {str(c["field"]) for c in columns}
        added: list[dict[str, Any]] = []
        for col in new:
            if col.name in known:
                continue
            field = _unique(mapping.field_name(None, col.name), taken)
            added.append(
                {
                    "item": None,
                    "column": col.name,
                    "field": field,
                    "type": mapping.type_string(mapping.lake_type(col.arrow_type)),
                }
            )
        if not added:
            rc.mount = MountFacts.of(mount)
            return
        mount.columns = [*columns, *added]
        drift = [dict(d) for d in mount.drift or ()]
        for a, col in zip(added, new, strict=False):
            drift.append(
                {"column": a["column"], "field": a["field"], "type": col.type, "seen_at": seen_at}
            )
        mount.drift = drift
        s.flush()
        names = ", ".join(a["column"] for a in added)
        entry = s.get(CatalogEntry, mount.entry_id)
        if entry is not None:
            s.add(
                EntryEvent(
                    entry_id=entry.id,
                    version_no=entry.latest_version_no,
                    action=DRIFT_EVENT,
                    actor_id=None,
                    actor_name="system",
                    comment=f"数据源新增列：{names} / New source columns: {names}",
                    details={"mount_id": mount.id, "columns": [a["column"] for a in added]},
                )
            )
            officers = org.users_covering(
                s,
                {Role.DEPT_OFFICER},
                Scope(region_path=entry.region_path, department_id=entry.provider_department_id),
            )
            notify(
                s,
                officers,
                Message(
                    kind="exchange.source_drift",
                    title_zh=f"“{entry.name}”的数据源新增列：{names}",
                    title_en=f"New source columns for {entry.name!r}: {names}",
                    body=(
                        "新增列已随数据一并汇聚（未对应信息项），请确认是否补充到目录。"
                        " / The new columns are collected without a catalog item; decide "
                        "whether the entry should describe them."
                    ),
                    link=f"/exchange/mounts/{mount.id}",
                    target_type="mount",
                    target_id=mount.id,
                ),
            )
        rc.mount = MountFacts.of(mount)
    rc.log(
        "warning",
        f"数据源新增列 {names}，已加入湖表并标记到目录 / new source columns {names} were "
        "added to the lake table and flagged on the entry",
    )


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        suffix = f"_{n}"
        candidate, n = name[: 63 - len(suffix)] + suffix, n + 1
    taken.add(candidate)
    return candidate


def reconcile_lake(rc: RunContext) -> None:
    """Add mapped fields the lake table lacks (a run that stopped between the mapping change
    and the table change finishes it here)."""
    table = rc.mount.lake_table
    if not table or not rc.lake.exists(table):
        return
    have = set(pa.schema(rc.lake.table(table).schema().to_arrow()).names)
    missing = [f for f in mapping.mount_schema(rc.mount) if f.name not in have]
    if missing:
        rc.lake.add_columns(table, missing, commit_metadata={"govdata.drift": rc.pipeline_id})
