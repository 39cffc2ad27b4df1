"""Cross-source check runs (多源校核) and their conflicts.

A run compares every source of a subject on its key (``crosscheck_compare``: SQL in DuckDB
over ``Lake.scan`` streams) and stores the agreement per field — over all sources and per
pair — and the conflicts, capped (``CONFLICT_CAP``) while their counts stay exact. A run is
queued as a job (``start_run``; ``crosscheck_jobs`` carries it out) or done in the call
(``run_check``, the CLI's way); it compares the sources and authority order as they stood
when it was started.

The operator (``governance.manage``) starts runs; whoever holds ``quality.read`` reads runs
and agreement figures. Conflict values are row data: a value is shown as stored only to
actors holding ``data.preview`` on the department of the source it comes from, masked for
everyone else — the operator included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from govdata.config import Settings
from govdata.core.clock import now
from govdata.core.errors import InvalidInput, NotFound
from govdata.core.jobs import queue as jobqueue
from govdata.core.pagination import paginate
from govdata.exchange import queries as exchange_queries
from govdata.governance import authority
from govdata.governance.crosscheck_compare import Comparison, SourceInput, compare
from govdata.governance.crosscheck_models import (
    CrosscheckConflict,
    CrosscheckFieldResult,
    CrosscheckRun,
    CrosscheckSubject,
)
from govdata.governance.crosscheck_schemas import (
    RUN_LABELS,
    AgreementOut,
    ConflictOut,
    ConflictPage,
    ConflictValueOut,
    FieldKind,
    RunOut,
    RunPage,
    RunStatus,
)
from govdata.governance.vocab import label
from govdata.lake.tables import Lake
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm, Scope
from govdata.sharing.masking import MaskKind, mask_value

JOB_KIND = "governance.crosscheck"
CONFLICT_CAP = 10_000
PAGE_SIZE = 50

_MASKS: dict[str, MaskKind | None] = {
    FieldKind.NAME: MaskKind.NAME,
    FieldKind.ID: MaskKind.RESIDENT_ID,
    FieldKind.ADDRESS: MaskKind.ADDRESS,
    FieldKind.TEXT: MaskKind.GENERIC,
    FieldKind.CODE: MaskKind.GENERIC,
    FieldKind.DATE: None,  # the year stays: 1990-**-**
    FieldKind.GENDER: None,  # nothing stays
}


def mask(kind: str, value: str | None) -> str | None:
    """A value of ``kind`` as shown to an actor without ``data.preview`` on its source."""
    if value is None:
        return None
    if kind == FieldKind.DATE:
        return value[:4] + "-**-**" if len(value) >= 4 else "*" * len(value)
    if kind == FieldKind.GENDER:
        return "*"
    return mask_value(_MASKS.get(kind) or MaskKind.GENERIC, value)


def _field_labels(subject: CrosscheckSubject | None) -> dict[str, str]:
    if subject is None:
        return {}
    return {str(f["code"]): str(f["label"]) for f in subject.fields or []}


def _kinds(subject: CrosscheckSubject) -> dict[str, str]:
    return {str(f["code"]): str(f["kind"]) for f in subject.fields or []}


def run_out(
    s: Session,
    run: CrosscheckRun,
    locale: str,
    *,
    subject: CrosscheckSubject | None = None,
    with_agreements: bool = True,
) -> RunOut:
    out = RunOut(
        id=run.id,
        subject_id=run.subject_id,
        subject_code=run.subject_code,
        status=run.status,
        status_label=label(RUN_LABELS, run.status, locale),
        job_id=run.job_id,
        requested_by_name=run.requested_by_name,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        sources=list(run.sources or []),
        authority=dict(run.authority or {}),
        key_count=run.key_count,
        shared_keys=run.shared_keys,
        conflict_count=run.conflict_count,
        conflicts_stored=run.conflicts_stored,
        error=run.error,
    )
    if with_agreements:
        labels = _field_labels(subject or s.get(CrosscheckSubject, run.subject_id))
        rows = s.scalars(
            select(CrosscheckFieldResult)
            .where(CrosscheckFieldResult.run_id == run.id)
            .order_by(CrosscheckFieldResult.id)
        )
        out.agreements = [
            AgreementOut(
                field=r.field,
                field_label=labels.get(r.field, r.field),
                source_a=r.source_a,
                source_b=r.source_b,
                compared=r.compared,
                agreed=r.agreed,
                conflicts=r.compared - r.agreed,
                rate=r.agreed / r.compared if r.compared else None,
            )
            for r in rows
        ]
    return out


# -- runs -----------------------------------------------------------------------------------


def _snapshot(
    s: Session, subject: CrosscheckSubject
) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """The sources (with a lake table) and authority order a run compares."""
    sources = authority.subject_sources(s, subject.id)
    tables = exchange_queries.lake_tables_of(s, [src.entry_id for src in sources])
    # A source that does not map the key (the key field changed since it was added) is
    # left out, like one whose entry has no lake table.
    usable = [
        src
        for src in sources
        if src.entry_id in tables and (src.mapping or {}).get(subject.key_field)
    ]
    if len(usable) < 2:
        raise InvalidInput(
            "至少需要两个已归集到数据湖的来源才能比对",
            "A check needs at least two sources with lake tables",
            code="crosscheck_too_few_sources",
            details={"sources": len(usable)},
        )
    snap = [
        {
            "id": src.id,
            "label": src.label,
            "entry_id": src.entry_id,
            "resource_code": src.resource_code,
            "entry_name": src.entry_name,
            "department_id": src.department_id,
            "region_path": src.region_path,
            "lake_table": tables[src.entry_id],
            "mapping": dict(src.mapping or {}),
        }
        for src in usable
    ]
    fields = [str(f["code"]) for f in subject.fields or [] if f["code"] != subject.key_field]
    ranks = authority.ranks_of(s, subject.id)
    orders = authority.order_ids(fields, usable, ranks)
    return snap, {fname: ids for fname, (ids, _placed) in orders.items()}


def _new_run(ctx: ActionContext, subject: CrosscheckSubject) -> CrosscheckRun:
    sources, order = _snapshot(ctx.session, subject)
    run = CrosscheckRun(
        subject_id=subject.id,
        subject_code=subject.code,
        status=RunStatus.QUEUED.value,
        requested_by_name=ctx.actor.name,
        sources=sources,
        authority=order,
    )
    ctx.session.add(run)
    ctx.session.flush()
    return run


def start_run(ctx: ActionContext, subject_ref: str) -> RunOut:
    """Queue a check of the subject as a job (its progress shows on the run). Operator only;
    needs two sources with lake tables."""
    ctx.require(Perm.GOVERNANCE_MANAGE)
    s = ctx.session
    subject = authority.load_subject(s, subject_ref)
    run = _new_run(ctx, subject)
    job, _created = jobqueue.enqueue(
        s,
        JOB_KIND,
        {"run_id": run.id},
        max_attempts=1,
        idempotency_key=f"crosscheck:{run.id}",
        created_by=ctx.actor.id,
    )
    run.job_id = job.id
    s.flush()
    ctx.audit(
        "governance.crosscheck.start",
        target_type="governance_crosscheck_run",
        target_id=run.id,
        details={"subject": subject.code, "job_id": job.id, "sources": len(run.sources)},
    )
    return run_out(s, run, ctx.locale, subject=subject)


def run_check(ctx: ActionContext, subject_ref: str) -> RunOut:
    """Check the subject now, in this call (the CLI's way; the portal queues a job).
    Operator only."""
    ctx.require(Perm.GOVERNANCE_MANAGE)
    s = ctx.session
    subject = authority.load_subject(s, subject_ref)
    run = _new_run(ctx, subject)
    run.status = RunStatus.RUNNING.value
    run.started_at = now()
    result = compute(ctx.settings, subject, run.sources, run.authority)
    store_result(s, run, result)
    ctx.audit(
        "governance.crosscheck.run",
        target_type="governance_crosscheck_run",
        target_id=run.id,
        details=run_summary(run),
    )
    return run_out(s, run, ctx.locale, subject=subject)


def compute(
    settings: Settings,
    subject: CrosscheckSubject,
    sources: list[dict[str, Any]],
    order: dict[str, Any],
    progress: Callable[[int, int, str], None] | None = None,
) -> Comparison:
    """The comparison of a run's sources (its snapshot), over ``Lake.scan`` streams."""
    lake = Lake.from_settings(settings)
    kinds = _kinds(subject)
    key = subject.key_field
    compared = {k: v for k, v in kinds.items() if k != key}
    inputs = []
    for src in sources:
        mapping = {k: str(v) for k, v in (src.get("mapping") or {}).items()}
        columns = {f: c for f, c in mapping.items() if f in compared}
        wanted = sorted({mapping[key], *columns.values()})
        table = str(src["lake_table"])

        def reader(table: str = table, wanted: list[str] = wanted) -> Any:
            return lake.scan(table, columns=wanted)

        inputs.append(SourceInput(str(src["id"]), reader, mapping[key], columns))
    labels = {str(src["id"]): str(src.get("label", "")) for src in sources}

    def step(done: int, total: int, message: str) -> None:
        if progress is not None:
            progress(done, total, labels.get(message, message))

    return compare(
        inputs,
        {k: FieldKind(v) for k, v in compared.items()},
        FieldKind(kinds[key]),
        {k: list(v) for k, v in order.items()},
        cap=CONFLICT_CAP,
        progress=step,
    )


def store_result(s: Session, run: CrosscheckRun, result: Comparison) -> None:
    """Write a comparison's figures and (capped) conflicts on its run."""
    run.sources = [
        dict(
            src,
            rows=result.source_rows.get(src["id"], 0),
            keys=result.source_keys.get(src["id"], 0),
            duplicate_keys=result.duplicate_keys.get(src["id"], 0),
        )
        for src in run.sources or []
    ]
    run.key_count = result.key_count
    run.shared_keys = result.shared_keys
    run.conflict_count = result.conflict_count
    run.conflicts_stored = len(result.conflicts)
    run.status = RunStatus.SUCCEEDED.value
    run.finished_at = now()
    run.error = None
    if result.agreements:
        s.execute(
            insert(CrosscheckFieldResult),
            [
                {
                    "run_id": run.id,
                    "field": a.field,
                    "source_a": a.source_a,
                    "source_b": a.source_b,
                    "compared": a.compared,
                    "agreed": a.agreed,
                }
                for a in result.agreements
            ],
        )
    if result.conflicts:
        s.execute(
            insert(CrosscheckConflict),
            [
                {
                    "run_id": run.id,
                    "key_value": c.key[:255],
                    "field": c.field,
                    "values": c.values,
                    "source_ids": "|"
                    + "|".join(sid for sid, v in c.values.items() if v is not None)
                    + "|",
                    "winner_source_id": c.winner,
                }
                for c in result.conflicts
            ],
        )
    s.flush()


def run_summary(run: CrosscheckRun) -> dict[str, Any]:
    return {
        "subject": run.subject_code,
        "status": run.status,
        "sources": [
            {"entry": src.get("resource_code"), "rows": src.get("rows")}
            for src in run.sources or []
        ],
        "keys": run.key_count,
        "shared_keys": run.shared_keys,
        "conflicts": run.conflict_count,
        "conflicts_stored": run.conflicts_stored,
    }


def run_not_found(run_id: str) -> NotFound:
    return NotFound(
        "校核运行不存在",
        "Check run not found",
        code="crosscheck_run_not_found",
        details={"id": run_id},
    )


def _run(s: Session, run_id: str) -> CrosscheckRun:
    run = s.get(CrosscheckRun, run_id)
    if run is None:
        raise run_not_found(run_id)
    return run


def get_run(ctx: ActionContext, run_id: str) -> RunOut:
    """One run: its status, what it compared, agreement per field (over all sources and per
    pair of sources) and conflict counts (``quality.read``)."""
    ctx.require(Perm.QUALITY_READ)
    return run_out(ctx.session, _run(ctx.session, run_id), ctx.locale)


def list_runs(
    ctx: ActionContext, subject_ref: str, *, limit: int = 20, cursor: str | None = None
) -> RunPage:
    """A subject's runs, newest first (``quality.read``)."""
    ctx.require(Perm.QUALITY_READ)
    s = ctx.session
    subject = authority.load_subject(s, subject_ref)
    page = paginate(
        s,
        select(CrosscheckRun).where(CrosscheckRun.subject_id == subject.id),
        [CrosscheckRun.created_at, CrosscheckRun.id],
        limit=limit,
        cursor=cursor,
        descending=True,
    )
    return RunPage(
        items=[
            run_out(s, r, ctx.locale, subject=subject, with_agreements=False) for r in page.items
        ],
        next_cursor=page.next_cursor,
    )


def list_conflicts(
    ctx: ActionContext,
    run_id: str,
    *,
    field: str | None = None,
    source: str | None = None,
    page: int = 1,
    size: int = PAGE_SIZE,
) -> ConflictPage:
    """A run's stored conflicts, by field then key, a page at a time; ``field`` keeps one
    field, ``source`` the conflicts in which that source holds a value (``quality.read``).

    Each value is shown as stored only to an actor holding ``data.preview`` on the
    department of the source it comes from (the key: on one of the sources holding a
    value), masked otherwise; a page showing any value unmasked is audited."""
    ctx.require(Perm.QUALITY_READ)
    s = ctx.session
    run = _run(s, run_id)
    size = max(1, min(size, 200))
    stmt = select(CrosscheckConflict).where(CrosscheckConflict.run_id == run.id)
    if field:
        stmt = stmt.where(CrosscheckConflict.field == field)
    if source:
        stmt = stmt.where(CrosscheckConflict.source_ids.contains(f"|{source}|", autoescape=True))
    total = int(s.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    pages = max(1, -(-total // size))
    page = max(1, min(page, pages))
    rows = s.scalars(
        stmt.order_by(CrosscheckConflict.field, CrosscheckConflict.key_value, CrosscheckConflict.id)
        .offset((page - 1) * size)
        .limit(size)
    ).all()
    subject = s.get(CrosscheckSubject, run.subject_id)
    kinds = _kinds(subject) if subject else {}
    labels = _field_labels(subject)
    key_kind = kinds.get(subject.key_field, FieldKind.ID) if subject else FieldKind.ID
    snap = {str(src["id"]): src for src in run.sources or []}
    can_see: dict[str, bool] = {}
    for sid, src in snap.items():
        scope = Scope(region_path=src.get("region_path"), department_id=src.get("department_id"))
        can_see[sid] = ctx.actor.can(Perm.DATA_PREVIEW, scope)
    items: list[ConflictOut] = []
    clear = 0
    for row in rows:
        kind = kinds.get(row.field, FieldKind.TEXT)
        values = []
        for sid, value in (row.values or {}).items():
            shown = can_see.get(sid, False)
            clear += shown and value is not None
            values.append(
                ConflictValueOut(
                    source_id=sid,
                    label=str(snap.get(sid, {}).get("label", sid)),
                    value=value if shown else mask(kind, value),
                    masked=not shown and value is not None,
                    winner=sid == row.winner_source_id,
                )
            )
        key_clear = any(can_see.get(sid, False) for sid, v in (row.values or {}).items() if v)
        items.append(
            ConflictOut(
                id=row.id,
                key=row.key_value if key_clear else mask(key_kind, row.key_value) or "",
                key_masked=not key_clear,
                field=row.field,
                field_label=labels.get(row.field, row.field),
                values=values,
                winner_source_id=row.winner_source_id,
            )
        )
    if clear:
        ctx.audit(
            "governance.crosscheck.conflicts.read",
            target_type="governance_crosscheck_run",
            target_id=run.id,
            fields=sorted({i.field for i in items}),
            row_count=len(items),
            details={"subject": run.subject_code, "field": field, "source": source, "page": page},
        )
    return ConflictPage(
        items=items,
        total=total,
        page=page,
        pages=pages,
        size=size,
        capped=run.conflict_count > run.conflicts_stored,
    )
