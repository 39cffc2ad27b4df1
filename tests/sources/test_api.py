"""The sources API over HTTP: a registered password never comes back, in any response, audit
record or stored column; uploads and discovery through multipart and JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from govdata.app import create_app
from govdata.config import Settings
from govdata.core.db import Database
from govdata.identity import auth
from govdata.identity.models import User
from tests.catalog.conftest import org, settings
from tests.exchange.sourcedb import mariadb_db
from tests.identity.conftest import Org
from tests.sources.test_actions import PASSWORD, mariadb_user

__all__ = ["org", "settings"]


@pytest.fixture
def client(settings: Settings, org: Org) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def bearer(db: Database, settings: Settings, username: str) -> dict[str, str]:
    with db.sessions() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        return {"authorization": f"Bearer {auth.issue_access_token(settings, user)[0]}"}


def test_the_password_never_leaves_the_server(
    client: TestClient, org: Org, db: Database, settings: Settings
) -> None:
    officer = bearer(db, settings, "xn_officer")
    seen: list[str] = []

    def call(method: str, url: str, **kw: Any) -> Any:
        resp = client.request(method, url, headers=officer, **kw)
        seen.append(resp.text)
        assert resp.status_code < 300, resp.text
        return resp.json() if resp.content else None

    with mariadb_db() as src_db, mariadb_user(src_db) as user:
        src_db.execute("CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(20))")
        src_db.execute("INSERT INTO people VALUES (1, '张三')")
        body = {
            "kind": "mariadb",
            "name": "民政业务库",
            "config": {**src_db.config(), "user": user},
            "secret": {"password": PASSWORD},
        }
        created = call("POST", "/api/v1/sources", json=body)
        sid = created["id"]
        assert created["secret_keys"] == ["password"] and "secret" not in created
        assert call("POST", f"/api/v1/sources/{sid}/test")["status"] == "ok"
        call("GET", f"/api/v1/sources/{sid}")
        call("GET", "/api/v1/sources")
        call("GET", f"/api/v1/sources/{sid}/tables")
        assert call("GET", f"/api/v1/sources/{sid}/preview?table=people")["rows"] == [[1, "张三"]]
        call("GET", f"/api/v1/sources/{sid}/proposals?table=people")
        call("PATCH", f"/api/v1/sources/{sid}", json={"secret": {"password": "Wrong-pw-42"}})
        failed = call("POST", f"/api/v1/sources/{sid}/test")
        assert failed["error_code"] == "source_auth_failed"
        call("GET", f"/api/v1/sources/{sid}")
        # Errors too: a refused preview and a malformed update.
        resp = client.get(f"/api/v1/sources/{sid}/preview?table=people", headers=officer)
        seen.append(resp.text)
        assert resp.json()["error"]["code"] == "source_auth_failed"
        resp = client.patch(
            f"/api/v1/sources/{sid}", headers=officer, json={"secret": {"pass": PASSWORD}}
        )
        seen.append(resp.text)
        assert resp.status_code == 422
    for secret in (PASSWORD, "Wrong-pw-42"):
        assert all(secret not in t for t in seen), secret
    with db.engine.connect() as conn:
        audit = conn.execute(text("SELECT * FROM audit_records")).mappings().all()
        row = (
            conn.execute(text("SELECT * FROM source_systems WHERE id = :i"), {"i": sid})
            .mappings()
            .one()
        )
    assert audit and all(PASSWORD not in json.dumps(dict(r), default=str) for r in audit)
    plain = {k: v for k, v in row.items() if k != "secret"}
    assert PASSWORD not in json.dumps(plain, default=str)
    assert "Wrong-pw-42" not in json.dumps(plain, default=str)
    assert PASSWORD not in row["secret"] and row["secret"].startswith("gd2.")


def test_upload_then_discover_over_http(
    client: TestClient, org: Org, db: Database, settings: Settings
) -> None:
    officer = bearer(db, settings, "xn_officer")
    sid = client.post(
        "/api/v1/sources", headers=officer, json={"kind": "file", "name": "上报文件"}
    ).json()["id"]
    csv = "id,name,phone\n1,张三,13912345678\n2,李四,13887654321\n"
    resp = client.post(
        f"/api/v1/sources/{sid}/files",
        headers=officer,
        files={"file": ("people.csv", csv.encode(), "text/csv")},
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["file_name"] == "people.csv"
    tables = client.get(f"/api/v1/sources/{sid}/tables", headers=officer).json()["tables"]
    assert [(t["name"], [c["name"] for c in t["columns"]]) for t in tables] == [
        ("people.csv", ["id", "name", "phone"])
    ]
    assert tables[0]["schema"] is not None
    other = bearer(db, settings, "hx_officer")
    resp = client.get(f"/api/v1/sources/{sid}", headers=other)
    assert (resp.status_code, resp.json()["error"]["code"]) == (404, "source_not_found")
    operator = bearer(db, settings, "operator")
    resp = client.get(f"/api/v1/sources/{sid}/preview?table=people.csv", headers=operator)
    assert (resp.status_code, resp.json()["error"]["code"]) == (403, "permission_denied")
    assert client.post(f"/api/v1/sources/{sid}/test", headers=operator).json()["status"] == "ok"
    assert client.delete(f"/api/v1/sources/{sid}", headers=officer).status_code == 204
