"""REST API of sharing (under /api/v1): demands, applications, grants, exemptions, the
policy and calendar, app limits, objections. Thin shells over the actions."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import FileResponse

from govdata.governance import tickets
from govdata.governance.schemas import TicketAnswer, TicketClose, TicketOut, TicketPage
from govdata.governance.vocab import TicketStatus
from govdata.sharing import (
    application_views,
    applications,
    demands,
    exemptions,
    grants,
    limits,
    objections,
    policy,
    subscriptions,
)
from govdata.sharing.schemas import (
    ApplicationCreate,
    ApplicationOut,
    ApplicationPage,
    AppLimitIn,
    AppLimitOut,
    ContestResolution,
    DecisionIn,
    DeliveryFile,
    DemandAnswerIn,
    DemandCreate,
    DemandFulfil,
    DemandOut,
    DemandPage,
    DemandRoute,
    ExemptionCreate,
    ExemptionOut,
    GrantApps,
    GrantField,
    GrantOut,
    GrantPage,
    HolidayIn,
    HolidayOut,
    ObjectionCreate,
    PolicyOut,
    PolicyUpdate,
    ReasonIn,
    RenewIn,
    SubscriptionCreate,
    SubscriptionOut,
    SubscriptionPage,
    SubscriptionRunOut,
)
from govdata.sharing.vocab import ApplicationStatus, DemandStatus, GrantStatus
from govdata.web.deps import CallerDep

router = APIRouter(tags=["sharing"])
Limit = Annotated[int, Query(ge=1, le=200)]

# -- policy and calendar ------------------------------------------------------------------


@router.get("/sharing/policy", response_model=PolicyOut)
def get_policy(caller: CallerDep) -> PolicyOut:
    """Deadlines in working days and the approval chain per grade."""
    with caller.act() as ctx:
        return policy.get_policy(ctx)


@router.patch("/sharing/policy", response_model=PolicyOut)
def update_policy(caller: CallerDep, data: PolicyUpdate) -> PolicyOut:
    """Change the sharing rules (operator)."""
    with caller.act() as ctx:
        return policy.update_policy(ctx, data)


@router.get("/sharing/holidays", response_model=list[HolidayOut])
def list_holidays(
    caller: CallerDep, year: Annotated[int | None, Query(ge=2000, le=2100)] = None
) -> list[HolidayOut]:
    """Holidays on weekdays and worked weekend days (调休) of the working-day calendar."""
    with caller.act() as ctx:
        return policy.list_holidays(ctx, year=year)


@router.put("/sharing/holidays", response_model=HolidayOut)
def set_holiday(caller: CallerDep, data: HolidayIn) -> HolidayOut:
    """Mark a day as a holiday or a worked weekend day (operator)."""
    with caller.act() as ctx:
        return policy.set_holiday(ctx, data)


@router.delete("/sharing/holidays/{day}", status_code=204)
def delete_holiday(caller: CallerDep, day: date) -> Response:
    with caller.act() as ctx:
        policy.delete_holiday(ctx, day)
    return Response(status_code=204)


# -- demands ------------------------------------------------------------------------------


@router.get("/sharing/demands", response_model=DemandPage)
def list_demands(
    caller: CallerDep,
    side: Annotated[str | None, Query(pattern="^(mine|incoming)$")] = None,
    status: DemandStatus | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> DemandPage:
    """Demands the caller sees, newest first."""
    with caller.act() as ctx:
        return demands.list_demands(ctx, side=side, status=status, limit=limit, cursor=cursor)


@router.post("/sharing/demands", response_model=DemandOut, status_code=201)
def create_demand(caller: CallerDep, data: DemandCreate) -> DemandOut:
    """Post a need for data that is not in the catalog yet."""
    with caller.act() as ctx:
        return demands.create_demand(ctx, data)


@router.get("/sharing/demands/{demand_id}", response_model=DemandOut)
def get_demand(caller: CallerDep, demand_id: str) -> DemandOut:
    with caller.act() as ctx:
        return demands.get_demand(ctx, demand_id)


@router.post("/sharing/demands/{demand_id}/route", response_model=DemandOut)
def route_demand(caller: CallerDep, demand_id: str, data: DemandRoute) -> DemandOut:
    """Send the demand to a provider department (operator)."""
    with caller.act() as ctx:
        return demands.route_demand(ctx, demand_id, data)


@router.post("/sharing/demands/{demand_id}/answer", response_model=DemandOut)
def answer_demand(caller: CallerDep, demand_id: str, data: DemandAnswerIn) -> DemandOut:
    """The provider's answer: will catalog / no such data / cannot share (with basis)."""
    with caller.act() as ctx:
        return demands.answer_demand(ctx, demand_id, data)


@router.post("/sharing/demands/{demand_id}/fulfil", response_model=DemandOut)
def fulfil_demand(caller: CallerDep, demand_id: str, data: DemandFulfil) -> DemandOut:
    """Link the published entry that now holds the data."""
    with caller.act() as ctx:
        return demands.fulfil_demand(ctx, demand_id, data)


@router.post("/sharing/demands/{demand_id}/close", response_model=DemandOut)
def close_demand(caller: CallerDep, demand_id: str, data: ReasonIn) -> DemandOut:
    """Withdraw (requester) or close (operator) a demand."""
    with caller.act() as ctx:
        return demands.close_demand(ctx, demand_id, data)


# -- applications -------------------------------------------------------------------------


@router.get("/sharing/applications", response_model=ApplicationPage)
def list_applications(
    caller: CallerDep,
    queue: Annotated[str | None, Query(pattern="^(mine|incoming|operator)$")] = None,
    status: ApplicationStatus | None = None,
    entry: str | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> ApplicationPage:
    """Applications the caller sees, newest first; ``queue`` narrows to the caller's own
    (``mine``), its provider review queue (``incoming``) or the operator's (``operator``)."""
    with caller.act() as ctx:
        return application_views.list_applications(
            ctx, queue=queue, status=status, entry=entry, limit=limit, cursor=cursor
        )


@router.post("/sharing/applications", response_model=ApplicationOut, status_code=201)
def apply(caller: CallerDep, data: ApplicationCreate) -> ApplicationOut:
    """Apply for a published entry; complete unconditional-share applications are granted
    at once unless the operator checks them."""
    with caller.act() as ctx:
        return applications.apply(ctx, data)


@router.get("/sharing/applications/{application_id}", response_model=ApplicationOut)
def get_application(caller: CallerDep, application_id: str) -> ApplicationOut:
    """One application (id or code) with its approval steps and deadlines."""
    with caller.act() as ctx:
        return application_views.get_application(ctx, application_id)


@router.post("/sharing/applications/{application_id}/decide", response_model=ApplicationOut)
def decide(caller: CallerDep, application_id: str, data: DecisionIn) -> ApplicationOut:
    """Approve or reject the open step (provider, or the operator for its steps)."""
    with caller.act() as ctx:
        return applications.decide(ctx, application_id, data)


@router.post("/sharing/applications/{application_id}/withdraw", response_model=ApplicationOut)
def withdraw(caller: CallerDep, application_id: str) -> ApplicationOut:
    with caller.act() as ctx:
        return applications.withdraw(ctx, application_id)


@router.post("/sharing/applications/{application_id}/contest", response_model=ApplicationOut)
def contest(caller: CallerDep, application_id: str, data: ReasonIn) -> ApplicationOut:
    """Ask the operator to coordinate after a rejection (协调)."""
    with caller.act() as ctx:
        return applications.contest(ctx, application_id, data)


@router.post("/sharing/applications/{application_id}/resolve", response_model=ApplicationOut)
def resolve(caller: CallerDep, application_id: str, data: ContestResolution) -> ApplicationOut:
    """The operator upholds the rejection or grants as applied."""
    with caller.act() as ctx:
        return applications.resolve_contest(ctx, application_id, data)


# -- exemptions ---------------------------------------------------------------------------


@router.get("/sharing/exemptions", response_model=list[ExemptionOut])
def list_exemptions(caller: CallerDep) -> list[ExemptionOut]:
    with caller.act() as ctx:
        return exemptions.list_exemptions(ctx)


@router.post("/sharing/exemptions", response_model=ExemptionOut, status_code=201)
def grant_exemption(caller: CallerDep, data: ExemptionCreate) -> ExemptionOut:
    """Let one department apply for a not-shared entry, on a stated basis (operator)."""
    with caller.act() as ctx:
        return exemptions.grant_exemption(ctx, data)


@router.post("/sharing/exemptions/{exemption_id}/revoke", response_model=ExemptionOut)
def revoke_exemption(caller: CallerDep, exemption_id: str) -> ExemptionOut:
    with caller.act() as ctx:
        return exemptions.revoke_exemption(ctx, exemption_id)


# -- grants -------------------------------------------------------------------------------


@router.get("/sharing/grants", response_model=GrantPage)
def list_grants(
    caller: CallerDep,
    side: Annotated[str | None, Query(pattern="^(held|given)$")] = None,
    status: GrantStatus | None = None,
    entry: str | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> GrantPage:
    """Grants the caller's department holds (``held``) or has given (``given``)."""
    with caller.act() as ctx:
        return grants.list_grants(
            ctx, side=side, status=status, entry=entry, limit=limit, cursor=cursor
        )


@router.get("/sharing/grants/{grant_id}", response_model=GrantOut)
def get_grant(caller: CallerDep, grant_id: str) -> GrantOut:
    with caller.act() as ctx:
        return grants.get_grant(ctx, grant_id)


@router.get("/sharing/grants/{grant_id}/fields", response_model=list[GrantField])
def grant_fields(caller: CallerDep, grant_id: str) -> list[GrantField]:
    """The data-service API's field, type and mask for each granted item."""
    with caller.act() as ctx:
        return grants.grant_fields(ctx, grant_id)


@router.post("/sharing/grants/{grant_id}/revoke", response_model=GrantOut)
def revoke_grant(caller: CallerDep, grant_id: str, data: ReasonIn) -> GrantOut:
    """Revoke a grant (provider or operator); takes effect on the next request."""
    with caller.act() as ctx:
        return grants.revoke_grant(ctx, grant_id, data)


@router.post("/sharing/grants/{grant_id}/renew", response_model=ApplicationOut, status_code=201)
def renew_grant(caller: CallerDep, grant_id: str, data: RenewIn) -> ApplicationOut:
    """Apply to extend a grant before it expires."""
    with caller.act() as ctx:
        return applications.renew(ctx, grant_id, data)


@router.put("/sharing/grants/{grant_id}/apps", response_model=GrantOut)
def set_grant_apps(caller: CallerDep, grant_id: str, data: GrantApps) -> GrantOut:
    """Which of the consumer's apps may use the grant (empty: all)."""
    with caller.act() as ctx:
        return grants.set_grant_apps(ctx, grant_id, data)


# -- app limits -----------------------------------------------------------------------------


@router.get("/sharing/app-limits/{credential_id}", response_model=AppLimitOut)
def get_app_limit(caller: CallerDep, credential_id: str) -> AppLimitOut:
    """An app's data-service rate limit, quota and use."""
    with caller.act() as ctx:
        return limits.get_limit(ctx, credential_id)


@router.put("/sharing/app-limits/{credential_id}", response_model=AppLimitOut)
def set_app_limit(caller: CallerDep, credential_id: str, data: AppLimitIn) -> AppLimitOut:
    """Set an app's rate limit and daily quota (operator)."""
    with caller.act() as ctx:
        return limits.set_limit(ctx, credential_id, data)


# -- subscriptions ------------------------------------------------------------------------


@router.get("/sharing/subscriptions", response_model=SubscriptionPage)
def list_subscriptions(
    caller: CallerDep,
    side: Annotated[str | None, Query(pattern="^(held|given)$")] = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> SubscriptionPage:
    """Subscriptions the caller's department holds (``held``) or delivers (``given``)."""
    with caller.act() as ctx:
        return subscriptions.list_subscriptions(ctx, side=side, limit=limit, cursor=cursor)


@router.post("/sharing/subscriptions", response_model=SubscriptionOut, status_code=201)
def create_subscription(caller: CallerDep, data: SubscriptionCreate) -> SubscriptionOut:
    """Subscribe to a held grant: into the department's own database table, or as files.
    The first delivery is queued at once."""
    with caller.act() as ctx:
        return subscriptions.create_subscription(ctx, data)


@router.get("/sharing/subscriptions/{subscription_id}", response_model=SubscriptionOut)
def get_subscription(caller: CallerDep, subscription_id: str) -> SubscriptionOut:
    """One subscription: state, delivered version, lag, last error."""
    with caller.act() as ctx:
        return subscriptions.get_subscription(ctx, subscription_id)


@router.delete("/sharing/subscriptions/{subscription_id}", status_code=204)
def delete_subscription(caller: CallerDep, subscription_id: str) -> Response:
    with caller.act() as ctx:
        subscriptions.delete_subscription(ctx, subscription_id)
    return Response(status_code=204)


@router.post("/sharing/subscriptions/{subscription_id}/run", response_model=SubscriptionRunOut)
def run_subscription(caller: CallerDep, subscription_id: str) -> SubscriptionRunOut:
    """Queue a delivery now."""
    with caller.act() as ctx:
        return subscriptions.run_subscription(ctx, subscription_id)


@router.post("/sharing/subscriptions/{subscription_id}/pause", response_model=SubscriptionOut)
def pause_subscription(caller: CallerDep, subscription_id: str) -> SubscriptionOut:
    with caller.act() as ctx:
        return subscriptions.pause_subscription(ctx, subscription_id)


@router.post("/sharing/subscriptions/{subscription_id}/resume", response_model=SubscriptionOut)
def resume_subscription(caller: CallerDep, subscription_id: str) -> SubscriptionOut:
    with caller.act() as ctx:
        return subscriptions.resume_subscription(ctx, subscription_id)


@router.get(
    "/sharing/subscriptions/{subscription_id}/runs", response_model=list[SubscriptionRunOut]
)
def subscription_runs(
    caller: CallerDep, subscription_id: str, limit: Limit = 50
) -> list[SubscriptionRunOut]:
    """Delivery history, newest first (both sides)."""
    with caller.act() as ctx:
        return subscriptions.list_runs(ctx, subscription_id, limit=limit)


@router.get("/sharing/subscriptions/{subscription_id}/files", response_model=list[DeliveryFile])
def subscription_files(caller: CallerDep, subscription_id: str) -> list[DeliveryFile]:
    """Files delivered to a file subscription (consumer side)."""
    with caller.act() as ctx:
        return subscriptions.delivery_files(ctx, subscription_id)


@router.get("/sharing/subscriptions/{subscription_id}/files/{name}", response_class=FileResponse)
def download_subscription_file(caller: CallerDep, subscription_id: str, name: str) -> Response:
    """One delivered file (consumer side; audited as a data read)."""
    with caller.act() as ctx:
        path = subscriptions.open_delivery_file(ctx, subscription_id, name)
    return FileResponse(path, filename=name)


# -- objections ---------------------------------------------------------------------------


@router.get("/sharing/objections", response_model=TicketPage)
def list_objections(
    caller: CallerDep,
    side: Annotated[str | None, Query(pattern="^(reported|assigned)$")] = None,
    status: TicketStatus | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> TicketPage:
    """Problem-data tickets the caller's department reported or must answer."""
    with caller.act() as ctx:
        return tickets.list_tickets(ctx, side=side, status=status, limit=limit, cursor=cursor)


@router.post("/sharing/objections", response_model=TicketOut, status_code=201)
def create_objection(caller: CallerDep, data: ObjectionCreate) -> TicketOut:
    """Report data received under a grant as wrong; a ticket for the provider."""
    with caller.act() as ctx:
        return objections.create_objection(ctx, data)


@router.get("/sharing/objections/{ticket_id}", response_model=TicketOut)
def get_objection(caller: CallerDep, ticket_id: str) -> TicketOut:
    with caller.act() as ctx:
        return tickets.get_ticket(ctx, ticket_id)


@router.post("/sharing/objections/{ticket_id}/answer", response_model=TicketOut)
def answer_objection(caller: CallerDep, ticket_id: str, data: TicketAnswer) -> TicketOut:
    """The provider accepts (rectifies) or disputes it."""
    with caller.act() as ctx:
        return tickets.answer_ticket(ctx, ticket_id, data)


@router.post("/sharing/objections/{ticket_id}/close", response_model=TicketOut)
def close_objection(caller: CallerDep, ticket_id: str, data: TicketClose) -> TicketOut:
    with caller.act() as ctx:
        return tickets.close_ticket(ctx, ticket_id, data)
