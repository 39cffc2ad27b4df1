"""Read-only lookups other domains may use inside their own actions (they never import our models).

These do no permission check: the calling action has already authorised its
own operation and only needs facts about the organisation to carry it out.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.identity.auth import actor_for_user
from govdata.identity.models import AppCredential, Department, Region, RoleAssignment, User
from govdata.security.context_types import Actor
from govdata.security.permissions import Role, Scope


@dataclass(frozen=True)
class DepartmentFacts:
    id: str
    code: str
    name: str
    credit_code: str
    region_code: str
    region_name: str
    region_path: str
    is_active: bool


def _facts(dept: Department) -> DepartmentFacts:
    return DepartmentFacts(
        id=dept.id,
        code=dept.code,
        name=dept.name,
        credit_code=dept.credit_code,
        region_code=dept.region.code,
        region_name=dept.region.name,
        region_path=dept.region.path,
        is_active=dept.is_active,
    )


def department_by_code(s: Session, code: str) -> DepartmentFacts | None:
    dept = s.scalars(select(Department).where(Department.code == code)).one_or_none()
    return None if dept is None else _facts(dept)


def department_by_id(s: Session, department_id: str) -> DepartmentFacts | None:
    dept = s.get(Department, department_id)
    return None if dept is None else _facts(dept)


def department_names(s: Session, ids: set[str] | list[str]) -> dict[str, str]:
    """Department id -> name, for the ids given (one query for a whole page of rows)."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = s.execute(select(Department.id, Department.name).where(Department.id.in_(wanted)))
    return {dept_id: name for dept_id, name in rows}


def credential_department(s: Session, credential_id: str) -> str | None:
    """The department an app credential belongs to."""
    cred = s.get(AppCredential, credential_id)
    return None if cred is None else cred.department_id


def region_names(s: Session, codes: list[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = s.execute(select(Region.code, Region.name).where(Region.code.in_(codes)))
    return {code: name for code, name in rows}


def users_covering(s: Session, roles: set[Role], target: Scope) -> list[str]:
    """Ids of active users holding one of ``roles`` with a scope that covers ``target``."""
    rows = s.execute(
        select(User.id, RoleAssignment.role, Region.path, RoleAssignment.department_id)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .outerjoin(Region, Region.id == RoleAssignment.region_id)
        .where(User.is_active, RoleAssignment.role.in_([r.value for r in roles]))
    )
    found: list[str] = []
    for user_id, _role, region_path, department_id in rows:
        if department_id is not None:
            covers = department_id == target.department_id
        elif region_path is not None:
            covers = target.region_path is not None and (
                target.region_path == region_path
                or target.region_path.startswith(region_path + "/")
            )
        else:
            covers = True
        if covers and user_id not in found:
            found.append(user_id)
    return found


def actor_for_username(s: Session, username: str) -> Actor | None:
    """The actor a user acts as once signed in (for work done on their behalf, e.g. seeding)."""
    user = s.scalars(select(User).where(User.username == username)).one_or_none()
    return None if user is None else actor_for_user(user)
