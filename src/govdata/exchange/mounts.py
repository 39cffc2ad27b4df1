"""Mounts (挂载): a source table, query, file or API attached to a published catalog entry.

A mount maps source columns to the entry's items (``exchange/mapping.py``) and says how the
data is reached: LOGICAL mounts are read at the source at request time
(``exchange/logical.py``); PHYSICAL mounts are copied into the lake table
``Mount.lake_table`` by pipelines. Only PUBLISHED entries are mounted: the items a mount
maps are the reviewed ones of the published version, and an unreviewed draft is no promise
of what the data means.

Authority: ``exchange.manage`` over the provider department (``Scope(region_path,
department_id)``) to change a mount, ``exchange.read`` to see one. The source must belong
to the entry's provider department.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from govdata.catalog.models import CatalogEntry, DataElement, EntryItem
from govdata.catalog.vocab import EntryStatus
from govdata.core.errors import Conflict, InvalidInput, NotFound
from govdata.core.pagination import check_limit, paginate
from govdata.exchange import mapping
from govdata.exchange.models import LineageEvent, Mount, Pipeline, PipelineRun, PipelineRunLog
from govdata.exchange.schemas import (
    IssueOut,
    MappingColumn,
    MountCreate,
    MountOut,
    MountPage,
    MountUpdate,
    ProposalOut,
    ProposeIn,
    SourceColumnOut,
)
from govdata.exchange.vocab import MountMode, RunStatus, TargetKind
from govdata.identity import queries as org
from govdata.lake.names import RESERVED_SCHEMAS, entry_table_name
from govdata.lake.tables import Lake
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm, Scope
from govdata.security.scopes import scope_clause
from govdata.sources.base import SourceConnector, TableInfo
from govdata.sources.models import SourceSystem
from govdata.sources.registry import SourceFacts, connector_for, source_facts
from govdata.sources.sql import SqlConnector

ACTIVE_RUNS = (RunStatus.QUEUED.value, RunStatus.RUNNING.value)
# What kind of source each target kind reads.
_TARGET_SOURCES = {
    TargetKind.TABLE: frozenset({"mariadb", "postgresql", "sqlite"}),
    TargetKind.QUERY: frozenset({"mariadb", "postgresql", "sqlite"}),
    TargetKind.FILE: frozenset({"file"}),
    TargetKind.API: frozenset({"http"}),
}
# Discovery of the mounted table or query gets at most this long (seconds).
DISCOVERY_TIMEOUT = 30.0


# -- scopes and lookups ---------------------------------------------------------------------


def department_scope(s: Session, department_id: str) -> Scope:
    dept = org.department_by_id(s, department_id)
    return Scope(region_path=dept.region_path if dept else None, department_id=department_id)


def mount_not_found(mount_id: str) -> NotFound:
    return NotFound(
        "挂载不存在或无权查看",
        "Mount not found",
        code="mount_not_found",
        details={"mount_id": mount_id},
    )


def load_mount(ctx: ActionContext, mount_id: str, perm: Perm) -> tuple[Mount, Scope]:
    """The mount, once ``perm`` over its department is checked; 404 for readers outside it."""
    mount = ctx.session.get(Mount, mount_id)
    if mount is None:
        ctx.require(perm)
        raise mount_not_found(mount_id)
    scope = department_scope(ctx.session, mount.department_id)
    if not ctx.actor.can(Perm.EXCHANGE_READ, scope):
        # Someone who may not even see the mount learns nothing about it.
        ctx.require(perm)
        raise mount_not_found(mount_id)
    ctx.require(perm, scope, target_id=mount.id)
    return mount, scope


def _entry(ctx: ActionContext, ref: str) -> CatalogEntry:
    s = ctx.session
    if "/" in ref:
        entry = s.scalars(select(CatalogEntry).where(CatalogEntry.resource_code == ref)).first()
    else:
        entry = s.get(CatalogEntry, ref)
    if entry is None:
        ctx.require(Perm.EXCHANGE_MANAGE)
        raise NotFound(
            "目录不存在或无权查看",
            "Catalog entry not found",
            code="entry_not_found",
            details={"ref": ref},
        )
    return entry


def _published(entry: CatalogEntry) -> None:
    if entry.status != EntryStatus.PUBLISHED or not entry.published_version_id:
        raise InvalidInput(
            "只能为已发布的目录挂载数据",
            "Only a published catalog entry can be mounted",
            code="mount_entry_unpublished",
            details={"entry_id": entry.id, "status": entry.status},
        )


def entry_items(s: Session, entry: CatalogEntry) -> list[EntryItem]:
    """The items of the entry's published version, in their order."""
    return list(
        s.scalars(
            select(EntryItem)
            .where(EntryItem.version_id == entry.published_version_id)
            .order_by(EntryItem.position)
        )
    )


def _element_names(s: Session, items: list[EntryItem]) -> dict[str, list[str]]:
    ids = sorted({i.data_element for i in items if i.data_element})
    if not ids:
        return {}
    rows = s.execute(
        select(DataElement.identifier, DataElement.name, DataElement.name_en).where(
            DataElement.identifier.in_(ids)
        )
    )
    return {ident: [n for n in (name, name_en) if n] for ident, name, name_en in rows}


def _source(ctx: ActionContext, source_id: str, department_id: str) -> SourceFacts:
    facts = source_facts(ctx.session, source_id)
    if facts is None or facts.department_id != department_id:
        raise InvalidInput(
            "数据源不存在或不属于该目录的提供部门",
            "The source does not exist or does not belong to the entry's provider department",
            code="mount_source_invalid",
            details={"source_id": source_id},
        )
    return facts


def _check_target(source: SourceFacts, target_kind: TargetKind) -> None:
    if source.kind not in _TARGET_SOURCES[target_kind]:
        raise InvalidInput(
            f"{source.kind} 类型的数据源不能按“{target_kind.value}”方式挂载",
            f"A {source.kind} source cannot be mounted as a {target_kind.value}",
            code="mount_target_invalid",
            details={"source_kind": source.kind, "target_kind": target_kind.value},
        )


def target_info(
    connector: SourceConnector, target_kind: str, target: str, *, timeout: float | None = None
) -> TableInfo:
    """The columns of what a mount reads: a discovered table, file or endpoint, or a query."""
    if target_kind == TargetKind.QUERY:
        if not isinstance(connector, SqlConnector):
            raise InvalidInput(
                "只有数据库类数据源支持只读查询挂载",
                "Only database sources can mount a read-only query",
                code="mount_target_invalid",
            )
        return connector.query_info(target, timeout=timeout)
    if isinstance(connector, SqlConnector):
        return connector.table(target)
    for info in connector.discover():
        if target in (info.name, info.qualified_name):
            return info
    raise NotFound(
        f"数据源中没有 {target}",
        f"The source has no {target}",
        code="source_table_unknown",
        details={"table": target},
    )


def lake_table_name(s: Session, entry: CatalogEntry) -> str:
    """``entry_table_name(<provider department code, sanitised>, resource_code)``."""
    dept = org.department_by_id(s, entry.provider_department_id)
    code = dept.code if dept else entry.provider_code
    schema = re.sub(r"[^a-z0-9_]", "_", code.lower()).strip("_") or "dept"
    if not schema[0].isalpha() or schema in RESERVED_SCHEMAS:
        schema = "d_" + schema
    return str(entry_table_name(schema[:63], entry.resource_code))


def _default_keys(
    items: list[EntryItem], table: TableInfo, columns: list[dict[str, Any]]
) -> list[str]:
    by_column = {c["column"]: c["field"] for c in columns}
    if table.primary_key and all(k in by_column for k in table.primary_key):
        return [by_column[k] for k in table.primary_key]
    key_items = {i.name for i in items if i.is_key}
    return [c["field"] for c in columns if c.get("item") in key_items]


def _check_keys(keys: list[str], columns: list[dict[str, Any]]) -> None:
    fields = {c["field"] for c in columns}
    unknown = [k for k in keys if k not in fields]
    if unknown or len(set(keys)) != len(keys):
        raise InvalidInput(
            f"主键字段 {unknown or keys} 不在映射中或重复",
            f"Key fields {unknown or keys} are not mapped fields or repeat",
            code="mount_key_invalid",
            details={"key_columns": keys},
        )


def _check_watermark(column: str | None, table: TableInfo) -> None:
    if column is not None and column not in {c.name for c in table.columns}:
        raise InvalidInput(
            f"水位列“{column}”不在数据源中",
            f"The watermark column {column!r} is not a source column",
            code="mount_column_unknown",
            details={"column": column},
        )


def _issues(check: mapping.MappingCheck) -> list[IssueOut]:
    return [IssueOut(**i.as_dict()) for i in check.issues]


def mount_out(s: Session, mount: Mount, issues: list[IssueOut] | None = None) -> MountOut:
    entry = s.get(CatalogEntry, mount.entry_id)
    source = s.get(SourceSystem, mount.source_id)
    return MountOut(
        id=mount.id,
        entry_id=mount.entry_id,
        entry_name=entry.name if entry else "",
        resource_code=entry.resource_code if entry else "",
        department_id=mount.department_id,
        source_id=mount.source_id,
        source_name=source.name if source else "",
        mode=MountMode(mount.mode),
        target_kind=TargetKind(mount.target_kind),
        target=mount.target,
        columns=list(mount.columns or []),
        unmapped_items=list(mount.unmapped_items or []),
        key_columns=list(mount.key_columns or []),
        watermark_column=mount.watermark_column,
        row_cap=mount.row_cap,
        timeout_seconds=mount.timeout_seconds,
        lake_table=mount.lake_table,
        drift=list(mount.drift or []),
        issues=issues or [],
        created_at=mount.created_at,
        updated_at=mount.updated_at,
    )


# -- actions --------------------------------------------------------------------------------


@dataclass
class _Resolved:
    items: list[EntryItem]
    table: TableInfo
    columns: list[dict[str, Any]]
    check: mapping.MappingCheck


def _resolve(
    ctx: ActionContext,
    entry: CatalogEntry,
    source: SourceFacts,
    target_kind: TargetKind,
    target: str,
    columns: list[MappingColumn] | None,
) -> _Resolved:
    _check_target(source, target_kind)
    connector = connector_for(ctx.settings, source)
    table = target_info(connector, target_kind, target, timeout=DISCOVERY_TIMEOUT)
    items = entry_items(ctx.session, entry)
    if columns is None:
        proposed = mapping.propose_mapping(items, table, _element_names(ctx.session, items))
    else:
        proposed = [c.model_dump() for c in columns]
    return _Resolved(items, table, proposed, mapping.check_mapping(items, table, proposed))


def propose(ctx: ActionContext, data: ProposeIn) -> ProposalOut:
    """A proposed mapping of the entry's items onto a source table or query, with its check.

    Nothing is saved. Needs ``exchange.manage`` over the entry's provider department.
    """
    entry = _entry(ctx, data.entry_id)
    ctx.require(Perm.EXCHANGE_MANAGE, department_scope(ctx.session, entry.provider_department_id))
    _published(entry)
    source = _source(ctx, data.source_id, entry.provider_department_id)
    r = _resolve(ctx, entry, source, data.target_kind, data.target, None)
    return ProposalOut(
        columns=[MappingColumn(**c) for c in r.columns],
        unmapped_items=r.check.unmapped,
        key_columns=_default_keys(r.items, r.table, r.columns),
        issues=_issues(r.check),
        source_columns=[
            SourceColumnOut(
                name=c.name,
                type=c.type,
                arrow_type=str(c.arrow_type),
                nullable=c.nullable,
                is_key=c.is_key,
                comment=c.comment,
            )
            for c in r.table.columns
        ],
    )


def create_mount(ctx: ActionContext, data: MountCreate) -> MountOut:
    """Mount a source table, read-only query, file or API on a published entry.

    The mapping is proposed from the entry's items when not given, then checked: an unknown
    column, an unknown or repeated item or field, or a type the column cannot feed refuse
    the mount; casts and length overflows are reported as warnings (``issues``), unmapped
    items are listed. Key columns default to the source's primary key (mapped) or else the
    items marked as keys. Physical mounts get their lake table name (the table itself is
    created by the first pipeline run). One mount per entry.
    """
    entry = _entry(ctx, data.entry_id)
    scope = department_scope(ctx.session, entry.provider_department_id)
    ctx.require(Perm.EXCHANGE_MANAGE, scope, target_id=entry.id)
    _published(entry)
    if ctx.session.scalar(select(Mount.id).where(Mount.entry_id == entry.id)):
        raise Conflict(
            "该目录已挂载数据",
            "The entry already has a mount",
            code="mount_exists",
            details={"entry_id": entry.id},
        )
    source = _source(ctx, data.source_id, entry.provider_department_id)
    r = _resolve(ctx, entry, source, data.target_kind, data.target, data.columns)
    r.check.raise_errors()
    keys = (
        data.key_columns
        if data.key_columns is not None
        else _default_keys(r.items, r.table, r.columns)
    )
    _check_keys(keys, r.columns)
    _check_watermark(data.watermark_column, r.table)
    mount = Mount(
        entry_id=entry.id,
        department_id=entry.provider_department_id,
        source_id=source.id,
        mode=data.mode.value,
        target_kind=data.target_kind.value,
        target=data.target,
        columns=r.columns,
        unmapped_items=r.check.unmapped,
        key_columns=keys,
        watermark_column=data.watermark_column,
        row_cap=data.row_cap,
        timeout_seconds=data.timeout_seconds,
        lake_table=lake_table_name(ctx.session, entry) if data.mode == MountMode.PHYSICAL else None,
        source_columns=[c.name for c in r.table.columns],
        drift=[],
        created_by=ctx.actor.id,
    )
    ctx.session.add(mount)
    ctx.session.flush()
    ctx.audit(
        "exchange.mount.create",
        target_type="mount",
        target_id=mount.id,
        details={
            "entry_id": entry.id,
            "source_id": source.id,
            "mode": mount.mode,
            "target_kind": mount.target_kind,
            "fields": [c["field"] for c in r.columns],
        },
    )
    return mount_out(ctx.session, mount, _issues(r.check))


def update_mount(ctx: ActionContext, mount_id: str, data: MountUpdate) -> MountOut:
    """Change a mount's source, target, mapping, keys, watermark, mode or limits.

    The whole mount is checked again against the source as it is now. Refused while one of
    its pipelines has a run queued or running (``mount_busy``).
    """
    mount, _scope = load_mount(ctx, mount_id, Perm.EXCHANGE_MANAGE)
    _not_busy(ctx.session, mount)
    entry = ctx.session.get(CatalogEntry, mount.entry_id)
    assert entry is not None
    _published(entry)
    given = data.model_fields_set
    source_id = data.source_id or mount.source_id
    target_kind = data.target_kind or TargetKind(mount.target_kind)
    target = data.target or mount.target
    retarget = (source_id, target_kind.value, target) != (
        mount.source_id,
        mount.target_kind,
        mount.target,
    )
    columns = data.columns
    if columns is None and not retarget:
        columns = [MappingColumn(**c) for c in mount.columns]
    source = _source(ctx, source_id, mount.department_id)
    r = _resolve(ctx, entry, source, target_kind, target, columns)
    r.check.raise_errors()
    if "key_columns" in given and data.key_columns is not None:
        keys = data.key_columns
    elif columns is None or data.columns is not None:
        keys = _default_keys(r.items, r.table, r.columns)
    else:
        keys = list(mount.key_columns)
    _check_keys(keys, r.columns)
    watermark = data.watermark_column if "watermark_column" in given else mount.watermark_column
    _check_watermark(watermark, r.table)
    mode = data.mode or MountMode(mount.mode)
    changed = sorted(given)
    mount.source_id = source.id
    mount.target_kind = target_kind.value
    mount.target = target
    mount.columns = r.columns
    mount.unmapped_items = r.check.unmapped
    mount.key_columns = keys
    mount.watermark_column = watermark
    mount.mode = mode.value
    if data.row_cap is not None:
        mount.row_cap = data.row_cap
    if data.timeout_seconds is not None:
        mount.timeout_seconds = data.timeout_seconds
    if mode == MountMode.PHYSICAL and mount.lake_table is None:
        mount.lake_table = lake_table_name(ctx.session, entry)
    # A new mapping is a fresh start: drift was relative to the old one.
    if data.columns is not None or retarget:
        mount.drift = []
        mount.source_columns = [c.name for c in r.table.columns]
    ctx.session.flush()
    ctx.audit(
        "exchange.mount.update",
        target_type="mount",
        target_id=mount.id,
        details={"changed": changed, "fields": [c["field"] for c in r.columns]},
    )
    return mount_out(ctx.session, mount, _issues(r.check))


def _not_busy(s: Session, mount: Mount) -> None:
    busy = s.scalar(
        select(func.count())
        .select_from(PipelineRun)
        .join(Pipeline, Pipeline.id == PipelineRun.pipeline_id)
        .where(Pipeline.mount_id == mount.id, PipelineRun.status.in_(ACTIVE_RUNS))
    )
    if busy:
        raise Conflict(
            "该挂载的管道正在运行，请先暂停或等待其结束",
            "A pipeline of this mount is running; pause it or wait for it to finish",
            code="mount_busy",
            details={"mount_id": mount.id},
        )


def delete_pipeline_rows(s: Session, pipeline: Pipeline) -> None:
    """Remove a pipeline with its run history, run logs and schedule (lineage stays)."""
    from govdata.core.jobs.models import JobSchedule

    run_ids = select(PipelineRun.id).where(PipelineRun.pipeline_id == pipeline.id)
    s.execute(
        update(LineageEvent)
        .where(LineageEvent.run_id.in_(run_ids))
        .values(run_id=None)
        .execution_options(synchronize_session=False)
    )
    s.query(PipelineRunLog).filter(PipelineRunLog.run_id.in_(run_ids)).delete(
        synchronize_session=False
    )
    s.query(PipelineRun).filter(PipelineRun.pipeline_id == pipeline.id).delete(
        synchronize_session=False
    )
    schedule_id = pipeline.schedule_id
    pipeline.schedule_id = None
    s.flush()
    s.delete(pipeline)
    s.flush()
    if schedule_id:
        schedule = s.get(JobSchedule, schedule_id)
        if schedule is not None:
            s.delete(schedule)


def delete_mount(ctx: ActionContext, mount_id: str, *, drop_lake_table: bool = False) -> None:
    """Remove a mount and its pipelines (with their run history and schedules).

    Refused while a pipeline of the mount is running (``mount_busy``). The lake table of a
    physical mount is kept (it is the record of what was collected) unless
    ``drop_lake_table`` is set.
    """
    mount, _scope = load_mount(ctx, mount_id, Perm.EXCHANGE_MANAGE)
    _not_busy(ctx.session, mount)
    pipelines = list(ctx.session.scalars(select(Pipeline).where(Pipeline.mount_id == mount.id)))
    for pipeline in pipelines:
        delete_pipeline_rows(ctx.session, pipeline)
    table = mount.lake_table
    ctx.session.delete(mount)
    ctx.session.flush()
    dropped = False
    if drop_lake_table and table:
        lake = Lake.from_settings(ctx.settings)
        if lake.exists(table):
            shutil.rmtree(lake.path(table))
            dropped = True
    ctx.audit(
        "exchange.mount.delete",
        target_type="mount",
        target_id=mount_id,
        details={
            "entry_id": mount.entry_id,
            "pipelines": [p.id for p in pipelines],
            "lake_table": table,
            "lake_table_dropped": dropped,
        },
    )


def get_mount(ctx: ActionContext, mount_id: str) -> MountOut:
    """One mount (``exchange.read`` over its department)."""
    mount, _scope = load_mount(ctx, mount_id, Perm.EXCHANGE_READ)
    return mount_out(ctx.session, mount)


def mount_of_entry(ctx: ActionContext, entry_id: str) -> MountOut | None:
    """The mount of an entry, if it has one the actor may see."""
    mount_id = ctx.session.scalar(select(Mount.id).where(Mount.entry_id == entry_id))
    if mount_id is None:
        ctx.require(Perm.EXCHANGE_READ)
        return None
    return get_mount(ctx, mount_id)


def list_mounts(
    ctx: ActionContext,
    *,
    department_id: str | None = None,
    mode: MountMode | None = None,
    source_id: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> MountPage:
    """Mounts the actor may see (``exchange.read`` over their department), newest first."""
    ctx.require(Perm.EXCHANGE_READ)
    check_limit(limit)
    stmt = (
        select(Mount)
        .join(CatalogEntry, CatalogEntry.id == Mount.entry_id)
        .where(
            scope_clause(
                ctx.actor, Perm.EXCHANGE_READ, Mount.department_id, CatalogEntry.region_path
            )
        )
    )
    if department_id is not None:
        stmt = stmt.where(Mount.department_id == department_id)
    if mode is not None:
        stmt = stmt.where(Mount.mode == mode.value)
    if source_id is not None:
        stmt = stmt.where(Mount.source_id == source_id)
    total = ctx.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = paginate(
        ctx.session,
        stmt,
        [Mount.created_at, Mount.id],
        limit=limit,
        cursor=cursor,
        descending=True,
    )
    return MountPage(
        items=[mount_out(ctx.session, m) for m in page.items],
        next_cursor=page.next_cursor,
        total=total,
    )
