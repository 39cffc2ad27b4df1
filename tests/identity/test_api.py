"""The identity REST API over real requests: tokens, /me, envelopes, scopes, audit."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from govdata.app import create_app
from govdata.config import Settings
from govdata.identity import api as identity_api
from tests.identity.conftest import PASSWORD, Org, audit_rows, count, credit_code


@pytest.fixture
def client(org: Org) -> Iterator[TestClient]:
    with TestClient(create_app(org.settings)) as c:
        yield c


def bearer(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    return {"Authorization": f"Bearer {body['access_token']}"}


def test_token_and_me(client: TestClient, org: Org) -> None:
    me = client.get("/api/v1/me", headers=bearer(client, "xn_officer"))
    assert me.status_code == 200
    body = me.json()
    assert body["username"] == "xn_officer" and body["locale"] == "zh_CN"
    assert body["roles"] == [
        {"role": "dept_officer", "region_code": None, "department_id": org.dept["xn_stats"]}
    ]
    assert body["department"] == {
        "id": org.dept["xn_stats"],
        "code": "xn_stats",
        "name": "西宁市统计局",
    }
    assert body["region"] == {"code": "630100", "name": "西宁市", "path": "630000/630100"}
    assert audit_rows(org.db, "auth.token_issue")[-1]["actor_name"] == "xn_officer"


def test_token_refusals(client: TestClient) -> None:
    r = client.post("/api/v1/auth/token", json={"username": "xn_clerk", "password": "nope"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_credentials"
    assert r.headers["www-authenticate"] == "Bearer"
    r = client.post("/api/v1/auth/token", json={"username": "operator", "password": PASSWORD})
    assert r.status_code == 403 and r.json()["error"]["code"] == "mfa_enrollment_required"
    r = client.get("/api/v1/me", headers={"Authorization": "Bearer junk"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"


def test_demo_mode_lets_the_operator_in(org: Org, settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"demo_mode": True}))) as c:
        headers = bearer(c, "operator")
        r = c.post(
            "/api/v1/regions",
            json={"code": "630105", "name": "城北区", "parent_code": "630100"},
            headers=headers,
        )
        assert r.status_code == 201 and r.json()["path"] == "630000/630100/630105"
        r = c.post(
            "/api/v1/regions", json={"code": "630106", "name": "x", "parent_code": "639900"},
            headers=headers,
        )  # fmt: skip
        assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_region"
        roles = c.get("/api/v1/roles", headers=headers).json()
        assert roles["total"] == 6 and {"items", "total", "next_cursor"} <= set(roles)


def _identity_routes() -> list[tuple[str, str]]:
    found = []
    for route in identity_api.router.routes:
        assert isinstance(route, APIRoute)
        if route.path == "/auth/token":
            continue
        path = "/api/v1" + re.sub(r"\{[^}]+\}", "some-id", route.path)
        found.extend((method, path) for method in sorted(route.methods))
    return found


def test_anonymous_gets_401_everywhere(client: TestClient) -> None:
    routes = _identity_routes()
    assert len(routes) > 25
    for method, path in routes:
        r = client.request(method, path, json={})
        assert r.status_code == 401, (method, path, r.text)
        assert r.json()["error"]["code"] == "not_authenticated"


def test_malformed_json_gets_the_422_envelope(client: TestClient) -> None:
    headers = {"Content-Type": "application/json"}
    r = client.post("/api/v1/auth/token", content=b"{not json", headers=headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"
    auth_headers = bearer(client, "xn_admin") | headers
    r = client.post("/api/v1/departments", content=b'{"code": ', headers=auth_headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"


def test_departments_and_users_over_http(client: TestClient, org: Org) -> None:
    headers = bearer(client, "xn_admin")
    dept = {"code": "cd_edu", "name": "城东区教育局", "credit_code": credit_code(70)}
    r = client.post("/api/v1/departments", json=dept | {"region_code": "639999"}, headers=headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_region"
    bad_uscc = dept | {"credit_code": "91630000MA7XXXXXX1", "region_code": "630102"}
    r = client.post("/api/v1/departments", json=bad_uscc, headers=headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_uscc"
    before = count(org.db, "departments")
    r = client.post("/api/v1/departments", json=dept | {"region_code": "630102"}, headers=headers)
    assert r.status_code == 201
    dept_id = r.json()["id"]
    assert count(org.db, "departments") == before + 1
    r = client.patch(
        f"/api/v1/departments/{dept_id}", json={"short_name": "教育局"}, headers=headers
    )
    assert r.status_code == 200 and r.json()["short_name"] == "教育局"
    r = client.patch(
        f"/api/v1/departments/{org.dept['hx_stats']}", json={"short_name": "x"}, headers=headers
    )
    assert r.status_code == 403
    listed = client.get("/api/v1/departments", params={"limit": 2}, headers=headers).json()
    assert listed["total"] == 3 and len(listed["items"]) == 2 and listed["next_cursor"]
    rest = client.get(
        "/api/v1/departments", params={"limit": 2, "cursor": listed["next_cursor"]}, headers=headers
    ).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None

    user = {
        "username": "cd_teacher", "display_name": "老师", "password": PASSWORD,
        "department_id": dept_id, "roles": [{"role": "dept_user"}],
    }  # fmt: skip
    r = client.post("/api/v1/users", json=user, headers=headers)
    assert r.status_code == 201
    user_id = r.json()["id"]
    r = client.post("/api/v1/users", json=user, headers=headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "username_taken"
    r = client.post(
        "/api/v1/users", json=user | {"username": "weakling", "password": "abc"}, headers=headers
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "weak_password"
    assert r.json()["error"]["details"]["reasons"] == ["too_short", "too_few_character_classes"]
    r = client.post(f"/api/v1/users/{user_id}/roles", json={"role": "auditor"}, headers=headers)
    assert r.status_code == 403
    for step in ("disable", "enable", "unlock", "reset-totp"):
        r = client.post(f"/api/v1/users/{user_id}/{step}", headers=headers)
        assert r.status_code == 200, (step, r.text)
    r = client.post(
        f"/api/v1/users/{user_id}/reset-password", json={"new_password": "Fresh!pass123"},
        headers=headers,
    )  # fmt: skip
    assert r.status_code == 200
    teacher = bearer(client, "cd_teacher", "Fresh!pass123")
    r = client.patch("/api/v1/me", json={"locale": "en"}, headers=teacher)
    assert r.json()["locale"] == "en"
    r = client.get("/api/v1/users", params={"q": "teacher"}, headers=headers).json()
    assert [u["username"] for u in r["items"]] == ["cd_teacher"] and r["total"] == 1
    assert {a["action"] for a in _audit_for(org, user_id)} >= {
        "user.create", "user.role_assign", "user.disable", "user.enable", "user.unlock",
        "user.totp_reset", "user.password_reset", "user.locale",
    }  # fmt: skip


def _audit_for(org: Org, target_id: str) -> list[dict[str, object]]:
    from sqlalchemy import text

    with org.db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT action, outcome FROM audit_records WHERE target_id = :t"),
            {"t": target_id},
        )
        return [dict(r._mapping) for r in rows]


def test_app_credential_over_http(client: TestClient, org: Org) -> None:
    officer = bearer(client, "xn_officer")
    r = client.post(
        "/api/v1/credentials",
        json={
            "name": "报送",
            "department_code": "xn_stats",
            "scopes": ["department.read"],
            "days": 7,
        },
        headers=officer,
    )
    assert r.status_code == 201
    token, cred_id = r.json()["token"], r.json()["credential"]["id"]
    app = {"Authorization": f"Bearer {token}"}
    r = client.get("/api/v1/departments", headers=app)
    assert r.status_code == 200 and [d["code"] for d in r.json()["items"]] == ["xn_stats"]
    assert client.get("/api/v1/users", headers=app).status_code == 403
    listed = client.get("/api/v1/credentials", headers=officer).json()
    assert listed["total"] == 1 and "token" not in listed["items"][0]
    assert client.post(f"/api/v1/credentials/{cred_id}/revoke", headers=officer).status_code == 200
    r = client.get("/api/v1/departments", headers=app)
    assert r.status_code == 401 and r.json()["error"]["code"] == "credential_revoked"


def test_totp_over_http(client: TestClient) -> None:
    import pyotp

    headers = bearer(client, "xn_clerk")
    enrolment = client.post("/api/v1/me/totp", headers=headers).json()
    code = pyotp.TOTP(enrolment["secret"])
    r = client.post("/api/v1/me/totp/confirm", json={"code": code.now()}, headers=headers)
    assert r.status_code == 200 and r.json()["totp_enabled"] is True
    r = client.post("/api/v1/auth/token", json={"username": "xn_clerk", "password": PASSWORD})
    assert r.status_code == 401 and r.json()["error"]["code"] == "otp_required"
    r = client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "Changed!pw99"},
        headers=headers,
    )
    assert r.status_code == 204
    assert client.get("/api/v1/me", headers=headers).json()["error"]["code"] == "token_revoked"
