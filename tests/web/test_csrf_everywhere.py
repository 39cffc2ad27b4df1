"""Every state-changing portal route refuses a signed-in request without the CSRF token.

The routes are read from the app itself, so a page added later is covered without
touching this file; a page route that does not check the token cannot even be declared.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from govdata.core.db import Database
from govdata.security.models import AuditRecord
from govdata.web.csrf import CsrfFailure
from govdata.web.portal import PortalRouter, UserForm, UserPage
from tests.conftest import fresh_store
from tests.web.conftest import login

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    # The check runs before any store access: one store is enough.
    yield from fresh_store("sqlite", tmp_path, request)


def portal_changes(client: TestClient) -> list[tuple[str, str]]:
    found = []
    for rc in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        if not isinstance(rc.original_route, APIRoute) or rc.include_in_schema:
            continue
        for method in sorted((rc.methods or set()) & UNSAFE):
            found.append((method, re.sub(r"\{[^}]+\}", "1", rc.path or "")))
    return found


def audit_count(db: Database) -> int:
    with db.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(AuditRecord)) or 0)


def test_every_portal_change_needs_the_token(client: TestClient, db: Database) -> None:
    routes = portal_changes(client)
    # The portal's forms as of this writing; new ones only add to the list.
    assert len(routes) >= 73
    assert ("POST", "/logout") in routes and ("POST", "/login") in routes
    login(client, "operator1")
    before = audit_count(db)
    for method, path in routes:
        response = client.request(method, path, data={"next": "/workbench"})
        assert response.status_code == 403, (method, path, response.status_code)
        assert CsrfFailure.message_zh in response.text, (method, path)
        # A forged token fails the same way.
        forged = client.request(method, path, data={"csrf_token": "x" * 43})
        assert forged.status_code == 403, (method, path)
    # Nothing ran: every change writes an audit record, and the session is still alive.
    assert audit_count(db) == before
    assert client.get("/workbench").status_code == 200


def _forgot(page: UserPage) -> None: ...


def _checked(page: UserForm) -> None: ...


def test_a_page_route_without_the_check_cannot_be_declared() -> None:
    router = PortalRouter()
    with pytest.raises(TypeError, match="without a CSRF check"):
        router.add_api_route("/forgot-the-check", _forgot, methods=["POST"])
    router.add_api_route("/checked", _checked, methods=["POST"])
    router.add_api_route("/read-only", _forgot, methods=["GET"])
    assert {r.path for r in router.routes} == {"/checked", "/read-only"}  # type: ignore[attr-defined]


def test_api_changes_with_the_session_cookie_need_the_token(client: TestClient) -> None:
    token = login(client, "deptuser1")
    assert client.get("/api/v1/me").status_code == 200
    refused = client.post("/api/v1/me/logout-all")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    assert client.get("/workbench").status_code == 200
    done = client.post("/api/v1/me/logout-all", headers={"X-CSRF-Token": token})
    assert done.status_code == 204
    assert client.get("/workbench").status_code == 303
