"""Health probes, the error envelope, and settings the process starts with."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from govdata.app import create_app
from govdata.config import Settings


def test_healthz_and_readyz_on_a_migrated_store(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_readyz_is_503_before_migration(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, embedded_worker=False)
    with TestClient(create_app(settings, migrate=False)) as client:
        assert client.get("/healthz").status_code == 200
        resp = client.get("/readyz")
        assert resp.status_code == 503 and resp.json()["reason"] == "not_migrated"


def test_readyz_is_503_when_the_store_is_unreachable(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url="postgresql://postgres@127.0.0.1:1/none?connect_timeout=1",
        embedded_worker=False,
    )
    with TestClient(create_app(settings, migrate=False)) as client:
        resp = client.get("/readyz")
        assert resp.status_code == 503 and resp.json()["reason"] == "store_unreachable"


def test_a_server_that_migrates_its_store_ensures_the_standing_schedules(
    settings: Settings,
) -> None:
    from sqlalchemy import select

    from govdata.core.db import Database
    from govdata.core.jobs.models import JobSchedule

    with TestClient(create_app(settings)):
        pass
    db = Database(settings.db_url)
    try:
        with db.transaction() as s:
            assert "sharing.sweep" in set(s.scalars(select(JobSchedule.name)))
    finally:
        db.dispose()


def test_unknown_route_uses_the_error_envelope(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        body = client.get("/api/v1/no-such-thing").json()
        assert body == {
            "error": {"code": "not_found", "message": "请求的资源不存在", "details": None}
        }
        english = client.get(
            "/api/v1/no-such-thing", headers={"cookie": "govdata_locale=en"}
        ).json()
        assert english["error"]["message"] == "Not found"


def test_openapi_is_served(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        spec = client.get("/api/v1/openapi.json").json()
        assert spec["info"]["title"] == "GovData API"


def test_embedded_defaults_need_no_configuration(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("GOVDATA_DATA_DIR", "GOVDATA_DATABASE_URL", "GOVDATA_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    s = Settings()
    assert s.db_url == f"sqlite:///{(tmp_path / 'data' / 'govdata.db').resolve()}"
    key = s.resolved_secret_key()
    assert len(key) >= 32 and s.resolved_secret_key() == key
    assert (tmp_path / "data" / "secret.key").stat().st_mode & 0o077 == 0


def test_unknown_page_for_a_browser_is_the_portal_404(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        resp = client.get("/no/such/page", headers={"accept": "text/html"})
        assert resp.status_code == 404
        assert resp.headers["content-type"].startswith("text/html")
        assert "一体化政务大数据平台" in resp.text


def test_api_errors_follow_the_signed_in_users_language(settings: Settings) -> None:
    from govdata.core.db import Database
    from govdata.identity import actions, auth
    from govdata.identity.models import User
    from govdata.identity.schemas import RoleAssignmentIn, UserCreate
    from govdata.security.context import Caller
    from govdata.security.context_types import SYSTEM

    settings = settings.model_copy(update={"argon2_time_cost": 1, "argon2_memory_kib": 1024})
    db = Database(settings.db_url)
    with Caller(db, settings, SYSTEM).act() as ctx:
        out = actions.create_user(
            ctx,
            UserCreate(
                username="english_auditor",
                display_name="Auditor",
                password="Audit@2026xyz",
                locale="en",
                roles=[RoleAssignmentIn(role="auditor")],
            ),
        )
    with db.sessions() as s:
        user = s.get(User, out.id)
        assert user is not None
        token = auth.issue_access_token(settings, user)[0]
    db.dispose()
    with TestClient(create_app(settings)) as client:
        resp = client.post(
            "/api/v1/regions",
            json={"code": "630000", "name": "青海省"},
            headers={"authorization": f"Bearer {token}"},
        )
        assert resp.status_code == 403
        assert resp.json()["error"]["message"] == "Permission denied"
