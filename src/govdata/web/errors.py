"""Turns every error into the envelope ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from govdata.core.errors import GovDataError, NotFound
from govdata.core.i18n import current_locale
from govdata.web import portal
from govdata.web.middleware import BodyTooLarge, RequestTooLarge, security_headers

log = logging.getLogger(__name__)

_HTTP_MESSAGES: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "请求格式错误", "Bad request"),
    401: ("not_authenticated", "请先登录", "Authentication required"),
    403: ("permission_denied", "无权执行此操作", "Permission denied"),
    404: ("not_found", "请求的资源不存在", "Not found"),
    405: ("method_not_allowed", "不支持该请求方法", "Method not allowed"),
}


def request_locale(request: Request) -> str:
    """The signed-in user's language when known, else the cookie's (set by the middleware)."""
    return getattr(request.state, "locale", None) or current_locale()


def envelope(code: str, zh: str, en: str, locale: str, details: Any = None) -> dict[str, Any]:
    message = en if locale == "en" else zh
    return {"error": {"code": code, "message": message, "details": details}}


def _wants_page(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {
            "loc": [str(p) for p in err.get("loc", ())],
            "msg": err.get("msg"),
            "type": err.get("type"),
        }
        for err in exc.errors()
    ]


def install(app: FastAPI) -> None:
    @app.exception_handler(GovDataError)
    async def _domain(request: Request, exc: GovDataError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        retry = exc.details.get("retry_after") if isinstance(exc.details, dict) else None
        if exc.status == 429 and retry is not None:
            headers = {"Retry-After": str(retry)}
        return JSONResponse(
            exc.to_dict(request_locale(request)), status_code=exc.status, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        body = envelope(
            "invalid_input",
            "输入数据不合法",
            "Invalid input",
            request_locale(request),
            _validation_details(exc),
        )
        return JSONResponse(body, status_code=422)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, exc: BodyTooLarge) -> Response:
        error = RequestTooLarge(exc.limit)
        if _wants_page(request):
            return await run_in_threadpool(portal.error_page, request, error)
        return JSONResponse(error.to_dict(request_locale(request)), status_code=error.status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and _wants_page(request):
            # A person following a bad link gets the portal's page, not JSON.
            return await run_in_threadpool(portal.error_page, request, NotFound())
        code, zh, en = _HTTP_MESSAGES.get(
            exc.status_code, ("http_error", str(exc.detail), str(exc.detail))
        )
        return JSONResponse(
            envelope(code, zh, en, request_locale(request)),
            status_code=exc.status_code,
            headers=exc.headers,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        body = envelope("internal_error", "系统内部错误", "Internal error", request_locale(request))
        # This handler answers outside the middleware stack: add its headers here.
        headers = security_headers(request.app.state.settings, request.url.path)
        return JSONResponse(body, 500, headers=headers)
