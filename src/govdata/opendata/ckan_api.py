"""The CKAN-compatible Action API: ``/api/3/action/<name>`` and ``/api/action/<name>``.

A thin shell: parameters from the query string (GET), a JSON body or a form (POST), the
caller from ``grants.identify`` (an API key in ``Authorization`` or ``X-CKAN-API-Key``),
the action from ``ckan.actions()``, and CKAN's envelope around the answer — including its
error types and HTTP statuses, which CKAN clients (ckanapi, harvesters) branch on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from govdata.core.errors import GovDataError, InvalidInput, NotAuthenticated, NotFound
from govdata.core.errors import PermissionDenied as Denied
from govdata.core.i18n import current_locale
from govdata.opendata import grants
from govdata.opendata.ckan import CkanCall, CkanSearchError, CkanValidation, actions
from govdata.security.context import Caller
from govdata.web.deps import client_addr, get_db, get_settings

router = APIRouter(tags=["ckan"])
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _help(request: Request, name: str) -> str:
    return f"{_base(request)}/api/3/action/help_show?name={name}"


def _reply(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


def _error_body(exc: GovDataError, locale: str) -> tuple[int, dict[str, Any]]:
    """CKAN's error type, message and HTTP status for one of the platform's errors."""
    message = exc.message(locale)
    if isinstance(exc, CkanSearchError) or (
        isinstance(exc, InvalidInput) and exc.code.startswith("opendata_search")
    ):
        return 400, {"__type": "Search Query Error", "message": f"Search error: {message}"}
    if isinstance(exc, CkanValidation):
        return 409, {"__type": "Validation Error", "message": message, **(exc.details or {})}
    if isinstance(exc, InvalidInput):
        detail = exc.details if isinstance(exc.details, dict) else {}
        return 409, {"__type": "Validation Error", "message": message, **detail}
    if isinstance(exc, NotFound):
        # The same words for a dataset that never existed and one that is not public.
        text = "Not found" if exc.code != "ckan_not_found" else f"Not found: {exc.message_en}"
        return 404, {"__type": "Not Found Error", "message": text}
    if isinstance(exc, Denied | NotAuthenticated):
        return 403, {"__type": "Authorization Error", "message": f"Access denied: {message}"}
    if exc.status == 429:
        return 429, {"__type": "Authorization Error", "message": message, "code": exc.code}
    return exc.status, {"__type": "Internal Server Error", "message": message}


async def _params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key in params:
            prev = params[key]
            params[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            params[key] = value
    if request.method != "POST":
        return params
    body = await request.body()
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if body.strip().startswith(b"{") or ctype == "application/json":
        if not body.strip():
            return params
        try:
            data = json.loads(body)
        except ValueError:
            raise InvalidInput(
                "请求体不是合法的 JSON", "JSON Error: the body is not valid JSON", code="ckan_json"
            ) from None
        if not isinstance(data, dict):
            raise InvalidInput(
                "请求体须为 JSON 对象",
                "JSON Error: Request data JSON decoded to a non-dictionary",
                code="ckan_json",
            )
        return params | data
    if ctype in _FORM_TYPES:
        form = await request.form()
        return params | {k: v for k, v in form.items() if isinstance(v, str)}
    return params


def _run(
    request: Request, action: Callable[[CkanCall], Any], params: dict[str, Any], locale: str
) -> Any:
    who = grants.identify(request)
    caller = Caller(get_db(request), get_settings(request), who.actor, client_addr(request))
    call = CkanCall(
        caller=caller,
        who=who,
        params=params,
        base=_base(request),
        locale=locale,
        query_string=request.url.query,
    )
    return action(call)


async def _call(request: Request, name: str) -> JSONResponse:
    help_url = _help(request, name)
    action = actions().get(name)
    if action is None:
        return _reply(
            400,
            {
                "help": help_url,
                "success": False,
                "error": {
                    "__type": "Bad Request",
                    "message": f"Bad request - Action name not known: {name}",
                },
            },
        )
    locale = current_locale()
    try:
        params = await _params(request)
        # Identifying a key reads the store: off the event loop, like the action itself.
        result = await run_in_threadpool(_run, request, action, params, locale)
    except GovDataError as exc:
        if isinstance(exc, InvalidInput) and exc.code == "ckan_json":
            return _reply(
                400,
                {
                    "help": help_url,
                    "success": False,
                    "error": {"__type": "Bad Request", "message": exc.message_en},
                },
            )
        status, error = _error_body(exc, locale)
        headers = None
        retry = exc.details.get("retry_after") if isinstance(exc.details, dict) else None
        if status == 429 and retry is not None:
            headers = {"Retry-After": str(int(retry))}
        return _reply(status, {"help": help_url, "success": False, "error": error}, headers)
    return _reply(200, {"help": help_url, "success": True, "result": result})


async def action(request: Request, name: str) -> JSONResponse:
    """A CKAN action by name: GET with query parameters, POST with a JSON or form body."""
    return await _call(request, name)


# CKAN serves its actions under both prefixes; each path and method gets its own operation
# id, which the OpenAPI document needs unique.
for _prefix, _tag in (("/api/3/action", "v3"), ("/api/action", "plain")):
    for _method in ("GET", "POST"):
        router.add_api_route(
            f"{_prefix}/{{name}}",
            action,
            methods=[_method],
            operation_id=f"ckan_action_{_tag}_{_method.lower()}",
            response_class=JSONResponse,
        )
