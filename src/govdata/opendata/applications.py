"""Conditional opening (有条件开放): a verified public account applies for a conditionally
open dataset; the publisher decides within a deadline of working days.

The deadline is computed as the sharing applications' is (``sharing.workdays.Calendar``,
the operator's holiday calendar); countdown and overdue markers are computed when read,
and the open-data sweep (``opendata.jobs``) escalates an overdue application to the
operators once. Officers holding ``opendata.publish`` over the provider department decide;
once an application is escalated the operator (``opendata.manage``) may decide it too.
Approval issues the account's API key (or keeps its live one, which now covers the dataset).
"""

from __future__ import annotations

import logging
import secrets
from datetime import date, datetime, time, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, case, or_, select
from sqlalchemy.orm import Session

from govdata.catalog.models import CatalogEntry
from govdata.catalog.vocab import OpenType
from govdata.core import clock
from govdata.core.clock import DISPLAY_TZ
from govdata.core.errors import (
    Conflict,
    GovDataError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
)
from govdata.notifications.actions import Message
from govdata.opendata import access, apikeys, gateway
from govdata.opendata.account_models import OpenApplication, PublicAccount
from govdata.opendata.accounts import KIND_LABELS, contact_of
from govdata.opendata.models import OpenDataset
from govdata.opendata.vocab import label
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm, Role
from govdata.security.scopes import scope_clause
from govdata.sharing.common import days_left, department_scope, notify_department
from govdata.sharing.workdays import Calendar

log = logging.getLogger(__name__)
AUDIT_TARGET = "open_application"
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
STATUS_LABELS: dict[str, tuple[str, str]] = {
    PENDING: ("待审核", "Pending"),
    APPROVED: ("已通过", "Approved"),
    REJECTED: ("未通过", "Rejected"),
}


class ApplyIn(BaseModel):
    purpose: str = Field(max_length=2000)
    use_from: date | None = None
    use_until: date | None = None
    committed: bool = False
    commitments: str | None = Field(default=None, max_length=2000)
    contact: str = Field(max_length=128)


class DecideIn(BaseModel):
    approve: bool
    comment: str | None = Field(default=None, max_length=2000)
    valid_until: date | None = None


class ApplicationOut(BaseModel):
    id: str
    code: str
    dataset_id: str
    dataset_name: str
    dataset_title: str
    publisher_name: str
    account_id: str
    account_name: str
    account_kind: str
    account_kind_label: str
    organisation: str | None
    contact: str
    purpose: str
    use_from: date | None
    use_until: date | None
    committed: bool
    commitments: str | None
    status: str
    status_label: str
    submitted_at: datetime
    due_at: datetime | None
    days_left: int | None
    overdue: bool
    escalated: bool
    decided_at: datetime | None
    decision_comment: str | None
    valid_until: datetime | None
    expired: bool
    key_id: str | None = None
    key: apikeys.KeyOut | None = None
    can_decide: bool = False


def _end_of(day: date) -> datetime:
    """Access lasts through the given day, Beijing time."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=DISPLAY_TZ)


def _out(
    ctx: ActionContext,
    app: OpenApplication,
    calendar: Calendar,
    *,
    with_key: bool = False,
) -> ApplicationOut:
    s = ctx.session
    ds = s.get(OpenDataset, app.dataset_id)
    entry = s.get(CatalogEntry, ds.entry_id) if ds else None
    account = s.get(PublicAccount, app.account_id)
    assert ds is not None and entry is not None and account is not None
    left, overdue = days_left(calendar, app.due_at, app.status == PENDING)
    at = clock.now()
    key = apikeys.active_key(s, account.id) if with_key else None
    return ApplicationOut(
        id=app.id,
        code=app.code,
        dataset_id=ds.id,
        dataset_name=ds.name,
        dataset_title=entry.name,
        publisher_name=entry.provider_name,
        account_id=account.id,
        account_name=account.display_name,
        account_kind=account.kind,
        account_kind_label=label(KIND_LABELS, account.kind, ctx.locale),
        organisation=account.organisation,
        contact=app.contact,
        purpose=app.purpose,
        use_from=app.use_from,
        use_until=app.use_until,
        committed=app.committed,
        commitments=app.commitments,
        status=app.status,
        status_label=label(STATUS_LABELS, app.status, ctx.locale),
        submitted_at=app.submitted_at,
        due_at=app.due_at,
        days_left=left,
        overdue=overdue,
        escalated=app.escalated_at is not None,
        decided_at=app.decided_at,
        decision_comment=app.decision_comment,
        valid_until=app.valid_until,
        expired=app.status == APPROVED and app.valid_until is not None and app.valid_until <= at,
        key_id=key.id if key is not None else None,
        key=apikeys.key_out(s, ctx.settings, key) if key is not None else None,
        can_decide=app.status == PENDING and _may_decide(ctx, app),
    )


def _public_account(ctx: ActionContext) -> PublicAccount:
    account = ctx.session.get(PublicAccount, ctx.actor.id) if ctx.actor.kind == "public" else None
    if account is None or account.verified_at is None or account.disabled_at is not None:
        raise NotAuthenticated(
            "请先登录已验证的公众账号",
            "Sign in with a verified public account first",
            code="opendata_account_required",
        )
    return account


def _bad(zh: str, en: str, code: str) -> InvalidInput:
    return InvalidInput(zh, en, code=code)


def submit(ctx: ActionContext, dataset_ref: str, data: ApplyIn) -> ApplicationOut:
    """Apply for a conditionally open dataset; due in N working days; officers notified."""
    s = ctx.session
    account = _public_account(ctx)
    ds, entry = access.public_dataset(s, dataset_ref)
    if entry.open_type != OpenType.CONDITIONAL:
        raise _bad(
            "该数据集无条件开放，无需申请",
            "This dataset is open to all; no application is needed",
            "opendata_not_conditional",
        )
    purpose, contact = data.purpose.strip(), data.contact.strip()
    if not purpose:
        raise _bad("请填写数据用途", "Enter the purpose", "opendata_purpose_required")
    if not contact:
        raise _bad("请填写联系方式", "Enter a contact", "opendata_contact_required")
    if not data.committed:
        raise _bad(
            "请阅读并勾选数据安全承诺",
            "Confirm the data-security commitment",
            "opendata_commitment_required",
        )
    if data.use_from and data.use_until and data.use_until < data.use_from:
        raise _bad(
            "使用期限的结束日期早于开始日期",
            "The use period ends before it starts",
            "opendata_period_invalid",
        )
    if data.use_until and data.use_until < clock.now().astimezone(DISPLAY_TZ).date():
        raise _bad("使用期限已过", "The use period is over", "opendata_period_invalid")
    pending = s.scalars(
        select(OpenApplication.id).where(
            OpenApplication.account_id == account.id,
            OpenApplication.dataset_id == ds.id,
            OpenApplication.status == PENDING,
        )
    ).first()
    if pending is not None:
        raise Conflict(
            "该数据集已有待审核的申请",
            "An application for this dataset is pending already",
            code="opendata_application_pending",
            details={"id": pending},
        )
    at = clock.now()
    app = OpenApplication(
        code=f"KF{at.astimezone(DISPLAY_TZ):%Y%m%d}{secrets.token_hex(3).upper()}",
        account_id=account.id,
        dataset_id=ds.id,
        department_id=entry.provider_department_id,
        region_path=entry.region_path,
        purpose=purpose,
        use_from=data.use_from,
        use_until=data.use_until,
        committed=True,
        commitments=(data.commitments or "").strip() or None,
        contact=contact,
        status=PENDING,
        submitted_at=at,
        due_at=Calendar.load(s).add(at, ctx.settings.opendata_application_days),
    )
    s.add(app)
    s.flush()
    ctx.audit(
        "opendata.application.submit",
        target_type=AUDIT_TARGET,
        target_id=app.id,
        details={"dataset": ds.name, "code": app.code},
    )
    notify_department(
        s,
        app.department_id,
        {Role.DEPT_OFFICER},
        Message(
            kind="opendata.application.submitted",
            title_zh=f"有条件开放申请待审核：{entry.name}（{account.display_name}）",
            title_en=f"Open-data application to decide: {entry.name} ({account.display_name})",
            link=f"/opendata/applications/{app.id}",
            target_type=AUDIT_TARGET,
            target_id=app.id,
        ),
    )
    return _out(ctx, app, Calendar.load(s))


def _may_decide(ctx: ActionContext, app: OpenApplication) -> bool:
    scope = department_scope(ctx.session, app.department_id)
    if ctx.actor.can(Perm.OPENDATA_PUBLISH, scope):
        return True
    return app.escalated_at is not None and ctx.actor.can(Perm.OPENDATA_MANAGE, scope)


def _visible_clause(ctx: ActionContext) -> ColumnElement[bool]:
    a = ctx.actor
    return or_(
        scope_clause(
            a, Perm.OPENDATA_PUBLISH, OpenApplication.department_id, OpenApplication.region_path
        ),
        scope_clause(
            a, Perm.OPENDATA_MANAGE, OpenApplication.department_id, OpenApplication.region_path
        ),
    )


def _require_reader(ctx: ActionContext) -> None:
    if not (ctx.actor.can(Perm.OPENDATA_PUBLISH) or ctx.actor.can(Perm.OPENDATA_MANAGE)):
        ctx.require(Perm.OPENDATA_PUBLISH)


def list_applications(
    ctx: ActionContext,
    *,
    status: str | None = None,
    overdue: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[ApplicationOut]:
    """The officers' and operators' queue: pending first (soonest due), then decided."""
    _require_reader(ctx)
    q = select(OpenApplication).where(_visible_clause(ctx))
    if status:
        q = q.where(OpenApplication.status == status)
    if overdue is not None:
        late = (OpenApplication.status == PENDING) & (OpenApplication.due_at <= clock.now())
        q = q.where(late if overdue else ~late)
    q = q.order_by(
        case((OpenApplication.status == PENDING, 0), else_=1),
        OpenApplication.due_at,
        OpenApplication.submitted_at.desc(),
    )
    calendar = Calendar.load(ctx.session)
    rows = ctx.session.scalars(q.limit(limit).offset(offset))
    return [_out(ctx, a, calendar) for a in rows]


def _not_found(ref: str) -> NotFound:
    return NotFound(
        "申请不存在或无权查看",
        "Application not found",
        code="opendata_application_not_found",
        details={"id": ref},
    )


def _load(ctx: ActionContext, app_id: str) -> OpenApplication:
    app = ctx.session.get(OpenApplication, app_id)
    if app is None:
        raise _not_found(app_id)
    if ctx.actor.kind == "public" and app.account_id == ctx.actor.id:
        return app
    scope = department_scope(ctx.session, app.department_id)
    if ctx.actor.can(Perm.OPENDATA_PUBLISH, scope) or ctx.actor.can(Perm.OPENDATA_MANAGE, scope):
        return app
    if ctx.actor.kind in ("user", "app"):
        # No open-data role at all: a refusal; a role elsewhere: the application is not
        # theirs to know of.
        _require_reader(ctx)
    if ctx.actor.kind == "anonymous":
        raise NotAuthenticated()
    raise _not_found(app_id)


def get_application(ctx: ActionContext, app_id: str) -> ApplicationOut:
    app = _load(ctx, app_id)
    return _out(ctx, app, Calendar.load(ctx.session), with_key=ctx.actor.kind != "public")


def my_applications(ctx: ActionContext) -> list[ApplicationOut]:
    account = _public_account(ctx)
    rows = ctx.session.scalars(
        select(OpenApplication)
        .where(OpenApplication.account_id == account.id)
        .order_by(OpenApplication.submitted_at.desc())
    )
    calendar = Calendar.load(ctx.session)
    return [_out(ctx, a, calendar) for a in rows]


def _tell(ctx: ActionContext, account: PublicAccount, subject: str, body: str) -> None:
    """The applicant hears of the decision through the gateway; a failed delivery does not
    undo the decision (the account page shows it too)."""
    try:
        gateway.send(ctx.settings, gateway.Outgoing(contact_of(account), subject, body))
    except GovDataError:
        log.warning("decision message to account %s not delivered", account.id)


def decide(ctx: ActionContext, app_id: str, data: DecideIn) -> ApplicationOut:
    """Approve (optionally until a date) or reject (reason required) a pending application."""
    s = ctx.session
    app = _load(ctx, app_id)
    if ctx.actor.kind == "public":
        ctx.require(Perm.OPENDATA_PUBLISH, target_id=app.id)
    if not _may_decide(ctx, app):
        ctx.require(Perm.OPENDATA_PUBLISH, department_scope(s, app.department_id), target_id=app.id)
    if app.status != PENDING:
        raise Conflict(
            "该申请已处理",
            "The application is decided already",
            code="opendata_application_decided",
        )
    comment = (data.comment or "").strip() or None
    at = clock.now()
    account = s.get(PublicAccount, app.account_id)
    ds = s.get(OpenDataset, app.dataset_id)
    entry = s.get(CatalogEntry, ds.entry_id) if ds else None
    assert account is not None and ds is not None and entry is not None
    if data.approve:
        until = data.valid_until or app.use_until
        valid_until = _end_of(until) if until else None
        if valid_until is not None and valid_until <= at:
            raise _bad(
                "有效期须晚于今天", "The validity must end after today", "opendata_validity_invalid"
            )
        app.status, app.valid_until = APPROVED, valid_until
        key = apikeys.issue_pending(s, account.id)
        details = {"valid_until": valid_until.isoformat() if valid_until else None, "key": key.id}
    else:
        if comment is None:
            raise _bad(
                "不予通过须说明理由", "A rejection needs a reason", "opendata_reason_required"
            )
        app.status = REJECTED
        details = {}
    app.decided_by, app.decided_at, app.decision_comment = ctx.actor.id, at, comment
    ctx.audit(
        "opendata.application.approve" if data.approve else "opendata.application.reject",
        target_type=AUDIT_TARGET,
        target_id=app.id,
        details={"dataset": ds.name, **details},
    )
    verdict = ("已通过", "approved") if data.approve else ("未通过", "rejected")
    _tell(
        ctx,
        account,
        f"开放数据申请{verdict[0]} / Open-data application {verdict[1]}",
        f"您对“{entry.name}”的申请 {app.code} {verdict[0]}。"
        f"Your application {app.code} for {ds.name} was {verdict[1]}."
        + (f" {comment}" if comment else ""),
    )
    return _out(ctx, app, Calendar.load(s), with_key=True)


def overdue_pending(s: Session, at: datetime) -> list[OpenApplication]:
    return list(
        s.scalars(
            select(OpenApplication).where(
                OpenApplication.status == PENDING,
                OpenApplication.due_at <= at,
                OpenApplication.escalated_at.is_(None),
            )
        )
    )
