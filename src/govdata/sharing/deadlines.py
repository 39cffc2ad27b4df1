"""The deadline sweep: escalate what is overdue, end what has expired.

Overdue open approval steps, routed demands and open objection tickets are escalated to
the operator once each (``escalated_at``); subscriptions of expired grants end. Countdown
and overdue markers on screen are computed from the deadlines when read, so they are right
between sweeps; the sweep only adds the escalation and its notices. It runs as job
``sharing.sweep`` every five minutes (a standing schedule every server and worker ensures).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from govdata.config import Settings
from govdata.core.clock import now
from govdata.core.db import Database
from govdata.core.jobs.registry import job_handler, standing_schedule
from govdata.core.jobs.worker import JobRun
from govdata.governance.models import Ticket
from govdata.governance.vocab import TicketStatus
from govdata.notifications.actions import Message
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM
from govdata.security.permissions import Role
from govdata.sharing.common import notify_department, notify_operators
from govdata.sharing.grants import end_subscriptions
from govdata.sharing.models import Application, ApplicationStep, Demand, Grant, Subscription
from govdata.sharing.vocab import DemandStatus, GrantStatus, StepStatus, SubscriptionState

JOB_KIND = "sharing.sweep"
standing_schedule(JOB_KIND, "*/5 * * * *", JOB_KIND)


def sweep(db: Database, settings: Settings) -> dict[str, int]:
    """One pass; returns how many of each it escalated or ended. Safe to run concurrently:
    each row is escalated in the same transaction that reads it as not yet escalated."""
    at = now()
    counts = {"steps": 0, "demands": 0, "tickets": 0, "subscriptions": 0}
    with Caller(db, settings, SYSTEM).act() as ctx:
        s = ctx.session
        steps = s.scalars(
            select(ApplicationStep).where(
                ApplicationStep.status == StepStatus.PENDING.value,
                ApplicationStep.due_at <= at,
                ApplicationStep.escalated_at.is_(None),
            )
        ).all()
        for step in steps:
            step.escalated_at = at
            app = s.get(Application, step.application_id)
            assert app is not None
            message = Message(
                kind="sharing.application.overdue",
                title_zh=f"共享申请 {app.code} 已超期，转主管部门督办",
                title_en=f"Application {app.code} is overdue and escalated",
                link=f"/sharing/applications/{app.id}",
                target_type="application",
                target_id=app.id,
            )
            notify_operators(s, message)
            notify_department(s, app.provider_department_id, {Role.DEPT_OFFICER}, message)
            ctx.audit(
                "sharing.application.escalate",
                target_type="application",
                target_id=app.id,
                details={
                    "step": step.kind,
                    "due_at": step.due_at.isoformat() if step.due_at else None,
                },
            )
            counts["steps"] += 1
        demands = s.scalars(
            select(Demand).where(
                Demand.status == DemandStatus.ROUTED.value,
                Demand.due_at <= at,
                Demand.escalated_at.is_(None),
            )
        ).all()
        for d in demands:
            d.escalated_at = at
            notify_operators(
                s,
                Message(
                    kind="sharing.demand.overdue",
                    title_zh=f"数据需求 {d.code} 答复超期",
                    title_en=f"Demand {d.code} answer overdue",
                    link=f"/sharing/demands/{d.id}",
                    target_type="demand",
                    target_id=d.id,
                ),
            )
            ctx.audit("sharing.demand.escalate", target_type="demand", target_id=d.id)
            counts["demands"] += 1
        tickets = s.scalars(
            select(Ticket).where(
                Ticket.status == TicketStatus.OPEN.value,
                Ticket.due_at <= at,
                Ticket.escalated_at.is_(None),
            )
        ).all()
        for t in tickets:
            t.escalated_at = at
            notify_operators(
                s,
                Message(
                    kind="governance.ticket.overdue",
                    title_zh=f"问题工单 {t.code} 处理超期",
                    title_en=f"Ticket {t.code} overdue",
                    link=f"/sharing/objections/{t.id}",
                    target_type="ticket",
                    target_id=t.id,
                ),
            )
            ctx.audit("governance.ticket.escalate", target_type="ticket", target_id=t.id)
            counts["tickets"] += 1
        expired = s.scalars(
            select(Grant.id)
            .join(Subscription, Subscription.grant_id == Grant.id)
            .where(
                Grant.status == GrantStatus.ACTIVE.value,
                Grant.expires_at <= at,
                Subscription.state != SubscriptionState.ENDED.value,
            )
            .distinct()
        ).all()
        for grant_id in expired:
            counts["subscriptions"] += end_subscriptions(s, grant_id)
    return counts


@job_handler(JOB_KIND)
def sweep_job(job: JobRun) -> dict[str, Any] | None:
    return dict(sweep(job.db, job.settings))
