"""Open-data files and the preview on the public portal: thin shells over ``downloads`` and
``preview``.

These routes take no portal caller: a CKAN-style API key in ``Authorization`` is not a
government token, so the reader is found by ``grants.identify`` alone. Refusals answer as
a public page for browsers and as the API's JSON envelope for programs.
"""

from __future__ import annotations

import os
from typing import Annotated
from urllib.parse import quote

from fastapi import Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from govdata.core import i18n
from govdata.core.errors import GovDataError
from govdata.opendata import downloads, grants
from govdata.opendata import preview as previews
from govdata.opendata.public_web import render
from govdata.security.context import Caller
from govdata.web.deps import client_addr, get_db, get_settings
from govdata.web.middleware import LOCALE_COOKIE
from govdata.web.portal import Page, PortalRouter

router = PortalRouter()


def _page(request: Request, who: grants.PublicIdentity) -> Page:
    caller = Caller(get_db(request), get_settings(request), who.actor, client_addr(request))
    page = Page(request, caller)
    request.state.portal_page = page
    return page


def _locale(request: Request) -> str:
    return i18n.normalize(
        request.cookies.get(LOCALE_COOKIE) or get_settings(request).default_locale
    )


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _refusal(request: Request, error: GovDataError, *, fragment: bool = False) -> Response:
    response: Response
    if _wants_json(request) or request.query_params.get("format") == "json":
        response = JSONResponse(error.to_dict(_locale(request)), status_code=error.status)
    else:
        page = _page(request, grants.ANONYMOUS_IDENTITY)
        template = "opendata/_preview.html" if fragment else "opendata/files_error.html"
        response = render(page, template, status=error.status, error=error, preview=None)
    retry = error.details.get("retry_after") if isinstance(error.details, dict) else None
    if error.status == 429 and retry is not None:
        # Over a quota: tell the client when to come back, as the API does.
        response.headers["Retry-After"] = str(int(retry))
    return response


def _disposition(file: downloads.DownloadFile) -> str:
    # RFC 6266/5987: an ASCII name for old clients, the title in UTF-8 for the rest.
    return (
        f"attachment; filename=\"{file.ascii_filename}\"; filename*=UTF-8''{quote(file.filename)}"
    )


@router.get("/open/datasets/{name}/download.{fmt}")
def download(
    request: Request,
    name: str,
    fmt: str,
    version: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    """A file of the dataset's open fields as of its current (or ``version``) lake version."""
    db, settings = get_db(request), get_settings(request)
    try:
        who = grants.identify(request)
        file = downloads.download(
            db,
            settings,
            who,
            name,
            fmt,
            version=version,
            client_addr=client_addr(request),
            if_none_match=request.headers.get("if-none-match"),
        )
        if file.not_modified:
            return Response(status_code=304, headers={"ETag": file.etag})
        if not file.path.exists():
            # Pruned by a newer version's download between making and sending: make it
            # again, without counting the download twice.
            file = downloads.download(
                db, settings, who, name, fmt, version=file.version, count=False
            )
    except GovDataError as exc:
        return _refusal(request, exc)
    headers = {
        "Content-Disposition": _disposition(file),
        "ETag": file.etag,
        # Conditional data must not sit in shared caches; the ETag lets a browser revalidate.
        "Cache-Control": "private, no-cache",
        "X-Lake-Version": str(file.version),
        "X-Row-Count": str(file.rows),
    }
    return FileResponse(os.fspath(file.path), media_type=file.media_type, headers=headers)


@router.get("/open/datasets/{name}/preview")
def preview(
    request: Request,
    name: str,
    format: Annotated[str | None, Query(pattern="^(html|json)$")] = None,
    rows: Annotated[int, Query(ge=1, le=100)] = previews.PREVIEW_ROWS,
) -> Response:
    """The first rows of the open fields: an HTML fragment (htmx) or ``?format=json``."""
    db, settings = get_db(request), get_settings(request)
    as_json = format == "json"
    try:
        who = grants.identify(request)
        out = previews.preview(
            db, settings, who, name, limit=rows, client_addr=client_addr(request), strict=as_json
        )
    except GovDataError as exc:
        fragment = _preview_template(request, format) == "opendata/_preview.html"
        return _refusal(request, exc, fragment=fragment and not as_json)
    if as_json:
        return JSONResponse(out.as_json())
    page = _page(request, who)
    return render(page, _preview_template(request, format), preview=out, error=None)


def _preview_template(request: Request, format: str | None) -> str:
    # htmx (the dataset page) and ``?format=html`` get the fragment; a visitor following
    # the no-JavaScript link gets it inside a page.
    fragment = request.headers.get("HX-Request") or format == "html"
    return "opendata/_preview.html" if fragment else "opendata/preview_page.html"
