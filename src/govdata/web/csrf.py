"""CSRF protection for the portal's state-changing requests.

Signed-in forms and htmx requests carry the session's own token (hidden field
``csrf_token`` or header ``X-CSRF-Token``), which only the server and pages it
rendered know. Before there is a session (the login and language forms of an
anonymous visitor) the token is a double-submit cookie: a cross-site page can
make the browser send the cookie but cannot read it to copy it into the form.
Bearer-token API calls need no token: they carry no ambient cookie. An API call
that is authenticated by the portal's session cookie instead is held to the
session's token in the ``X-CSRF-Token`` header (``web.deps``).

A portal route that changes state cannot forget the check: ``PortalRoute``
refuses, when the route is declared, an unsafe method without a dependency
marked by ``checks_token`` (``UserForm``, ``AnyForm``).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.dependencies.models import Dependant
from starlette.datastructures import FormData

from govdata.core.errors import GovDataError

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
PRESESSION_COOKIE = "govdata_login_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_MARK = "__govdata_checks_csrf__"
F = TypeVar("F", bound=Callable[..., Any])


class CsrfFailure(GovDataError):
    code = "csrf_failed"
    status = 403
    message_zh = "请求校验失败，请刷新页面后重试"
    message_en = "The request could not be verified; reload the page and try again"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def submitted_token(request: Request, form: FormData | None) -> str:
    header = request.headers.get(HEADER)
    if header:
        return header
    value = form.get(FIELD) if form is not None else None
    return value if isinstance(value, str) else ""


def tokens_match(expected: str | None, submitted: str) -> bool:
    if not expected or not submitted:
        return False
    return hmac.compare_digest(expected.encode(), submitted.encode())


def check(expected: str | None, request: Request, form: FormData | None) -> None:
    """Raise CsrfFailure unless the request carries ``expected``."""
    if not tokens_match(expected, submitted_token(request, form)):
        raise CsrfFailure()


def check_presession(request: Request, form: FormData | None) -> None:
    check(request.cookies.get(PRESESSION_COOKIE), request, form)


def checks_token(dependency: F) -> F:
    """Mark a dependency that calls ``check`` before the route runs."""
    setattr(dependency, _MARK, True)
    return dependency


def _checked(dependant: Dependant) -> bool:
    if getattr(dependant.call, _MARK, False):
        return True
    return any(_checked(d) for d in dependant.dependencies)


def require_check(path: str, methods: set[str] | None, dependant: Dependant) -> None:
    """Refuse a state-changing portal route that does not check the token."""
    unsafe = set(methods or ()) - SAFE_METHODS
    if unsafe and not _checked(dependant):
        raise TypeError(
            f"portal route {sorted(unsafe)} {path} changes state without a CSRF check: "
            "take UserForm or AnyForm (govdata.web.portal)"
        )
