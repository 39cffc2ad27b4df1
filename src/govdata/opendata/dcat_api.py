"""The DCAT-AP export where harvesters look for it, at the node's root (no /api prefix):
``/catalog.ttl|.jsonld|.rdf`` (paged, ``modified_since``), ``/dataset/{id}.ttl|.jsonld|.rdf``,
and ``/catalog`` and ``/dataset/{id}`` by content negotiation. Anonymous; thin shells over
``opendata.dcat``.

``/catalog`` is also the government portal's catalog page: this route only matches a
request whose ``Accept`` prefers RDF, so browsers still reach the page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from govdata.core.errors import GovDataError, NotFound
from govdata.opendata import access, dcat, grants
from govdata.security.context import Caller
from govdata.security.context_types import ANONYMOUS
from govdata.web.deps import client_addr, get_db, get_settings


class _RdfOnly(APIRoute):
    """A route that steps aside (so later routes match) unless the client asks for RDF."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is Match.NONE:
            return match, child
        accept = dict(scope.get("headers") or []).get(b"accept", b"").decode("latin-1")
        return (match, child) if dcat.negotiate(accept) else (Match.NONE, {})


router = APIRouter(tags=["opendata-dcat"])
rdf_router = APIRouter(route_class=_RdfOnly)

# Read by hand (a bad value is a 400 with the platform's error body, not FastAPI's 422),
# so they are described to OpenAPI here.
_PARAMS: dict[str, Any] = {
    "parameters": [
        {
            "name": "page",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": dcat.MAX_PAGE, "default": 1},
        },
        {
            "name": "page_size",
            "in": "query",
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": dcat.MAX_PAGE_SIZE,
                "default": dcat.DEFAULT_PAGE_SIZE,
            },
        },
        {
            "name": "modified_since",
            "in": "query",
            "description": "ISO 8601 date or date-time; without an offset, Beijing time",
            "schema": {"type": "string"},
        },
    ]
}


def _caller(request: Request) -> Caller:
    # The export shows only public metadata, the same to everyone: who asked matters for
    # the audit trail alone, so a key that does not check out is read as anonymous.
    try:
        actor = grants.identify(request).actor
    except GovDataError:
        actor = ANONYMOUS
    return Caller(get_db(request), get_settings(request), actor, client_addr(request))


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _rdf(body: bytes, fmt: dcat.Format, *, negotiated: bool) -> Response:
    headers = {"Vary": "Accept"} if negotiated else {}
    return Response(body, media_type=dcat.CONTENT_TYPES[fmt], headers=headers)


def _catalog(request: Request, fmt: dcat.Format, path: str, *, negotiated: bool) -> Response:
    q = request.query_params
    query = dcat.parse_query(q.get("page"), q.get("page_size"), q.get("modified_since"))
    with _caller(request).act() as ctx:
        page = dcat.export_catalog(ctx, fmt, query)
    graph = dcat.catalog_graph(page, _base(request), path)
    return _rdf(dcat.serialize(graph, fmt), fmt, negotiated=negotiated)


@router.get("/catalog.{fmt}", openapi_extra=_PARAMS)
def catalog_file(request: Request, fmt: str) -> Response:
    """One page of the DCAT-AP 3 catalog as Turtle (.ttl), JSON-LD (.jsonld) or RDF/XML (.rdf)."""
    if fmt not in dcat.CONTENT_TYPES:
        raise NotFound(code="not_found")
    return _catalog(request, fmt, f"/catalog.{fmt}", negotiated=False)  # type: ignore[arg-type]


@rdf_router.get("/catalog", openapi_extra=_PARAMS)
def catalog_negotiated(request: Request) -> Response:
    """The catalog in the RDF format the ``Accept`` header prefers."""
    fmt = dcat.negotiate(request.headers.get("accept", "")) or "ttl"
    return _catalog(request, fmt, "/catalog", negotiated=True)


@router.get("/dataset/{ref:path}")
def dataset_rdf(request: Request, ref: str) -> Response:
    """One open dataset in DCAT-AP: ``/dataset/{ref}.ttl|.jsonld|.rdf`` (its id, name or
    resource code), or ``/dataset/{ref}`` by content negotiation (a browser is sent on to the
    dataset's page)."""
    stem, dot, ext = ref.rpartition(".")
    fmt: dcat.Format | None
    if dot and ext in dcat.CONTENT_TYPES:
        ref, fmt, negotiated = stem, ext, False  # type: ignore[assignment]
    else:
        fmt, negotiated = dcat.negotiate(request.headers.get("accept", "")), True
    with _caller(request).act() as ctx:
        if fmt is None:
            ds, _entry = access.public_dataset(ctx.session, ref)
            return RedirectResponse(dcat.landing_path(ds.name), status_code=303)
        record = dcat.export_dataset(ctx, ref, fmt)
    graph = dcat.dataset_graph(record, _base(request))
    return _rdf(dcat.serialize(graph, fmt), fmt, negotiated=negotiated)


router.include_router(rdf_router)
