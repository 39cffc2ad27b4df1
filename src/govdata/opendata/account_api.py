"""REST API of public applications and API keys (under /api/v1/opendata), for signed-in
officers and operators: the application queue, one application, the decision, and an
operator's per-key quota and public accounts (list, disable, enable). Public accounts
themselves use the portal's pages (``pages_account``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from govdata.opendata import accounts, apikeys, applications
from govdata.opendata.apikeys import KeyOut, QuotaIn
from govdata.opendata.applications import ApplicationOut, DecideIn
from govdata.web.deps import CallerDep

router = APIRouter(tags=["opendata"])

_A = "/opendata/applications"


@router.get(_A, response_model=list[ApplicationOut])
def list_applications(
    caller: CallerDep,
    status: Annotated[str | None, Query(pattern="^(pending|approved|rejected)$")] = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ApplicationOut]:
    """Applications for the caller's departments' conditional datasets (all for the
    operator): pending first, soonest due; ``overdue`` filters on the deadline."""
    with caller.act() as ctx:
        return applications.list_applications(
            ctx, status=status, overdue=overdue, limit=limit, offset=offset
        )


@router.get(_A + "/{app_id}", response_model=ApplicationOut)
def get_application(caller: CallerDep, app_id: str) -> ApplicationOut:
    with caller.act() as ctx:
        return applications.get_application(ctx, app_id)


@router.post(_A + "/{app_id}/decide", response_model=ApplicationOut)
def decide(caller: CallerDep, app_id: str, body: DecideIn) -> ApplicationOut:
    """Approve (``valid_until`` optional, default the applied use period's end) or reject
    (``comment`` required). Officers with ``opendata.publish`` over the provider; the
    operator once the application is escalated."""
    with caller.act() as ctx:
        return applications.decide(ctx, app_id, body)


@router.put("/opendata/keys/{key_id}/quota", response_model=KeyOut)
def set_quota(caller: CallerDep, key_id: str, body: QuotaIn) -> KeyOut:
    """The operator sets a key's per-minute and per-day quota (null: the node's default)."""
    with caller.act() as ctx:
        return apikeys.set_quota(ctx, key_id, body)


@router.get("/opendata/accounts", response_model=list[accounts.AccountAdminOut])
def list_accounts(
    caller: CallerDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[accounts.AccountAdminOut]:
    """Public accounts (the operator's): address, name, type, verified, disabled."""
    with caller.act() as ctx:
        return accounts.list_accounts(ctx, q, limit, offset)


@router.post("/opendata/accounts/{account_id}/disable", response_model=accounts.AccountAdminOut)
def disable_account(caller: CallerDep, account_id: str) -> accounts.AccountAdminOut:
    """Disable a public account: its sessions end and its keys stop at once."""
    with caller.act() as ctx:
        return accounts.set_disabled(ctx, account_id, True)


@router.post("/opendata/accounts/{account_id}/enable", response_model=accounts.AccountAdminOut)
def enable_account(caller: CallerDep, account_id: str) -> accounts.AccountAdminOut:
    with caller.act() as ctx:
        return accounts.set_disabled(ctx, account_id, False)
