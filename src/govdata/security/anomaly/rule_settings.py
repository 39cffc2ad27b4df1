"""Alert rules as configured: enabled, severity and settings per rule, edited by the security
administrator; the learned baselines beside them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core.clock import now
from govdata.core.errors import InvalidInput, NotFound
from govdata.security.anomaly import baselines
from govdata.security.anomaly.access import require_alerts_view
from govdata.security.anomaly.models import AlertRule, Baseline
from govdata.security.anomaly.rules import RULES, volume
from govdata.security.anomaly.rules.base import RuleSpec
from govdata.security.anomaly.schemas import BaselineOut, RuleIn, RuleOut
from govdata.security.anomaly.vocab import Severity, severity_label
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm


@dataclass(frozen=True)
class Configured:
    spec: RuleSpec
    enabled: bool
    severity: Severity
    params: BaseModel
    row: AlertRule | None


def _params(spec: RuleSpec, stored: dict[str, Any]) -> BaseModel:
    """Stored settings over the defaults; settings a newer version no longer knows, or no
    longer accepts, fall back to the defaults rather than stop the rule."""
    known = {k: v for k, v in stored.items() if k in spec.params.model_fields}
    try:
        return spec.params.model_validate(known)
    except ValidationError:
        return spec.params()


def configured(s: Session) -> list[Configured]:
    rows = {r.code: r for r in s.scalars(select(AlertRule))}
    out = []
    for code, spec in RULES.items():
        row = rows.get(code)
        out.append(
            Configured(
                spec=spec,
                enabled=row.enabled if row else True,
                severity=Severity(row.severity) if row else spec.severity,
                params=_params(spec, row.params if row else {}),
                row=row,
            )
        )
    return out


def _out(c: Configured, locale: str) -> RuleOut:
    en = locale.startswith("en")
    return RuleOut(
        code=c.spec.code,
        label=c.spec.label[1 if en else 0],
        description=c.spec.description[1 if en else 0],
        unit=c.spec.unit[1 if en else 0],
        enabled=c.enabled,
        severity=c.severity.value,
        severity_label=severity_label(c.severity, locale),
        params=c.params.model_dump(mode="json"),
        defaults=c.spec.params().model_dump(mode="json"),
        updated_at=c.row.updated_at if c.row else None,
        updated_by=c.row.updated_by if c.row else None,
    )


def list_rules(ctx: ActionContext) -> list[RuleOut]:
    """The alert rules with their current settings and defaults. Security administrator and
    auditor."""
    require_alerts_view(ctx)
    return [_out(c, ctx.locale) for c in configured(ctx.session)]


def update_rule(ctx: ActionContext, code: str, data: RuleIn) -> RuleOut:
    """Switch a rule on or off, set its severity and settings (``alert_rule_invalid`` names
    bad settings; nothing changes then). Security administrator only; audited."""
    ctx.require(Perm.SECURITY_MANAGE)
    spec = RULES.get(code)
    if spec is None:
        raise NotFound("告警规则不存在", "Alert rule not found", code="alert_rule_not_found")
    current = next(c for c in configured(ctx.session) if c.spec.code == code)
    merged = {**current.params.model_dump(), **data.params}
    try:
        params = spec.params.model_validate(merged)
    except ValidationError as exc:
        raise InvalidInput(
            "告警规则参数不合法",
            "Invalid alert rule settings",
            code="alert_rule_invalid",
            details=[
                {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                for e in exc.errors()
            ],
        ) from exc
    row = current.row
    if row is None:
        row = AlertRule(code=code)
        ctx.session.add(row)
    before = {"enabled": current.enabled, "severity": current.severity.value}
    row.enabled = data.enabled
    row.severity = data.severity.value
    row.params = params.model_dump(mode="json")
    row.updated_at = now()
    row.updated_by = ctx.actor.name
    ctx.session.flush()
    ctx.audit(
        "security.alert_rule.update",
        target_type="alert_rule",
        target_id=code,
        details={
            "before": {**before, "params": current.params.model_dump(mode="json")},
            "after": {"enabled": row.enabled, "severity": row.severity, "params": row.params},
        },
    )
    return _out(Configured(spec, row.enabled, data.severity, params, row), ctx.locale)


def list_baselines(ctx: ActionContext, *, limit: int = 100) -> list[BaselineOut]:
    """Learned per-subject baselines of the volume rule with the threshold they give now,
    busiest first. Security administrator and auditor."""
    require_alerts_view(ctx)
    c = next(c for c in configured(ctx.session) if c.spec.code == volume.CODE)
    p = c.params
    assert isinstance(p, volume.Params)
    rows = ctx.session.scalars(
        select(Baseline)
        .where(Baseline.metric == p.metric)
        .order_by(Baseline.median.desc(), Baseline.subject_key)
        .limit(limit)
    )
    return [
        BaselineOut(
            subject_kind=b.subject_kind,
            subject_id=b.subject_id,
            subject_name=b.subject_name,
            metric=b.metric,
            median=b.median,
            mad=b.mad,
            samples=b.samples,
            days=b.days,
            threshold=baselines.threshold(
                b, k=p.k, ratio=p.ratio, floor=p.floor, min_samples=p.min_samples
            ),
            learning=b.samples < p.min_samples,
            learned_at=b.learned_at,
        )
        for b in rows
    ]
