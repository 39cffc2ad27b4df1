"""The sharing policy (deadlines, the approval chain per grade) and the holiday calendar.

Everyone who takes part in sharing reads them (the portal shows the deadlines); only the
operator (``sharing.manage``) changes them. A change applies to steps opened afterwards:
a deadline already running keeps the length it started with.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core.clock import now
from govdata.core.errors import InvalidInput, NotFound
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm
from govdata.sharing.models import Holiday, SharingPolicy
from govdata.sharing.schemas import HolidayIn, HolidayOut, PolicyOut, PolicyUpdate
from govdata.sharing.vocab import StepKind

GRADES = ("1", "2", "3", "4")


def load_policy(s: Session) -> SharingPolicy:
    policy = s.get(SharingPolicy, 1)
    if policy is None:
        # The migration seeds it; a store without it was tampered with.
        raise RuntimeError("sharing_policy row 1 is missing")
    return policy


def chain_for(policy: SharingPolicy, grade: int) -> list[StepKind]:
    """Steps after the first (compliance check or provider review) for data of ``grade``."""
    return [StepKind(k) for k in (policy.grade_chains or {}).get(str(grade), [])]


def _out(p: SharingPolicy) -> PolicyOut:
    return PolicyOut(
        operator_compliance_check=p.operator_compliance_check,
        compliance_days=p.compliance_days,
        provider_days=p.provider_days,
        operator_days=p.operator_days,
        demand_days=p.demand_days,
        objection_days=p.objection_days,
        grade_chains={g: chain_for(p, int(g)) for g in GRADES},
        updated_at=p.updated_at,
        updated_by=p.updated_by,
    )


def get_policy(ctx: ActionContext) -> PolicyOut:
    """The sharing rules in force: deadlines in working days, the chain per grade."""
    ctx.require(Perm.SHARING_READ)
    return _out(load_policy(ctx.session))


def update_policy(ctx: ActionContext, data: PolicyUpdate) -> PolicyOut:
    """Change deadlines, the operator compliance check or the approval chain per grade.

    Grade chains may only name ``operator`` (the provider review is always first for
    conditional data); grades 3 and 4 must keep the operator (important and core data
    need the operator's approval by the sharing rules).
    """
    ctx.require(Perm.SHARING_MANAGE)
    p = load_policy(ctx.session)
    changes = data.model_dump(exclude_unset=True)
    if "grade_chains" in changes and data.grade_chains is not None:
        chains = {g: [StepKind(k).value for k in v] for g, v in data.grade_chains.items()}
        for grade, steps in chains.items():
            if grade not in GRADES:
                raise InvalidInput(
                    f"等级“{grade}”无效，须为 1–4",
                    f"Grade {grade!r} is invalid; use 1–4",
                    code="sharing_policy_invalid",
                    details={"grade": grade},
                )
            if any(k != StepKind.OPERATOR for k in steps) or len(steps) != len(set(steps)):
                raise InvalidInput(
                    "审批链只能追加一次“主管部门审批”",
                    "A grade's chain may only add the operator step, once",
                    code="sharing_policy_invalid",
                    details={"grade": grade, "steps": steps},
                )
        merged = {**(p.grade_chains or {}), **chains}
        for grade in ("3", "4"):
            if StepKind.OPERATOR.value not in merged.get(grade, []):
                raise InvalidInput(
                    "重要和核心数据（3–4 级）必须经主管部门审批",
                    "Important and core data (grades 3–4) must keep the operator's approval",
                    code="sharing_policy_invalid",
                    details={"grade": grade},
                )
        p.grade_chains = merged
        changes.pop("grade_chains")
    for name, value in changes.items():
        if value is not None:
            setattr(p, name, value)
    p.updated_at = now()
    p.updated_by = ctx.actor.name
    ctx.audit(
        "sharing.policy.update",
        target_type="sharing_policy",
        target_id="1",
        details=data.model_dump(mode="json", exclude_unset=True),
    )
    return _out(p)


def list_holidays(ctx: ActionContext, *, year: int | None = None) -> list[HolidayOut]:
    """Days that differ from the ordinary week (holidays on weekdays, weekend workdays)."""
    ctx.require(Perm.SHARING_READ)
    stmt = select(Holiday).order_by(Holiday.day)
    if year is not None:
        stmt = stmt.where(Holiday.day >= date(year, 1, 1), Holiday.day <= date(year, 12, 31))
    return [HolidayOut(day=h.day, kind=h.kind, name=h.name) for h in ctx.session.scalars(stmt)]  # type: ignore[arg-type]


def set_holiday(ctx: ActionContext, data: HolidayIn) -> HolidayOut:
    """Mark a day as a holiday or a worked weekend day (replacing what it was)."""
    ctx.require(Perm.SHARING_MANAGE)
    row = ctx.session.get(Holiday, data.day)
    if row is None:
        row = Holiday(day=data.day)
        ctx.session.add(row)
    row.kind = data.kind.value
    row.name = data.name
    ctx.audit(
        "sharing.holiday.set",
        target_type="holiday",
        target_id=data.day.isoformat(),
        details={"kind": data.kind.value, "name": data.name},
    )
    return HolidayOut(day=row.day, kind=data.kind, name=row.name)


def delete_holiday(ctx: ActionContext, day: date) -> None:
    """The day follows the ordinary week again."""
    ctx.require(Perm.SHARING_MANAGE)
    row = ctx.session.get(Holiday, day)
    if row is None:
        raise NotFound("该日期未设置", "That day is not in the calendar", code="holiday_not_found")
    ctx.session.delete(row)
    ctx.audit("sharing.holiday.delete", target_type="holiday", target_id=day.isoformat())
