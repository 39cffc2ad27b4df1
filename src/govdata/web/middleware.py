"""Per-request locale, security headers on every response, and the request body limit.

One pure ASGI middleware, so static files, redirects and error responses pass
through it like pages do (see docs/security/hardening.md).
"""

from __future__ import annotations

import re

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from govdata.config import Settings
from govdata.core.errors import GovDataError
from govdata.core.i18n import set_locale

LOCALE_COOKIE = "govdata_locale"
MB = 1024 * 1024
# Multipart framing around an uploaded file: boundaries, part headers and the CSRF field.
UPLOAD_OVERHEAD = MB
# Routes that take a file-source upload: the source's own limit applies there instead
# (sources.actions.upload_file reports a file over it as 422 source_file_too_large).
UPLOAD_PATH = re.compile(r"^(/api/v1/sources/[^/]+/files|/sources/[^/]+/upload)$")

_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "Permissions-Policy": (
        "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
        "microphone=(), payment=(), usb=()"
    ),
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# Only announced over HTTPS: browsers ignore it on plain HTTP, and a loopback demo has no TLS.
HSTS = "max-age=31536000; includeSubDomains"


def security_headers(settings: Settings, path: str) -> dict[str, str]:
    """The headers every response carries; also used by the last-resort 500 handler."""
    headers = dict(_SECURITY_HEADERS)
    if settings.cookie_secure:
        headers["Strict-Transport-Security"] = HSTS
    if not path.startswith("/static/"):
        # Pages and API answers may hold personal or restricted data: no copy in any cache.
        headers["Cache-Control"] = "no-store"
    return headers


def body_limit(settings: Settings, path: str) -> int:
    limit = settings.max_request_mb * MB
    if UPLOAD_PATH.match(path):
        limit = max(limit, settings.source_upload_max_mb * MB + UPLOAD_OVERHEAD)
    return limit


class RequestTooLarge(GovDataError):
    code = "request_too_large"
    status = 413

    def __init__(self, limit: int) -> None:
        mb = limit // MB
        super().__init__(
            f"请求内容超过 {mb} MB 的上限",
            f"The request body is larger than the {mb} MB limit",
            details={"limit_mb": mb},
        )


class BodyTooLarge(HTTPException):
    """Raised while the body streams in. An HTTPException, because FastAPI passes those
    through its body parsing untouched; the handler below answers as RequestTooLarge."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413)
        self.limit = limit


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The signed-in user's own preference replaces this once the caller is known.
        set_locale(HTTPConnection(scope).cookies.get(LOCALE_COOKIE) or self.settings.default_locale)
        path: str = scope["path"]
        extra = security_headers(self.settings, path)
        limit = body_limit(self.settings, path)
        declared = _content_length(scope)
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            # A declared length over the limit is refused before a byte is read; a missing
            # or false one is caught by counting what actually arrives.
            if declared is not None and declared > limit:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive_within_limit, send_with_headers)


def _content_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def install(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(SecurityMiddleware, settings=settings)
