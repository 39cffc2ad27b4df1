"""Seed the demo province through the identity actions: regions, departments, users for every role.

Everything goes through ``identity.actions`` as the system actor, one action
per transaction, so the demo's organisation is audited like any other. The
seeding is get-or-create: what already exists is left alone, so an
interrupted build can simply be run again.

Logins: the three separated administrators ``operator``, ``secadmin`` and
``auditor`` (in the platform department ``gov_office``), one region operator
per prefecture (``xn_operator`` for 西宁市, ...), and for every department a
data officer ``<code>_officer`` and a user ``<code>_user``. All share the
published demo password (``Settings.demo_password``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from govdata.config import Settings
from govdata.core.db import Database
from govdata.demo.departments import (
    PLATFORM_DEPARTMENT,
    DepartmentSeed,
    all_departments,
    region_operator_department,
)
from govdata.demo.divisions import COUNTIES, PREFECTURES, PROVINCE_CODE, PROVINCE_NAME
from govdata.identity import actions
from govdata.identity.schemas import DepartmentCreate, RegionCreate, RoleAssignmentIn, UserCreate
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM
from govdata.security.permissions import ROLE_LABELS, Role

# The demo password is published, so a slow hash protects nothing during seeding;
# these costs keep seeding a few hundred users fast, and the first login rehashes
# at the configured cost.
SEED_ARGON2_TIME_COST = 1
SEED_ARGON2_MEMORY_KIB = 8192


@dataclass(frozen=True)
class Login:
    username: str
    display_name: str
    role: Role
    department_code: str
    department_name: str
    department_short: str
    region_code: str | None = None

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role][0]


@dataclass
class SeedResult:
    regions: int = 0
    departments: int = 0
    users: int = 0
    created: dict[str, int] = field(
        default_factory=lambda: {"regions": 0, "departments": 0, "users": 0}
    )


def _dept(d: DepartmentSeed) -> tuple[str, str, str]:
    return d.code, d.name, d.short_name


def logins() -> list[Login]:
    """Every demo account, in the order the demo prints them."""
    departments = {d.code: d for d in all_departments()}
    platform = departments[PLATFORM_DEPARTMENT]
    found = [
        Login("operator", "平台运营管理员", Role.OPERATOR, *_dept(platform)),
        Login("secadmin", "安全管理员", Role.SECADMIN, *_dept(platform)),
        Login("auditor", "审计管理员", Role.AUDITOR, *_dept(platform)),
    ]
    for p in PREFECTURES:
        dept = departments[region_operator_department(p)]
        found.append(
            Login(
                f"{p.slug}_operator",
                f"{p.short}运营管理员",
                Role.REGION_OPERATOR,
                *_dept(dept),
                region_code=p.code,
            )
        )
    for d in departments.values():
        found.append(
            Login(f"{d.code}_officer", f"{d.short_name}数据管理员", Role.DEPT_OFFICER, *_dept(d))
        )
        found.append(Login(f"{d.code}_user", f"{d.short_name}业务用户", Role.DEPT_USER, *_dept(d)))
    return found


def _seed_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "argon2_time_cost": min(settings.argon2_time_cost, SEED_ARGON2_TIME_COST),
            "argon2_memory_kib": min(settings.argon2_memory_kib, SEED_ARGON2_MEMORY_KIB),
        }
    )


def _regions(caller: Caller, result: SeedResult) -> None:
    with caller.act() as ctx:
        existing = {r.code for r in actions.list_regions(ctx)}
    wanted = [RegionCreate(code=PROVINCE_CODE, name=PROVINCE_NAME)]
    wanted += [
        RegionCreate(code=p.code, name=p.name, parent_code=PROVINCE_CODE) for p in PREFECTURES
    ]
    wanted += [RegionCreate(code=c.code, name=c.name, parent_code=c.prefecture) for c in COUNTIES]
    for region in wanted:
        result.regions += 1
        if region.code in existing:
            continue
        with caller.act() as ctx:
            actions.create_region(ctx, region)
        result.created["regions"] += 1


def _existing_departments(caller: Caller) -> set[str]:
    found: set[str] = set()
    cursor: str | None = None
    while True:
        with caller.act() as ctx:
            page = actions.list_departments(ctx, limit=200, cursor=cursor)
        found.update(d.code for d in page.items)
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


def _existing_users(caller: Caller) -> set[str]:
    found: set[str] = set()
    cursor: str | None = None
    while True:
        with caller.act() as ctx:
            page = actions.list_users(ctx, limit=200, cursor=cursor)
        found.update(u.username for u in page.items)
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


def _departments(caller: Caller, seeds: list[DepartmentSeed], result: SeedResult) -> None:
    existing = _existing_departments(caller)
    for d in seeds:
        result.departments += 1
        if d.code in existing:
            continue
        with caller.act() as ctx:
            actions.create_department(
                ctx,
                DepartmentCreate(
                    code=d.code,
                    name=d.name,
                    short_name=d.short_name,
                    credit_code=d.credit_code,
                    region_code=d.region_code,
                ),
            )
        result.created["departments"] += 1


def _users(caller: Caller, password: str, result: SeedResult) -> None:
    existing = _existing_users(caller)
    for login in logins():
        result.users += 1
        if login.username in existing:
            continue
        role = RoleAssignmentIn(role=login.role, region_code=login.region_code)
        with caller.act() as ctx:
            actions.create_user(
                ctx,
                UserCreate(
                    username=login.username,
                    display_name=login.display_name,
                    password=password,
                    department_code=login.department_code,
                    roles=[role],
                ),
            )
        result.created["users"] += 1


def seed_province(db: Database, settings: Settings) -> SeedResult:
    """Create Qinghai's regions, departments and demo users that do not exist yet."""
    caller = Caller(db, _seed_settings(settings), SYSTEM, "demo")
    result = SeedResult()
    _regions(caller, result)
    _departments(caller, all_departments(), result)
    _users(caller, settings.demo_password, result)
    return result


def store_is_empty(db: Database, settings: Settings) -> bool:
    """True when the store holds no regions yet (nothing to collide with)."""
    with Caller(db, settings, SYSTEM, "demo").act() as ctx:
        return not actions.list_regions(ctx)
