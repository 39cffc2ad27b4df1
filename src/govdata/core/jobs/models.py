"""Job queue tables: jobs, per-queue limits, cron schedules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from govdata.core.clock import now
from govdata.core.db import Base, IdMixin

QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
DEAD = "dead"
CANCELLED = "cancelled"
STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED, DEAD, CANCELLED)
FINISHED = frozenset({SUCCEEDED, FAILED, DEAD, CANCELLED})
DEFAULT_QUEUE = "default"

# Predicates of the partial indexes. A query uses one only when it spells the
# status as the same literal (``queue._status_is``), not as a bound parameter.
IS_QUEUED = f"status = '{QUEUED}'"
IS_RUNNING = f"status = '{RUNNING}'"


def _only(predicate: str) -> dict[str, Any]:
    return {"postgresql_where": text(predicate), "sqlite_where": text(predicate)}


class Job(IdMixin, Base):
    """One unit of background work.

    A job is runnable when it is ``running`` with an expired lease (its worker
    died: the next worker resumes it from ``checkpoint``), or ``queued`` and
    due (``run_after`` has passed). ``attempts`` counts claims.
    """

    __tablename__ = "jobs"
    # Finished jobs, nearly every row in time, are in neither partial index,
    # so a claim reads the same few index entries whatever the table holds:
    # the queued index in claim order, the running one for expired leases
    # (and per-queue running counts). The running index leaves the lease and
    # progress columns unindexed, so heartbeats and progress reports can be
    # HOT updates on PostgreSQL. Otherwise only the job list's order is
    # indexed: every claim and finish rewrites the row and so adds an entry
    # to each index on the table.
    __table_args__ = (
        Index("ix_jobs_queued", "run_after", "id", **_only(IS_QUEUED)),
        Index("ix_jobs_running", "queue", **_only(IS_RUNNING)),
        Index("ix_jobs_created", "created_at", "id"),
    )

    kind: Mapped[str] = mapped_column(String(128))
    queue: Mapped[str] = mapped_column(String(64), default=DEFAULT_QUEUE)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    run_after: Mapped[datetime] = mapped_column(default=now)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column()
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    progress_message: Mapped[str | None] = mapped_column(String(500))
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_error: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=now)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    schedule_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("job_schedules.id", ondelete="SET NULL")
    )


class JobQueue(Base):
    """Limits of one queue. A queue without a row here is unlimited and never paused."""

    __tablename__ = "job_queues"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    # How many of this queue's jobs may run at once across all workers.
    concurrency: Mapped[int] = mapped_column(Integer)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)


class JobSchedule(IdMixin, Base):
    """A cron expression (in the node's display time zone) that enqueues a job when due."""

    __tablename__ = "job_schedules"
    __table_args__ = (Index("ix_job_schedules_due", "enabled", "next_run_at"),)

    name: Mapped[str] = mapped_column(String(128), unique=True)
    cron: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(128))
    queue: Mapped[str] = mapped_column(String(64), default=DEFAULT_QUEUE)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    next_run_at: Mapped[datetime] = mapped_column()
    last_run_at: Mapped[datetime | None] = mapped_column()
