"""Schemathesis against the OpenAPI document of the whole ``/api/v1``: no input, valid or
not, makes the API answer 5xx, and every answer the document describes matches it.

The app runs in process (ASGI) on a migrated SQLite store seeded with a little of
everything (regions, departments, users, a published entry, a source, a mount, a pipeline
and a run, a lake table, and sharing's rows: a mounted entry another department gives the
seeded department a grant on, a demand, an application, an objection, an exemption, a
holiday, a subscription with a delivered file), once as the platform operator and once as
a department officer, the two roles that reach most routes. Generated path parameters are
swapped for the id of a seeded row in about half the cases (chosen from the generated
values, so deterministically), so reads and changes hit real rows as well as missing ones;
the user ids are another user's, never the caller's. Every call carries a freshly issued
bearer token, so a call that revokes the caller's tokens (``/me/logout-all``) does not
decide the next call's outcome.

Checks: ``not_a_server_error`` and ``response_schema_conformance`` (an answer whose status
the document describes matches its schema). ``status_code_conformance`` is not used: the
document declares only the success status and 422 per operation, not the 401/403/404/409
answers of the error envelope.

Bounded and deterministic: a fixed seed, ``derandomize``, a few examples per operation,
no example database, the coverage phase off.
"""

from __future__ import annotations

import itertools
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import response_schema_conformance

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
from govdata.security.permissions import Role
from govdata.standards import uscc
from tests import matrix_exchange, matrix_sharing, matrix_sources
from tests.conftest import fresh_store

ROLES = (Role.OPERATOR, Role.DEPT_OFFICER)
SEED = 20260507
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
        "generation": {"mode": "all", "deterministic": True, "database": "none"},
    }
)
BASE_URL = f"http://{asgi.HOST}"
_serial = itertools.count(1)


@dataclass
class Api:
    """The seeded app, who calls it, and the seeded rows generated ids are swapped for."""

    db: Database
    settings: Settings
    dept_id: str
    app: FastAPI | None = None
    caller_id: str = ""
    real: dict[str, str] = field(default_factory=dict)

    def system(self) -> Caller:
        return Caller(self.db, self.settings, SYSTEM, "127.0.0.1")

    def token(self) -> str:
        with self.db.sessions() as s:
            user = s.get(User, self.caller_id)
            assert user is not None
            return auth.issue_access_token(self.settings, user)[0]


def _user(api: Api, role: Role, department_id: str | None) -> str:
    n = next(_serial)
    if role == Role.OPERATOR:
        roles = [RoleAssignmentIn(role=role)]
    else:
        roles = [RoleAssignmentIn(role=role, department_id=department_id)]
    with api.system().act() as ctx:
        return actions.create_user(
            ctx,
            UserCreate(
                username=f"st{n}_{role.value}",
                display_name=f"接口测试用户{n}",
                password="Schema@2026pw",
                department_id=department_id,
                roles=roles,
            ),
        ).id


def _seed(api: Api) -> None:
    with api.system().act() as ctx:
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
    api.dept_id = dept.id
    w: Any = api  # the matrix helpers take any object with db, settings and dept_id
    victim = _user(api, Role.DEPT_USER, dept.id)
    with api.system().act() as ctx:
        assignment = actions.get_user(ctx, victim).roles[0].id
        credential = actions.create_credential(
            ctx,
            CredentialCreate(
                name="接口测试应用", department_id=dept.id, scopes=["department.read"], days=30
            ),
        ).credential.id
        entry = catalog_actions.create_entry(
            ctx,
            EntryCreate(
                classification_code="101001",
                provider_code="xn_civil",
                name="低保对象信息",
                summary="城乡最低生活保障对象信息。",
                format="database",
                share_type="unconditional",
                share_modes=["api"],
                open_type="closed",
                update_cycle="monthly",
                grade=2,
                contact_name="李明",
                contact_phone="0971-6100000",
                items=[
                    {
                        "name": "姓名",
                        "name_en": "name",
                        "data_type": "string",
                        "length": 50,
                        "grade": 2,
                        "data_element": "DE00002",
                    }
                ],
            ),
        )
        catalog_actions.submit_entry(ctx, entry.id)
        catalog_actions.publish_entry(ctx, entry.id, PublishRequest())
    with api.db.transaction() as s:
        job, _ = queue.enqueue(s, kind="schema.noop", payload={}, max_attempts=3)
    api.real = {
        "code": "630102",
        "department_id": dept.id,
        "user_id": victim,
        "assignment_id": assignment,
        "credential_id": credential,
        "job_id": job.id,
        "ref": entry.resource_code,
        "version_no": "1",
        "identifier": "DE00001",
        "term": "低保",
        "source_id": matrix_sources.targets(w, "/api/v1/sources/{source_id}")["source_id"],
        "mount_id": matrix_exchange.targets(w, "/api/v1/mounts/{mount_id}")["mount_id"],
        "pipeline_id": matrix_exchange.targets(w, "/api/v1/pipelines/{pipeline_id}")["pipeline_id"],
        "run_id": matrix_exchange.targets(w, "/api/v1/runs/{run_id}")["run_id"],
        **matrix_sharing.seed_rows(w),
    }
    # Sharing's "name" is a subscription's delivered file; /lake/tables/{name} keeps the table.
    api.real["file"] = api.real.pop("name")
    api.real["name"] = matrix_exchange.targets(w, "/api/v1/lake/tables/{name}")["name"]


@pytest.fixture(scope="module", params=ROLES, ids=lambda r: r.value)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    tmp: Path = tmp_path_factory.mktemp("schema")
    store = fresh_store("sqlite", tmp, request)
    url = next(store)
    settings = Settings(
        data_dir=tmp / "data",
        database_url=url,
        secret_key="schema-secret-" + "k" * 40,
        embedded_worker=False,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )
    db = Database(url)
    seeded = Api(db, settings, "")
    _seed(seeded)
    role: Role = request.param
    seeded.caller_id = _user(seeded, role, None if role == Role.OPERATOR else seeded.dept_id)
    seeded.app = create_app(settings, migrate=False)
    yield seeded
    # schemathesis keeps the app's lifespan running for the process: end it with the store.
    asgi.shutdown_lifespans()
    db.dispose()
    store.close()


def _use_real_rows(case: Case, api: Api) -> None:
    """In about half the cases, put seeded ids in the path (the same choice for the same
    generated values). Sources only for reads: a changed connection would send the next
    test of it to wherever the generated settings point."""
    params = case.path_parameters or {}
    if not params or zlib.crc32(repr(sorted(params.items())).encode()) % 2:
        return
    for name in params:
        if name == "source_id" and case.method.upper() != "GET":
            continue
        key = "file" if name == "name" and "/files/" in case.operation.path else name
        if key in api.real:
            params[name] = api.real[key]


def _document() -> dict[str, Any]:
    """The OpenAPI document, read at collection time from an app that is never started (its
    routes do not depend on the store or the settings; the test checks that it is the one
    the seeded app serves)."""
    settings = Settings(
        data_dir=Path(tempfile.gettempdir()) / "govdata-openapi",
        database_url="sqlite://",
        secret_key="openapi-" + "k" * 40,
        embedded_worker=False,
    )
    return create_app(settings, migrate=False).openapi()


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG).include(path_regex="^/api/v1/")


@hypothesis.settings(
    max_examples=6,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
@schema.parametrize()
def test_api_v1_has_no_server_errors_and_matches_its_schema(case: Case, api: Api) -> None:
    _use_real_rows(case, api)
    case.call_and_validate(
        base_url=BASE_URL,
        app=api.app,
        headers={"authorization": f"Bearer {api.token()}"},
        checks=[not_a_server_error, response_schema_conformance],
    )


def test_the_document_is_the_one_the_seeded_app_serves(api: Api) -> None:
    assert api.app is not None
    assert api.app.openapi() == DOCUMENT
