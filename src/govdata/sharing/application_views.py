"""Reading applications: who sees one, and how it looks with its steps and countdowns.

An actor sees an application when its ``sharing.read`` covers the consumer side or the
provider side; the operator's queue also needs ``sharing.manage``.
"""

from __future__ import annotations

from sqlalchemy import select

from govdata.core.errors import InvalidInput
from govdata.core.pagination import paginate
from govdata.identity import queries as org
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm, Scope
from govdata.sharing.common import days_left, sees, two_sided_clause
from govdata.sharing.common import not_found as _not_found
from govdata.sharing.models import Application, ApplicationStep
from govdata.sharing.schemas import ApplicationOut, ApplicationPage, StepOut
from govdata.sharing.vocab import (
    ApplicationKind,
    ApplicationStatus,
    DeliveryMode,
    StepKind,
    StepStatus,
    label,
)
from govdata.sharing.workdays import Calendar


def sides(app: Application) -> tuple[Scope, Scope]:
    return (
        Scope(region_path=app.consumer_region_path, department_id=app.consumer_department_id),
        Scope(region_path=app.provider_region_path, department_id=app.provider_department_id),
    )


def load_application(ctx: ActionContext, app_id: str) -> Application:
    """The application if the actor sees either side of it (or manages sharing); else 404."""
    ctx.require(Perm.SHARING_READ)
    app = ctx.session.get(Application, app_id)
    if app is None:
        app = ctx.session.scalars(select(Application).where(Application.code == app_id)).first()
    if app is None or not sees(ctx, *sides(app)):
        raise _not_found("共享申请", "Application", "sharing_application_not_found", app_id)
    return app


# -- reading -------------------------------------------------------------------------------


def application_out(
    ctx: ActionContext,
    app: Application,
    names: dict[str, str] | None = None,
    calendar: Calendar | None = None,
) -> ApplicationOut:
    s = ctx.session
    names = names or org.department_names(
        s, {app.provider_department_id, app.consumer_department_id}
    )
    calendar = calendar or Calendar.load(s)
    locale = ctx.locale
    pending = next((st for st in app.steps if st.status == StepStatus.PENDING), None)
    due = pending.due_at if pending else None
    left, overdue = days_left(calendar, due, pending is not None)
    steps = []
    for step in app.steps:
        s_left, s_overdue = days_left(calendar, step.due_at, step.status == StepStatus.PENDING)
        steps.append(
            StepOut(
                position=step.position,
                kind=StepKind(step.kind),
                label=label("step_kind", step.kind, locale),
                status=step.status,
                status_label=label("step_status", step.status, locale),
                working_days=step.working_days,
                opened_at=step.opened_at,
                due_at=step.due_at,
                days_left=s_left,
                overdue=s_overdue,
                escalated=step.escalated_at is not None,
                decided_at=step.decided_at,
                decided_by_name=step.decided_by_name,
                automatic=step.automatic,
                comment=step.comment,
            )
        )
    return ApplicationOut(
        id=app.id,
        code=app.code,
        kind=ApplicationKind(app.kind),
        entry_id=app.entry_id,
        resource_code=app.resource_code,
        entry_name=app.entry_name,
        share_type=app.share_type,
        grade=app.grade,
        provider_department_id=app.provider_department_id,
        provider_department_name=names.get(app.provider_department_id, ""),
        consumer_department_id=app.consumer_department_id,
        consumer_department_name=names.get(app.consumer_department_id, ""),
        applicant_name=app.applicant_name,
        purpose=app.purpose,
        scenario=app.scenario,
        legal_basis=app.legal_basis,
        items=list(app.items),
        row_filter=list(app.row_filter or []),
        row_scope_note=app.row_scope_note,
        delivery_modes=[DeliveryMode(m) for m in app.delivery_modes],
        valid_until=app.valid_until,
        contact_name=app.contact_name,
        contact_phone=app.contact_phone,
        clear_items=list(app.clear_items or []),
        status=ApplicationStatus(app.status),
        status_label=label("application_status", app.status, locale),
        current_step=StepKind(app.current_step) if app.current_step else None,
        due_at=due,
        days_left=left,
        overdue=overdue,
        reject_reason=app.reject_reason,
        contest_reason=app.contest_reason,
        contest_outcome=app.contest_outcome,
        renews_grant_id=app.renews_grant_id,
        grant_id=app.grant_id,
        steps=steps,
        created_at=app.created_at,
        decided_at=app.decided_at,
    )


def get_application(ctx: ActionContext, app_id: str) -> ApplicationOut:
    """One application with its steps, deadlines and outcome (by id or code)."""
    return application_out(ctx, load_application(ctx, app_id))


QUEUES = ("mine", "incoming", "operator")


def list_applications(
    ctx: ActionContext,
    *,
    queue: str | None = None,
    status: ApplicationStatus | None = None,
    entry: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> ApplicationPage:
    """Applications the actor sees, newest first.

    ``queue``: ``mine`` (the actor's department applied), ``incoming`` (waiting for the
    actor's department as provider), ``operator`` (waiting for the operator: compliance and
    operator steps, escalated provider steps, contests).
    """
    ctx.require(Perm.SHARING_READ)
    stmt = select(Application).where(
        two_sided_clause(
            ctx,
            Perm.SHARING_READ,
            Application.consumer_department_id,
            Application.consumer_region_path,
            Application.provider_department_id,
            Application.provider_region_path,
        )
    )
    dept = ctx.actor.department_id
    if queue == "mine":
        stmt = stmt.where(Application.consumer_department_id == dept)
    elif queue == "incoming":
        stmt = stmt.where(
            Application.provider_department_id == dept,
            Application.status == ApplicationStatus.PENDING.value,
            Application.current_step == StepKind.PROVIDER.value,
        )
    elif queue == "operator":
        ctx.require(Perm.SHARING_MANAGE)
        escalated = select(ApplicationStep.application_id).where(
            ApplicationStep.status == StepStatus.PENDING.value,
            ApplicationStep.escalated_at.is_not(None),
        )
        stmt = stmt.where(
            (
                (Application.status == ApplicationStatus.PENDING.value)
                & (
                    Application.current_step.in_(
                        [StepKind.COMPLIANCE.value, StepKind.OPERATOR.value]
                    )
                    | Application.id.in_(escalated)
                )
            )
            | (Application.status == ApplicationStatus.CONTESTED.value)
        )
    elif queue is not None:
        raise InvalidInput(
            f"queue 须为 {'、'.join(QUEUES)} 之一",
            f"queue must be one of {', '.join(QUEUES)}",
            code="invalid_queue",
        )
    if status is not None:
        stmt = stmt.where(Application.status == status.value)
    if entry:
        stmt = stmt.where((Application.entry_id == entry) | (Application.resource_code == entry))
    page = paginate(
        ctx.session, stmt, [Application.id], limit=limit, cursor=cursor, descending=True
    )
    s = ctx.session
    ids = {a.provider_department_id for a in page.items} | {
        a.consumer_department_id for a in page.items
    }
    names = org.department_names(s, ids)
    calendar = Calendar.load(s)
    return ApplicationPage(
        items=[application_out(ctx, a, names, calendar) for a in page.items],
        next_cursor=page.next_cursor,
    )
