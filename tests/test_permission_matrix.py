"""Every API route, called as every role and anonymously, allows or denies as the table says.

The table is written out by hand (not derived from the permission code) so that a
change to what a role may do has to change this file too. A route missing from the
table fails the test, so new routes cannot slip in unchecked.

Each call is made by a fresh user holding just that role, against fresh targets
inside that role's own scope, so one call's effects (a changed password, a revoked
role) cannot decide the next call's outcome.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from govdata.app import create_app
from govdata.catalog import actions as catalog_actions
from govdata.catalog.schemas import EntryCreate, PublishRequest
from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.jobs import queue
from govdata.identity import actions, auth
from govdata.identity.models import User
from govdata.identity.schemas import (
    CredentialCreate,
    DepartmentCreate,
    RegionCreate,
    RoleAssignmentIn,
    UserCreate,
)
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM
from govdata.security.permissions import PRIVILEGED_ROLES, Role
from govdata.standards import uscc
from tests import (
    matrix_alerts,
    matrix_baselib,
    matrix_classification,
    matrix_crosscheck,
    matrix_exchange,
    matrix_keys,
    matrix_ledger,
    matrix_lineage,
    matrix_opendata_accounts,
    matrix_opendata_manage,
    matrix_opendata_reuses,
    matrix_quality,
    matrix_sharing,
    matrix_sources,
    matrix_tickets,
)
from tests.conftest import fresh_store

PASSWORD = "Matrix@2026pw"
OP, R, DO, DU, S, A = (
    Role.OPERATOR,
    Role.REGION_OPERATOR,
    Role.DEPT_OFFICER,
    Role.DEPT_USER,
    Role.SECADMIN,
    Role.AUDITOR,
)
ALL = frozenset(Role)
CATALOG_READERS = frozenset({OP, R, DO, DU, A})
PUBLIC = "public"

# (method, path) -> roles allowed; PUBLIC means anonymous callers too.
EXPECTED: dict[tuple[str, str], frozenset[Role] | str] = {
    ("POST", "/api/v1/auth/token"): PUBLIC,
    ("GET", "/api/v1/me"): ALL,
    ("PATCH", "/api/v1/me"): ALL,
    ("POST", "/api/v1/me/password"): ALL,
    ("POST", "/api/v1/me/logout-all"): ALL,
    ("POST", "/api/v1/me/totp"): ALL,
    ("POST", "/api/v1/me/totp/confirm"): ALL,
    ("GET", "/api/v1/regions"): frozenset({OP, R, DO, DU, A}),
    ("POST", "/api/v1/regions"): frozenset({OP}),
    ("GET", "/api/v1/regions/{code}"): frozenset({OP, R, DO, DU, A}),
    ("GET", "/api/v1/departments"): frozenset({OP, R, DO, DU, A}),
    ("POST", "/api/v1/departments"): frozenset({OP, R}),
    ("GET", "/api/v1/departments/{department_id}"): frozenset({OP, R, DO, DU, A}),
    ("PATCH", "/api/v1/departments/{department_id}"): frozenset({OP, R}),
    ("GET", "/api/v1/users"): frozenset({OP, R, DO, A}),
    ("POST", "/api/v1/users"): frozenset({OP, R}),
    ("GET", "/api/v1/users/{user_id}"): frozenset({OP, R, DO, A}),
    ("PATCH", "/api/v1/users/{user_id}"): frozenset({OP, R}),
    ("POST", "/api/v1/users/{user_id}/disable"): frozenset({OP, R}),
    ("POST", "/api/v1/users/{user_id}/enable"): frozenset({OP, R}),
    ("POST", "/api/v1/users/{user_id}/unlock"): frozenset({OP, R}),
    ("POST", "/api/v1/users/{user_id}/reset-password"): frozenset({OP, R}),
    ("POST", "/api/v1/users/{user_id}/reset-totp"): frozenset({OP, R}),
    ("POST", "/api/v1/users/{user_id}/roles"): frozenset({OP, R}),
    ("DELETE", "/api/v1/users/{user_id}/roles/{assignment_id}"): frozenset({OP, R}),
    ("GET", "/api/v1/roles"): frozenset({OP, R, DO, A}),
    ("GET", "/api/v1/credentials"): frozenset({OP, R, DO}),
    ("POST", "/api/v1/credentials"): frozenset({OP, DO}),
    ("POST", "/api/v1/credentials/{credential_id}/revoke"): frozenset({OP, DO}),
    ("GET", "/api/v1/audit/records"): frozenset({A}),
    # Region operators and officers see only the jobs they started.
    ("GET", "/api/v1/jobs"): frozenset({OP, R, DO}),
    ("POST", "/api/v1/jobs"): frozenset({OP}),
    ("GET", "/api/v1/jobs/{job_id}"): frozenset({OP, R, DO}),
    ("POST", "/api/v1/jobs/{job_id}/cancel"): frozenset({OP}),
    ("POST", "/api/v1/jobs/{job_id}/retry"): frozenset({OP}),
    ("GET", "/api/v1/job-queues"): frozenset({OP}),
    ("PUT", "/api/v1/job-queues"): frozenset({OP}),
    ("GET", "/api/v1/job-schedules"): frozenset({OP}),
    ("PUT", "/api/v1/job-schedules"): frozenset({OP}),
    # The catalog: every role but the security administrator reads; officers (own
    # department) and the operator edit; the operator and region operators review.
    ("GET", "/api/v1/catalog/entries"): CATALOG_READERS,
    ("POST", "/api/v1/catalog/entries"): frozenset({OP, DO}),
    # The operator belongs to no department: "mine" answers 422 for them, not 403.
    ("GET", "/api/v1/catalog/mine"): CATALOG_READERS,
    ("GET", "/api/v1/catalog/review-queue"): frozenset({OP, R}),
    ("GET", "/api/v1/catalog/entries/{ref}"): CATALOG_READERS,
    ("PUT", "/api/v1/catalog/entries/{ref}"): frozenset({OP, DO}),
    ("GET", "/api/v1/catalog/entries/{ref}/versions/{version_no}"): CATALOG_READERS,
    ("GET", "/api/v1/catalog/entries/{ref}/diff"): CATALOG_READERS,
    ("POST", "/api/v1/catalog/entries/{ref}/check"): CATALOG_READERS,
    ("POST", "/api/v1/catalog/entries/{ref}/submit"): frozenset({OP, DO}),
    ("POST", "/api/v1/catalog/entries/{ref}/publish"): frozenset({OP, R}),
    ("POST", "/api/v1/catalog/entries/{ref}/return"): frozenset({OP, R}),
    ("POST", "/api/v1/catalog/entries/{ref}/withdraw"): frozenset({OP, R, DO}),
    ("POST", "/api/v1/catalog/entries/{ref}/versions"): frozenset({OP, DO}),
    ("GET", "/api/v1/catalog/classes"): CATALOG_READERS,
    ("POST", "/api/v1/catalog/classes"): frozenset({OP}),
    ("PATCH", "/api/v1/catalog/classes/{code}"): frozenset({OP}),
    ("GET", "/api/v1/catalog/synonyms"): CATALOG_READERS,
    ("PUT", "/api/v1/catalog/synonyms/{term}"): frozenset({OP}),
    ("DELETE", "/api/v1/catalog/synonyms/{term}"): frozenset({OP}),
    ("GET", "/api/v1/catalog/template.xlsx"): frozenset({OP, DO}),
    ("POST", "/api/v1/catalog/import"): frozenset({OP, DO}),
    ("GET", "/api/v1/catalog/export.xlsx"): CATALOG_READERS,
    ("GET", "/api/v1/catalog/export.json"): CATALOG_READERS,
    ("GET", "/api/v1/catalog/national/export"): frozenset({OP}),
    ("POST", "/api/v1/catalog/national/import"): frozenset({OP}),
    ("GET", "/api/v1/standards/data-elements"): CATALOG_READERS,
    ("POST", "/api/v1/standards/data-elements"): frozenset({OP}),
    ("GET", "/api/v1/standards/data-elements/{identifier}"): CATALOG_READERS,
    ("PUT", "/api/v1/standards/data-elements/{identifier}"): frozenset({OP}),
    ("POST", "/api/v1/standards/data-elements/{identifier}/retire"): frozenset({OP}),
    ("GET", "/api/v1/standards/code-sets"): CATALOG_READERS,
    ("POST", "/api/v1/standards/code-sets"): frozenset({OP}),
    ("GET", "/api/v1/standards/code-sets/{identifier}"): CATALOG_READERS,
    ("PUT", "/api/v1/standards/code-sets/{identifier}"): frozenset({OP}),
    ("POST", "/api/v1/standards/import"): frozenset({OP}),
    ("GET", "/api/v1/standards/export"): CATALOG_READERS,
    ("GET", "/api/v1/notifications"): ALL,
    ("POST", "/api/v1/notifications/{notification_id}/read"): ALL,
    ("POST", "/api/v1/notifications/read-all"): ALL,
}
# Query strings a route needs so that the permission check, not validation, answers.
QUERY: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/catalog/national/import"): "?provider_code=xn_civil",
    ("GET", "/api/v1/standards/export"): "?kind=data_elements",
}
# Multipart uploads: (form field values, file field name).
UPLOADS: dict[tuple[str, str], tuple[dict[str, str], str]] = {
    ("POST", "/api/v1/catalog/import"): ({}, "file"),
    ("POST", "/api/v1/standards/import"): ({"kind": "data_elements"}, "file"),
}

_serial = itertools.count(1)

# Domains keep their rows of the table in modules of their own (``tests/matrix_*.py``):
# each has EXPECTED, QUERY, UPLOADS, BODIES ({(method, path): fn(world, n) -> body})
# and ``targets(world, path) -> {parameter: value}`` for the path's parameters.
EXTENSIONS = (matrix_sources, matrix_exchange, matrix_sharing, matrix_ledger, matrix_alerts)
EXTENSIONS += (matrix_classification,)
EXTENSIONS += (matrix_keys,)
EXTENSIONS += (matrix_quality,)
EXTENSIONS += (matrix_crosscheck,)
EXTENSIONS += (matrix_tickets,)
EXTENSIONS += (matrix_lineage,)
EXTENSIONS += (matrix_baselib,)
EXTENSIONS += (matrix_opendata_accounts,)
EXTENSIONS += (matrix_opendata_manage,)
EXTENSIONS += (matrix_opendata_reuses,)
for _ext in EXTENSIONS:
    EXPECTED.update(_ext.EXPECTED)
    QUERY.update(_ext.QUERY)
    UPLOADS.update(_ext.UPLOADS)


@dataclass
class World:
    """A province, Xining with one district, and a department there that scoped roles own."""

    db: Database
    settings: Settings
    client: TestClient
    dept_id: str

    def system(self) -> Caller:
        return Caller(self.db, self.settings, SYSTEM, "127.0.0.1")

    def user(self, role: Role | None, department_id: str | None = None) -> User:
        n = next(_serial)
        dept = department_id or self.dept_id
        roles = []
        if role in (OP, S, A):
            roles = [RoleAssignmentIn(role=role)]
        elif role == R:
            roles = [RoleAssignmentIn(role=role, region_code="630100")]
        elif role is not None:
            roles = [RoleAssignmentIn(role=role, department_id=dept)]
        with self.system().act() as ctx:
            out = actions.create_user(
                ctx,
                UserCreate(
                    username=f"m{n}_{role.value if role else 'none'}",
                    display_name=f"矩阵用户{n}",
                    password=PASSWORD,
                    department_id=None if role in (OP, S, A) else dept,
                    roles=roles,
                ),
            )
        with self.db.sessions() as s:
            user = s.get(User, out.id)
            assert user is not None
            return user

    def token(self, user: User) -> str:
        return auth.issue_access_token(self.settings, user)[0]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("matrix")
    store = fresh_store(request.param, tmp, request)
    url = next(store)
    settings = Settings(
        data_dir=tmp / "data",
        database_url=url,
        secret_key="matrix-secret-" + "k" * 40,
        embedded_worker=False,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )
    db = Database(url)
    caller = Caller(db, settings, SYSTEM, "127.0.0.1")
    with caller.act() as ctx:
        actions.create_region(ctx, RegionCreate(code="630000", name="青海省"))
        actions.create_region(ctx, RegionCreate(code="630100", name="西宁市", parent_code="630000"))
        actions.create_region(ctx, RegionCreate(code="630102", name="城东区", parent_code="630100"))
        dept = actions.create_department(
            ctx,
            DepartmentCreate(
                code="xn_civil",
                name="西宁市民政局",
                credit_code=uscc.make("1", "1", "630100", "MA000001"),
                region_code="630102",
            ),
        )
    with TestClient(create_app(settings)) as client:
        yield World(db, settings, client, dept.id)
    db.dispose()
    store.close()


def _targets(w: World, path: str) -> dict[str, str]:
    """Fresh objects for the path's parameters, all inside the scoped roles' department."""
    targets = {
        "version_no": "1",
        "term": "低保",
        "identifier": "DE00001",
        "notification_id": "01a20000-0000-7000-8000-000000000000",
        "code": "630102",
        "department_id": w.dept_id,
    }
    if "{user_id}" in path or "{assignment_id}" in path:
        target = w.user(DU)
        targets["user_id"] = target.id
        with w.system().act() as ctx:
            targets["assignment_id"] = actions.get_user(ctx, target.id).roles[0].id
    if "{credential_id}" in path:
        with w.system().act() as ctx:
            cred = actions.create_credential(
                ctx,
                CredentialCreate(
                    name=f"app{next(_serial)}",
                    department_id=w.dept_id,
                    scopes=["department.read"],
                    days=30,
                ),
            )
        targets["credential_id"] = cred.credential.id
    if "{job_id}" in path:
        with w.db.transaction() as s:
            job, _ = queue.enqueue(s, kind="matrix.noop", payload={}, max_attempts=3)
        targets["job_id"] = job.id
    if "{ref}" in path:
        with w.system().act() as ctx:
            entry = catalog_actions.create_entry(
                ctx, EntryCreate(classification_code="101001", provider_code="xn_civil", **_ENTRY)
            )
            catalog_actions.submit_entry(ctx, entry.id)
            catalog_actions.publish_entry(ctx, entry.id, PublishRequest())
        targets["ref"] = entry.resource_code
    for ext in EXTENSIONS:
        targets.update(ext.targets(w, path))
    return targets


_ENTRY: dict[str, Any] = {
    "name": "低保对象信息",
    "summary": "城乡最低生活保障对象信息。",
    "format": "database",
    "share_type": "unconditional",
    "share_modes": ["api"],
    "open_type": "closed",
    "update_cycle": "monthly",
    "grade": 2,
    "contact_name": "李明",
    "contact_phone": "0971-6100000",
    "items": [
        {
            "name": "姓名",
            "name_en": "name",
            "data_type": "string",
            "length": 50,
            "grade": 2,
            "data_element": "DE00002",
        },
    ],
}


def _body(method: str, path: str, w: World, me: User | None) -> Any:
    n = next(_serial)
    bodies: dict[tuple[str, str], Callable[[], Any]] = {
        ("POST", "/api/v1/auth/token"): lambda: {
            "username": me.username if me else "nobody",
            "password": PASSWORD,
        },
        ("PATCH", "/api/v1/me"): lambda: {"locale": "en"},
        ("POST", "/api/v1/me/password"): lambda: {
            "current_password": PASSWORD,
            "new_password": f"Changed@{n}xyzw",
        },
        ("POST", "/api/v1/me/totp/confirm"): lambda: {"code": "000000"},
        ("POST", "/api/v1/regions"): lambda: {
            "code": f"6301{n % 90 + 10:02d}",
            "name": f"新区{n}",
            "parent_code": "630100",
        },
        ("POST", "/api/v1/departments"): lambda: {
            "code": f"dept{n}",
            "name": f"测试局{n}",
            "credit_code": uscc.make("1", "1", "630100", f"MB{n:06d}"),
            "region_code": "630102",
        },
        ("PATCH", "/api/v1/departments/{department_id}"): lambda: {"short_name": f"简称{n}"},
        ("POST", "/api/v1/users"): lambda: {
            "username": f"new{n}",
            "display_name": "新用户",
            "password": PASSWORD,
            "department_id": w.dept_id,
            "roles": [{"role": "dept_user", "department_id": w.dept_id}],
        },
        ("PATCH", "/api/v1/users/{user_id}"): lambda: {"display_name": f"改名{n}"},
        ("POST", "/api/v1/users/{user_id}/reset-password"): lambda: {
            "new_password": f"Reset@{n}abcd"
        },
        ("POST", "/api/v1/users/{user_id}/roles"): lambda: {
            "role": "dept_officer",
            "department_id": w.dept_id,
        },
        ("POST", "/api/v1/credentials"): lambda: {
            "name": f"cred{n}",
            "department_id": w.dept_id,
            "scopes": ["department.read"],
            "days": 10,
        },
        ("POST", "/api/v1/jobs"): lambda: {"kind": "matrix.noop"},
        ("POST", "/api/v1/catalog/entries"): lambda: {
            "classification_code": "101001",
            "provider_code": "xn_civil",
            **_ENTRY,
        },
        ("PUT", "/api/v1/catalog/entries/{ref}"): lambda: _ENTRY,
        ("POST", "/api/v1/catalog/entries/{ref}/return"): lambda: {"reasons": {"name": "x"}},
        ("POST", "/api/v1/catalog/entries/{ref}/withdraw"): lambda: {"reason": "停止采集"},
        ("POST", "/api/v1/catalog/classes"): lambda: {
            "parent_code": "101",
            "segment": f"{n % 800 + 100:03d}",
            "name": f"测试目{n}",
        },
        ("PATCH", "/api/v1/catalog/classes/{code}"): lambda: {"name": f"改名{n}"},
        ("PUT", "/api/v1/catalog/synonyms/{term}"): lambda: {"synonyms": ["最低生活保障"]},
        ("POST", "/api/v1/catalog/national/import"): lambda: {},
        ("POST", "/api/v1/standards/data-elements"): lambda: {
            "identifier": f"DE9{n:04d}",
            "name": f"测试数据元{n}",
            "data_type": "string",
            "max_length": 10,
        },
        ("PUT", "/api/v1/standards/data-elements/{identifier}"): lambda: {
            "name": "公民身份号码",
            "data_type": "string",
            "max_length": 18,
        },
        ("POST", "/api/v1/standards/code-sets"): lambda: {
            "identifier": f"TEST-{n}",
            "name": f"测试代码集{n}",
            "values": [{"code": "1", "label": "是"}],
        },
        ("PUT", "/api/v1/standards/code-sets/{identifier}"): lambda: {"name": "改名"},
        ("PUT", "/api/v1/job-queues"): lambda: {"name": f"q{n}", "concurrency": 2},
        ("PUT", "/api/v1/job-schedules"): lambda: {
            "name": f"s{n}",
            "cron": "0 2 * * *",
            "kind": "matrix.noop",
        },
    }
    make = bodies.get((method, path))
    if make is not None:
        return make()
    for ext in EXTENSIONS:
        if (method, path) in ext.BODIES:
            return ext.BODIES[(method, path)](w, n)
    return None


def _api_routes(w: World) -> list[tuple[str, str]]:
    # The OpenAPI document lists every API route FastAPI serves (portal pages are excluded).
    paths = w.client.get("/api/v1/openapi.json").json()["paths"]
    return [(m.upper(), p) for p, ops in paths.items() for m in ops if p.startswith("/api/v1")]


def test_every_api_route_is_in_the_table(world: World) -> None:
    routes = set(_api_routes(world))
    assert routes - EXPECTED.keys() == set(), "add these routes to EXPECTED"
    assert EXPECTED.keys() - routes == set(), "these routes no longer exist"


def _check_token_grant(role: Role | None, status: int, body: dict[str, Any]) -> None:
    """The password grant is open to all; privileged accounts need TOTP outside the demo."""
    if role is None:
        assert (status, body["error"]["code"]) == (401, "invalid_credentials")
    elif role in PRIVILEGED_ROLES:
        assert (status, body["error"]["code"]) == (403, "mfa_enrollment_required")
    else:
        assert status == 200 and body["token_type"] == "bearer", body


@pytest.mark.parametrize(("method", "path"), sorted(EXPECTED))
def test_route_allows_exactly_the_expected_roles(world: World, method: str, path: str) -> None:
    expected = EXPECTED[(method, path)]
    outcomes: dict[str, int] = {}
    for role in [None, *Role]:
        me = world.user(role) if role is not None else None
        url = path.format(**_targets(world, path))
        headers = {"authorization": f"Bearer {world.token(me)}"} if me and role else {}
        body = _body(method, path, world, me)
        if role is None:
            # Anonymous: the public route answers, everything else is 401 with the envelope.
            headers = {}
        url += QUERY.get((method, path), "")
        if (method, path) in UPLOADS:
            form, field = UPLOADS[(method, path)]
            files = {field: ("import.xlsx", b"not a workbook", "application/octet-stream")}
            resp = world.client.request(method, url, headers=headers, data=form, files=files)
        else:
            resp = world.client.request(method, url, headers=headers, json=body)
        key = role.value if role else "anonymous"
        outcomes[key] = resp.status_code
        if expected == PUBLIC:
            if path == "/api/v1/auth/token":
                _check_token_grant(role, resp.status_code, resp.json())
            else:
                # Anyone may call it, signed in or not: never refused, never a crash.
                assert resp.status_code not in (401, 403), (key, resp.status_code, resp.text)
                assert resp.status_code < 500, (key, resp.text)
            continue
        if role is None:
            assert resp.status_code == 401, (key, resp.text)
            assert resp.json()["error"]["code"] in ("not_authenticated",)
        elif role in expected:
            assert resp.status_code not in (401, 403), (key, resp.status_code, resp.text)
            assert resp.status_code < 500, (key, resp.text)
        else:
            assert resp.status_code == 403, (key, resp.status_code, resp.text)
            assert resp.json()["error"]["code"] == "permission_denied"


# What the auditor may do besides reading: its own account and notifications, checking an
# entry's content (a dry run that stores nothing), and starting a verification of the
# ledger (which records only its outcome).
AUDITOR_ACTS = {
    ("POST", "/api/v1/catalog/entries/{ref}/check"),
    ("POST", "/api/v1/notifications/{notification_id}/read"),
    ("POST", "/api/v1/notifications/read-all"),
    ("PATCH", "/api/v1/me"),
    ("POST", "/api/v1/me/password"),
    ("POST", "/api/v1/me/logout-all"),
    ("POST", "/api/v1/me/totp"),
    ("POST", "/api/v1/me/totp/confirm"),
    ("POST", "/api/v1/audit/verification"),
}


def test_the_auditor_changes_nothing_and_the_operator_reads_no_audit_trail() -> None:
    """三员分立, read off the table above: every route the auditor may call that is not a
    read is listed in AUDITOR_ACTS; no route that returns audit records admits the operator."""
    auditor_changes = {
        (m, p)
        for (m, p), allowed in EXPECTED.items()
        if m != "GET" and allowed != PUBLIC and A in allowed
    }
    assert auditor_changes == AUDITOR_ACTS
    trail = [("GET", "/api/v1/audit/records"), ("GET", "/api/v1/audit/verification")]
    for route in trail:
        allowed = EXPECTED[route]
        assert allowed != PUBLIC and OP not in allowed and A in allowed, route
