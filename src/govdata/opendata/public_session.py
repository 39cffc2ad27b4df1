"""Who the public visitor is: a signed-in public account (the ``govdata_open_session``
cookie, separate from the government portal's), or nobody."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request, Response

from govdata.core.db import Database
from govdata.opendata import accounts

COOKIE = "govdata_open_session"
_STATE = "open_public_user"


@dataclass(frozen=True)
class PublicUser:
    id: str
    display_name: str
    kind: str = "person"
    address: str = ""


def current_public_user(request: Request) -> PublicUser | None:
    """The verified account of the request's session cookie (looked up once per request)."""
    if hasattr(request.state, _STATE):
        found: PublicUser | None = getattr(request.state, _STATE)
        return found
    token = request.cookies.get(COOKIE)
    user = None
    if token:
        db: Database = request.app.state.db
        with db.transaction() as s:
            account = accounts.session_account(s, token)
            if account is not None:
                user = PublicUser(
                    account.id, account.display_name, account.kind, accounts.contact_of(account)
                )
    setattr(request.state, _STATE, user)
    return user


def set_cookie(request: Request, response: Response, token: str, max_age: int) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.cookie_secure,
        path="/",
    )


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/")
