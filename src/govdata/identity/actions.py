"""Identity operations: regions, departments, users, roles, app credentials, second factor.

Each function is one action: authorise (``ctx.require``) → validate → do →
audit, inside the caller's transaction. Its docstring is its API documentation.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, false, func, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from govdata.core.clock import as_utc, now
from govdata.core.errors import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
)
from govdata.core.pagination import paginate
from govdata.identity import passwords, totp
from govdata.identity.models import (
    AppCredential,
    Department,
    Region,
    RoleAssignment,
    User,
    WebSession,
)
from govdata.identity.schemas import (
    MAX_CREDENTIAL_DAYS,
    REGION_CODE_RE,
    CredentialCreate,
    CredentialCreated,
    CredentialOut,
    CredentialPage,
    DepartmentCreate,
    DepartmentOut,
    DepartmentPage,
    DepartmentRef,
    DepartmentUpdate,
    LocaleUpdate,
    MeOut,
    MeRole,
    PasswordChange,
    PasswordReset,
    RegionCreate,
    RegionNode,
    RegionOut,
    RegionRef,
    RoleAssignmentIn,
    RoleAssignmentOut,
    RoleDefinition,
    TotpConfirm,
    TotpEnrolment,
    UserCreate,
    UserOut,
    UserPage,
    UserUpdate,
)
from govdata.security.context import ActionContext
from govdata.security.permissions import (
    PRIVILEGED_ROLES,
    ROLE_LABELS,
    ROLE_PERMISSIONS,
    SEPARATED_ROLES,
    Perm,
    Role,
    Scope,
)
from govdata.standards import uscc

PLATFORM = Scope()
PLATFORM_ROLES = frozenset({Role.OPERATOR, Role.SECADMIN, Role.AUDITOR})
DEPARTMENT_ROLES = frozenset({Role.DEPT_OFFICER, Role.DEPT_USER})
TOKEN_PREFIX = "gdt_"  # noqa: S105 - a marker, not a secret


# Lookups and conversions -----------------------------------------------------------------


def region_level(code: str) -> str:
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


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


def credential_status(c: AppCredential) -> str:
    if c.revoked_at is not None:
        return "revoked"
    if as_utc(c.expires_at) <= now():
        return "expired"
    return "active"


def _credential_out(c: AppCredential) -> CredentialOut:
    return CredentialOut(
        id=c.id,
        name=c.name,
        department_id=c.department_id,
        department_code=c.department.code,
        department_name=c.department.name,
        scopes=list(c.scopes),
        token_prefix=c.token_prefix,
        expires_at=c.expires_at,
        revoked_at=c.revoked_at,
        last_used_at=c.last_used_at,
        created_by=c.created_by,
        created_by_name=c.created_by_name,
        created_at=c.created_at,
        status=credential_status(c),  # type: ignore[arg-type]
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


def _require_user_actor(ctx: ActionContext) -> User:
    """Own-account actions: any signed-in person, never an app or the system."""
    if ctx.actor.kind != "user" or ctx.actor.id is None:
        raise NotAuthenticated("请以用户身份登录", "Sign in as a user", code="user_required")
    user = ctx.session.get(User, ctx.actor.id)
    if user is None or not user.is_active:
        raise NotAuthenticated()
    return user


def _require_manage_user(ctx: ActionContext, user: User) -> None:
    """Managing a user needs USER_MANAGE over the user and over every role they hold,
    so a region operator cannot take over an account holding a platform role."""
    ctx.require(Perm.USER_MANAGE, user_scope(user), target_id=user.id)
    for a in user.roles:
        ctx.require(Perm.USER_MANAGE, assignment_scope(a), target_id=user.id)


def _kill_sessions(s: Session, user: User) -> None:
    """Every session and bearer token of ``user`` issued so far stops working."""
    at = now()
    user.tokens_valid_after = at
    s.execute(
        update(WebSession)
        .where(WebSession.user_id == user.id, WebSession.revoked_at.is_(None))
        .values(revoked_at=at)
    )


# Regions ---------------------------------------------------------------------------------


def create_region(ctx: ActionContext, data: RegionCreate) -> RegionOut:
    """Add a GB/T 2260 division under ``parent_code``.

    Errors: 422 ``invalid_region_code`` (not 6 digits, or not consistent with
    the parent), 422 ``unknown_region`` (parent code not found), 409
    ``region_exists``.
    """
    ctx.require(Perm.REGION_MANAGE, PLATFORM)
    s = ctx.session
    code = data.code
    if not REGION_CODE_RE.match(code) or code.startswith("00"):
        raise InvalidInput(
            f"行政区划代码“{code}”须为 6 位数字",
            f"Region code '{code}' must be 6 digits",
            code="invalid_region_code",
        )
    level = region_level(code)
    parent: Region | None = None
    if data.parent_code is not None:
        parent = _input_region(s, data.parent_code)
    consistent = (
        (level == "province" and parent is None)
        or (level == "prefecture" and parent is not None and parent.level == "province"
            and code[:2] == parent.code[:2])
        or (level == "county" and parent is not None and (
            (parent.level == "prefecture" and code[:4] == parent.code[:4])
            or (parent.level == "province" and code[:2] == parent.code[:2])))
    )  # fmt: skip
    if not consistent:
        raise InvalidInput(
            f"行政区划代码“{code}”与上级“{data.parent_code or '无'}”不一致",
            f"Region code '{code}' does not fit under parent '{data.parent_code or '-'}'",
            code="invalid_region_code",
            details={"code": code, "level": level, "parent_code": data.parent_code},
        )
    if _region_by_code(s, code) is not None:
        raise Conflict(
            f"行政区划“{code}”已存在", f"Region {code} already exists", code="region_exists"
        )
    region = Region(
        code=code,
        name=data.name,
        level=level,
        parent_id=parent.id if parent else None,
        path=f"{parent.path}/{code}" if parent else code,
    )
    region.parent = parent
    s.add(region)
    s.flush()
    ctx.audit(
        "region.create",
        target_type="region",
        target_id=region.id,
        details={"code": code, "name": data.name, "parent_code": data.parent_code},
    )
    return _region_out(region)


def list_regions(
    ctx: ActionContext, *, parent_code: str | None = None, tree: bool = False
) -> list[RegionNode]:
    """Regions ordered by code.

    Flat (default): every region, or the direct children of ``parent_code``.
    ``tree=True``: the roots (or ``parent_code``'s children) with nested ``children``.
    """
    ctx.require(Perm.REGION_READ)
    s = ctx.session
    stmt = select(Region).order_by(Region.path)
    parent: Region | None = None
    if parent_code is not None:
        parent = _input_region(s, parent_code)
        if tree:
            stmt = stmt.where(Region.path.like(parent.path + "/%"))
        else:
            stmt = stmt.where(Region.parent_id == parent.id)
    regions = list(s.scalars(stmt))
    nodes = [RegionNode(**_region_out(r).model_dump()) for r in regions]
    if not tree:
        return nodes
    by_id = {n.id: n for n in nodes}
    roots: list[RegionNode] = []
    for region, node in zip(regions, nodes, strict=True):
        up = by_id.get(region.parent_id) if region.parent_id else None
        if up is not None:
            up.children.append(node)
        else:
            roots.append(node)
    return roots


def get_region(ctx: ActionContext, code: str) -> RegionOut:
    """One region by its code; 404 ``region_not_found``."""
    ctx.require(Perm.REGION_READ)
    region = _region_by_code(ctx.session, code)
    if region is None:
        raise NotFound(
            f"行政区划“{code}”不存在", f"Region {code} not found", code="region_not_found"
        )
    return _region_out(region)


# Departments -----------------------------------------------------------------------------


def _check_parent_department(s: Session, dept_id: str | None, parent_id: str | None) -> None:
    if parent_id is None:
        return
    parent = s.get(Department, parent_id)
    if parent is None:
        raise InvalidInput("上级部门不存在", "Unknown parent department", code="unknown_department")
    seen: Department | None = parent
    while seen is not None:
        if seen.id == dept_id:
            raise InvalidInput(
                "上级部门不能是本部门或其下级",
                "A department cannot sit under itself",
                code="department_cycle",
            )
        seen = s.get(Department, seen.parent_id) if seen.parent_id else None


def _check_department_unique(
    s: Session, region_id: str, name: str, credit_code: str, exclude: str | None
) -> None:
    others = (
        select(Department.id).where(Department.id != exclude) if exclude else select(Department.id)
    )
    if s.scalar(others.where(Department.credit_code == credit_code)) is not None:
        raise Conflict(
            "统一社会信用代码已被其他部门使用",
            "Another department has this credit code",
            code="credit_code_taken",
        )
    if s.scalar(others.where(Department.region_id == region_id, Department.name == name)):
        raise Conflict(
            f"本地区已有名为“{name}”的部门",
            f"A department named '{name}' already exists in this region",
            code="department_name_taken",
        )


def create_department(ctx: ActionContext, data: DepartmentCreate) -> DepartmentOut:
    """Register a department (organisation) in a region.

    Needs ``department.manage`` over the region. Errors: 422 ``unknown_region``,
    422 ``invalid_uscc``, 409 ``department_code_taken`` / ``credit_code_taken`` /
    ``department_name_taken``.
    """
    ctx.require(Perm.DEPARTMENT_MANAGE)
    s = ctx.session
    region = _input_region(s, data.region_code)
    ctx.require(Perm.DEPARTMENT_MANAGE, Scope(region_path=region.path))
    credit_code = uscc.validate(data.credit_code)
    _check_parent_department(s, None, data.parent_id)
    if s.scalar(select(Department.id).where(Department.code == data.code)) is not None:
        raise Conflict(
            f"部门代码“{data.code}”已存在",
            f"Department code '{data.code}' is taken",
            code="department_code_taken",
        )
    _check_department_unique(s, region.id, data.name, credit_code, None)
    dept = Department(
        code=data.code,
        name=data.name,
        short_name=data.short_name,
        credit_code=credit_code,
        region_id=region.id,
        parent_id=data.parent_id,
        is_active=True,
    )
    dept.region = region
    s.add(dept)
    s.flush()
    ctx.audit(
        "department.create",
        target_type="department",
        target_id=dept.id,
        details={"code": dept.code, "name": dept.name, "region_code": region.code},
    )
    return _department_out(dept)


def update_department(
    ctx: ActionContext, department_id: str, data: DepartmentUpdate
) -> DepartmentOut:
    """Change a department's names, credit code, parent or active flag."""
    ctx.require(Perm.DEPARTMENT_MANAGE)
    s = ctx.session
    dept = _department(s, department_id)
    ctx.require(Perm.DEPARTMENT_MANAGE, department_scope(dept), target_id=dept.id)
    changes = data.model_dump(exclude_unset=True)
    if "credit_code" in changes:
        changes["credit_code"] = uscc.validate(data.credit_code or "")
    if "parent_id" in changes:
        _check_parent_department(s, dept.id, data.parent_id)
    for key in ("name", "is_active"):
        if key in changes and changes[key] is None:
            raise InvalidInput(f"{key} 不能为空", f"{key} cannot be null", code="invalid_input")
    _check_department_unique(
        s,
        dept.region_id,
        changes.get("name", dept.name),
        changes.get("credit_code", dept.credit_code),
        dept.id,
    )
    before = {k: getattr(dept, k) for k in changes}
    for key, value in changes.items():
        setattr(dept, key, value)
    s.flush()
    ctx.audit(
        "department.update",
        target_type="department",
        target_id=dept.id,
        fields=sorted(changes),
        details={"before": before, "after": changes},
    )
    return _department_out(dept)


def get_department(ctx: ActionContext, department_id: str) -> DepartmentOut:
    """One department; 404 ``department_not_found``."""
    ctx.require(Perm.DEPARTMENT_READ)
    dept = _department(ctx.session, department_id)
    ctx.require(Perm.DEPARTMENT_READ, department_scope(dept), target_id=dept.id)
    return _department_out(dept)


def get_department_by_code(ctx: ActionContext, code: str) -> DepartmentOut:
    """One department by its code; 404 ``department_not_found``."""
    ctx.require(Perm.DEPARTMENT_READ)
    dept = ctx.session.scalars(select(Department).where(Department.code == code)).one_or_none()
    if dept is None:
        raise NotFound("部门不存在", "Department not found", code="department_not_found")
    ctx.require(Perm.DEPARTMENT_READ, department_scope(dept), target_id=dept.id)
    return _department_out(dept)


def list_departments(
    ctx: ActionContext,
    *,
    q: str | None = None,
    region_code: str | None = None,
    include_inactive: bool = True,
    limit: int = 50,
    cursor: str | None = None,
) -> DepartmentPage:
    """Departments the actor may see, ordered by code.

    ``q`` matches name, short name or code; ``region_code`` includes its subtree.
    """
    ctx.require(Perm.DEPARTMENT_READ)
    s = ctx.session
    stmt = select(Department)
    visible = _visible_departments(ctx, Perm.DEPARTMENT_READ)
    if visible is not None:
        stmt = stmt.where(visible)
    if q:
        stmt = stmt.where(
            or_(
                Department.name.contains(q, autoescape=True),
                Department.short_name.contains(q, autoescape=True),
                Department.code.contains(q.lower(), autoescape=True),
            )
        )
    if region_code:
        region = _input_region(s, region_code)
        stmt = stmt.where(Department.region_id.in_(_subtree_ids(region.path)))
    if not include_inactive:
        stmt = stmt.where(Department.is_active.is_(True))
    page = paginate(s, stmt, [Department.code], limit=limit, cursor=cursor)
    return DepartmentPage(
        items=[_department_out(d) for d in page.items],
        total=_count(s, stmt),
        next_cursor=page.next_cursor,
    )


# Users and roles -------------------------------------------------------------------------


def _separation_conflict(user: User, role: Role) -> None:
    if role not in SEPARATED_ROLES:
        return
    held = {Role(a.role) for a in user.roles} & SEPARATED_ROLES
    if held - {role}:
        raise Conflict(
            "三员分立：系统管理员、安全管理员、审计管理员不得由同一人兼任",
            "Separation of duties: one person cannot hold two of operator, secadmin and auditor",
            code="separation_of_duties",
            details={"held": sorted(held), "requested": role.value},
        )


def _add_role(ctx: ActionContext, user: User, data: RoleAssignmentIn) -> RoleAssignment:
    s = ctx.session
    role = data.role
    region: Region | None = None
    dept: Department | None = None
    named_dept = data.department_id is not None or data.department_code is not None
    if role in PLATFORM_ROLES:
        if data.region_code or named_dept:
            raise InvalidInput(
                "该角色适用于全平台，不能指定地区或部门",
                "This role is platform-wide; give no region or department",
                code="invalid_role_scope",
            )
        scope = PLATFORM
    elif role == Role.REGION_OPERATOR:
        if not data.region_code or named_dept:
            raise InvalidInput(
                "地区运营管理员须指定地区（且仅指定地区）",
                "region_operator needs a region (and no department)",
                code="invalid_role_scope",
            )
        region = _input_region(s, data.region_code)
        scope = Scope(region_path=region.path)
    else:
        if data.region_code:
            raise InvalidInput(
                "部门角色不能指定地区", "Department roles take no region", code="invalid_role_scope"
            )
        if named_dept:
            dept = _input_department(s, data.department_id, data.department_code)
        elif user.department is not None:
            dept = user.department
        else:
            raise InvalidInput(
                "部门角色须指定部门",
                "Department roles need a department",
                code="invalid_role_scope",
            )
        scope = department_scope(dept)
    ctx.require(Perm.USER_MANAGE, scope, target_id=user.id)
    _separation_conflict(user, role)
    for a in user.roles:
        same_place = a.region_id == (region.id if region else None) and a.department_id == (
            dept.id if dept else None
        )
        if a.role == role.value and same_place:
            raise Conflict(
                "用户已拥有该角色", "The user already holds this role", code="role_already_assigned"
            )
    assignment = RoleAssignment(
        user_id=user.id,
        role=role.value,
        region_id=region.id if region else None,
        department_id=dept.id if dept else None,
    )
    assignment.region = region
    assignment.department = dept
    user.roles.append(assignment)
    s.flush()
    ctx.audit(
        "user.role_assign",
        target_type="user",
        target_id=user.id,
        details={
            "assignment_id": assignment.id,
            "role": role.value,
            "region_code": region.code if region else None,
            "department_id": dept.id if dept else None,
        },
    )
    return assignment


def create_user(ctx: ActionContext, data: UserCreate) -> UserOut:
    """Create a user, optionally in a department and with initial roles.

    Needs ``user.manage`` over the department (platform-wide for users without
    one) and over every role's scope. Errors: 422 ``weak_password`` (reasons in
    details), 422 ``unknown_department``, 409 ``username_taken``, 409
    ``separation_of_duties``.
    """
    ctx.require(Perm.USER_MANAGE)
    s = ctx.session
    dept: Department | None = None
    if data.department_id is not None or data.department_code is not None:
        dept = _input_department(s, data.department_id, data.department_code)
    ctx.require(Perm.USER_MANAGE, department_scope(dept) if dept else PLATFORM)
    passwords.check_policy(ctx.settings, data.password, data.username)
    if s.scalar(select(User.id).where(User.username == data.username)) is not None:
        raise Conflict(
            f"用户名“{data.username}”已存在",
            f"Username '{data.username}' is taken",
            code="username_taken",
        )
    at = now()
    user = User(
        username=data.username,
        display_name=data.display_name,
        password_hash=passwords.hash_password(ctx.settings, data.password),
        department_id=dept.id if dept else None,
        email=data.email,
        phone=data.phone,
        locale=data.locale,
        is_active=True,
        failed_logins=0,
        totp_enabled=False,
        password_changed_at=at,
        tokens_valid_after=at,
        roles=[],
    )
    user.department = dept
    s.add(user)
    s.flush()
    ctx.audit(
        "user.create",
        target_type="user",
        target_id=user.id,
        details={"username": user.username, "department_id": user.department_id},
    )
    for role in data.roles:
        _add_role(ctx, user, role)
    return _user_out(user)


def get_user(ctx: ActionContext, user_id: str) -> UserOut:
    """One user; 404 ``user_not_found``."""
    ctx.require(Perm.USER_READ)
    user = _user(ctx.session, user_id)
    ctx.require(Perm.USER_READ, user_scope(user), target_id=user.id)
    return _user_out(user)


def get_user_by_username(ctx: ActionContext, username: str) -> UserOut:
    """One user by username (case-insensitive); 404 ``user_not_found``."""
    ctx.require(Perm.USER_READ)
    user = ctx.session.scalars(
        select(User).where(User.username == username.strip().lower())
    ).one_or_none()
    if user is None:
        raise NotFound("用户不存在", "User not found", code="user_not_found")
    ctx.require(Perm.USER_READ, user_scope(user), target_id=user.id)
    return _user_out(user)


def list_users(
    ctx: ActionContext,
    *,
    q: str | None = None,
    department_id: str | None = None,
    role: Role | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> UserPage:
    """Users the actor may see, ordered by username; ``q`` matches username or display name."""
    ctx.require(Perm.USER_READ)
    s = ctx.session
    stmt = select(User)
    visible = _visible_departments(ctx, Perm.USER_READ)
    if visible is not None:
        stmt = stmt.where(User.department_id.in_(select(Department.id).where(visible)))
    if q:
        stmt = stmt.where(
            or_(
                User.username.contains(q.lower(), autoescape=True),
                User.display_name.contains(q, autoescape=True),
            )
        )
    if department_id:
        stmt = stmt.where(User.department_id == department_id)
    if role is not None:
        stmt = stmt.where(
            User.id.in_(select(RoleAssignment.user_id).where(RoleAssignment.role == role.value))
        )
    page = paginate(s, stmt, [User.username], limit=limit, cursor=cursor)
    return UserPage(
        items=[_user_out(u) for u in page.items],
        total=_count(s, stmt),
        next_cursor=page.next_cursor,
    )


def update_user(ctx: ActionContext, user_id: str, data: UserUpdate) -> UserOut:
    """Change a user's display name, department, contact details or locale."""
    ctx.require(Perm.USER_MANAGE)
    s = ctx.session
    user = _user(s, user_id)
    _require_manage_user(ctx, user)
    changes = data.model_dump(exclude_unset=True)
    for key in ("display_name", "locale"):
        if key in changes and changes[key] is None:
            raise InvalidInput(f"{key} 不能为空", f"{key} cannot be null", code="invalid_input")
    if "department_id" in changes and changes["department_id"] != user.department_id:
        new_dept = _input_department(s, data.department_id, None) if data.department_id else None
        new_scope = department_scope(new_dept) if new_dept else PLATFORM
        ctx.require(Perm.USER_MANAGE, new_scope, target_id=user.id)
        user.department = new_dept
    before = {k: getattr(user, k) for k in changes}
    for key, value in changes.items():
        setattr(user, key, value)
    s.flush()
    ctx.audit(
        "user.update",
        target_type="user",
        target_id=user.id,
        fields=sorted(changes),
        details={"before": before, "after": changes},
    )
    return _user_out(user)


def disable_user(ctx: ActionContext, user_id: str) -> UserOut:
    """Disable a user: no login, and every existing session and token dies at once."""
    ctx.require(Perm.USER_MANAGE)
    s = ctx.session
    user = _user(s, user_id)
    _require_manage_user(ctx, user)
    if user.id == ctx.actor.id:
        raise Conflict(
            "不能停用自己的账号", "You cannot disable yourself", code="cannot_disable_self"
        )
    user.is_active = False
    _kill_sessions(s, user)
    s.flush()
    ctx.audit("user.disable", target_type="user", target_id=user.id)
    return _user_out(user)


def enable_user(ctx: ActionContext, user_id: str) -> UserOut:
    """Enable a disabled user again."""
    ctx.require(Perm.USER_MANAGE)
    s = ctx.session
    user = _user(s, user_id)
    _require_manage_user(ctx, user)
    user.is_active = True
    s.flush()
    ctx.audit("user.enable", target_type="user", target_id=user.id)
    return _user_out(user)


def unlock_user(ctx: ActionContext, user_id: str) -> UserOut:
    """Lift a lockout after too many failed logins and reset the failure counter."""
    ctx.require(Perm.USER_MANAGE)
    s = ctx.session
    user = _user(s, user_id)
    _require_manage_user(ctx, user)
    user.failed_logins = 0
    user.locked_until = None
    s.flush()
    ctx.audit("user.unlock", target_type="user", target_id=user.id)
    return _user_out(user)


def reset_password(ctx: ActionContext, user_id: str, data: PasswordReset) -> UserOut:
    """Set a new password for a user (by an administrator); ends their sessions and tokens
    and lifts any lockout. 422 ``weak_password``."""
    ctx.require(Perm.USER_MANAGE)
    s = ctx.session
    user = _user(s, user_id)
    _require_manage_user(ctx, user)
    passwords.check_policy(ctx.settings, data.new_password, user.username)
    user.password_hash = passwords.hash_password(ctx.settings, data.new_password)
    user.password_changed_at = now()
    user.failed_logins = 0
    user.locked_until = None
    _kill_sessions(s, user)
    s.flush()
    ctx.audit("user.password_reset", target_type="user", target_id=user.id)
    return _user_out(user)


def assign_role(ctx: ActionContext, user_id: str, data: RoleAssignmentIn) -> UserOut:
    """Give a user a role in a scope. Errors: 422 ``invalid_role_scope``, 409
    ``separation_of_duties``, 409 ``role_already_assigned``."""
    ctx.require(Perm.USER_MANAGE)
    s = ctx.session
    user = _user(s, user_id)
    ctx.require(Perm.USER_MANAGE, user_scope(user), target_id=user.id)
    _add_role(ctx, user, data)
    return _user_out(user)


def revoke_role(ctx: ActionContext, user_id: str, assignment_id: str) -> UserOut:
    """Take a role assignment away; 404 ``role_assignment_not_found``."""
    ctx.require(Perm.USER_MANAGE)
    s = ctx.session
    user = _user(s, user_id)
    assignment = next((a for a in user.roles if a.id == assignment_id), None)
    if assignment is None:
        raise NotFound(
            "角色分配不存在", "Role assignment not found", code="role_assignment_not_found"
        )
    ctx.require(Perm.USER_MANAGE, user_scope(user), target_id=user.id)
    ctx.require(Perm.USER_MANAGE, assignment_scope(assignment), target_id=user.id)
    user.roles.remove(assignment)
    s.delete(assignment)
    s.flush()
    ctx.audit(
        "user.role_revoke",
        target_type="user",
        target_id=user.id,
        details={"assignment_id": assignment_id, "role": assignment.role},
    )
    return _user_out(user)


def list_roles(ctx: ActionContext) -> list[RoleDefinition]:
    """The role catalogue: labels, scope kind and permissions of each role."""
    ctx.require(Perm.USER_READ)
    result = []
    for role in Role:
        zh, en = ROLE_LABELS[role]
        scope = (
            "platform"
            if role in PLATFORM_ROLES
            else "region"
            if role == Role.REGION_OPERATOR
            else "department"
        )
        result.append(
            RoleDefinition(
                role=role,
                label_zh=zh,
                label_en=en,
                scope=scope,  # type: ignore[arg-type]
                separated=role in SEPARATED_ROLES,
                privileged=role in PRIVILEGED_ROLES,
                permissions=sorted(ROLE_PERMISSIONS[role], key=lambda p: p.value),
            )
        )
    return result


# The signed-in user's own account --------------------------------------------------------


def me_out(user: User) -> MeOut:
    dept = user.department
    return MeOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        roles=[
            MeRole(
                role=Role(a.role),
                region_code=a.region.code if a.region else None,
                department_id=a.department_id,
            )
            for a in user.roles
        ],
        department=DepartmentRef(id=dept.id, code=dept.code, name=dept.name) if dept else None,
        region=RegionRef(code=dept.region.code, name=dept.region.name, path=dept.region.path)
        if dept
        else None,
        locale=user.locale,  # type: ignore[arg-type]
        totp_enabled=user.totp_enabled,
    )


def get_me(ctx: ActionContext) -> MeOut:
    """The signed-in user: roles, department, region and locale."""
    return me_out(_require_user_actor(ctx))


def set_own_locale(ctx: ActionContext, data: LocaleUpdate) -> MeOut:
    """Choose the interface language (``zh_CN`` or ``en``)."""
    user = _require_user_actor(ctx)
    if user.locale != data.locale:
        before = user.locale
        user.locale = data.locale
        ctx.session.flush()
        ctx.audit(
            "user.locale",
            target_type="user",
            target_id=user.id,
            details={"before": before, "after": data.locale},
        )
    return me_out(user)


def change_own_password(ctx: ActionContext, data: PasswordChange) -> None:
    """Change one's own password. Every session and token, including the one making this
    call, stops working: sign in again. 422 ``wrong_password`` / ``weak_password``."""
    user = _require_user_actor(ctx)
    if not passwords.verify_password(ctx.settings, user.password_hash, data.current_password):
        raise InvalidInput("当前密码不正确", "Current password is wrong", code="wrong_password")
    passwords.check_policy(ctx.settings, data.new_password, user.username)
    if data.new_password == data.current_password:
        raise InvalidInput(
            "新密码不能与当前密码相同",
            "The new password must differ from the current one",
            code="weak_password",
            details={"reasons": ["reused"]},
        )
    user.password_hash = passwords.hash_password(ctx.settings, data.new_password)
    user.password_changed_at = now()
    _kill_sessions(ctx.session, user)
    ctx.session.flush()
    ctx.audit("user.password_change", target_type="user", target_id=user.id)


def logout_everywhere(ctx: ActionContext) -> None:
    """End every session and bearer token of the signed-in user."""
    user = _require_user_actor(ctx)
    _kill_sessions(ctx.session, user)
    ctx.session.flush()
    ctx.audit("auth.logout_all", target_type="user", target_id=user.id)


def enrol_totp(ctx: ActionContext) -> TotpEnrolment:
    """Start TOTP enrolment for oneself; confirm with a current code to switch it on.
    409 ``totp_already_enabled``."""
    user = _require_user_actor(ctx)
    enrolment = start_totp_enrolment(user)
    ctx.session.flush()
    ctx.audit("user.totp_enrol", target_type="user", target_id=user.id)
    return enrolment


def confirm_totp(ctx: ActionContext, data: TotpConfirm) -> MeOut:
    """Switch TOTP on with a current code. 422 ``invalid_otp``, 409 ``totp_not_enrolled``."""
    user = _require_user_actor(ctx)
    finish_totp_enrolment(user, data.code)
    ctx.session.flush()
    ctx.audit("user.totp_confirm", target_type="user", target_id=user.id)
    return me_out(user)


def start_totp_enrolment(user: User) -> TotpEnrolment:
    """Give ``user`` a fresh, not yet active TOTP secret (shared with the login flow)."""
    if user.totp_enabled:
        raise Conflict("已启用动态口令", "TOTP is already enabled", code="totp_already_enabled")
    user.totp_secret = totp.new_secret()
    user.totp_last_step = None
    uri = totp.provisioning_uri(user.totp_secret, user.username)
    return TotpEnrolment(secret=user.totp_secret, provisioning_uri=uri)


def finish_totp_enrolment(user: User, code: str) -> None:
    if user.totp_enabled or user.totp_secret is None:
        raise Conflict(
            "请先开始动态口令绑定", "Start TOTP enrolment first", code="totp_not_enrolled"
        )
    step = totp.matching_step(user.totp_secret, code, None)
    if step is None:
        raise InvalidInput("动态口令不正确", "Wrong one-time code", code="invalid_otp")
    user.totp_enabled = True
    user.totp_last_step = step


def reset_totp(ctx: ActionContext, user_id: str) -> UserOut:
    """Remove a user's second factor (lost phone); they enrol again at the next login.
    Ends their sessions and tokens."""
    ctx.require(Perm.USER_MANAGE)
    s = ctx.session
    user = _user(s, user_id)
    _require_manage_user(ctx, user)
    user.totp_secret = None
    user.totp_enabled = False
    user.totp_last_step = None
    _kill_sessions(s, user)
    s.flush()
    ctx.audit("user.totp_reset", target_type="user", target_id=user.id)
    return _user_out(user)


# App credentials -------------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _expiry(data: CredentialCreate) -> datetime:
    at = now()
    expires = at + timedelta(days=data.days) if data.days else as_utc(data.expires_at or at)
    if data.expires_at is not None and data.expires_at.tzinfo is None:
        raise InvalidInput(
            "过期时间须带时区", "expires_at needs a time zone", code="invalid_expiry"
        )
    if expires <= at or expires > at + timedelta(days=MAX_CREDENTIAL_DAYS, minutes=1):
        raise InvalidInput(
            f"过期时间须在未来 {MAX_CREDENTIAL_DAYS} 天之内",
            f"expires_at must lie within the next {MAX_CREDENTIAL_DAYS} days",
            code="invalid_expiry",
        )
    return expires


def create_credential(ctx: ActionContext, data: CredentialCreate) -> CredentialCreated:
    """Create an app credential for a department; the token is returned this once.

    The app acts as a department user of that department, further limited to
    ``scopes``, which must be permissions the creator holds there (403
    ``scope_not_held``). Errors: 422 ``unknown_department``, ``invalid_expiry``;
    409 ``department_inactive``.
    """
    ctx.require(Perm.CREDENTIAL_MANAGE)
    s = ctx.session
    dept = _input_department(s, data.department_id, data.department_code)
    scope = department_scope(dept)
    ctx.require(Perm.CREDENTIAL_MANAGE, scope, target_id=dept.id)
    not_held = sorted(p.value for p in set(data.scopes) if not ctx.actor.can(p, scope))
    if not_held:
        raise PermissionDenied(
            "凭证权限不能超出创建者自身的权限",
            "A credential cannot have permissions its creator lacks",
            code="scope_not_held",
            details={"scopes": not_held},
        )
    if not dept.is_active:
        raise Conflict("部门已停用", "The department is inactive", code="department_inactive")
    expires_at = _expiry(data)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    cred = AppCredential(
        name=data.name,
        department_id=dept.id,
        scopes=sorted({p.value for p in data.scopes}),
        token_hash=hash_token(token),
        token_prefix=token[:12],
        expires_at=expires_at,
        created_by=ctx.actor.id,
        created_by_name=ctx.actor.name,
    )
    cred.department = dept
    s.add(cred)
    s.flush()
    ctx.audit(
        "credential.create",
        target_type="credential",
        target_id=cred.id,
        details={
            "name": cred.name,
            "department_id": dept.id,
            "scopes": cred.scopes,
            "expires_at": expires_at.isoformat(),
        },
    )
    return CredentialCreated(credential=_credential_out(cred), token=token)


def list_credentials(
    ctx: ActionContext,
    *,
    department_id: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> CredentialPage:
    """App credentials of the departments the actor may see, newest first."""
    ctx.require(Perm.CREDENTIAL_READ)
    s = ctx.session
    stmt = select(AppCredential)
    visible = _visible_departments(ctx, Perm.CREDENTIAL_READ)
    if visible is not None:
        stmt = stmt.where(AppCredential.department_id.in_(select(Department.id).where(visible)))
    if department_id:
        stmt = stmt.where(AppCredential.department_id == department_id)
    keys: list[InstrumentedAttribute[Any]] = [AppCredential.created_at, AppCredential.id]
    page = paginate(s, stmt, keys, limit=limit, cursor=cursor, descending=True)
    return CredentialPage(
        items=[_credential_out(c) for c in page.items],
        total=_count(s, stmt),
        next_cursor=page.next_cursor,
    )


def revoke_credential(ctx: ActionContext, credential_id: str) -> CredentialOut:
    """Revoke an app credential at once; revoking twice changes nothing.
    404 ``credential_not_found``."""
    ctx.require(Perm.CREDENTIAL_MANAGE)
    s = ctx.session
    cred = s.get(AppCredential, credential_id)
    if cred is None:
        raise NotFound("凭证不存在", "Credential not found", code="credential_not_found")
    ctx.require(Perm.CREDENTIAL_MANAGE, department_scope(cred.department), target_id=cred.id)
    if cred.revoked_at is None:
        cred.revoked_at = now()
        s.flush()
        ctx.audit("credential.revoke", target_type="credential", target_id=cred.id)
    return _credential_out(cred)
