"""FastAPI dependencies: the store, the settings and the resolved caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.errors import NotAuthenticated
from govdata.core.i18n import set_locale
from govdata.identity import auth
from govdata.security.context import Caller
from govdata.security.context_types import ANONYMOUS, Actor
from govdata.web import csrf

SESSION_COOKIE = "govdata_session"


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def client_addr(request: Request) -> str | None:
    return request.client.host if request.client else None


def resolve_actor(request: Request) -> Actor:
    """Bearer token (user or app credential) first, then the portal session cookie."""
    db, settings = get_db(request), get_settings(request)
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise NotAuthenticated("认证信息格式错误", "Malformed Authorization header")
        actor = auth.actor_from_bearer(db, settings, token.strip(), client_addr(request))
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        actor = (auth.actor_from_session(db, settings, cookie) if cookie else None) or ANONYMOUS
        if cookie and actor.kind != "anonymous" and _api_change(request):
            # The browser sends the cookie on its own; a change through the API with it
            # must show the session's token as a portal form does.
            csrf.check(auth.session_csrf_token(db, cookie), request, None)
    if actor.kind != "anonymous":
        # Sync dependencies run in a copied context: the contextvar reaches code called
        # from here, request.state reaches the error handlers.
        set_locale(actor.locale)
        request.state.locale = actor.locale
    return actor


def _api_change(request: Request) -> bool:
    return request.method not in csrf.SAFE_METHODS and request.url.path.startswith("/api/")


def optional_caller(request: Request) -> Caller:
    actor = resolve_actor(request)
    return Caller(get_db(request), get_settings(request), actor, client_addr(request))


def caller(request: Request) -> Caller:
    """The caller of an API route; anonymous callers get 401."""
    c = optional_caller(request)
    if c.actor.kind == "anonymous":
        raise NotAuthenticated()
    return c


CallerDep = Annotated[Caller, Depends(caller)]
OptionalCallerDep = Annotated[Caller, Depends(optional_caller)]
DbDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
