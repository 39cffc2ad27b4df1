"""Lineage API (under /api/v1/governance): an entry's lineage graph, and its lineage as
OpenLineage run events. ``{entry}`` is an entry id or its resource code (the ``/`` in a
code may stay as it is). Thin shells over ``governance.lineage`` and
``governance.lineage_export``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from govdata.governance import lineage, lineage_export
from govdata.governance.lineage_schemas import LineageGraph
from govdata.web.deps import CallerDep

router = APIRouter(prefix="/governance/lineage", tags=["governance"])


# Declared before the graph: ``{entry:path}`` would otherwise swallow "/openlineage".
@router.get("/{entry:path}/openlineage")
def openlineage(caller: CallerDep, entry: str) -> list[dict[str, Any]]:
    """The entry's lineage as a JSON list of OpenLineage RunEvents (spec 2-0-2), oldest
    first: collection and return-flow runs, quality runs (with ``dataQualityMetrics`` and
    ``dataQualityAssertions`` input facets), base-library builds and subscription
    deliveries. ``quality.read`` or ``exchange.read`` over the provider department."""
    with caller.act() as ctx:
        return lineage_export.openlineage_events(ctx, entry)


@router.get("/{entry:path}", response_model=LineageGraph)
def graph(caller: CallerDep, entry: str) -> LineageGraph:
    """The entry's lineage graph: nodes (source, pipelines, lake table with versions,
    quality runs, tickets, base libraries, grants, subscriptions, return flows) and edges
    with their kinds. ``quality.read`` or ``exchange.read`` over the provider department;
    tickets, grants and subscriptions only where ``sharing.read`` covers one side."""
    with caller.act() as ctx:
        return lineage.entry_lineage(ctx, entry)
