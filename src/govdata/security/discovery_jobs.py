"""The job that runs a discovery scan: ``security.discovery_scan`` (payload ``{"scan_id"}``).

It takes the queued scan, reads the sample (outside any store transaction: a source may be
slow), judges it, and stores the findings and suggestions with the scan, reporting progress
on the job as it goes. The sampled read is audited by the system
(``security.discovery.scan``: which columns, how many rows, which kinds were found). A scan
that cannot read its data (no lake table yet, an unreachable source) ends ``failed`` with
the error's code and message, never a secret, and the job fails for good: run a new scan.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.config import Settings
from govdata.core.clock import now
from govdata.core.db import Database
from govdata.core.errors import GovDataError, InvalidInput
from govdata.core.jobs.registry import job_handler
from govdata.core.jobs.worker import JobFailed, JobRun
from govdata.exchange import logical
from govdata.exchange.models import Mount
from govdata.exchange.vocab import MountMode, TargetKind
from govdata.lake.tables import Lake
from govdata.security.audit import FAILURE, SUCCESS, write_audit
from govdata.security.classification_models import DiscoveryScan
from govdata.security.classification_schemas import ScanStatus, ScanTarget
from govdata.security.context_types import SYSTEM
from govdata.security.discovery import describe, sample_lake, sample_source, scan_sample
from govdata.security.discovery_actions import JOB_KIND, record_findings
from govdata.sources import registry
from govdata.sources import secrets as sealing

AUDIT_SCAN = "security.discovery.scan"
Progress = Callable[[int, "int | None", "str | None"], None]
STEPS = 3


@dataclass(frozen=True)
class _Plan:
    scan_id: str
    kind: ScanTarget
    entry_id: str | None
    source_id: str | None
    table: str | None
    rows: int
    mount: Mount | None  # detached


def _mount(s: Session, scan: DiscoveryScan) -> Mount | None:
    if scan.target_kind == ScanTarget.SOURCE:
        stmt = select(Mount).where(
            Mount.source_id == scan.source_id,
            Mount.target == scan.table_name,
            Mount.target_kind == TargetKind.TABLE.value,
        )
    elif scan.target_kind == ScanTarget.LAKE:
        stmt = select(Mount).where(Mount.lake_table == scan.table_name)
    else:
        stmt = select(Mount).where(Mount.entry_id == scan.entry_id)
    mount = s.scalars(stmt).first()
    if mount is not None:
        s.expunge(mount)
    return mount


def _begin(db: Database, scan_id: str) -> _Plan | None:
    with db.transaction(immediate=True) as s:
        scan = s.get(DiscoveryScan, scan_id, with_for_update=True)
        if scan is None or scan.status in (ScanStatus.SUCCEEDED, ScanStatus.FAILED):
            return None
        scan.status = ScanStatus.RUNNING.value
        scan.started_at = now()
        return _Plan(
            scan_id=scan.id,
            kind=ScanTarget(scan.target_kind),
            entry_id=scan.entry_id,
            source_id=scan.source_id,
            table=scan.table_name,
            rows=scan.sample_rows,
            mount=_mount(s, scan),
        )


def _no_data(plan: _Plan) -> InvalidInput:
    return InvalidInput(
        "尚无可扫描的数据（湖表未建立）",
        "There is no data to scan yet (the lake table does not exist)",
        code="discovery_no_data",
        details={"table": plan.table},
    )


def _read(db: Database, settings: Settings, plan: _Plan) -> tuple[pa.Table, dict[str, str]]:
    """The sample, and the catalog item each of its columns holds."""
    mount = plan.mount
    if plan.kind == ScanTarget.SOURCE:
        assert plan.source_id is not None and plan.table is not None
        by_column = {str(c["column"]): str(c["item"]) for c in (mount.columns if mount else [])}
        with db.transaction() as s:
            facts = registry.source_facts(s, plan.source_id)
        if facts is None:
            raise InvalidInput("数据源不存在", "Source not found", code="discovery_target_invalid")
        table = plan.table
        if facts.kind == "postgresql" and "." not in table:
            table = f"{facts.config.get('schema') or 'public'}.{table}"
        try:
            connector = registry.connector_for(settings, facts)
            return sample_source(connector, table, plan.rows), by_column
        except GovDataError as exc:
            hidden = sealing.hidden_values(registry.credentials(settings, facts))
            raise sealing.scrubbed(exc, hidden) from None
    assert mount is not None
    by_field = {str(c["field"]): str(c["item"]) for c in mount.columns if c.get("item")}
    if mount.mode == MountMode.PHYSICAL:
        lake = Lake.from_settings(settings)
        if not mount.lake_table or not lake.exists(mount.lake_table):
            raise _no_data(plan)
        return sample_lake(lake, mount.lake_table, plan.rows), by_field
    with db.transaction() as s:
        return logical.fetch(s, settings, mount, limit=plan.rows), by_field


def _finish(
    db: Database, plan: _Plan, sample: pa.Table, by_column: dict[str, str]
) -> dict[str, Any]:
    findings = scan_sample(sample)
    with db.transaction(immediate=True) as s:
        scan = s.get(DiscoveryScan, plan.scan_id, with_for_update=True)
        assert scan is not None
        scan.columns.clear()
        s.flush()
        record_findings(s, scan, findings, by_column)
        scan.rows_sampled = sample.num_rows
        scan.status = ScanStatus.SUCCEEDED.value
        scan.finished_at = now()
        found = {f.column: f.kind.value for f in findings if f.kind is not None}
        write_audit(
            s,
            SYSTEM,
            AUDIT_SCAN,
            target_type="discovery_scan",
            target_id=scan.id,
            outcome=SUCCESS,
            fields=list(sample.column_names),
            row_count=sample.num_rows,
            details={
                "entry_id": scan.entry_id,
                "source_id": scan.source_id,
                "table": scan.table_name,
                "started_by": scan.created_by_name,
                "found": found,
            },
        )
    return {"scan_id": plan.scan_id, "rows_sampled": sample.num_rows, "columns": describe(findings)}


def _fail(db: Database, scan_id: str, code: str, message: str) -> None:
    with db.transaction(immediate=True) as s:
        scan = s.get(DiscoveryScan, scan_id, with_for_update=True)
        if scan is None:
            return
        scan.status = ScanStatus.FAILED.value
        scan.finished_at = now()
        scan.error_code = code
        scan.error_message = message[:4000]
        write_audit(
            s,
            SYSTEM,
            AUDIT_SCAN,
            target_type="discovery_scan",
            target_id=scan.id,
            outcome=FAILURE,
            row_count=0,
            details={"error": code},
        )


def run_scan(
    db: Database, settings: Settings, scan_id: str, progress: Progress | None = None
) -> dict[str, Any]:
    """Run one queued scan to its end (see the module docstring)."""
    report: Progress = progress or (lambda _done, _total, _message: None)
    plan = _begin(db, scan_id)
    if plan is None:
        return {"scan_id": scan_id, "skipped": True}
    try:
        report(0, STEPS, "sampling")
        sample, by_column = _read(db, settings, plan)
        report(1, STEPS, f"scanning {sample.num_rows} rows")
        result = _finish(db, plan, sample, by_column)
    except GovDataError as exc:
        _fail(db, scan_id, exc.code, f"{exc.message_zh} / {exc.message_en}")
        raise JobFailed(f"{exc.code}: {exc.message_en}") from None
    except Exception as exc:
        _fail(db, scan_id, "discovery_failed", type(exc).__name__)
        raise JobFailed(traceback.format_exc()) from None
    report(STEPS, STEPS, "done")
    return result


@job_handler(JOB_KIND)
def discovery_scan_job(job: JobRun) -> dict[str, Any] | None:
    scan_id = job.payload.get("scan_id")
    if not isinstance(scan_id, str):
        raise JobFailed("payload needs scan_id")
    return run_scan(job.db, job.settings, scan_id, job.progress)
