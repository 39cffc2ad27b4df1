"""Role scopes and separation of duties (三员分立) at the level of the permission table."""

from __future__ import annotations

import pytest

from govdata.security.context_types import Actor
from govdata.security.permissions import (
    ROLE_PERMISSIONS,
    SEPARATED_ROLES,
    Perm,
    Role,
    RoleGrant,
    Scope,
    allows,
)

XINING = "630000/630100"
HAIDONG = "630000/630200"


@pytest.mark.parametrize(
    ("grant", "target", "expected"),
    [
        (RoleGrant(Role.OPERATOR), Scope(XINING + "/630102", "d1"), True),
        (RoleGrant(Role.REGION_OPERATOR, region_path=XINING), Scope(XINING), True),
        (RoleGrant(Role.REGION_OPERATOR, region_path=XINING), Scope(XINING + "/630102"), True),
        (RoleGrant(Role.REGION_OPERATOR, region_path=XINING), Scope(HAIDONG), False),
        # A sibling whose code shares a prefix must not match: 630100 vs 6301001.
        (RoleGrant(Role.REGION_OPERATOR, region_path=XINING), Scope(XINING + "1"), False),
        (RoleGrant(Role.REGION_OPERATOR, region_path=XINING), Scope(None, "d1"), False),
        (RoleGrant(Role.DEPT_OFFICER, department_id="d1"), Scope(XINING, "d1"), True),
        (RoleGrant(Role.DEPT_OFFICER, department_id="d1"), Scope(XINING, "d2"), False),
        (RoleGrant(Role.DEPT_OFFICER, department_id="d1"), None, True),
    ],
)
def test_grant_covers(grant: RoleGrant, target: Scope | None, expected: bool) -> None:
    assert grant.covers(target) is expected


def test_separated_roles_do_not_overlap_in_powers() -> None:
    operator, secadmin, auditor = (ROLE_PERMISSIONS[r] for r in SEPARATED_ROLES_ORDER)
    assert Perm.AUDIT_READ not in operator
    assert Perm.SECURITY_MANAGE not in operator
    # Besides its own notifications, the security administrator holds policies and keys only.
    assert secadmin == {Perm.SECURITY_MANAGE, Perm.NOTIFICATION_READ}
    # The auditor reads; nothing it holds changes state.
    assert all(p.value.endswith(".read") for p in auditor)
    assert Perm.AUDIT_READ in auditor


SEPARATED_ROLES_ORDER = (Role.OPERATOR, Role.SECADMIN, Role.AUDITOR)


def test_separated_roles_are_the_three_administrators() -> None:
    assert set(SEPARATED_ROLES_ORDER) == SEPARATED_ROLES


def test_app_token_scopes_narrow_the_role() -> None:
    grants = (RoleGrant(Role.DEPT_OFFICER, department_id="d1"),)
    scoped = Actor("app", "a1", "app", grants, token_scopes=frozenset({"user.read"}))
    assert scoped.can(Perm.USER_READ, Scope(None, "d1"))
    assert not scoped.can(Perm.CREDENTIAL_MANAGE, Scope(None, "d1"))
    assert allows(list(grants), Perm.CREDENTIAL_MANAGE, Scope(None, "d1"))
