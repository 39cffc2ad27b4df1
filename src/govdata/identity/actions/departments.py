"""Departments (organisations) registered in a region."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from govdata.core.errors import Conflict, InvalidInput, NotFound
from govdata.core.pagination import paginate
from govdata.identity.actions._common import (
    _count,
    _department,
    _department_out,
    _input_region,
    _subtree_ids,
    _visible_departments,
    department_scope,
)
from govdata.identity.models import Department
from govdata.identity.schemas import (
    DepartmentCreate,
    DepartmentOut,
    DepartmentPage,
    DepartmentUpdate,
)
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm, Scope
from govdata.standards import uscc


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
