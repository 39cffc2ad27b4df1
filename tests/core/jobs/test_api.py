"""The jobs API: authentication, progress while running, listing, cancel and retry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.jobs.worker import Worker
from govdata.security.context_types import Actor
from govdata.security.permissions import Role, RoleGrant
from tests.core.jobs.conftest import OPERATOR, wait_for

REGION_OPERATOR = Actor(
    kind="user",
    id="00000000-0000-7000-8000-000000000002",
    name="region",
    grants=(RoleGrant(Role.REGION_OPERATOR, region_path="630000/630100"),),
)
DEPT_USER = Actor(
    kind="user",
    id="00000000-0000-7000-8000-000000000003",
    name="user",
    grants=(RoleGrant(Role.DEPT_USER, department_id="d1"),),
)


def test_anonymous_callers_get_401(client: TestClient, add_job: Callable[..., str]) -> None:
    job_id = add_job("core.noop")
    for method, path in [
        ("GET", "/api/v1/jobs"),
        ("GET", f"/api/v1/jobs/{job_id}"),
        ("POST", f"/api/v1/jobs/{job_id}/cancel"),
        ("POST", f"/api/v1/jobs/{job_id}/retry"),
        ("POST", "/api/v1/jobs"),
        ("GET", "/api/v1/job-queues"),
        ("GET", "/api/v1/job-schedules"),
    ]:
        resp = client.request(method, path, json={"kind": "core.noop"})
        assert resp.status_code == 401, (method, path)
        assert resp.json()["error"]["code"] == "not_authenticated"


def test_progress_is_visible_while_the_job_runs(
    acting: Callable[[Actor], TestClient],
    jdb: Database,
    jobs_settings: Settings,
    add_job: Callable[..., str],
    tmp_path: Path,
) -> None:
    api = acting(OPERATOR)
    job_id = add_job("test.steps", {"steps": 4, "sleep": 0.15, "log": str(tmp_path / "log")})
    worker = Worker(jdb, jobs_settings)
    worker.start()
    try:
        body = wait_for(
            lambda: (
                (b := api.get(f"/api/v1/jobs/{job_id}").json())["status"] == "running"
                and b["progress"]["done"] >= 1
                and b
            )
        )
        assert body["progress"]["total"] == 4
        assert body["progress"]["percent"] == 25.0 * body["progress"]["done"]
        assert body["progress"]["message"].startswith("step ")
        assert body["lease_owner"] and body["attempts"] == 1
        done = wait_for(
            lambda: (b := api.get(f"/api/v1/jobs/{job_id}").json())["status"] == "succeeded" and b
        )
    finally:
        worker.stop(grace=5)
    assert done["progress"] == {"done": 4, "total": 4, "message": "step 4 of 4", "percent": 100.0}
    assert done["result"] == {"steps": 4, "resumed_from": 0}


def test_list_filters_and_paginates(
    acting: Callable[[Actor], TestClient], add_job: Callable[..., str]
) -> None:
    api = acting(OPERATOR)
    ids = [add_job("core.noop") for _ in range(5)]
    add_job("test.record", {"log": "/dev/null"}, queue="other")
    page = api.get("/api/v1/jobs", params={"kind": "core.noop", "limit": 2}).json()
    assert page["total"] == 5 and len(page["items"]) == 2 and page["next_cursor"]
    seen = [j["id"] for j in page["items"]]
    while page["next_cursor"]:
        page = api.get(
            "/api/v1/jobs", params={"kind": "core.noop", "limit": 2, "cursor": page["next_cursor"]}
        ).json()
        seen += [j["id"] for j in page["items"]]
    assert seen == list(reversed(ids))
    other = api.get("/api/v1/jobs", params={"queue": "other"}).json()
    assert [j["kind"] for j in other["items"]] == ["test.record"]
    assert api.get("/api/v1/jobs", params={"status": "running"}).json()["total"] == 0
    bad = api.get("/api/v1/jobs", params={"status": "exploded"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_input"
    assert api.get("/api/v1/jobs/nope").status_code == 404


def test_enqueue_cancel_and_retry_through_the_api(
    acting: Callable[[Actor], TestClient], jdb: Database, jobs_settings: Settings
) -> None:
    api = acting(OPERATOR)
    body = {"kind": "test.fail", "idempotency_key": "api-1", "max_attempts": 1}
    created = api.post("/api/v1/jobs", json=body)
    assert created.status_code == 201
    job = created.json()
    assert job["status"] == "queued" and job["created_by"] == OPERATOR.id
    assert api.post("/api/v1/jobs", json=body).json()["id"] == job["id"]
    unknown = api.post("/api/v1/jobs", json={"kind": "no.such.kind"})
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_job_kind"

    Worker(jdb, jobs_settings).run_until_idle()
    dead = api.get(f"/api/v1/jobs/{job['id']}").json()
    assert dead["status"] == "dead" and "boom" in dead["last_error"]
    finished = api.post(f"/api/v1/jobs/{job['id']}/cancel")
    assert finished.status_code == 409 and finished.json()["error"]["code"] == "job_finished"

    again = api.post(f"/api/v1/jobs/{job['id']}/retry").json()
    assert again["status"] == "queued" and again["attempts"] == 0
    cancelled = api.post(f"/api/v1/jobs/{job['id']}/cancel").json()
    assert cancelled["status"] == "cancelled"
    assert Worker(jdb, jobs_settings).run_until_idle() == 0


def test_queue_limits_and_schedules_through_the_api(
    acting: Callable[[Actor], TestClient], add_job: Callable[..., str]
) -> None:
    api = acting(OPERATOR)
    add_job("core.noop", queue="loads")
    resp = api.put("/api/v1/job-queues", json={"name": "loads", "concurrency": 2})
    assert resp.status_code == 200
    assert resp.json() == {
        "name": "loads",
        "concurrency": 2,
        "paused": False,
        "queued": 1,
        "running": 0,
    }
    queues = {q["name"]: q for q in api.get("/api/v1/job-queues").json()}
    assert queues["loads"]["concurrency"] == 2
    sched = api.put(
        "/api/v1/job-schedules", json={"name": "nightly", "cron": "0 2 * * *", "kind": "core.noop"}
    )
    assert sched.status_code == 200
    assert sched.json()["next_run_at"].endswith(("18:00:00Z", "18:00:00+00:00"))
    bad = api.put(
        "/api/v1/job-schedules", json={"name": "bad", "cron": "every day", "kind": "core.noop"}
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_cron"
    assert [s["name"] for s in api.get("/api/v1/job-schedules").json()] == ["nightly"]


def test_permissions(acting: Callable[[Actor], TestClient], add_job: Callable[..., str]) -> None:
    others = add_job("core.noop")
    mine = add_job("core.noop", created_by=REGION_OPERATOR.id)
    api = acting(DEPT_USER)
    assert api.get("/api/v1/jobs").status_code == 403
    assert api.get(f"/api/v1/jobs/{others}").status_code == 403
    api = acting(REGION_OPERATOR)
    listed = api.get("/api/v1/jobs").json()
    assert [j["id"] for j in listed["items"]] == [mine] and listed["total"] == 1
    assert api.get(f"/api/v1/jobs/{mine}").status_code == 200
    assert api.get(f"/api/v1/jobs/{others}").status_code == 404
    denied = api.post(f"/api/v1/jobs/{mine}/cancel")
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "permission_denied"
    assert api.get("/api/v1/job-queues").status_code == 403
    assert api.get(f"/api/v1/jobs/{mine}").json()["status"] == "queued"


def test_changes_are_audited_once(acting: Callable[[Actor], TestClient], jdb: Database) -> None:
    from sqlalchemy import select

    from govdata.security.models import AuditRecord

    api = acting(OPERATOR)
    body = {"kind": "core.noop", "idempotency_key": "audit-1"}
    job_id = api.post("/api/v1/jobs", json=body).json()["id"]
    api.post("/api/v1/jobs", json=body)
    api.post(f"/api/v1/jobs/{job_id}/cancel")
    acting(DEPT_USER).post(f"/api/v1/jobs/{job_id}/cancel")
    with jdb.transaction() as s:
        rows = s.scalars(select(AuditRecord).order_by(AuditRecord.at, AuditRecord.id)).all()
        trail = [(r.action, r.actor_name, r.target_id, r.outcome) for r in rows]
    assert trail == [
        ("job.enqueue", "op", job_id, "success"),
        ("job.cancel", "op", job_id, "success"),
        ("job.manage", "user", job_id, "denied"),
    ]
