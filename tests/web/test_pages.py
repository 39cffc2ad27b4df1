"""Portal pages: role-based navigation and workbench, language, management forms."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.errors import NotAuthenticated
from govdata.identity import auth
from govdata.identity.models import AppCredential, Department, User
from govdata.standards import uscc
from tests.web.conftest import PASSWORD, Seed, csrf_from, login

NAV_LINK = re.compile(r'class="nav-item[^"]*" href="([^"]+)"')


def nav_of(html: str) -> set[str]:
    return set(NAV_LINK.findall(html))


CATALOG_READ = {"/catalog", "/catalog/search", "/standards/data-elements", "/standards/code-sets"}
CATALOG_EDIT = {"/catalog/mine", "/catalog/import"}
ADMIN = {"/admin/regions", "/admin/departments", "/admin/users", "/roles"}
BASE = {"/workbench", "/notifications", "/open"}
COLLECTION = {
    "/sources",
    "/exchange/mounts",
    "/exchange/pipelines",
    "/exchange/lake",
    "/exchange/report",
}
SHARING = {
    "/sharing/applications",
    "/sharing/demands",
    "/sharing/objections",
    "/sharing/subscriptions",
}
TICKETS = {"/governance/tickets", "/governance/accountability"}
QUALITY = {"/quality"}
CROSSCHECK = {"/governance/crosscheck"}
BASELIBS = {"/governance/baselibs"}
OPENDATA = {"/opendata/manage", "/opendata/applications", "/opendata/open-list", "/opendata/stats"}


SECURITY = {
    "/security/posture",
    "/security/alerts",
    "/security/alert-rules",
    "/security/destructions",
}


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        (
            "operator1",
            BASE
            | ADMIN
            | CATALOG_READ
            | CATALOG_EDIT
            | {"/admin/credentials", "/jobs", "/catalog/review"}
            | {"/catalog/admin/classes", "/catalog/admin/synonyms"}
            | COLLECTION
            | SHARING
            | TICKETS
            | QUALITY
            | CROSSCHECK
            | BASELIBS
            | OPENDATA
            | {"/opendata/reuses"}
            | {"/sharing/review", "/sharing/grants/all", "/sharing/policy"}
            | {"/security/posture", "/security/destructions"},
        ),
        (
            "officer1",
            BASE
            | ADMIN
            | CATALOG_READ
            | CATALOG_EDIT
            | COLLECTION
            | {"/admin/credentials", "/jobs"}
            | SHARING
            | TICKETS
            | QUALITY
            | CROSSCHECK
            | BASELIBS
            | OPENDATA
            | {"/sharing/review", "/sharing/grants", "/sharing/grants/given"}
            | {"/security/discovery", "/security/destructions"},
        ),
        (
            "deptuser1",
            BASE
            | {"/admin/regions", "/admin/departments"}
            | CATALOG_READ
            | SHARING
            | TICKETS
            | QUALITY
            | CROSSCHECK
            | BASELIBS
            | {"/sharing/grants"},
        ),
        (
            "secadmin1",
            BASE | SECURITY | {"/security/classification", "/security/discovery", "/security/keys"},
        ),
        (
            "auditor1",
            BASE | ADMIN | CATALOG_READ | SECURITY | {"/audit", "/audit/trace", "/audit/ledger"},
        ),
    ],
)
def test_navigation_shows_what_the_roles_allow(
    client: TestClient, username: str, expected: set[str]
) -> None:
    login(client, username)
    assert nav_of(client.get("/workbench").text) == expected


def test_workbench_panels_follow_the_role(client: TestClient) -> None:
    login(client, "operator1")
    operator = client.get("/workbench").text
    assert 'id="platform-stats"' in operator
    assert "dept-chart-data" in operator
    assert 'id="audit-panel"' not in operator  # 三员分立: the operator cannot read the audit trail

    client.cookies.clear()
    login(client, "auditor1")
    auditor = client.get("/workbench").text
    assert 'id="audit-panel"' in auditor
    found = re.search(r'data-testid="audit-total">(\d+)<', auditor)
    assert found is not None
    total = int(found.group(1))
    assert total >= 2  # at least the operator's and the auditor's logins
    assert 'id="platform-stats"' not in auditor

    client.cookies.clear()
    login(client, "secadmin1")
    secadmin = client.get("/workbench").text
    assert 'id="security-panel"' in secadmin
    assert 'id="audit-panel"' not in secadmin

    client.cookies.clear()
    login(client, "officer1")
    officer = client.get("/workbench").text
    assert 'id="department-panel"' in officer
    assert "西宁市统计局" in officer


def test_forbidden_pages_are_friendly_and_chinese(client: TestClient) -> None:
    login(client, "deptuser1")
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    assert "无权访问" in response.text
    assert "返回工作台" in response.text


def test_language_switch_persists_for_the_user(client: TestClient) -> None:
    token = login(client, "operator1")
    chinese = client.get("/workbench").text
    assert '<html lang="zh-CN">' in chinese
    assert "工作台" in chinese
    switched = client.post(
        "/locale", data={"locale": "en", "next": "/admin/users", "csrf_token": token}
    )
    assert switched.status_code == 303
    assert switched.headers["location"] == "/admin/users"
    english = client.get("/admin/users").text
    assert '<html lang="en">' in english
    assert "<h1>Users</h1>" in english
    assert "用户管理" not in english

    # Stored on the account: a fresh browser signs in to English pages.
    client.cookies.clear()
    login(client, "operator1")
    assert "Workbench" in client.get("/workbench").text


def test_visitors_switch_the_login_page_language(client: TestClient) -> None:
    token = csrf_from(client.get("/login").text)
    response = client.post("/locale", data={"locale": "en", "next": "/login", "csrf_token": token})
    assert response.status_code == 303
    assert "Use the account issued by your platform operator." in client.get("/login").text


def test_department_create_search_and_edit(client: TestClient, db: Database) -> None:
    token = login(client, "operator1")
    bad = {
        "name": "西宁市民政局",
        "code": "civil",
        "credit_code": "11630100MB0000000X",
        "region_code": "630100",
        "csrf_token": token,
    }
    response = client.post("/admin/departments", data=bad)
    assert response.status_code == 422
    assert "alert-error" in response.text
    assert 'value="西宁市民政局"' in response.text  # the form keeps what was typed

    good = {**bad, "credit_code": uscc.make("1", "1", "630100", "MB000001")}
    created = client.post("/admin/departments", data=good)
    assert created.status_code == 303
    listing = client.get("/admin/departments?q=民政").text
    assert "西宁市民政局" in listing
    assert "西宁市统计局" not in listing

    with db.transaction() as s:
        dept_id = s.scalars(select(Department.id).where(Department.code == "civil")).one()
    edited = client.post(
        f"/admin/departments/{dept_id}",
        data={
            "name": "西宁市民政局（改）",
            "short_name": "民政",
            "credit_code": good["credit_code"],
            "csrf_token": token,
        },
    )
    assert edited.status_code == 303
    detail = client.get(f"/admin/departments/{dept_id}").text
    assert "西宁市民政局（改）" in detail
    assert "停用" in detail  # the unticked box deactivated it


def test_user_management_flow(client: TestClient, seeded: Seed, db: Database) -> None:
    token = login(client, "operator1")
    created = client.post(
        "/admin/users",
        data={
            "username": "clerk1",
            "display_name": "王小明",
            "password": "Clerk-Password-1!",
            "department_id": seeded.department_id,
            "role": "dept_user",
            "csrf_token": token,
        },
    )
    assert created.status_code == 303, created.text
    listing = client.get("/admin/users?q=clerk").text
    assert "王小明" in listing
    assert "测试operator1" not in listing

    with db.transaction() as s:
        user_id = s.scalars(select(User.id).where(User.username == "clerk1")).one()
    assert (
        client.post(f"/admin/users/{user_id}/disable", data={"csrf_token": token}).status_code
        == 303
    )
    with db.transaction() as s:
        assert s.get(User, user_id).is_active is False
    assert (
        client.post(f"/admin/users/{user_id}/enable", data={"csrf_token": token}).status_code == 303
    )

    # Separation of duties is reported inline, in Chinese, on the user's page.
    client.post(f"/admin/users/{user_id}/roles", data={"role": "operator", "csrf_token": token})
    refused = client.post(
        f"/admin/users/{seeded.users['auditor1']}/roles",
        data={"role": "operator", "csrf_token": token},
    )
    assert refused.status_code == 409
    assert "三员分立" in refused.text

    detail = client.get(f"/admin/users/{user_id}").text
    assignment_ids = re.findall(r"/roles/([0-9a-f-]+)/revoke", detail)
    assert len(assignment_ids) == 2
    for assignment_id in assignment_ids:
        revoked = client.post(
            f"/admin/users/{user_id}/roles/{assignment_id}/revoke", data={"csrf_token": token}
        )
        assert revoked.status_code == 303
    assert "/revoke" not in client.get(f"/admin/users/{user_id}").text


def test_credential_token_is_shown_once_and_can_be_revoked(
    client: TestClient, seeded: Seed, db: Database, portal_settings: Settings
) -> None:
    token = login(client, "officer1")
    created = client.post(
        "/admin/credentials",
        data={
            "name": "人口服务",
            "department_id": seeded.department_id,
            "days": "30",
            "scopes": ["department.read", "region.read"],
            "csrf_token": token,
        },
    )
    assert created.status_code == 200
    assert created.headers["cache-control"] == "no-store"
    shown = re.search(r'data-testid="new-token">([^<]+)<', created.text)
    assert shown is not None
    secret = shown.group(1)
    listing = client.get("/admin/credentials").text
    assert "人口服务" in listing
    assert secret not in listing
    assert auth.actor_from_bearer(db, portal_settings, secret).kind == "app"

    with db.transaction() as s:
        cred_id = s.scalars(select(AppCredential.id)).one()
    assert (
        client.post(f"/admin/credentials/{cred_id}/revoke", data={"csrf_token": token}).status_code
        == 303
    )
    assert "已吊销" in client.get("/admin/credentials").text
    with pytest.raises(NotAuthenticated):
        auth.actor_from_bearer(db, portal_settings, secret)


def test_changing_the_password_ends_the_session(client: TestClient) -> None:
    token = login(client, "deptuser1")
    wrong = client.post(
        "/me/password",
        data={"current_password": "wrong", "new_password": "Brand-New-Pass-1", "csrf_token": token},
    )
    assert wrong.status_code == 422
    assert "当前密码不正确" in wrong.text
    changed = client.post(
        "/me/password",
        data={
            "current_password": PASSWORD,
            "new_password": "Brand-New-Pass-1",
            "csrf_token": token,
        },
    )
    assert changed.status_code == 303
    assert changed.headers["location"] == "/login"
    assert client.get("/workbench").status_code == 303
    login(client, "deptuser1", "Brand-New-Pass-1")
