"""Input and output shapes of the job queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

JobStatus = Literal["queued", "running", "succeeded", "failed", "dead", "cancelled"]
NAME_PATTERN = r"^[a-z0-9][a-z0-9_.:-]*$"


class JobProgress(BaseModel):
    done: int
    total: int | None
    message: str | None
    # None while the total is unknown.
    percent: float | None


class JobOut(BaseModel):
    id: str
    kind: str
    queue: str
    status: JobStatus
    payload: dict[str, Any]
    idempotency_key: str | None
    attempts: int
    max_attempts: int
    run_after: datetime
    progress: JobProgress
    result: dict[str, Any] | None
    last_error: str | None
    cancel_requested: bool
    lease_owner: str | None
    lease_expires_at: datetime | None
    heartbeat_at: datetime | None
    created_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    schedule_id: str | None


class JobPage(BaseModel):
    items: list[JobOut]
    total: int
    next_cursor: str | None


class JobEnqueue(BaseModel):
    kind: str = Field(min_length=1, max_length=128, pattern=NAME_PATTERN)
    queue: str = Field(default="default", min_length=1, max_length=64, pattern=NAME_PATTERN)
    payload: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=255)
    # None means the node's default (Settings.job_max_attempts).
    max_attempts: int | None = Field(default=None, ge=1, le=100)
    run_after: AwareDatetime | None = None


class QueueConfig(BaseModel):
    name: str = Field(min_length=1, max_length=64, pattern=NAME_PATTERN)
    concurrency: int = Field(ge=1, le=10000)
    paused: bool = False


class QueueOut(BaseModel):
    name: str
    # None: no limit configured.
    concurrency: int | None
    paused: bool
    queued: int
    running: int


class ScheduleIn(BaseModel):
    name: str = Field(min_length=1, max_length=128, pattern=NAME_PATTERN)
    cron: str = Field(min_length=1, max_length=128)
    kind: str = Field(min_length=1, max_length=128, pattern=NAME_PATTERN)
    queue: str = Field(default="default", min_length=1, max_length=64, pattern=NAME_PATTERN)
    payload: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True


class ScheduleOut(BaseModel):
    id: str
    name: str
    cron: str
    kind: str
    queue: str
    payload: dict[str, Any]
    enabled: bool
    next_run_at: datetime
    last_run_at: datetime | None
