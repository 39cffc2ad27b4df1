"""The approval rules: auto-grant, provider deadlines on working days, escalation, not-shared
refusal and exemptions, grade 3–4 double approval, rejections, contests, withdrawal,
renewal, and who sees what."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from govdata.catalog.vocab import ShareType
from govdata.core.clock import DISPLAY_TZ, now
from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from govdata.notifications.models import Notification
from govdata.sharing import application_views, applications, deadlines, exemptions, grants, policy
from govdata.sharing.models import Application, ApplicationStep, Grant
from govdata.sharing.schemas import (
    ContestResolution,
    ExemptionCreate,
    HolidayIn,
    PolicyUpdate,
    ReasonIn,
    RenewIn,
)
from govdata.sharing.vocab import ApplicationStatus, GrantStatus, HolidayKind, StepKind
from govdata.sharing.workdays import Calendar
from tests.identity.conftest import audit_rows
from tests.sharing.conftest import ITEMS, World


def _notified(world: World, username: str, kind: str) -> int:
    with world.org.db.transaction() as s:
        return len(
            s.scalars(
                select(Notification).where(
                    Notification.user_id == world.org.users[username], Notification.kind == kind
                )
            ).all()
        )


def test_unconditional_share_is_granted_at_once_with_masks(world: World) -> None:
    entry = world.entry()
    app = world.apply(entry)
    assert app.status == ApplicationStatus.APPROVED
    assert [(s.kind, s.status, s.automatic) for s in app.steps] == [
        (StepKind.COMPLIANCE, "approved", True)
    ]
    assert app.grant_id
    with world.org.as_("hx_officer").act() as ctx:
        grant = grants.get_grant(ctx, app.grant_id)
    assert grant.items == [i for i in app.items]
    # Personal data is masked by default; the region code and the age are not personal.
    assert grant.masks == {"公民身份号码": "resident_id", "姓名": "name", "手机号码": "phone"}
    assert grant.purpose == app.purpose and "不得转让" in grant.onward_transfer
    assert [r["outcome"] for r in audit_rows(world.org.db, "sharing.grant.create")] == ["success"]


def test_operator_compliance_check_when_switched_on(world: World) -> None:
    with world.org.as_("operator").act() as ctx:
        policy.update_policy(ctx, PolicyUpdate(operator_compliance_check=True))
    entry = world.entry()
    app = world.apply(entry)
    assert app.status == ApplicationStatus.PENDING
    assert app.current_step == StepKind.COMPLIANCE
    step = app.steps[0]
    assert step.working_days == 2 and step.due_at is not None
    assert step.due_at == Calendar().add(step.opened_at, 2)  # type: ignore[arg-type]
    # The provider has no say in an unconditional share: only the operator checks it.
    with pytest.raises(PermissionDenied):
        world.decide(app.id, "xn_officer")
    done = world.decide(app.id, "operator")
    assert done.status == ApplicationStatus.APPROVED and done.grant_id


def test_conditional_share_goes_to_the_provider_with_a_working_day_deadline(
    world: World,
) -> None:
    entry = world.entry(share_type="conditional", share_condition="仅用于身份核验")
    app = world.apply(entry)
    assert app.status == ApplicationStatus.PENDING and app.current_step == StepKind.PROVIDER
    step = app.steps[0]
    assert step.working_days == 10
    assert step.due_at == Calendar().add(step.opened_at, 10)  # type: ignore[arg-type]
    assert app.days_left is not None and 8 <= app.days_left <= 10 and not app.overdue
    assert _notified(world, "xn_officer", "sharing.application.review") == 1
    with pytest.raises(PermissionDenied):
        world.decide(app.id, "hx_officer")  # the consumer cannot approve itself
    with pytest.raises(PermissionDenied):
        world.decide(app.id, "operator")  # not before the deadline has passed
    granted = world.decide(app.id, "xn_officer")
    assert granted.status == ApplicationStatus.APPROVED
    assert _notified(world, "hx_officer", "sharing.application.decided") >= 1


def test_grade_3_and_4_need_the_operator_after_the_provider(world: World) -> None:
    for grade in (3, 4):
        entry = world.entry(
            name=f"重要数据{grade}",
            share_type="conditional",
            share_condition="须审批",
            grade=grade,
        )
        app = world.apply(entry)
        assert [s.kind for s in app.steps] == [StepKind.PROVIDER, StepKind.OPERATOR]
        after_provider = world.decide(app.id, "xn_officer")
        assert after_provider.status == ApplicationStatus.PENDING
        assert after_provider.current_step == StepKind.OPERATOR
        assert after_provider.steps[1].working_days == 5
        with pytest.raises(PermissionDenied):
            world.decide(app.id, "xn_officer")
        done = world.decide(app.id, "operator")
        assert done.status == ApplicationStatus.APPROVED


def test_an_unconditional_grade_3_entry_still_needs_the_operator(world: World) -> None:
    entry = world.entry(grade=3)
    app = world.apply(entry)
    assert [(s.kind, s.status) for s in app.steps] == [
        (StepKind.COMPLIANCE, "approved"),
        (StepKind.OPERATOR, "pending"),
    ]


def test_the_chain_per_grade_is_configurable_but_keeps_the_operator_for_3_and_4(
    world: World,
) -> None:
    with world.org.as_("operator").act() as ctx:
        policy.update_policy(ctx, PolicyUpdate(grade_chains={"2": [StepKind.OPERATOR]}))
        with pytest.raises(InvalidInput) as err:
            policy.update_policy(ctx, PolicyUpdate(grade_chains={"3": []}))
        assert err.value.code == "sharing_policy_invalid"
    app = world.apply(world.entry())
    assert [s.kind for s in app.steps] == [StepKind.COMPLIANCE, StepKind.OPERATOR]
    with world.org.as_("xn_officer").act() as ctx, pytest.raises(PermissionDenied):
        policy.update_policy(ctx, PolicyUpdate(provider_days=3))


def test_not_shared_data_cannot_be_applied_for_without_an_exemption(world: World) -> None:
    entry = world.entry(
        share_type="none", not_shared_basis="《中华人民共和国保守国家秘密法》", share_condition=None
    )
    with pytest.raises(InvalidInput) as err:
        world.apply(entry)
    assert err.value.code == "sharing_not_shared"
    with world.org.db.transaction() as s:
        assert s.scalar(select(Application.id)) is None
    with world.org.as_("operator").act() as ctx:
        exemptions.grant_exemption(
            ctx,
            ExemptionCreate(
                entry=entry.resource_code,
                consumer_department_id=world.org.dept["hx_stats"],
                basis="省政府专题会议纪要〔2026〕12号：应急处置需要",
            ),
        )
    app = world.apply(entry)
    # With the exemption it goes to the provider like conditional data.
    assert app.current_step == StepKind.PROVIDER and app.share_type == ShareType.NONE
    # Another department still cannot.
    with pytest.raises(InvalidInput):
        world.apply(entry, user="police_officer")


def test_a_not_shared_item_makes_the_request_refused_but_the_other_items_can_be_had(
    world: World,
) -> None:
    entry = world.entry(
        items=[
            *[dict(i, grade=min(i["grade"], 2)) for i in ITEMS if i["name"] != "手机号码"],
            {
                "name": "手机号码",
                "name_en": "phone",
                "data_type": "string",
                "length": 11,
                "grade": 2,
                "share_type": "none",
            },
        ]
    )
    with pytest.raises(InvalidInput) as err:
        world.apply(entry)
    assert err.value.details["items"] == ["手机号码"]
    app = world.apply(entry, items=["公民身份号码", "姓名"])
    assert app.status == ApplicationStatus.APPROVED


def test_bad_applications_change_nothing(world: World) -> None:
    entry = world.entry()
    cases = [
        ({"items": ["不存在的项"]}, "sharing_item_unknown"),
        ({"row_filter": [["不存在", "=", "1"]]}, "sharing_row_filter_invalid"),
        ({"row_filter": [["户籍地区划", "LIKE", "63%"]]}, "sharing_row_filter_invalid"),
        ({"valid_until": date.today()}, "sharing_validity_invalid"),
        ({"valid_until": date.today() + timedelta(days=2000)}, "sharing_validity_invalid"),
        ({"clear_items": ["年龄"], "items": ["姓名"]}, "sharing_item_unknown"),
    ]
    for overrides, code in cases:
        with pytest.raises(InvalidInput) as err:
            world.apply(entry, **overrides)
        assert err.value.code == code, overrides
    api_only = world.entry(name="仅接口", share_modes=["api"])
    with pytest.raises(InvalidInput) as err:
        world.apply(api_only, delivery_modes=["subscription"])
    assert err.value.code == "sharing_mode_unavailable"
    with pytest.raises(InvalidInput) as err:
        world.apply(entry, user="xn_officer")
    assert err.value.code == "sharing_own_entry"
    with world.org.db.transaction() as s:
        assert s.scalar(select(Application.id)) is None
        assert s.scalar(select(Grant.id)) is None


def test_one_open_application_per_department_and_entry(world: World) -> None:
    entry = world.entry(share_type="conditional", share_condition="须同意")
    world.apply(entry)
    with pytest.raises(Conflict) as err:
        world.apply(entry)
    assert err.value.code == "sharing_application_exists"


def test_rejection_needs_a_reason_and_can_be_contested(world: World) -> None:
    entry = world.entry(share_type="conditional", share_condition="须同意")
    app = world.apply(entry)
    with pytest.raises(InvalidInput) as err:
        world.decide(app.id, "xn_officer", approve=False)
    assert err.value.code == "sharing_reason_required"
    rejected = world.decide(app.id, "xn_officer", approve=False, comment="用途与共享条件不符")
    assert rejected.status == ApplicationStatus.REJECTED
    assert rejected.reject_reason == "用途与共享条件不符"
    with world.org.as_("hx_officer").act() as ctx:
        contested = applications.contest(ctx, app.id, ReasonIn(reason="用途符合共享条件"))
    assert contested.status == ApplicationStatus.CONTESTED
    with world.org.as_("hx_officer").act() as ctx, pytest.raises(PermissionDenied):
        applications.resolve_contest(
            ctx, app.id, ContestResolution(uphold=False, comment="越权协调")
        )
    with world.org.as_("operator").act() as ctx:
        granted = applications.resolve_contest(
            ctx, app.id, ContestResolution(uphold=False, comment="经协调，同意共享")
        )
    assert granted.status == ApplicationStatus.APPROVED and granted.grant_id
    with world.org.as_("hx_officer").act() as ctx, pytest.raises(Conflict):
        applications.contest(ctx, app.id, ReasonIn(reason="again"))


def test_the_provider_cannot_add_conditions(world: World) -> None:
    entry = world.entry(share_type="conditional", share_condition="须同意")
    app = world.apply(entry, clear_items=["姓名"])
    with pytest.raises(InvalidInput) as err:
        world.decide(app.id, "xn_officer", clear_items=["姓名", "公民身份号码"])
    assert err.value.code == "sharing_condition_added"
    # Narrowing what is delivered clear is allowed.
    done = world.decide(app.id, "xn_officer", clear_items=[])
    with world.org.as_("hx_officer").act() as ctx:
        grant = grants.get_grant(ctx, done.grant_id or "")
    assert grant.masks["姓名"] == "name"


def test_withdrawal_cancels_the_open_steps(world: World) -> None:
    entry = world.entry(share_type="conditional", share_condition="须同意")
    app = world.apply(entry)
    with world.org.as_("xn_officer").act() as ctx, pytest.raises(PermissionDenied):
        applications.withdraw(ctx, app.id)
    with world.org.as_("hx_officer").act() as ctx:
        out = applications.withdraw(ctx, app.id)
    assert out.status == ApplicationStatus.WITHDRAWN
    assert [s.status for s in out.steps] == ["cancelled"]
    with pytest.raises(Conflict):
        world.decide(app.id, "xn_officer")


def test_overdue_steps_are_escalated_once_and_the_operator_may_then_decide(
    world: World,
) -> None:
    entry = world.entry(share_type="conditional", share_condition="须同意")
    app = world.apply(entry)
    with world.org.db.transaction() as s:
        s.execute(
            update(ApplicationStep)
            .where(ApplicationStep.application_id == app.id)
            .values(due_at=now() - timedelta(hours=1))
        )
    assert deadlines.sweep(world.org.db, world.org.settings)["steps"] == 1
    assert deadlines.sweep(world.org.db, world.org.settings)["steps"] == 0
    with world.org.as_("operator").act() as ctx:
        queue = application_views.list_applications(ctx, queue="operator")
    assert [a.id for a in queue.items] == [app.id]
    shown = queue.items[0]
    assert shown.overdue and shown.steps[0].escalated and (shown.days_left or 0) < 0
    assert _notified(world, "operator", "sharing.application.overdue") == 1
    done = world.decide(app.id, "operator", comment="超期，主管部门协调同意")
    assert done.status == ApplicationStatus.APPROVED
    assert [r["outcome"] for r in audit_rows(world.org.db, "sharing.application.escalate")] == [
        "success"
    ]


def test_deadlines_skip_weekends_and_holidays_and_count_worked_weekends(world: World) -> None:
    with world.org.as_("operator").act() as ctx:
        policy.set_holiday(ctx, HolidayIn(day=date(2026, 10, 1), kind=HolidayKind.HOLIDAY))
        policy.set_holiday(ctx, HolidayIn(day=date(2026, 10, 2), kind=HolidayKind.HOLIDAY))
        policy.set_holiday(ctx, HolidayIn(day=date(2026, 10, 10), kind=HolidayKind.WORKDAY))
    with world.org.db.transaction() as s:
        cal = Calendar.load(s)
    start = datetime(2026, 9, 30, 15, 0, tzinfo=DISPLAY_TZ)  # a Wednesday afternoon
    # Thu 1 and Fri 2 are holidays, Sat 3 / Sun 4 weekend: the first working day is Mon 5.
    assert cal.add(start, 1).astimezone(DISPLAY_TZ) == datetime(2026, 10, 6, tzinfo=DISPLAY_TZ)
    # Mon 5 .. Fri 9 are five, Sat 10 is worked: six working days end with Saturday.
    assert cal.add(start, 6).astimezone(DISPLAY_TZ) == datetime(2026, 10, 11, tzinfo=DISPLAY_TZ)
    assert cal.add(start, 7).astimezone(DISPLAY_TZ) == datetime(2026, 10, 13, tzinfo=DISPLAY_TZ)
    due = cal.add(start, 2)
    assert cal.left(start, due) == 2
    assert cal.left(datetime(2026, 10, 6, 9, tzinfo=DISPLAY_TZ), due) == 0
    assert cal.left(datetime(2026, 10, 8, 9, tzinfo=DISPLAY_TZ), due) == -2
    assert Calendar().add(datetime(2026, 12, 4, 23, tzinfo=DISPLAY_TZ), 1).astimezone(
        DISPLAY_TZ
    ) == datetime(2026, 12, 8, tzinfo=DISPLAY_TZ)


def test_renewal_extends_the_same_grant(world: World) -> None:
    entry = world.entry(share_type="conditional", share_condition="须同意")
    app = world.apply(entry)
    granted = world.decide(app.id, "xn_officer")
    grant_id = granted.grant_id or ""
    with world.org.as_("hx_officer").act() as ctx:
        with pytest.raises(InvalidInput):
            applications.renew(
                ctx, grant_id, RenewIn(valid_until=date.today() + timedelta(days=30), reason="x续")
            )
        renewal = applications.renew(
            ctx,
            grant_id,
            RenewIn(valid_until=date.today() + timedelta(days=400), reason="继续使用"),
        )
    assert renewal.kind == "renewal" and renewal.current_step == StepKind.PROVIDER
    world.decide(renewal.id, "xn_officer")
    with world.org.db.transaction() as s:
        grant = s.get(Grant, grant_id)
        assert grant is not None and grant.renewed_at is not None
        assert grant.expires_at.astimezone(DISPLAY_TZ).date() == date.today() + timedelta(days=401)
        assert len(s.scalars(select(Grant)).all()) == 1


def test_revoked_and_expired_grants_cannot_be_renewed(world: World) -> None:
    app = world.apply(world.entry())
    with world.org.as_("xn_officer").act() as ctx:
        grants.revoke_grant(ctx, app.grant_id or "", ReasonIn(reason="数据用途变更"))
    with world.org.as_("hx_officer").act() as ctx, pytest.raises(Conflict) as err:
        applications.renew(
            ctx,
            app.grant_id or "",
            RenewIn(valid_until=date.today() + timedelta(days=200), reason="续期"),
        )
    assert err.value.code == "sharing_grant_not_active"
    with world.org.as_("hx_officer").act() as ctx:
        assert grants.get_grant(ctx, app.grant_id or "").status == GrantStatus.REVOKED


def test_only_the_two_departments_and_the_operator_see_an_application(world: World) -> None:
    entry = world.entry(share_type="conditional", share_condition="须同意")
    app = world.apply(entry)
    for user in ("hx_officer", "xn_officer", "operator"):
        with world.org.as_(user).act() as ctx:
            assert application_views.get_application(ctx, app.id).code == app.code
    for user in ("police_officer", "cd_clerk"):
        with world.org.as_(user).act() as ctx, pytest.raises(NotFound):
            application_views.get_application(ctx, app.id)
        with world.org.as_(user).act() as ctx:
            assert application_views.list_applications(ctx).items == []
    with world.org.as_("xn_officer").act() as ctx:
        incoming = application_views.list_applications(ctx, queue="incoming")
    assert [a.id for a in incoming.items] == [app.id]
    with world.org.as_("hx_officer").act() as ctx:
        assert application_views.list_applications(ctx, queue="incoming").items == []
        assert [a.id for a in application_views.list_applications(ctx, queue="mine").items] == [
            app.id
        ]
