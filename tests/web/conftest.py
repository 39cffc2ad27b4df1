"""Fixtures for portal tests: an app on the test store, seeded people of every role, sign-in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from govdata.app import create_app
from govdata.config import Settings
from govdata.core.db import Database
from govdata.identity import actions
from govdata.identity.schemas import (
    DepartmentCreate,
    RegionCreate,
    RoleAssignmentIn,
    UserCreate,
)
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM
from govdata.security.permissions import Role
from govdata.standards import uscc

PASSWORD = "Portal-Test-2026!"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Seed:
    department_id: str
    users: dict[str, str]  # username -> id


def seed(settings: Settings) -> Seed:
    """A province, a prefecture, one department and a user for every role."""
    db = Database(settings.db_url)
    try:
        with Caller(db, settings, SYSTEM).act() as ctx:
            actions.create_region(ctx, RegionCreate(code="630000", name="青海省"))
            actions.create_region(
                ctx, RegionCreate(code="630100", name="西宁市", parent_code="630000")
            )
            dept = actions.create_department(
                ctx,
                DepartmentCreate(
                    code="stats",
                    name="西宁市统计局",
                    credit_code=uscc.make("1", "1", "630100", "MB000000"),
                    region_code="630100",
                ),
            )
        people = {
            "operator1": (Role.OPERATOR, None),
            "regionop": (Role.REGION_OPERATOR, "630100"),
            "officer1": (Role.DEPT_OFFICER, None),
            "deptuser1": (Role.DEPT_USER, None),
            "secadmin1": (Role.SECADMIN, None),
            "auditor1": (Role.AUDITOR, None),
        }
        users = {}
        for username, (role, region) in people.items():
            in_dept = role in (Role.DEPT_OFFICER, Role.DEPT_USER)
            with Caller(db, settings, SYSTEM).act() as ctx:
                out = actions.create_user(
                    ctx,
                    UserCreate(
                        username=username,
                        display_name=f"测试{username}",
                        password=PASSWORD,
                        department_id=dept.id if in_dept else None,
                        roles=[RoleAssignmentIn(role=role, region_code=region)],
                    ),
                )
            users[username] = out.id
        return Seed(department_id=dept.id, users=users)
    finally:
        db.dispose()


@pytest.fixture
def portal_settings(settings: Settings) -> Settings:
    # Cheap hashing keeps the suite fast; demo mode lets privileged roles in without TOTP.
    return settings.model_copy(
        update={"argon2_time_cost": 1, "argon2_memory_kib": 8192, "demo_mode": True}
    )


@pytest.fixture
def seeded(portal_settings: Settings) -> Seed:
    return seed(portal_settings)


@pytest.fixture
def client(portal_settings: Settings, seeded: Seed) -> Iterator[TestClient]:
    app = create_app(portal_settings, migrate=False)
    with TestClient(app, follow_redirects=False) as c:
        yield c


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the login form; returns the session's CSRF token from the workbench."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 303, response.text
    workbench = client.get("/workbench")
    assert workbench.status_code == 200
    return csrf_from(workbench.text)
