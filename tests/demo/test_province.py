"""Seeding the demo province through the identity actions, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.errors import Conflict
from govdata.demo import builder
from govdata.demo.departments import all_departments
from govdata.demo.province import logins, seed_province
from govdata.identity import actions, auth
from govdata.identity.schemas import RegionCreate
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM
from govdata.security.permissions import Role


def _all(caller: Caller, lister: Callable[..., Any]) -> list[Any]:
    """Every item of a paged identity listing."""
    items: list[Any] = []
    cursor = None
    while True:
        with caller.act() as ctx:
            page = lister(ctx, limit=200, cursor=cursor)
        items.extend(page.items)
        if page.next_cursor is None:
            return items
        cursor = page.next_cursor


@pytest.fixture
def demo_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"demo_mode": True, "argon2_time_cost": 1, "argon2_memory_kib": 1024}
    )


def test_seed_builds_the_province_and_logins_work(db: Database, demo_settings: Settings) -> None:
    result = seed_province(db, demo_settings)
    assert result.created == {
        "regions": 53,
        "departments": len(all_departments()),
        "users": len(logins()),
    }

    caller = Caller(db, demo_settings, SYSTEM, "test")
    with caller.act() as ctx:
        regions = actions.list_regions(ctx)
    departments = _all(caller, actions.list_departments)
    users = _all(caller, actions.list_users)
    levels = Counter(r.level for r in regions)
    assert levels == {"province": 1, "prefecture": 8, "county": 44}
    assert {r.path for r in regions if r.code == "630102"} == {"630000/630100/630102"}
    provincial = [d for d in departments if d.region_code == "630000"]
    assert len(provincial) >= 25
    assert len(departments) == len(all_departments())
    police = next(d for d in departments if d.code == "police")
    assert police.name == "青海省公安厅"
    xn_police = next(d for d in departments if d.code == "xn_police")
    assert xn_police.region_path == "630000/630100"

    by_name = {u.username: u for u in users}
    assert set(by_name) == {login.username for login in logins()}
    assert {r.role for u in users for r in u.roles} == set(Role)
    assert [r.role for r in by_name["operator"].roles] == [Role.OPERATOR]
    assert by_name["operator"].department_code == "gov_office"
    assert by_name["xn_operator"].roles[0].region_code == "630100"
    assert by_name["police_officer"].roles[0].department_name == "青海省公安厅"
    assert by_name["xn_police_user"].roles[0].role == Role.DEPT_USER

    for username in ("operator", "secadmin", "auditor", "xn_operator", "police_officer",
                     "hx_medins_user"):  # fmt: skip
        login = auth.authenticate(
            db, demo_settings, username, demo_settings.demo_password, None, "127.0.0.1"
        )
        assert login.username == username
        # Demo mode: privileged roles sign in without a second factor.
        assert not login.mfa_enrollment_required


@pytest.fixture
def sqlite_demo(sqlite_store_url: str, tmp_path: Path) -> Iterator[tuple[Database, Settings]]:
    """Behaviour that does not depend on the store runs on SQLite only, to keep the suite fast."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=sqlite_store_url,
        secret_key="test-secret-key-" + "x" * 32,
        embedded_worker=False,
        demo_mode=True,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )
    db = Database(settings.db_url)
    yield db, settings
    db.dispose()


def test_seeding_again_creates_nothing_and_strict_mode_wants_a_second_factor(
    sqlite_demo: tuple[Database, Settings],
) -> None:
    db, demo_settings = sqlite_demo
    seed_province(db, demo_settings)
    again = seed_province(db, demo_settings)
    assert again.created == {"regions": 0, "departments": 0, "users": 0}
    assert again.users == len(logins())
    strict = demo_settings.model_copy(update={"demo_mode": False})
    login = auth.authenticate(db, strict, "secadmin", strict.demo_password, None, "127.0.0.1")
    assert login.mfa_enrollment_required
    plain = auth.authenticate(db, strict, "police_user", strict.demo_password, None, "127.0.0.1")
    assert not plain.mfa_enrollment_required


def test_the_demo_refuses_a_store_that_is_not_a_demo(db: Database, demo_settings: Settings) -> None:
    with Caller(db, demo_settings, SYSTEM, "test").act() as ctx:
        actions.create_region(ctx, RegionCreate(code="110000", name="北京市"))
    plan = builder.plan("small", "sqlite", persons=50)
    with pytest.raises(Conflict) as caught:
        builder.build(demo_settings, db, plan)
    assert caught.value.code == "not_a_demo_store"
    assert builder.read_marker(demo_settings.data_dir) is None
