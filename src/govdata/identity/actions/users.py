"""User accounts and their role assignments."""

from __future__ import annotations

from sqlalchemy import or_, select

from govdata.core.clock import now
from govdata.core.errors import Conflict, InvalidInput, NotFound
from govdata.core.pagination import paginate
from govdata.identity import passwords
from govdata.identity.actions._common import (
    PLATFORM,
    PLATFORM_ROLES,
    _count,
    _input_department,
    _input_region,
    _kill_sessions,
    _require_manage_user,
    _user,
    _user_out,
    _visible_departments,
    assignment_scope,
    department_scope,
    user_scope,
)
from govdata.identity.models import Department, Region, RoleAssignment, User
from govdata.identity.schemas import (
    PasswordReset,
    RoleAssignmentIn,
    RoleDefinition,
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
        password_changed_at=now(),
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
