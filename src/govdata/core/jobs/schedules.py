"""Cron schedules: each due time enqueues exactly one job, however many workers look.

The job's idempotency key is the schedule id plus the due time, so two
workers that both see a schedule due create one job between them. Missed
runs (the node was down) are caught up once, not once per missed slot.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from croniter import croniter
from sqlalchemy import exists, select

from govdata.config import Settings
from govdata.core.clock import DISPLAY_TZ, as_utc, now
from govdata.core.db import Database
from govdata.core.jobs import queue, registry
from govdata.core.jobs.models import JobSchedule


def valid_cron(expr: str) -> bool:
    return bool(croniter.is_valid(expr))


def next_run(expr: str, after: datetime, tz: ZoneInfo = DISPLAY_TZ) -> datetime:
    """The first time strictly after ``after`` matching ``expr`` read in ``tz``; returned in UTC."""
    start = after.astimezone(tz)
    nxt: datetime = croniter(expr, start).get_next(datetime)
    return as_utc(nxt)


def schedule_key(schedule_id: str, due: datetime) -> str:
    return f"schedule:{schedule_id}:{as_utc(due).isoformat()}"


def run_due(db: Database, settings: Settings, at: datetime | None = None) -> list[str]:
    """Enqueue a job for every enabled schedule that is due at ``at``; returns the new job ids."""
    t = at or now()
    due_filter = (JobSchedule.enabled.is_(True), JobSchedule.next_run_at <= t)
    # A cheap read first: the write lock below is only taken when something is due.
    with db.transaction() as s:
        if not s.scalar(select(exists().where(*due_filter))):
            return []
    created: list[str] = []
    with db.transaction(immediate=True) as s:
        due = s.scalars(
            select(JobSchedule)
            .where(*due_filter)
            .order_by(JobSchedule.next_run_at)
            .with_for_update(skip_locked=True)
        ).all()
        for sched in due:
            job, new = queue.enqueue(
                s,
                sched.kind,
                dict(sched.payload or {}),
                max_attempts=settings.job_max_attempts,
                queue=sched.queue,
                idempotency_key=schedule_key(sched.id, sched.next_run_at),
                schedule_id=sched.id,
            )
            if new:
                created.append(job.id)
            sched.last_run_at = sched.next_run_at
            sched.next_run_at = next_run(sched.cron, t)
    return created


def ensure_standing(db: Database) -> list[str]:
    """Create the standing schedules of the loaded handler modules that the store lacks, first
    due at their next cron slot; returns the names created."""
    created: list[str] = []
    with db.transaction(immediate=True) as s:
        for std in registry.standing_schedules():
            if s.scalar(select(JobSchedule.id).where(JobSchedule.name == std.name)) is None:
                s.add(
                    JobSchedule(
                        name=std.name,
                        cron=std.cron,
                        kind=std.kind,
                        payload={},
                        next_run_at=next_run(std.cron, now()),
                    )
                )
                created.append(std.name)
    return created
