"""Tickets from failed quality rules, and the re-check that runs a rule again.

A quality run calls ``open_from_run`` with the rules that failed. Tickets are grouped, not
one per row: one ticket per entry and rule, carrying the failed and checked counts, the
rule's description, a few masked failing rows (key fields and the checked item, as the run
masked them for the entry's grade) and the run. The reporter is the rule itself (no
reporting department); the provider department's officers answer for it within the working
days its severity allows (``vocab.SEVERITY_DAYS``: 2 for severity 5 … 15 for severity 1).

What a later run does to the rule's ticket that is not closed (a closed one is history: a
new failure opens a new ticket):

- the rule fails again: the counts, samples and last run are updated and the timeline
  says so; a re-checked ticket (its fix had passed) is reopened — the data regressed;
- the rule passes (no failed row, no error): a re-checked ticket is closed (the fix held
  in a run of its own: ``confirmed``); a ticket still in the provider's hands (open,
  accepted, rectifying, reopened) moves to re-checked, the run serving as its re-check; a
  disputed one only gets the fact on its timeline — the operator still decides;
- the rule is not in the run (``rule_ids`` chose others): nothing changes.

Runs with ``trigger="recheck"`` are left alone here: the submission that asked for the
re-check (``recheck`` below, called by ``tickets.submit_ticket``) reads their outcome.
These automatic steps are consequences of an authorised run: they are audited and on the
timeline under the run's actor, like any other step.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from govdata.catalog.models import CatalogEntry
from govdata.core.clock import now
from govdata.core.errors import Conflict
from govdata.governance import tickets
from govdata.governance.models import Ticket
from govdata.governance.vocab import RUNNING, SEVERITY_DAYS, TicketSource, TicketStatus
from govdata.security.context import ActionContext
from govdata.sharing.workdays import Calendar

# Failing rows kept on a ticket as evidence.
SAMPLES = 5

DIMENSIONS = {
    "accuracy": "准确性",
    "completeness": "完整性",
    "consistency": "一致性",
    "timeliness": "及时性",
    "uniqueness": "唯一性",
    "validity": "有效性",
}


def describe(rule: Any) -> str:
    """The rule in one sentence: its name, kind, item, dimension and parameters."""
    where = f"信息项“{rule.item}”" if rule.item else "整表"
    dimension = DIMENSIONS.get(rule.dimension, rule.dimension)
    params = json.dumps(rule.params or {}, ensure_ascii=False, sort_keys=True)
    text = f"质量规则“{rule.name}”（{rule.kind}，{where}，{dimension}，严重程度 {rule.severity}）"
    return text + (f"，参数 {params}" if rule.params else "")


def _counts(failed: int, checked: int) -> str:
    rate = f"{failed / checked:.2%}" if checked else "—"
    return f"{failed}/{checked} 行未通过（{rate}）"


def _samples(result: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in list(result.samples or [])[:SAMPLES]]


def open_from_run(ctx: ActionContext, run: Any, failed: list[tuple[Any, Any]]) -> None:
    """Open or update one ticket per failing rule of ``run`` (``failed``: (QualityRule,
    QualityResult) pairs with failed > 0), and move the tickets of rules that now pass."""
    if run.trigger == "recheck":
        return
    s = ctx.session
    # Two runs of the entry at once (two workers on PostgreSQL) must not both open a ticket
    # for the same rule: the entry's row serialises them (SQLite's write lock already does).
    s.execute(select(CatalogEntry.id).where(CatalogEntry.id == run.entry_id).with_for_update())
    pending = {
        t.rule_id: t
        for t in s.scalars(
            select(Ticket)
            .where(
                Ticket.entry_id == run.entry_id,
                Ticket.source == TicketSource.RULE.value,
                Ticket.status != TicketStatus.CLOSED.value,
            )
            .order_by(Ticket.created_at)
        )
    }
    failing: set[str] = set()
    for rule, result in failed:
        failing.add(rule.id)
        ticket = pending.get(rule.id)
        if ticket is None:
            _open(ctx, run, rule, result)
        else:
            _failed_again(ctx, ticket, run, result)
    passing = [rule_id for rule_id in pending if rule_id not in failing]
    if passing:
        _passed(ctx, run, {rule_id: pending[rule_id] for rule_id in passing if rule_id})


def _open(ctx: ActionContext, run: Any, rule: Any, result: Any) -> Ticket:
    s = ctx.session
    t = tickets.open_ticket(
        ctx,
        source=TicketSource.RULE,
        entry_id=run.entry_id,
        resource_code=run.resource_code,
        entry_name=run.entry_name,
        provider_department_id=run.department_id,
        title=f"质量规则未通过：{rule.name}",
        description=f"{describe(rule)}：{_counts(result.failed, result.checked)}。",
        due_at=Calendar.load(s).add(now(), SEVERITY_DAYS.get(rule.severity, SEVERITY_DAYS[3])),
        severity=rule.severity,
        field=rule.item,
        evidence=f"质量检查运行 {run.id}（{run.trigger}）",
        rule={
            "rule_id": rule.id,
            "run_id": run.id,
            "failed_count": result.failed,
            "checked_count": result.checked,
            "samples": _samples(result),
        },
    )
    ctx.audit(
        "governance.ticket.open",
        target_type="ticket",
        target_id=t.id,
        details={
            "code": t.code,
            "rule": rule.id,
            "run": run.id,
            "failed": result.failed,
            "checked": result.checked,
        },
    )
    return t


def _failed_again(ctx: ActionContext, t: Ticket, run: Any, result: Any) -> None:
    s = ctx.session
    t.last_run_id = run.id
    t.failed_count, t.checked_count = result.failed, result.checked
    t.samples = _samples(result)
    note = f"质量检查运行 {run.id}：{_counts(result.failed, result.checked)}"
    if t.status == TicketStatus.RECHECKED:
        tickets.reopen(ctx, t, note, action="regressed")
        return
    tickets.add_event(s, t, ctx.actor.name, "run_failed", note)
    ctx.audit(
        "governance.ticket.run_failed",
        target_type="ticket",
        target_id=t.id,
        details={"run": run.id, "failed": result.failed, "checked": result.checked},
    )


def _passed(ctx: ActionContext, run: Any, by_rule: dict[str, Ticket]) -> None:
    from govdata.governance.quality_models import QualityResult

    s = ctx.session
    results = s.scalars(
        select(QualityResult).where(
            QualityResult.run_id == run.id, QualityResult.rule_id.in_(list(by_rule))
        )
    )
    for result in results:
        if result.failed or result.error is not None:
            continue
        t = by_rule[result.rule_id]
        t.last_run_id = run.id
        t.failed_count, t.checked_count = 0, result.checked
        note = f"质量检查运行 {run.id}：{result.checked} 行均通过"
        if t.status == TicketStatus.RECHECKED:
            tickets.close(ctx, t, note, "confirmed")
        elif t.status in RUNNING:
            t.recheck_at, t.recheck_run_id, t.recheck_passed = now(), run.id, True
            t.recheck_count = (t.recheck_count or 0) + 1
            tickets.moved(ctx, t, TicketStatus.RECHECKED, "run_passed", note, {"run": run.id})
            users = tickets.operator_users(s, t) + tickets.provider_users(s, t)
            tickets.tell(s, t, users, "rechecked", " 复核通过", "passed its re-check", note)
        else:
            tickets.add_event(s, t, ctx.actor.name, "run_passed", note)


def recheck(ctx: ActionContext, t: Ticket) -> bool:
    """Run the ticket's rule now on the entry's current data; record the run and its counts
    on the ticket. True when no row fails."""
    from govdata.governance import quality_runs

    assert t.rule_id is not None
    out = quality_runs.run_entry(ctx, t.entry_id, trigger="recheck", rule_ids=[t.rule_id])
    result = next((r for r in out.results if r.rule_id == t.rule_id), None)
    if out.status != "succeeded" or result is None or getattr(result, "error", None):
        raise Conflict(
            "规则复核未能运行（规则已删除、停用或数据不可读），请联系运营管理员",
            "The re-check could not run the rule (deleted, disabled or the data is unreadable)",
            code="ticket_recheck_failed",
            details={
                "rule": t.rule_id,
                "run": out.id,
                "error": out.error_message or getattr(result, "error", None),
            },
        )
    t.recheck_run_id = t.last_run_id = out.id
    t.failed_count, t.checked_count = result.failed, result.checked
    if result.failed:
        t.samples = _samples(result)
    return not result.failed
