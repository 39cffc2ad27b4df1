"""Base-library jobs: ``governance.baselib_build`` (payload ``{"build_id"}``) and
``governance.baselib_dedupe`` (payload ``{"check_id"}``).

Each marks its row running, computes outside any store transaction (the lake is read as
Arrow streams by DuckDB, the library's tables written in one commit each), then records
the outcome in one transaction audited by the system. A failure ends the row ``failed``
with the error and fails the job for good: start a new build or check.
"""

from __future__ import annotations

from typing import Any

from govdata.core.clock import now
from govdata.core.jobs.registry import job_handler
from govdata.core.jobs.worker import JobFailed, JobRun
from govdata.governance import baselib, baselib_dupes
from govdata.governance.baselib_models import BaseLibrary, DuplicateCheck, LibraryBuild
from govdata.governance.baselib_schemas import BuildStatus
from govdata.governance.job_failure import fail_row
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM


def _progress(job: JobRun) -> Any:
    return lambda fraction, message: job.progress(int(fraction * 100), 100, message)


@job_handler(baselib.JOB_KIND)
def build_library(job: JobRun) -> dict[str, Any] | None:
    build_id = str(job.payload.get("build_id", ""))
    db, settings = job.db, job.settings
    with db.transaction(immediate=True) as s:
        build = s.get(LibraryBuild, build_id)
        if build is None:
            raise JobFailed(f"base library build {build_id} not found")
        if build.status == BuildStatus.SUCCEEDED:
            return {"build_id": build_id, "status": build.status}
        lib = s.get(BaseLibrary, build.library_id)
        if lib is None:
            raise JobFailed(f"library of build {build_id} not found")
        build.status = BuildStatus.RUNNING.value
        build.started_at = now()
        state = baselib.library_state(s, lib)
        sources, order, retrain = list(build.sources), dict(build.authority), build.retrain
    try:
        done = baselib.compute(
            settings,
            state,
            sources,
            order,
            retrain=retrain,
            build_id=build_id,
            progress=_progress(job),
        )
    except Exception as exc:  # the build records why it failed; the job fails for good
        raise fail_row(
            db,
            settings,
            LibraryBuild,
            build_id,
            exc,
            action="governance.baselib.build",
            target=lambda b: ("governance_baselib", b.library_id),
            details=lambda b: {"build_id": build_id},
        ) from exc
    with Caller(db, settings, SYSTEM).act() as ctx:
        build = ctx.session.get(LibraryBuild, build_id)
        assert build is not None
        baselib.record_build(ctx, build, done)
        summary = {
            "build_id": build_id,
            "status": build.status,
            "mode": build.mode,
            "entities": build.entities,
        }
    job.progress(100, 100, "done")
    return summary


@job_handler(baselib_dupes.JOB_KIND)
def check_duplicates(job: JobRun) -> dict[str, Any] | None:
    check_id = str(job.payload.get("check_id", ""))
    db, settings = job.db, job.settings
    with db.transaction(immediate=True) as s:
        check = s.get(DuplicateCheck, check_id)
        if check is None:
            raise JobFailed(f"duplicate check {check_id} not found")
        if check.status == BuildStatus.SUCCEEDED:
            return {"check_id": check_id, "status": check.status}
        check.status = BuildStatus.RUNNING.value
        check.started_at = now()
        subject, table, columns = check.subject_code, str(check.lake_table), dict(check.columns)
    try:
        found = baselib_dupes.compute(settings, subject, table, columns, _progress(job))
    except Exception as exc:
        raise fail_row(
            db,
            settings,
            DuplicateCheck,
            check_id,
            exc,
            action="governance.baselib.dedupe",
            target=lambda c: ("governance_duplicate_check", check_id),
            details=lambda c: {},
        ) from exc
    with Caller(db, settings, SYSTEM).act() as ctx:
        check = ctx.session.get(DuplicateCheck, check_id)
        assert check is not None
        baselib_dupes.record_check(ctx, check, found)
        summary = {"check_id": check_id, "clusters": check.clusters}
    return summary
