"""共享规则 (the operator): deadlines in working days, the operator's compliance check, the
approval chain per grade, and the holiday calendar of the working-day deadlines."""

from __future__ import annotations

from datetime import date

from fastapi import Response

from govdata.core.clock import DISPLAY_TZ, now
from govdata.core.errors import GovDataError, InvalidInput
from govdata.security.permissions import Perm
from govdata.sharing import policy
from govdata.sharing.pages.common import context, done_notice, refusal
from govdata.sharing.policy import GRADES
from govdata.sharing.schemas import HolidayIn, PolicyUpdate
from govdata.sharing.vocab import HolidayKind, StepKind
from govdata.web.portal import Page, PortalRouter, UserForm, UserPage, parse
from govdata.web.templating import N_

router = PortalRouter()

DAY_FIELDS = (
    ("compliance_days", N_("Compliance check")),
    ("provider_days", N_("Provider review")),
    ("operator_days", N_("Operator approval")),
    ("demand_days", N_("Demand answer")),
    ("objection_days", N_("Objection answer")),
)
POLICY_LABELS = {
    **dict(DAY_FIELDS),
    "operator_compliance_check": N_("The operator checks compliance"),
    "grade_chains": N_("Approval chain per grade"),
}
HOLIDAY_LABELS = {"day": N_("Date"), "kind": N_("Day kind"), "name": N_("Name")}
HOLIDAY_KINDS = {
    HolidayKind.HOLIDAY.value: N_("Holiday (a weekday off)"),
    HolidayKind.WORKDAY.value: N_("Worked weekend day"),
}
DONE = {
    "saved": N_("Sharing rules saved."),
    "holiday_saved": N_("Day saved in the calendar."),
    "holiday_deleted": N_("Day removed from the calendar."),
}


def _year(text: str) -> int:
    this_year = now().astimezone(DISPLAY_TZ).year
    return int(text) if text.isdigit() and 2000 <= int(text) <= 2100 else this_year


def policy_page(
    page: Page,
    year: int,
    *,
    error: str | None = None,
    status: int = 200,
    typed: dict[str, str] | None = None,
) -> Response:
    with page.act() as ctx:
        rules = policy.get_policy(ctx)
        holidays = policy.list_holidays(ctx, year=year)
    return page.render(
        "sharing/policy.html",
        status=status,
        rules=rules,
        holidays=holidays,
        year=year,
        day_fields=DAY_FIELDS,
        grades=GRADES,
        holiday_kinds=HOLIDAY_KINDS,
        manage=page.can(Perm.SHARING_MANAGE),
        typed=typed,
        error=error,
        notice=done_notice(page, DONE),
        **context(page),
    )


@router.get("/sharing/policy")
def rules_page(page: UserPage, year: str = "") -> Response:
    return policy_page(page, _year(year))


def _days(text: str) -> int | str:
    # A non-number goes on as typed: the schema names the field it belongs to.
    return int(text) if text.isdigit() else text


@router.post("/sharing/policy")
def save_rules(page: UserForm) -> Response:
    typed = {name: page.field(name) for name, _label in DAY_FIELDS}
    chains = {g: [StepKind.OPERATOR.value] if page.field(f"chain-{g}") else [] for g in GRADES}
    try:
        data = parse(
            PolicyUpdate,
            {
                **{name: _days(typed[name]) for name in typed},
                "operator_compliance_check": bool(page.field("operator_compliance_check")),
                "grade_chains": chains,
            },
            POLICY_LABELS,
        )
        with page.act() as ctx:
            policy.update_policy(ctx, data)
    except GovDataError as exc:
        if refusal(exc):
            raise
        typed["operator_compliance_check"] = page.field("operator_compliance_check")
        typed.update({f"chain-{g}": page.field(f"chain-{g}") for g in GRADES})
        return policy_page(page, _year(""), error=page.message(exc), status=exc.status, typed=typed)
    return page.redirect("/sharing/policy?done=saved")


@router.post("/sharing/policy/holidays")
def add_holiday(page: UserForm) -> Response:
    day = page.field("day")
    try:
        data = parse(
            HolidayIn,
            {"day": day or None, "kind": page.field("kind"), "name": page.field("name")},
            HOLIDAY_LABELS,
        )
        with page.act() as ctx:
            policy.set_holiday(ctx, data)
    except GovDataError as exc:
        if refusal(exc):
            raise
        return policy_page(page, _year(day[:4]), error=page.message(exc), status=exc.status)
    return page.redirect(f"/sharing/policy?year={data.day.year}&done=holiday_saved#holidays")


@router.post("/sharing/policy/holidays/{day}/delete")
def delete_holiday(page: UserForm, day: str) -> Response:
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        raise InvalidInput("日期无效", "Invalid date", code="invalid_date") from None
    try:
        with page.act() as ctx:
            policy.delete_holiday(ctx, parsed)
    except GovDataError as exc:
        if exc.status in (401, 403):
            raise
        return policy_page(page, parsed.year, error=page.message(exc), status=exc.status)
    return page.redirect(f"/sharing/policy?year={parsed.year}&done=holiday_deleted#holidays")
