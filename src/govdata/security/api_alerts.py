"""Anomaly detection API: alerts and their disposal, alert rules, baselines, the posture.

Security administrators see and dispose of alerts and edit rules; auditors read them; the
platform operator reads the posture only (see ``security.anomaly.access``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from govdata.security.anomaly import alerts, detect, posture, rule_settings
from govdata.security.anomaly.schemas import (
    AlertOut,
    AlertPage,
    AssignIn,
    BaselineOut,
    NoteIn,
    PostureOut,
    RuleIn,
    RuleOut,
    ScanOut,
)
from govdata.security.anomaly.vocab import Severity
from govdata.web.deps import CallerDep

router = APIRouter(prefix="/security", tags=["security"])


@router.get("/alerts", response_model=AlertPage)
def list_alerts(
    caller: CallerDep,
    status: Annotated[
        str | None, Query(description="open, assigned, disposing, closed, false_positive, active")
    ] = None,
    severity: Severity | None = None,
    rule: str | None = None,
    assignee: Annotated[str | None, Query(description="assignee's user id")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 25,
    cursor: str | None = None,
) -> AlertPage:
    """Alerts, newest first. Security administrator and auditor."""
    with caller.act() as ctx:
        return alerts.list_alerts(
            ctx,
            status=status,
            severity=severity,
            rule=rule,
            assignee_id=assignee,
            limit=limit,
            cursor=cursor,
        )


@router.post("/alerts/scan", response_model=ScanOut)
def scan(caller: CallerDep) -> ScanOut:
    """Run the detection scan now (it also runs every minute). Security administrator."""
    result = detect.scan_now(caller)
    return ScanOut(
        records=result.records,
        batches=result.batches,
        raised=result.raised,
        repeated=result.repeated,
        scanned_until=result.scanned_until,
    )


@router.get("/alerts/{alert_id}", response_model=AlertOut)
def get_alert(caller: CallerDep, alert_id: str) -> AlertOut:
    """One alert with its evidence records and timeline; the view is audited."""
    with caller.act() as ctx:
        return alerts.get_alert(ctx, alert_id)


@router.post("/alerts/{alert_id}/assign", response_model=AlertOut)
def assign_alert(caller: CallerDep, alert_id: str, data: AssignIn) -> AlertOut:
    """Assign to a security administrator (user id or username), who is notified."""
    with caller.act() as ctx:
        return alerts.assign_alert(ctx, alert_id, data)


@router.post("/alerts/{alert_id}/start", response_model=AlertOut)
def start_disposal(caller: CallerDep, alert_id: str) -> AlertOut:
    """The assignee starts disposing of the alert (处置中)."""
    with caller.act() as ctx:
        return alerts.start_disposal(ctx, alert_id)


@router.post("/alerts/{alert_id}/close", response_model=AlertOut)
def close_alert(caller: CallerDep, alert_id: str, data: NoteIn) -> AlertOut:
    """The assignee closes the alert; the closure note is required."""
    with caller.act() as ctx:
        return alerts.close_alert(ctx, alert_id, data)


@router.post("/alerts/{alert_id}/false-positive", response_model=AlertOut)
def mark_false_positive(caller: CallerDep, alert_id: str, data: NoteIn) -> AlertOut:
    """Mark the alert a false positive; the reason is required."""
    with caller.act() as ctx:
        return alerts.mark_false_positive(ctx, alert_id, data)


@router.get("/alert-rules", response_model=list[RuleOut])
def list_rules(caller: CallerDep) -> list[RuleOut]:
    """The alert rules with their settings and defaults."""
    with caller.act() as ctx:
        return rule_settings.list_rules(ctx)


@router.put("/alert-rules/{code}", response_model=RuleOut)
def update_rule(caller: CallerDep, code: str, data: RuleIn) -> RuleOut:
    """Switch a rule on or off, set its severity and settings. Security administrator."""
    with caller.act() as ctx:
        return rule_settings.update_rule(ctx, code, data)


@router.get("/baselines", response_model=list[BaselineOut])
def list_baselines(
    caller: CallerDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[BaselineOut]:
    """Learned per-app (and per-user) baselines of the volume rule with their thresholds."""
    with caller.act() as ctx:
        return rule_settings.list_baselines(ctx, limit=limit)


@router.get("/posture", response_model=PostureOut)
def get_posture(caller: CallerDep) -> PostureOut:
    """The security posture (态势感知): volumes, top consumers, alerts, grades, ledger health."""
    with caller.act() as ctx:
        return posture.posture(ctx)
