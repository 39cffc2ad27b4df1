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
