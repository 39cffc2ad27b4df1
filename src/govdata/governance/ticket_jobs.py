"""Escalation of overdue tickets (超期督办) and the auto-closing of re-checked rule tickets.

Job ``governance.tickets.escalate`` runs hourly (a standing schedule every server and worker
ensures). A ticket whose provider's clock runs (open, accepted, rectifying, reopened) and
whose deadline has passed rises through escalation levels by how late it is, in working
days past the deadline: level 1 as soon as it is overdue, level 2 from 3 working days late,
level 3 from 10. Each rise sets ``escalated_at``, is written to the timeline and the audit
trail, and notifies the provider department's officers (and the named assignee) and the
operators whose scope covers the provider (platform and region operators). The level is
computed from the clock, so running the job twice, or on two workers at once, escalates
each level once: a row rises only in the transaction that reads it below its level.
Extending the deadline starts the levels over.

The sharing deadline sweep (``sharing.deadlines``) still marks overdue *open* tickets
escalated and tells the platform operator; for a ticket it marked, the level-1 notice here
goes to the provider side only (the operators already have theirs).

Rule tickets re-checked ``AUTO_CLOSE_DAYS`` working days ago and not reopened since close
by themselves (``auto_closed``): nobody reported them to confirm the fix, and the fix has
held that long (a later failing run would have reopened them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from govdata.config import Settings
from govdata.core.clock import now
from govdata.core.db import Database
from govdata.core.jobs.registry import job_handler, standing_schedule
from govdata.core.jobs.worker import JobRun
from govdata.governance import tickets
from govdata.governance.models import Ticket
from govdata.governance.vocab import RUNNING, TicketSource, TicketStatus
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM
from govdata.sharing.workdays import Calendar

JOB_KIND = "governance.tickets.escalate"
standing_schedule(JOB_KIND, "7 * * * *", JOB_KIND)

# Working days past the deadline at which levels 2, 3, ... are reached (level 1: overdue).
LEVEL_AFTER = (3, 10)
MAX_LEVEL = 1 + len(LEVEL_AFTER)
AUTO_CLOSE_DAYS = 5


def level_for(calendar: Calendar, due: datetime, at: datetime) -> int:
    if at < due:
        return 0
    late = -calendar.left(at, due)
    return 1 + sum(1 for days in LEVEL_AFTER if late >= days)


def escalate(db: Database, settings: Settings, at: datetime | None = None) -> dict[str, int]:
    """One pass; returns how many tickets rose a level and how many closed by themselves."""
    at = at or now()
    counts = {"escalated": 0, "auto_closed": 0}
    with Caller(db, settings, SYSTEM).act() as ctx:
        s = ctx.session
        calendar = Calendar.load(s)
        late = s.scalars(
            select(Ticket).where(
                Ticket.status.in_([st.value for st in RUNNING]),
                Ticket.due_at <= at,
                Ticket.escalation_level < MAX_LEVEL,
            )
        ).all()
        for t in late:
            assert t.due_at is not None
            # Marked by the sharing sweep, which told the platform operator already.
            swept = t.escalation_level == 0 and t.escalated_at is not None
            level = level_for(calendar, t.due_at, at)
            if level <= (t.escalation_level or 0):
                continue
            t.escalation_level = level
            t.escalated_at = at
            note = f"超期未办结，升级至第 {level} 级督办"
            tickets.add_event(s, t, "system", "escalate", note)
            ctx.audit(
                "governance.ticket.escalate",
                target_type="ticket",
                target_id=t.id,
                details={"code": t.code, "level": level, "due_at": t.due_at.isoformat()},
            )
            users = tickets.provider_users(s, t)
            if not (swept and level == 1):
                users += tickets.operator_users(s, t)
            tickets.tell(s, t, users, "overdue", f" 超期（第 {level} 级督办）", "overdue", note)
            counts["escalated"] += 1
        rechecked = s.scalars(
            select(Ticket).where(
                Ticket.status == TicketStatus.RECHECKED.value,
                Ticket.source == TicketSource.RULE.value,
                Ticket.recheck_passed.is_(True),
                Ticket.reporter_department_id.is_(None),
            )
        ).all()
        for t in rechecked:
            if t.recheck_at is None or calendar.add(t.recheck_at, AUTO_CLOSE_DAYS) > at:
                continue
            note = f"复核通过后 {AUTO_CLOSE_DAYS} 个工作日未重开，自动关闭"
            tickets.close(ctx, t, note, "auto_closed")
            counts["auto_closed"] += 1
    return counts


@job_handler(JOB_KIND)
def escalate_job(job: JobRun) -> dict[str, Any] | None:
    return dict(escalate(job.db, job.settings))
