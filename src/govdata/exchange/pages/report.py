"""The collection report page (归集通报): per region and department, with a region filter
and the Excel export of ``exchange/report.py``."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Response

from govdata.exchange import report
from govdata.exchange.pages.common import context
from govdata.identity import actions as identity_actions
from govdata.security.permissions import Perm, Scope
from govdata.web.portal import Page, PortalRouter, UserPage

router = PortalRouter()

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _regions(page: Page) -> list[tuple[str, str]]:
    """The regions whose whole collection the actor may read, for the filter."""
    with page.act() as ctx:
        regions = identity_actions.list_regions(ctx)
    return [(r.code, r.name) for r in regions if page.actor.can(Perm.EXCHANGE_READ, Scope(r.path))]


@router.get("/exchange/report")
def report_page(page: UserPage, region: str = "") -> Response:
    with page.act() as ctx:
        result = report.collection_report(ctx, region_code=region or None)
    locale = page.locale
    side = 1 if locale == "en" else 0
    freshness = {f: 0 for f in report.Freshness}
    for line in result.entries:
        freshness[line.freshness] += 1
    return page.render(
        "exchange/report.html",
        report=result,
        freshness_chart={
            "labels": [report.FRESHNESS_LABELS[f][side] for f in freshness],
            "values": list(freshness.values()),
        },
        rate_chart={
            "labels": [d.name for d in result.departments],
            "values": [round((d.mount_rate or 0) * 100, 1) for d in result.departments],
        },
        region=region,
        regions=_regions(page),
        freshness_label=lambda f: report.FRESHNESS_LABELS[report.Freshness(f)][
            1 if locale == "en" else 0
        ],
        **context(page),
    )


@router.get("/exchange/report.xlsx")
def report_export(page: UserPage, region: str = "") -> Response:
    with page.act() as ctx:
        body = report.export_collection_report(ctx, region_code=region or None)
    name = f"归集通报{('-' + region) if region else ''}.xlsx"
    return Response(
        body,
        media_type=XLSX,
        headers={
            "Content-Disposition": f'attachment; filename="collection-report.xlsx"; '
            f"filename*=UTF-8''{quote(name)}"
        },
    )
