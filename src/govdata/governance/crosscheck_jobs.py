"""The job that runs a cross-source check: ``governance.crosscheck`` (payload ``{"run_id"}``).

It marks the queued run running, compares its sources (the snapshot taken when the run was
queued) outside any store transaction — the lake is read as Arrow streams by DuckDB — and
stores the figures and the capped conflict list in one transaction, audited by the system
(``governance.crosscheck.run``). A run that cannot read its data ends ``failed`` with the
error, and the job fails for good: start a new run.
"""

from __future__ import annotations

from typing import Any

from govdata.core.clock import now
from govdata.core.jobs.registry import job_handler
from govdata.core.jobs.worker import JobFailed, JobRun
from govdata.governance import crosscheck_runs
from govdata.governance.crosscheck_models import CrosscheckRun, CrosscheckSubject
from govdata.governance.crosscheck_schemas import RunStatus
from govdata.governance.job_failure import fail_row
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM


@job_handler(crosscheck_runs.JOB_KIND)
def run_crosscheck(job: JobRun) -> dict[str, Any] | None:
    run_id = str(job.payload.get("run_id", ""))
    db, settings = job.db, job.settings
    with db.transaction(immediate=True) as s:
        run = s.get(CrosscheckRun, run_id)
        if run is None:
            raise JobFailed(f"cross-source check run {run_id} not found")
        if run.status == RunStatus.SUCCEEDED:
            return {"run_id": run_id, "status": run.status}
        subject = s.get(CrosscheckSubject, run.subject_id)
        if subject is None:
            raise JobFailed(f"subject of run {run_id} not found")
        run.status = RunStatus.RUNNING.value
        run.started_at = now()
        sources, order = list(run.sources or []), dict(run.authority or {})
        s.expunge(subject)
    try:
        result = crosscheck_runs.compute(
            settings, subject, sources, order, lambda d, t, m: job.progress(d, t, m)
        )
    except Exception as exc:  # the run records why it failed; the job fails for good
        raise fail_row(
            db,
            settings,
            CrosscheckRun,
            run_id,
            exc,
            action="governance.crosscheck.run",
            target=lambda r: ("governance_crosscheck_run", run_id),
            details=lambda r: {"subject": r.subject_code},
        ) from exc
    with Caller(db, settings, SYSTEM).act() as ctx:
        run = ctx.session.get(CrosscheckRun, run_id)
        assert run is not None
        crosscheck_runs.store_result(ctx.session, run, result)
        ctx.audit(
            "governance.crosscheck.run",
            target_type="governance_crosscheck_run",
            target_id=run.id,
            details=crosscheck_runs.run_summary(run),
        )
        summary = {"run_id": run.id, "status": run.status, "conflicts": run.conflict_count}
    job.progress(1, 1, "done")
    return summary
