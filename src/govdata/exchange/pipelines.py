"""Pipelines of physical mounts: create, schedule, run now, pause and resume, and their runs.

A pipeline run is a job of kind ``exchange.pipeline`` (payload ``{"pipeline_id", "run_id",
"trigger"}``, see ``exchange/jobs.py``); CDC pipelines run on the ``cdc`` queue as long
jobs. A schedule is a ``JobSchedule`` row (``Pipeline.schedule_id``) whose jobs carry
``{"pipeline_id", "trigger": "schedule"}``. One run at a time per pipeline: ``run_now``
refuses while a run is queued or running (``pipeline_busy``).

Pausing sets ``state = paused``: the schedule stops firing, queued runs are cancelled, and a
running run (a CDC stream) sees the state through ``RunContext.should_stop`` and stops at
its next commit. Resuming re-enables the schedule and, for CDC, starts the stream again.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from govdata.core.clock import now
from govdata.core.errors import Conflict, GovDataError, InvalidInput, NotFound
from govdata.core.jobs import queue as jobqueue
from govdata.core.jobs.models import DEFAULT_QUEUE, QUEUED, Job, JobSchedule
from govdata.core.jobs.schedules import next_run, valid_cron
from govdata.core.pagination import check_limit, paginate
from govdata.exchange.engine.cdc import release_source
from govdata.exchange.models import Mount, Pipeline, PipelineRun, PipelineRunLog
from govdata.exchange.mounts import (
    ACTIVE_RUNS,
    delete_pipeline_rows,
    department_scope,
    load_mount,
)
from govdata.exchange.schemas import (
    PipelineCreate,
    PipelineOut,
    PipelinePage,
    PipelineUpdate,
    ProgressOut,
    RunDetail,
    RunLogOut,
    RunOut,
    RunPage,
)
from govdata.exchange.vocab import MountMode, PipelineKind, PipelineState, RunStatus
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm, Scope
from govdata.security.scopes import scope_clause
from govdata.sources.registry import source_facts

log = logging.getLogger(__name__)

JOB_KIND = "exchange.pipeline"
CDC_QUEUE = "cdc"
CDC_MAX_ATTEMPTS = 1_000_000
LOG_LINES_MAX = 2000
# Options each kind understands, with the JSON types they take.
_OPTIONS: dict[str, dict[str, tuple[type, ...]]] = {
    PipelineKind.FULL: {"chunk_rows": (int,), "parallelism": (int,), "batch_rows": (int,)},
    PipelineKind.INCREMENTAL: {"batch_rows": (int,), "poll_seconds": (int, float)},
    PipelineKind.CDC: {
        "batch_window_ms": (int,),
        "batch_rows": (int,),
        "poll_seconds": (int, float),
        "fallback": (bool,),
    },
    PipelineKind.RETURN: {
        "target_source_id": (str,),
        "target_table": (str,),
        "batch_rows": (int,),
    },
}


def queue_of(kind: str) -> str:
    return CDC_QUEUE if kind == PipelineKind.CDC else DEFAULT_QUEUE


def schedule_name(pipeline_id: str) -> str:
    return f"pipeline:{pipeline_id}"


# -- lookups and output ---------------------------------------------------------------------


def pipeline_not_found(pipeline_id: str) -> NotFound:
    return NotFound(
        "数据管道不存在或无权查看",
        "Pipeline not found",
        code="pipeline_not_found",
        details={"pipeline_id": pipeline_id},
    )


def load_pipeline(ctx: ActionContext, pipeline_id: str, perm: Perm) -> tuple[Pipeline, Scope]:
    pipeline = ctx.session.get(Pipeline, pipeline_id)
    if pipeline is None:
        ctx.require(perm)
        raise pipeline_not_found(pipeline_id)
    scope = department_scope(ctx.session, pipeline.department_id)
    if not ctx.actor.can(Perm.EXCHANGE_READ, scope):
        ctx.require(perm)
        raise pipeline_not_found(pipeline_id)
    ctx.require(perm, scope, target_id=pipeline.id)
    return pipeline, scope


def _progress(s: Session, job_id: str | None) -> ProgressOut | None:
    if job_id is None:
        return None
    row = s.execute(
        select(Job.progress_done, Job.progress_total, Job.progress_message).where(Job.id == job_id)
    ).first()
    if row is None:
        return None
    return ProgressOut(done=row[0], total=row[1], message=row[2])


def run_out(s: Session, run: PipelineRun) -> RunOut:
    active = run.status in ACTIVE_RUNS
    return RunOut(
        id=run.id,
        pipeline_id=run.pipeline_id,
        job_id=run.job_id,
        kind=run.kind,
        trigger=run.trigger,
        status=run.status,
        started_at=run.started_at,
        finished_at=run.finished_at,
        rows_read=run.rows_read or 0,
        rows_written=run.rows_written or 0,
        rows_inserted=run.rows_inserted or 0,
        rows_updated=run.rows_updated or 0,
        rows_deleted=run.rows_deleted or 0,
        lake_version_before=run.lake_version_before,
        lake_version_after=run.lake_version_after,
        position_before=run.position_before,
        position_after=run.position_after,
        error_code=run.error_code,
        error_message=run.error_message,
        progress=_progress(s, run.job_id) if active else None,
    )


def pipeline_out(s: Session, pipeline: Pipeline) -> PipelineOut:
    mount = s.get(Mount, pipeline.mount_id)
    schedule = s.get(JobSchedule, pipeline.schedule_id) if pipeline.schedule_id else None
    last = s.get(PipelineRun, pipeline.last_run_id) if pipeline.last_run_id else None
    return PipelineOut(
        id=pipeline.id,
        mount_id=pipeline.mount_id,
        entry_id=mount.entry_id if mount else "",
        department_id=pipeline.department_id,
        name=pipeline.name,
        kind=PipelineKind(pipeline.kind),
        options=dict(pipeline.options or {}),
        schedule=pipeline.schedule,
        next_run_at=schedule.next_run_at if schedule is not None and schedule.enabled else None,
        state=pipeline.state,
        position=pipeline.position,
        last_run_id=pipeline.last_run_id,
        last_run=run_out(s, last) if last is not None else None,
        last_success_at=pipeline.last_success_at,
        last_failure_at=pipeline.last_failure_at,
        created_at=pipeline.created_at,
        updated_at=pipeline.updated_at,
    )


# -- validation -----------------------------------------------------------------------------


def _invalid(zh: str, en: str, code: str, **details: Any) -> InvalidInput:
    return InvalidInput(zh, en, code=code, details=details)


def _check_cron(expr: str | None) -> str | None:
    if expr is None:
        return None
    expr = expr.strip()
    if not expr or not valid_cron(expr):
        raise _invalid(
            f"定时表达式“{expr}”不合法（cron 五段式，如 0 2 * * *）",
            f"Invalid schedule {expr!r} (a five-field cron, e.g. 0 2 * * *)",
            "pipeline_schedule_invalid",
            schedule=expr,
        )
    return expr


def _check_options(ctx: ActionContext, kind: str, options: dict[str, Any]) -> None:
    known = _OPTIONS[kind]
    for name, value in options.items():
        types = known.get(name)
        if types is None or (isinstance(value, bool) and bool not in types):
            raise _invalid(
                f"{kind} 管道不支持选项“{name}”或其取值",
                f"Option {name!r} (or its value) is not valid for a {kind} pipeline",
                "pipeline_option_invalid",
                option=name,
                allowed=sorted(known),
            )
        positive = isinstance(value, bool) or not isinstance(value, int | float) or value > 0
        if not isinstance(value, types) or not positive:
            raise _invalid(
                f"选项“{name}”的取值不合法",
                f"Invalid value for option {name!r}",
                "pipeline_option_invalid",
                option=name,
            )
    if kind == PipelineKind.RETURN:
        target_id = options.get("target_source_id")
        if not target_id or not options.get("target_table"):
            raise _invalid(
                "回流管道须指定目标数据源和目标表",
                "A return-flow pipeline needs a target source and a target table",
                "pipeline_option_invalid",
                option="target_source_id",
            )
        target = source_facts(ctx.session, str(target_id))
        if target is None or target.kind not in ("mariadb", "postgresql"):
            raise _invalid(
                "回流目标须为 MariaDB/MySQL 或 PostgreSQL 数据源",
                "The return-flow target must be a MariaDB/MySQL or PostgreSQL source",
                "pipeline_option_invalid",
                option="target_source_id",
            )
        # Delivering into a database is a change to that department's system.
        ctx.require(
            Perm.EXCHANGE_MANAGE,
            department_scope(ctx.session, target.department_id),
            target_id=target.id,
        )


def _check_kind(kind: str, mount: Mount) -> None:
    if mount.mode != MountMode.PHYSICAL:
        raise _invalid(
            "只有物理汇聚的挂载才有管道",
            "Only a physically aggregated mount has pipelines",
            "pipeline_mount_logical",
            mount_id=mount.id,
        )
    if kind in (PipelineKind.INCREMENTAL, PipelineKind.CDC) and not mount.key_columns:
        raise _invalid(
            "增量与变更捕获管道须在挂载上设置主键字段",
            "Incremental and CDC pipelines need key columns on the mount",
            "pipeline_key_missing",
            mount_id=mount.id,
        )
    if kind == PipelineKind.INCREMENTAL and not mount.watermark_column:
        raise _invalid(
            "增量管道须在挂载上设置水位列",
            "An incremental pipeline needs a watermark column on the mount",
            "pipeline_watermark_missing",
            mount_id=mount.id,
        )
    if kind == PipelineKind.CDC and mount.target_kind != "table":
        raise _invalid(
            "变更捕获只适用于挂载的数据表",
            "Change data capture only applies to a mounted table",
            "pipeline_kind_invalid",
            mount_id=mount.id,
        )


def _set_schedule(s: Session, pipeline: Pipeline, cron: str | None) -> None:
    """Create, change or remove the pipeline's ``JobSchedule``; enabled while active."""
    schedule = s.get(JobSchedule, pipeline.schedule_id) if pipeline.schedule_id else None
    pipeline.schedule = cron
    if cron is None:
        if schedule is not None:
            pipeline.schedule_id = None
            s.flush()
            s.delete(schedule)
        return
    enabled = pipeline.state == PipelineState.ACTIVE
    if schedule is None:
        schedule = JobSchedule(
            name=schedule_name(pipeline.id),
            kind=JOB_KIND,
            queue=queue_of(pipeline.kind),
            payload={"pipeline_id": pipeline.id, "trigger": "schedule"},
        )
        s.add(schedule)
    schedule.cron = cron
    schedule.enabled = enabled
    schedule.next_run_at = next_run(cron, now())
    s.flush()
    pipeline.schedule_id = schedule.id


def _active_run(s: Session, pipeline_id: str) -> PipelineRun | None:
    return s.scalars(
        select(PipelineRun)
        .where(PipelineRun.pipeline_id == pipeline_id, PipelineRun.status.in_(ACTIVE_RUNS))
        .order_by(PipelineRun.started_at.desc())
        .limit(1)
    ).first()


# -- actions --------------------------------------------------------------------------------


def create_pipeline(ctx: ActionContext, data: PipelineCreate) -> PipelineOut:
    """A pipeline on a physical mount: full, incremental (needs a watermark and keys), CDC
    (a mounted table with keys) or return flow (needs ``target_source_id``/``target_table``).

    ``schedule`` (cron, node time zone) makes it run by itself. Needs ``exchange.manage``.
    """
    mount, _scope = load_mount(ctx, data.mount_id, Perm.EXCHANGE_MANAGE)
    _check_kind(data.kind, mount)
    _check_options(ctx, data.kind, data.options)
    cron = _check_cron(data.schedule)
    if ctx.session.scalar(
        select(Pipeline.id).where(Pipeline.mount_id == mount.id, Pipeline.name == data.name)
    ):
        raise Conflict(
            f"该挂载已有名为“{data.name}”的管道",
            f"The mount already has a pipeline named {data.name!r}",
            code="pipeline_exists",
            details={"name": data.name},
        )
    pipeline = Pipeline(
        mount_id=mount.id,
        department_id=mount.department_id,
        name=data.name,
        kind=data.kind.value,
        options=dict(data.options),
        state=PipelineState.ACTIVE.value,
        created_by=ctx.actor.id,
    )
    ctx.session.add(pipeline)
    ctx.session.flush()
    _set_schedule(ctx.session, pipeline, cron)
    ctx.audit(
        "exchange.pipeline.create",
        target_type="pipeline",
        target_id=pipeline.id,
        details={"mount_id": mount.id, "kind": pipeline.kind, "schedule": cron},
    )
    return pipeline_out(ctx.session, pipeline)


def update_pipeline(ctx: ActionContext, pipeline_id: str, data: PipelineUpdate) -> PipelineOut:
    """Rename a pipeline, change its options or its schedule (``schedule: null`` removes it)."""
    pipeline, _scope = load_pipeline(ctx, pipeline_id, Perm.EXCHANGE_MANAGE)
    given = data.model_fields_set
    mount = ctx.session.get(Mount, pipeline.mount_id)
    assert mount is not None
    if data.name is not None and data.name != pipeline.name:
        if ctx.session.scalar(
            select(Pipeline.id).where(Pipeline.mount_id == mount.id, Pipeline.name == data.name)
        ):
            raise Conflict(
                f"该挂载已有名为“{data.name}”的管道",
                f"The mount already has a pipeline named {data.name!r}",
                code="pipeline_exists",
                details={"name": data.name},
            )
        pipeline.name = data.name
    if data.options is not None:
        _check_options(ctx, pipeline.kind, data.options)
        pipeline.options = dict(data.options)
    if "schedule" in given:
        _set_schedule(ctx.session, pipeline, _check_cron(data.schedule))
    ctx.session.flush()
    ctx.audit(
        "exchange.pipeline.update",
        target_type="pipeline",
        target_id=pipeline.id,
        details={"changed": sorted(given), "schedule": pipeline.schedule},
    )
    return pipeline_out(ctx.session, pipeline)


def delete_pipeline(ctx: ActionContext, pipeline_id: str) -> None:
    """Remove a pipeline, its schedule and run history; refused while a run is active."""
    pipeline, _scope = load_pipeline(ctx, pipeline_id, Perm.EXCHANGE_MANAGE)
    active = _active_run(ctx.session, pipeline.id)
    if active is not None:
        raise _busy(pipeline.id, active)
    mount_id = pipeline.mount_id
    mount = ctx.session.get(Mount, mount_id)
    facts = (
        source_facts(ctx.session, mount.source_id)
        if mount is not None and pipeline.kind == PipelineKind.CDC
        else None
    )
    delete_pipeline_rows(ctx.session, pipeline)
    ctx.audit(
        "exchange.pipeline.delete",
        target_type="pipeline",
        target_id=pipeline_id,
        details={"mount_id": mount_id},
    )
    if facts is not None:
        settings = ctx.settings

        # A replication slot nobody reads makes the source keep its WAL for ever; it goes
        # once the pipeline is gone for good, not when the transaction rolls back.
        def _release(_session: Session) -> None:
            try:
                release_source(settings, facts, pipeline_id)
            except GovDataError:
                log.warning("pipeline %s: could not drop its replication slot", pipeline_id)

        event.listen(ctx.session, "after_commit", _release, once=True)


def _busy(pipeline_id: str, run: PipelineRun) -> Conflict:
    return Conflict(
        "该管道已有运行中或排队中的任务",
        "The pipeline already has a queued or running run",
        code="pipeline_busy",
        details={"pipeline_id": pipeline_id, "run_id": run.id, "status": run.status},
    )


def _lock(s: Session, pipeline_id: str) -> None:
    # Two "run now" at once must not both find the pipeline idle (PostgreSQL; SQLite's
    # write lock, taken when the action began, already serialises them).
    s.execute(select(Pipeline.id).where(Pipeline.id == pipeline_id).with_for_update())


def queue_run(ctx: ActionContext, pipeline: Pipeline, trigger: str) -> PipelineRun:
    """Create a queued run and its job (idempotency key ``pipeline-run:<run_id>``)."""
    _lock(ctx.session, pipeline.id)
    active = _active_run(ctx.session, pipeline.id)
    if active is not None:
        raise _busy(pipeline.id, active)
    run = PipelineRun(
        pipeline_id=pipeline.id,
        kind=pipeline.kind,
        trigger=trigger,
        status=RunStatus.QUEUED.value,
        started_at=now(),
    )
    ctx.session.add(run)
    ctx.session.flush()
    job, _created = jobqueue.enqueue(
        ctx.session,
        JOB_KIND,
        {"pipeline_id": pipeline.id, "run_id": run.id, "trigger": trigger},
        # A stream's job is taken over by another worker after every crash, and each takeover
        # counts as an attempt: a stream must not die for good after a few restarts.
        max_attempts=(
            CDC_MAX_ATTEMPTS if pipeline.kind == PipelineKind.CDC else ctx.settings.job_max_attempts
        ),
        queue=queue_of(pipeline.kind),
        idempotency_key=f"pipeline-run:{run.id}",
        created_by=ctx.actor.id,
    )
    run.job_id = job.id
    pipeline.last_run_id = run.id
    ctx.session.flush()
    return run


def run_now(ctx: ActionContext, pipeline_id: str, *, trigger: str = "manual") -> RunOut:
    """Queue a run of the pipeline now. Refused while paused (``pipeline_paused``) or while
    another run is queued or running (``pipeline_busy``)."""
    pipeline, _scope = load_pipeline(ctx, pipeline_id, Perm.EXCHANGE_MANAGE)
    if pipeline.state == PipelineState.PAUSED:
        raise Conflict(
            "管道已暂停，请先恢复",
            "The pipeline is paused; resume it first",
            code="pipeline_paused",
            details={"pipeline_id": pipeline.id},
        )
    run = queue_run(ctx, pipeline, trigger)
    ctx.audit(
        "exchange.pipeline.run_now",
        target_type="pipeline",
        target_id=pipeline.id,
        details={"run_id": run.id, "job_id": run.job_id, "trigger": trigger},
    )
    return run_out(ctx.session, run)


def pause_pipeline(ctx: ActionContext, pipeline_id: str) -> PipelineOut:
    """Pause: the schedule stops, queued runs are cancelled, a running run (a CDC stream)
    stops at its next commit. Pausing a paused pipeline changes nothing."""
    pipeline, _scope = load_pipeline(ctx, pipeline_id, Perm.EXCHANGE_MANAGE)
    if pipeline.state == PipelineState.PAUSED:
        return pipeline_out(ctx.session, pipeline)
    pipeline.state = PipelineState.PAUSED.value
    if pipeline.schedule_id:
        schedule = ctx.session.get(JobSchedule, pipeline.schedule_id)
        if schedule is not None:
            schedule.enabled = False
    cancelled = []
    queued = ctx.session.scalars(
        select(PipelineRun).where(
            PipelineRun.pipeline_id == pipeline.id, PipelineRun.status == RunStatus.QUEUED
        )
    ).all()
    for run in queued:
        job = ctx.session.get(Job, run.job_id) if run.job_id else None
        if job is not None and job.status == QUEUED:
            jobqueue.request_cancel(ctx.session, job.id)
        if job is None or job.status == QUEUED or job.status == "cancelled":
            run.status = RunStatus.CANCELLED.value
            run.finished_at = now()
            cancelled.append(run.id)
    ctx.session.flush()
    ctx.audit(
        "exchange.pipeline.pause",
        target_type="pipeline",
        target_id=pipeline.id,
        details={"cancelled_runs": cancelled},
    )
    return pipeline_out(ctx.session, pipeline)


def resume_pipeline(ctx: ActionContext, pipeline_id: str) -> PipelineOut:
    """Resume: the schedule fires again; a CDC pipeline's stream is started again (a run
    with trigger ``resume``, from the position committed in the lake)."""
    pipeline, _scope = load_pipeline(ctx, pipeline_id, Perm.EXCHANGE_MANAGE)
    if pipeline.state == PipelineState.ACTIVE:
        return pipeline_out(ctx.session, pipeline)
    pipeline.state = PipelineState.ACTIVE.value
    if pipeline.schedule_id:
        schedule = ctx.session.get(JobSchedule, pipeline.schedule_id)
        if schedule is not None:
            schedule.enabled = True
            schedule.next_run_at = next_run(schedule.cron, now())
    run_id = None
    if pipeline.kind == PipelineKind.CDC and _active_run(ctx.session, pipeline.id) is None:
        run_id = queue_run(ctx, pipeline, "resume").id
    ctx.session.flush()
    ctx.audit(
        "exchange.pipeline.resume",
        target_type="pipeline",
        target_id=pipeline.id,
        details={"run_id": run_id},
    )
    return pipeline_out(ctx.session, pipeline)


def get_pipeline(ctx: ActionContext, pipeline_id: str) -> PipelineOut:
    pipeline, _scope = load_pipeline(ctx, pipeline_id, Perm.EXCHANGE_READ)
    return pipeline_out(ctx.session, pipeline)


def list_pipelines(
    ctx: ActionContext,
    *,
    mount_id: str | None = None,
    kind: PipelineKind | None = None,
    state: PipelineState | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> PipelinePage:
    """Pipelines the actor may see (``exchange.read`` over their department), newest first."""
    from govdata.catalog.models import CatalogEntry

    ctx.require(Perm.EXCHANGE_READ)
    check_limit(limit)
    stmt = (
        select(Pipeline)
        .join(Mount, Mount.id == Pipeline.mount_id)
        .join(CatalogEntry, CatalogEntry.id == Mount.entry_id)
        .where(
            scope_clause(
                ctx.actor, Perm.EXCHANGE_READ, Pipeline.department_id, CatalogEntry.region_path
            )
        )
    )
    if mount_id is not None:
        stmt = stmt.where(Pipeline.mount_id == mount_id)
    if kind is not None:
        stmt = stmt.where(Pipeline.kind == kind.value)
    if state is not None:
        stmt = stmt.where(Pipeline.state == state.value)
    total = ctx.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = paginate(
        ctx.session,
        stmt,
        [Pipeline.created_at, Pipeline.id],
        limit=limit,
        cursor=cursor,
        descending=True,
    )
    return PipelinePage(
        items=[pipeline_out(ctx.session, p) for p in page.items],
        next_cursor=page.next_cursor,
        total=total,
    )


def list_runs(
    ctx: ActionContext, pipeline_id: str, *, limit: int = 20, cursor: str | None = None
) -> RunPage:
    """The pipeline's runs, newest first (keyset pages)."""
    pipeline, _scope = load_pipeline(ctx, pipeline_id, Perm.EXCHANGE_READ)
    check_limit(limit)
    stmt = select(PipelineRun).where(PipelineRun.pipeline_id == pipeline.id)
    page = paginate(
        ctx.session,
        stmt,
        [PipelineRun.started_at, PipelineRun.id],
        limit=limit,
        cursor=cursor,
        descending=True,
    )
    return RunPage(
        items=[run_out(ctx.session, r) for r in page.items], next_cursor=page.next_cursor
    )


def get_run(ctx: ActionContext, run_id: str) -> RunDetail:
    """One run with its log lines (the last ``LOG_LINES_MAX``, oldest first)."""
    run = ctx.session.get(PipelineRun, run_id)
    if run is None:
        ctx.require(Perm.EXCHANGE_READ)
        raise NotFound(
            "运行记录不存在", "Run not found", code="run_not_found", details={"run_id": run_id}
        )
    load_pipeline(ctx, run.pipeline_id, Perm.EXCHANGE_READ)
    logs = list(
        ctx.session.scalars(
            select(PipelineRunLog)
            .where(PipelineRunLog.run_id == run.id)
            .order_by(PipelineRunLog.id.desc())
            .limit(LOG_LINES_MAX)
        )
    )
    logs.reverse()
    out = run_out(ctx.session, run)
    return RunDetail(
        **out.model_dump(),
        logs=[RunLogOut(at=log.at, level=log.level, message=log.message) for log in logs],
    )
