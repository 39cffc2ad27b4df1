"""The jobs page: list with status filter, rows that poll while running, cancel."""

from __future__ import annotations

from fastapi.testclient import TestClient

from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.jobs import actions
from govdata.core.jobs.schemas import JobEnqueue
from govdata.identity.auth import actor_for_user
from govdata.identity.models import User
from govdata.security.context import Caller
from tests.web.conftest import Seed, login


def _enqueue(db: Database, settings: Settings, seeded: Seed) -> str:
    with db.transaction() as s:
        operator = actor_for_user(s.get(User, seeded.users["operator1"]))
    with Caller(db, settings, operator).act() as ctx:
        job = actions.enqueue_job(ctx, JobEnqueue(kind="core.noop"))
    return job.id


def test_jobs_list_polls_unfinished_rows_and_cancels(
    client: TestClient, db: Database, portal_settings: Settings, seeded: Seed
) -> None:
    job_id = _enqueue(db, portal_settings, seeded)
    token = login(client, "operator1")
    page = client.get("/jobs").text
    assert f'hx-get="/jobs/{job_id}/row"' in page
    assert "排队中" in page

    row = client.get(f"/jobs/{job_id}/row")
    assert row.status_code == 200
    assert row.text.lstrip().startswith(f'<tr id="job-{job_id}"')

    cancelled = client.post(
        f"/jobs/{job_id}/cancel", headers={"HX-Request": "true", "X-CSRF-Token": token}
    )
    assert cancelled.status_code == 200
    assert 'data-job-status="cancelled"' in cancelled.text
    assert "hx-get" not in cancelled.text  # a finished row stops polling

    assert job_id in client.get("/jobs?status=cancelled").text
    assert job_id not in client.get("/jobs?status=queued").text
    detail = client.get(f"/jobs/{job_id}").text
    assert "已取消" in detail


def test_jobs_page_is_refused_without_job_read(client: TestClient) -> None:
    login(client, "deptuser1")
    assert client.get("/jobs").status_code == 403
