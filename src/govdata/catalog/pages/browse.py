"""The catalog home, the search page with facets, and exporting what a search found."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from starlette.datastructures import QueryParams

from govdata.catalog import actions, bulk, search
from govdata.catalog.pages.common import PAGE_SIZE, context, query, refusal
from govdata.catalog.schemas import FacetValue, SearchResult
from govdata.core.clock import now
from govdata.core.errors import GovDataError
from govdata.core.pagination import MAX_LIMIT
from govdata.security.permissions import Perm
from govdata.web.portal import PortalRouter, UserPage
from govdata.web.templating import N_

router = PortalRouter()

# Facets in the sidebar's order, with their titles.
FACET_TITLES = (
    ("category", N_("Category")),
    ("classification", N_("Classification")),
    ("provider", N_("Provider")),
    ("region", N_("Region")),
    ("share_type", N_("Share type")),
    ("open_type", N_("Open type")),
    ("format", N_("Format")),
    ("update_cycle", N_("Update cycle")),
    ("grade", N_("Grade")),
)
FACET_NAMES = tuple(name for name, _ in FACET_TITLES)
SORTS = (
    # Empty: relevance with a query, most recently updated without one.
    ("", N_("Best match")),
    ("relevance", N_("Relevance")),
    ("updated", N_("Recently updated")),
    ("name", N_("Name")),
    ("code", N_("Resource code")),
)
# Values shown before a facet folds the rest under "more".
FACET_SHOWN = 8
HOME_RECENT = 8
HOME_PROVIDERS = 10
EXPORT_MEDIA = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}


def _selection(params: QueryParams) -> dict[str, Any]:
    """The search as typed in the URL: q, sort and each facet's selected values."""
    chosen: dict[str, Any] = {"q": (params.get("q") or "").strip(), "sort": params.get("sort", "")}
    for name in FACET_NAMES:
        chosen[name] = [v for v in params.getlist(name) if v]
    return chosen


def _params(chosen: dict[str, Any], *, cursor: str | None = None, limit: int = PAGE_SIZE) -> Any:
    return search.make_params(
        q=chosen["q"] or None,
        sort=chosen["sort"] or None,
        cursor=cursor,
        limit=limit,
        **{name: chosen[name] for name in FACET_NAMES},
    )


def _toggled(chosen: dict[str, Any], name: str, value: str) -> str:
    values = list(chosen[name])
    if value in values:
        values.remove(value)
    else:
        values.append(value)
    return "/catalog/search?" + query({**chosen, name: values})


def facet_groups(result: SearchResult, chosen: dict[str, Any]) -> list[dict[str, Any]]:
    groups = []
    for name, title in FACET_TITLES:
        values: list[FacetValue] = result.facets.get(name, [])
        if not values:
            continue
        groups.append(
            {
                "name": name,
                "title": title,
                "values": [
                    {
                        "value": v.value,
                        "label": v.label,
                        "count": v.count,
                        "selected": v.value in chosen[name],
                        "href": _toggled(chosen, name, v.value),
                    }
                    for v in values
                ],
            }
        )
    return groups


@router.get("/catalog")
def home(page: UserPage) -> Response:
    with page.act() as ctx:
        overview = search.search_entries(ctx, search.make_params(status=["published"], limit=1))
        recent = search.search_entries(
            ctx, search.make_params(status=["published"], sort="updated", limit=HOME_RECENT)
        )
        queue = mine = None
        if page.can(Perm.CATALOG_REVIEW):
            queue = actions.review_queue(ctx, limit=1).total
        if page.can(Perm.CATALOG_EDIT) and page.actor.department_id is not None:
            mine = actions.list_department_entries(ctx, limit=1).total
    facets = overview.facets
    share = facets.get("share_type", [])
    return page.render(
        "catalog/home.html",
        total=overview.total,
        categories=facets.get("category", []),
        classes=facets.get("classification", []),
        providers=facets.get("provider", [])[:HOME_PROVIDERS],
        provider_count=len(facets.get("provider", [])),
        shares=share,
        share_chart={"labels": [v.label for v in share], "values": [v.count for v in share]},
        recent=recent.items,
        queue=queue,
        mine=mine,
        **context(page),
    )


@router.get("/catalog/search")
def search_page(page: UserPage) -> Response:
    params = page.request.query_params
    chosen = _selection(params)
    cursor = params.get("cursor") or None
    error = None
    with page.act() as ctx:
        try:
            result = search.search_entries(ctx, _params(chosen, cursor=cursor))
        except GovDataError as exc:
            if refusal(exc):
                raise
            error = page.message(exc)
            chosen = _selection(QueryParams(""))
            cursor = None
            result = search.search_entries(ctx, _params(chosen))
    base = query(chosen)
    # htmx swaps only the results when the form or a facet changes.
    partial = page.request.headers.get("HX-Target") == "search-main"
    return page.render(
        "catalog/_search_main.html" if partial else "catalog/search.html",
        result=result,
        chosen=chosen,
        groups=facet_groups(result, chosen),
        filtered=any(chosen[name] for name in FACET_NAMES),
        sorts=SORTS,
        facet_shown=FACET_SHOWN,
        base_query=base,
        export_query=query({k: v for k, v in chosen.items() if k != "sort"}),
        cursor=cursor,
        error=error,
        **context(page),
    )


@router.get("/catalog/export.{fmt}")
def export(page: UserPage, fmt: str) -> Response:
    """The entries the current search finds, as the import workbook or as JSON."""
    if fmt not in EXPORT_MEDIA:
        return page.render("catalog/export_error.html", status=404, error=None, **context(page))
    chosen = _selection(page.request.query_params)
    try:
        with page.act() as ctx:
            params = _params(chosen, limit=MAX_LIMIT)
            body = bulk.export_xlsx(ctx, params) if fmt == "xlsx" else bulk.export_json(ctx, params)
    except GovDataError as exc:
        if refusal(exc):
            raise
        return page.render(
            "catalog/export_error.html", status=exc.status, error=page.message(exc), **context(page)
        )
    stamp = now().strftime("%Y%m%d-%H%M%S")
    return Response(
        body,
        media_type=EXPORT_MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="catalog-{stamp}.{fmt}"'},
    )
