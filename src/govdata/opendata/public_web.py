"""The public portal's page plumbing: any visitor, the pre-session CSRF cookie for anonymous
forms, and the signed-in public account (if any) in every template."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from govdata.opendata.public_session import current_public_user
from govdata.web import csrf
from govdata.web.portal import Page, any_page


def public_page(request: Request) -> Page:
    page = any_page(request)
    if not page.signed_in and not request.cookies.get(csrf.PRESESSION_COOKIE):
        page.use_presession_token(csrf.new_token())
    return page


PublicPage = Annotated[Page, Depends(public_page)]


def render(page: Page, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """Render a public page; a first visit also gets the double-submit cookie its forms need."""
    context.setdefault("public_user", current_public_user(page.request))
    response = page.render(template, status=status, **context)
    if not page.signed_in and not page.request.cookies.get(csrf.PRESESSION_COOKIE):
        response.set_cookie(
            csrf.PRESESSION_COOKIE,
            page.csrf_token,
            httponly=True,
            samesite="strict",
            secure=page.caller.settings.cookie_secure,
            path="/",
        )
    return response
