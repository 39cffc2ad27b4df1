"""Hardening of the web process: security headers, cookie flags, rate limits on sign-in and
tokens, the request body limit, secrets kept out of logs, constant-time comparisons.

None of this depends on the store, so it runs on SQLite only.
"""

from __future__ import annotations

import ast
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from govdata.app import create_app
from govdata.config import Settings
from govdata.core import logredact
from govdata.core.db import Database
from govdata.identity import auth
from govdata.identity.models import User
from govdata.web.limits import LoginLimits, SlidingWindow, TooManyAttempts
from tests import services
from tests.conftest import fresh_store
from tests.security.srcwalk import modules
from tests.web.conftest import PASSWORD, Seed, csrf_from, login, seed

MB = 1024 * 1024
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
}


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_store("sqlite", tmp_path, request)


@pytest.fixture
def portal(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"argon2_time_cost": 1, "argon2_memory_kib": 8192, "demo_mode": True}
    )


@pytest.fixture
def seeded(portal: Settings) -> Seed:
    return seed(portal)


def make_app(settings: Settings, **update: Any) -> FastAPI:
    app: FastAPI = create_app(settings.model_copy(update=update), migrate=False)
    return app


def bearer(settings: Settings, username: str) -> dict[str, str]:
    db = Database(settings.db_url)
    try:
        with db.sessions() as s:
            user = s.scalars(select(User).where(User.username == username)).one()
            return {"authorization": f"Bearer {auth.issue_access_token(settings, user)[0]}"}
    finally:
        db.dispose()


# Security headers ---------------------------------------------------------------------------


def _boom() -> None:
    raise RuntimeError("cannot reach postgresql://gov:Db-Secret-991@db.internal/govdata")


def test_every_kind_of_response_carries_the_security_headers(
    portal: Settings, seeded: Seed
) -> None:
    app = make_app(portal)
    app.add_api_route("/boom", _boom)
    page = {"accept": "text/html"}
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as client:
        responses = {
            "page": client.get("/login"),
            "redirect": client.get("/"),
            "api error": client.get("/api/v1/me"),
            "missing page": client.get("/no-such-page", headers=page),
            "missing api": client.get("/api/v1/no-such-thing"),
            "health": client.get("/healthz"),
            "static": client.get("/static/css/portal.css"),
            "server error": client.get("/boom"),
        }
        token = login(client, "deptuser1")
        responses["signed-in page"] = client.get("/workbench")
        responses["form post"] = client.post("/locale", data={"locale": "en", "csrf_token": token})
        responses["api data"] = client.get("/api/v1/me", headers=bearer(portal, "deptuser1"))
    expected_status = {"static": 200, "server error": 500, "missing page": 404, "api data": 200}
    for kind, response in responses.items():
        if kind in expected_status:
            assert response.status_code == expected_status[kind], kind
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (kind, name)
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], kind
        assert "camera=()" in response.headers["permissions-policy"], kind
        # Plain HTTP (the embedded profile): no HSTS, which browsers would ignore anyway.
        assert "strict-transport-security" not in response.headers, kind
        if kind == "static":
            assert "no-store" not in response.headers.get("cache-control", "")
        else:
            # Pages and API answers may hold restricted data: no copy in any cache.
            assert response.headers["cache-control"] == "no-store", kind


def test_https_adds_hsts_and_secure_cookies(portal: Settings, seeded: Seed) -> None:
    app = make_app(portal, cookie_secure=True)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        first = client.get("/login")
        assert first.headers["strict-transport-security"].startswith("max-age=31536000")
        presession = _cookie(first, "govdata_login_csrf")
        assert {"httponly", "secure", "samesite=strict", "path=/"} <= presession
        signed_in = client.post(
            "/login",
            data={
                "username": "deptuser1",
                "password": PASSWORD,
                "csrf_token": csrf_from(first.text),
            },
        )
        assert signed_in.status_code == 303
        session = _cookie(signed_in, "govdata_session")
        assert {"httponly", "secure", "samesite=lax", "path=/"} <= session
        # The language cookie is read by nothing but the server, yet need not be HttpOnly.
        locale = _cookie(signed_in, "govdata_locale")
        assert {"secure", "samesite=lax", "path=/"} <= locale
        token = csrf_from(client.get("/workbench").text)
        out = client.post("/logout", data={"csrf_token": token})
        assert {"httponly", "secure", "samesite=lax", "path=/"} <= _cookie(out, "govdata_flash")
        assert out.headers["strict-transport-security"]


def _cookie(response: Any, name: str) -> set[str]:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return {part.strip().lower() for part in header.split(";")[1:]}
    raise AssertionError(f"no Set-Cookie for {name}")


# Rate limits on sign-in and tokens ----------------------------------------------------------


def _token(client: TestClient, username: str, password: str = PASSWORD, **kw: Any) -> Any:
    return client.post(
        "/api/v1/auth/token", json={"username": username, "password": password}, **kw
    )


def test_token_requests_are_limited_per_address_and_per_account(
    portal: Settings, seeded: Seed
) -> None:
    app = make_app(
        portal, login_rate_per_account=3, login_rate_per_address=5, login_rate_window_seconds=2.0
    )
    with TestClient(app) as here, TestClient(app, client=("10.0.0.2", 40000)) as there:
        for _ in range(3):
            assert _token(here, "deptuser1", "wrong-password").status_code == 401
        # The fourth attempt on the account is refused, even with the right password.
        refused = _token(here, "DeptUser1 ")
        assert refused.status_code == 429
        body = refused.json()["error"]
        assert body["code"] == "too_many_attempts" and body["details"]["limit"] == "account"
        assert body["message"].startswith("登录尝试过于频繁")
        assert 1 <= int(refused.headers["retry-after"]) <= 2
        # Other accounts from the same address go on until the address's own limit.
        assert _token(here, "operator1").status_code == 200
        assert _token(here, "auditor1").status_code == 200
        over = _token(here, "secadmin1", headers={"cookie": "govdata_locale=en"})
        assert over.status_code == 429
        assert over.json()["error"]["details"]["limit"] == "address"
        assert over.json()["error"]["message"].startswith("Too many sign-in attempts")
        # Another address is not held back, but the account's limit follows the account.
        assert _token(there, "regionop").status_code == 200
        again = _token(there, "deptuser1")
        assert again.status_code == 429 and again.json()["error"]["details"]["limit"] == "account"
        # The window slides on: once it has passed, the account signs in again.
        time.sleep(int(again.headers["retry-after"]))
        assert _token(there, "deptuser1").status_code == 200


def test_the_login_form_is_limited_too(portal: Settings, seeded: Seed) -> None:
    app = make_app(portal, login_rate_per_account=2)
    with TestClient(app, follow_redirects=False) as client:
        token = csrf_from(client.get("/login").text)
        form = {"username": "officer1", "password": "wrong-password", "csrf_token": token}
        for _ in range(2):
            assert client.post("/login", data=form).status_code == 401
        refused = client.post("/login", data={**form, "password": PASSWORD})
        assert refused.status_code == 429
        assert "登录尝试过于频繁" in refused.text
        assert int(refused.headers["retry-after"]) >= 1
        assert "govdata_session" not in refused.headers.get("set-cookie", "")


def test_sliding_window_counts_only_accepted_attempts() -> None:
    clock = iter([0.0, 1.0, 2.0, 5.0, 10.0, 10.5]).__next__
    limits = LoginLimits(
        Settings(
            login_rate_per_address=100, login_rate_per_account=2, login_rate_window_seconds=10
        ),
        clock=clock,
    )
    limits.attempt("a", "zhang")  # t=0
    limits.attempt("a", "zhang")  # t=1
    with pytest.raises(TooManyAttempts) as first:
        limits.attempt("a", "zhang")  # t=2: 8 s until the attempt at t=0 leaves the window
    assert first.value.retry_after == 8
    with pytest.raises(TooManyAttempts):
        limits.attempt("a", "zhang")  # t=5: the refusals were not counted, t=0 still is
    limits.attempt("a", "zhang")  # t=10: the attempt at t=0 has left the window
    with pytest.raises(TooManyAttempts) as second:
        limits.attempt("a", "zhang")  # t=10.5: t=1 and t=10 are inside
    assert second.value.retry_after == 1  # 0.5 s, rounded up to whole seconds
    window = SlidingWindow(limit=1, window=1.0)
    window.record("gone", 0.0)
    window.record("kept", 5.0)
    window.sweep(5.5)
    assert window.wait("gone", 5.5) == 0 and window.wait("kept", 5.5) > 0
    assert set(window._events) == {"kept"}


# Request body limit -------------------------------------------------------------------------


def test_request_bodies_over_the_limit_are_refused(portal: Settings, seeded: Seed) -> None:
    app = make_app(portal, max_request_mb=1, source_upload_max_mb=2)
    officer = bearer(portal, "officer1")
    with TestClient(app, follow_redirects=False) as client:
        made = client.post(
            "/api/v1/sources", headers=officer, json={"kind": "file", "name": "上报文件"}
        )
        assert made.status_code == 201, made.text
        sid = made.json()["id"]
        count = client.get("/api/v1/sources", headers=officer).json()["total"]

        big = {"kind": "file", "name": "x" * (MB + 10)}
        declared = client.post("/api/v1/sources", headers=officer, json=big)
        assert declared.status_code == 413
        error = declared.json()["error"]
        assert error["code"] == "request_too_large" and error["details"] == {"limit_mb": 1}
        assert error["message"] == "请求内容超过 1 MB 的上限"
        # No Content-Length to trust: the bytes are counted as they arrive.
        chunks = (b'{"kind": "file", "name": "' + b"y" * 64 * 1024 for _ in range(20))
        headers = {**officer, "content-type": "application/json"}
        streamed = client.post("/api/v1/sources", headers=headers, content=chunks)
        assert "content-length" not in streamed.request.headers
        assert streamed.status_code == 413
        assert streamed.json()["error"]["code"] == "request_too_large"
        assert client.get("/api/v1/sources", headers=officer).json()["total"] == count

        def upload(size: int) -> Any:
            files = {"file": ("people.csv", b"id\n" + b"1\n" * (size // 2), "text/csv")}
            return client.post(f"/api/v1/sources/{sid}/files", headers=officer, files=files)

        # A file source takes files up to its own limit, above the general one.
        assert upload(int(1.5 * MB)).status_code == 201
        over_source = upload(int(2.5 * MB))
        assert over_source.status_code == 422
        assert over_source.json()["error"]["code"] == "source_file_too_large"
        far_over = upload(int(3.5 * MB))
        assert far_over.status_code == 413
        assert far_over.json()["error"]["details"] == {"limit_mb": 3}

        # A portal form gets the portal's error page.
        token = login(client, "officer1")
        form = {"csrf_token": token, "kind": "file", "name": "z" * (MB + 10)}
        page = client.post("/sources/new", data=form, headers={"accept": "text/html"})
        assert page.status_code == 413
        assert "text/html" in page.headers["content-type"]
        assert "请求内容超过 1 MB 的上限" in page.text


# No secrets in logs -------------------------------------------------------------------------


def test_secrets_stay_out_of_the_logs(
    portal: Settings, seeded: Seed, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    source_password = "Src-Secret-7731!"
    app = make_app(portal)
    app.add_api_route("/boom", _boom)
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as client:
        csrf_token = login(client, "officer1")
        session = client.cookies["govdata_session"]
        access = _token(client, "operator1").json()["access_token"]
        operator = {"authorization": f"Bearer {access}"}
        dept = client.get("/api/v1/departments", headers=operator).json()["items"][0]["id"]
        created = client.post(
            "/api/v1/credentials",
            headers=operator,
            json={
                "name": "报表系统",
                "department_id": dept,
                "scopes": ["catalog.read"],
                "days": 30,
            },
        )
        assert created.status_code == 201, created.text
        app_token = created.json()["token"]
        assert (
            client.get(
                "/api/v1/catalog/entries/search", headers={"authorization": f"Bearer {app_token}"}
            ).status_code
            < 500
        )
        officer = bearer(portal, "officer1")
        source = client.post(
            "/api/v1/sources",
            headers=officer,
            json={
                "kind": "mariadb",
                "name": "民政业务库",
                "config": {
                    "host": services.MARIADB["host"],
                    "port": services.MARIADB["port"],
                    "database": "govdata_no_such_db",
                    "user": "nobody",
                },
                "secret": {"password": source_password},
            },
        )
        assert source.status_code == 201, source.text
        client.post(f"/api/v1/sources/{source.json()['id']}/test", headers=officer)
        assert client.get("/boom").status_code == 500
    # Code that logs a secret by mistake: the record is scrubbed all the same.
    logging.getLogger("govdata.test").warning(
        "connecting to %s with %s", f"mysql://root:{source_password}@db/x", {"token": app_token}
    )
    logging.getLogger("govdata.test").info("retrying with password=%s", source_password)

    text = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert "HTTP Request" in text  # the client's own log lines were captured
    for secret in (
        PASSWORD,
        source_password,
        access,
        app_token,
        session,
        csrf_token,
        "Db-Secret-991",
    ):
        assert secret not in text, secret
    # What was redacted still says what happened.
    assert "postgresql://gov:***@db.internal/govdata" in caplog.text
    assert "mysql://root:***@db/x" in text and "retrying with password=***" in text


def test_redaction_rules() -> None:
    cases = {
        "postgresql+psycopg://gov:p%40ss@db:5432/x": "postgresql+psycopg://gov:***@db:5432/x",
        "Authorization: Bearer abc.def": "Authorization: *** ***",
        "GET /api/v1/data?access_token=abc123&limit=5": "GET /api/v1/data?access_token=***&limit=5",
        '{"password": "two words", "user": "li"}': '{"password": "***", "user": "li"}',
        "api_key=XYZ, region=630000": "api_key=***, region=630000",
        "cookie: govdata_session=abc; govdata_locale=en": "cookie: ***; govdata_locale=en",
        "used gdt_AbCdEfGhIjKlMnOp1234 today": "used gdt_*** today",
        "jwt eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl end": "jwt *** end",
        "table 民政 has 3 rows": "table 民政 has 3 rows",
    }
    for raw, clean in cases.items():
        assert logredact.redact(raw) == clean, raw


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _uvicorn(app: FastAPI) -> Iterator[str]:
    port = _free_port()
    # log_config=None: uvicorn leaves logging alone, so its access log reaches caplog.
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def test_the_access_log_keeps_query_string_tokens_out(
    portal: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with _uvicorn(make_app(portal)) as base:
        response = httpx.get(f"{base}/healthz?access_token=Query-Secret-55&region=630000")
    assert response.status_code == 200
    access = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert any("/healthz?access_token=***&region=630000" in line for line in access), access
    assert "Query-Secret-55" not in caplog.text


# Constant-time comparisons ------------------------------------------------------------------

SECRETISH = re.compile(
    r"(secret|token|passw|pwd|signature|\bsig\b|digest|hash|csrf|otp|\bmac\b|hmac|fingerprint"
    r"|api_?key)",
    re.I,
)
# Names that mention a secret but hold none: counters, labels, ids and kinds.
NOT_SECRET = re.compile(
    r"(_epoch|_prefix|_type|_id|_ids|_name|_at|_count|_step|_kind|_keys|_len|_size|_field|_url"
    r"|_path|_column|_alg|_algorithm)$",
    re.I,
)


def _identifier(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript):
        key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            return key.value
        return _identifier(node.value)
    if isinstance(node, ast.Call):
        if (
            isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            return str(node.args[0].value)
        return _identifier(node.func)
    return ""


def _skipped(node: ast.AST) -> bool:
    # A literal or a constant, a length, or a column of a model (the comparison happens in the
    # database: a lookup by the hash of a 256-bit random token gives no timing to exploit).
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name) and node.id.isupper():
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len":
        return True
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id[:1].isupper()
    )


def test_secrets_are_compared_in_constant_time() -> None:
    """``==`` on a token, a code, a signature or a hash leaks through its timing how much of
    a guess was right; ``hmac.compare_digest`` does not."""
    found = []
    for module in modules():
        for node in ast.walk(module.tree):
            if not isinstance(node, ast.Compare):
                continue
            if not any(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops):
                continue
            parts = [node.left, *node.comparators]
            if any(_skipped(p) for p in parts):
                continue
            names = [_identifier(p) for p in parts]
            if any(SECRETISH.search(n) and not NOT_SECRET.search(n) for n in names):
                segment = ast.get_source_segment(module.source, node)
                found.append(f"{module.path}:{node.lineno}: {segment}")
    assert not found, "compare these with hmac.compare_digest:\n" + "\n".join(found)
