"""Portal pages of the classification policy (分类分级管控) and sensitive-data discovery
(敏感数据识别). Thin shells over ``security.classification``, ``security.retention`` and
``security.discovery_actions``: the actions decide who sees and changes what."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Response
from pydantic import ValidationError

from govdata.catalog import vocab as catalog_vocab
from govdata.core import i18n
from govdata.core.errors import GovDataError, InvalidInput
from govdata.security import classification, discovery, discovery_actions, retention
from govdata.security.classification_schemas import (
    ControlsUpdate,
    ScanCreate,
    SuggestionDecision,
)
from govdata.security.permissions import Perm
from govdata.web.portal import Page, PortalRouter, UserForm, UserPage, parse
from govdata.web.templating import N_

router = PortalRouter()
PAGE_SIZE = 25

CONTROL_FIELDS = (
    ("allow_download", N_("File delivery and downloads allowed")),
    ("default_mask", N_("Personal data masked by default")),
    ("encrypt_at_rest", N_("Encrypted at rest")),
    ("watermark", N_("Delivered files watermarked")),
)
CONTROL_LABELS = {
    "grades": N_("Controls per grade"),
    "retention_days": N_("Retention of delivered copies (days)"),
}
SCAN_LABELS = {
    "entry": N_("Catalog entry"),
    "source_id": N_("Source system"),
    "table": N_("Table"),
    "sample_rows": N_("Sample rows"),
}
DONE = {
    "saved": N_("Classification policy saved."),
    "started": N_("Scan queued: the findings show here when it ends."),
    "accepted": N_("Suggestions accepted into a draft version of the entry; submit it for review."),
    "dismissed": N_("Suggestions dismissed."),
}
STATUS_TONE = {"queued": "gray", "running": "blue", "succeeded": "green", "failed": "red"}
STATE_TONE = {"pending": "amber", "accepted": "green", "dismissed": "gray", "none": "gray"}
STATUS_LABELS = {
    "queued": N_("Queued"),
    "running": N_("Running"),
    "succeeded": N_("Finished"),
    "failed": N_("Failed"),
}
STATE_LABELS = {
    "pending": N_("To decide"),
    "accepted": N_("Accepted"),
    "dismissed": N_("Dismissed"),
    "none": N_("Nothing to change"),
}
TARGET_LABELS = {
    "entry": N_("Catalog entry"),
    "lake": N_("Lake table"),
    "source": N_("Source table"),
}


def _done(page: Page) -> str | None:
    message = DONE.get(page.request.query_params.get("done", ""))
    return i18n.translations(page.locale).gettext(message) if message else None


def _refusal(exc: GovDataError) -> bool:
    return exc.status in (401, 403, 404)


def _helpers(page: Page) -> dict[str, Any]:
    locale = page.locale
    return {
        "grade_label": lambda g: catalog_vocab.label("grade", g, locale),
        "kind_label": lambda k: discovery.label(k, locale),
        "mask_label": lambda k: discovery.label(k, locale) if k else "—",
        "status_tone": lambda v: STATUS_TONE.get(str(v), "gray"),
        "state_tone": lambda v: STATE_TONE.get(str(v), "gray"),
        "status_label": lambda v: STATUS_LABELS.get(str(v), str(v)),
        "state_label": lambda v: STATE_LABELS.get(str(v), str(v)),
        "target_label": lambda v: TARGET_LABELS.get(str(v), str(v)),
        "percent": lambda r: f"{r * 100:.1f}%",
    }


# -- the policy ---------------------------------------------------------------------------------


def _policy_page(
    page: Page, *, error: str | None = None, status: int = 200, typed: dict[str, str] | None = None
) -> Response:
    manage = page.can(Perm.SECURITY_MANAGE)
    with page.act() as ctx:
        controls = classification.get_controls(ctx)
        report = retention.retention_report(ctx) if manage else []
    return page.render(
        "security/classification.html",
        status=status,
        controls=controls,
        fields=CONTROL_FIELDS,
        report=report,
        manage=manage,
        typed=typed,
        error=error,
        notice=_done(page),
        **_helpers(page),
    )


@router.get("/security/classification")
def policy_page(page: UserPage) -> Response:
    return _policy_page(page)


@router.post("/security/classification")
def save_policy(page: UserForm) -> Response:
    grades: dict[str, dict[str, Any]] = {}
    typed: dict[str, str] = {}
    for grade in classification.GRADES:
        values: dict[str, Any] = {}
        for name, _label in CONTROL_FIELDS:
            key = f"{name}-{grade}"
            typed[key] = page.field(key)
            values[name] = bool(typed[key])
        days = page.field(f"retention_days-{grade}")
        typed[f"retention_days-{grade}"] = days
        values["retention_days"] = (int(days) if days.isdigit() else days) if days else 0
        grades[str(grade)] = values
    try:
        data = parse(ControlsUpdate, {"grades": grades}, {**CONTROL_LABELS})
        with page.act() as ctx:
            classification.update_controls(ctx, data)
    except GovDataError as exc:
        if _refusal(exc):
            raise
        return _policy_page(page, error=page.message(exc), status=exc.status, typed=typed)
    return page.redirect("/security/classification?done=saved")


# -- discovery ----------------------------------------------------------------------------------


def _scans_page(
    page: Page,
    *,
    error: str | None = None,
    status: int = 200,
    typed: dict[str, str] | None = None,
) -> Response:
    entry = page.request.query_params.get("entry") or None
    cursor = page.request.query_params.get("cursor") or None
    with page.act() as ctx:
        result = discovery_actions.list_scans(ctx, entry=entry, limit=PAGE_SIZE, cursor=cursor)
    return page.render(
        "security/discovery.html",
        status=status,
        result=result,
        entry=entry or "",
        cursor=cursor,
        base_query=urlencode({"entry": entry}) if entry else "",
        may_start=page.can(Perm.DATA_PREVIEW),
        typed=typed or {},
        error=error,
        notice=_done(page),
        **_helpers(page),
    )


@router.get("/security/discovery")
def scans_page(page: UserPage) -> Response:
    return _scans_page(page)


@router.post("/security/discovery")
def start_scan(page: UserForm) -> Response:
    typed = {name: page.field(name) for name in ("target", "entry", "source_id", "table")}
    typed["sample_rows"] = page.field("sample_rows") or "1000"
    rows = typed["sample_rows"]
    data: dict[str, Any] = {"sample_rows": int(rows) if rows.isdigit() else rows}
    if typed["target"] == "source":
        data.update(source_id=typed["source_id"] or None, table=typed["table"] or None)
    else:
        data["entry"] = typed["entry"] or None
    try:
        scan_in = parse(ScanCreate, data, SCAN_LABELS)
        with page.act() as ctx:
            scan = discovery_actions.start_scan(ctx, scan_in)
    except GovDataError as exc:
        if exc.status in (401, 403):
            raise
        return _scans_page(page, error=page.message(exc), status=exc.status, typed=typed)
    return page.redirect(f"/security/discovery/{scan.id}?done=started")


def _scan_page(
    page: Page, scan_id: str, *, error: str | None = None, status: int = 200
) -> Response:
    with page.act() as ctx:
        scan = discovery_actions.get_scan(ctx, scan_id)
    may_decide = scan.entry_id is not None and page.actor.can(Perm.CATALOG_EDIT)
    return page.render(
        "security/discovery_scan.html",
        status=status,
        scan=scan,
        may_decide=may_decide,
        min_rate=discovery.MIN_HIT_RATE,
        error=error,
        notice=_done(page),
        **_helpers(page),
    )


@router.get("/security/discovery/{scan_id}")
def scan_page(page: UserPage, scan_id: str) -> Response:
    return _scan_page(page, scan_id)


def _decide(page: Page, scan_id: str, accept: bool) -> Response:
    try:
        try:
            data = SuggestionDecision(
                columns=page.fields("column"),
                grade=bool(page.field("grade")),
                note=page.field("note") or None,
            )
        except ValidationError as exc:
            raise InvalidInput(
                "请检查所选建议", "Please check the suggestions chosen", code="invalid_input"
            ) from exc
        with page.act() as ctx:
            if accept:
                discovery_actions.accept_suggestions(ctx, scan_id, data)
            else:
                discovery_actions.dismiss_suggestions(ctx, scan_id, data)
    except GovDataError as exc:
        if _refusal(exc):
            raise
        return _scan_page(page, scan_id, error=page.message(exc), status=exc.status)
    return page.redirect(
        f"/security/discovery/{scan_id}?done={'accepted' if accept else 'dismissed'}"
    )


@router.post("/security/discovery/{scan_id}/accept")
def accept(page: UserForm, scan_id: str) -> Response:
    return _decide(page, scan_id, True)


@router.post("/security/discovery/{scan_id}/dismiss")
def dismiss(page: UserForm, scan_id: str) -> Response:
    return _decide(page, scan_id, False)
