"""Quality runs: check an entry's rules now or as a job, keep per-rule results with masked
sample failing rows, score entries along six dimensions, and show scores and trends by
entry, department and region.

A run reads the data first and writes nothing until it has measured every rule, so a slow
scan never holds the store's write lock; a run that cannot read its data is recorded as
failed with the reason. Each finished run hands its failed rules to the tickets workflow
(``ticket_rules.open_from_run``): who provided the data answers for it.

Scores: a dimension's score is the mean pass rate (×100) of the run's rules in that
dimension that checked anything; the entry's score is the mean of its dimension scores; a
department's or region's score is the mean of its entries' latest scores.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from statistics import fmean
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.catalog.access import entry_scope
from govdata.catalog.models import CatalogEntry
from govdata.core.clock import now
from govdata.core.errors import GovDataError, InvalidInput, NotFound
from govdata.core.jobs import queue as jobqueue
from govdata.core.pagination import paginate
from govdata.governance import quality_measure, ticket_rules
from govdata.governance.quality_models import QualityResult, QualityRule, QualityRun
from govdata.governance.quality_rules import entry_fields, entry_items, load_entry, rules_of
from govdata.governance.quality_schemas import (
    ResultOut,
    RunOut,
    RunPage,
    RunStarted,
    ScoreRow,
    TrendPoint,
)
from govdata.identity import queries as org
from govdata.security.classification import default_masks
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm, Scope
from govdata.security.scopes import scope_clause
from govdata.sharing import masking

JOB_KIND = "governance.quality_run"
RUNNING, SUCCEEDED, FAILED = "running", "succeeded", "failed"


def _maskers(s: Session, entry: CatalogEntry) -> dict[str, str]:
    """Field name → mask kind for the sample rows, as the grade's controls ask."""
    items = entry_items(s, entry)
    by_item = entry_fields(s, entry).by_item
    masks = default_masks(s, entry.id, items, clear=())
    return {
        by_item[item]: kind
        for item, kind in masks.items()
        if item in by_item and kind != masking.CLEAR
    }


def _mask(kind: str | None, value: Any) -> Any:
    return value if kind is None or value is None else masking.mask_value(kind, value)


def _masked(rows: list[dict[str, Any]], masks: dict[str, str]) -> list[dict[str, Any]]:
    return [{k: _mask(masks.get(k.split("@")[0]), v) for k, v in r.items()} for r in rows]


def _scores(results: Sequence[QualityResult]) -> tuple[float | None, dict[str, float]]:
    rates: dict[str, list[float]] = defaultdict(list)
    for r in results:
        if r.error is None and r.pass_rate is not None:
            rates[r.dimension].append(r.pass_rate)
    dims = {d: 100 * fmean(v) for d, v in rates.items()}
    score = round(fmean(dims.values()), 2) if dims else None
    return score, {d: round(v, 2) for d, v in dims.items()}


def _previous_rows(s: Session, entry_id: str) -> int | None:
    return s.scalars(
        select(QualityRun.rows_total)
        .where(QualityRun.entry_id == entry_id, QualityRun.status == SUCCEEDED)
        .order_by(QualityRun.started_at.desc())
        .limit(1)
    ).first()


def _chosen(s: Session, entry: CatalogEntry, rule_ids: Sequence[str] | None) -> list[QualityRule]:
    if rule_ids:
        rules = [r for r in rules_of(s, entry.id) if r.id in set(rule_ids)]
        missing = set(rule_ids) - {r.id for r in rules}
        if missing:
            raise NotFound(
                "质量规则不存在",
                "Quality rule not found",
                code="quality_rule_not_found",
                details={"ids": sorted(missing)},
            )
        return rules
    rules = rules_of(s, entry.id, enabled_only=True)
    if not rules:
        raise InvalidInput(
            "该目录尚未配置启用的质量规则",
            "The entry has no enabled quality rules",
            code="quality_no_rules",
            details={"entry_id": entry.id},
        )
    return rules


@dataclass
class Measurement:
    """What a run read, before anything is written: the counts of every rule, or why the
    data could not be read."""

    entry_id: str
    rule_ids: list[str]
    started_at: datetime
    lake_table: str | None = None
    lake_version: int | None = None
    capped: bool = False
    rows_total: int | None = None
    measured: dict[str, quality_measure.Measured] = field(default_factory=dict)
    error: GovDataError | None = None


def measure_entry(
    ctx: ActionContext,
    entry_ref: str,
    *,
    rule_ids: Sequence[str] | None = None,
    progress: quality_measure.Progress | None = None,
) -> Measurement:
    """Read the entry's data and measure its rules; writes nothing, so a job runs it in a
    read transaction and a long scan holds no write lock."""
    entry = load_entry(ctx, entry_ref, Perm.QUALITY_MANAGE)
    s = ctx.session
    rules = _chosen(s, entry, rule_ids)
    out = Measurement(entry.id, [r.id for r in rules], now())
    try:
        rows = quality_measure.open_rows(s, ctx.settings, entry)
        for m in quality_measure.measure(
            s,
            ctx.settings,
            entry,
            rows,
            rules,
            previous_rows=_previous_rows(s, entry.id),
            progress=progress,
        ):
            out.measured[m.rule_id] = m
    except GovDataError as exc:
        out.error = exc
        return out
    out.lake_table, out.lake_version = rows.lake_table, rows.version
    out.capped, out.rows_total = rows.capped, rows.total
    return out


def record_run(
    ctx: ActionContext, m: Measurement, *, trigger: str, job_id: str | None = None
) -> RunOut:
    """Keep a measurement as a run: results with masked samples, scores, tickets, audit."""
    entry = load_entry(ctx, m.entry_id, Perm.QUALITY_MANAGE)
    s = ctx.session
    run = QualityRun(
        entry_id=entry.id,
        resource_code=entry.resource_code,
        entry_name=entry.name,
        department_id=entry.provider_department_id,
        region_path=entry.region_path,
        job_id=job_id,
        trigger=trigger,
        status=FAILED if m.error else SUCCEEDED,
        started_at=m.started_at,
        finished_at=now(),
        lake_table=m.lake_table,
        lake_version=m.lake_version,
        source_capped=m.capped,
        rows_total=m.rows_total,
        dimension_scores={},
    )
    if m.error is not None:
        run.error_code, run.error_message = m.error.code, m.error.message_zh
        s.add(run)
        s.flush()
        ctx.audit(
            "governance.quality.run",
            target_type="catalog_entry",
            target_id=entry.id,
            outcome="failure",
            details={"run_id": run.id, "error": m.error.code},
        )
        return run_out(s, run, [], ctx)
    s.add(run)
    s.flush()
    # A rule deleted while the data was read is left out of the run.
    rules = [r for r in rules_of(s, entry.id) if r.id in m.measured]
    masks = _maskers(s, entry)
    results = []
    for rule in rules:
        got = m.measured[rule.id]
        results.append(
            QualityResult(
                run_id=run.id,
                rule_id=rule.id,
                kind=rule.kind,
                item=rule.item,
                dimension=rule.dimension,
                severity=rule.severity,
                name=rule.name,
                checked=got.checked,
                failed=got.failed,
                pass_rate=None
                if got.error or not got.checked
                else (got.checked - got.failed) / got.checked,
                samples=_masked(got.samples, masks),
                error=got.error,
            )
        )
    s.add_all(results)
    run.score, run.dimension_scores = _scores(results)
    s.flush()
    ticket_rules.open_from_run(
        ctx, run, [(rule, res) for rule, res in zip(rules, results, strict=True) if res.failed]
    )
    ctx.audit(
        "governance.quality.run",
        target_type="catalog_entry",
        target_id=entry.id,
        row_count=m.rows_total,
        details={
            "run_id": run.id,
            "trigger": trigger,
            "rules": len(rules),
            "failed_rules": sum(1 for r in results if r.failed),
            "counted_at_source": sorted(k for k, v in m.measured.items() if v.at_source),
            "score": run.score,
        },
    )
    return run_out(s, run, results, ctx)


def run_entry(
    ctx: ActionContext,
    entry_ref: str,
    *,
    trigger: str = "manual",
    rule_ids: Sequence[str] | None = None,
) -> RunOut:
    """Check the entry's enabled rules (or just ``rule_ids``) now and keep the results.

    Needs ``quality.manage`` over the provider department. Returns the run with every
    rule's checked and failed counts, pass rate and up to five sample failing rows (masked
    as the entry's grade asks). A run whose data cannot be read is kept as failed.
    """
    return record_run(ctx, measure_entry(ctx, entry_ref, rule_ids=rule_ids), trigger=trigger)


def start_run(ctx: ActionContext, entry_ref: str) -> RunStarted:
    """Queue a run of the entry's rules as a job (progress on the job)."""
    entry = load_entry(ctx, entry_ref, Perm.QUALITY_MANAGE)
    _chosen(ctx.session, entry, None)
    job = enqueue_run(ctx.session, ctx.settings.job_max_attempts, entry.id, "manual", ctx.actor.id)
    ctx.audit(
        "governance.quality.run.start",
        target_type="catalog_entry",
        target_id=entry.id,
        details={"job_id": job},
    )
    return RunStarted(job_id=job, entry_id=entry.id)


def enqueue_run(
    s: Session,
    max_attempts: int,
    entry_id: str,
    trigger: str,
    created_by: str | None = None,
    key: str | None = None,
) -> str:
    job, _ = jobqueue.enqueue(
        s,
        JOB_KIND,
        {"entry_id": entry_id, "trigger": trigger},
        max_attempts=max_attempts,
        idempotency_key=key,
        created_by=created_by,
    )
    return job.id


def has_rules(s: Session, entry_id: str) -> bool:
    return bool(
        s.scalar(
            select(func.count(QualityRule.id)).where(
                QualityRule.entry_id == entry_id, QualityRule.enabled.is_(True)
            )
        )
    )


# -- reading ------------------------------------------------------------------------------------


def run_out(
    s: Session, run: QualityRun, results: Sequence[QualityResult] | None, ctx: ActionContext
) -> RunOut:
    if results is None:
        results = list(
            s.scalars(
                select(QualityResult)
                .where(QualityResult.run_id == run.id)
                .order_by(QualityResult.name)
            )
        )
    scope = _scope(run)
    see_rows = ctx.actor.kind == "system" or ctx.actor.can(Perm.DATA_PREVIEW, scope)
    return RunOut(
        id=run.id,
        entry_id=run.entry_id,
        resource_code=run.resource_code,
        entry_name=run.entry_name,
        department_id=run.department_id,
        trigger=run.trigger,
        status=run.status,
        started_at=run.started_at,
        finished_at=run.finished_at,
        lake_table=run.lake_table,
        lake_version=run.lake_version,
        source_capped=run.source_capped,
        rows_total=run.rows_total,
        score=run.score,
        dimension_scores=dict(run.dimension_scores or {}),
        error_code=run.error_code,
        error_message=run.error_message,
        job_id=run.job_id,
        results=[
            ResultOut(
                rule_id=r.rule_id,
                kind=r.kind,
                item=r.item,
                name=r.name,
                dimension=r.dimension,
                severity=r.severity,
                checked=r.checked,
                failed=r.failed,
                pass_rate=r.pass_rate,
                samples=list(r.samples or []) if see_rows else [],
                samples_withheld=bool(r.samples) and not see_rows,
                error=r.error,
            )
            for r in results
        ],
    )


def get_run(ctx: ActionContext, run_id: str) -> RunOut:
    """One run with every rule's result; sample rows only to who may preview the data."""
    run = ctx.session.get(QualityRun, run_id)
    entry = ctx.session.get(CatalogEntry, run.entry_id) if run else None
    if run is None or entry is None or not ctx.actor.can(Perm.QUALITY_READ, entry_scope(entry)):
        ctx.require(Perm.QUALITY_READ)
        raise NotFound(
            "质量检查记录不存在或无权查看",
            "Quality run not found",
            code="quality_run_not_found",
            details={"id": run_id},
        )
    ctx.require(Perm.QUALITY_READ, entry_scope(entry), target_id=run.id)
    return run_out(ctx.session, run, None, ctx)


def list_runs(
    ctx: ActionContext,
    *,
    entry_ref: str | None = None,
    department_id: str | None = None,
    status: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> RunPage:
    """Runs in the actor's scope, newest first, without per-rule results."""
    ctx.require(Perm.QUALITY_READ)
    stmt = select(QualityRun).where(
        scope_clause(ctx.actor, Perm.QUALITY_READ, QualityRun.department_id, QualityRun.region_path)
    )
    if entry_ref:
        entry = load_entry(ctx, entry_ref, Perm.QUALITY_READ)
        stmt = stmt.where(QualityRun.entry_id == entry.id)
    if department_id:
        stmt = stmt.where(QualityRun.department_id == department_id)
    if status:
        stmt = stmt.where(QualityRun.status == status)
    page = paginate(
        ctx.session,
        stmt,
        [QualityRun.started_at, QualityRun.id],
        limit=limit,
        cursor=cursor,
        descending=True,
    )
    return RunPage(
        items=[run_out(ctx.session, r, [], ctx) for r in page.items], next_cursor=page.next_cursor
    )


def latest_runs(s: Session, entry_ids: Sequence[str] | None = None) -> dict[str, QualityRun]:
    """The latest finished full run of each entry (re-checks of single rules left out)."""
    newest = (
        select(QualityRun.entry_id, func.max(QualityRun.started_at).label("at"))
        .where(QualityRun.status == SUCCEEDED, QualityRun.trigger != "recheck")
        .group_by(QualityRun.entry_id)
    )
    if entry_ids is not None:
        newest = newest.where(QualityRun.entry_id.in_(list(entry_ids)))
    sub = newest.subquery()
    rows = s.scalars(
        select(QualityRun).join(
            sub, (QualityRun.entry_id == sub.c.entry_id) & (QualityRun.started_at == sub.c.at)
        )
    )
    return {r.entry_id: r for r in rows}


def _mean_row(key: str, name: str, runs: list[QualityRun]) -> ScoreRow:
    scores = [r.score for r in runs if r.score is not None]
    dims: dict[str, list[float]] = defaultdict(list)
    for r in runs:
        for d, v in (r.dimension_scores or {}).items():
            dims[d].append(v)
    return ScoreRow(
        key=key,
        name=name,
        entries=len(runs),
        score=round(fmean(scores), 2) if scores else None,
        dimension_scores={d: round(fmean(v), 2) for d, v in dims.items()},
        last_run_at=max((r.started_at for r in runs), default=None),
    )


def scores(ctx: ActionContext, by: str = "department") -> list[ScoreRow]:
    """Latest scores in the actor's scope, per ``entry``, ``department`` or ``region`` (the
    city level of the provider's region path), best first."""
    ctx.require(Perm.QUALITY_READ)
    if by not in ("entry", "department", "region"):
        raise InvalidInput(
            "分组方式只能是 entry、department 或 region",
            "by must be entry, department or region",
            code="quality_group_invalid",
            details={"by": by},
        )
    runs = [
        r for r in latest_runs(ctx.session).values() if ctx.actor.can(Perm.QUALITY_READ, _scope(r))
    ]
    groups: dict[str, list[QualityRun]] = defaultdict(list)
    for r in runs:
        if by == "entry":
            groups[r.entry_id].append(r)
        elif by == "department":
            groups[r.department_id].append(r)
        else:
            groups["/".join(r.region_path.split("/")[:2])].append(r)
    if by == "department":
        names = org.department_names(ctx.session, set(groups))
    elif by == "region":
        names = org.region_names(ctx.session, [k.split("/")[-1] for k in groups])
        names = {k: names.get(k.split("/")[-1], k) for k in groups}
    else:
        names = {r.entry_id: f"{r.entry_name}（{r.resource_code}）" for r in runs}
    rows = [_mean_row(k, names.get(k, k), v) for k, v in groups.items()]
    return sorted(rows, key=lambda r: (r.score is None, -(r.score or 0), r.name))


def _scope(run: QualityRun) -> Scope:
    return Scope(region_path=run.region_path, department_id=run.department_id)


def trend(ctx: ActionContext, entry_ref: str, *, limit: int = 30) -> list[TrendPoint]:
    """The entry's last ``limit`` full runs, oldest first."""
    entry = load_entry(ctx, entry_ref, Perm.QUALITY_READ)
    runs = list(
        ctx.session.scalars(
            select(QualityRun)
            .where(
                QualityRun.entry_id == entry.id,
                QualityRun.status == SUCCEEDED,
                QualityRun.trigger != "recheck",
            )
            .order_by(QualityRun.started_at.desc())
            .limit(min(max(limit, 1), 365))
        )
    )
    return [
        TrendPoint(
            run_id=r.id,
            at=r.started_at,
            score=r.score,
            dimension_scores=dict(r.dimension_scores or {}),
        )
        for r in reversed(runs)
    ]
