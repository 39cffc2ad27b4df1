"""Portal pages of cross-source checks (多源校核) and authoritative sources (权威数据源).

Thin shells over ``governance.crosscheck``, ``crosscheck_runs`` and ``authority``: the subject
list, a subject's sources and authority editor (the operator's forms), the run button, a run
with its job progress, the agreement per field (table and ECharts bar) and the conflict
explorer (filter by field and source, a page at a time).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi import Response

from govdata.core import i18n
from govdata.core.errors import GovDataError, InvalidInput
from govdata.core.jobs import actions as job_actions
from govdata.governance import authority, crosscheck, crosscheck_runs
from govdata.governance.crosscheck_schemas import (
    KIND_LABELS,
    AuthorityIn,
    FieldKind,
    RunOut,
    RunStatus,
    SourceIn,
    SubjectIn,
    SubjectOut,
    SubjectUpdate,
)
from govdata.governance.vocab import label
from govdata.security.permissions import Perm
from govdata.web.portal import Page, PortalRouter, UserForm, UserPage, parse
from govdata.web.templating import N_

router = PortalRouter()

BASE = "/governance/crosscheck"
POLL_SECONDS = 1
LABELS = {
    "code": N_("Code"),
    "name": N_("Name"),
    "key_field": N_("Key field"),
    "fields": N_("Fields"),
    "entry": N_("Catalog entry"),
    "label": N_("Short name"),
    "mapping": N_("Field mapping"),
}
DONE = {
    "subject": N_("Subject added."),
    "source": N_("Source added."),
    "removed": N_("Source removed."),
    "authority": N_("Authority order saved."),
    "saved": N_("Subject saved."),
}
TONE = {"queued": "gray", "running": "blue", "succeeded": "green", "failed": "red"}
FINAL = (RunStatus.SUCCEEDED, RunStatus.FAILED)
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _done(page: Page) -> str | None:
    message = DONE.get(page.request.query_params.get("done", ""))
    return i18n.translations(page.locale).gettext(message) if message else None


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _fields(text: str) -> list[dict[str, str]]:
    """``code|label|kind`` per line."""
    fields = []
    for line in _lines(text):
        parts = [p.strip() for p in re.split(r"[|｜,，]", line)]
        fields.append(
            {
                "code": parts[0],
                "label": parts[1] if len(parts) > 1 else parts[0],
                "kind": parts[2] if len(parts) > 2 else "text",
            }
        )
    return fields


def _mapping(text: str) -> dict[str, str]:
    """``field=column`` per line."""
    mapping = {}
    for line in _lines(text):
        field, _sep, column = line.partition("=")
        mapping[field.strip()] = column.strip()
    return mapping


# -- subjects -----------------------------------------------------------------------------------


def _list_page(
    page: Page, *, error: str | None = None, status: int = 200, typed: dict[str, str] | None = None
) -> Response:
    with page.act() as ctx:
        subjects = crosscheck.list_subjects(ctx)
    return page.render(
        "governance/crosscheck.html",
        status=status,
        subjects=subjects,
        manage=page.can(Perm.GOVERNANCE_MANAGE),
        kinds=[(k.value, label(KIND_LABELS, k.value, page.locale)) for k in FieldKind],
        tone=lambda s: TONE.get(str(s), "gray"),
        typed=typed or {},
        error=error,
        notice=_done(page),
    )


@router.get(BASE)
def subjects_page(page: UserPage) -> Response:
    return _list_page(page)


@router.post(BASE)
def create_subject(page: UserForm) -> Response:
    typed = {k: page.field(k) for k in ("code", "name", "key_field", "fields", "description")}
    try:
        data = parse(
            SubjectIn,
            {
                "code": typed["code"],
                "name": typed["name"],
                "key_field": typed["key_field"],
                "description": typed["description"] or None,
                "fields": _fields(typed["fields"]),
            },
            LABELS,
        )
        with page.act() as ctx:
            out = crosscheck.create_subject(ctx, data)
    except GovDataError as exc:
        if exc.status in (401, 403):
            raise
        return _list_page(page, error=page.message(exc), status=exc.status, typed=typed)
    return page.redirect(f"{BASE}/subjects/{out.code}?done=subject")


def _runs_of(page: Page, subject: str) -> list[RunOut]:
    with page.act() as ctx:
        return crosscheck_runs.list_runs(ctx, subject, limit=10).items


def _subject_page(
    page: Page,
    ref: str,
    *,
    error: str | None = None,
    status: int = 200,
    typed: dict[str, str] | None = None,
) -> Response:
    with page.act() as ctx:
        subject = crosscheck.get_subject(ctx, ref)
    labels = {src.id: src.label for src in subject.sources}
    field_labels = {f.code: f.label for f in subject.fields}
    return page.render(
        "governance/crosscheck_subject.html",
        status=status,
        subject=subject,
        runs=_runs_of(page, subject.code),
        source_labels=labels,
        field_labels=field_labels,
        manage=page.can(Perm.GOVERNANCE_MANAGE),
        mapping_hint=_mapping_hint(subject),
        fields_text=_fields_text(subject),
        tone=lambda s: TONE.get(str(s), "gray"),
        typed=typed or {},
        error=error,
        notice=_done(page),
    )


def _mapping_hint(subject: SubjectOut) -> str:
    return "\n".join(f"{f.code}=" for f in subject.fields)


def _fields_text(subject: SubjectOut) -> str:
    return "\n".join(f"{f.code}|{f.label}|{f.kind}" for f in subject.fields)


@router.get(BASE + "/subjects/{subject}")
def subject_page(page: UserPage, subject: str) -> Response:
    return _subject_page(page, subject)


@router.post(BASE + "/subjects/{subject}")
def update_subject(page: UserForm, subject: str) -> Response:
    typed = {k: page.field(k) for k in ("name", "key_field", "fields", "description")}
    try:
        data = parse(
            SubjectUpdate,
            {
                "name": typed["name"],
                "key_field": typed["key_field"],
                "description": typed["description"],
                "fields": _fields(typed["fields"]),
            },
            LABELS,
        )
        with page.act() as ctx:
            out = crosscheck.update_subject(ctx, subject, data)
    except GovDataError as exc:
        if exc.status in (401, 403) or exc.code == "subject_not_found":
            raise
        return _subject_page(page, subject, error=page.message(exc), status=exc.status, typed=typed)
    return page.redirect(f"{BASE}/subjects/{out.code}?done=saved")


@router.post(BASE + "/subjects/{subject}/sources")
def add_source(page: UserForm, subject: str) -> Response:
    typed = {k: page.field(k) for k in ("entry", "label", "mapping")}
    try:
        data = parse(
            SourceIn,
            {
                "entry": typed["entry"],
                "label": typed["label"],
                "mapping": _mapping(typed["mapping"]),
            },
            LABELS,
        )
        with page.act() as ctx:
            out = crosscheck.add_source(ctx, subject, data)
    except GovDataError as exc:
        if exc.status in (401, 403) or exc.code == "subject_not_found":
            raise
        return _subject_page(page, subject, error=page.message(exc), status=exc.status, typed=typed)
    return page.redirect(f"{BASE}/subjects/{out.subject_id}?done=source")


@router.post(BASE + "/sources/{source_id}/remove")
def remove_source(page: UserForm, source_id: str) -> Response:
    subject = page.field("subject")
    with page.act() as ctx:
        crosscheck.remove_source(ctx, source_id)
    if not _CODE.match(subject):
        return page.redirect(BASE)
    return page.redirect(f"{BASE}/subjects/{subject}?done=removed")


@router.post(BASE + "/subjects/{subject}/authority")
def set_authority(page: UserForm, subject: str) -> Response:
    field = page.field("field")
    order: list[str] = []
    for sid in page.fields("order"):
        if sid and sid not in order:
            order.append(sid)
    try:
        with page.act() as ctx:
            authority.set_authority(ctx, subject, field, AuthorityIn(sources=order))
    except GovDataError as exc:
        if exc.status in (401, 403) or exc.code == "subject_not_found":
            raise
        return _subject_page(page, subject, error=page.message(exc), status=exc.status)
    return page.redirect(f"{BASE}/subjects/{subject}?done=authority#authority")


@router.post(BASE + "/subjects/{subject}/runs")
def start_run(page: UserForm, subject: str) -> Response:
    try:
        with page.act() as ctx:
            run = crosscheck_runs.start_run(ctx, subject)
    except InvalidInput as exc:
        return _subject_page(page, subject, error=page.message(exc), status=exc.status)
    return page.redirect(f"{BASE}/runs/{run.id}")


# -- runs ---------------------------------------------------------------------------------------


def _job(page: Page, run: RunOut) -> Any:
    """The run's job with its progress, for those who may read it (else None)."""
    if run.job_id is None or not page.can(Perm.JOB_READ):
        return None
    try:
        with page.act() as ctx:
            return job_actions.get_job(ctx, run.job_id)
    except GovDataError:
        return None


def _chart(run: RunOut) -> dict[str, Any]:
    overall = [a for a in run.agreements if a.source_a is None]
    return {
        "labels": [a.field_label for a in overall],
        "values": [round(100 * a.rate, 2) if a.rate is not None else 0 for a in overall],
    }


@router.get(BASE + "/runs/{run_id}")
def run_page(
    page: UserPage, run_id: str, field: str = "", source: str = "", page_no: int = 1
) -> Response:
    with page.act() as ctx:
        run = crosscheck_runs.get_run(ctx, run_id)
        subject = crosscheck.get_subject(ctx, run.subject_id)
        conflicts = None
        if run.status == RunStatus.SUCCEEDED:
            conflicts = crosscheck_runs.list_conflicts(
                ctx,
                run_id,
                field=field or None,
                source=source or None,
                page=max(1, page_no),
                size=crosscheck_runs.PAGE_SIZE,
            )
    labels = {str(s["id"]): str(s["label"]) for s in run.sources}
    query = urlencode({k: v for k, v in (("field", field), ("source", source)) if v})
    return page.render(
        "governance/crosscheck_run.html",
        run=run,
        subject=subject,
        job=_job(page, run),
        conflicts=conflicts,
        source_labels=labels,
        overall=[a for a in run.agreements if a.source_a is None],
        pairs=[a for a in run.agreements if a.source_a is not None],
        chart=_chart(run),
        filter_field=field,
        filter_source=source,
        base_query=query,
        final=[s.value for s in FINAL],
        poll_seconds=POLL_SECONDS,
        tone=lambda s: TONE.get(str(s), "gray"),
    )


@router.get(BASE + "/runs/{run_id}/progress")
def run_progress(page: UserPage, run_id: str) -> Response:
    """The progress panel, polled while the run is queued or running; once it has ended
    the whole page reloads to show the results."""
    with page.act() as ctx:
        run = crosscheck_runs.get_run(ctx, run_id)
    response = page.render(
        "governance/_crosscheck_progress.html",
        run=run,
        job=_job(page, run),
        final=[s.value for s in FINAL],
        poll_seconds=POLL_SECONDS,
        tone=lambda s: TONE.get(str(s), "gray"),
    )
    if run.status in FINAL:
        response.headers["HX-Refresh"] = "true"
    return response
