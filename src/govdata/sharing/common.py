"""What every sharing action needs: scopes, the entry and its items, deadlines, notices.

Sharing rows belong to two departments at once (consumer and provider): an actor sees a
row when its ``sharing.read`` covers either side.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from govdata.catalog.actions._common import load_entry
from govdata.catalog.models import CatalogEntry, EntryItem
from govdata.catalog.vocab import EntryStatus
from govdata.core.clock import now
from govdata.core.errors import InvalidInput, NotFound
from govdata.identity import queries as org
from govdata.notifications.actions import Message, notify
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm, Role, Scope
from govdata.security.scopes import scope_clause
from govdata.sharing.workdays import Calendar
from govdata.sources.base import FILTER_OPS


def department_scope(s: Session, department_id: str) -> Scope:
    dept = org.department_by_id(s, department_id)
    return Scope(region_path=dept.region_path if dept else None, department_id=department_id)


def two_sided_clause(
    ctx: ActionContext,
    perm: Perm,
    consumer: Any,
    consumer_path: Any,
    provider: Any,
    provider_path: Any,
) -> ColumnElement[bool]:
    """Rows where the actor's ``perm`` covers the consumer side or the provider side."""
    return or_(
        scope_clause(ctx.actor, perm, consumer, consumer_path),
        scope_clause(ctx.actor, perm, provider, provider_path),
    )


def sees(ctx: ActionContext, *scopes: Scope) -> bool:
    return any(ctx.actor.can(Perm.SHARING_READ, sc) for sc in scopes)


def own_department(ctx: ActionContext) -> org.DepartmentFacts:
    """The actor's department: sharing is between departments, so the actor needs one."""
    dept_id = ctx.actor.department_id
    dept = org.department_by_id(ctx.session, dept_id) if dept_id else None
    if dept is None or not dept.is_active:
        raise InvalidInput(
            "只有部门用户可以发起共享申请或需求",
            "Only a member of a department can apply for data or post demands",
            code="sharing_department_required",
        )
    return dept


def published_entry(ctx: ActionContext, ref: str) -> CatalogEntry:
    """A published entry by id or resource code; anything else is 404 to the applicant."""
    entry = load_entry(ctx.session, ref)
    if entry is None or entry.status != EntryStatus.PUBLISHED or not entry.published_version_id:
        raise NotFound(
            "目录不存在或未发布",
            "The catalog entry does not exist or is not published",
            code="entry_not_found",
            details={"ref": ref},
        )
    return entry


def published_items(s: Session, entry: CatalogEntry) -> list[EntryItem]:
    return list(
        s.scalars(
            select(EntryItem)
            .where(EntryItem.version_id == entry.published_version_id)
            .order_by(EntryItem.position)
        )
    )


def check_row_filter(conditions: list[list[Any]], items: set[str]) -> list[list[Any]]:
    """Row-scope conditions ``[item, op, value]`` over known items with a supported operator."""
    out: list[list[Any]] = []
    for cond in conditions:
        if not isinstance(cond, list) or len(cond) not in (2, 3) or not isinstance(cond[0], str):
            raise InvalidInput(
                "行范围条件须为 [信息项, 运算符, 值]",
                "Each row-scope condition is [item, op, value]",
                code="sharing_row_filter_invalid",
                details={"condition": repr(cond)},
            )
        item, op = cond[0], str(cond[1]).upper().strip()
        if item not in items:
            raise InvalidInput(
                f"行范围中的信息项“{item}”不在目录中",
                f"The row scope names an item {item!r} the entry does not have",
                code="sharing_row_filter_invalid",
                details={"item": item},
            )
        if op not in FILTER_OPS:
            raise InvalidInput(
                f"不支持运算符 {op}",
                f"Unsupported operator {op}",
                code="sharing_row_filter_invalid",
                details={"condition": repr(cond)},
            )
        if op in ("IS NULL", "IS NOT NULL"):
            out.append([item, op])
            continue
        value = cond[2] if len(cond) == 3 else None
        if op == "IN":
            ok = (
                isinstance(value, list)
                and 0 < len(value) <= 1000
                and all(isinstance(v, str | int | float) for v in value)
            )
        else:
            ok = isinstance(value, str | int | float) and not isinstance(value, bool)
        if not ok:
            raise InvalidInput(
                "行范围条件的值无效",
                "The row-scope condition's value is invalid",
                code="sharing_row_filter_invalid",
                details={"condition": repr(cond)},
            )
        out.append([item, op, value])
    return out


def deadline(s: Session, start: datetime, days: int) -> datetime:
    return Calendar.load(s).add(start, days)


def days_left(calendar: Calendar, due: datetime | None, open_: bool) -> tuple[int | None, bool]:
    """Working days left (negative when late) and whether it is overdue, for an open item."""
    if due is None or not open_:
        return None, False
    at = now()
    return calendar.left(at, due), at >= due


def notify_department(s: Session, department_id: str, roles: set[Role], message: Message) -> None:
    notify(s, org.users_covering(s, roles, department_scope(s, department_id)), message)


def notify_operators(s: Session, message: Message) -> None:
    notify(s, org.users_covering(s, {Role.OPERATOR}, Scope()), message)


def not_found(kind_zh: str, kind_en: str, code: str, ref: str) -> NotFound:
    return NotFound(
        f"{kind_zh}不存在或无权查看", f"{kind_en} not found", code=code, details={"id": ref}
    )
