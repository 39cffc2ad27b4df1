"""Escalation of overdue tickets (idempotent, by level, alongside the sharing sweep), the
auto-closing of re-checked rule tickets, and the accountability report's numbers on a
small hand-built case (exact mean time to fix), as JSON and as Excel."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from govdata.core.clock import now
from govdata.governance import accountability, ticket_jobs, tickets
from govdata.governance.models import Ticket
from govdata.governance.schemas import TicketExtend
from govdata.governance.vocab import TicketSource
from govdata.sharing import deadlines
from govdata.sharing.models import Grant
from govdata.sharing.workdays import Calendar
from tests.catalog.conftest import org, published_entry, settings
from tests.governance.test_tickets import _inbox, _report
from tests.identity.conftest import Org

__all__ = ["org", "settings"]


def _set(org: Org, ticket_id: str, **values: object) -> None:
    with org.db.transaction() as s:
        s.execute(update(Ticket).where(Ticket.id == ticket_id).values(**values))


def _get(org: Org, ticket_id: str) -> Ticket:
    with org.db.transaction() as s:
        t = s.get(Ticket, ticket_id)
        assert t is not None
        s.expunge(t)
        return t


def _escalate(org: Org) -> dict[str, int]:
    return ticket_jobs.escalate(org.db, org.settings)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_overdue_tickets_escalate_once_per_level(org: Org) -> None:
    tid = _report(org)
    assert _escalate(org) == {"escalated": 0, "auto_closed": 0}
    _set(org, tid, due_at=now() - timedelta(minutes=5))
    assert _escalate(org)["escalated"] == 1
    assert _escalate(org)["escalated"] == 0  # idempotent
    t = _get(org, tid)
    assert t.escalation_level == 1 and t.escalated_at is not None
    overdue = "governance.ticket.overdue"
    assert _inbox(org, "xn_officer", tid).count(overdue) == 1
    assert _inbox(org, "operator", tid).count(overdue) == 1
    assert _inbox(org, "xn_admin", tid).count(overdue) == 1  # the region's operator
    assert _inbox(org, "hx_officer", tid).count(overdue) == 0
    # Weeks late: straight to the top level, once.
    _set(org, tid, due_at=Calendar().add(now() - timedelta(days=40), 0))
    assert _escalate(org)["escalated"] == 1
    assert _escalate(org)["escalated"] == 0
    assert _get(org, tid).escalation_level == ticket_jobs.MAX_LEVEL == 3
    assert _inbox(org, "xn_officer", tid).count(overdue) == 2
    # Extending the deadline starts the levels over.
    with org.as_("operator").act() as ctx:
        tickets.extend_deadline(ctx, tid, TicketExtend(days=2, note="延期"))
    assert _get(org, tid).escalation_level == 0
    assert _escalate(org)["escalated"] == 0


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_sharing_sweep_and_the_escalation_notify_once(org: Org) -> None:
    tid = _report(org)
    _set(org, tid, due_at=now() - timedelta(minutes=5))
    assert deadlines.sweep(org.db, org.settings)["tickets"] == 1
    assert _escalate(org)["escalated"] == 1
    assert _escalate(org)["escalated"] == 0
    assert _get(org, tid).escalation_level == 1
    # The operator heard once (from the sweep), the provider once (from the escalation).
    assert _inbox(org, "operator", tid) == ["governance.ticket.overdue"]
    assert _inbox(org, "xn_officer", tid).count("governance.ticket.overdue") == 1


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_rechecked_rule_tickets_close_by_themselves(org: Org) -> None:
    entry = published_entry(org, "xn_officer", name="法人信息")
    with org.system.act() as ctx:
        tid = tickets.open_ticket(
            ctx,
            source=TicketSource.RULE,
            entry_id=entry.id,
            resource_code=entry.resource_code,
            entry_name=entry.name,
            provider_department_id=org.dept["xn_stats"],
            title="质量规则未通过：统一社会信用代码",
            description="1/10 行未通过",
            due_at=None,
            rule={
                "rule_id": "r1",
                "run_id": "run1",
                "failed_count": 1,
                "checked_count": 10,
                "samples": [],
            },
        ).id
    _set(org, tid, status="rechecked", recheck_passed=True, recheck_at=now() - timedelta(days=2))
    assert _escalate(org)["auto_closed"] == 0
    _set(org, tid, recheck_at=now() - timedelta(days=10))
    assert _escalate(org)["auto_closed"] == 1
    t = _get(org, tid)
    assert t.status == "closed" and t.closed_by_name == "system"


def _grants(org: Org, t: Ticket) -> None:
    """Three grants of 西宁's entry to 海西: active, revoked, expired."""
    with org.db.transaction() as s:
        for n, (status, days) in enumerate([("active", 30), ("revoked", 30), ("active", -1)]):
            s.add(
                Grant(
                    code=f"SQ{n}",
                    application_id=f"app{n}",
                    entry_id=t.entry_id,
                    resource_code=t.resource_code,
                    entry_name=t.entry_name,
                    provider_department_id=org.dept["xn_stats"],
                    provider_region_path=t.provider_region_path,
                    consumer_department_id=org.dept["hx_stats"],
                    consumer_region_path="630000/632800",
                    items=["姓名"],
                    delivery_modes=["api"],
                    purpose="核验",
                    scenario="窗口",
                    expires_at=now() + timedelta(days=days),
                    status=status,
                )
            )


def test_accountability_numbers(org: Org) -> None:
    closed_a, closed_b = _report(org, severity=3), _report(org, severity=3)
    late = _report(org, severity=5)
    _report(org, severity=5)  # open, on time
    base = now() - timedelta(days=20)
    _set(org, closed_a, status="closed", created_at=base, closed_at=base + timedelta(hours=24))
    _set(org, closed_b, status="closed", created_at=base, closed_at=base + timedelta(hours=48))
    _set(org, late, due_at=now() - timedelta(hours=1), escalation_level=1)
    _grants(org, _get(org, late))
    with org.as_("operator").act() as ctx:
        report = accountability.accountability_report(ctx)
    lines = {d.department_code: d for d in report.departments}
    assert set(lines) == {"police", "xn_stats", "cd_health", "hx_stats"}
    xn, hx = lines["xn_stats"], lines["hx_stats"]
    assert (xn.entries, xn.tickets, xn.open, xn.overdue, xn.escalated, xn.closed) == (
        4,
        4,
        2,
        1,
        1,
        2,
    )
    assert xn.mean_hours_to_fix == 36.0 and xn.mean_days_to_fix == 1.5
    assert xn.tickets_reported == 0 and hx.tickets_reported == 4 and hx.tickets == 0
    assert (hx.grants_held, xn.grants_held) == (1, 0)  # the revoked and expired ones not
    by = {line.severity: line for line in xn.by_severity}
    assert [line.severity for line in xn.by_severity] == [5, 3]
    assert (by[5].tickets, by[5].open, by[5].overdue, by[5].mean_hours_to_fix) == (2, 2, 1, None)
    assert (by[3].tickets, by[3].closed, by[3].mean_hours_to_fix) == (2, 2, 36.0)
    assert report.totals.tickets == 4 and report.totals.mean_hours_to_fix == 36.0
    # Each reader sees the departments of its scope.
    with org.as_("xn_clerk").act() as ctx:
        own = accountability.accountability_report(ctx)
    with org.as_("xn_admin").act() as ctx:
        region = accountability.accountability_report(ctx)
    assert [d.department_code for d in own.departments] == ["xn_stats"]
    assert {d.department_code for d in region.departments} == {"xn_stats", "cd_health"}
    with org.as_("operator").act() as ctx:
        body = accountability.export_accountability(ctx)
    sheet = load_workbook(io.BytesIO(body))["部门"]
    rows = {r[0]: r for r in sheet.iter_rows(min_row=3, values_only=True)}
    assert rows["xn_stats"][9] == 36.0 and rows["xn_stats"][3] == 4
