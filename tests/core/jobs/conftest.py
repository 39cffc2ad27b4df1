"""Fixtures for the job queue: fast leases and polls, the test handlers, helpers to wait."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from govdata.app import create_app
from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.jobs import queue
from govdata.core.jobs.models import Job
from govdata.core.jobs.registry import load_handlers
from govdata.security.context import Caller
from govdata.security.context_types import Actor
from govdata.security.permissions import Role, RoleGrant
from govdata.web import deps
from tests.core.jobs import handlers

OPERATOR = Actor(
    kind="user",
    id="00000000-0000-7000-8000-000000000001",
    name="op",
    grants=(RoleGrant(Role.OPERATOR),),
)


@pytest.fixture
def jobs_settings(settings: Settings) -> Settings:
    load_handlers(handlers.MODULE)
    return settings.model_copy(
        update={
            "job_lease_seconds": 1.0,
            "job_poll_seconds": 0.05,
            "job_backoff_seconds": 0.2,
            "job_max_attempts": 3,
            "job_handler_modules": handlers.MODULE,
        }
    )


@pytest.fixture
def jdb(jobs_settings: Settings) -> Iterator[Database]:
    database = Database(jobs_settings.db_url)
    yield database
    database.dispose()


@pytest.fixture
def add_job(jdb: Database, jobs_settings: Settings) -> Callable[..., str]:
    def add(kind: str, payload: dict[str, Any] | None = None, **kw: Any) -> str:
        kw.setdefault("max_attempts", jobs_settings.job_max_attempts)
        with jdb.transaction() as s:
            job, _ = queue.enqueue(s, kind, payload, **kw)
            return job.id

    return add


@pytest.fixture
def load(jdb: Database) -> Callable[[str], Job]:
    def get(job_id: str) -> Job:
        with jdb.transaction() as s:
            job = s.get(Job, job_id)
            assert job is not None
            return job

    return get


def all_jobs(db: Database) -> list[Job]:
    with db.transaction() as s:
        return list(s.scalars(select(Job).order_by(Job.created_at, Job.id)))


def wait_for(check: Callable[[], Any], timeout: float = 15.0, every: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {value!r})")
        time.sleep(every)


@pytest.fixture
def client(jobs_settings: Settings) -> Iterator[TestClient]:
    """An app client with real authentication (no credentials: anonymous)."""
    with TestClient(create_app(jobs_settings, migrate=False)) as c:
        yield c


@pytest.fixture
def acting(client: TestClient, jobs_settings: Settings) -> Callable[[Actor], TestClient]:
    """Make ``client`` act as a given actor; identity's login is tested elsewhere."""

    def use(actor: Actor) -> TestClient:
        db = client.app.state.db  # type: ignore[attr-defined]
        client.app.dependency_overrides[deps.caller] = (  # type: ignore[attr-defined]
            lambda: Caller(db, jobs_settings, actor, "testclient")
        )
        return client

    return use
