"""Demands (供需对接): a department asks for data that is not in the catalog yet.

open → (operator routes it to a provider, deadline starts) routed → (the provider answers:
will catalog it / holds no such data / cannot share, with its basis) answered → (the
operator or the provider links the published entry that now holds it) fulfilled. The
requester may close it while it is open or routed; the operator may close it at any time
before it is fulfilled. Overdue routed demands are escalated by the deadline sweep.
"""

from __future__ import annotations

from sqlalchemy import select

from govdata.catalog.models import CatalogEntry
from govdata.core.clock import now
from govdata.core.errors import Conflict, InvalidInput
from govdata.core.pagination import paginate
from govdata.core.sequences import daily_code
from govdata.identity import queries as org
from govdata.notifications.actions import Message, notify
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm, Role, Scope
from govdata.security.scopes import scope_clause
from govdata.sharing.common import (
    days_left,
    deadline,
    not_found,
    notify_department,
    notify_operators,
    own_department,
    published_entry,
    sees,
)
from govdata.sharing.models import Demand
from govdata.sharing.policy import load_policy
from govdata.sharing.schemas import (
    DemandAnswerIn,
    DemandCreate,
    DemandFulfil,
    DemandOut,
    DemandPage,
    DemandRoute,
    ReasonIn,
)
from govdata.sharing.vocab import DemandAnswer, DemandStatus
from govdata.sharing.workdays import Calendar


def _link(demand: Demand) -> str:
    return f"/sharing/demands/{demand.id}"


def _requester(d: Demand) -> Scope:
    return Scope(region_path=d.requester_region_path, department_id=d.requester_department_id)


def _provider(d: Demand) -> Scope | None:
    if d.provider_department_id is None:
        return None
    return Scope(region_path=d.provider_region_path, department_id=d.provider_department_id)


def _load(ctx: ActionContext, demand_id: str) -> Demand:
    ctx.require(Perm.SHARING_READ)
    d = ctx.session.get(Demand, demand_id)
    scopes = [] if d is None else [s for s in (_requester(d), _provider(d)) if s is not None]
    if d is None or not (sees(ctx, *scopes) or ctx.actor.can(Perm.SHARING_MANAGE)):
        raise not_found("需求", "Demand", "sharing_demand_not_found", demand_id)
    return d


def _out(
    d: Demand, names: dict[str, str], calendar: Calendar, entry_code: str | None = None
) -> DemandOut:
    left, overdue = days_left(calendar, d.due_at, d.status == DemandStatus.ROUTED)
    return DemandOut(
        id=d.id,
        code=d.code,
        title=d.title,
        description=d.description,
        purpose=d.purpose,
        items_wanted=list(d.items_wanted or []),
        status=DemandStatus(d.status),
        requester_department_id=d.requester_department_id,
        requester_department_name=names.get(d.requester_department_id, ""),
        suggested_department_id=d.suggested_department_id,
        provider_department_id=d.provider_department_id,
        provider_department_name=names.get(d.provider_department_id or ""),
        routed_at=d.routed_at,
        due_at=d.due_at,
        days_left=left,
        overdue=overdue,
        escalated=d.escalated_at is not None,
        answer=DemandAnswer(d.answer) if d.answer else None,
        answer_note=d.answer_note,
        answered_at=d.answered_at,
        answered_by_name=d.answered_by_name,
        entry_id=d.entry_id,
        entry_resource_code=entry_code,
        closed_reason=d.closed_reason,
        created_by_name=d.created_by_name,
        created_at=d.created_at,
    )


def _one(ctx: ActionContext, d: Demand) -> DemandOut:
    s = ctx.session
    ids = {d.requester_department_id, d.provider_department_id or ""}
    code = None
    if d.entry_id:
        entry = s.get(CatalogEntry, d.entry_id)
        code = entry.resource_code if entry else None
    return _out(d, org.department_names(s, ids), Calendar.load(s), code)


def create_demand(ctx: ActionContext, data: DemandCreate) -> DemandOut:
    """Post a need for data on behalf of the actor's department; the operator is notified."""
    ctx.require(Perm.SHARING_APPLY)
    dept = own_department(ctx)
    ctx.require(Perm.SHARING_APPLY, Scope(region_path=dept.region_path, department_id=dept.id))
    s = ctx.session
    # Checked whenever given: an empty id is no department either (not a foreign-key error).
    suggested = data.suggested_department_id
    if suggested is not None and not org.department_by_id(s, suggested):
        raise InvalidInput(
            "建议的提供部门不存在",
            "The suggested provider department does not exist",
            code="department_not_found",
            details={"department_id": data.suggested_department_id},
        )
    d = Demand(
        code=daily_code(s, "XQ"),
        requester_department_id=dept.id,
        requester_region_path=dept.region_path,
        title=data.title,
        description=data.description,
        purpose=data.purpose,
        items_wanted=list(data.items_wanted),
        suggested_department_id=data.suggested_department_id,
        status=DemandStatus.OPEN.value,
        created_by=ctx.actor.id,
        created_by_name=ctx.actor.name,
    )
    s.add(d)
    s.flush()
    ctx.audit("sharing.demand.create", target_type="demand", target_id=d.id)
    notify_operators(
        s,
        Message(
            kind="sharing.demand.new",
            title_zh=f"新的数据需求 {d.code}：{d.title}",
            title_en=f"New data demand {d.code}: {d.title}",
            link=_link(d),
            target_type="demand",
            target_id=d.id,
        ),
    )
    return _one(ctx, d)


def route_demand(ctx: ActionContext, demand_id: str, data: DemandRoute) -> DemandOut:
    """The operator sends an open (or re-sends a routed) demand to a provider department;
    the provider's answer is due within the policy's ``demand_days`` working days."""
    d = _load(ctx, demand_id)
    ctx.require(Perm.SHARING_MANAGE, target_id=d.id)
    if d.status not in (DemandStatus.OPEN, DemandStatus.ROUTED):
        raise Conflict(
            "只能分派待分派或待答复的需求",
            "Only an open or routed demand can be routed",
            code="sharing_demand_state",
            details={"status": d.status},
        )
    s = ctx.session
    dept = org.department_by_id(s, data.provider_department_id)
    if dept is None or not dept.is_active:
        raise InvalidInput(
            "提供部门不存在",
            "The provider department does not exist",
            code="department_not_found",
            details={"department_id": data.provider_department_id},
        )
    if dept.id == d.requester_department_id:
        raise InvalidInput(
            "不能分派给需求部门自身",
            "A demand cannot be routed to the department that posted it",
            code="sharing_demand_self",
        )
    at = now()
    d.status = DemandStatus.ROUTED.value
    d.provider_department_id = dept.id
    d.provider_region_path = dept.region_path
    d.routed_at = at
    d.due_at = deadline(s, at, load_policy(s).demand_days)
    d.escalated_at = None
    ctx.audit(
        "sharing.demand.route",
        target_type="demand",
        target_id=d.id,
        details={"provider": dept.code},
    )
    notify_department(
        s,
        dept.id,
        {Role.DEPT_OFFICER},
        Message(
            kind="sharing.demand.routed",
            title_zh=f"请答复数据需求 {d.code}：{d.title}",
            title_en=f"Please answer data demand {d.code}: {d.title}",
            link=_link(d),
            target_type="demand",
            target_id=d.id,
        ),
    )
    return _one(ctx, d)


def answer_demand(ctx: ActionContext, demand_id: str, data: DemandAnswerIn) -> DemandOut:
    """The provider answers a routed demand; "cannot share" needs its basis."""
    d = _load(ctx, demand_id)
    provider = _provider(d)
    if d.status != DemandStatus.ROUTED or provider is None:
        ctx.require(Perm.SHARING_DECIDE)
        raise Conflict(
            "只能答复待答复的需求",
            "Only a routed demand can be answered",
            code="sharing_demand_state",
            details={"status": d.status},
        )
    ctx.require(Perm.SHARING_DECIDE, provider, target_id=d.id)
    note = (data.note or "").strip() or None
    if data.answer == DemandAnswer.CANNOT_SHARE and note is None:
        raise InvalidInput(
            "不能共享须说明依据",
            "'Cannot share' needs its basis",
            code="sharing_reason_required",
        )
    d.status = DemandStatus.ANSWERED.value
    d.answer = data.answer.value
    d.answer_note = note
    d.answered_at = now()
    d.answered_by_name = ctx.actor.name
    ctx.audit(
        "sharing.demand.answer",
        target_type="demand",
        target_id=d.id,
        details={"answer": data.answer.value},
    )
    if d.created_by:
        notify(
            ctx.session,
            [d.created_by],
            Message(
                kind="sharing.demand.answered",
                title_zh=f"数据需求 {d.code} 已答复",
                title_en=f"Data demand {d.code} answered",
                body=note,
                link=_link(d),
                target_type="demand",
                target_id=d.id,
            ),
        )
    return _one(ctx, d)


def fulfil_demand(ctx: ActionContext, demand_id: str, data: DemandFulfil) -> DemandOut:
    """Link the published entry that now holds the data; the demand is fulfilled. The
    provider (who answered "will catalog") or the operator does it; the entry must be the
    provider's."""
    d = _load(ctx, demand_id)
    provider = _provider(d)
    if d.status not in (DemandStatus.ROUTED, DemandStatus.ANSWERED) or provider is None:
        raise Conflict(
            "该需求不能标记为已满足",
            "This demand cannot be fulfilled now",
            code="sharing_demand_state",
            details={"status": d.status},
        )
    if not ctx.actor.can(Perm.SHARING_MANAGE):
        ctx.require(Perm.SHARING_DECIDE, provider, target_id=d.id)
    entry = published_entry(ctx, data.entry_id)
    if entry.provider_department_id != d.provider_department_id:
        raise InvalidInput(
            "关联的目录须由该需求的提供部门发布",
            "The linked entry must be published by the demand's provider",
            code="sharing_demand_entry_invalid",
        )
    d.status = DemandStatus.FULFILLED.value
    d.entry_id = entry.id
    if d.answer is None:
        d.answer = DemandAnswer.WILL_CATALOG.value
        d.answered_at = now()
        d.answered_by_name = ctx.actor.name
    ctx.audit(
        "sharing.demand.fulfil",
        target_type="demand",
        target_id=d.id,
        details={"entry": entry.resource_code},
    )
    if d.created_by:
        notify(
            ctx.session,
            [d.created_by],
            Message(
                kind="sharing.demand.fulfilled",
                title_zh=f"数据需求 {d.code} 已满足：{entry.name}",
                title_en=f"Data demand {d.code} fulfilled: {entry.name}",
                link=f"/catalog/entries/{entry.id}",
                target_type="demand",
                target_id=d.id,
            ),
        )
    return _one(ctx, d)


def close_demand(ctx: ActionContext, demand_id: str, data: ReasonIn) -> DemandOut:
    """The requester withdraws its open or routed demand, or the operator closes one."""
    d = _load(ctx, demand_id)
    if not ctx.actor.can(Perm.SHARING_MANAGE):
        ctx.require(Perm.SHARING_APPLY, _requester(d), target_id=d.id)
        if d.status not in (DemandStatus.OPEN, DemandStatus.ROUTED):
            raise Conflict(
                "只能撤回待分派或待答复的需求",
                "Only an open or routed demand can be withdrawn",
                code="sharing_demand_state",
                details={"status": d.status},
            )
    if d.status in (DemandStatus.FULFILLED, DemandStatus.CLOSED):
        raise Conflict(
            "该需求已办结",
            "The demand is already finished",
            code="sharing_demand_state",
            details={"status": d.status},
        )
    d.status = DemandStatus.CLOSED.value
    d.closed_reason = data.reason
    ctx.audit(
        "sharing.demand.close",
        target_type="demand",
        target_id=d.id,
        details={"reason": data.reason},
    )
    return _one(ctx, d)


def get_demand(ctx: ActionContext, demand_id: str) -> DemandOut:
    return _one(ctx, _load(ctx, demand_id))


def list_demands(
    ctx: ActionContext,
    *,
    side: str | None = None,
    status: DemandStatus | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> DemandPage:
    """Demands the actor sees, newest first: its department's (``side=mine``), those routed
    to it (``side=incoming``); operators see all."""
    ctx.require(Perm.SHARING_READ)
    stmt = select(Demand).where(
        scope_clause(
            ctx.actor,
            Perm.SHARING_READ,
            Demand.requester_department_id,
            Demand.requester_region_path,
        )
        | scope_clause(
            ctx.actor, Perm.SHARING_READ, Demand.provider_department_id, Demand.provider_region_path
        )
    )
    dept = ctx.actor.department_id
    if side == "mine":
        stmt = stmt.where(Demand.requester_department_id == dept)
    elif side == "incoming":
        stmt = stmt.where(Demand.provider_department_id == dept)
    elif side is not None:
        raise InvalidInput(
            "side 须为 mine 或 incoming", "side must be mine or incoming", code="invalid_side"
        )
    if status is not None:
        stmt = stmt.where(Demand.status == status.value)
    page = paginate(ctx.session, stmt, [Demand.id], limit=limit, cursor=cursor, descending=True)
    s = ctx.session
    ids = {d.requester_department_id for d in page.items} | {
        d.provider_department_id or "" for d in page.items
    }
    names = org.department_names(s, ids)
    calendar = Calendar.load(s)
    return DemandPage(
        items=[_out(d, names, calendar) for d in page.items], next_cursor=page.next_cursor
    )
