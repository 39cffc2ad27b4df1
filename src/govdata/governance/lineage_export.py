"""An entry's lineage as OpenLineage run events (spec 2-0-2 ``RunEvent``), for Marquez and
every other OpenLineage consumer.

The export is a list of events in time order:

- **collection**: the events the entry's pipelines stored when they ran (``lineage_events``:
  source → lake table, and return flows lake table → department database), as stored, for
  who holds ``exchange.read`` over the entry (as on the exchange lineage page);
- **quality runs**: a START and a COMPLETE (or FAIL) event per run, job ``quality.<resource
  code>`` in namespace ``govdata``; the input is the lake table (or, for a logically accessed
  mount, the source table) with two input facets: ``dataQualityMetrics``
  (DataQualityMetricsInputDatasetFacet: ``rowCount`` = rows checked; per column, only what
  a rule measured exactly — ``nullCount`` from a not-null rule, ``distinctCount`` from a
  uniqueness rule, ``count`` = non-null values a value rule checked) and
  ``dataQualityAssertions`` (DataQualityAssertionsDatasetFacet: one assertion per rule with
  its kind, success = no failing row, the column, and the failed and checked counts);
- **base-library builds**: inputs = the source lake tables, output = the library table;
- **deliveries**: a START and COMPLETE/FAIL per subscription run the actor may see, input =
  the lake table at the delivered version, output = the consumer's table (or its files)
  with the rows written.

Run ids are the runs' own UUIDs, so a consumer can join the events with the portal. No row
of data is exported.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from govdata.catalog.models import CatalogEntry
from govdata.exchange.lineage import (
    COMPLETE,
    ERROR_FACET,
    FAIL,
    JOB_NAMESPACE,
    JOB_TYPE_FACET,
    OUTPUT_STATS_FACET,
    PRODUCER,
    SCHEMA_URL,
    START,
    _facet,
    source_dataset,
)
from govdata.exchange.models import LineageEvent, Mount
from govdata.governance import baselib_links
from govdata.governance.lineage import (
    lake_dataset_namespace,
    load_entry,
    mount_of,
    subscriptions_of,
    visible_grants,
)
from govdata.governance.quality_models import QualityResult, QualityRun
from govdata.governance.quality_rules import entry_fields
from govdata.identity import queries as org
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm, Scope
from govdata.sharing.models import Subscription, SubscriptionRun
from govdata.sources.registry import source_facts

_FACETS = "https://openlineage.io/spec/facets"
DQ_METRICS_FACET = (
    f"{_FACETS}/1-0-3/DataQualityMetricsInputDatasetFacet.json"
    "#/$defs/DataQualityMetricsInputDatasetFacet"
)
DQ_ASSERTIONS_FACET = (
    f"{_FACETS}/1-1-0/DataQualityAssertionsDatasetFacet.json"
    "#/$defs/DataQualityAssertionsDatasetFacet"
)
VERSION_FACET = f"{_FACETS}/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet"

# The newest of each kind that one export carries.
STORED_EVENTS = 500
QUALITY_RUNS = 100
DELIVERY_RUNS = 100
LIBRARY_BUILDS = 50


def _time(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parsed(value: str) -> datetime:
    at = datetime.fromisoformat(value)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _event(
    event_type: str,
    at: datetime,
    run_id: str,
    job: str,
    job_type: str,
    inputs: list[dict[str, Any]],
    outputs: list[dict[str, Any]],
    error: str | None = None,
) -> dict[str, Any]:
    run_facets: dict[str, Any] = {}
    if error:
        run_facets["errorMessage"] = _facet(
            ERROR_FACET, message=error, programmingLanguage="python"
        )
    return {
        "eventType": event_type,
        "eventTime": _time(at),
        "run": {"runId": run_id, "facets": run_facets},
        "job": {
            "namespace": JOB_NAMESPACE,
            "name": job,
            "facets": {
                "jobType": _facet(
                    JOB_TYPE_FACET, processingType="BATCH", integration="GOVDATA", jobType=job_type
                )
            },
        },
        "inputs": inputs,
        "outputs": outputs,
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
    }


def _pair(
    started: datetime,
    finished: datetime | None,
    status: str,
    run_id: str,
    job: str,
    job_type: str,
    inputs: list[dict[str, Any]],
    outputs: list[dict[str, Any]],
    *,
    start_inputs: list[dict[str, Any]] | None = None,
    start_outputs: list[dict[str, Any]] | None = None,
    error: str | None = None,
) -> list[dict[str, Any]]:
    """START, then COMPLETE or FAIL once the run has ended (facets with results on the end
    event only, as OpenLineage producers do)."""
    bare = [{"namespace": d["namespace"], "name": d["name"]} for d in inputs]
    out = [
        _event(
            START,
            started,
            run_id,
            job,
            job_type,
            start_inputs if start_inputs is not None else bare,
            start_outputs
            if start_outputs is not None
            else [{"namespace": d["namespace"], "name": d["name"]} for d in outputs],
        )
    ]
    if finished is not None and status in ("succeeded", "failed"):
        end = COMPLETE if status == "succeeded" else FAIL
        out.append(_event(end, finished, run_id, job, job_type, inputs, outputs, error))
    return out


# -- quality runs ---------------------------------------------------------------------------------


def _data_of(ctx: ActionContext, run: QualityRun, mount: Mount | None) -> tuple[str, str]:
    """(namespace, name) of the dataset a quality run read."""
    if run.lake_table:
        return lake_dataset_namespace(ctx), run.lake_table
    if mount is not None:
        src = source_facts(ctx.session, mount.source_id)
        if src is not None and sees_sources(ctx, run.department_id, run.region_path):
            return source_dataset(src.kind, src.config, mount.target)
        return f"govdata://sources/{mount.source_id}", mount.target
    return "govdata", f"entry.{run.resource_code}"


def sees_sources(ctx: ActionContext, department_id: str, region_path: str) -> bool:
    """Whether the actor may see where the entry's data is collected from (hosts, databases,
    the pipelines' own events): ``exchange.read`` over the provider department, as the
    exchange lineage page asks."""
    return ctx.actor.can(Perm.EXCHANGE_READ, Scope(region_path, department_id))


def quality_facets(
    run: QualityRun, results: list[QualityResult], by_item: dict[str, str]
) -> dict[str, Any]:
    """The ``dataQualityMetrics`` and ``dataQualityAssertions`` input facets of a run.

    Column metrics hold only what a rule measured exactly: a not-null rule counts every row
    and fails the nulls (``nullCount``, and ``count`` = the rest); a uniqueness rule checks
    the non-null values and fails the repeats (``distinctCount`` = checked − failed); other
    value rules check the non-null values (``count``). Rules that could not run (an error)
    assert nothing and measure nothing.
    """
    columns: dict[str, dict[str, int]] = {}
    assertions = []
    for r in results:
        column = by_item.get(r.item, r.item) if r.item else None
        if r.error is None and column:
            metrics = columns.setdefault(column, {})
            if r.kind == "not_null":
                metrics["nullCount"] = int(r.failed)
                metrics["count"] = int(r.checked - r.failed)
            elif r.kind == "unique":
                metrics["distinctCount"] = int(r.checked - r.failed)
                metrics.setdefault("count", int(r.checked))
            elif r.kind not in ("referential", "cross_source"):
                metrics.setdefault("count", int(r.checked))
        if r.error is not None:
            continue
        assertion: dict[str, Any] = {
            "assertion": r.kind,
            "success": r.failed == 0,
            "name": r.name,
            "severity": "error" if r.severity >= 4 else "warn",
            "expected": "0",
            "actual": str(r.failed),
            "params": {"checked": r.checked, "failed": r.failed, "dimension": r.dimension},
        }
        if column:
            assertion["column"] = column
        assertions.append(assertion)
    metrics_facet: dict[str, Any] = {"columnMetrics": columns}
    if run.rows_total is not None:
        metrics_facet["rowCount"] = int(run.rows_total)
    return {
        "dataQualityMetrics": _facet(DQ_METRICS_FACET, **metrics_facet),
        "dataQualityAssertions": _facet(DQ_ASSERTIONS_FACET, assertions=assertions),
    }


def quality_events(ctx: ActionContext, entry: CatalogEntry) -> list[dict[str, Any]]:
    if not ctx.actor.can(Perm.QUALITY_READ, Scope(entry.region_path, entry.provider_department_id)):
        return []
    s = ctx.session
    runs = list(
        s.scalars(
            select(QualityRun)
            .where(QualityRun.entry_id == entry.id)
            .order_by(QualityRun.started_at.desc(), QualityRun.id.desc())
            .limit(QUALITY_RUNS)
        )
    )
    if not runs:
        return []
    results: dict[str, list[QualityResult]] = {}
    for res in s.scalars(
        select(QualityResult)
        .where(QualityResult.run_id.in_([r.id for r in runs]))
        .order_by(QualityResult.name, QualityResult.id)
    ):
        results.setdefault(res.run_id, []).append(res)
    mount = mount_of(s, entry.id)
    by_item = entry_fields(s, entry).by_item
    events = []
    for run in runs:
        ns, name = _data_of(ctx, run, mount)
        dataset: dict[str, Any] = {"namespace": ns, "name": name, "facets": {}}
        if run.lake_version is not None:
            dataset["facets"]["version"] = _facet(
                VERSION_FACET, datasetVersion=str(run.lake_version)
            )
        if run.status == "succeeded":
            dataset["inputFacets"] = quality_facets(run, results.get(run.id, []), by_item)
        events += _pair(
            run.started_at,
            run.finished_at,
            run.status,
            run.id,
            f"quality.{run.resource_code}",
            "QUALITY_CHECK",
            [dataset],
            [],
            error=run.error_message,
        )
    return events


# -- deliveries -----------------------------------------------------------------------------------


def _delivery_output(ctx: ActionContext, sub: Subscription, rows: int) -> dict[str, Any]:
    """The consumer's table (named as OpenLineage names it only for an actor who may read
    the consumer's source systems) or its delivery files."""
    s = ctx.session
    if sub.mode == "table" and sub.target_source_id:
        src = source_facts(s, sub.target_source_id)
        dept = org.department_by_id(s, sub.consumer_department_id)
        seen = dept is not None and ctx.actor.can(
            Perm.SOURCE_READ, Scope(dept.region_path, dept.id)
        )
        if src is not None and seen:
            ns, name = source_dataset(src.kind, src.config, str(sub.target_table or ""))
        else:
            ns = f"govdata://departments/{sub.consumer_department_id}"
            name = str(sub.target_table or sub.id)
    else:
        ns = f"govdata://subscriptions/{sub.id}"
        name = f"files.{sub.file_format or 'csv'}"
    return {
        "namespace": ns,
        "name": name,
        "outputFacets": {"outputStatistics": _facet(OUTPUT_STATS_FACET, rowCount=rows)},
    }


def delivery_events(ctx: ActionContext, entry: CatalogEntry) -> list[dict[str, Any]]:
    mount = mount_of(ctx.session, entry.id)
    grants = visible_grants(ctx, entry.id, limit=1000)
    subs = {sub.id: sub for sub in subscriptions_of(ctx.session, [g.id for g in grants])}
    if not subs:
        return []
    runs = ctx.session.scalars(
        select(SubscriptionRun)
        .where(SubscriptionRun.subscription_id.in_(list(subs)))
        .order_by(SubscriptionRun.started_at.desc(), SubscriptionRun.id.desc())
        .limit(DELIVERY_RUNS)
    )
    lake_ns = lake_dataset_namespace(ctx)
    table = mount.lake_table if mount and mount.lake_table else f"entry.{entry.resource_code}"
    events = []
    for run in runs:
        sub = subs[run.subscription_id]
        source: dict[str, Any] = {"namespace": lake_ns, "name": table, "facets": {}}
        if run.version_to is not None:
            source["facets"]["version"] = _facet(VERSION_FACET, datasetVersion=str(run.version_to))
        events += _pair(
            run.started_at,
            run.finished_at,
            run.status,
            run.id,
            f"delivery.{sub.id}",
            "DELIVERY",
            [source],
            [_delivery_output(ctx, sub, int(run.rows_upserted or 0))],
            error=run.error_message,
        )
    return events


# -- base-library builds -------------------------------------------------------------------------


def library_events(ctx: ActionContext, entry: CatalogEntry) -> list[dict[str, Any]]:
    lake_ns = lake_dataset_namespace(ctx)
    events = []
    for build in baselib_links.builds_of(ctx.session, entry.id, LIBRARY_BUILDS):
        inputs = [{"namespace": lake_ns, "name": i.table, "facets": {}} for i in build.inputs]
        output: dict[str, Any] = {"namespace": lake_ns, "name": build.table, "facets": {}}
        if build.rows is not None:
            output["outputFacets"] = {
                "outputStatistics": _facet(OUTPUT_STATS_FACET, rowCount=build.rows)
            }
        events += _pair(
            build.started_at,
            build.finished_at,
            build.status,
            build.id,
            f"baselib.{build.library_code}",
            "BASE_LIBRARY_BUILD",
            inputs,
            [output],
            error=build.error,
        )
    return events


# -- the export -----------------------------------------------------------------------------------


def stored_events(ctx: ActionContext, entry: CatalogEntry) -> list[dict[str, Any]]:
    """The events the entry's pipelines stored, for who holds ``exchange.read`` over it."""
    if not sees_sources(ctx, entry.provider_department_id, entry.region_path):
        return []
    rows = ctx.session.scalars(
        select(LineageEvent)
        .where(LineageEvent.entry_id == entry.id)
        .order_by(LineageEvent.event_time.desc(), LineageEvent.id.desc())
        .limit(STORED_EVENTS)
    )
    return [dict(r.payload) for r in rows if r.payload]


def openlineage_events(ctx: ActionContext, entry_ref: str) -> list[dict[str, Any]]:
    """The entry's lineage as a list of OpenLineage RunEvents (spec 2-0-2), oldest first:
    the collection and return-flow events its pipelines stored, and events made from its
    quality runs (with data-quality metrics and assertions facets), base-library builds
    and subscription deliveries.

    Same permission as the graph (``quality.read`` or ``exchange.read`` over the provider
    department); the pipelines' events (which name source hosts and databases) need
    ``exchange.read``, quality events ``quality.read`` and deliveries ``sharing.read`` over
    a side of their grant. The export is audited.
    """
    entry = load_entry(ctx, entry_ref)
    events = (
        stored_events(ctx, entry)
        + quality_events(ctx, entry)
        + library_events(ctx, entry)
        + delivery_events(ctx, entry)
    )
    events.sort(key=lambda e: (_parsed(e["eventTime"]), e["eventType"] != START))
    ctx.audit(
        "governance.lineage.export",
        target_type="catalog_entry",
        target_id=entry.id,
        details={"events": len(events)},
    )
    return events
