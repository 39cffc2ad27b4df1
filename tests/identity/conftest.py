"""Identity fixtures: cheap argon2, a small Qinghai organisation, callers acting as its people."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select, text

from govdata.config import Settings
from govdata.core.db import Database
from govdata.identity import actions, auth
from govdata.identity.models import User
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

PASSWORD = "Qinghai@2026x"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"argon2_time_cost": 1, "argon2_memory_kib": 1024})


def credit_code(n: int) -> str:
    return uscc.make("1", "1", "630000", f"MB{n:06d}")


def system(db: Database, settings: Settings) -> Caller:
    return Caller(db, settings, SYSTEM, "127.0.0.1")


def caller_for(db: Database, settings: Settings, username: str) -> Caller:
    with db.transaction() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        actor = auth.actor_for_user(user)
    return Caller(db, settings, actor, "127.0.0.1")


def audit_rows(db: Database, action: str) -> list[dict[str, object]]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT actor_name, action, target_type, target_id, outcome, details "
                "FROM audit_records WHERE action = :a ORDER BY at"
            ),
            {"a": action},
        )
        result = [dict(r._mapping) for r in rows]
    for row in result:
        # SQLite hands JSON back as text, PostgreSQL as objects.
        if isinstance(row["details"], str):
            row["details"] = json.loads(row["details"])
    return result


def count(db: Database, table: str) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


@dataclass
class Org:
    """Qinghai with Xining (630100, district 630102) and Haixi (632800, Golmud 632801)."""

    db: Database
    settings: Settings
    dept: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)

    def as_(self, username: str) -> Caller:
        return caller_for(self.db, self.settings, username)

    @property
    def system(self) -> Caller:
        return system(self.db, self.settings)

    def add_user(
        self, username: str, *roles: RoleAssignmentIn, department: str | None = None
    ) -> str:
        with self.system.act() as ctx:
            out = actions.create_user(
                ctx,
                UserCreate(
                    username=username,
                    display_name=username.title(),
                    password=PASSWORD,
                    department_id=self.dept[department] if department else None,
                    roles=list(roles),
                ),
            )
        self.users[username] = out.id
        return out.id


def build_org(db: Database, settings: Settings) -> Org:
    org = Org(db, settings)
    regions = [
        ("630000", "青海省", None),
        ("630100", "西宁市", "630000"),
        ("630102", "城东区", "630100"),
        ("632800", "海西蒙古族藏族自治州", "630000"),
        ("632801", "格尔木市", "632800"),
    ]
    departments = [
        ("police", "青海省公安厅", "630000"),
        ("xn_stats", "西宁市统计局", "630100"),
        ("cd_health", "城东区卫生健康局", "630102"),
        ("hx_stats", "海西州统计局", "632800"),
    ]
    with org.system.act() as ctx:
        for code, name, parent in regions:
            actions.create_region(ctx, RegionCreate(code=code, name=name, parent_code=parent))
        for i, (code, name, region) in enumerate(departments):
            out = actions.create_department(
                ctx,
                DepartmentCreate(
                    code=code, name=name, credit_code=credit_code(i + 1), region_code=region
                ),
            )
            org.dept[code] = out.id
    org.add_user("operator", RoleAssignmentIn(role=Role.OPERATOR))
    org.add_user("xn_admin", RoleAssignmentIn(role=Role.REGION_OPERATOR, region_code="630100"))
    org.add_user("xn_officer", RoleAssignmentIn(role=Role.DEPT_OFFICER), department="xn_stats")
    org.add_user("xn_clerk", RoleAssignmentIn(role=Role.DEPT_USER), department="xn_stats")
    org.add_user("cd_clerk", RoleAssignmentIn(role=Role.DEPT_USER), department="cd_health")
    org.add_user("hx_officer", RoleAssignmentIn(role=Role.DEPT_OFFICER), department="hx_stats")
    return org


@pytest.fixture
def org(db: Database, settings: Settings) -> Org:
    return build_org(db, settings)


@pytest.fixture
def demo_settings(settings: Settings) -> Callable[..., Settings]:
    def make(**update: object) -> Settings:
        return settings.model_copy(update=update)

    return make
