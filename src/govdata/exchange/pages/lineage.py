"""The lineage page of an entry: source system → lake table (or queried in place) →
deliveries, with the recent OpenLineage run events of its pipelines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Response
from sqlalchemy import select

from govdata.catalog import actions as catalog_actions
from govdata.core.errors import GovDataError
from govdata.exchange import mounts, pipelines
from govdata.exchange.models import LineageEvent
from govdata.exchange.pages.common import context, refusal
from govdata.exchange.vocab import PipelineKind
from govdata.security.context import ActionContext
from govdata.sources import actions as source_actions
from govdata.sources.schemas import SourceOut
from govdata.web.portal import Page, PortalRouter, UserPage

router = PortalRouter()

EVENTS_SHOWN = 30


@dataclass
class Delivery:
    pipeline: Any
    target: SourceOut | None
    table: str


@dataclass
class Event:
    event_type: str
    at: datetime
    run_id: str | None
    job: str
    rows: int | None
    error: str | None
    inputs: list[tuple[str, str]]
    outputs: list[tuple[str, str]]


def _source(page: Page, source_id: str | None) -> SourceOut | None:
    if not source_id:
        return None
    try:
        with page.act() as ctx:
            return source_actions.get_source(ctx, source_id)
    except GovDataError as exc:
        if refusal(exc):
            return None
        raise


def _names(datasets: Any) -> list[tuple[str, str]]:
    """(name, namespace) of each dataset of an event."""
    if not isinstance(datasets, list):
        return []
    return [
        (str(d.get("name", "")), str(d.get("namespace", "")))
        for d in datasets
        if isinstance(d, dict)
    ]


def _event(row: LineageEvent) -> Event:
    payload = row.payload or {}
    rows = None
    for out in payload.get("outputs") or []:
        stats = ((out or {}).get("outputFacets") or {}).get("outputStatistics") or {}
        if "rowCount" in stats:
            rows = int(stats["rowCount"])
    error = ((payload.get("run") or {}).get("facets") or {}).get("errorMessage") or {}
    return Event(
        event_type=row.event_type,
        at=row.event_time,
        run_id=row.run_id,
        job=row.job_name,
        rows=rows,
        error=error.get("message"),
        inputs=_names(payload.get("inputs")),
        outputs=_names(payload.get("outputs")),
    )


def _events(ctx: ActionContext, entry_id: str) -> list[Event]:
    """The entry's newest run events. The caller has already been allowed to see its mount."""
    rows = ctx.session.scalars(
        select(LineageEvent)
        .where(LineageEvent.entry_id == entry_id)
        .order_by(LineageEvent.event_time.desc(), LineageEvent.id.desc())
        .limit(EVENTS_SHOWN)
    )
    return [_event(r) for r in rows]


@router.get("/exchange/lineage/{entry_id}")
def lineage_page(page: UserPage, entry_id: str) -> Response:
    with page.act() as ctx:
        entry = catalog_actions.get_entry(ctx, entry_id)
        mount = mounts.mount_of_entry(ctx, entry.id)
        flows = pipelines.list_pipelines(ctx, mount_id=mount.id, limit=100).items if mount else []
        events = _events(ctx, entry.id) if mount else []
    source = _source(page, mount.source_id if mount else None)
    deliveries = [
        Delivery(
            p,
            _source(page, str(p.options.get("target_source_id") or "")),
            str(p.options.get("target_table") or ""),
        )
        for p in flows
        if p.kind == PipelineKind.RETURN
    ]
    collecting = [p for p in flows if p.kind != PipelineKind.RETURN]
    return page.render(
        "exchange/lineage.html",
        entry=entry,
        mount=mount,
        source=source,
        collecting=collecting,
        deliveries=deliveries,
        events=events,
        **context(page),
    )
