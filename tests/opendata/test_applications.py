"""Conditional opening: a verified public account applies for a conditionally open dataset,
the provider's officer decides within a deadline of working days, the sweep escalates an
overdue application once, and the operator may then decide it."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from govdata.core.clock import DISPLAY_TZ, now
from govdata.core.errors import GovDataError
from govdata.notifications.models import Notification
from govdata.opendata import apikeys, applications, jobs
from govdata.opendata.account_models import OpenApiKey, OpenApplication
from govdata.opendata.applications import ApplyIn, DecideIn
from govdata.sharing.models import Holiday
from govdata.sharing.workdays import Calendar
from tests.identity.conftest import Org, audit_rows
from tests.opendata.conftest import org, settings
from tests.opendata.fixtures import Opened, opened_schools
from tests.opendata.test_accounts import anon, public_caller, verified_account

__all__ = ["org", "settings"]


def apply_in(**kw: object) -> ApplyIn:
    base: dict[str, object] = {
        "purpose": "研究全省基础教育资源布局",
        "use_from": date.today(),
        "use_until": date.today() + timedelta(days=180),
        "committed": True,
        "commitments": "数据存放于单位内网，专人管理",
        "contact": "张三 13900000000",
    }
    base.update(kw)
    return ApplyIn.model_validate(base)


def submit(org: Org, account_id: str, ds: str, **kw: object) -> applications.ApplicationOut:
    with public_caller(org, account_id).act() as ctx:
        return applications.submit(ctx, ds, apply_in(**kw))


def decide(org: Org, user: str, app_id: str, **kw: object) -> applications.ApplicationOut:
    with org.as_(user).act() as ctx:
        return applications.decide(ctx, app_id, DecideIn.model_validate(kw))


def _code(fn: object) -> str:
    with pytest.raises(GovDataError) as info:
        fn()  # type: ignore[operator]
    return info.value.code


@pytest.fixture
def conditional(org: Org, tmp_path: Path) -> Opened:
    return opened_schools(org, tmp_path, open_type="conditional")


def test_apply_decide_and_the_key(
    org: Org, conditional: Opened, caplog: pytest.LogCaptureFixture
) -> None:
    acc = verified_account(org, caplog)
    app = submit(org, acc.id, conditional.name)
    assert app.status == "pending" and app.days_left is not None and not app.overdue
    # The deadline: ten working days on the operator's calendar.
    with org.db.transaction() as s:
        row = s.get(OpenApplication, app.id)
        assert row is not None
        assert row.due_at == Calendar.load(s).add(row.submitted_at, 10)
    # One pending application per account and dataset.
    assert _code(lambda: submit(org, acc.id, conditional.name)) == "opendata_application_pending"
    # The provider's officers are told.
    with org.db.transaction() as s:
        kinds = s.scalars(
            select(Notification.kind).where(Notification.user_id == org.users["xn_officer"])
        ).all()
    assert "opendata.application.submitted" in kinds
    # Officers of another department neither see nor decide it; the operator sees it but
    # may not decide before it is escalated.
    with org.as_("hx_officer").act() as ctx:
        assert applications.list_applications(ctx) == []
    assert _code(lambda: decide(org, "hx_officer", app.id, approve=True)) in (
        "permission_denied",
        "opendata_application_not_found",
    )
    with org.as_("operator").act() as ctx:
        assert [a.id for a in applications.list_applications(ctx)] == [app.id]
    assert _code(lambda: decide(org, "operator", app.id, approve=True)) == "permission_denied"
    with org.as_("cd_clerk").act() as ctx:
        assert _code(lambda: applications.list_applications(ctx)) == "permission_denied"
    # A rejection needs a reason; nothing changes without one.
    assert _code(lambda: decide(org, "xn_officer", app.id, approve=False)) == (
        "opendata_reason_required"
    )
    past = date.today() - timedelta(days=1)
    assert (
        _code(lambda: decide(org, "xn_officer", app.id, approve=True, valid_until=past))
        == "opendata_validity_invalid"
    )
    with org.db.transaction() as s:
        assert s.get(OpenApplication, app.id).status == "pending"  # type: ignore[union-attr]
        assert s.scalars(select(OpenApiKey)).all() == []
    caplog.set_level(logging.WARNING, logger="govdata.opendata.gateway")
    done = decide(org, "xn_officer", app.id, approve=True, comment="同意，限科研使用")
    assert done.status == "approved" and done.key_id is not None
    until = done.valid_until
    assert until is not None
    assert until.astimezone(DISPLAY_TZ).date() == date.today() + timedelta(days=181)
    assert any("approved" in r.getMessage() for r in caplog.records)
    assert _code(lambda: decide(org, "xn_officer", app.id, approve=True)) == (
        "opendata_application_decided"
    )
    with org.db.transaction() as s:
        assert apikeys.granted_datasets(s, acc.id) == {conditional.dataset_id}
    # The applicant sees the outcome.
    with public_caller(org, acc.id).act() as ctx:
        mine = applications.my_applications(ctx)
    assert [(a.code, a.status) for a in mine] == [(app.code, "approved")]
    assert len(audit_rows(org.db, "opendata.application.submit")) == 1
    assert len(audit_rows(org.db, "opendata.application.approve")) == 1
    # A second application (say, to extend) may follow; a rejection ends it.
    again = submit(org, acc.id, conditional.name)
    out = decide(org, "xn_officer", again.id, approve=False, comment="用途与上次相同")
    assert out.status == "rejected"
    assert len(audit_rows(org.db, "opendata.application.reject")) == 1
    with org.db.transaction() as s:
        assert apikeys.granted_datasets(s, acc.id) == {conditional.dataset_id}
        assert len(s.scalars(select(OpenApiKey)).all()) == 1  # the live key is kept


def test_refusals_change_nothing(
    org: Org, tmp_path: Path, conditional: Opened, caplog: pytest.LogCaptureFixture
) -> None:
    acc = verified_account(org, caplog)
    open_ds = opened_schools(org, tmp_path, name="全省幼儿园名录", open_type="open")
    assert _code(lambda: submit(org, acc.id, open_ds.name)) == "opendata_not_conditional"
    assert _code(lambda: submit(org, acc.id, "no-such-dataset")) == "opendata_dataset_not_found"
    assert _code(lambda: submit(org, acc.id, conditional.name, committed=False)) == (
        "opendata_commitment_required"
    )
    assert _code(lambda: submit(org, acc.id, conditional.name, purpose="  ")) == (
        "opendata_purpose_required"
    )
    assert (
        _code(
            lambda: submit(
                org,
                acc.id,
                conditional.name,
                use_from=date.today() + timedelta(days=9),
                use_until=date.today() + timedelta(days=3),
            )
        )
        == "opendata_period_invalid"
    )
    # Not a public account: refused.
    with pytest.raises(GovDataError) as info, anon(org).act() as ctx:
        applications.submit(ctx, conditional.name, apply_in())
    assert info.value.code == "opendata_account_required"
    with org.db.transaction() as s:
        assert s.scalars(select(OpenApplication)).all() == []


def test_deadline_in_working_days_and_escalation_once(
    org: Org, conditional: Opened, caplog: pytest.LogCaptureFixture
) -> None:
    # Holidays on the next ten days push the deadline out by as many working days.
    today = now().astimezone(DISPLAY_TZ).date()
    with org.db.transaction() as s:
        for n in range(1, 11):
            s.add(Holiday(day=today + timedelta(days=n), kind="holiday", name="假日"))
    acc = verified_account(org, caplog)
    app = submit(org, acc.id, conditional.name)
    with org.db.transaction() as s:
        row = s.get(OpenApplication, app.id)
        assert row is not None and row.due_at is not None
        assert row.due_at.astimezone(DISPLAY_TZ).date() > today + timedelta(days=11)
        assert row.due_at == Calendar.load(s).add(row.submitted_at, 10)
        assert row.due_at > Calendar().add(row.submitted_at, 10)
    assert jobs.sweep(org.db, org.settings)["applications"] == 0
    with org.db.transaction() as s:
        s.execute(
            update(OpenApplication)
            .where(OpenApplication.id == app.id)
            .values(due_at=now() - timedelta(hours=1))
        )
    with org.as_("xn_officer").act() as ctx:
        late = applications.list_applications(ctx, overdue=True)
        assert [a.id for a in late] == [app.id] and late[0].overdue and late[0].days_left < 0  # type: ignore[operator]
        assert applications.list_applications(ctx, overdue=False) == []
    assert jobs.sweep(org.db, org.settings)["applications"] == 1
    assert jobs.sweep(org.db, org.settings)["applications"] == 0
    assert len(audit_rows(org.db, "opendata.application.escalate")) == 1
    with org.db.transaction() as s:
        told = s.scalars(
            select(Notification.kind).where(Notification.user_id == org.users["operator"])
        ).all()
    assert told.count("opendata.application.overdue") == 1
    # Escalated: the operator may decide now.
    out = decide(org, "operator", app.id, approve=False, comment="超期未处理，运营方驳回")
    assert out.status == "rejected" and out.escalated
