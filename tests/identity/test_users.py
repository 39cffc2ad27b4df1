"""Users and roles: creation, password policy, separation of duties, who may manage whom."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from govdata.core.errors import Conflict, InvalidInput, NotAuthenticated, PermissionDenied
from govdata.identity import actions
from govdata.identity.models import User
from govdata.identity.schemas import (
    LocaleUpdate,
    PasswordChange,
    PasswordReset,
    RoleAssignmentIn,
    UserCreate,
    UserUpdate,
)
from govdata.security.permissions import Role
from tests.identity.conftest import PASSWORD, Org, audit_rows, count


def new_user(org: Org, username: str, password: str = PASSWORD, **kw: object) -> UserCreate:
    return UserCreate(username=username, display_name="张三", password=password, **kw)  # type: ignore[arg-type]


def test_create_user_stores_lowercase_and_hides_secrets(org: Org) -> None:
    with org.system.act() as ctx:
        out = actions.create_user(
            ctx, new_user(org, "Zhang.San", department_code="police", email="z@example.cn")
        )
    assert out.username == "zhang.san" and out.department_code == "police"
    dumped = out.model_dump()
    assert "password_hash" not in dumped and "totp_secret" not in dumped
    with org.db.transaction() as s:
        stored = s.scalars(select(User).where(User.username == "zhang.san")).one()
        assert stored.password_hash.startswith("$argon2id$")
    assert audit_rows(org.db, "user.create")[-1]["target_id"] == out.id


def test_duplicate_username_changes_nothing(org: Org) -> None:
    users, roles = count(org.db, "users"), count(org.db, "role_assignments")
    with pytest.raises(Conflict) as exc, org.system.act() as ctx:
        actions.create_user(
            ctx, new_user(org, "XN_Clerk", roles=[RoleAssignmentIn(role=Role.AUDITOR)])
        )
    assert exc.value.code == "username_taken" and exc.value.status == 409
    assert (count(org.db, "users"), count(org.db, "role_assignments")) == (users, roles)


@pytest.mark.parametrize(
    ("password", "reasons"),
    [
        ("Ab1!", ["too_short"]),
        ("abcdefghijkl", ["too_few_character_classes"]),
        ("abcdefgh1234", ["too_few_character_classes"]),
        ("Wangwu@2026x", ["contains_username"]),
    ],
)
def test_password_policy(org: Org, password: str, reasons: list[str]) -> None:
    with pytest.raises(InvalidInput) as exc, org.system.act() as ctx:
        actions.create_user(ctx, new_user(org, "wangwu", password))
    assert exc.value.code == "weak_password"
    assert exc.value.details == {"reasons": reasons}


def test_password_policy_accepts_three_classes(org: Org) -> None:
    with org.system.act() as ctx:
        out = actions.create_user(ctx, new_user(org, "lisi", "abcdefgh12中文"))
    assert out.username == "lisi"


def test_separation_of_duties(org: Org) -> None:
    with pytest.raises(Conflict) as exc, org.system.act() as ctx:
        actions.create_user(
            ctx,
            new_user(
                org,
                "twohats",
                roles=[RoleAssignmentIn(role=Role.OPERATOR), RoleAssignmentIn(role=Role.AUDITOR)],
            ),
        )
    assert exc.value.code == "separation_of_duties"
    assert count(org.db, "users") == len(org.users)
    with pytest.raises(Conflict) as exc, org.system.act() as ctx:
        actions.assign_role(ctx, org.users["operator"], RoleAssignmentIn(role=Role.SECADMIN))
    assert exc.value.code == "separation_of_duties"
    with org.system.act() as ctx:
        out = actions.assign_role(
            ctx,
            org.users["operator"],
            RoleAssignmentIn(role=Role.DEPT_USER, department_code="police"),
        )
    assert {r.role for r in out.roles} == {Role.OPERATOR, Role.DEPT_USER}


@pytest.mark.parametrize(
    "assignment",
    [
        RoleAssignmentIn(role=Role.OPERATOR, region_code="630000"),
        RoleAssignmentIn(role=Role.REGION_OPERATOR),
        RoleAssignmentIn(role=Role.DEPT_USER),  # the user has no department
        RoleAssignmentIn(role=Role.DEPT_USER, region_code="630000"),
    ],
)
def test_role_scope_rules(org: Org, assignment: RoleAssignmentIn) -> None:
    with pytest.raises(InvalidInput) as exc, org.system.act() as ctx:
        actions.assign_role(ctx, org.users["operator"], assignment)
    assert exc.value.code == "invalid_role_scope"


def test_role_assign_revoke_and_duplicates(org: Org) -> None:
    with org.system.act() as ctx:
        out = actions.assign_role(
            ctx, org.users["xn_clerk"], RoleAssignmentIn(role=Role.DEPT_OFFICER)
        )
    officer = next(r for r in out.roles if r.role == Role.DEPT_OFFICER)
    assert officer.department_id == org.dept["xn_stats"]
    with pytest.raises(Conflict) as exc, org.system.act() as ctx:
        actions.assign_role(ctx, org.users["xn_clerk"], RoleAssignmentIn(role=Role.DEPT_OFFICER))
    assert exc.value.code == "role_already_assigned"
    with org.system.act() as ctx:
        out = actions.revoke_role(ctx, org.users["xn_clerk"], officer.id)
    assert [r.role for r in out.roles] == [Role.DEPT_USER]
    assert audit_rows(org.db, "user.role_revoke")[-1]["details"]["assignment_id"] == officer.id


def test_region_operator_manages_users_in_its_subtree_only(org: Org) -> None:
    admin = org.as_("xn_admin")
    with admin.act() as ctx:
        made = actions.create_user(
            ctx,
            new_user(
                org, "cd_officer", department_code="cd_health",
                roles=[RoleAssignmentIn(role=Role.DEPT_OFFICER)],
            ),
        )  # fmt: skip
        actions.update_user(ctx, org.users["xn_clerk"], UserUpdate(display_name="小王"))
        visible = actions.list_users(ctx)
    assert made.roles[0].department_id == org.dept["cd_health"]
    assert {u.username for u in visible.items} == {
        "xn_officer",
        "xn_clerk",
        "cd_clerk",
        "cd_officer",
    }
    assert visible.total == 4
    for act in (
        lambda ctx: actions.create_user(ctx, new_user(org, "hx_new", department_code="hx_stats")),
        lambda ctx: actions.disable_user(ctx, org.users["hx_officer"]),
        lambda ctx: actions.get_user(ctx, org.users["hx_officer"]),
        lambda ctx: actions.create_user(ctx, new_user(org, "nodept")),
        lambda ctx: actions.assign_role(
            ctx, org.users["xn_clerk"], RoleAssignmentIn(role=Role.AUDITOR)
        ),
        lambda ctx: actions.assign_role(
            ctx,
            org.users["xn_clerk"],
            RoleAssignmentIn(role=Role.REGION_OPERATOR, region_code="632800"),
        ),
    ):
        with pytest.raises(PermissionDenied), admin.act() as ctx:
            act(ctx)


def test_region_operator_cannot_take_over_a_platform_account(org: Org) -> None:
    # An auditor who happens to sit in a Xining department is still out of xn_admin's reach.
    org.add_user("xn_auditor", department="xn_stats")
    with org.system.act() as ctx:
        actions.assign_role(ctx, org.users["xn_auditor"], RoleAssignmentIn(role=Role.AUDITOR))
    with pytest.raises(PermissionDenied), org.as_("xn_admin").act() as ctx:
        actions.reset_password(
            ctx, org.users["xn_auditor"], PasswordReset(new_password="N3w!passwd")
        )


def test_dept_officer_sees_only_its_department_users(org: Org) -> None:
    with org.as_("xn_officer").act() as ctx:
        page = actions.list_users(ctx)
        actions.get_user(ctx, org.users["xn_clerk"])
    assert {u.username for u in page.items} == {"xn_officer", "xn_clerk"}
    with pytest.raises(PermissionDenied), org.as_("xn_officer").act() as ctx:
        actions.get_user(ctx, org.users["cd_clerk"])
    with pytest.raises(PermissionDenied), org.as_("xn_officer").act() as ctx:
        actions.disable_user(ctx, org.users["xn_clerk"])


def test_list_users_filters_and_pages(org: Org) -> None:
    with org.system.act() as ctx:
        officers = actions.list_users(ctx, role=Role.DEPT_OFFICER)
        in_dept = actions.list_users(ctx, department_id=org.dept["xn_stats"])
        q = actions.list_users(ctx, q="clerk")
        first = actions.list_users(ctx, limit=4)
        rest = actions.list_users(ctx, limit=4, cursor=first.next_cursor)
    assert {u.username for u in officers.items} == {"xn_officer", "hx_officer"}
    assert {u.username for u in in_dept.items} == {"xn_officer", "xn_clerk"}
    assert {u.username for u in q.items} == {"xn_clerk", "cd_clerk"}
    assert [u.username for u in first.items + rest.items] == sorted(org.users)
    assert first.total == len(org.users)


def test_own_account_actions(org: Org) -> None:
    me = org.as_("xn_clerk")
    with me.act() as ctx:
        out = actions.set_own_locale(ctx, LocaleUpdate(locale="en"))
    assert out.locale == "en" and out.department and out.department.code == "xn_stats"
    assert out.region and out.region.path == "630000/630100"
    with pytest.raises(InvalidInput) as exc, me.act() as ctx:
        actions.change_own_password(
            ctx, PasswordChange(current_password="wrong", new_password="An0ther!pass")
        )
    assert exc.value.code == "wrong_password"
    with me.act() as ctx:
        actions.change_own_password(
            ctx, PasswordChange(current_password=PASSWORD, new_password="An0ther!pass")
        )
    assert audit_rows(org.db, "user.password_change")[-1]["target_id"] == org.users["xn_clerk"]
    with pytest.raises(NotAuthenticated), org.system.act() as ctx:
        actions.get_me(ctx)


def test_list_roles_catalogue(org: Org) -> None:
    with org.as_("operator").act() as ctx:
        roles = {r.role: r for r in actions.list_roles(ctx)}
    assert set(roles) == set(Role)
    assert roles[Role.OPERATOR].separated and roles[Role.OPERATOR].scope == "platform"
    assert roles[Role.REGION_OPERATOR].scope == "region"
    assert roles[Role.DEPT_USER].label_zh == "部门用户"
