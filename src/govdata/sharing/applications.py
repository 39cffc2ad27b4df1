"""Applications (共享申请) and their approval chain, by the national sharing rules.

- Unconditional-share entries: a compliance check, automatic when the application is
  complete, or the operator's within ``compliance_days`` when the policy switches it on.
- Conditional-share entries: the provider decides within ``provider_days`` working days.
- Not-shared entries (or items): refused, unless the operator granted an exemption to the
  consumer with a stated basis; then they go to the provider like conditional data.
- Grade 3–4 (important/core) data: the chain of the grade in the policy adds the
  operator's approval after the first step.

Every open step counts down in working days (holiday calendar); an overdue step is
escalated to the operator by the deadline sweep, and the operator may then decide in the
provider's place (协调). A rejection needs a reason; a rejected consumer may contest it to
the operator, who upholds the rejection or grants as applied. The provider cannot add
conditions: it approves the application as made, or rejects it. Applications can be
withdrawn while open; a grant is renewed through an application of kind ``renewal``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog.models import CatalogEntry, EntryVersion
from govdata.catalog.vocab import SHARE_ORDER, ShareMode, ShareType
from govdata.core.clock import DISPLAY_TZ, now
from govdata.core.errors import Conflict, InvalidInput
from govdata.core.sequences import daily_code
from govdata.notifications.actions import Message, notify
from govdata.security import classification
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm, Role, Scope
from govdata.sharing import grants as grants_mod
from govdata.sharing.application_views import application_out, load_application, sides
from govdata.sharing.common import (
    check_row_filter,
    notify_department,
    notify_operators,
    own_department,
    published_entry,
    published_items,
)
from govdata.sharing.exemptions import active_exemption
from govdata.sharing.models import Application, ApplicationStep
from govdata.sharing.policy import chain_for, load_policy
from govdata.sharing.schemas import (
    MAX_VALID_DAYS,
    ApplicationCreate,
    ApplicationOut,
    ContestResolution,
    DecisionIn,
    ReasonIn,
    RenewIn,
)
from govdata.sharing.vocab import (
    ApplicationKind,
    ApplicationStatus,
    DeliveryMode,
    GrantStatus,
    StepKind,
    StepStatus,
)
from govdata.sharing.workdays import Calendar

# What each delivery mode needs the catalog entry to offer (共享方式).
MODE_NEEDS = {
    DeliveryMode.API: ShareMode.API,
    DeliveryMode.SUBSCRIPTION: ShareMode.TABLE,
    DeliveryMode.FILE: ShareMode.FILE,
}
OPEN = (ApplicationStatus.PENDING.value, ApplicationStatus.CONTESTED.value)


def _today() -> date:
    return now().astimezone(DISPLAY_TZ).date()


def _check_validity(valid_until: date) -> None:
    today = _today()
    if not today < valid_until <= today + timedelta(days=MAX_VALID_DAYS):
        raise InvalidInput(
            f"有效期须晚于今天且不超过 {MAX_VALID_DAYS} 天",
            f"valid_until must be after today and within {MAX_VALID_DAYS} days",
            code="sharing_validity_invalid",
            details={"valid_until": valid_until.isoformat()},
        )


def _effective_share_type(entry: CatalogEntry, item_types: list[str]) -> str:
    """The least-shared of the entry and the items asked for decides the route."""
    types = [entry.share_type, *item_types]
    return max(types, key=lambda t: SHARE_ORDER[ShareType(t)])


# -- applying ------------------------------------------------------------------------------


def apply(ctx: ActionContext, data: ApplicationCreate) -> ApplicationOut:
    """Apply for a published entry on behalf of the actor's department.

    Checks: the entry is published and not the department's own; every item exists in the
    published version; not-shared entries and items need an exemption; row scope conditions
    name real items; each delivery mode is one the catalog offers and the entry's grade
    allows (``classification_forbidden``: core data is never delivered as files); validity
    within three years; no other open application of the department for the same entry.
    Then the chain starts (see the module docstring) and, for complete unconditional-share
    applications without an operator check, the grant is made at once.
    """
    ctx.require(Perm.SHARING_APPLY)
    dept = own_department(ctx)
    consumer = Scope(region_path=dept.region_path, department_id=dept.id)
    ctx.require(Perm.SHARING_APPLY, consumer)
    s = ctx.session
    entry = published_entry(ctx, data.entry)
    if entry.provider_department_id == dept.id:
        raise InvalidInput(
            "本部门的数据无需申请",
            "A department does not apply for its own data",
            code="sharing_own_entry",
        )
    items = {i.name: i for i in published_items(s, entry)}
    unknown = [name for name in data.items if name not in items]
    if unknown:
        raise InvalidInput(
            f"目录中没有信息项：{'、'.join(unknown)}",
            f"The entry has no items {unknown}",
            code="sharing_item_unknown",
            details={"items": unknown},
        )
    bad_clear = [name for name in data.clear_items if name not in data.items]
    if bad_clear:
        raise InvalidInput(
            "申请明文的信息项须在所申请的信息项中",
            "Items asked for unmasked must be among the items applied for",
            code="sharing_item_unknown",
            details={"items": bad_clear},
        )
    share_type = _effective_share_type(entry, [items[n].share_type for n in data.items])
    exemption = None
    if share_type == ShareType.NONE:
        exemption = active_exemption(s, entry.id, dept.id)
        if exemption is None:
            refused = [n for n in data.items if items[n].share_type == ShareType.NONE]
            raise InvalidInput(
                "该数据不予共享，不能申请（可请主管部门依法给予例外）",
                "This data is not shared and cannot be applied for "
                "(the operator may grant an exemption on a legal basis)",
                code="sharing_not_shared",
                details={"entry": entry.resource_code, "items": refused},
            )
    row_filter = check_row_filter(data.row_filter, set(items))
    offered = set(_share_modes(s, entry))
    missing = [m.value for m in data.delivery_modes if MODE_NEEDS[m].value not in offered]
    if missing:
        raise InvalidInput(
            "目录未提供所选的共享方式",
            "The catalog entry does not offer the delivery modes chosen",
            code="sharing_mode_unavailable",
            details={"modes": missing, "offered": sorted(offered)},
        )
    _check_validity(data.valid_until)
    _no_open_application(s, entry.id, dept.id)
    app = _file(
        ctx,
        entry,
        share_type,
        (dept.id, dept.region_path),
        {"entry": entry.resource_code},
        kind=ApplicationKind.NEW.value,
        purpose=data.purpose,
        scenario=data.scenario,
        legal_basis=data.legal_basis,
        items=list(data.items),
        row_filter=row_filter,
        row_scope_note=data.row_scope_note,
        delivery_modes=[m.value for m in data.delivery_modes],
        valid_until=data.valid_until,
        contact_name=data.contact_name,
        contact_phone=data.contact_phone,
        clear_items=list(data.clear_items),
        exemption_id=exemption.id if exemption else None,
    )
    return application_out(ctx, app)


def _file(
    ctx: ActionContext,
    entry: CatalogEntry,
    share_type: str,
    consumer: tuple[str, str],
    audit: dict[str, str],
    **content: Any,
) -> Application:
    """Record a new application (or renewal) of ``consumer`` (department id, region path)
    for ``entry``, audit it and start its approval chain. Delivery modes the entry's grade
    forbids (file delivery of core data) are refused here, for both."""
    s = ctx.session
    for mode in content["delivery_modes"]:
        classification.check(s, entry.grade, mode)
    app = Application(
        code=daily_code(s, "SQ"),
        entry_id=entry.id,
        resource_code=entry.resource_code,
        entry_name=entry.name,
        share_type=share_type,
        grade=entry.grade,
        provider_department_id=entry.provider_department_id,
        provider_region_path=entry.region_path,
        consumer_department_id=consumer[0],
        consumer_region_path=consumer[1],
        applicant_id=ctx.actor.id if ctx.actor.kind == "user" else None,
        applicant_name=ctx.actor.name,
        status=ApplicationStatus.PENDING.value,
        **content,
    )
    s.add(app)
    s.flush()
    ctx.audit(
        "sharing.application.create",
        target_type="application",
        target_id=app.id,
        fields=app.items,
        details={"code": app.code, "share_type": share_type, **audit},
    )
    _start_chain(ctx, app)
    return app


def _share_modes(s: Session, entry: CatalogEntry) -> list[str]:
    version = s.get(EntryVersion, entry.published_version_id)
    return list(version.share_modes or []) if version else []


def _no_open_application(s: Session, entry_id: str, consumer_id: str) -> None:
    existing = s.scalars(
        select(Application.code).where(
            Application.entry_id == entry_id,
            Application.consumer_department_id == consumer_id,
            Application.status.in_(OPEN),
        )
    ).first()
    if existing:
        raise Conflict(
            f"本部门对该目录已有办理中的申请 {existing}",
            f"The department already has an open application {existing} for this entry",
            code="sharing_application_exists",
            details={"code": existing},
        )


def _start_chain(ctx: ActionContext, app: Application) -> None:
    policy = load_policy(ctx.session)
    first = StepKind.COMPLIANCE if app.share_type == ShareType.UNCONDITIONAL else StepKind.PROVIDER
    kinds = [first, *chain_for(policy, app.grade)]
    days = {
        StepKind.COMPLIANCE: policy.compliance_days,
        StepKind.PROVIDER: policy.provider_days,
        StepKind.OPERATOR: policy.operator_days,
    }
    app.steps = [
        ApplicationStep(
            position=i, kind=k.value, status=StepStatus.WAITING.value, working_days=days[k]
        )
        for i, k in enumerate(kinds)
    ]
    ctx.session.flush()
    _advance(ctx, app, auto_compliance=not policy.operator_compliance_check)


def _advance(ctx: ActionContext, app: Application, *, auto_compliance: bool = False) -> None:
    """Open the next waiting step, or approve the application when none is left."""
    s = ctx.session
    for step in app.steps:
        if step.status != StepStatus.WAITING:
            continue
        at = now()
        step.status = StepStatus.PENDING.value
        step.opened_at = at
        if step.kind == StepKind.COMPLIANCE and auto_compliance:
            step.status = StepStatus.APPROVED.value
            step.automatic = True
            step.decided_at = at
            step.decided_by_name = "system"
            step.comment = "申请要素完整，自动通过合规性检查 / complete: compliance check passed"
            continue
        step.due_at = Calendar.load(s).add(at, step.working_days)
        app.current_step = step.kind
        app.due_at = step.due_at
        _notify_step(ctx, app, step)
        return
    _approve(ctx, app)


def _notify_step(ctx: ActionContext, app: Application, step: ApplicationStep) -> None:
    message = Message(
        kind="sharing.application.review",
        title_zh=f"待审核共享申请 {app.code}：{app.entry_name}",
        title_en=f"Sharing application {app.code} to review: {app.entry_name}",
        body=app.purpose,
        link=f"/sharing/applications/{app.id}",
        target_type="application",
        target_id=app.id,
    )
    if step.kind == StepKind.PROVIDER:
        notify_department(ctx.session, app.provider_department_id, {Role.DEPT_OFFICER}, message)
    else:
        notify_operators(ctx.session, message)


def _notify_consumer(ctx: ActionContext, app: Application, zh: str, en: str) -> None:
    notify_department(
        ctx.session,
        app.consumer_department_id,
        {Role.DEPT_OFFICER},
        Message(
            kind="sharing.application.decided",
            title_zh=f"共享申请 {app.code} {zh}：{app.entry_name}",
            title_en=f"Sharing application {app.code} {en}: {app.entry_name}",
            body=app.reject_reason,
            link=f"/sharing/applications/{app.id}",
            target_type="application",
            target_id=app.id,
        ),
    )
    if app.applicant_id:
        notify(
            ctx.session,
            [app.applicant_id],
            Message(
                kind="sharing.application.decided",
                title_zh=f"共享申请 {app.code} {zh}",
                title_en=f"Sharing application {app.code} {en}",
                link=f"/sharing/applications/{app.id}",
                target_type="application",
                target_id=app.id,
            ),
        )


def _approve(ctx: ActionContext, app: Application) -> None:
    grant = grants_mod.create_grant(ctx, app)
    app.status = ApplicationStatus.APPROVED.value
    app.grant_id = grant.id
    app.current_step = None
    app.due_at = None
    app.decided_at = now()
    ctx.audit(
        "sharing.application.approve",
        target_type="application",
        target_id=app.id,
        details={"code": app.code, "grant": grant.code},
    )
    _notify_consumer(ctx, app, "已通过", "approved")


# -- deciding ------------------------------------------------------------------------------


def _open_step(app: Application) -> ApplicationStep:
    for step in app.steps:
        if step.status == StepStatus.PENDING:
            return step
    raise Conflict(
        "该申请没有待办理的审批环节",
        "The application has no step waiting for a decision",
        code="sharing_application_not_pending",
        details={"status": app.status},
    )


def decide(ctx: ActionContext, app_id: str, data: DecisionIn) -> ApplicationOut:
    """Decide the open step of an application.

    The provider's officers decide the provider step; the operator decides compliance and
    operator steps, and — once a provider step is overdue and escalated — the provider step
    too. Approval takes the application as made (the decider may only narrow which items
    are delivered unmasked, never add conditions); rejection needs a reason.
    """
    app = load_application(ctx, app_id)
    if app.status != ApplicationStatus.PENDING:
        raise Conflict(
            "该申请不在审批中",
            "The application is not pending",
            code="sharing_application_not_pending",
            details={"status": app.status},
        )
    step = _open_step(app)
    _, provider = sides(app)
    if step.kind == StepKind.PROVIDER:
        escalated = step.escalated_at is not None and ctx.actor.can(Perm.SHARING_MANAGE)
        if not escalated:
            ctx.require(Perm.SHARING_DECIDE, provider, target_id=app.id)
    else:
        ctx.require(Perm.SHARING_MANAGE, target_id=app.id)
    comment = (data.comment or "").strip() or None
    if not data.approve and comment is None:
        raise InvalidInput(
            "不同意须说明理由", "A rejection needs a reason", code="sharing_reason_required"
        )
    if data.clear_items is not None:
        extra = [i for i in data.clear_items if i not in app.clear_items]
        if extra:
            raise InvalidInput(
                "不能在申请之外增加明文信息项",
                "Cannot allow unmasked items beyond those applied for",
                code="sharing_condition_added",
                details={"items": extra},
            )
        app.clear_items = list(data.clear_items)
    at = now()
    step.decided_at = at
    step.decided_by = ctx.actor.id
    step.decided_by_name = ctx.actor.name
    step.comment = comment
    ctx.audit(
        "sharing.application.decide",
        target_type="application",
        target_id=app.id,
        details={"code": app.code, "step": step.kind, "approve": data.approve, "comment": comment},
    )
    if data.approve:
        step.status = StepStatus.APPROVED.value
        _advance(ctx, app)
    else:
        step.status = StepStatus.REJECTED.value
        _end(app, ApplicationStatus.REJECTED)
        app.reject_reason = comment
        _notify_consumer(ctx, app, "未通过", "rejected")
    return application_out(ctx, app)


def _end(app: Application, status: ApplicationStatus) -> None:
    for step in app.steps:
        if step.status in (StepStatus.WAITING, StepStatus.PENDING):
            step.status = StepStatus.CANCELLED.value
    app.status = status.value
    app.current_step = None
    app.due_at = None
    app.decided_at = now()


def withdraw(ctx: ActionContext, app_id: str) -> ApplicationOut:
    """The consumer withdraws an application that is still open."""
    app = load_application(ctx, app_id)
    consumer, _ = sides(app)
    ctx.require(Perm.SHARING_APPLY, consumer, target_id=app.id)
    if app.status not in OPEN:
        raise Conflict(
            "只能撤回办理中的申请",
            "Only an open application can be withdrawn",
            code="sharing_application_not_pending",
            details={"status": app.status},
        )
    _end(app, ApplicationStatus.WITHDRAWN)
    app.withdrawn_at = now()
    ctx.audit("sharing.application.withdraw", target_type="application", target_id=app.id)
    return application_out(ctx, app)


def contest(ctx: ActionContext, app_id: str, data: ReasonIn) -> ApplicationOut:
    """The consumer asks the operator to coordinate (协调) after a rejection."""
    app = load_application(ctx, app_id)
    consumer, _ = sides(app)
    ctx.require(Perm.SHARING_APPLY, consumer, target_id=app.id)
    if app.status != ApplicationStatus.REJECTED or app.contested_at is not None:
        raise Conflict(
            "只能对未通过的申请提出一次协调",
            "Only a rejected application can be contested, once",
            code="sharing_contest_invalid",
            details={"status": app.status},
        )
    app.status = ApplicationStatus.CONTESTED.value
    app.contest_reason = data.reason
    app.contested_at = now()
    ctx.audit(
        "sharing.application.contest",
        target_type="application",
        target_id=app.id,
        details={"reason": data.reason},
    )
    notify_operators(
        ctx.session,
        Message(
            kind="sharing.application.contested",
            title_zh=f"共享申请 {app.code} 申请协调",
            title_en=f"Application {app.code} contested",
            body=data.reason,
            link=f"/sharing/applications/{app.id}",
            target_type="application",
            target_id=app.id,
        ),
    )
    return application_out(ctx, app)


def resolve_contest(ctx: ActionContext, app_id: str, data: ContestResolution) -> ApplicationOut:
    """The operator upholds the rejection or grants as applied; both are final."""
    app = load_application(ctx, app_id)
    ctx.require(Perm.SHARING_MANAGE, target_id=app.id)
    if app.status != ApplicationStatus.CONTESTED:
        raise Conflict(
            "该申请不在协调中",
            "The application is not contested",
            code="sharing_contest_invalid",
            details={"status": app.status},
        )
    app.contest_outcome = data.comment
    ctx.audit(
        "sharing.application.resolve",
        target_type="application",
        target_id=app.id,
        details={"uphold": data.uphold, "comment": data.comment},
    )
    if data.uphold:
        app.status = ApplicationStatus.REJECTED.value
        _notify_consumer(ctx, app, "协调维持不予共享", "rejection upheld")
    else:
        _approve(ctx, app)
    return application_out(ctx, app)


def renew(ctx: ActionContext, grant_id: str, data: RenewIn) -> ApplicationOut:
    """Apply to extend a grant before it expires; approval extends the same grant."""
    grant = grants_mod.load_grant(ctx, grant_id)
    consumer = Scope(
        region_path=grant.consumer_region_path, department_id=grant.consumer_department_id
    )
    ctx.require(Perm.SHARING_APPLY, consumer, target_id=grant.id)
    status = grants_mod.status_of(grant)
    if status != GrantStatus.ACTIVE:
        raise Conflict(
            "只能在授权有效期内续期",
            "A grant can only be renewed while it is active",
            code="sharing_grant_not_active",
            details={"status": status.value},
        )
    _check_validity(data.valid_until)
    if grants_mod.end_of_day(data.valid_until) <= grant.expires_at:
        raise InvalidInput(
            "续期后的有效期须晚于当前到期日",
            "The new end date must be after the grant's current expiry",
            code="sharing_validity_invalid",
        )
    s = ctx.session
    entry = published_entry(ctx, grant.entry_id)
    _no_open_application(s, entry.id, grant.consumer_department_id)
    original = s.get(Application, grant.application_id)
    assert original is not None
    items = {i.name: i for i in published_items(s, entry)}
    share_type = _effective_share_type(
        entry, [items[n].share_type for n in grant.items if n in items]
    )
    if (
        share_type == ShareType.NONE
        and active_exemption(s, entry.id, grant.consumer_department_id) is None
    ):
        raise InvalidInput(
            "该数据现已不予共享，不能续期",
            "This data is no longer shared; the grant cannot be renewed",
            code="sharing_not_shared",
        )
    app = _file(
        ctx,
        entry,
        share_type,
        (grant.consumer_department_id, grant.consumer_region_path),
        {"renews": grant.code},
        kind=ApplicationKind.RENEWAL.value,
        purpose=grant.purpose,
        scenario=grant.scenario,
        legal_basis=original.legal_basis,
        items=list(grant.items),
        row_filter=list(grant.row_filter or []),
        row_scope_note=f"续期 / renewal: {data.reason}",
        delivery_modes=list(grant.delivery_modes),
        valid_until=data.valid_until,
        contact_name=original.contact_name,
        contact_phone=original.contact_phone,
        clear_items=[i for i, m in (grant.masks or {}).items() if m == "clear"],
        renews_grant_id=grant.id,
    )
    return application_out(ctx, app)
