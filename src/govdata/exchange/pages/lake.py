"""Lake table pages: the tables with their entry, version, rows and size; one table's
versions and a capped preview of its rows (``data.preview`` only, audited)."""

from __future__ import annotations

from fastapi import Response

from govdata.catalog import actions as catalog_actions
from govdata.catalog.schemas import EntryOut
from govdata.core.errors import GovDataError
from govdata.exchange import logical
from govdata.exchange.pages.common import PREVIEW_ROWS, context, department_can, refusal
from govdata.security.permissions import Perm
from govdata.web.portal import Page, PortalRouter, UserPage

router = PortalRouter()


def _entries(page: Page, ids: set[str]) -> dict[str, EntryOut]:
    found = {}
    for entry_id in ids:
        try:
            with page.act() as ctx:
                found[entry_id] = catalog_actions.get_entry(ctx, entry_id)
        except GovDataError as exc:
            if not refusal(exc):
                raise
    return found


@router.get("/exchange/lake")
def lake_page(page: UserPage) -> Response:
    with page.act() as ctx:
        tables = logical.list_lake_tables(ctx)
    entries = _entries(page, {t.entry_id for t in tables if t.entry_id})
    return page.render("exchange/lake.html", tables=tables, entries=entries, **context(page))


@router.get("/exchange/lake/{name}")
def lake_table_page(page: UserPage, name: str) -> Response:
    with page.act() as ctx:
        versions = logical.lake_table_versions(ctx, name, limit=100)
        table = next((t for t in logical.list_lake_tables(ctx) if t.name == name), None)
    entry = None
    if table is not None and table.entry_id:
        entry = _entries(page, {table.entry_id}).get(table.entry_id)
    preview = entry is not None and department_can(page, Perm.DATA_PREVIEW, entry.provider.id)
    return page.render(
        "exchange/lake_table.html",
        name=name,
        table=table,
        entry=entry,
        versions=versions,
        preview=preview,
        **context(page),
    )


@router.get("/exchange/lake/{name}/rows")
def lake_rows(page: UserPage, name: str, version: int | None = None) -> Response:
    error = None
    rows = None
    try:
        with page.act() as ctx:
            rows = logical.rows_out(
                logical.read_lake_table(ctx, name, version=version, limit=PREVIEW_ROWS)
            )
    except GovDataError as exc:
        if refusal(exc):
            raise
        error = page.message(exc)
    return page.render("exchange/_rows.html", rows=rows, error=error)
