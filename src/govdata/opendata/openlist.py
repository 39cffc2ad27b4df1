"""The annual open list (年度开放重点清单): what departments commit to open each year.

Departments propose items (a published catalog entry of theirs, or a dataset still to be
catalogued, with a planned opening date); the operator accepts or rejects each and then
approves the list, which locks it (later additions are the operator's). Progress is never
typed in: an accepted item is *opened* while its entry has a dataset the public gate lets
through (``access.public_clause``), *overdue* when its planned date has passed unopened,
and *planned* otherwise.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog.actions._common import load_entry
from govdata.catalog.models import CatalogEntry
from govdata.catalog.vocab import EntryStatus
from govdata.core import clock
from govdata.core.errors import Conflict, InvalidInput, NotFound
from govdata.identity import queries as org
from govdata.notifications.actions import Message
from govdata.opendata.access import OPENABLE_TYPES
from govdata.opendata.openlist_views import (
    LABELS,
    ItemStatus,
    ListStatus,
    Progress,
    items_out,
    list_not_found,
    list_out,
    public_list,
    public_years,
    today,
    years,
)
from govdata.opendata.reuse_models import OpenList, OpenListItem
from govdata.opendata.reuse_schemas import (
    DepartmentProgress,
    ItemIn,
    ItemOut,
    ItemReviewIn,
    LinkEntryIn,
    OpenListOut,
    YearOut,
)
from govdata.opendata.vocab import OPENABLE_GRADE
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm, Role
from govdata.security.scopes import scope_clause
from govdata.sharing.common import department_scope, notify_department, notify_operators

__all__ = [
    "LABELS",
    "DepartmentProgress",
    "ItemIn",
    "ItemOut",
    "ItemReviewIn",
    "ItemStatus",
    "LinkEntryIn",
    "ListStatus",
    "OpenListOut",
    "Progress",
    "YearOut",
    "approve_list",
    "create_list",
    "get_list",
    "items_out",
    "link_entry",
    "list_out",
    "list_years",
    "proposable_entries",
    "propose_item",
    "public_list",
    "public_years",
    "review_item",
    "today",
    "withdraw_item",
]

AUDIT_LIST = "open_list"
AUDIT_ITEM = "open_list_item"


def _item(s: Session, item_id: str) -> tuple[OpenListItem, OpenList]:
    item = s.get(OpenListItem, item_id)
    lst = s.get(OpenList, item.list_id) if item else None
    if item is None or lst is None:
        raise NotFound("清单条目不存在", "Open-list item not found", code="openlist_item_not_found")
    return item, lst


def _check_year(year: int) -> None:
    if not 2000 <= year <= 2100:
        raise InvalidInput(
            "年度不正确", "Invalid year", code="openlist_invalid_year", details={"year": year}
        )


def _check_entry(entry: CatalogEntry) -> None:
    """The entry may be committed to open (its data need not be collected yet)."""
    reason: tuple[str, str] | None = None
    if entry.status != EntryStatus.PUBLISHED or not entry.published_version_id:
        reason = ("目录未发布", "it is not published")
    elif entry.grade > OPENABLE_GRADE:
        reason = (f"数据分级为{entry.grade}级，仅一、二级数据可开放", "only grades 1–2 open")
    elif entry.open_type not in OPENABLE_TYPES:
        reason = ("开放类型为不予开放", "its open type is closed")
    if reason:
        raise InvalidInput(
            f"该目录不能列入开放清单：{reason[0]}",
            f"This entry cannot be put on the open list: {reason[1]}",
            code="opendata_not_openable",
            details={"entry": entry.resource_code},
        )


def _load_entry(s: Session, ref: str) -> CatalogEntry:
    entry = load_entry(s, ref)
    if entry is None:
        raise NotFound(
            "目录不存在", "Catalog entry not found", code="entry_not_found", details={"ref": ref}
        )
    return entry


def _duplicate(s: Session, list_id: str, entry_id: str) -> None:
    found = s.scalar(
        select(OpenListItem.id).where(
            OpenListItem.list_id == list_id, OpenListItem.entry_id == entry_id
        )
    )
    if found:
        raise Conflict(
            "该目录已在本年度清单中",
            "The entry is already on this year's list",
            code="openlist_item_duplicate",
            details={"item_id": found},
        )


def _may_edit_department(ctx: ActionContext, department_id: str, target_id: str | None) -> bool:
    """True for the operator; the department's officer passes; others are refused."""
    if ctx.actor.can(Perm.OPENDATA_MANAGE):
        return True
    ctx.require(
        Perm.OPENDATA_PUBLISH, department_scope(ctx.session, department_id), target_id=target_id
    )
    return False


def create_list(ctx: ActionContext, year: int) -> OpenListOut:
    """Start a year's list as a draft (the operator). Proposing to a year with no list
    starts it as well."""
    ctx.require(Perm.OPENDATA_MANAGE)
    _check_year(year)
    s = ctx.session
    if s.scalar(select(OpenList.id).where(OpenList.year == year)):
        raise Conflict(
            "该年度清单已存在",
            "The year's list exists",
            code="openlist_exists",
            details={"year": year},
        )
    lst = _new_list(ctx, year)
    return list_out(s, lst, None, ctx.locale)


def _new_list(ctx: ActionContext, year: int) -> OpenList:
    lst = OpenList(year=year, status=ListStatus.DRAFT.value)
    ctx.session.add(lst)
    ctx.session.flush()
    ctx.audit(
        "opendata.openlist.create", target_type=AUDIT_LIST, target_id=lst.id, details={"year": year}
    )
    return lst


def propose_item(ctx: ActionContext, year: int, data: ItemIn) -> ItemOut:
    """Put a dataset on a year's list.

    An officer (``opendata.publish``) proposes for their own department while the list is
    a draft; the operator may add at any time (its items are accepted at once; an approved
    list takes additions only from the operator). ``entry`` names a published entry of the
    department graded 1–2 and not closed; otherwise ``name`` (and ``open_type``) describe
    a dataset still to be catalogued. ``planned_date`` falls in ``year``.
    """
    s = ctx.session
    _check_year(year)
    entry = _load_entry(s, data.entry) if data.entry else None
    if entry is not None:
        department_id = entry.provider_department_id
        if data.department_id and data.department_id != department_id:
            raise InvalidInput(
                "目录不属于所选部门",
                "The entry belongs to another department",
                code="openlist_department_mismatch",
            )
    else:
        if not data.name:
            raise InvalidInput(
                "请选择目录或填写计划开放的数据名称",
                "Choose an entry or name the planned dataset",
                code="openlist_item_name_required",
            )
        department_id = data.department_id or ctx.actor.department_id or ""
        if not department_id or org.department_by_id(s, department_id) is None:
            raise InvalidInput(
                "请选择部门", "Choose a department", code="openlist_department_required"
            )
    operator = _may_edit_department(ctx, department_id, entry.id if entry else None)
    lst = s.scalars(select(OpenList).where(OpenList.year == year)).one_or_none()
    if lst is not None and lst.status == ListStatus.APPROVED and not operator:
        raise Conflict(
            "该年度清单已批准，新增条目须由运营方添加",
            "The year's list is approved; only the operator adds to it now",
            code="openlist_locked",
            details={"year": year},
        )
    if data.planned_date.year != year:
        raise InvalidInput(
            "计划开放日期须在清单年度内",
            "The planned opening date must fall in the list's year",
            code="openlist_date_outside_year",
            details={"year": year, "planned_date": data.planned_date.isoformat()},
        )
    if entry is not None:
        _check_entry(entry)
        if data.open_type and data.open_type != entry.open_type:
            raise InvalidInput(
                "开放类型须与目录一致",
                "The open type must be the entry's",
                code="openlist_open_type_mismatch",
                details={"entry_open_type": entry.open_type},
            )
    if lst is None:
        lst = _new_list(ctx, year)
    if entry is not None:
        _duplicate(s, lst.id, entry.id)
    item = OpenListItem(
        list_id=lst.id,
        department_id=department_id,
        entry_id=entry.id if entry else None,
        name=entry.name if entry else str(data.name),
        description=data.description,
        planned_date=data.planned_date,
        open_type=entry.open_type if entry else (data.open_type or "open"),
        status=(ItemStatus.ACCEPTED if operator else ItemStatus.PROPOSED).value,
        proposed_by=ctx.actor.id,
    )
    if operator:
        item.reviewed_by, item.reviewed_at = ctx.actor.id, clock.now()
    s.add(item)
    s.flush()
    ctx.audit(
        "opendata.openlist.add" if operator else "opendata.openlist.propose",
        target_type=AUDIT_ITEM,
        target_id=item.id,
        details={
            "year": year,
            "department_id": department_id,
            "entry": entry.resource_code if entry else None,
            "name": item.name,
            "planned_date": item.planned_date.isoformat(),
        },
    )
    if not operator:
        notify_operators(
            s,
            Message(
                kind="opendata.openlist.proposed",
                title_zh=f"{year}年度开放清单新申报条目待审核：{item.name}",
                title_en=f"New item proposed for the {year} open list: {item.name}",
                link=f"/opendata/open-list?year={year}",
                target_type=AUDIT_ITEM,
                target_id=item.id,
            ),
        )
    return items_out(s, [item], {lst.id: lst}, ctx.locale)[0]


def review_item(ctx: ActionContext, item_id: str, data: ItemReviewIn) -> ItemOut:
    """The operator accepts a proposed item onto the list or rejects it with a reason."""
    ctx.require(Perm.OPENDATA_MANAGE, target_id=item_id)
    s = ctx.session
    item, lst = _item(s, item_id)
    if item.status != ItemStatus.PROPOSED:
        raise Conflict(
            "该条目不在待审核状态",
            "The item is not awaiting review",
            code="openlist_item_not_proposed",
            details={"status": item.status},
        )
    if not data.accept and not data.reason:
        raise InvalidInput(
            "不予纳入须说明理由", "A rejection needs a reason", code="openlist_reason_required"
        )
    item.status = (ItemStatus.ACCEPTED if data.accept else ItemStatus.REJECTED).value
    item.review_reason = data.reason
    item.reviewed_by, item.reviewed_at = ctx.actor.id, clock.now()
    ctx.audit(
        "opendata.openlist.accept" if data.accept else "opendata.openlist.reject",
        target_type=AUDIT_ITEM,
        target_id=item.id,
        details={"year": lst.year, "reason": data.reason},
    )
    verdict = (
        ("已纳入", "was accepted onto") if data.accept else ("未纳入", "was not accepted onto")
    )
    notify_department(
        s,
        item.department_id,
        {Role.DEPT_OFFICER},
        Message(
            kind="opendata.openlist.reviewed",
            title_zh=f"{item.name}{verdict[0]}{lst.year}年度开放清单",
            title_en=f"{item.name} {verdict[1]} the {lst.year} open list",
            link=f"/opendata/open-list?year={lst.year}",
            target_type=AUDIT_ITEM,
            target_id=item.id,
        ),
    )
    return items_out(s, [item], {lst.id: lst}, ctx.locale)[0]


def withdraw_item(ctx: ActionContext, item_id: str) -> None:
    """Remove an item while the list is a draft: its department takes back one not yet
    accepted; the operator may remove any."""
    s = ctx.session
    item, lst = _item(s, item_id)
    operator = _may_edit_department(ctx, item.department_id, item.id)
    if lst.status == ListStatus.APPROVED or (item.status == ItemStatus.ACCEPTED and not operator):
        raise Conflict(
            "已纳入或已批准的条目不能撤回",
            "Accepted or approved items cannot be withdrawn",
            code="openlist_locked",
        )
    ctx.audit(
        "opendata.openlist.withdraw",
        target_type=AUDIT_ITEM,
        target_id=item.id,
        details={"year": lst.year, "name": item.name},
    )
    s.delete(item)


def link_entry(ctx: ActionContext, item_id: str, data: LinkEntryIn) -> ItemOut:
    """Tie a planned item to its catalog entry once catalogued (the department or the
    operator; allowed on approved lists: it changes no commitment, it lets progress show)."""
    s = ctx.session
    item, lst = _item(s, item_id)
    _may_edit_department(ctx, item.department_id, item.id)
    entry = _load_entry(s, data.entry)
    if entry.provider_department_id != item.department_id:
        raise InvalidInput(
            "目录不属于该条目的部门",
            "The entry belongs to another department",
            code="openlist_department_mismatch",
        )
    _check_entry(entry)
    if item.entry_id == entry.id:
        return items_out(s, [item], {lst.id: lst}, ctx.locale)[0]
    _duplicate(s, lst.id, entry.id)
    item.entry_id = entry.id
    item.open_type = entry.open_type
    ctx.audit(
        "opendata.openlist.link",
        target_type=AUDIT_ITEM,
        target_id=item.id,
        details={"year": lst.year, "entry": entry.resource_code},
    )
    return items_out(s, [item], {lst.id: lst}, ctx.locale)[0]


def approve_list(ctx: ActionContext, year: int) -> OpenListOut:
    """The operator approves a year's list: it goes public and is locked.

    Every item must have been reviewed, and at least one accepted.
    """
    ctx.require(Perm.OPENDATA_MANAGE)
    s = ctx.session
    lst = s.scalars(select(OpenList).where(OpenList.year == year)).one_or_none()
    if lst is None:
        raise list_not_found(year)
    if lst.status != ListStatus.DRAFT:
        raise Conflict("该清单已批准", "The list is already approved", code="openlist_locked")
    items = s.scalars(select(OpenListItem).where(OpenListItem.list_id == lst.id)).all()
    pending = sum(1 for i in items if i.status == ItemStatus.PROPOSED)
    if pending:
        raise Conflict(
            "尚有条目未审核",
            "Some items are still awaiting review",
            code="openlist_pending_items",
            details={"pending": pending},
        )
    if not any(i.status == ItemStatus.ACCEPTED for i in items):
        raise Conflict(
            "清单中没有已纳入的条目", "The list has no accepted item", code="openlist_empty"
        )
    lst.status = ListStatus.APPROVED.value
    lst.approved_by, lst.approved_at = ctx.actor.id, clock.now()
    ctx.audit(
        "opendata.openlist.approve",
        target_type=AUDIT_LIST,
        target_id=lst.id,
        details={"year": year, "items": sum(1 for i in items if i.status == ItemStatus.ACCEPTED)},
    )
    return list_out(s, lst, None, ctx.locale)


# -- reading (authorised) ----------------------------------------------------------------


def get_list(ctx: ActionContext, year: int) -> OpenListOut:
    """A year's list as the workbench shows it: the operator sees every item, an officer
    the items of the departments they act for (the figures cover the whole list)."""
    if not ctx.actor.can(Perm.OPENDATA_MANAGE):
        ctx.require(Perm.OPENDATA_PUBLISH)
    s = ctx.session
    lst = s.scalars(select(OpenList).where(OpenList.year == year)).one_or_none()
    if lst is None:
        raise list_not_found(year)
    departments = None
    if not ctx.actor.can(Perm.OPENDATA_MANAGE):
        ids = {
            i
            for (i,) in s.execute(
                select(OpenListItem.department_id).where(OpenListItem.list_id == lst.id)
            ).all()
        }
        departments = {
            d for d in ids if ctx.actor.can(Perm.OPENDATA_PUBLISH, department_scope(s, d))
        }
    return list_out(s, lst, departments, ctx.locale)


def list_years(ctx: ActionContext) -> list[YearOut]:
    """Every year's list with its status, newest first (the workbench)."""
    if not ctx.actor.can(Perm.OPENDATA_MANAGE):
        ctx.require(Perm.OPENDATA_PUBLISH)
    return years(ctx.session, None, ctx.locale)


def proposable_entries(ctx: ActionContext, limit: int = 300) -> list[tuple[str, str, str]]:
    """(id, resource code, name) of published entries the actor may put on a list."""
    if not ctx.actor.can(Perm.OPENDATA_MANAGE):
        ctx.require(Perm.OPENDATA_PUBLISH)
    stmt = select(CatalogEntry.id, CatalogEntry.resource_code, CatalogEntry.name).where(
        CatalogEntry.status == EntryStatus.PUBLISHED.value,
        CatalogEntry.published_version_id.is_not(None),
        CatalogEntry.grade <= OPENABLE_GRADE,
        CatalogEntry.open_type.in_(OPENABLE_TYPES),
    )
    if not ctx.actor.can(Perm.OPENDATA_MANAGE):
        stmt = stmt.where(
            scope_clause(
                ctx.actor,
                Perm.OPENDATA_PUBLISH,
                CatalogEntry.provider_department_id,
                CatalogEntry.region_path,
            )
        )
    rows = ctx.session.execute(stmt.order_by(CatalogEntry.resource_code).limit(limit))
    return [(i, c, n) for i, c, n in rows]
