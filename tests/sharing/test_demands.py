"""Demands (供需对接) and objections (数据异议): their workflows, deadlines and who may act."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from govdata.core.clock import now
from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from govdata.governance import tickets
from govdata.governance.models import Ticket
from govdata.governance.schemas import TicketAnswer, TicketClose
from govdata.sharing import deadlines, demands, objections
from govdata.sharing.models import Demand
from govdata.sharing.schemas import (
    DemandAnswerIn,
    DemandCreate,
    DemandFulfil,
    DemandRoute,
    ObjectionCreate,
    ReasonIn,
)
from govdata.sharing.vocab import DemandAnswer, DemandStatus
from govdata.sharing.workdays import Calendar
from tests.sharing.conftest import World


def _post(world: World, user: str = "hx_officer") -> str:
    with world.org.as_(user).act() as ctx:
        return demands.create_demand(
            ctx,
            DemandCreate(
                title="不动产登记信息",
                description="需要不动产权属登记信息用于住房保障资格审核",
                purpose="住房保障资格审核",
                items_wanted=["权利人", "不动产单元号"],
                suggested_department_id=world.org.dept["xn_stats"],
            ),
        ).id


def test_a_demand_is_routed_answered_and_fulfilled(world: World) -> None:
    demand_id = _post(world)
    # Not routed yet: the suggested provider does not even see it, and cannot route it.
    with world.org.as_("xn_officer").act() as ctx, pytest.raises(NotFound):
        demands.route_demand(ctx, demand_id, DemandRoute(provider_department_id="x"))
    with world.org.as_("operator").act() as ctx, pytest.raises(InvalidInput):
        demands.route_demand(ctx, demand_id, DemandRoute(provider_department_id="x"))
    with world.org.as_("operator").act() as ctx:
        routed = demands.route_demand(
            ctx, demand_id, DemandRoute(provider_department_id=world.org.dept["xn_stats"])
        )
    assert routed.status == DemandStatus.ROUTED
    assert routed.due_at == Calendar().add(routed.routed_at, 10)  # type: ignore[arg-type]
    with world.org.as_("police_officer").act() as ctx, pytest.raises(NotFound):
        demands.get_demand(ctx, demand_id)
    with world.org.as_("hx_officer").act() as ctx, pytest.raises(PermissionDenied):
        demands.answer_demand(ctx, demand_id, DemandAnswerIn(answer=DemandAnswer.NO_DATA))
    with world.org.as_("xn_officer").act() as ctx:
        with pytest.raises(InvalidInput) as err:
            demands.answer_demand(ctx, demand_id, DemandAnswerIn(answer=DemandAnswer.CANNOT_SHARE))
        assert err.value.code == "sharing_reason_required"
        answered = demands.answer_demand(
            ctx, demand_id, DemandAnswerIn(answer=DemandAnswer.WILL_CATALOG, note="下月编目")
        )
    assert answered.status == DemandStatus.ANSWERED and answered.answered_by_name == "xn_officer"
    entry = world.entry(name="不动产登记信息")
    with world.org.as_("xn_officer").act() as ctx:
        done = demands.fulfil_demand(ctx, demand_id, DemandFulfil(entry_id=entry.resource_code))
    assert done.status == DemandStatus.FULFILLED
    assert done.entry_resource_code == entry.resource_code
    with world.org.as_("hx_officer").act() as ctx:
        mine = demands.list_demands(ctx, side="mine")
        with pytest.raises(Conflict):
            demands.close_demand(ctx, demand_id, ReasonIn(reason="不再需要"))
    assert [d.id for d in mine.items] == [demand_id]


def test_overdue_routed_demands_are_escalated_and_requesters_may_withdraw(world: World) -> None:
    demand_id = _post(world)
    with world.org.as_("operator").act() as ctx:
        demands.route_demand(
            ctx, demand_id, DemandRoute(provider_department_id=world.org.dept["xn_stats"])
        )
    with world.org.db.transaction() as s:
        s.execute(update(Demand).values(due_at=now() - timedelta(minutes=1)))
    assert deadlines.sweep(world.org.db, world.org.settings)["demands"] == 1
    with world.org.as_("xn_officer").act() as ctx:
        shown = demands.get_demand(ctx, demand_id)
    assert shown.overdue and shown.escalated
    with world.org.as_("xn_officer").act() as ctx, pytest.raises(PermissionDenied):
        demands.close_demand(ctx, demand_id, ReasonIn(reason="不想答复"))
    with world.org.as_("hx_officer").act() as ctx:
        closed = demands.close_demand(ctx, demand_id, ReasonIn(reason="已从其他渠道获得"))
    assert closed.status == DemandStatus.CLOSED


def test_objections_become_tickets_of_the_provider(world: World) -> None:
    entry = world.mounted("logical")
    app = world.apply(entry)
    grant_id = app.grant_id or ""
    with world.org.as_("police_officer").act() as ctx, pytest.raises(NotFound):
        objections.create_objection(
            ctx, ObjectionCreate(grant_id=grant_id, title="错误", description="姓名错误")
        )
    with world.org.as_("hx_officer").act() as ctx:
        with pytest.raises(InvalidInput) as err:
            objections.create_objection(
                ctx,
                ObjectionCreate(
                    grant_id=grant_id, field="不存在", title="有错", description="不对"
                ),
            )
        assert err.value.code == "sharing_objection_invalid"
        ticket = objections.create_objection(
            ctx,
            ObjectionCreate(
                grant_id=grant_id,
                record_key={"resident_id": "630102199001011234"},
                field="姓名",
                title="姓名与户籍不符",
                description="户口簿登记为“张叁”",
                evidence="户口簿复印件编号 2026-118",
                severity=4,
            ),
        )
    assert ticket.status == "open" and ticket.provider_department_id == world.org.dept["xn_stats"]
    # The operator oversees the workflow but does not see the record or the evidence.
    with world.org.as_("operator").act() as ctx:
        overseen = tickets.get_ticket(ctx, ticket.id)
    assert overseen.record_key == {"resident_id": "***"} and overseen.evidence == "***"
    assert overseen.description == ticket.description
    assert ticket.due_at == Calendar().add(ticket.created_at, 5)
    with world.org.as_("hx_officer").act() as ctx, pytest.raises(PermissionDenied):
        tickets.answer_ticket(ctx, ticket.id, TicketAnswer(accept=True, answer="改正"))
    with world.org.as_("xn_officer").act() as ctx:
        assigned = tickets.list_tickets(ctx, side="assigned")
        answered = tickets.answer_ticket(
            ctx, ticket.id, TicketAnswer(accept=True, answer="已核实，正在更正")
        )
    assert [t.id for t in assigned.items] == [ticket.id]
    assert answered.status == "accepted"
    with world.org.as_("xn_officer").act() as ctx, pytest.raises(PermissionDenied):
        tickets.close_ticket(ctx, ticket.id, TicketClose(note="自行关闭"))
    with world.org.as_("hx_officer").act() as ctx:
        closed = tickets.close_ticket(ctx, ticket.id, TicketClose(note="已更正，确认关闭"))
    assert closed.status == "closed"
    assert [e.action for e in closed.events] == ["open", "accept", "close"]
    with world.org.db.transaction() as s:
        s.execute(update(Ticket).values(due_at=now() - timedelta(minutes=1)))
    # A closed ticket is not escalated, however late.
    assert deadlines.sweep(world.org.db, world.org.settings)["tickets"] == 0
