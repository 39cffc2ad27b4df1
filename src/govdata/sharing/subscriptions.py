"""Subscriptions (订阅): recurring delivery of a grant's data into the consumer's own database
table (mode ``table``) or into files it downloads (mode ``file``).

A subscription belongs to the consumer department of its grant. Its people create, run,
pause, resume and delete it (``sharing.apply`` over the consumer; a table target also needs
``exchange.manage`` there, because delivery writes into that department's system) and
download its files (``data.read``: a file is a data read, audited as such). Both sides see
it (``sharing.read``): the provider read-only, like the grant itself.

A delivery is a job of kind ``sharing.subscription`` (payload ``{"subscription_id",
"run_id"?, "trigger"}``, see ``sharing/jobs.py``; what one run delivers is in
``sharing/delivery.py``). Deliveries start from "run now" (a queued run row), from the
subscription's cron schedule, and from changes: after every pipeline commit to a lake
table, ``queue_due_deliveries`` queues a delivery for each active subscription on it. At
most one change-triggered delivery per subscription waits at a time: it holds the job
idempotency key ``sharing.delivery:<subscription id>``, and gives it up when it starts, so
a commit made while a delivery runs queues the next one.
"""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Select, event, select, update
from sqlalchemy.orm import Session

from govdata.core.clock import as_utc, now
from govdata.core.db import Database
from govdata.core.errors import Conflict, GovDataError, InvalidInput, NotFound, PermissionDenied
from govdata.core.jobs import queue as jobqueue
from govdata.core.jobs.models import QUEUED, Job, JobSchedule
from govdata.core.jobs.schedules import next_run, valid_cron
from govdata.core.pagination import check_limit, paginate
from govdata.exchange.models import Mount
from govdata.exchange.vocab import RunStatus
from govdata.identity import queries as org
from govdata.security import classification
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm, Scope
from govdata.sharing.common import not_found, own_department, sees, two_sided_clause
from govdata.sharing.delivery import (
    ACTIVE_RUNS,
    FILE_RE,
    build_plan,
    delivered_files,
    delivery_folder,
    grant_refusal,
)
from govdata.sharing.grants import status_of
from govdata.sharing.models import Grant, Subscription, SubscriptionRun
from govdata.sharing.schemas import (
    DeliveryFile,
    SubscriptionCreate,
    SubscriptionOut,
    SubscriptionPage,
    SubscriptionRunOut,
)
from govdata.sharing.vocab import (
    DeliveryMode,
    GrantStatus,
    SubscriptionMode,
    SubscriptionState,
    label,
)
from govdata.sources.registry import source_facts

log = logging.getLogger(__name__)

JOB_KIND = "sharing.subscription"
# Change-triggered deliveries are queued where no settings are at hand: the default attempts.
TRIGGER_MAX_ATTEMPTS = 5
MODE_NEEDS = {
    SubscriptionMode.TABLE: DeliveryMode.SUBSCRIPTION,
    SubscriptionMode.FILE: DeliveryMode.FILE,
}


# -- change-triggered deliveries -------------------------------------------------------------


def trigger_key(subscription_id: str) -> str:
    return f"sharing.delivery:{subscription_id}"


def release_trigger(s: Session, job_id: str, subscription_id: str) -> None:
    """Give up the subscription's trigger key held by job ``job_id`` (it started or ended), so
    the next change queues a new delivery."""
    key = trigger_key(subscription_id)
    s.execute(
        update(Job)
        .where(Job.id == job_id, Job.idempotency_key == key)
        .values(idempotency_key=f"{key}:{job_id}")
        .execution_options(synchronize_session=False)
    )


def queue_delivery(s: Session, subscription_id: str) -> bool:
    """Queue a change-triggered delivery unless one is already waiting; True when queued."""
    key = trigger_key(subscription_id)
    payload = {"subscription_id": subscription_id, "trigger": "change"}
    for _ in range(2):
        job, created = jobqueue.enqueue(
            s, JOB_KIND, payload, max_attempts=TRIGGER_MAX_ATTEMPTS, idempotency_key=key
        )
        if created:
            return True
        if job.status == QUEUED:
            return False
        # Held by a job that started or ended without letting go (it died first).
        release_trigger(s, job.id, subscription_id)
    return False


def _on_table(lake_table: str) -> Select[str]:
    return (
        select(Subscription.id)
        .join(Grant, Grant.id == Subscription.grant_id)
        .join(Mount, Mount.entry_id == Grant.entry_id)
        .where(
            Mount.lake_table == lake_table,
            Subscription.state == SubscriptionState.ACTIVE.value,
        )
    )


def queue_due_deliveries(session: Session, lake_table: str) -> int:
    """Queue a delivery for every active subscription whose grant's entry is mounted on
    ``lake_table`` (at most one waiting per subscription); returns how many were queued.

    Subscriptions whose grant has expired are queued too: their run ends them at once.
    """
    ids = session.scalars(_on_table(lake_table).order_by(Subscription.id)).all()
    return sum(queue_delivery(session, sub_id) for sub_id in ids)


def notify_lake_commit(db: Database, lake_table: str) -> int:
    """``queue_due_deliveries`` in its own transaction, for the exchange engine after a lake
    commit. Never raises: a delivery that could not be queued must not fail the pipeline
    (the subscription's schedule or the next commit catches up)."""
    try:
        with db.transaction() as s:
            # A cheap read first: most lake tables have no subscription on them.
            found = s.scalar(select(_on_table(lake_table).exists()))
        if not found:
            return 0
        with db.transaction(immediate=True) as s:
            return queue_due_deliveries(s, lake_table)
    except Exception:
        log.warning("could not queue subscription deliveries for %s", lake_table, exc_info=True)
        return 0


# -- lookups and output ----------------------------------------------------------------------


def _scopes(grant: Grant) -> tuple[Scope, Scope]:
    return (
        Scope(region_path=grant.consumer_region_path, department_id=grant.consumer_department_id),
        Scope(region_path=grant.provider_region_path, department_id=grant.provider_department_id),
    )


def _load(ctx: ActionContext, subscription_id: str) -> tuple[Subscription, Grant]:
    """The subscription if the actor sees either side of it; 404 otherwise."""
    ctx.require(Perm.SHARING_READ)
    sub = ctx.session.get(Subscription, subscription_id)
    grant = ctx.session.get(Grant, sub.grant_id) if sub is not None else None
    if sub is None or grant is None or not sees(ctx, *_scopes(grant)):
        raise not_found("订阅", "Subscription", "sharing_subscription_not_found", subscription_id)
    return sub, grant


def _as_consumer(ctx: ActionContext, sub: Subscription, grant: Grant, perm: Perm) -> None:
    ctx.require(perm, _scopes(grant)[0], target_id=sub.id)


def lag_seconds(sub: Subscription) -> float | None:
    """How old the newest delivered data was when it reached the consumer."""
    if sub.delivered_at is None or sub.source_time is None:
        return None
    return max(0.0, (as_utc(sub.delivered_at) - as_utc(sub.source_time)).total_seconds())


def subscription_out(
    sub: Subscription, grant: Grant, names: dict[str, str], locale: str = "zh_CN"
) -> SubscriptionOut:
    return SubscriptionOut(
        id=sub.id,
        grant_id=grant.id,
        grant_code=grant.code,
        resource_code=grant.resource_code,
        entry_name=grant.entry_name,
        consumer_department_id=sub.consumer_department_id,
        consumer_department_name=names.get(sub.consumer_department_id, ""),
        provider_department_id=sub.provider_department_id,
        provider_department_name=names.get(sub.provider_department_id, ""),
        name=sub.name,
        mode=SubscriptionMode(sub.mode),
        target_source_id=sub.target_source_id,
        target_table=sub.target_table,
        file_format=sub.file_format,
        schedule=sub.schedule,
        state=SubscriptionState(sub.state),
        state_label=label("subscription_state", sub.state, locale),
        delivered_version=sub.delivered_version,
        delivered_at=sub.delivered_at,
        lag_seconds=lag_seconds(sub),
        last_error=sub.last_error,
        created_at=sub.created_at,
    )


def run_out(run: SubscriptionRun) -> SubscriptionRunOut:
    return SubscriptionRunOut(
        id=run.id,
        status=run.status,
        started_at=run.started_at,
        finished_at=run.finished_at,
        version_from=run.version_from,
        version_to=run.version_to,
        rows_upserted=run.rows_upserted,
        rows_deleted=run.rows_deleted,
        files=list(run.files or []),
        error_code=run.error_code,
        error_message=run.error_message,
    )


def _out(ctx: ActionContext, sub: Subscription, grant: Grant) -> SubscriptionOut:
    names = org.department_names(
        ctx.session, {sub.consumer_department_id, sub.provider_department_id}
    )
    return subscription_out(sub, grant, names, ctx.locale)


def _active_run(s: Session, subscription_id: str) -> SubscriptionRun | None:
    return s.scalars(
        select(SubscriptionRun)
        .where(
            SubscriptionRun.subscription_id == subscription_id,
            SubscriptionRun.status.in_(ACTIVE_RUNS),
        )
        .order_by(SubscriptionRun.started_at.desc())
        .limit(1)
    ).first()


def subscription_busy(subscription_id: str, run: SubscriptionRun) -> Conflict:
    return Conflict(
        "该订阅已有排队中或运行中的交付",
        "The subscription already has a queued or running delivery",
        code="sharing_subscription_busy",
        details={"subscription_id": subscription_id, "run_id": run.id, "status": run.status},
    )


def set_schedule_enabled(s: Session, sub: Subscription, enabled: bool) -> None:
    schedule = s.get(JobSchedule, sub.schedule_id) if sub.schedule_id else None
    if schedule is not None:
        schedule.enabled = enabled
        if enabled:
            schedule.next_run_at = next_run(schedule.cron, now())


def _active_grant(grant: Grant) -> None:
    status = status_of(grant)
    if status != GrantStatus.ACTIVE:
        raise grant_refusal(status)


# -- actions ------------------------------------------------------------------------------------


def _invalid(zh: str, en: str, code: str, **details: object) -> InvalidInput:
    return InvalidInput(zh, en, code=code, details=details)


def _check_target(ctx: ActionContext, data: SubscriptionCreate, consumer: Scope) -> None:
    if data.mode == SubscriptionMode.FILE:
        if data.file_format is None or data.target_source_id or data.target_table:
            raise _invalid(
                "文件订阅须指定文件格式（csv 或 parquet），不指定目标数据源",
                "A file subscription needs file_format (csv or parquet) and no target",
                "sharing_subscription_invalid",
            )
        return
    if not data.target_source_id or not data.target_table or data.file_format:
        raise _invalid(
            "库表订阅须指定本部门的目标数据源和目标表",
            "A table subscription needs a target source of the department and a table",
            "sharing_subscription_invalid",
        )
    target = source_facts(ctx.session, data.target_source_id)
    if target is None or target.department_id != consumer.department_id:
        raise _invalid(
            "订阅目标须为本部门登记的数据源",
            "The target must be a source registered by the consumer department",
            "sharing_target_invalid",
            source_id=data.target_source_id,
        )
    # Delivery writes into the department's own system.
    ctx.require(Perm.EXCHANGE_MANAGE, consumer, target_id=target.id)
    taken = ctx.session.scalar(
        select(Subscription.id).where(
            Subscription.target_source_id == target.id,
            Subscription.target_table == data.target_table,
            Subscription.state != SubscriptionState.ENDED.value,
        )
    )
    if taken:
        raise Conflict(
            f"目标表 {data.target_table} 已被另一个订阅使用",
            f"Another subscription already delivers into {data.target_table}",
            code="sharing_target_taken",
            details={"subscription_id": taken},
        )


def _check_cron(expr: str | None) -> str | None:
    if expr is None:
        return None
    expr = expr.strip()
    if not expr or not valid_cron(expr):
        raise _invalid(
            f"定时表达式“{expr}”不合法（cron 五段式，如 0 2 * * *）",
            f"Invalid schedule {expr!r} (a five-field cron, e.g. 0 2 * * *)",
            "sharing_schedule_invalid",
            schedule=expr,
        )
    return expr


def create_subscription(ctx: ActionContext, data: SubscriptionCreate) -> SubscriptionOut:
    """Subscribe to a grant the actor's department holds: its data delivered into one of the
    department's MariaDB/PostgreSQL sources (``mode: table``, ``target_source_id`` and
    ``target_table``; made if missing, with only the granted fields) or as files
    (``mode: file``, ``file_format`` csv or parquet).

    The grant must be active and include the delivery mode (``subscription`` for tables,
    ``file`` for files); table delivery also needs the entry's key granted unmasked. An
    optional ``schedule`` (cron, Beijing time) delivers regularly; physically aggregated
    entries are also delivered after every change of their lake table. The first delivery
    is queued at once. Needs ``sharing.apply`` over the consumer department; audited
    (``sharing.subscription.create``).
    """
    ctx.require(Perm.SHARING_APPLY)
    dept = own_department(ctx)
    grant = ctx.session.get(Grant, data.grant_id)
    if grant is None or not sees(ctx, *_scopes(grant)):
        raise not_found("授权", "Grant", "sharing_grant_not_found", data.grant_id)
    consumer = _scopes(grant)[0]
    ctx.require(Perm.SHARING_APPLY, consumer, target_id=grant.id)
    if grant.consumer_department_id != dept.id:
        raise PermissionDenied(
            "只有使用部门可以订阅该授权",
            "Only the consumer department can subscribe to this grant",
            code="sharing_not_consumer",
        )
    _active_grant(grant)
    needed = MODE_NEEDS[data.mode]
    if needed.value not in grant.delivery_modes:
        raise _invalid(
            f"授权不包含共享方式“{label('delivery_mode', needed.value)}”",
            f"The grant does not include the {needed.value} delivery mode",
            "sharing_mode_not_granted",
            mode=needed.value,
            granted=list(grant.delivery_modes),
        )
    _check_target(ctx, data, consumer)
    cron = _check_cron(data.schedule)
    sub = Subscription(
        grant_id=grant.id,
        consumer_department_id=grant.consumer_department_id,
        provider_department_id=grant.provider_department_id,
        name=data.name,
        mode=data.mode.value,
        target_source_id=data.target_source_id,
        target_table=data.target_table,
        file_format=data.file_format,
        schedule=cron,
        state=SubscriptionState.ACTIVE.value,
        created_by=ctx.actor.id,
    )
    ctx.session.add(sub)
    ctx.session.flush()
    plan = build_plan(ctx.session, sub, grant)
    if cron is not None:
        schedule = JobSchedule(
            name=f"sharing-subscription:{sub.id}",
            kind=JOB_KIND,
            payload={"subscription_id": sub.id, "trigger": "schedule"},
            cron=cron,
            enabled=True,
            next_run_at=next_run(cron, now()),
        )
        ctx.session.add(schedule)
        ctx.session.flush()
        sub.schedule_id = schedule.id
    queue_delivery(ctx.session, sub.id)
    ctx.audit(
        "sharing.subscription.create",
        target_type="subscription",
        target_id=sub.id,
        fields=plan.items,
        details={
            "grant": grant.code,
            "mode": sub.mode,
            "target_source_id": sub.target_source_id,
            "target_table": sub.target_table,
            "file_format": sub.file_format,
            "schedule": cron,
        },
    )
    return _out(ctx, sub, grant)


def run_subscription(ctx: ActionContext, subscription_id: str) -> SubscriptionRunOut:
    """Queue a delivery now. Refused while paused or ended, or while another delivery is
    queued or running (``sharing_subscription_busy``). The grant is checked when the run
    starts. Consumer side (``sharing.apply``); audited (``sharing.subscription.run``)."""
    sub, grant = _load(ctx, subscription_id)
    _as_consumer(ctx, sub, grant, Perm.SHARING_APPLY)
    _not_stopped(sub)
    # Two "run now" at once must not both find the subscription idle (PostgreSQL; SQLite's
    # write lock, taken when the action began, already serialises them).
    ctx.session.execute(select(Subscription.id).where(Subscription.id == sub.id).with_for_update())
    active = _active_run(ctx.session, sub.id)
    if active is not None:
        raise subscription_busy(sub.id, active)
    run = SubscriptionRun(subscription_id=sub.id, status=RunStatus.QUEUED.value, started_at=now())
    ctx.session.add(run)
    ctx.session.flush()
    job, _created = jobqueue.enqueue(
        ctx.session,
        JOB_KIND,
        {"subscription_id": sub.id, "run_id": run.id, "trigger": "manual"},
        max_attempts=ctx.settings.job_max_attempts,
        idempotency_key=f"sharing-subscription-run:{run.id}",
        created_by=ctx.actor.id,
    )
    run.job_id = job.id
    ctx.audit(
        "sharing.subscription.run",
        target_type="subscription",
        target_id=sub.id,
        details={"run_id": run.id, "job_id": job.id},
    )
    return run_out(run)


def _not_stopped(sub: Subscription) -> None:
    if sub.state == SubscriptionState.ENDED:
        raise Conflict(
            "订阅已终止（授权已撤销或过期）",
            "The subscription has ended (its grant was revoked or expired)",
            code="sharing_subscription_ended",
        )
    if sub.state == SubscriptionState.PAUSED:
        raise Conflict(
            "订阅已暂停，请先恢复",
            "The subscription is paused; resume it first",
            code="sharing_subscription_paused",
        )


def pause_subscription(ctx: ActionContext, subscription_id: str) -> SubscriptionOut:
    """Pause: the schedule and change-triggered deliveries stop, queued runs are cancelled; a
    running delivery finishes. Pausing a paused subscription changes nothing."""
    sub, grant = _load(ctx, subscription_id)
    _as_consumer(ctx, sub, grant, Perm.SHARING_APPLY)
    if sub.state == SubscriptionState.ENDED:
        _not_stopped(sub)
    if sub.state == SubscriptionState.PAUSED:
        return _out(ctx, sub, grant)
    sub.state = SubscriptionState.PAUSED.value
    set_schedule_enabled(ctx.session, sub, False)
    cancelled = []
    for run in ctx.session.scalars(
        select(SubscriptionRun).where(
            SubscriptionRun.subscription_id == sub.id,
            SubscriptionRun.status == RunStatus.QUEUED.value,
        )
    ):
        job = ctx.session.get(Job, run.job_id) if run.job_id else None
        if job is not None and job.status == QUEUED:
            jobqueue.request_cancel(ctx.session, job.id)
        run.status = RunStatus.CANCELLED.value
        run.finished_at = now()
        cancelled.append(run.id)
    ctx.audit(
        "sharing.subscription.pause",
        target_type="subscription",
        target_id=sub.id,
        details={"cancelled_runs": cancelled},
    )
    return _out(ctx, sub, grant)


def resume_subscription(ctx: ActionContext, subscription_id: str) -> SubscriptionOut:
    """Resume a paused subscription: its schedule fires again and a delivery is queued now
    to catch up. Refused when ended or when the grant is no longer active."""
    sub, grant = _load(ctx, subscription_id)
    _as_consumer(ctx, sub, grant, Perm.SHARING_APPLY)
    if sub.state == SubscriptionState.ACTIVE:
        return _out(ctx, sub, grant)
    if sub.state == SubscriptionState.ENDED:
        _not_stopped(sub)
    _active_grant(grant)
    sub.state = SubscriptionState.ACTIVE.value
    set_schedule_enabled(ctx.session, sub, True)
    queued = queue_delivery(ctx.session, sub.id)
    ctx.audit(
        "sharing.subscription.resume",
        target_type="subscription",
        target_id=sub.id,
        details={"queued": queued},
    )
    return _out(ctx, sub, grant)


def delete_subscription(ctx: ActionContext, subscription_id: str) -> None:
    """Remove a subscription with its schedule, run history and delivered files (refused
    while a delivery runs). The consumer's target table stays: it is the department's own.
    Consumer side (``sharing.apply``); audited (``sharing.subscription.delete``)."""
    sub, grant = _load(ctx, subscription_id)
    _as_consumer(ctx, sub, grant, Perm.SHARING_APPLY)
    s = ctx.session
    running = s.scalars(
        select(SubscriptionRun).where(
            SubscriptionRun.subscription_id == sub.id,
            SubscriptionRun.status == RunStatus.RUNNING.value,
        )
    ).first()
    if running is not None:
        raise subscription_busy(sub.id, running)
    for run in s.scalars(select(SubscriptionRun).where(SubscriptionRun.subscription_id == sub.id)):
        job = s.get(Job, run.job_id) if run.job_id else None
        if job is not None and job.status == QUEUED:
            jobqueue.request_cancel(s, job.id)
        s.delete(run)
    schedule = s.get(JobSchedule, sub.schedule_id) if sub.schedule_id else None
    sub.schedule_id = None
    s.flush()
    if schedule is not None:
        s.delete(schedule)
    s.delete(sub)
    s.flush()
    ctx.audit(
        "sharing.subscription.delete",
        target_type="subscription",
        target_id=subscription_id,
        details={"grant": grant.code, "mode": sub.mode},
    )
    folder = delivery_folder(ctx.settings, subscription_id)

    # Copies of another department's data go with the subscription, once it is gone for good.
    def _remove(_session: Session) -> None:
        shutil.rmtree(folder, ignore_errors=True)

    event.listen(s, "after_commit", _remove, once=True)


def get_subscription(ctx: ActionContext, subscription_id: str) -> SubscriptionOut:
    """One subscription, with how fresh its delivered data is (``lag_seconds``: delivery time
    minus the lake commit time of the newest delivered version). Either side
    (``sharing.read``)."""
    sub, grant = _load(ctx, subscription_id)
    return _out(ctx, sub, grant)


def list_subscriptions(
    ctx: ActionContext,
    *,
    side: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> SubscriptionPage:
    """Subscriptions the actor sees, newest first. ``side``: ``held`` (the actor's department
    is the consumer) or ``given`` (it is the provider); default both sides in scope."""
    ctx.require(Perm.SHARING_READ)
    stmt = (
        select(Subscription)
        .join(Grant, Grant.id == Subscription.grant_id)
        .where(
            two_sided_clause(
                ctx,
                Perm.SHARING_READ,
                Grant.consumer_department_id,
                Grant.consumer_region_path,
                Grant.provider_department_id,
                Grant.provider_region_path,
            )
        )
    )
    dept = ctx.actor.department_id
    if side == "held":
        stmt = stmt.where(Subscription.consumer_department_id == dept)
    elif side == "given":
        stmt = stmt.where(Subscription.provider_department_id == dept)
    elif side is not None:
        raise InvalidInput(
            "side 须为 held 或 given", "side must be held or given", code="invalid_side"
        )
    page = paginate(
        ctx.session, stmt, [Subscription.id], limit=limit, cursor=cursor, descending=True
    )
    subs = list(page.items)
    grants = {
        g.id: g
        for g in ctx.session.scalars(select(Grant).where(Grant.id.in_({s.grant_id for s in subs})))
    }
    ids = {s.consumer_department_id for s in subs} | {s.provider_department_id for s in subs}
    names = org.department_names(ctx.session, ids)
    return SubscriptionPage(
        items=[subscription_out(s, grants[s.grant_id], names, ctx.locale) for s in subs],
        next_cursor=page.next_cursor,
    )


def list_runs(
    ctx: ActionContext, subscription_id: str, *, limit: int = 50
) -> list[SubscriptionRunOut]:
    """The subscription's deliveries, newest first. Either side (``sharing.read``)."""
    sub, _grant = _load(ctx, subscription_id)
    runs = ctx.session.scalars(
        select(SubscriptionRun)
        .where(SubscriptionRun.subscription_id == sub.id)
        .order_by(SubscriptionRun.started_at.desc(), SubscriptionRun.id.desc())
        .limit(check_limit(limit))
    )
    return [run_out(r) for r in runs]


def _file_subscription(ctx: ActionContext, subscription_id: str) -> tuple[Subscription, Grant]:
    sub, grant = _load(ctx, subscription_id)
    _as_consumer(ctx, sub, grant, Perm.DATA_READ)
    if sub.mode != SubscriptionMode.FILE:
        raise _invalid(
            "该订阅不是文件订阅", "This is not a file subscription", "sharing_subscription_not_file"
        )
    return sub, grant


def delivery_files(ctx: ActionContext, subscription_id: str) -> list[DeliveryFile]:
    """The files delivered to a file subscription, newest first. Consumer side only
    (``data.read`` over the consumer department)."""
    sub, _grant = _file_subscription(ctx, subscription_id)
    found = []
    for path in delivered_files(delivery_folder(ctx.settings, sub.id)):
        st = path.stat()
        found.append(
            DeliveryFile(
                name=path.name,
                size=st.st_size,
                modified_at=datetime.fromtimestamp(st.st_mtime, tz=UTC),
            )
        )
    return sorted(found, key=lambda f: (f.modified_at, f.name), reverse=True)


def open_delivery_file(ctx: ActionContext, subscription_id: str, name: str) -> Path:
    """The path of one delivered file, for the caller to stream. Consumer side only
    (``data.read``), only while the grant is active, and only while the entry's grade allows
    file delivery (``classification_forbidden`` once it was graded up to where it does not):
    a download is a data read, audited (``sharing.subscription.download``) with the fields
    and the rows the file holds."""
    sub, grant = _file_subscription(ctx, subscription_id)
    status = status_of(grant)
    if status != GrantStatus.ACTIVE:
        refusal = grant_refusal(status)
        ctx.denials.append((Perm.DATA_READ.value, sub.id))
        raise PermissionDenied(refusal.message_zh, refusal.message_en, code=refusal.code)
    grade = classification.entry_grade(ctx.session, grant.entry_id)
    classification.check(ctx.session, grade, classification.Operation.FILE)
    path = delivery_folder(ctx.settings, sub.id) / name
    # The name must be one we write; it never walks out of the subscription's folder.
    if not FILE_RE.fullmatch(name) or not path.is_file():
        raise NotFound(
            "文件不存在", "File not found", code="sharing_file_not_found", details={"name": name}
        )
    run = _run_of_file(ctx.session, sub.id, name)
    plan_fields = _delivered_items(ctx.session, sub, grant)
    ctx.audit(
        "sharing.subscription.download",
        target_type="subscription",
        target_id=sub.id,
        fields=plan_fields,
        row_count=(run.rows_upserted + run.rows_deleted) if run is not None else None,
        details={"file": name, "grant": grant.code, "bytes": path.stat().st_size},
    )
    return path


def _run_of_file(s: Session, subscription_id: str, name: str) -> SubscriptionRun | None:
    runs = s.scalars(
        select(SubscriptionRun)
        .where(
            SubscriptionRun.subscription_id == subscription_id,
            SubscriptionRun.status == RunStatus.SUCCEEDED.value,
        )
        .order_by(SubscriptionRun.started_at.desc())
    )
    return next((r for r in runs if name in (r.files or [])), None)


def _delivered_items(s: Session, sub: Subscription, grant: Grant) -> list[str]:
    try:
        return build_plan(s, sub, grant).items
    except GovDataError:
        # The audit still names what the grant allows when the mount changed since.
        return list(grant.items)
