"""Portal pages of base libraries (基础库) and duplicate checks.

Thin shells over ``governance.baselib``, ``baselib_catalog`` and ``baselib_dupes``: the
library list with the build button and the duplicate-check form, a library (fields and
their authority order, sources, builds, cluster sizes as an ECharts bar, golden-record
search, the catalog entry), a build with its job progress, a golden record with each
field's provenance and its linked source records, and a duplicate check.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response

from govdata.core import i18n
from govdata.core.errors import GovDataError
from govdata.core.jobs import actions as job_actions
from govdata.governance import baselib, baselib_catalog, baselib_dupes, linkage
from govdata.governance.baselib_schemas import (
    AttachIn,
    BuildIn,
    BuildStatus,
    DuplicateCheckIn,
    LibraryOut,
)
from govdata.security.permissions import Perm
from govdata.web.portal import Page, PortalRouter, UserForm, UserPage, parse
from govdata.web.templating import N_

router = PortalRouter()

BASE = "/governance/baselibs"
DUPES = "/governance/duplicate-checks"
POLL_SECONDS = 1
TONE = {"queued": "gray", "running": "blue", "succeeded": "green", "failed": "red"}
FINAL = (BuildStatus.SUCCEEDED.value, BuildStatus.FAILED.value)
LABELS = {"entry": N_("Catalog entry"), "subject": N_("Subject")}
DONE = {"attached": N_("The library is cataloged by the entry.")}


def _tone(status: object) -> str:
    return TONE.get(str(status), "gray")


def _done(page: Page) -> str | None:
    message = DONE.get(page.request.query_params.get("done", ""))
    return i18n.translations(page.locale).gettext(message) if message else None


def _job(page: Page, job_id: str | None) -> Any:
    """A build's or check's job with its progress, for those who may read it (else None)."""
    if job_id is None or not page.can(Perm.JOB_READ):
        return None
    try:
        with page.act() as ctx:
            return job_actions.get_job(ctx, job_id)
    except GovDataError:
        return None


# -- libraries ------------------------------------------------------------------------------


def _list_page(
    page: Page, *, error: str | None = None, status: int = 200, typed: dict[str, str] | None = None
) -> Response:
    with page.act() as ctx:
        libraries = baselib.list_libraries(ctx)
        checks = baselib_dupes.list_checks(ctx, limit=10)
    return page.render(
        "governance/baselibs.html",
        status=status,
        libraries=libraries,
        checks=checks,
        subjects=[(s.code, s.label) for s in linkage.SUBJECTS.values()],
        manage=page.can(Perm.GOVERNANCE_MANAGE),
        check=page.can(Perm.QUALITY_MANAGE),
        tone=_tone,
        typed=typed or {},
        error=error,
    )


@router.get(BASE)
def libraries_page(page: UserPage) -> Response:
    return _list_page(page)


@router.post(BASE + "/{code}/builds")
def start_build(page: UserForm, code: str) -> Response:
    retrain = page.field("retrain") == "1"
    try:
        with page.act() as ctx:
            build = baselib.start_build(ctx, code, BuildIn(retrain=retrain))
    except GovDataError as exc:
        if exc.status in (401, 403, 404):
            raise
        return _list_page(page, error=page.message(exc), status=exc.status)
    return page.redirect(f"{BASE}/{code}/builds/{build.id}")


def _chart(lib: LibraryOut) -> dict[str, Any]:
    return {
        "labels": [str(c.size) for c in lib.cluster_sizes],
        "values": [c.entities for c in lib.cluster_sizes],
    }


def _library_page(
    page: Page, code: str, *, q: str = "", error: str | None = None, status: int = 200
) -> Response:
    with page.act() as ctx:
        lib = baselib.get_library(ctx, code)
        found = baselib.search_records(ctx, code, q) if q.strip() and lib.built else None
    return page.render(
        "governance/baselib.html",
        status=status,
        lib=lib,
        found=found,
        q=q,
        chart=_chart(lib),
        source_labels={s.id: s.label for s in lib.sources},
        manage=page.can(Perm.GOVERNANCE_MANAGE),
        tone=_tone,
        error=error,
        notice=_done(page),
    )


@router.get(BASE + "/{code}")
def library_page(page: UserPage, code: str, q: str = "") -> Response:
    return _library_page(page, code, q=q[:128])


@router.post(BASE + "/{code}/entry")
def attach_entry(page: UserForm, code: str) -> Response:
    try:
        data = parse(AttachIn, {"entry": page.field("entry")}, LABELS)
        with page.act() as ctx:
            baselib_catalog.attach_entry(ctx, code, data)
    except GovDataError as exc:
        if exc.status in (401, 403) or exc.code == "baselib_not_found":
            raise
        return _library_page(page, code, error=page.message(exc), status=exc.status)
    return page.redirect(f"{BASE}/{code}?done=attached")


# -- builds ---------------------------------------------------------------------------------


@router.get(BASE + "/{code}/builds/{build_id}")
def build_page(page: UserPage, code: str, build_id: str) -> Response:
    with page.act() as ctx:
        build = baselib.get_build(ctx, code, build_id)
        lib = baselib.get_library(ctx, code)
    return page.render(
        "governance/baselib_build.html",
        build=build,
        lib=lib,
        job=_job(page, build.job_id),
        final=FINAL,
        poll_seconds=POLL_SECONDS,
        tone=_tone,
    )


@router.get(BASE + "/{code}/builds/{build_id}/progress")
def build_progress(page: UserPage, code: str, build_id: str) -> Response:
    """The progress panel, polled while the build is queued or running; once it has ended
    the whole page reloads to show the results."""
    with page.act() as ctx:
        build = baselib.get_build(ctx, code, build_id)
    response = page.render(
        "governance/_baselib_progress.html",
        item=build,
        url=f"{BASE}/{code}/builds/{build_id}/progress",
        job=_job(page, build.job_id),
        final=FINAL,
        poll_seconds=POLL_SECONDS,
        tone=_tone,
    )
    if build.status in FINAL:
        response.headers["HX-Refresh"] = "true"
    return response


# -- golden records -------------------------------------------------------------------------


@router.get(BASE + "/{code}/records/{entity_id}")
def record_page(page: UserPage, code: str, entity_id: str) -> Response:
    with page.act() as ctx:
        lib = baselib.get_library(ctx, code)
        record = baselib.get_record(ctx, code, entity_id)
    subject = linkage.SUBJECTS[code]
    return page.render(
        "governance/baselib_record.html",
        lib=lib,
        record=record,
        fields=[(f.name, f.label) for f in subject.fields],
    )


# -- duplicate checks -----------------------------------------------------------------------


@router.post(DUPES)
def start_check(page: UserForm) -> Response:
    typed = {k: page.field(k) for k in ("entry", "subject")}
    try:
        data = parse(
            DuplicateCheckIn,
            {"entry": typed["entry"], "subject": typed["subject"] or "population"},
            LABELS,
        )
        with page.act() as ctx:
            out = baselib_dupes.start_check(ctx, data)
    except GovDataError as exc:
        if exc.status in (401, 403):
            raise
        return _list_page(page, error=page.message(exc), status=exc.status, typed=typed)
    return page.redirect(f"{DUPES}/{out.id}")


@router.get(DUPES + "/{check_id}")
def check_page(page: UserPage, check_id: str) -> Response:
    with page.act() as ctx:
        check = baselib_dupes.get_check(ctx, check_id)
    return page.render(
        "governance/duplicate_check.html",
        check=check,
        job=_job(page, check.job_id),
        final=FINAL,
        poll_seconds=POLL_SECONDS,
        tone=_tone,
    )


@router.get(DUPES + "/{check_id}/progress")
def check_progress(page: UserPage, check_id: str) -> Response:
    with page.act() as ctx:
        check = baselib_dupes.get_check(ctx, check_id)
    response = page.render(
        "governance/_baselib_progress.html",
        item=check,
        url=f"{DUPES}/{check_id}/progress",
        job=_job(page, check.job_id),
        final=FINAL,
        poll_seconds=POLL_SECONDS,
        tone=_tone,
    )
    if check.status in FINAL:
        response.headers["HX-Refresh"] = "true"
    return response
