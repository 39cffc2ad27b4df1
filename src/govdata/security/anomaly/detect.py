"""The detection scan: new audit records → hourly statistics → rules → alerts.

The scan reads audit records in (at, id) order after its watermark, a batch per transaction,
and moves the watermark in the same transaction as the statistics and alerts the batch
produced: a scan that dies resumes where the last batch committed, and no record is counted
twice. Concurrent scans (the minute schedule, ``govdata alerts scan``) queue on the
watermark row.

Records younger than ``settle`` are left for the next run: a record is stamped when written,
not when its transaction commits, and a short transaction still open when the scan passes
would otherwise be skipped. Records older than ``horizon`` are history: counted into the
statistics the baselines learn from (a first scan reads back as far as the volume rule
learns), never alerted on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from govdata.config import Settings
from govdata.core.clock import as_utc, now
from govdata.core.db import Database
from govdata.core.sequences import daily_code
from govdata.identity.queries import users_covering
from govdata.notifications.actions import Message, notify
from govdata.security.anomaly import stats
from govdata.security.anomaly.models import Alert, AlertEvent, ScanState
from govdata.security.anomaly.rule_settings import Configured, configured
from govdata.security.anomaly.rules import volume
from govdata.security.anomaly.rules.base import MAX_RECORD_IDS, Batch, Event, Finding
from govdata.security.anomaly.vocab import ANNOUNCE_FROM, SEVERITY_ORDER, AlertStatus
from govdata.security.context import ActionContext, Caller
from govdata.security.context_types import SYSTEM
from govdata.security.models import AuditRecord
from govdata.security.permissions import Perm, Role, Scope

STATE = "anomaly"
SETTLE = timedelta(seconds=5)
HORIZON = timedelta(hours=24)
BATCH = 5000


@dataclass
class ScanResult:
    records: int = 0
    batches: int = 0
    raised: int = 0
    repeated: int = 0
    scanned_until: datetime | None = None


def scan(
    db: Database,
    settings: Settings,
    *,
    at: datetime | None = None,
    settle: timedelta = SETTLE,
    horizon: timedelta = HORIZON,
    batch_size: int = BATCH,
    max_batches: int | None = None,
) -> ScanResult:
    """Read what was audited since the last scan and raise or repeat alerts; returns counts."""
    t = at or now()
    result = ScanResult()
    while max_batches is None or result.batches < max_batches:
        with Caller(db, settings, SYSTEM).act() as ctx:
            n = _step(ctx, t, t - settle, t - horizon, batch_size, result)
        if n < batch_size:
            break
    return result


def _state(s: Session) -> ScanState:
    state = s.scalars(
        select(ScanState).where(ScanState.name == STATE).with_for_update()
    ).one_or_none()
    if state is None:  # the migration creates it; a hand-cleared table gets it back
        state = ScanState(name=STATE)
        s.add(state)
        s.flush()
    return state


def _events(s: Session, state: ScanState, start: datetime, until: datetime, n: int) -> list[Event]:
    after = (
        AuditRecord.at > start
        if state.scanned_id is None
        else or_(
            AuditRecord.at > start,
            and_(AuditRecord.at == start, AuditRecord.id > state.scanned_id),
        )
    )
    rows = s.execute(
        select(
            AuditRecord.id,
            AuditRecord.at,
            AuditRecord.actor_kind,
            AuditRecord.actor_id,
            AuditRecord.actor_name,
            AuditRecord.action,
            AuditRecord.target_type,
            AuditRecord.target_id,
            AuditRecord.outcome,
            AuditRecord.client_addr,
            AuditRecord.row_count,
            AuditRecord.details,
        )
        .where(after, AuditRecord.at < until)
        .order_by(AuditRecord.at, AuditRecord.id)
        .limit(n)
    ).all()
    return [Event(**row._asdict()) for row in rows]


def _step(
    ctx: ActionContext,
    t: datetime,
    until: datetime,
    horizon: datetime,
    batch_size: int,
    result: ScanResult,
) -> int:
    s = ctx.session
    state = _state(s)
    rules = configured(s)
    if state.scanned_at is not None:
        start = as_utc(state.scanned_at)
    else:
        learn = next(c for c in rules if c.spec.code == volume.CODE).params
        assert isinstance(learn, volume.Params)
        start = min(t - timedelta(days=learn.days), horizon)
    events = _events(s, state, start, until, batch_size)
    if events:
        stats.add(s, events)
        batch = Batch(s, events, now=t, horizon=horizon)
        for c in rules:
            if c.enabled:
                for finding in c.spec.evaluate(batch, c.params):
                    _record(ctx, c, finding, result)
        state.scanned_at, state.scanned_id = events[-1].at, events[-1].id
        result.batches += 1
        result.records += len(events)
    elif state.scanned_at is None:
        state.scanned_at = start
    state.last_run_at = t
    result.scanned_until = as_utc(state.scanned_at) if state.scanned_at else None
    state.last_run = {
        "records": result.records,
        "raised": result.raised,
        "repeated": result.repeated,
    }
    return len(events)


def _record(ctx: ActionContext, c: Configured, f: Finding, result: ScanResult) -> None:
    """A new alert for a new (rule, subject, window); a repeat for one already raised."""
    s = ctx.session
    alert = s.scalars(select(Alert).where(Alert.dedup_key == f.dedup_key)).one_or_none()
    if alert is not None:
        if as_utc(f.last_event_at) <= as_utc(alert.last_event_at):
            return
        alert.occurrences += 1
        alert.last_event_at = f.last_event_at
        alert.observed = max(alert.observed, f.observed)
        alert.threshold = f.threshold
        alert.evidence = f.evidence
        merged = list(dict.fromkeys([*alert.record_ids, *f.record_ids]))
        alert.record_ids = merged[-MAX_RECORD_IDS:]
        result.repeated += 1
        return
    alert = Alert(
        code=daily_code(s, "AL"),
        rule=f.rule,
        severity=c.severity.value,
        status=AlertStatus.OPEN.value,
        dedup_key=f.dedup_key,
        subject_kind=f.subject.kind,
        subject_id=f.subject.id,
        subject_name=f.subject.name[:128],
        window_start=f.window_start,
        window_end=f.window_end,
        observed=f.observed,
        threshold=f.threshold,
        occurrences=1,
        first_event_at=f.first_event_at,
        last_event_at=f.last_event_at,
        evidence=f.evidence,
        record_ids=f.record_ids,
    )
    s.add(alert)
    s.flush()
    s.add(
        AlertEvent(
            alert_id=alert.id, at=now(), actor_name=ctx.actor.name, action="raise", status="open"
        )
    )
    ctx.audit(
        "security.alert.raise",
        target_type="alert",
        target_id=alert.id,
        details={
            "code": alert.code,
            "rule": f.rule,
            "severity": alert.severity,
            "subject": f.subject.key,
            "observed": f.observed,
            "threshold": f.threshold,
        },
    )
    if SEVERITY_ORDER[c.severity] >= SEVERITY_ORDER[ANNOUNCE_FROM]:
        zh, en = c.spec.label
        notify(
            s,
            users_covering(s, {Role.SECADMIN}, Scope()),
            Message(
                kind="security.alert.raised",
                title_zh=f"安全告警 {alert.code}：{zh}（{f.subject.name}）",
                title_en=f"Security alert {alert.code}: {en} ({f.subject.name})",
                link=f"/security/alerts/{alert.id}",
                target_type="alert",
                target_id=alert.id,
            ),
        )
    result.raised += 1


def scan_now(caller: Caller) -> ScanResult:
    """Scan at once (``govdata alerts scan``, the "scan now" button). Security administrator
    only; audited. Nothing is left to settle: the caller wants what has happened so far."""
    with caller.act() as ctx:
        ctx.require(Perm.SECURITY_MANAGE)
        ctx.audit("security.alert.scan")
    return scan(caller.db, caller.settings, settle=timedelta(0))
