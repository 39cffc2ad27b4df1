"""The lineage graph of one catalog entry (血缘): where its data comes from, what checked it,
what was reported against it, what was derived from it and who receives it.

Nodes (``NodeKind``) and the edges between them (``EdgeKind``)::

    source ──reads──▶ pipeline ──writes──▶ lake table ──checks──▶ quality run ──opens──▶ ticket
    (logical mount: source ──queries──▶ entry)      │ ──reports──▶ ticket (objections)
    other entries' lake tables ──feeds──▶ (library) │ ──feeds──▶ base library
                                                    │ ──grants──▶ grant ──delivers──▶ subscription
                                                    └ ──returns──▶ return flow (回流)

The lake table (or, for a logically accessed or unmounted entry, the entry itself) is the
graph's anchor. Collection lineage comes from the mount and its pipelines (the OpenLineage
run events the pipelines store are exported by ``lineage_export``); versions of the lake
table from its Delta log; quality runs and tickets from governance; grants, subscriptions
and return flows from sharing and exchange.

Who sees what: the graph needs ``quality.read`` or ``exchange.read`` over the entry's
provider department. Quality runs need ``quality.read`` there; tickets, grants and
subscriptions are shown only where the actor's ``sharing.read`` covers one of their two
sides (the same rule their own pages apply). No row of data appears anywhere: no sample
rows, no values, only names, counts, states and versions.

Nodes carry a ``layer`` (column, left to right) and an ``order`` inside it: the page draws
them where they say (a layered, dagre-like layout) and lists them as a table too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from govdata.catalog.access import entry_scope
from govdata.catalog.models import CatalogEntry
from govdata.core.clock import local
from govdata.core.errors import NotFound
from govdata.exchange.models import Mount, Pipeline, PipelineRun
from govdata.exchange.vocab import (
    PIPELINE_LABELS,
    RUN_LABELS,
    MountMode,
    PipelineKind,
    RunStatus,
)
from govdata.governance import baselib_links
from govdata.governance.lineage_schemas import (
    LAYERS,
    EdgeKind,
    LineageEdge,
    LineageGraph,
    LineageNode,
    NodeKind,
    kind_label,
)
from govdata.governance.models import Ticket
from govdata.governance.quality_models import QualityResult, QualityRun
from govdata.governance.quality_rules import find_entry
from govdata.governance.vocab import status_label
from govdata.identity import queries as org
from govdata.lake.tables import Lake
from govdata.security.context import ActionContext
from govdata.security.context_types import Actor
from govdata.security.permissions import Perm, Scope
from govdata.security.scopes import scope_clause
from govdata.sharing.grants import status_of
from govdata.sharing.models import Grant, Subscription
from govdata.sharing.vocab import label as sharing_label
from govdata.sources.registry import source_facts

# How much of each kind the graph shows (newest first); the export has its own limits.
QUALITY_RUNS_SHOWN = 5
TICKETS_SHOWN = 20
GRANTS_SHOWN = 20
VERSIONS_SHOWN = 10


# -- who may see --------------------------------------------------------------------------------


def may_see_graph(actor: Actor, scope: Scope) -> bool:
    return actor.can(Perm.QUALITY_READ, scope) or actor.can(Perm.EXCHANGE_READ, scope)


def load_entry(ctx: ActionContext, ref: str) -> CatalogEntry:
    """The entry (id or resource code) whose lineage the actor may see: ``quality.read`` or
    ``exchange.read`` over its provider department. 403 for an actor who holds neither
    anywhere, 404 for an entry outside the actor's scope."""
    entry = find_entry(ctx.session, ref)
    if entry is None or not may_see_graph(ctx.actor, entry_scope(entry)):
        if not (ctx.actor.can(Perm.QUALITY_READ) or ctx.actor.can(Perm.EXCHANGE_READ)):
            ctx.require(Perm.QUALITY_READ)
        raise NotFound(
            "目录不存在或无权查看",
            "Catalog entry not found",
            code="entry_not_found",
            details={"ref": ref},
        )
    scope = entry_scope(entry)
    perm = Perm.QUALITY_READ if ctx.actor.can(Perm.QUALITY_READ, scope) else Perm.EXCHANGE_READ
    ctx.require(perm, scope, target_id=entry.id)
    return entry


def sharing_clause(actor: Actor, model: type[Grant] | type[Ticket]) -> Any:
    """Rows whose consumer/reporter side or provider side the actor's ``sharing.read``
    covers (the rule of the sharing and ticket pages)."""
    if model is Grant:
        return or_(
            scope_clause(
                actor, Perm.SHARING_READ, Grant.consumer_department_id, Grant.consumer_region_path
            ),
            scope_clause(
                actor, Perm.SHARING_READ, Grant.provider_department_id, Grant.provider_region_path
            ),
        )
    return or_(
        scope_clause(
            actor, Perm.SHARING_READ, Ticket.provider_department_id, Ticket.provider_region_path
        ),
        scope_clause(
            actor, Perm.SHARING_READ, Ticket.reporter_department_id, Ticket.reporter_region_path
        ),
    )


def visible_grants(ctx: ActionContext, entry_id: str, limit: int = GRANTS_SHOWN) -> list[Grant]:
    if not ctx.actor.can(Perm.SHARING_READ):
        return []
    return list(
        ctx.session.scalars(
            select(Grant)
            .where(Grant.entry_id == entry_id, sharing_clause(ctx.actor, Grant))
            .order_by(Grant.created_at.desc(), Grant.id.desc())
            .limit(limit)
        )
    )


def subscriptions_of(s: Session, grant_ids: Iterable[str]) -> list[Subscription]:
    ids = list(grant_ids)
    if not ids:
        return []
    return list(
        s.scalars(
            select(Subscription)
            .where(Subscription.grant_id.in_(ids))
            .order_by(Subscription.created_at, Subscription.id)
        )
    )


def mount_of(s: Session, entry_id: str) -> Mount | None:
    return s.scalars(select(Mount).where(Mount.entry_id == entry_id)).first()


def lake_dataset_namespace(ctx: ActionContext) -> str:
    """The OpenLineage namespace of this node's lake tables (as the pipelines record it)."""
    return f"file://{ctx.settings.lake_dir.resolve()}"


# -- building -------------------------------------------------------------------------------------


@dataclass
class _Builder:
    locale: str
    nodes: dict[str, LineageNode] = field(default_factory=dict)
    edges: list[LineageEdge] = field(default_factory=list)

    def node(self, node_id: str, kind: NodeKind, label: str, **kw: Any) -> str:
        if node_id not in self.nodes:
            self.nodes[node_id] = LineageNode(
                id=node_id, kind=kind, label=label, layer=LAYERS[kind], **kw
            )
        return node_id

    def edge(self, source: str, target: str, kind: EdgeKind, label: str | None = None) -> None:
        self.edges.append(
            LineageEdge(
                source=source,
                target=target,
                kind=kind,
                label=label if label is not None else kind_label(kind, self.locale),
            )
        )

    def laid_out(self) -> list[LineageNode]:
        """Nodes in layer order, each numbered inside its layer in the order it was added."""
        counts: dict[int, int] = {}
        out = []
        for n in self.nodes.values():
            n.order = counts.get(n.layer, 0)
            counts[n.layer] = n.order + 1
            out.append(n)
        return sorted(out, key=lambda n: (n.layer, n.order))


def _pick(locale: str, pair: tuple[str, str] | None, default: str) -> str:
    if pair is None:
        return default
    return pair[1] if locale.startswith("en") else pair[0]


def _iso(at: datetime | None) -> str | None:
    if at is None:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.isoformat()


def _run_tone(status: str | None) -> str:
    return {"succeeded": "ok", "failed": "bad", "running": "warn", "queued": "warn"}.get(
        str(status), "neutral"
    )


def _versions(ctx: ActionContext, table: str) -> list[dict[str, Any]]:
    """The lake table's newest commits: version, time, operation and rows written."""
    lake = Lake.from_settings(ctx.settings)
    if not lake.exists(table):
        return []
    out = []
    for commit in lake.history(table, VERSIONS_SHOWN):
        metrics = commit.get("operationMetrics") or {}
        stamp = commit.get("timestamp")
        out.append(
            {
                "version": commit.get("version"),
                "at": _iso(datetime.fromtimestamp(stamp / 1000, UTC)) if stamp else None,
                "operation": commit.get("operation"),
                "rows_added": metrics.get("num_added_rows", metrics.get("num_output_rows")),
            }
        )
    return out


def _run_label(status: str, locale: str) -> str:
    try:
        return _pick(locale, RUN_LABELS.get(RunStatus(status)), status)
    except ValueError:
        return status


def _source_and_pipelines(
    ctx: ActionContext, b: _Builder, entry: CatalogEntry, mount: Mount, anchor: str
) -> list[Pipeline]:
    """The source node and the collection pipelines into the anchor; returns the return
    flows for the caller to hang off the lake table."""
    s, loc = ctx.session, b.locale
    src = source_facts(s, mount.source_id)
    dept = org.department_by_id(s, src.department_id) if src else None
    source_id = b.node(
        f"source:{mount.source_id}",
        NodeKind.SOURCE,
        src.name if src else mount.source_id,
        sublabel=mount.target[:80],
        href=f"/sources/{mount.source_id}"
        if dept and ctx.actor.can(Perm.SOURCE_READ, Scope(dept.region_path, dept.id))
        else None,
        details={
            "source_kind": src.kind if src else None,
            "target_kind": mount.target_kind,
            "target": mount.target,
            "department": dept.name if dept else None,
        },
    )
    pipes = list(
        s.scalars(
            select(Pipeline)
            .where(Pipeline.mount_id == mount.id)
            .order_by(Pipeline.created_at, Pipeline.id)
        )
    )
    last_ids = [p.last_run_id for p in pipes if p.last_run_id]
    runs = {r.id: r for r in s.scalars(select(PipelineRun).where(PipelineRun.id.in_(last_ids)))}
    follow = ctx.actor.can(Perm.EXCHANGE_READ, entry_scope(entry))
    if mount.mode != MountMode.PHYSICAL:
        b.edge(source_id, anchor, EdgeKind.QUERIES)
    returns = []
    for p in pipes:
        if p.kind == PipelineKind.RETURN:
            returns.append(p)
            continue
        last = runs.get(p.last_run_id or "")
        pid = b.node(
            f"pipeline:{p.id}",
            NodeKind.PIPELINE,
            p.name,
            sublabel=_pick(loc, PIPELINE_LABELS.get(PipelineKind(p.kind)), p.kind)
            + (f" · {_run_label(last.status, loc)}" if last else ""),
            tone=_run_tone(last.status if last else None),
            href=f"/exchange/pipelines/{p.id}" if follow else None,
            details={
                "pipeline_kind": p.kind,
                "state": p.state,
                "schedule": p.schedule,
                "last_run_id": p.last_run_id,
                "last_status": last.status if last else None,
                "last_finished_at": _iso(last.finished_at) if last else None,
                "rows_written": last.rows_written if last else None,
                "lake_version": last.lake_version_after if last else None,
            },
        )
        b.edge(source_id, pid, EdgeKind.READS)
        b.edge(pid, anchor, EdgeKind.WRITES)
    return returns


def _quality(ctx: ActionContext, b: _Builder, entry: CatalogEntry, anchor: str) -> set[str]:
    """The newest quality runs; returns their ids (tickets hang off them)."""
    if not ctx.actor.can(Perm.QUALITY_READ, entry_scope(entry)):
        return set()
    runs = list(
        ctx.session.scalars(
            select(QualityRun)
            .where(QualityRun.entry_id == entry.id)
            .order_by(QualityRun.started_at.desc(), QualityRun.id.desc())
            .limit(QUALITY_RUNS_SHOWN)
        )
    )
    failing = dict(
        ctx.session.execute(
            select(QualityResult.run_id, func.count(QualityResult.id))
            .where(QualityResult.run_id.in_([r.id for r in runs]), QualityResult.failed > 0)
            .group_by(QualityResult.run_id)
        ).all()
    )
    for r in runs:
        score = f"{r.score:.1f}" if r.score is not None else "—"
        failed_rules = int(failing.get(r.id, 0))
        rid = b.node(
            f"quality_run:{r.id}",
            NodeKind.QUALITY_RUN,
            f"{kind_label(NodeKind.QUALITY_RUN, b.locale)} {score}",
            sublabel=local(r.started_at),
            tone="bad" if r.status == "failed" else ("warn" if failed_rules else "ok"),
            href=f"/quality/runs/{r.id}",
            details={
                "run_id": r.id,
                "trigger": r.trigger,
                "status": r.status,
                "score": r.score,
                "failed_rules": failed_rules,
                "dimension_scores": dict(r.dimension_scores or {}),
                "rows_total": r.rows_total,
                "lake_version": r.lake_version,
                "started_at": _iso(r.started_at),
                "finished_at": _iso(r.finished_at),
                "error_code": r.error_code,
            },
        )
        b.edge(anchor, rid, EdgeKind.CHECKS, f"v{r.lake_version}" if r.lake_version else None)
    return {r.id for r in runs}


def _tickets(
    ctx: ActionContext, b: _Builder, entry: CatalogEntry, anchor: str, runs: set[str]
) -> None:
    if not ctx.actor.can(Perm.SHARING_READ):
        return
    tickets = ctx.session.scalars(
        select(Ticket)
        .where(Ticket.entry_id == entry.id, sharing_clause(ctx.actor, Ticket))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(TICKETS_SHOWN)
    )
    for t in tickets:
        tid = b.node(
            f"ticket:{t.id}",
            NodeKind.TICKET,
            t.code,
            sublabel=status_label(t.status, b.locale),
            tone="ok" if t.status == "closed" else ("bad" if t.severity >= 4 else "warn"),
            href=f"/governance/tickets/{t.id}",
            details={
                "title": t.title,
                "status": t.status,
                "severity": t.severity,
                "source": t.source,
                "rule_id": t.rule_id,
                "due_at": _iso(t.due_at),
                "closed_at": _iso(t.closed_at),
            },
        )
        run = next(
            (r for r in (t.run_id, t.last_run_id, t.recheck_run_id) if r and r in runs), None
        )
        if run is not None:
            b.edge(f"quality_run:{run}", tid, EdgeKind.OPENS)
        else:
            b.edge(anchor, tid, EdgeKind.REPORTS)


def _sharing(ctx: ActionContext, b: _Builder, entry: CatalogEntry, anchor: str) -> None:
    grants = visible_grants(ctx, entry.id)
    if not grants:
        return
    s, loc = ctx.session, b.locale
    subs = subscriptions_of(s, [g.id for g in grants])
    names = org.department_names(s, {g.consumer_department_id for g in grants})
    for g in grants:
        status = status_of(g)
        gid = b.node(
            f"grant:{g.id}",
            NodeKind.GRANT,
            names.get(g.consumer_department_id, g.consumer_department_id),
            sublabel=f"{g.code} · {sharing_label('grant_status', status.value, loc)}",
            tone="ok" if status.value == "active" else "neutral",
            href=f"/sharing/grants/{g.id}",
            details={
                "code": g.code,
                "status": status.value,
                "consumer_department_id": g.consumer_department_id,
                "items": list(g.items or []),
                "delivery_modes": list(g.delivery_modes or []),
                "expires_at": _iso(g.expires_at),
            },
        )
        b.edge(anchor, gid, EdgeKind.GRANTS)
    for sub in subs:
        sid = b.node(
            f"subscription:{sub.id}",
            NodeKind.SUBSCRIPTION,
            sub.name,
            sublabel=sharing_label("subscription_state", sub.state, loc)
            + (f" · v{sub.delivered_version}" if sub.delivered_version is not None else ""),
            tone="bad" if sub.last_error else ("ok" if sub.state == "active" else "neutral"),
            href=f"/sharing/subscriptions/{sub.id}",
            details={
                "mode": sub.mode,
                "state": sub.state,
                "target_table": sub.target_table,
                "file_format": sub.file_format,
                "delivered_version": sub.delivered_version,
                "delivered_at": _iso(sub.delivered_at),
                "last_error": sub.last_error,
            },
        )
        b.edge(f"grant:{sub.grant_id}", sid, EdgeKind.DELIVERS)


def _return_flows(
    ctx: ActionContext, b: _Builder, entry: CatalogEntry, flows: list[Pipeline], anchor: str
) -> None:
    s, loc = ctx.session, b.locale
    for p in flows:
        target_id = str(p.options.get("target_source_id") or "")
        target = source_facts(s, target_id) if target_id else None
        dept = org.department_by_id(s, target.department_id) if target else None
        seen = dept is not None and ctx.actor.can(
            Perm.SOURCE_READ, Scope(dept.region_path, dept.id)
        )
        table = str(p.options.get("target_table") or "")
        last = s.get(PipelineRun, p.last_run_id) if p.last_run_id else None
        fid = b.node(
            f"return_flow:{p.id}",
            NodeKind.RETURN_FLOW,
            p.name,
            sublabel=(f"{target.name if seen and target else ''} {table}").strip() or None,
            tone=_run_tone(last.status if last else None),
            href=f"/exchange/pipelines/{p.id}"
            if ctx.actor.can(Perm.EXCHANGE_READ, entry_scope(entry))
            else None,
            details={
                "target_table": table,
                "target_department": dept.name if dept else None,
                "last_status": last.status if last else None,
                "label": _pick(loc, PIPELINE_LABELS.get(PipelineKind.RETURN), "return"),
            },
        )
        b.edge(anchor, fid, EdgeKind.RETURNS)


def _libraries(ctx: ActionContext, b: _Builder, entry: CatalogEntry, anchor: str) -> None:
    """Base libraries built from this entry's lake table, and — when the entry catalogs a
    library — the lake tables the library was built from (``baselib_links``)."""
    links = baselib_links.links_of(ctx.session, entry.id)
    for lib in links.derived:
        lid = b.node(
            f"library:{lib.library_id}",
            NodeKind.LIBRARY,
            lib.name,
            sublabel=lib.table,
            tone=_run_tone(lib.last_status),
            href=lib.href,
            details={
                "table": lib.table,
                "last_build_at": _iso(lib.last_build_at),
                "last_status": lib.last_status,
            },
        )
        b.edge(anchor, lid, EdgeKind.FEEDS)
    for src in links.inputs:
        nid = b.node(
            f"lake_table:{src.table}",
            NodeKind.LAKE_TABLE,
            src.entry_name or src.table,
            sublabel=src.table,
            href=f"/governance/lineage/{src.entry_id}" if src.entry_id else None,
            details={"table": src.table, "entry_id": src.entry_id},
        )
        # Inputs sit left of the library table, in the sources' column.
        b.nodes[nid].layer = LAYERS[NodeKind.SOURCE]
        b.edge(nid, anchor, EdgeKind.FEEDS)


def build_graph(ctx: ActionContext, entry: CatalogEntry) -> LineageGraph:
    """The graph of an entry the caller has already been allowed to see."""
    s, loc = ctx.session, ctx.locale
    b = _Builder(loc)
    mount = mount_of(s, entry.id)
    physical = mount is not None and mount.mode == MountMode.PHYSICAL and bool(mount.lake_table)
    if physical:
        assert mount is not None and mount.lake_table
        versions = _versions(ctx, mount.lake_table)
        anchor = b.node(
            f"lake_table:{mount.lake_table}",
            NodeKind.LAKE_TABLE,
            entry.name,
            sublabel=f"{mount.lake_table}"
            + (f" · v{versions[0]['version']}" if versions and versions[0]["version"] else ""),
            tone="ok",
            href=f"/exchange/lake/{mount.lake_table}"
            if ctx.actor.can(Perm.EXCHANGE_READ, entry_scope(entry))
            else None,
            details={"table": mount.lake_table, "versions": versions},
        )
    else:
        anchor = b.node(
            f"entry:{entry.id}",
            NodeKind.ENTRY,
            entry.name,
            sublabel=entry.resource_code,
            href=f"/catalog/entries/{entry.id}",
            details={"mode": mount.mode if mount else None},
        )
    returns = _source_and_pipelines(ctx, b, entry, mount, anchor) if mount else []
    _libraries(ctx, b, entry, anchor)
    runs = _quality(ctx, b, entry, anchor)
    _tickets(ctx, b, entry, anchor, runs)
    _sharing(ctx, b, entry, anchor)
    _return_flows(ctx, b, entry, returns, anchor)
    dept = org.department_by_id(s, entry.provider_department_id)
    return LineageGraph(
        entry_id=entry.id,
        resource_code=entry.resource_code,
        entry_name=entry.name,
        department_id=entry.provider_department_id,
        department_name=dept.name if dept else "",
        mode=mount.mode if mount else None,
        lake_table=mount.lake_table if physical and mount else None,
        anchor=anchor,
        nodes=b.laid_out(),
        edges=b.edges,
    )


def entry_lineage(ctx: ActionContext, entry_ref: str) -> LineageGraph:
    """The lineage graph of an entry (id or resource code): its source and collection
    pipelines, its lake table with recent versions, its newest quality runs with their
    scores, tickets reported against it, base libraries built from it (or, for a library's
    entry, the lake tables it was built from), grants and subscriptions that consume it and
    its return flows.

    Needs ``quality.read`` or ``exchange.read`` over the entry's provider department;
    tickets, grants and subscriptions appear only where the actor's ``sharing.read`` covers
    one of their sides. No row data.
    """
    entry = load_entry(ctx, entry_ref)
    return build_graph(ctx, entry)
