"""Tickets from failed quality rules: grouped per entry and rule across runs, re-checked by
running the rule again on the fixed data, confirmed or reopened by later runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import select

from govdata.catalog.models import CatalogEntry
from govdata.core.errors import PermissionDenied
from govdata.governance import quality_rules, quality_runs, tickets
from govdata.governance.models import Ticket
from govdata.governance.quality_schemas import RuleIn
from govdata.governance.schemas import TicketNote
from govdata.lake.tables import Lake
from govdata.sharing.workdays import Calendar
from tests.catalog.conftest import org, settings
from tests.governance.test_tickets import _inbox
from tests.identity.conftest import Org
from tests.sharing.conftest import (
    PEOPLE,
    add_sqlite_source,
    make_entry,
    mount_of,
    mount_physical,
    people_file,
)

__all__ = ["org", "settings"]

SCHEMA = pa.schema(
    [
        ("resident_id", pa.string()),
        ("name", pa.string()),
        ("phone", pa.string()),
        ("region_code", pa.string()),
        ("age", pa.int64()),
    ]
)
# Ages 41 and 48 are out of the rule's 0..40.
FIXED = [(*row[:4], min(row[4], 40)) for row in PEOPLE]


def _entry(org: Org, tmp: Path) -> CatalogEntry:
    entry = make_entry(org)
    source = add_sqlite_source(org, "xn_stats", people_file(tmp / "people.db"))
    mount_physical(org, entry.id, source, PEOPLE)
    return entry


def _write(org: Org, entry: CatalogEntry, rows: list[tuple[Any, ...]]) -> None:
    """The provider fixes (or breaks) its data: a new version of the lake table."""
    lake = Lake.from_settings(org.settings)
    table = mount_of(org, entry.id).lake_table
    assert table is not None
    lake.overwrite(table, pa.Table.from_pylist([dict(zip(SCHEMA.names, r)) for r in rows], SCHEMA))


def _run(org: Org, entry: CatalogEntry) -> Any:
    with org.as_("xn_officer").act() as ctx:
        return quality_runs.run_entry(ctx, entry.id)


def _tickets(org: Org, entry: CatalogEntry) -> list[Ticket]:
    with org.db.transaction() as s:
        rows = list(
            s.scalars(select(Ticket).where(Ticket.entry_id == entry.id).order_by(Ticket.code))
        )
        s.expunge_all()
        return rows


def _step(org: Org, user: str, fn: Any, ticket_id: str) -> Any:
    with org.as_(user).act() as ctx:
        return fn(ctx, ticket_id, TicketNote(note="处理"))


def test_failed_rules_are_grouped_rechecked_and_confirmed(org: Org, tmp_path: Path) -> None:
    entry = _entry(org, tmp_path)
    with org.as_("xn_officer").act() as ctx:
        rule = quality_rules.create_rule(
            ctx,
            entry.id,
            RuleIn(kind="range", item="年龄", params={"min": 0, "max": 40}, severity=4),
        ).id
        quality_rules.create_rule(ctx, entry.id, RuleIn(kind="not_null", item="姓名"))
    first = _run(org, entry)
    second = _run(org, entry)
    # Two runs, one failing rule: one ticket, its counts from the latest run.
    [t] = _tickets(org, entry)
    assert (t.source, t.rule_id, t.severity, t.status) == ("rule", rule, 4, "open")
    assert (t.failed_count, t.checked_count) == (2, 5)
    assert (t.run_id, t.last_run_id) == (first.id, second.id)
    assert t.reporter_department_id is None and t.field == "年龄"
    assert t.due_at == Calendar().add(t.created_at, 3)  # severity 4: 3 working days
    assert 0 < len(t.samples or []) <= 5
    assert "0" in t.description and "2/5" in t.description
    assert _inbox(org, "xn_officer", t.id) == ["governance.ticket.open"]
    with org.as_("xn_officer").act() as ctx:
        shown = tickets.get_ticket(ctx, t.id)
    assert [e.action for e in shown.events] == ["open", "run_failed"]
    # Only the provider's officer submits; the operator closes (no reporting department).
    _step(org, "xn_officer", tickets.accept_ticket, t.id)
    _step(org, "xn_officer", tickets.start_rectifying, t.id)
    with pytest.raises(PermissionDenied):
        _step(org, "xn_clerk", tickets.submit_ticket, t.id)
    # Submitted without a fix: the rule still fails, back to rectifying with the new counts.
    out = _step(org, "xn_officer", tickets.submit_ticket, t.id)
    assert out.status == "rectifying" and out.recheck_passed is False
    assert (out.failed_count, out.checked_count) == (2, 5) and out.recheck_run_id
    assert out.events[-1].action == "recheck_failed"
    # Fixed: the re-check runs the rule on the new data and passes.
    _write(org, entry, FIXED)
    out = _step(org, "xn_officer", tickets.submit_ticket, t.id)
    assert out.status == "rechecked" and out.recheck_passed is True
    assert (out.failed_count, out.recheck_count) == (0, 2)
    assert "governance.ticket.rechecked" in _inbox(org, "operator", t.id)
    # The re-check runs are recorded with their trigger and opened nothing.
    with org.as_("xn_officer").act() as ctx:
        runs = quality_runs.list_runs(ctx, entry_ref=entry.id)
    assert [r.trigger for r in runs.items] == ["recheck", "recheck", "manual", "manual"]
    # The next run passes too: the fix held, the ticket closes by itself.
    _run(org, entry)
    [t] = _tickets(org, entry)
    assert t.status == "closed" and t.closed_at is not None
    # It breaks again: a closed ticket is history, a new one opens.
    _write(org, entry, PEOPLE)
    _run(org, entry)
    old, new = _tickets(org, entry)
    assert old.status == "closed" and new.status == "open" and new.id != old.id
    # A run that passes while the provider works on it serves as the re-check...
    _step(org, "xn_officer", tickets.accept_ticket, new.id)
    _write(org, entry, FIXED)
    _run(org, entry)
    [_, new] = _tickets(org, entry)
    assert new.status == "rechecked" and new.recheck_passed is True
    # ...and a run that fails after it reopens the ticket: the data regressed.
    _write(org, entry, PEOPLE)
    _run(org, entry)
    [_, new] = _tickets(org, entry)
    assert new.status == "reopened" and new.reopen_count == 1 and new.failed_count == 2
    with org.as_("xn_officer").act() as ctx:
        events = [e.action for e in tickets.get_ticket(ctx, new.id).events]
    assert events == ["open", "accept", "run_passed", "regressed"]
