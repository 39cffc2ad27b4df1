"""Portal pages of anomaly detection: the posture dashboard (态势感知), alerts with their
disposal (处置), and the alert rules.

Thin shells over ``security.anomaly``: each page asks the actions, which decide who may see
or change what; the forms shown are only those the viewer may use.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic import BaseModel

from govdata.core import i18n
from govdata.core.errors import GovDataError, InvalidInput
from govdata.security.anomaly import alerts, detect, posture, rule_settings
from govdata.security.anomaly.access import can_view_alerts
from govdata.security.anomaly.schemas import AlertOut, AssignIn, NoteIn, RuleIn
from govdata.security.anomaly.vocab import (
    ACTIVE_STATUSES,
    AlertStatus,
    Severity,
    severity_label,
    status_label,
)
from govdata.security.permissions import Perm
from govdata.web.portal import Page, PortalRouter, UserForm, UserPage, parse
from govdata.web.templating import N_

router = PortalRouter()
PAGE_SIZE = 25

SEVERITY_TONE = {"low": "blue", "medium": "amber", "high": "red", "critical": "red"}
STATUS_TONE = {
    "open": "red",
    "assigned": "amber",
    "disposing": "blue",
    "closed": "green",
    "false_positive": "gray",
}
SUBJECT_KINDS = {"app": N_("App"), "user": N_("User"), "addr": N_("Client address")}
PARAM_LABELS = {
    "metric": N_("Measure"),
    "days": N_("Days learned from"),
    "k": N_("MADs above the median"),
    "ratio": N_("At least this multiple of the median"),
    "floor": N_("Floor per hour"),
    "min_samples": N_("Active hours before the baseline counts"),
    "work_start": N_("Working hours start (hour)"),
    "work_end": N_("Working hours end (hour)"),
    "rows": N_("Rows per off-hours period"),
    "window_minutes": N_("Window (minutes)"),
    "keys": N_("Distinct keys per window"),
    "count": N_("Count per window"),
    "login_failures": N_("Count failed sign-ins per address"),
    "lookback_days": N_("Days an address stays known"),
}
METRIC_LABELS = {"rows": N_("Rows"), "calls": N_("Calls")}
EVIDENCE_LABELS = {
    "metric": N_("Measure"),
    "median": N_("Baseline median per active hour"),
    "mad": N_("Median absolute deviation"),
    "samples": N_("Active hours learned from"),
    "days": N_("Days learned from"),
    "learning": N_("Still learning (the floor decides)"),
    "calls": N_("Calls"),
    "work_hours": N_("Working hours"),
    "entry_id": N_("Catalog entry"),
    "resource_code": N_("Resource code"),
    "distinct_keys": N_("Distinct keys"),
    "verification_checks": N_("Verification checks"),
    "fields": N_("Fields"),
    "window_minutes": N_("Window (minutes)"),
    "by_action": N_("By action"),
    "targets": N_("Targets"),
    "addresses": N_("Client addresses"),
    "reasons": N_("Reasons"),
    "address": N_("New address"),
    "known_addresses": N_("Known addresses"),
}
DONE = {
    "assigned": N_("Alert assigned; the assignee has been notified."),
    "started": N_("Disposal started."),
    "closed": N_("Alert closed."),
    "false_positive": N_("Alert marked as a false positive."),
    "rule_saved": N_("Alert rule saved."),
    "scanned": N_("Scan finished."),
}
NOTE_LABELS = {"note": N_("Note")}
ASSIGN_LABELS = {"assignee": N_("Assignee")}


def _done(page: Page) -> str | None:
    message = DONE.get(page.request.query_params.get("done", ""))
    return i18n.translations(page.locale).gettext(message) if message else None


def _refusal(exc: GovDataError) -> bool:
    """Refusals and missing alerts get the error page; other errors show in the page."""
    return exc.status in (401, 403, 404)


def _helpers(page: Page) -> dict[str, Any]:
    locale = page.locale
    return {
        "severity_tone": lambda v: SEVERITY_TONE.get(str(v), "gray"),
        "status_tone": lambda v: STATUS_TONE.get(str(v), "gray"),
        "severity_label": lambda v: severity_label(str(v), locale),
        "alert_status": lambda v: status_label(str(v), locale),
        "subject_kind": lambda v: SUBJECT_KINDS.get(str(v), str(v)),
        "param_label": lambda v: PARAM_LABELS.get(str(v), str(v)),
        "metric_label": lambda v: METRIC_LABELS.get(str(v), str(v)),
        "evidence_label": lambda v: EVIDENCE_LABELS.get(str(v), str(v)),
        "evidence_value": _evidence_value,
        "number": _number,
    }


def _evidence_value(value: Any) -> str:
    if isinstance(value, bool):
        return i18n.gettext("Yes") if value else i18n.gettext("No")
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items()) or "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, (int, float)):
        return _number(value)
    return "—" if value is None else str(value)


def _number(value: float | int | None) -> str:
    if value is None:
        return "—"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


# The posture dashboard ----------------------------------------------------------------------


@router.get("/security/posture")
def posture_page(page: UserPage) -> Response:
    with page.act() as ctx:
        p = posture.posture(ctx)
        recent = None
        if can_view_alerts(page.actor):
            recent = alerts.list_alerts(ctx, status="active", limit=5)
    locale = page.locale
    return page.render(
        "security/posture.html",
        p=p,
        recent=recent,
        calls_chart={"labels": p.trend_days, "values": p.trend_calls},
        rows_chart={"labels": p.trend_days, "values": p.trend_rows},
        alerts_chart={
            "labels": [severity_label(s, locale) for s in p.open_alerts],
            "values": list(p.open_alerts.values()),
        },
        grade_chart={
            "labels": [_grade(g) for g, n in p.grants_by_grade.items() if n],
            "values": [n for n in p.grants_by_grade.values() if n],
        },
        **_helpers(page),
    )


def _grade(grade: str) -> str:
    return i18n.gettext("Grade %(grade)s") % {"grade": grade}


# Alerts ------------------------------------------------------------------------------------


@router.get("/security/alerts")
def alerts_page(
    page: UserPage, status: str = "active", severity: str = "", rule: str = "", cursor: str = ""
) -> Response:
    chosen_status = status if status in {"active", "all", *AlertStatus} else "active"
    chosen_severity = severity if severity in set(Severity) else ""
    with page.act() as ctx:
        rules = rule_settings.list_rules(ctx)
        chosen_rule = rule if rule in {r.code for r in rules} else ""
        result = alerts.list_alerts(
            ctx,
            status=None if chosen_status == "all" else chosen_status,
            severity=Severity(chosen_severity) if chosen_severity else None,
            rule=chosen_rule or None,
            limit=PAGE_SIZE,
            cursor=cursor or None,
        )
    query = "&".join(
        f"{k}={v}"
        for k, v in (
            ("status", chosen_status),
            ("severity", chosen_severity),
            ("rule", chosen_rule),
        )
        if v
    )
    return page.render(
        "security/alerts.html",
        result=result,
        rules=rules,
        statuses=["active", *[s.value for s in AlertStatus], "all"],
        severities=[s.value for s in Severity],
        filter_status=chosen_status,
        filter_severity=chosen_severity,
        filter_rule=chosen_rule,
        base_query=query,
        cursor=cursor,
        may_scan=page.actor.can(Perm.SECURITY_MANAGE),
        notice=_done(page),
        **_helpers(page),
    )


def _may(page: Page, a: AlertOut) -> set[str]:
    """The disposal steps the viewer may take now; the actions check again."""
    actor = page.actor
    if not actor.can(Perm.SECURITY_MANAGE) or a.status not in set(ACTIVE_STATUSES):
        return set()
    mine = a.assignee_id == actor.id
    may = {"assign"}
    if a.status == AlertStatus.ASSIGNED and mine:
        may.add("start")
    if a.status == AlertStatus.DISPOSING and mine:
        may.add("close")
    if a.status == AlertStatus.OPEN or mine:
        may.add("false_positive")
    return may


def _detail(
    page: Page,
    alert_id: str,
    *,
    error: str | None = None,
    status: int = 200,
    typed: dict[str, str] | None = None,
) -> Response:
    with page.act() as ctx:
        a = alerts.get_alert(ctx, alert_id)
        may = _may(page, a)
        officers = alerts.list_officers(ctx) if "assign" in may else []
    return page.render(
        "security/alerts_detail.html",
        status=status,
        a=a,
        may=may,
        officers=officers,
        typed=typed or {},
        error=error,
        notice=_done(page),
        **_helpers(page),
    )


@router.get("/security/alerts/{alert_id}")
def alert_page(page: UserPage, alert_id: str) -> Response:
    return _detail(page, alert_id)


def _step(
    page: Page, alert_id: str, form: str, done: str, model: type[BaseModel] | None, run: Any
) -> Response:
    typed = {name: page.field(name) for name in ("note", "assignee")} | {"form": form}
    try:
        data: BaseModel | None = None
        if model is NoteIn:
            data = parse(NoteIn, {"note": typed["note"]}, NOTE_LABELS)
        elif model is AssignIn:
            data = parse(AssignIn, {"assignee": typed["assignee"]}, ASSIGN_LABELS)
        with page.act() as ctx:
            if data is None:
                run(ctx, alert_id)
            else:
                run(ctx, alert_id, data)
    except GovDataError as exc:
        if _refusal(exc):
            raise
        return _detail(page, alert_id, error=page.message(exc), status=exc.status, typed=typed)
    return page.redirect(f"/security/alerts/{alert_id}?done={done}")


@router.post("/security/alerts/scan")
def scan_now(page: UserForm) -> Response:
    detect.scan_now(page.caller)
    return page.redirect("/security/alerts?done=scanned")


@router.post("/security/alerts/{alert_id}/assign")
def assign(page: UserForm, alert_id: str) -> Response:
    return _step(page, alert_id, "assign", "assigned", AssignIn, alerts.assign_alert)


@router.post("/security/alerts/{alert_id}/start")
def start(page: UserForm, alert_id: str) -> Response:
    return _step(page, alert_id, "start", "started", None, alerts.start_disposal)


@router.post("/security/alerts/{alert_id}/close")
def close(page: UserForm, alert_id: str) -> Response:
    return _step(page, alert_id, "close", "closed", NoteIn, alerts.close_alert)


@router.post("/security/alerts/{alert_id}/false-positive")
def false_positive(page: UserForm, alert_id: str) -> Response:
    return _step(
        page, alert_id, "false_positive", "false_positive", NoteIn, alerts.mark_false_positive
    )


# Alert rules -------------------------------------------------------------------------------


def _rules_page(
    page: Page, *, error: str | None = None, failed: str | None = None, status: int = 200
) -> Response:
    with page.act() as ctx:
        rules = rule_settings.list_rules(ctx)
        baselines = rule_settings.list_baselines(ctx, limit=50)
    return page.render(
        "security/alerts_rules.html",
        status=status,
        rules=rules,
        baselines=baselines,
        may_edit=page.actor.can(Perm.SECURITY_MANAGE),
        error=error,
        failed=failed,
        notice=_done(page),
        **_helpers(page),
    )


@router.get("/security/alert-rules")
def rules_page(page: UserPage) -> Response:
    return _rules_page(page)


def _typed_params(page: Page, defaults: dict[str, Any]) -> dict[str, Any]:
    """The rule's settings from the form, typed like their defaults."""
    out: dict[str, Any] = {}
    for name, default in defaults.items():
        field = f"p_{name}"
        if isinstance(default, bool):
            out[name] = page.field(field) == "on"
            continue
        raw = page.field(field)
        if raw == "":
            continue
        try:
            out[name] = (
                int(raw)
                if isinstance(default, int)
                else float(raw)
                if isinstance(default, float)
                else raw
            )
        except ValueError as exc:
            label = i18n.translations(page.locale).gettext(PARAM_LABELS.get(name, name))
            raise InvalidInput(
                f"请检查：{label}",
                f"Please check: {label}",
                code="alert_rule_invalid",
                details=[{"field": name}],
            ) from exc
    return out


@router.post("/security/alert-rules/{code}")
def save_rule(page: UserForm, code: str) -> Response:
    try:
        with page.act() as ctx:
            current = {r.code: r for r in rule_settings.list_rules(ctx)}
        if code not in current:
            raise InvalidInput(
                "告警规则不存在", "Alert rule not found", code="alert_rule_not_found"
            )
        data = RuleIn(
            enabled=page.field("enabled") == "on",
            severity=Severity(page.field("severity"))
            if page.field("severity") in set(Severity)
            else Severity(current[code].severity),
            params=_typed_params(page, current[code].defaults),
        )
        with page.act() as ctx:
            rule_settings.update_rule(ctx, code, data)
    except GovDataError as exc:
        if _refusal(exc):
            raise
        return _rules_page(page, error=page.message(exc), failed=code, status=exc.status)
    return page.redirect(f"/security/alert-rules?done=rule_saved#rule-{code}")
