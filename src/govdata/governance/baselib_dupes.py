"""Duplicates inside one source (重复数据检测): the base libraries' model over one entry.

The entry is read as one source of a cross-source subject (its mapping of the subject's
fields to lake columns, and its mount's record key), and ``linkage.find_duplicates``
trains and runs the subject's model over its lake table alone (``dedupe_only``): clusters
of two or more records are the duplicates. A check stores the counts and up to
``SAMPLE_CLUSTERS`` clusters by their record keys (largest first).

An officer checks their own department's entries (``quality.manage`` over the entry's
department), the operator any; ``quality.read`` over the department sees the results.
Record keys can be identifiers: they are shown only with ``data.preview`` on the
department, masked otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.config import Settings
from govdata.core.clock import now
from govdata.core.errors import InvalidInput, NotFound
from govdata.core.jobs import queue as jobqueue
from govdata.exchange import queries as exchange_queries
from govdata.exchange.models import Mount
from govdata.governance import authority, linkage
from govdata.governance.baselib import mask
from govdata.governance.baselib_models import DuplicateCheck
from govdata.governance.baselib_schemas import (
    STATUS_LABELS,
    BuildStatus,
    DuplicateCheckIn,
    DuplicateCheckOut,
)
from govdata.governance.vocab import label
from govdata.lake.tables import Lake
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm, Scope

JOB_KIND = "governance.baselib_dedupe"
SAMPLE_CLUSTERS = 200


def check_out(ctx: ActionContext, c: DuplicateCheck) -> DuplicateCheckOut:
    see = ctx.actor.can(Perm.DATA_PREVIEW, Scope(c.region_path, c.department_id))
    sample = list(c.sample or [])
    if not see:
        sample = [
            dict(cluster, keys=[mask(linkage.TEXT, str(k)) for k in cluster.get("keys", [])])
            for cluster in sample
        ]
    return DuplicateCheckOut(
        id=c.id,
        entry_id=c.entry_id,
        resource_code=c.resource_code,
        entry_name=c.entry_name,
        subject_code=c.subject_code,
        status=c.status,
        status_label=label(STATUS_LABELS, c.status, ctx.locale),
        job_id=c.job_id,
        requested_by_name=c.requested_by_name,
        created_at=c.created_at,
        started_at=c.started_at,
        finished_at=c.finished_at,
        lake_table=c.lake_table,
        lake_version=c.lake_version,
        columns=dict(c.columns or {}),
        records=c.records,
        clusters=c.clusters,
        duplicate_records=c.duplicate_records,
        sample=sample,
        masked=not see,
        error=c.error,
    )


def start_check(ctx: ActionContext, data: DuplicateCheckIn) -> DuplicateCheckOut:
    """Queue a duplicate check of an entry that is a source of the subject (its mapping says
    which column holds which field). ``quality.manage`` over the entry's department."""
    ctx.require(Perm.QUALITY_MANAGE)
    s = ctx.session
    if data.subject not in linkage.SUBJECTS:
        raise InvalidInput(
            "不支持的主题",
            "Unknown subject",
            code="baselib_subject_unknown",
            details={"subject": data.subject},
        )
    subject = authority.load_subject(s, data.subject)
    source = next(
        (
            src
            for src in authority.subject_sources(s, subject.id)
            if data.entry in (src.entry_id, src.resource_code)
        ),
        None,
    )
    if source is None:
        raise NotFound(
            "该目录不是此主题的来源：请先在多源校核中添加并映射字段",
            "The entry is not a source of the subject: add it and map its fields first",
            code="baselib_not_a_source",
            details={"entry": data.entry, "subject": data.subject},
        )
    scope = Scope(source.region_path, source.department_id)
    ctx.require(Perm.QUALITY_MANAGE, scope, target_id=source.entry_id)
    table = exchange_queries.lake_table_of(s, source.entry_id)
    keys = s.scalar(select(Mount.key_columns).where(Mount.entry_id == source.entry_id)) or []
    fields = set(linkage.SUBJECTS[data.subject].field_names)
    columns = {f: str(c) for f, c in (source.mapping or {}).items() if f in fields and c}
    if table is None or not keys:
        raise InvalidInput(
            "该目录尚未归集到数据湖，或挂载未设记录主键",
            "The entry has no lake table yet, or its mount has no record key",
            code="baselib_source_unusable",
            details={"entry_id": source.entry_id},
        )
    check = DuplicateCheck(
        entry_id=source.entry_id,
        resource_code=source.resource_code,
        entry_name=source.entry_name,
        department_id=source.department_id,
        region_path=source.region_path,
        subject_code=data.subject,
        status=BuildStatus.QUEUED.value,
        requested_by_name=ctx.actor.name,
        lake_table=table,
        columns={"fields": columns, "key": [str(k) for k in keys]},
        sample=[],
    )
    s.add(check)
    s.flush()
    job, _created = jobqueue.enqueue(
        s,
        JOB_KIND,
        {"check_id": check.id},
        max_attempts=1,
        idempotency_key=f"dedupe:{check.id}",
        created_by=ctx.actor.id,
    )
    check.job_id = job.id
    s.flush()
    ctx.audit(
        "governance.baselib.dedupe.start",
        target_type="governance_duplicate_check",
        target_id=check.id,
        details={"entry_id": check.entry_id, "subject": data.subject, "job_id": job.id},
    )
    return check_out(ctx, check)


def compute(
    settings: Settings,
    subject_code: str,
    table: str,
    columns: dict[str, Any],
    progress: Callable[[float, str], None] | None = None,
) -> dict[str, Any]:
    """Find the duplicates (no store access): counts and the sample of clusters."""
    lake = Lake.from_settings(settings)
    version = lake.table(table).version()
    fields = {str(f): str(c) for f, c in (columns.get("fields") or {}).items()}
    key = [str(k) for k in columns.get("key") or []]
    wanted = sorted({*fields.values(), *key})
    source = linkage.LinkSource(
        id="src",
        data=lambda: lake.scan(table, columns=wanted, version=version),
        columns=fields,
        key=key,
    )
    outcome = linkage.find_duplicates(source, linkage.SUBJECTS[subject_code])
    try:
        rows = outcome.con.execute(
            """SELECT entity_id, size, list(rec_key ORDER BY rec_key) FROM duplicates
               GROUP BY entity_id, size ORDER BY size DESC, entity_id LIMIT ?""",
            [SAMPLE_CLUSTERS],
        ).fetchall()
    finally:
        outcome.con.close()
    if progress is not None:
        progress(1.0, "done")
    return {
        "lake_version": version,
        "records": int(outcome.stats["records"]),
        "clusters": int(outcome.stats["duplicate_clusters"]),
        "duplicate_records": int(outcome.stats["duplicate_records"]),
        "sample": [{"size": int(r[1]), "keys": [str(k) for k in r[2]]} for r in rows],
    }


def record_check(ctx: ActionContext, check: DuplicateCheck, found: dict[str, Any]) -> None:
    check.status = BuildStatus.SUCCEEDED.value
    check.finished_at = now()
    check.lake_version = found["lake_version"]
    check.records = found["records"]
    check.clusters = found["clusters"]
    check.duplicate_records = found["duplicate_records"]
    check.sample = found["sample"]
    check.error = None
    ctx.session.flush()
    ctx.audit(
        "governance.baselib.dedupe",
        target_type="governance_duplicate_check",
        target_id=check.id,
        details={
            "entry_id": check.entry_id,
            "records": check.records,
            "clusters": check.clusters,
            "duplicate_records": check.duplicate_records,
        },
    )


def _check(s: Session, check_id: str) -> DuplicateCheck:
    check = s.get(DuplicateCheck, check_id)
    if check is None:
        raise NotFound(
            "重复检测记录不存在",
            "Duplicate check not found",
            code="baselib_dedupe_not_found",
            details={"id": check_id},
        )
    return check


def get_check(ctx: ActionContext, check_id: str) -> DuplicateCheckOut:
    """One duplicate check (``quality.read`` over the entry's department)."""
    ctx.require(Perm.QUALITY_READ)
    check = _check(ctx.session, check_id)
    ctx.require(
        Perm.QUALITY_READ, Scope(check.region_path, check.department_id), target_id=check.id
    )
    return check_out(ctx, check)


def list_checks(ctx: ActionContext, limit: int = 20) -> list[DuplicateCheckOut]:
    """The latest duplicate checks the actor may read, newest first (``quality.read``)."""
    ctx.require(Perm.QUALITY_READ)
    rows = ctx.session.scalars(
        select(DuplicateCheck)
        .order_by(DuplicateCheck.created_at.desc(), DuplicateCheck.id.desc())
        .limit(max(1, min(limit, 100)) * 5)
    ).all()
    out = [
        check_out(ctx, c)
        for c in rows
        if ctx.actor.can(Perm.QUALITY_READ, Scope(c.region_path, c.department_id))
    ]
    return out[:limit]
