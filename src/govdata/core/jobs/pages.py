"""Portal pages of the job queue: the list with live progress, one job, cancel."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Response

from govdata.core.errors import GovDataError
from govdata.core.jobs import actions
from govdata.core.jobs.models import FINISHED, STATUSES
from govdata.core.jobs.schemas import JobOut
from govdata.security.permissions import Perm, Scope
from govdata.web.portal import Page, PortalRouter, UserForm, UserPage

router = PortalRouter()

PAGE_SIZE = 25
# How often a running job's row asks for fresh progress.
POLL_SECONDS = 1


def _common(page: Page) -> dict[str, Any]:
    return {
        "can_manage": page.actor.can(Perm.JOB_MANAGE, Scope()),
        "finished": FINISHED,
        "poll_seconds": POLL_SECONDS,
    }


@router.get("/jobs")
def jobs(page: UserPage, status: str = "", cursor: str = "") -> Response:
    error = None
    with page.act() as ctx:
        try:
            result = actions.list_jobs(
                ctx, status=status or None, limit=PAGE_SIZE, cursor=cursor or None
            )
        except GovDataError as exc:
            if exc.status in (401, 403):
                raise
            error = page.message(exc)
            result = actions.list_jobs(ctx, limit=PAGE_SIZE)
    return page.render(
        "jobs/jobs.html",
        result=result,
        filter_status=status,
        statuses=STATUSES,
        cursor=cursor,
        base_query=urlencode({"status": status}) if status else "",
        error=error,
        **_common(page),
    )


def _row(page: Page, job: JobOut) -> Response:
    return page.render("jobs/_row.html", job=job, **_common(page))


@router.get("/jobs/{job_id}/row")
def job_row(page: UserPage, job_id: str) -> Response:
    """One table row; running rows fetch this every second until the job finishes."""
    with page.act() as ctx:
        job = actions.get_job(ctx, job_id)
    return _row(page, job)


@router.get("/jobs/{job_id}")
def job_detail(page: UserPage, job_id: str) -> Response:
    with page.act() as ctx:
        job = actions.get_job(ctx, job_id)
    return page.render("jobs/job.html", job=job, **_common(page))


@router.get("/jobs/{job_id}/progress")
def job_progress(page: UserPage, job_id: str) -> Response:
    with page.act() as ctx:
        job = actions.get_job(ctx, job_id)
    return page.render("jobs/_progress_panel.html", job=job, **_common(page))


@router.post("/jobs/{job_id}/cancel")
def cancel(page: UserForm, job_id: str) -> Response:
    try:
        with page.act() as ctx:
            job = actions.cancel_job(ctx, job_id)
    except GovDataError as exc:
        if exc.status in (401, 403, 404):
            raise
        with page.act() as ctx:
            job = actions.get_job(ctx, job_id)
        if page.request.headers.get("HX-Request"):
            return page.render(
                "jobs/_row.html", job=job, row_error=page.message(exc), **_common(page)
            )
        return page.render("jobs/job.html", job=job, error=page.message(exc), **_common(page))
    if page.request.headers.get("HX-Request"):
        return _row(page, job)
    return page.redirect(f"/jobs/{job.id}", notice="job_cancel_requested")
