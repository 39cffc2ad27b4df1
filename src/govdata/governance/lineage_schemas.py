"""Shapes of the lineage graph (``governance.lineage``): node and edge kinds, their labels,
the layout's layers, and the graph the API returns and the page draws."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from govdata.governance.vocab import label


class NodeKind(StrEnum):
    SOURCE = "source"  # a department's source table (or query, file, API endpoint)
    PIPELINE = "pipeline"  # a collection pipeline (full, incremental, CDC)
    LAKE_TABLE = "lake_table"  # this entry's lake table, or another entry's feeding a library
    ENTRY = "entry"  # the entry itself when it has no lake table (logical or unmounted)
    QUALITY_RUN = "quality_run"
    TICKET = "ticket"
    LIBRARY = "library"  # a base library (基础库) built from this entry's lake table
    GRANT = "grant"
    SUBSCRIPTION = "subscription"
    RETURN_FLOW = "return_flow"  # 回流: the lake table written down to a department's database


class EdgeKind(StrEnum):
    READS = "reads"  # source → pipeline
    WRITES = "writes"  # pipeline → lake table
    QUERIES = "queries"  # source → entry, read in place at request time
    CHECKS = "checks"  # data → quality run
    OPENS = "opens"  # quality run → ticket
    REPORTS = "reports"  # data → ticket (a consumer's objection, or a run not shown)
    FEEDS = "feeds"  # lake table → base library
    GRANTS = "grants"  # data → grant
    DELIVERS = "delivers"  # grant → subscription
    RETURNS = "returns"  # lake table → return flow


NODE_LABELS: dict[str, tuple[str, str]] = {
    NodeKind.SOURCE: ("源系统", "Source system"),
    NodeKind.PIPELINE: ("采集管道", "Pipeline"),
    NodeKind.LAKE_TABLE: ("湖表", "Lake table"),
    NodeKind.ENTRY: ("目录", "Catalog entry"),
    NodeKind.QUALITY_RUN: ("质量检查", "Quality run"),
    NodeKind.TICKET: ("问题工单", "Ticket"),
    NodeKind.LIBRARY: ("基础库", "Base library"),
    NodeKind.GRANT: ("共享授权", "Grant"),
    NodeKind.SUBSCRIPTION: ("订阅", "Subscription"),
    NodeKind.RETURN_FLOW: ("回流", "Return flow"),
}
EDGE_LABELS: dict[str, tuple[str, str]] = {
    EdgeKind.READS: ("读取", "reads"),
    EdgeKind.WRITES: ("写入", "writes"),
    EdgeKind.QUERIES: ("实时查询", "queried in place"),
    EdgeKind.CHECKS: ("检查", "checks"),
    EdgeKind.OPENS: ("生成工单", "opens"),
    EdgeKind.REPORTS: ("反馈", "reports"),
    EdgeKind.FEEDS: ("汇入", "feeds"),
    EdgeKind.GRANTS: ("授权", "grants"),
    EdgeKind.DELIVERS: ("交付", "delivers"),
    EdgeKind.RETURNS: ("回流", "returns"),
}
# Columns of the layout, left to right.
LAYERS: dict[str, int] = {
    NodeKind.SOURCE: 0,
    NodeKind.PIPELINE: 1,
    NodeKind.LAKE_TABLE: 2,
    NodeKind.ENTRY: 2,
    NodeKind.QUALITY_RUN: 3,
    NodeKind.LIBRARY: 3,
    NodeKind.GRANT: 3,
    NodeKind.RETURN_FLOW: 3,
    NodeKind.TICKET: 4,
    NodeKind.SUBSCRIPTION: 4,
}


def kind_label(kind: str, locale: str) -> str:
    return label(NODE_LABELS if kind in NODE_LABELS else EDGE_LABELS, kind, locale)


class LineageNode(BaseModel):
    id: str = Field(description="unique in the graph: '<kind>:<id>'")
    kind: NodeKind
    label: str
    sublabel: str | None = None
    # ok, warn, bad or neutral: how the page colours the node.
    tone: str = "neutral"
    href: str | None = None
    layer: int = 0
    order: int = 0
    details: dict[str, Any] = Field(default_factory=dict)


class LineageEdge(BaseModel):
    source: str
    target: str
    kind: EdgeKind
    label: str | None = None


class LineageGraph(BaseModel):
    entry_id: str
    resource_code: str
    entry_name: str
    department_id: str
    department_name: str
    mode: str | None = Field(None, description="physical, logical, or null when not mounted")
    lake_table: str | None = None
    anchor: str = Field(description="id of the node that stands for the entry's data")
    nodes: list[LineageNode]
    edges: list[LineageEdge]
