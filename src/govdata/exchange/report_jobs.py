"""The monthly collection report: a job that files last month's workbook and tells the operators.

A cron schedule (``ensure_monthly_schedule``) enqueues ``exchange.collection_report`` at
06:00 on the 1st of every month (node time). The job builds the platform-wide report for
the calendar month just ended, writes it to ``<data_dir>/reports/collection-YYYY-MM.xlsx``
and sends each platform operator a notification naming the file. Running it twice for the
same month rewrites the same file.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from govdata.config import Settings
from govdata.core.clock import DISPLAY_TZ, as_utc, now
from govdata.core.db import Database
from govdata.core.jobs.models import JobSchedule
from govdata.core.jobs.registry import job_handler
from govdata.core.jobs.schedules import next_run
from govdata.core.jobs.worker import JobRun
from govdata.exchange.report import export_collection_report
from govdata.identity import queries as org
from govdata.notifications.actions import Message, notify
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM
from govdata.security.permissions import Role, Scope

KIND = "exchange.collection_report"
SCHEDULE_NAME = "exchange.collection_report.monthly"
SCHEDULE_CRON = "0 6 1 * *"


def report_path(settings: Settings, month: str) -> Path:
    """Where the report of ``month`` (``YYYY-MM``) is filed."""
    return settings.data_dir / "reports" / f"collection-{month}.xlsx"


def _previous_month(at: datetime) -> tuple[str, datetime, datetime]:
    """The calendar month (node time) before the one ``at`` falls in: name, start, end (UTC)."""
    local = as_utc(at).astimezone(DISPLAY_TZ)
    end = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    start = (end - timedelta(days=1)).replace(day=1)
    return start.strftime("%Y-%m"), as_utc(start), as_utc(end)


def monthly_report(
    db: Database, settings: Settings, *, as_of: datetime | None = None
) -> dict[str, Any]:
    """File the report of the month before ``as_of`` (default now) and notify the operators."""
    month, since, until = _previous_month(as_of or now())
    path = report_path(settings, month)
    with Caller(db, settings, SYSTEM).act() as ctx:
        data = export_collection_report(ctx, as_of=until, since=since)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed, so a reader never opens half a workbook.
        partial = path.with_suffix(".xlsx.part")
        partial.write_bytes(data)
        os.replace(partial, path)
        operators = org.users_covering(ctx.session, {Role.OPERATOR}, Scope())
        notified = notify(
            ctx.session,
            operators,
            Message(
                kind=KIND,
                title_zh=f"{month} 数据归集通报已生成",
                title_en=f"Collection report for {month} is ready",
                body=path.name,
                target_type="collection_report",
                target_id=month,
            ),
        )
    return {"month": month, "file": path.name, "bytes": len(data), "notified": notified}


@job_handler(KIND)
def collection_report_job(job: JobRun) -> dict[str, Any] | None:
    """Payload: optional ``as_of`` (ISO time) to file the month before it instead of now's."""
    raw = job.payload.get("as_of")
    as_of = as_utc(datetime.fromisoformat(raw)) if isinstance(raw, str) else None
    return monthly_report(job.db, job.settings, as_of=as_of)


def ensure_monthly_schedule(db: Database) -> str:
    """Create the monthly schedule unless it exists (an operator may have changed or disabled
    it: that is kept); returns its name."""
    with db.transaction() as s:
        found = s.scalar(select(JobSchedule.id).where(JobSchedule.name == SCHEDULE_NAME))
        if found is None:
            s.add(
                JobSchedule(
                    name=SCHEDULE_NAME,
                    cron=SCHEDULE_CRON,
                    kind=KIND,
                    payload={},
                    next_run_at=next_run(SCHEDULE_CRON, now()),
                )
            )
    return SCHEDULE_NAME
