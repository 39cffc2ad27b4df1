"""Lookups, scopes and output conversions shared by the identity actions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, false, func, or_, select, update
from sqlalchemy.orm import Session

from govdata.core.clock import as_utc, now
from govdata.core.errors import InvalidInput, NotFound
from govdata.identity.models import Department, Region, RoleAssignment, User, WebSession
from govdata.identity.schemas import DepartmentOut, RegionOut, RoleAssignmentOut, UserOut
from govdata.security.context import ActionContext
from govdata.security.permissions import ROLE_PERMISSIONS, Perm, Role, Scope

PLATFORM = Scope()
PLATFORM_ROLES = frozenset({Role.OPERATOR, Role.SECADMIN, Role.AUDITOR})
DEPARTMENT_ROLES = frozenset({Role.DEPT_OFFICER, Role.DEPT_USER})


def _unknown_region(code: str) -> InvalidInput:
    return InvalidInput(
        f"行政区划代码“{code}”不存在",
        f"Unknown region code '{code}'",
        code="unknown_region",
        details={"region_code": code},
    )


def _region_by_code(s: Session, code: str) -> Region | None:
    return s.scalars(select(Region).where(Region.code == code)).one_or_none()


def _input_region(s: Session, code: str) -> Region:
    region = _region_by_code(s, code)
    if region is None:
        raise _unknown_region(code)
    return region


def _subtree_ids(path: str) -> Select[str]:
    return select(Region.id).where(or_(Region.path == path, Region.path.like(path + "/%")))


def _department(s: Session, department_id: str) -> Department:
    dept = s.get(Department, department_id)
    if dept is None:
        raise NotFound("部门不存在", "Department not found", code="department_not_found")
    return dept


def _input_department(s: Session, department_id: str | None, code: str | None) -> Department:
    """A department named in request input: unknown is bad input (422), not a missing page."""
    if department_id is not None:
        dept = s.get(Department, department_id)
    else:
        dept = s.scalars(select(Department).where(Department.code == code)).one_or_none()
    if dept is None:
        raise InvalidInput(
            "部门不存在",
            "Unknown department",
            code="unknown_department",
            details={"department_id": department_id, "department_code": code},
        )
    return dept


def _user(s: Session, user_id: str) -> User:
    user = s.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在", "User not found", code="user_not_found")
    return user


def department_scope(dept: Department) -> Scope:
    return Scope(region_path=dept.region.path, department_id=dept.id)


def user_scope(user: User) -> Scope:
    return department_scope(user.department) if user.department else PLATFORM


def assignment_scope(a: RoleAssignment) -> Scope:
    if a.department is not None:
        return department_scope(a.department)
    if a.region is not None:
        return Scope(region_path=a.region.path)
    return PLATFORM


def _region_out(r: Region) -> RegionOut:
    return RegionOut(
        id=r.id,
        code=r.code,
        name=r.name,
        level=r.level,  # type: ignore[arg-type]
        parent_code=r.parent.code if r.parent else None,
        path=r.path,
    )


def _department_out(d: Department) -> DepartmentOut:
    return DepartmentOut(
        id=d.id,
        code=d.code,
        name=d.name,
        short_name=d.short_name,
        credit_code=d.credit_code,
        region_code=d.region.code,
        region_name=d.region.name,
        region_path=d.region.path,
        parent_id=d.parent_id,
        is_active=d.is_active,
        created_at=d.created_at,
        updated_at=d.updated_at,
    )


def _assignment_out(a: RoleAssignment) -> RoleAssignmentOut:
    return RoleAssignmentOut(
        id=a.id,
        role=Role(a.role),
        region_code=a.region.code if a.region else None,
        region_name=a.region.name if a.region else None,
        department_id=a.department_id,
        department_name=a.department.name if a.department else None,
        created_at=a.created_at,
    )


def is_locked(user: User) -> bool:
    return user.locked_until is not None and as_utc(user.locked_until) > now()


def _user_out(u: User) -> UserOut:
    return UserOut(
        id=u.id,
        username=u.username,
        display_name=u.display_name,
        department_id=u.department_id,
        department_code=u.department.code if u.department else None,
        department_name=u.department.name if u.department else None,
        email=u.email,
        phone=u.phone,
        locale=u.locale,  # type: ignore[arg-type]
        is_active=u.is_active,
        locked=is_locked(u),
        locked_until=u.locked_until,
        failed_logins=u.failed_logins,
        totp_enabled=u.totp_enabled,
        last_login_at=u.last_login_at,
        password_changed_at=u.password_changed_at,
        roles=[_assignment_out(a) for a in u.roles],
        created_at=u.created_at,
        updated_at=u.updated_at,
    )


def _visible_departments(ctx: ActionContext, perm: Perm) -> ColumnElement[bool] | None:
    """SQL condition on Department for what ``perm`` lets the actor see; None means all."""
    actor = ctx.actor
    if actor.kind == "system":
        return None
    if actor.token_scopes is not None and perm.value not in actor.token_scopes:
        return false()
    conditions: list[ColumnElement[bool]] = []
    for grant in actor.grants:
        if perm not in ROLE_PERMISSIONS[grant.role]:
            continue
        if grant.department_id is not None:
            conditions.append(Department.id == grant.department_id)
        elif grant.region_path is not None:
            conditions.append(Department.region_id.in_(_subtree_ids(grant.region_path)))
        else:
            return None
    return or_(*conditions) if conditions else false()


def _count(s: Session, stmt: Select[Any]) -> int:
    return s.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


def _require_manage_user(ctx: ActionContext, user: User) -> None:
    """Managing a user needs USER_MANAGE over the user and over every role they hold,
    so a region operator cannot take over an account holding a platform role."""
    ctx.require(Perm.USER_MANAGE, user_scope(user), target_id=user.id)
    for a in user.roles:
        ctx.require(Perm.USER_MANAGE, assignment_scope(a), target_id=user.id)


def _kill_sessions(s: Session, user: User) -> None:
    """Every session and bearer token of ``user`` issued so far stops working."""
    # Incremented in SQL so two concurrent revocations cannot both write the same value.
    user.token_epoch = User.token_epoch + 1
    s.execute(
        update(WebSession)
        .where(WebSession.user_id == user.id, WebSession.revoked_at.is_(None))
        .values(revoked_at=now())
    )
