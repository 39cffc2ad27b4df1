"""OpenLineage run events of pipeline runs (spec 2-0-2 ``RunEvent``), kept in ``lineage_events``.

Every run writes a START event when it begins and a COMPLETE or FAIL event when it ends,
naming the job (the pipeline), its input dataset (the source table, with its schema) and
its output dataset (the lake table, with its schema, the column mapping as a
``columnLineage`` facet and the rows written as ``outputStatistics``). A return flow has the
lake table as input and the department's database table as output. The lineage page of an
entry reads these events: source system → lake table → deliveries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from govdata.core.clock import now
from govdata.exchange.engine.context import RunContext
from govdata.exchange.models import LineageEvent
from govdata.exchange.vocab import PipelineKind

SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent"
PRODUCER = "https://github.com/qinghai-govdata/govdata"
JOB_NAMESPACE = "govdata"
_FACETS = "https://openlineage.io/spec/facets"
SCHEMA_FACET = f"{_FACETS}/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
COLUMN_LINEAGE_FACET = (
    f"{_FACETS}/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet"
)
OUTPUT_STATS_FACET = (
    f"{_FACETS}/1-0-2/OutputStatisticsOutputDatasetFacet.json"
    "#/$defs/OutputStatisticsOutputDatasetFacet"
)
ERROR_FACET = f"{_FACETS}/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"
JOB_TYPE_FACET = f"{_FACETS}/2-0-3/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"

START, COMPLETE, FAIL, ABORT = "START", "COMPLETE", "FAIL", "ABORT"


def _facet(url: str, **body: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": url, **body}


def source_dataset(kind: str, config: dict[str, Any], target: str) -> tuple[str, str]:
    """(namespace, name) of a source table in OpenLineage's naming conventions."""
    host, port = config.get("host"), config.get("port")
    if kind == "mariadb":
        return f"mysql://{host}:{port or 3306}", f"{config.get('database')}.{target}"
    if kind == "postgresql":
        schema = config.get("schema") or "public"
        name = target if "." in target else f"{schema}.{target}"
        return f"postgres://{host}:{port or 5432}", f"{config.get('database')}.{name}"
    if kind == "sqlite":
        return f"sqlite://{config.get('path')}", target
    if kind == "http":
        return str(config.get("base_url") or "http://"), target
    return f"file://{config.get('path') or 'uploads'}", target


def lake_dataset(rc: RunContext) -> tuple[str, str]:
    return f"file://{rc.settings.lake_dir.resolve()}", str(rc.mount.lake_table)


def _schema_fields(columns: list[tuple[str, str]]) -> dict[str, Any]:
    return _facet(SCHEMA_FACET, fields=[{"name": n, "type": t} for n, t in columns])


def _datasets(
    rc: RunContext, rows: int | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from govdata.sources.registry import source_facts

    mount = rc.mount
    lake_ns, lake_name = lake_dataset(rc)
    lake_fields = [(str(c["field"]), str(c["type"])) for c in mount.columns]
    with rc.db.transaction() as s:
        source = source_facts(s, mount.source_id)
        target = None
        if rc.pipeline.kind == PipelineKind.RETURN:
            target_id = rc.pipeline.options.get("target_source_id")
            target = source_facts(s, str(target_id)) if target_id else None
    if rc.pipeline.kind == PipelineKind.RETURN:
        table = str(rc.pipeline.options.get("target_table") or "")
        out_ns, out_name = (
            source_dataset(target.kind, target.config, table) if target else ("unknown", table)
        )
        inputs = [
            {
                "namespace": lake_ns,
                "name": lake_name,
                "facets": {"schema": _schema_fields(lake_fields)},
            }
        ]
        lineage = {
            f: {"inputFields": [{"namespace": lake_ns, "name": lake_name, "field": f}]}
            for f, _t in lake_fields
        }
        out_fields = lake_fields
    else:
        in_ns, in_name = (
            source_dataset(source.kind, source.config, mount.target)
            if source
            else ("unknown", mount.target)
        )
        inputs = [
            {
                "namespace": in_ns,
                "name": in_name,
                "facets": {
                    "schema": _schema_fields([(str(c["column"]), "") for c in mount.columns])
                },
            }
        ]
        lineage = {
            str(c["field"]): {
                "inputFields": [{"namespace": in_ns, "name": in_name, "field": str(c["column"])}]
            }
            for c in mount.columns
        }
        out_ns, out_name, out_fields = lake_ns, lake_name, lake_fields
    output: dict[str, Any] = {
        "namespace": out_ns,
        "name": out_name,
        "facets": {
            "schema": _schema_fields(out_fields),
            "columnLineage": _facet(COLUMN_LINEAGE_FACET, fields=lineage),
        },
    }
    if rows is not None:
        output["outputFacets"] = {"outputStatistics": _facet(OUTPUT_STATS_FACET, rowCount=rows)}
    return inputs, [output]


def job_name(rc: RunContext) -> str:
    return f"pipeline.{rc.pipeline.kind}.{rc.mount.lake_table or rc.mount.id}.{rc.pipeline_id}"


def run_event(
    rc: RunContext, event_type: str, *, error: str | None = None, at: datetime | None = None
) -> dict[str, Any]:
    """The OpenLineage RunEvent of this run at this moment (counts so far on COMPLETE/FAIL)."""
    t = at or now()
    rows = rc.counts.written if event_type in (COMPLETE, FAIL, ABORT) else None
    inputs, outputs = _datasets(rc, rows)
    run_facets: dict[str, Any] = {}
    if error is not None:
        run_facets["errorMessage"] = _facet(
            ERROR_FACET, message=error, programmingLanguage="python"
        )
    return {
        "eventType": event_type,
        "eventTime": t.isoformat().replace("+00:00", "Z"),
        "run": {"runId": rc.run_id, "facets": run_facets},
        "job": {
            "namespace": JOB_NAMESPACE,
            "name": job_name(rc),
            "facets": {
                "jobType": _facet(
                    JOB_TYPE_FACET,
                    processingType="STREAMING" if rc.pipeline.kind == PipelineKind.CDC else "BATCH",
                    integration="GOVDATA",
                    jobType=f"PIPELINE_{rc.pipeline.kind.upper()}",
                )
            },
        },
        "inputs": inputs,
        "outputs": outputs,
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
    }


def record(rc: RunContext, event_type: str, *, error: str | None = None) -> dict[str, Any]:
    """Build and store one run event; returns its payload."""
    t = now()
    payload = run_event(rc, event_type, error=error, at=t)
    with rc.db.transaction(immediate=True) as s:
        s.add(
            LineageEvent(
                run_id=rc.run_id,
                entry_id=rc.mount.entry_id,
                event_type=event_type,
                event_time=t,
                job_name=payload["job"]["name"][:255],
                payload=payload,
            )
        )
    return payload
