"""Signing in and out, session cookies, idle timeout, CSRF, TOTP at login."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from govdata.app import create_app
from govdata.config import Settings
from govdata.core.clock import now
from govdata.core.db import Database
from govdata.identity import actions, auth
from govdata.identity.models import User, WebSession
from govdata.identity.schemas import TotpConfirm
from govdata.security.context import Caller
from govdata.security.models import AuditRecord
from tests.web.conftest import PASSWORD, Seed, csrf_from, login


def test_anonymous_pages_redirect_to_login(client: TestClient) -> None:
    assert client.get("/").headers["location"] == "/login"
    response = client.get("/admin/users?q=ab")
    assert response.status_code == 303
    target = urlparse(response.headers["location"])
    assert target.path == "/login"
    assert parse_qs(target.query)["next"] == ["/admin/users?q=ab"]
    # htmx requests are told to reload the whole page instead of swapping a login form in.
    partial = client.get("/jobs", headers={"HX-Request": "true"})
    assert partial.status_code == 204
    assert partial.headers["HX-Redirect"].startswith("/login?next=")


def test_login_sets_a_secure_session_cookie_and_logout_ends_it(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    assert "用户名" in page.text
    response = client.post(
        "/login",
        data={
            "username": "operator1",
            "password": PASSWORD,
            "next": "/admin/regions",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/regions"
    set_cookie = next(
        v for v in response.headers.get_list("set-cookie") if v.startswith("govdata_session=")
    )
    assert "HttpOnly" in set_cookie
    assert "SameSite=lax" in set_cookie or "SameSite=Lax" in set_cookie
    assert "Path=/" in set_cookie

    workbench = client.get("/workbench")
    assert workbench.status_code == 200
    assert "测试operator1" in workbench.text
    assert client.get("/login").headers["location"] == "/workbench"

    session_cookie = client.cookies["govdata_session"]
    out = client.post("/logout", data={"csrf_token": csrf_from(workbench.text)})
    assert out.status_code == 303
    assert out.headers["location"] == "/login"
    assert client.get("/login").text.count("您已安全退出") == 1
    # The old cookie no longer opens anything, even if a client keeps sending it.
    client.cookies.set("govdata_session", session_cookie)
    assert client.get("/workbench").status_code == 303


def test_wrong_password_is_shown_in_the_form(client: TestClient) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": "operator1", "password": "nope", "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert 'value="operator1"' in response.text
    assert "govdata_session" not in response.cookies


def test_login_without_the_presession_token_is_refused(client: TestClient) -> None:
    client.get("/login")
    response = client.post("/login", data={"username": "operator1", "password": PASSWORD})
    assert response.status_code == 403
    assert "请求校验失败" in response.text
    forged = client.post(
        "/login", data={"username": "operator1", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert forged.status_code == 403
    assert "govdata_session" not in client.cookies


def test_state_changes_need_the_session_csrf_token(client: TestClient, db: Database) -> None:
    token = login(client, "operator1")
    region = {"code": "630200", "name": "海东市", "parent_code": "630000"}
    assert client.post("/admin/regions", data=region).status_code == 403
    wrong = client.post("/admin/regions", data={**region, "csrf_token": token[:-2] + "xx"})
    assert wrong.status_code == 403
    assert "请求校验失败" in wrong.text
    assert "630200" not in client.get("/admin/regions").text
    # The header that htmx sends works as well as the hidden field.
    ok = client.post("/admin/regions", data=region, headers={"X-CSRF-Token": token})
    assert ok.status_code == 303
    assert "海东市" in client.get("/admin/regions").text


def test_idle_session_times_out(client: TestClient, db: Database) -> None:
    login(client, "officer1")
    with db.transaction() as s:
        s.execute(update(WebSession).values(last_seen_at=now() - timedelta(hours=2)))
    response = client.get("/admin/departments")
    assert response.status_code == 303
    target = urlparse(response.headers["location"])
    assert parse_qs(target.query) == {"next": ["/admin/departments"], "expired": ["1"]}
    page = client.get(response.headers["location"])
    assert "会话已超时" in page.text
    # A form posted after the timeout comes back to the workbench, not to a POST-only URL.
    late = client.post("/logout", data={"csrf_token": "whatever"})
    assert late.status_code == 303
    assert parse_qs(urlparse(late.headers["location"]).query)["next"] == ["/workbench"]


def test_lockout_after_repeated_failures(client: TestClient) -> None:
    token = csrf_from(client.get("/login").text)
    for _ in range(5):
        client.post(
            "/login", data={"username": "deptuser1", "password": "wrong", "csrf_token": token}
        )
    response = client.post(
        "/login", data={"username": "deptuser1", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 423
    assert "账号已临时锁定" in response.text


def test_privileged_user_enrols_totp_at_login_outside_demo(
    portal_settings: Settings, seeded: Seed, db: Database
) -> None:
    strict = portal_settings.model_copy(update={"demo_mode": False})
    with TestClient(create_app(strict, migrate=False), follow_redirects=False) as client:
        token = csrf_from(client.get("/login").text)
        enrol = client.post(
            "/login", data={"username": "auditor1", "password": PASSWORD, "csrf_token": token}
        )
        assert enrol.status_code == 200
        assert "设置双因素认证" in enrol.text
        assert "govdata_session" not in client.cookies
        with db.transaction() as s:
            secret = s.scalars(select(User.totp_secret).where(User.username == "auditor1")).one()
        assert secret and secret in enrol.text
        enrolment_token = enrol.text.split('name="enrolment_token" value="')[1].split('"')[0]
        bad = client.post(
            "/login/totp-enrol",
            data={"enrolment_token": enrolment_token, "code": "000000", "csrf_token": token},
        )
        assert bad.status_code == 422
        assert "govdata_session" not in client.cookies
        done = client.post(
            "/login/totp-enrol",
            data={
                "enrolment_token": enrolment_token,
                "code": pyotp.TOTP(secret).now(),
                "csrf_token": token,
            },
        )
        assert done.status_code == 303
        workbench = client.get("/workbench")
        assert workbench.status_code == 200

        # Next time the password alone is not enough: the form asks for the code.
        client.post("/logout", data={"csrf_token": csrf_from(workbench.text)})
        step = client.post(
            "/login", data={"username": "auditor1", "password": PASSWORD, "csrf_token": token}
        )
        assert step.status_code == 200
        assert 'name="otp"' in step.text
        assert PASSWORD not in step.text and 'name="password"' not in step.text
        assert "govdata_session" not in client.cookies
    with db.transaction() as s:
        actions = set(
            s.scalars(select(AuditRecord.action).where(AuditRecord.actor_name == "auditor1"))
        )
    assert {"auth.login", "user.totp_confirm", "auth.logout"} <= actions


def _enrol(db: Database, settings: Settings, username: str) -> pyotp.TOTP:
    with db.transaction() as s:
        actor = auth.actor_for_user(s.scalars(select(User).where(User.username == username)).one())
    with Caller(db, settings, actor).act() as ctx:
        code = pyotp.TOTP(actions.enrol_totp(ctx).secret)
        actions.confirm_totp(ctx, TotpConfirm(code=code.now()))
    return code


def _otp_token(html: str) -> str:
    return html.split('name="otp_token" value="')[1].split('"')[0]


def test_the_code_step_carries_a_token_not_the_password(
    client: TestClient, portal_settings: Settings, db: Database
) -> None:
    code = _enrol(db, portal_settings, "deptuser1")
    # The current step's code confirmed the enrolment; the next one signs in.
    following = code.at(time.time() + code.interval)
    csrf = csrf_from(client.get("/login").text)
    step = client.post(
        "/login",
        data={
            "username": "deptuser1",
            "password": PASSWORD,
            "next": "/admin/users",
            "csrf_token": csrf,
        },
    )
    assert step.status_code == 200
    assert 'action="/login/otp"' in step.text and 'name="otp"' in step.text
    assert PASSWORD not in step.text and 'name="password"' not in step.text
    assert step.headers["cache-control"] == "no-store"
    assert "govdata_session" not in client.cookies
    first = _otp_token(step.text)

    # Without the double-submit token the step is refused like the password form.
    forged = client.post("/login/otp", data={"otp_token": first, "otp": following})
    assert forged.status_code == 403

    wrong = client.post(
        "/login/otp",
        data={"otp_token": first, "otp": "12345x", "next": "/admin/users", "csrf_token": csrf},
    )
    assert wrong.status_code == 401
    assert "动态口令不正确" in wrong.text and 'name="otp"' in wrong.text
    assert PASSWORD not in wrong.text and 'name="password"' not in wrong.text
    second = _otp_token(wrong.text)
    assert second != first

    # The first token died with the failure it counted: back to the password.
    stale = client.post(
        "/login/otp", data={"otp_token": first, "otp": following, "csrf_token": csrf}
    )
    assert stale.status_code == 401
    assert "登录已超时" in stale.text and 'name="password"' in stale.text
    assert "govdata_session" not in client.cookies

    done = client.post(
        "/login/otp",
        data={"otp_token": second, "otp": following, "next": "/admin/users", "csrf_token": csrf},
    )
    assert done.status_code == 303 and done.headers["location"] == "/admin/users"
    assert client.get("/workbench").status_code == 200
    with db.transaction() as s:
        assert s.scalars(select(User.failed_logins).where(User.username == "deptuser1")).one() == 0
