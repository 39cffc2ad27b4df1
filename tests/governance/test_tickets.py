"""Problem-data tickets: every step of the workflow by role (allowed and refused), state
rules, the timeline, audit records, and who is notified (the reporter of every answer and of
the closing).

Provider: 西宁市统计局 (xn_stats: officer ``xn_officer``, user ``xn_clerk``). Reporter:
海西州统计局 (hx_stats: officer ``hx_officer``). ``operator`` oversees everything,
``xn_admin`` is the region operator of 西宁 (reads only), ``cd_clerk`` is unrelated.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from govdata.core.clock import now
from govdata.core.errors import Conflict, GovDataError, NotFound, PermissionDenied
from govdata.governance import tickets
from govdata.governance.models import Ticket
from govdata.governance.schemas import (
    TicketClose,
    TicketDecision,
    TicketExtend,
    TicketNote,
    TicketReason,
    TicketReassign,
)
from govdata.governance.vocab import TicketSource
from govdata.identity.schemas import RoleAssignmentIn
from govdata.notifications.models import Notification
from govdata.security.permissions import Role
from govdata.sharing.workdays import Calendar
from tests.catalog.conftest import org, published_entry, settings
from tests.identity.conftest import Org, audit_rows

__all__ = ["org", "settings"]

EVERYONE = ("xn_officer", "xn_clerk", "hx_officer", "operator", "xn_admin", "cd_clerk")


def _report(org: Org, *, severity: int = 3) -> str:
    """An objection of 海西州统计局 against 西宁市统计局's entry (opened as sharing does)."""
    entry = published_entry(org, "xn_officer", name=f"人口信息{severity}")
    with org.as_("hx_officer").act() as ctx:
        t = tickets.open_ticket(
            ctx,
            source=TicketSource.OBJECTION,
            entry_id=entry.id,
            resource_code=entry.resource_code,
            entry_name=entry.name,
            provider_department_id=org.dept["xn_stats"],
            title="姓名与户籍不符",
            description="户口簿登记为“张叁”",
            due_at=Calendar().add(now(), 5),
            severity=severity,
            record_key={"公民身份号码": "630102199001011234"},
            evidence="户口簿复印件",
        )
        return t.id


def _step(org: Org, user: str, fn: Callable[..., Any], ticket_id: str, data: Any) -> Any:
    with org.as_(user).act() as ctx:
        return fn(ctx, ticket_id, data)


def _only(org: Org, allowed: set[str], fn: Callable[..., Any], ticket_id: str, data: Any) -> Any:
    """Everyone but ``allowed`` is refused (403, or 404 when the ticket is out of sight);
    then the first allowed user takes the step."""
    for user in EVERYONE:
        if user in allowed:
            continue
        with pytest.raises((PermissionDenied, NotFound)):
            _step(org, user, fn, ticket_id, data)
    return _step(org, sorted(allowed)[0], fn, ticket_id, data)


def _inbox(org: Org, user: str, ticket_id: str) -> list[str]:
    with org.db.transaction() as s:
        return list(
            s.scalars(
                select(Notification.kind)
                .where(Notification.user_id == org.users[user], Notification.target_id == ticket_id)
                .order_by(Notification.created_at)
            )
        )


PROVIDER = {"xn_officer"}
REPORTER = {"hx_officer", "operator"}
OPERATOR = {"operator"}


def test_the_full_lifecycle_by_role(org: Org) -> None:
    tid = _report(org)
    assert _inbox(org, "xn_officer", tid) == ["governance.ticket.open"]
    note = TicketNote(note="已核实")
    # Steps out of order are conflicts, not silent moves.
    with pytest.raises(Conflict):
        _step(org, "xn_officer", tickets.start_rectifying, tid, note)
    out = _only(org, PROVIDER, tickets.accept_ticket, tid, note)
    assert out.status == "accepted" and out.answer == "已核实"
    out = _only(org, PROVIDER, tickets.start_rectifying, tid, TicketNote())
    assert out.status == "rectifying"
    out = _only(org, PROVIDER, tickets.submit_ticket, tid, TicketNote(note="已更正"))
    # An objection's re-check is the reporter's: it waits for the reporter's word.
    assert out.status == "rechecked" and out.recheck_passed is None and out.recheck_count == 1
    out = _only(org, REPORTER, tickets.reopen_ticket, tid, TicketReason(note="仍未更正"))
    assert out.status == "reopened" and out.reopen_count == 1 and out.due_at is not None
    out = _step(org, "xn_officer", tickets.start_rectifying, tid, TicketNote())
    out = _step(org, "xn_officer", tickets.submit_ticket, tid, TicketNote(note="再次更正"))
    out = _only(org, REPORTER, tickets.close_ticket, tid, TicketClose(note="确认已更正"))
    assert out.status == "closed" and out.closed_by_name == "hx_officer"
    with pytest.raises(Conflict):
        _step(org, "hx_officer", tickets.close_ticket, tid, TicketClose(note="再关一次"))
    # Closed tickets can be reopened too.
    out = _step(org, "operator", tickets.reopen_ticket, tid, TicketReason(note="抽查仍有误"))
    assert out.status == "reopened" and out.closed_at is None and out.reopen_count == 2
    assert [e.action for e in out.events] == [
        "open",
        "accept",
        "start",
        "submit",
        "recheck_requested",
        "reopen",
        "start",
        "submit",
        "recheck_requested",
        "close",
        "reopen",
    ]
    # The reporter heard of every answer of the provider and of the closing.
    assert _inbox(org, "hx_officer", tid) == [
        "governance.ticket.accepted",
        "governance.ticket.rectifying",
        "governance.ticket.rechecked",
        "governance.ticket.rectifying",
        "governance.ticket.rechecked",
    ]
    provider_heard = _inbox(org, "xn_officer", tid)
    assert provider_heard.count("governance.ticket.reopened") == 2
    assert "governance.ticket.closed" in provider_heard
    actions = [r["action"] for r in audit_rows(org.db, "governance.ticket.close")]
    assert actions == ["governance.ticket.close"]
    assert audit_rows(org.db, "governance.ticket.accept")[0]["target_id"] == tid


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_disputes_are_decided_by_the_operator(org: Org) -> None:
    tid = _report(org)
    out = _only(org, PROVIDER, tickets.dispute_ticket, tid, TicketReason(note="数据无误"))
    assert out.status == "disputed"
    assert _inbox(org, "operator", tid) == ["governance.ticket.disputed"]
    assert _inbox(org, "hx_officer", tid) == ["governance.ticket.disputed"]
    reject = TicketDecision(uphold=False, note="以户籍登记为准")
    out = _only(org, OPERATOR, tickets.decide_dispute, tid, reject)
    assert out.status == "accepted" and out.events[-1].action == "dispute_rejected"
    with pytest.raises(Conflict):
        _step(org, "operator", tickets.decide_dispute, tid, reject)
    # A second ticket whose dispute is upheld closes; both sides hear.
    other = _report(org, severity=2)
    _step(org, "xn_officer", tickets.dispute_ticket, other, TicketReason(note="数据无误"))
    out = _step(
        org,
        "operator",
        tickets.decide_dispute,
        other,
        TicketDecision(uphold=True, note="提供部门正确"),
    )
    assert out.status == "closed" and out.events[-1].action == "dispute_upheld"
    assert "governance.ticket.closed" in _inbox(org, "hx_officer", other)
    assert "governance.ticket.closed" in _inbox(org, "xn_officer", other)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_operator_reassigns_and_extends(org: Org) -> None:
    tid = _report(org)
    _step(org, "xn_officer", tickets.accept_ticket, tid, TicketNote())
    extend = TicketExtend(days=3, note="节假日顺延")
    with org.db.transaction() as s:
        s.execute(
            update(Ticket)
            .where(Ticket.id == tid)
            .values(due_at=now() - timedelta(days=2), escalation_level=2, escalated_at=now())
        )
    out = _only(org, OPERATOR, tickets.extend_deadline, tid, extend)
    # Past its deadline: extended from now, the escalation starts over.
    assert out.due_at == Calendar().add(now(), 3) and out.escalation_level == 0
    assert not out.overdue
    # To a named officer of the same department.
    org.add_user("xn_officer2", RoleAssignmentIn(role=Role.DEPT_OFFICER), department="xn_stats")
    named = TicketReassign(assignee="xn_officer2", note="指定专人")
    out = _only(org, OPERATOR, tickets.reassign_ticket, tid, named)
    assert out.assignee_name == "xn_officer2" and out.status == "accepted"
    assert "governance.ticket.assigned" in _inbox(org, "xn_officer2", tid)
    # Nobody outside the provider department can be the assignee.
    with pytest.raises(GovDataError) as err:
        _step(
            org,
            "operator",
            tickets.reassign_ticket,
            tid,
            TicketReassign(assignee="hx_officer", note="转办"),
        )
    assert err.value.code == "ticket_reassign_assignee"
    # To another department: it starts over there as open, its officers answer.
    moved = TicketReassign(department_id=org.dept["police"], note="数据源头在公安")
    out = _step(org, "operator", tickets.reassign_ticket, tid, moved)
    assert out.status == "open" and out.provider_department_id == org.dept["police"]
    assert out.assignee_name is None
    with pytest.raises((PermissionDenied, NotFound)):
        _step(org, "xn_officer", tickets.accept_ticket, tid, TicketNote())


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_queues_and_filters(org: Org) -> None:
    first = _report(org, severity=5)
    second = _report(org, severity=2)
    with org.db.transaction() as s:
        s.execute(
            update(Ticket).where(Ticket.id == first).values(due_at=now() - timedelta(hours=1))
        )
    with org.as_("xn_officer").act() as ctx:
        assigned = tickets.list_tickets(ctx, side="assigned")
        late = tickets.list_tickets(ctx, overdue=True)
        severe = tickets.list_tickets(ctx, severity=5)
        on_time = tickets.list_tickets(ctx, overdue=False)
    assert [t.id for t in assigned.items] == [second, first]
    assert [t.id for t in late.items] == [first] and late.items[0].overdue
    assert [t.id for t in severe.items] == [first]
    assert [t.id for t in on_time.items] == [second]
    with org.as_("hx_officer").act() as ctx:
        reported = tickets.list_tickets(ctx, side="reported")
        mine_to_answer = tickets.list_tickets(ctx, side="assigned")
    assert len(reported.items) == 2 and mine_to_answer.items == []
    with org.as_("operator").act() as ctx:
        by_dept = tickets.list_tickets(ctx, department_id=org.dept["xn_stats"])
        by_entry = tickets.list_tickets(ctx, entry=by_dept.items[0].resource_code)
        shown = tickets.get_ticket(ctx, first)
    assert len(by_dept.items) == 2 and [t.id for t in by_entry.items] == [second]
    # The operator oversees the workflow without seeing the record or the evidence.
    assert shown.record_key == {"公民身份号码": "***"} and shown.evidence == "***"
    with org.as_("cd_clerk").act() as ctx:
        assert tickets.list_tickets(ctx).items == []
