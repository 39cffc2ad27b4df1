"""Regions (GB/T 2260 tree) and departments: code rules, USCC, scope of who manages what."""

from __future__ import annotations

import pytest

from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from govdata.identity import actions
from govdata.identity.schemas import DepartmentCreate, DepartmentUpdate, RegionCreate
from tests.identity.conftest import Org, audit_rows, count, credit_code


def test_region_tree_paths_and_levels(org: Org) -> None:
    with org.system.act() as ctx:
        county = actions.get_region(ctx, "630102")
        flat = actions.list_regions(ctx)
        children = actions.list_regions(ctx, parent_code="630000")
        tree = actions.list_regions(ctx, tree=True)
    assert county.path == "630000/630100/630102"
    assert county.level == "county" and county.parent_code == "630100"
    assert [r.code for r in flat] == ["630000", "630100", "630102", "632800", "632801"]
    assert [r.code for r in children] == ["630100", "632800"]
    assert [r.code for r in tree] == ["630000"]
    assert [c.code for c in tree[0].children] == ["630100", "632800"]
    assert [c.code for c in tree[0].children[0].children] == ["630102"]


@pytest.mark.parametrize(
    ("code", "parent", "error"),
    [
        ("63010", "630100", "invalid_region_code"),
        ("63A102", "630100", "invalid_region_code"),
        ("640102", "630100", "invalid_region_code"),  # county outside its prefecture
        ("630200", "630100", "invalid_region_code"),  # prefecture under a prefecture
        ("640100", "630000", "invalid_region_code"),  # prefecture of another province
        ("640000", "630000", "invalid_region_code"),  # province with a parent
        ("630103", None, "invalid_region_code"),  # county without a parent
        ("630103", "630900", "unknown_region"),
    ],
)
def test_region_code_rules(org: Org, code: str, parent: str | None, error: str) -> None:
    before = count(org.db, "regions")
    with pytest.raises(InvalidInput) as exc, org.system.act() as ctx:
        actions.create_region(ctx, RegionCreate(code=code, name="x", parent_code=parent))
    assert exc.value.code == error
    assert count(org.db, "regions") == before


def test_duplicate_region_and_unknown_lookup(org: Org) -> None:
    with pytest.raises(Conflict) as exc, org.system.act() as ctx:
        actions.create_region(ctx, RegionCreate(code="630100", name="x", parent_code="630000"))
    assert exc.value.code == "region_exists"
    with pytest.raises(NotFound), org.system.act() as ctx:
        actions.get_region(ctx, "639999")


def test_only_the_operator_manages_regions(org: Org) -> None:
    with pytest.raises(PermissionDenied), org.as_("xn_admin").act() as ctx:
        actions.create_region(ctx, RegionCreate(code="630105", name="城北区", parent_code="630100"))
    with org.as_("operator").act() as ctx:
        out = actions.create_region(
            ctx, RegionCreate(code="630105", name="城北区", parent_code="630100")
        )
    assert out.path == "630000/630100/630105"
    assert audit_rows(org.db, "region.create")[-1]["actor_name"] == "operator"


def test_department_scope_and_audit(org: Org) -> None:
    with org.system.act() as ctx:
        dept = actions.get_department(ctx, org.dept["cd_health"])
    assert dept.region_path == "630000/630100/630102"
    rows = audit_rows(org.db, "department.create")
    assert {r["target_id"] for r in rows} == set(org.dept.values())


def test_invalid_uscc_writes_nothing(org: Org) -> None:
    before = count(org.db, "departments")
    audits = len(audit_rows(org.db, "department.create"))
    good = credit_code(99)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(InvalidInput) as exc, org.system.act() as ctx:
        actions.create_department(
            ctx,
            DepartmentCreate(code="bad_one", name="坏部门", credit_code=bad, region_code="630000"),
        )
    assert exc.value.code == "invalid_uscc" and exc.value.status == 422
    assert count(org.db, "departments") == before
    assert len(audit_rows(org.db, "department.create")) == audits


def test_department_unknown_region_and_duplicates(org: Org) -> None:
    cases = [
        (dict(code="x_dept", name="某局", credit_code=credit_code(50), region_code="639900"),
         "unknown_region"),
        (dict(code="police", name="另一个局", credit_code=credit_code(51), region_code="630000"),
         "department_code_taken"),
        (dict(code="police2", name="青海省公安厅", credit_code=credit_code(52),
              region_code="630000"), "department_name_taken"),
        (dict(code="police3", name="别的局", credit_code=credit_code(1), region_code="630000"),
         "credit_code_taken"),
    ]  # fmt: skip
    before = count(org.db, "departments")
    for data, code in cases:
        with pytest.raises((InvalidInput, Conflict)) as exc, org.system.act() as ctx:
            actions.create_department(ctx, DepartmentCreate(**data))  # type: ignore[arg-type]
        assert exc.value.code == code
    assert count(org.db, "departments") == before


def test_region_operator_manages_only_its_subtree(org: Org) -> None:
    admin = org.as_("xn_admin")
    with admin.act() as ctx:
        made = actions.create_department(
            ctx,
            DepartmentCreate(
                code="cd_edu",
                name="城东区教育局",
                credit_code=credit_code(60),
                region_code="630102",
            ),
        )
        actions.update_department(ctx, org.dept["xn_stats"], DepartmentUpdate(short_name="统计局"))
    assert made.region_code == "630102"
    with pytest.raises(PermissionDenied), admin.act() as ctx:
        actions.update_department(ctx, org.dept["hx_stats"], DepartmentUpdate(short_name="x"))
    with pytest.raises(PermissionDenied), admin.act() as ctx:
        actions.create_department(
            ctx,
            DepartmentCreate(
                code="gem_x", name="格尔木市某局", credit_code=credit_code(61), region_code="632801"
            ),
        )
    with admin.act() as ctx:
        page = actions.list_departments(ctx)
    assert {d.code for d in page.items} == {"xn_stats", "cd_health", "cd_edu"}
    assert page.total == 3
    denied = audit_rows(org.db, "department.manage")
    assert denied and all(r["outcome"] == "denied" for r in denied)


def test_dept_officer_sees_only_its_department(org: Org) -> None:
    with org.as_("xn_officer").act() as ctx:
        page = actions.list_departments(ctx)
        own = actions.get_department(ctx, org.dept["xn_stats"])
    assert [d.code for d in page.items] == ["xn_stats"] and page.total == 1
    assert own.code == "xn_stats"
    with pytest.raises(PermissionDenied), org.as_("xn_officer").act() as ctx:
        actions.get_department(ctx, org.dept["hx_stats"])
    with pytest.raises(PermissionDenied), org.as_("xn_officer").act() as ctx:
        actions.update_department(ctx, org.dept["xn_stats"], DepartmentUpdate(short_name="x"))


def test_list_departments_search_filter_and_pages(org: Org) -> None:
    with org.system.act() as ctx:
        stats = actions.list_departments(ctx, q="统计")
        xining = actions.list_departments(ctx, region_code="630100")
        first = actions.list_departments(ctx, limit=3)
        rest = actions.list_departments(ctx, limit=3, cursor=first.next_cursor)
        by_code = actions.list_departments(ctx, q="POLICE")
    assert {d.code for d in stats.items} == {"xn_stats", "hx_stats"}
    assert {d.code for d in xining.items} == {"xn_stats", "cd_health"}
    assert first.total == rest.total == 4
    assert [d.code for d in first.items + rest.items] == sorted(org.dept)
    assert rest.next_cursor is None
    assert [d.code for d in by_code.items] == ["police"]


def test_update_department_validates_and_audits(org: Org) -> None:
    with pytest.raises(InvalidInput) as exc, org.system.act() as ctx:
        actions.update_department(ctx, org.dept["police"], DepartmentUpdate(credit_code="123"))
    assert exc.value.code == "invalid_uscc"
    with pytest.raises(InvalidInput) as exc, org.system.act() as ctx:
        actions.update_department(
            ctx, org.dept["police"], DepartmentUpdate(parent_id=org.dept["police"])
        )
    assert exc.value.code == "department_cycle"
    with org.system.act() as ctx:
        out = actions.update_department(
            ctx, org.dept["police"], DepartmentUpdate(short_name="公安厅", is_active=False)
        )
    assert out.short_name == "公安厅" and out.is_active is False
    row = audit_rows(org.db, "department.update")[-1]
    assert row["target_id"] == org.dept["police"]
