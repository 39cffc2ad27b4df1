"""The security posture (态势感知): access volume and its trend, top consumers, active alerts by
severity, the grades of the data shared, and the health of the audit ledger.

Volumes come from the scan's hourly statistics (so they run as far as the last scan), the
grade distribution from the active grants and their entries.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.catalog.models import CatalogEntry
from govdata.core.clock import DISPLAY_TZ, as_utc, now
from govdata.security.anomaly.access import require_posture_view
from govdata.security.anomaly.detect import STATE
from govdata.security.anomaly.models import AccessStat, Alert, ScanState
from govdata.security.anomaly.schemas import Consumer, LedgerHealthOut, PostureOut
from govdata.security.anomaly.vocab import ACTIVE_STATUSES, Severity
from govdata.security.context import ActionContext
from govdata.sharing.models import Grant
from govdata.sharing.vocab import GrantStatus

TREND_DAYS = 14
TOP_DAYS = 7
TOP_N = 10
GRADES = ("1", "2", "3", "4")


def _day_start(day: date) -> datetime:
    return as_utc(datetime.combine(day, time(0), tzinfo=DISPLAY_TZ))


def _trend(s: Session, today: date) -> tuple[list[str], list[int], list[int], list[int]]:
    days = [today - timedelta(days=i) for i in range(TREND_DAYS - 1, -1, -1)]
    calls = dict.fromkeys(days, 0)
    rows = dict.fromkeys(days, 0)
    denied = dict.fromkeys(days, 0)
    hourly = s.execute(
        select(
            AccessStat.hour,
            func.sum(AccessStat.calls),
            func.sum(AccessStat.rows),
            func.sum(AccessStat.denied),
        )
        .where(AccessStat.hour >= _day_start(days[0]))
        .group_by(AccessStat.hour)
    )
    for hour, c, r, d in hourly:
        day = as_utc(hour).astimezone(DISPLAY_TZ).date()
        if day in calls:
            calls[day] += int(c or 0)
            rows[day] += int(r or 0)
            denied[day] += int(d or 0)
    labels = [d.strftime("%m-%d") for d in days]
    return labels, list(calls.values()), list(rows.values()), list(denied.values())


def _top(s: Session, since: datetime) -> list[Consumer]:
    rows = s.execute(
        select(
            AccessStat.subject_kind,
            AccessStat.subject_id,
            AccessStat.subject_name,
            func.sum(AccessStat.calls),
            func.sum(AccessStat.rows),
            func.sum(AccessStat.denied),
        )
        .where(AccessStat.hour >= since)
        .group_by(
            AccessStat.subject_key,
            AccessStat.subject_kind,
            AccessStat.subject_id,
            AccessStat.subject_name,
        )
        .order_by(func.sum(AccessStat.rows).desc(), func.sum(AccessStat.calls).desc())
        .limit(TOP_N)
    )
    return [
        Consumer(
            subject_kind=k,
            subject_id=i,
            subject_name=n,
            calls=int(c or 0),
            rows=int(r or 0),
            denied=int(d or 0),
        )
        for k, i, n, c, r, d in rows
        if c
    ]


def _grades(s: Session, at: datetime) -> tuple[dict[str, int], dict[str, int]]:
    rows = s.execute(
        select(CatalogEntry.grade, func.count(Grant.id), func.count(func.distinct(Grant.entry_id)))
        .join(CatalogEntry, CatalogEntry.id == Grant.entry_id)
        .where(Grant.status == GrantStatus.ACTIVE.value, Grant.expires_at > at)
        .group_by(CatalogEntry.grade)
    )
    grants = dict.fromkeys(GRADES, 0)
    entries = dict.fromkeys(GRADES, 0)
    for grade, n_grants, n_entries in rows:
        grants[str(grade)] = int(n_grants)
        entries[str(grade)] = int(n_entries)
    return grants, entries


def ledger_health(s: Session) -> LedgerHealthOut:
    """The ledger's health when this node's ledger provides it; "not enabled" otherwise."""
    try:
        from govdata.security.ledger import health  # type: ignore[attr-defined]
    except ImportError:
        return LedgerHealthOut(enabled=False)
    h: Any = health(s)
    return LedgerHealthOut(
        enabled=True,
        tree_size=h.tree_size,
        pending=h.pending,
        last_head_at=h.last_head_at,
        last_verified_at=h.last_verified_at,
        last_verified_ok=h.last_verified_ok,
    )


def posture(ctx: ActionContext) -> PostureOut:
    """The posture page's figures. Security administrator, auditor, and the platform operator
    (read-only, no alert evidence)."""
    require_posture_view(ctx)
    s = ctx.session
    at = now()
    today = at.astimezone(DISPLAY_TZ).date()
    labels, calls, rows, denied = _trend(s, today)
    today_start = _day_start(today)
    consumers_today = s.scalar(
        select(func.count(func.distinct(AccessStat.subject_key))).where(
            AccessStat.hour >= today_start, AccessStat.calls > 0
        )
    )
    by_severity = dict(
        s.execute(
            select(Alert.severity, func.count())
            .where(Alert.status.in_([st.value for st in ACTIVE_STATUSES]))
            .group_by(Alert.severity)
        ).all()
    )
    open_alerts = {sev.value: int(by_severity.get(sev.value, 0)) for sev in Severity}
    grants, entries = _grades(s, at)
    state = s.get(ScanState, STATE)
    return PostureOut(
        as_of=at,
        scanned_until=state.scanned_at if state else None,
        last_scan_at=state.last_run_at if state else None,
        days=TREND_DAYS,
        trend_days=labels,
        trend_calls=calls,
        trend_rows=rows,
        calls_today=calls[-1],
        rows_today=rows[-1],
        denied_today=denied[-1],
        consumers_today=int(consumers_today or 0),
        top_consumers=_top(s, at - timedelta(days=TOP_DAYS)),
        open_alerts=open_alerts,
        open_alerts_total=sum(open_alerts.values()),
        grants_by_grade=grants,
        entries_by_grade=entries,
        ledger=ledger_health(s),
    )
