"""The open-data sweep: escalate overdue public applications once, drop expired sessions.

Runs as job ``opendata.sweep`` every five minutes (a standing schedule, like
``sharing.sweep``). Each application is escalated in the transaction that reads it as not
yet escalated, so a second sweep, or two at once, escalate nothing twice.
"""

from __future__ import annotations

from typing import Any

from govdata.config import Settings
from govdata.core import clock
from govdata.core.db import Database
from govdata.core.jobs.registry import job_handler, standing_schedule
from govdata.core.jobs.worker import JobRun
from govdata.notifications.actions import Message
from govdata.opendata import accounts
from govdata.opendata.applications import AUDIT_TARGET, overdue_pending
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM
from govdata.sharing.common import notify_operators

JOB_KIND = "opendata.sweep"
standing_schedule(JOB_KIND, "*/5 * * * *", JOB_KIND)


def sweep(db: Database, settings: Settings) -> dict[str, int]:
    at = clock.now()
    counts = {"applications": 0, "sessions": 0}
    with Caller(db, settings, SYSTEM).act() as ctx:
        s = ctx.session
        for app in overdue_pending(s, at):
            app.escalated_at = at
            notify_operators(
                s,
                Message(
                    kind="opendata.application.overdue",
                    title_zh=f"有条件开放申请 {app.code} 审核超期，转运营方督办",
                    title_en=f"Open-data application {app.code} is overdue and escalated",
                    link=f"/opendata/applications/{app.id}",
                    target_type=AUDIT_TARGET,
                    target_id=app.id,
                ),
            )
            ctx.audit(
                "opendata.application.escalate",
                target_type=AUDIT_TARGET,
                target_id=app.id,
                details={"due_at": app.due_at.isoformat() if app.due_at else None},
            )
            counts["applications"] += 1
        counts["sessions"] = accounts.purge_sessions(s)
    return counts


@job_handler(JOB_KIND)
def sweep_job(job: JobRun) -> dict[str, Any] | None:
    return dict(sweep(job.db, job.settings))
