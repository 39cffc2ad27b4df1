"""Job handler of subscriptions, the run records it keeps, and the in-process runner.

``sharing.subscription`` (payload ``{"subscription_id", "run_id"?, "trigger"?}``) carries
out one delivery (see ``sharing/delivery.py``): it takes (or creates) the run row, checks
the grant, delivers, and records how it ended on the run, the subscription and the audit
log (``sharing.subscription.deliver``, by the system: what reached which consumer).
Triggers: ``manual`` (run now: a queued run row in the payload), ``schedule``, ``change``
(a lake commit, see ``subscriptions.queue_due_deliveries``) and ``now`` (``deliver_now``).

Outcomes:
- paused subscriptions deliver nothing (a queued run is closed as cancelled); an ended one
  is skipped by scheduled and change-triggered jobs, which switch its schedule off;
- a change-triggered job finds the consumer already at the lake's version: nothing to do,
  no run recorded;
- a revoked or expired grant: the run fails (``sharing_grant_revoked`` /
  ``sharing_grant_expired``), the subscription ends, the job fails for good;
- another delivery of the subscription is running: the job is retried later (with the
  worker's backoff); one that is queued already makes a scheduled or change-triggered job
  unnecessary (it ends without a run);
- an unreachable target or source fails the run and the job is retried on the same run row;
  every other error fails the run and the job for good;
- the worker stops or loses its lease mid-run: the run stays ``running`` and the next attempt
  of the job resumes it (a table target from the version it names itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.config import Settings
from govdata.core.clock import now
from govdata.core.db import Database
from govdata.core.errors import Conflict, GovDataError, NotFound
from govdata.core.jobs.models import QUEUED, RUNNING, Job
from govdata.core.jobs.registry import job_handler
from govdata.core.jobs.worker import JobFailed, JobRun, LeaseLost, WorkerStopping
from govdata.exchange.engine.full import Stopped
from govdata.exchange.models import Mount
from govdata.exchange.vocab import MountMode, RunStatus
from govdata.lake.tables import Lake
from govdata.security.audit import FAILURE, SUCCESS, write_audit
from govdata.security.context_types import SYSTEM
from govdata.sharing.delivery import (
    ACTIVE_RUNS,
    FINISHED_RUNS,
    Outcome,
    Plan,
    build_plan,
    deliver,
    grant_refusal,
)
from govdata.sharing.grants import status_of
from govdata.sharing.models import Grant, Subscription, SubscriptionRun
from govdata.sharing.subscriptions import (
    JOB_KIND,
    release_trigger,
    set_schedule_enabled,
    subscription_busy,
)
from govdata.sharing.vocab import GrantStatus, SubscriptionState

AUDIT_DELIVER = "sharing.subscription.deliver"
RUN_KEY = "run_id"
WORKER_LOST = "sharing_worker_lost"
# Errors a later attempt can get past without anyone changing anything.
RETRYABLE = frozenset({"source_unreachable", "source_timeout", "sharing_subscription_busy"})


class RetryLater(Exception):
    """The delivery could not run now for a transient reason; the worker retries the job."""


# -- runs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Started:
    run_id: str
    plan: Plan | None
    refused: GovDataError | None  # the run was recorded as failed before it began
    mirrored: int | None  # Subscription.delivered_version when it began


@dataclass(frozen=True)
class RunResult:
    run_id: str
    status: str
    error: GovDataError | None = None


def _job_alive(s: Session, job_id: str | None, own: str | None) -> bool:
    if job_id is None:
        return False
    if job_id == own:
        return True
    return s.scalar(select(Job.status).where(Job.id == job_id)) in (QUEUED, RUNNING)


def _fail_now(s: Session, sub: Subscription, run: SubscriptionRun, error: GovDataError) -> None:
    run.status = RunStatus.FAILED.value
    run.finished_at = now()
    run.error_code = error.code
    run.error_message = f"{error.message_zh} / {error.message_en}"[:4000]
    sub.last_error = run.error_message
    write_audit(
        s,
        SYSTEM,
        AUDIT_DELIVER,
        target_type="subscription",
        target_id=sub.id,
        outcome=FAILURE,
        row_count=0,
        details={"run_id": run.id, "grant_id": sub.grant_id, "error": error.code},
    )


def start_run(
    db: Database,
    settings: Settings,
    subscription_id: str,
    *,
    run_id: str | None,
    job_id: str | None,
    trigger: str,
) -> Started | None:
    """Take (or create) the run row and check the grant; None when there is nothing to do.

    Nothing to do: the subscription is paused (a queued run of it is cancelled), or ended
    and this is a scheduled or change-triggered job, or a change-triggered job finds the
    consumer already at the lake's version, or a scheduled or change-triggered job finds
    another run queued (it will deliver the same), or the job's run already finished under
    another job. Raises ``sharing_subscription_busy`` while another live run is running.
    """
    with db.transaction(immediate=True) as s:
        sub = s.get(Subscription, subscription_id, with_for_update=True)
        if sub is None:
            raise NotFound(
                "订阅不存在",
                "Subscription not found",
                code="sharing_subscription_not_found",
                details={"id": subscription_id},
            )
        run = s.get(SubscriptionRun, run_id) if run_id else None
        if run is not None and run.subscription_id != sub.id:
            run = None
        if run is not None and run.status in FINISHED_RUNS and run.job_id not in (None, job_id):
            return None
        automatic = trigger in ("schedule", "change")
        if sub.state == SubscriptionState.PAUSED or (
            automatic and sub.state == SubscriptionState.ENDED
        ):
            if run is not None and run.status in ACTIVE_RUNS:
                run.status = RunStatus.CANCELLED.value
                run.finished_at = now()
            if sub.state == SubscriptionState.ENDED:
                set_schedule_enabled(s, sub, False)
            return None
        grant = s.get(Grant, sub.grant_id)
        assert grant is not None
        grant_status = status_of(grant)
        active = grant_status == GrantStatus.ACTIVE
        if trigger == "change" and active and _up_to_date(s, settings, grant, sub):
            return None
        for other in s.scalars(
            select(SubscriptionRun).where(
                SubscriptionRun.subscription_id == sub.id,
                SubscriptionRun.status.in_(ACTIVE_RUNS),
            )
        ):
            if run is not None and other.id == run.id:
                continue
            if _job_alive(s, other.job_id, job_id):
                if automatic and other.status == RunStatus.QUEUED:
                    return None  # that run has yet to read the lake: it delivers this too
                raise subscription_busy(sub.id, other)
            other.status = RunStatus.FAILED.value
            other.finished_at = now()
            other.error_code = WORKER_LOST
            other.error_message = "运行它的任务已不存在或已结束 / the job running it is gone"
        if run is None:
            run = SubscriptionRun(subscription_id=sub.id, status=RunStatus.RUNNING.value)
            s.add(run)
        run.status = RunStatus.RUNNING.value
        run.job_id = job_id
        run.started_at = now()
        run.finished_at = None
        run.error_code = run.error_message = None
        s.flush()
        sub.last_run_id = run.id
        refusal: GovDataError | None = None
        if grant_status != GrantStatus.ACTIVE:
            refusal = grant_refusal(grant_status)
            sub.state = SubscriptionState.ENDED.value
            set_schedule_enabled(s, sub, False)
        elif sub.state == SubscriptionState.ENDED:
            refusal = Conflict(
                "订阅已终止", "The subscription has ended", code="sharing_subscription_ended"
            )
        plan = None
        if refusal is None:
            try:
                plan = build_plan(s, sub, grant)
            except GovDataError as exc:
                refusal = exc
        if refusal is not None:
            _fail_now(s, sub, run, refusal)
        return Started(run.id, plan, refusal, sub.delivered_version)


def _up_to_date(s: Session, settings: Settings, grant: Grant, sub: Subscription) -> bool:
    """A change-triggered job for a consumer already at the lake's version has nothing to do
    (the store's delivered version only ever lags what the consumer holds)."""
    mount = s.scalars(select(Mount).where(Mount.entry_id == grant.entry_id)).one_or_none()
    if mount is None or mount.mode != MountMode.PHYSICAL or not mount.lake_table:
        return False
    lake = Lake.from_settings(settings)
    if not lake.exists(mount.lake_table):
        return True
    return sub.delivered_version == lake.table(mount.lake_table).version()


def finish_run(
    db: Database,
    started: Started,
    status: RunStatus,
    outcome: Outcome,
    error: GovDataError | None = None,
) -> None:
    """Record how the run ended on the run row, the subscription's mirror and the audit log."""
    plan = started.plan
    assert plan is not None
    at = now()
    with db.transaction(immediate=True) as s:
        run = s.get(SubscriptionRun, started.run_id)
        sub = s.get(Subscription, plan.subscription_id)
        assert run is not None
        run.status = status.value
        run.finished_at = at
        run.version_from, run.version_to = outcome.version_from, outcome.version_to
        run.rows_upserted, run.rows_deleted = outcome.upserted, outcome.deleted
        run.files = list(outcome.files)
        if error is not None:
            run.error_code = error.code
            run.error_message = f"{error.message_zh} / {error.message_en}"[:4000]
        if sub is not None:
            sub.last_run_id = run.id
            if plan.physical and outcome.version_to is not None:
                sub.delivered_version = outcome.version_to
            if outcome.delivered:
                sub.delivered_at = at
                sub.source_time = outcome.source_time
            sub.last_error = run.error_message if error is not None else None
        write_audit(
            s,
            SYSTEM,
            AUDIT_DELIVER,
            target_type="subscription",
            target_id=plan.subscription_id,
            outcome=SUCCESS if status == RunStatus.SUCCEEDED else FAILURE,
            fields=plan.items,
            row_count=outcome.upserted,
            details={
                "run_id": run.id,
                "grant": plan.grant_code,
                "mode": plan.mode,
                "status": status.value,
                "version_from": outcome.version_from,
                "version_to": outcome.version_to,
                "deleted": outcome.deleted,
                "files": outcome.files,
                "masked": sorted(plan.masks),
                "error": error.code if error is not None else None,
            },
        )


def internal_error(exc: BaseException) -> GovDataError:
    return GovDataError(
        f"内部错误：{type(exc).__name__}: {exc}", f"Internal error: {type(exc).__name__}: {exc}"
    )


def run_delivery(
    db: Database,
    settings: Settings,
    subscription_id: str,
    *,
    run_id: str | None = None,
    job: JobRun | None = None,
    trigger: str = "now",
) -> RunResult | None:
    """One delivery of a subscription, start to end; None when there was nothing to do.

    A delivery error is recorded on the run and returned; anything unexpected is recorded
    and raised.
    """
    started = start_run(
        db,
        settings,
        subscription_id,
        run_id=run_id,
        job_id=job.id if job else None,
        trigger=trigger,
    )
    if started is None:
        return None
    if job is not None and (job.checkpoint or {}).get(RUN_KEY) != started.run_id:
        job.save_checkpoint({**(job.checkpoint or {}), RUN_KEY: started.run_id})
    if started.plan is None:
        return RunResult(started.run_id, RunStatus.FAILED.value, started.refused)
    outcome = Outcome()
    try:
        deliver(
            started.plan,
            db,
            settings,
            outcome,
            run_id=started.run_id,
            mirrored=started.mirrored,
            progress=job.progress if job is not None else None,
            should_stop=(lambda: job.cancelled() or job.stopping() or job.lost)
            if job is not None
            else None,
        )
    except Stopped:
        if job is not None and job.stopping() and not job.cancelled():
            # Hands the job back: the next attempt resumes this run.
            job.save_checkpoint({**(job.checkpoint or {}), RUN_KEY: started.run_id})
        finish_run(db, started, RunStatus.CANCELLED, outcome)
        return RunResult(started.run_id, RunStatus.CANCELLED.value)
    except (WorkerStopping, LeaseLost):
        raise
    except GovDataError as exc:
        finish_run(db, started, RunStatus.FAILED, outcome, exc)
        return RunResult(started.run_id, RunStatus.FAILED.value, exc)
    except Exception as exc:
        finish_run(db, started, RunStatus.FAILED, outcome, internal_error(exc))
        raise
    finish_run(db, started, RunStatus.SUCCEEDED, outcome)
    return RunResult(started.run_id, RunStatus.SUCCEEDED.value)


@job_handler(JOB_KIND)
def subscription_job(job: JobRun) -> dict[str, Any] | None:
    """One delivery of one subscription (see the module docstring)."""
    subscription_id = job.payload.get("subscription_id")
    if not isinstance(subscription_id, str) or not subscription_id:
        raise JobFailed("payload has no subscription_id")
    payload_run = job.payload.get("run_id")
    trigger = str(job.payload.get("trigger") or ("manual" if payload_run else "schedule"))
    if trigger == "change":
        # From now on a new commit queues a new delivery: this one may have read the lake
        # before that commit.
        with job.db.transaction(immediate=True) as s:
            release_trigger(s, job.id, subscription_id)
    run_id = (job.checkpoint or {}).get(RUN_KEY) or payload_run
    try:
        result = run_delivery(
            job.db, job.settings, subscription_id, run_id=run_id, job=job, trigger=trigger
        )
    except NotFound:
        # Deleted while the job waited.
        return {"subscription_id": subscription_id, "skipped": True}
    except Conflict as exc:
        if exc.code in RETRYABLE and job.attempt < job.max_attempts:
            raise RetryLater(f"{exc.code}: {exc.message_en}") from exc
        raise JobFailed(f"{exc.code}: {exc.message_en}") from exc
    if result is None:
        return {"subscription_id": subscription_id, "skipped": True}
    error = result.error
    if error is not None:
        if error.code in RETRYABLE and job.attempt < job.max_attempts:
            raise RetryLater(f"{error.code}: {error.message_en}") from error
        raise JobFailed(f"{error.code}: {error.message_en}") from error
    return {"subscription_id": subscription_id, "run_id": result.run_id, "status": result.status}


def deliver_now(db: Database, settings: Settings, subscription_id: str) -> str:
    """Run one delivery here and now, without the queue (tests, the demo); returns the run id.

    How it ended is on the run (a delivery error is recorded there, not raised). Raises
    ``sharing_subscription_paused`` for a paused subscription and
    ``sharing_subscription_busy`` while another delivery runs.
    """
    result = run_delivery(db, settings, subscription_id, trigger="now")
    if result is None:
        raise Conflict(
            "订阅已暂停，请先恢复",
            "The subscription is paused; resume it first",
            code="sharing_subscription_paused",
        )
    return result.run_id
