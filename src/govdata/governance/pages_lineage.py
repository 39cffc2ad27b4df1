"""The lineage page of an entry (血缘视图): a layered graph drawn with ECharts from the same
``LineageGraph`` the API returns, and the same nodes and relations as tables (for screen
readers and for printing). Thin shell over ``governance.lineage``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Response

from govdata.catalog.access import entry_scope
from govdata.catalog.models import CatalogEntry
from govdata.governance import lineage
from govdata.governance.lineage_schemas import LineageGraph, NodeKind, kind_label
from govdata.security.permissions import Perm
from govdata.web.portal import PortalRouter, UserPage

router = PortalRouter()

# Layout of the drawing: distance between layers and between nodes of a layer (pixels).
LAYER_GAP = 240
ROW_GAP = 80

TONE_BADGE = {"ok": "green", "warn": "amber", "bad": "red", "neutral": "gray"}


def chart_data(graph: LineageGraph, locale: str) -> dict[str, Any]:
    """Nodes at their layer and row (each layer centred on the anchor's row), the links, and
    the node kinds as categories: what ``static/js/lineage.js`` draws."""
    sizes: dict[int, int] = {}
    for n in graph.nodes:
        sizes[n.layer] = max(sizes.get(n.layer, 0), n.order + 1)
    kinds = [k.value for k in NodeKind]
    return {
        "categories": [{"name": kind_label(k, locale)} for k in kinds],
        "nodes": [
            {
                "id": n.id,
                "name": n.label,
                "sublabel": n.sublabel or "",
                "kind": kind_label(n.kind, locale),
                "category": kinds.index(n.kind.value),
                "tone": n.tone,
                "href": n.href,
                "anchor": n.id == graph.anchor,
                "x": n.layer * LAYER_GAP,
                "y": (n.order - (sizes[n.layer] - 1) / 2) * ROW_GAP,
            }
            for n in graph.nodes
        ],
        "links": [{"source": e.source, "target": e.target, "label": e.label} for e in graph.edges],
    }


@router.get("/governance/lineage/{entry_id}")
def lineage_page(page: UserPage, entry_id: str) -> Response:
    with page.act() as ctx:
        graph = lineage.entry_lineage(ctx, entry_id)
        entry = ctx.session.get(CatalogEntry, graph.entry_id)
        scope = entry_scope(entry) if entry else None
        may_exchange = ctx.actor.can(Perm.EXCHANGE_READ, scope)
        may_quality = ctx.actor.can(Perm.QUALITY_READ, scope)
    names = {n.id: n for n in graph.nodes}
    anchor = names[graph.anchor]
    tallest = max((n.order + 1 for n in graph.nodes), default=1)
    return page.render(
        "governance/lineage.html",
        graph=graph,
        chart=chart_data(graph, page.locale),
        chart_height=max(320, tallest * ROW_GAP + 120),
        names=names,
        versions=[
            dict(v, at=datetime.fromisoformat(v["at"]) if v.get("at") else None)
            for v in anchor.details.get("versions") or []
        ],
        may_exchange=may_exchange,
        may_quality=may_quality,
        kind_label=lambda k: kind_label(str(k), page.locale),
        badge=lambda tone: TONE_BADGE.get(str(tone), "gray"),
    )
