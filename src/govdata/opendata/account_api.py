"""REST API of public applications and API keys (under /api/v1/opendata).

Government side (signed-in officers and operators): the application queue, one
application, the decision, and an operator's per-key quota. Public side
(``/opendata/public/...``): the caller is identified by ``grants.identify`` (a public
session cookie or an API key), never by the government's credentials, and each route
checks for itself that a public account is calling.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from govdata.core.errors import NotAuthenticated
from govdata.opendata import accounts, apikeys, applications, grants
from govdata.opendata.account_models import PublicAccount
from govdata.opendata.apikeys import KeyOut, QuotaIn
from govdata.opendata.applications import ApplicationOut, DecideIn
from govdata.security.context import Caller
from govdata.web.deps import CallerDep, client_addr

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


class PublicMe(BaseModel):
    account: accounts.AccountOut
    keys: list[KeyOut]
    datasets: list[str]


def _public(request: Request) -> Caller:
    who = grants.identify(request)
    if who.actor.kind != "public":
        raise NotAuthenticated(
            "请使用公众账号登录或提供 API 密钥",
            "Sign in with a public account or send an API key",
            code="opendata_account_required",
        )
    settings = request.app.state.settings
    return Caller(request.app.state.db, settings, who.actor, client_addr(request))


@router.get("/opendata/public/me", response_model=PublicMe)
def public_me(request: Request) -> PublicMe:
    """The calling public account, its keys (prefix only) and the datasets it may read."""
    caller = _public(request)
    with caller.act() as ctx:
        account = ctx.session.get(PublicAccount, ctx.actor.id)
        assert account is not None
        return PublicMe(
            account=accounts.out(account),
            keys=apikeys.keys_of(ctx, account.id),
            datasets=sorted(apikeys.granted_datasets(ctx.session, account.id)),
        )


@router.get("/opendata/public/applications", response_model=list[ApplicationOut])
def public_applications(request: Request) -> list[ApplicationOut]:
    """The calling public account's applications with status and deadlines."""
    caller = _public(request)
    with caller.act() as ctx:
        return applications.my_applications(ctx)
