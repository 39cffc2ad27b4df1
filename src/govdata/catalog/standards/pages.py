"""Portal pages of the standards registry: data elements and code sets (read-only)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Response

from govdata.catalog import vocab
from govdata.catalog.standards import actions
from govdata.core.errors import GovDataError
from govdata.web.portal import Page, PortalRouter, UserPage
from govdata.web.templating import N_

router = PortalRouter()

PAGE_SIZE = 30
ELEMENT_STATUS_LABELS = {
    "draft": N_("Draft"),
    "current": N_("Current"),
    "retired": N_("Retired"),
}


def _helpers(page: Page) -> dict[str, Any]:
    locale = page.locale

    def vl(kind: str, value: object) -> str:
        return vocab.label(kind, value, locale)

    return {"vl": vl, "element_status": ELEMENT_STATUS_LABELS}


def _query(**params: str) -> str:
    return urlencode({k: v for k, v in params.items() if v})


@router.get("/standards/data-elements")
def data_elements(
    page: UserPage, q: str = "", status: str = "", code_set: str = "", cursor: str = ""
) -> Response:
    error = None
    with page.act() as ctx:
        try:
            result = actions.list_data_elements(
                ctx,
                q=q.strip() or None,
                status=status or None,  # type: ignore[arg-type]
                code_set=code_set or None,
                limit=PAGE_SIZE,
                cursor=cursor or None,
            )
        except GovDataError as exc:
            if exc.status in (401, 403):
                raise
            error = page.message(exc)
            cursor = ""
            result = actions.list_data_elements(ctx, limit=PAGE_SIZE)
    return page.render(
        "standards/data_elements.html",
        result=result,
        q=q,
        filter_status=status,
        code_set=code_set,
        cursor=cursor,
        base_query=_query(q=q, status=status, code_set=code_set),
        error=error,
        **_helpers(page),
    )


@router.get("/standards/code-sets")
def code_sets(page: UserPage, q: str = "", cursor: str = "") -> Response:
    error = None
    with page.act() as ctx:
        try:
            result = actions.list_code_sets(
                ctx, q=q.strip() or None, limit=PAGE_SIZE, cursor=cursor or None
            )
        except GovDataError as exc:
            if exc.status in (401, 403):
                raise
            error = page.message(exc)
            cursor = ""
            result = actions.list_code_sets(ctx, limit=PAGE_SIZE)
    return page.render(
        "standards/code_sets.html",
        result=result,
        q=q,
        cursor=cursor,
        base_query=_query(q=q),
        error=error,
        **_helpers(page),
    )


# Code-set identifiers are standard numbers such as "GB/T 2261.1-2003": the rest of the path.
@router.get("/standards/code-sets/{identifier:path}")
def code_set(page: UserPage, identifier: str) -> Response:
    with page.act() as ctx:
        found = actions.get_code_set(ctx, identifier)
        elements = actions.list_data_elements(ctx, code_set=found.identifier, limit=PAGE_SIZE)
    return page.render(
        "standards/code_set.html", code_set=found, elements=elements, **_helpers(page)
    )
