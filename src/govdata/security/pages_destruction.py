"""Portal pages of secure destruction (数据安全销毁) and of key management (密钥管理).
Thin shells over ``security.destruction`` and ``security.crypto.actions``."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Response

from govdata.core import i18n
from govdata.core.errors import GovDataError
from govdata.security import destruction
from govdata.security.crypto import actions as keys
from govdata.security.destruction_schemas import (
    DecisionIn,
    DestructionIn,
    DestructionStatus,
    status_label,
)
from govdata.security.permissions import Perm
from govdata.web.portal import Page, PortalRouter, UserForm, UserPage, parse
from govdata.web.templating import N_

router = PortalRouter()

LABELS = {"entry": N_("Catalog entry"), "reason": N_("Reason"), "note": N_("Note")}
STEP_LABELS = {
    "pipelines": N_("Pipelines paused"),
    "manifest": N_("Manifest of the files recorded"),
    "keys": N_("Data keys destroyed"),
    "files": N_("Files and versions deleted"),
    "sharing": N_("Grants and subscriptions ended"),
    "certified": N_("Certificate written to the audit ledger"),
}
DONE = {
    "requested": N_("Destruction requested: the security administrator decides."),
    "approved": N_("Destruction approved: it runs as a job and ends with a certificate."),
    "rejected": N_("Destruction request rejected."),
    "rotated": N_("New master key installed; everything is being rewrapped."),
    "rewrap": N_("Rewrap started."),
}
TONE = {
    "pending": "amber",
    "approved": "blue",
    "destroying": "blue",
    "completed": "green",
    "rejected": "gray",
    "failed": "red",
}


def _done(page: Page) -> str | None:
    message = DONE.get(page.request.query_params.get("done", ""))
    return i18n.translations(page.locale).gettext(message) if message else None


def _list_page(
    page: Page, *, error: str | None = None, status: int = 200, typed: dict[str, str] | None = None
) -> Response:
    raw = page.request.query_params.get("status") or ""
    chosen = DestructionStatus(raw) if raw in DestructionStatus.__members__.values() else None
    with page.act() as ctx:
        result = destruction.list_destructions(ctx, status=chosen, limit=100)
    return page.render(
        "security/destructions.html",
        status=status,
        result=result,
        statuses=list(DestructionStatus),
        filter_status=raw,
        may_request=page.can(Perm.EXCHANGE_MANAGE),
        tone=lambda s: TONE.get(str(s), "gray"),
        label=lambda s: status_label(str(s), page.locale),
        typed=typed or {},
        error=error,
        notice=_done(page),
    )


@router.get("/security/destructions")
def destructions_page(page: UserPage) -> Response:
    return _list_page(page)


@router.post("/security/destructions")
def request_destruction(page: UserForm) -> Response:
    typed = {"entry": page.field("entry"), "reason": page.field("reason")}
    try:
        data = parse(DestructionIn, typed, LABELS)
        with page.act() as ctx:
            out = destruction.request_destruction(ctx, data)
    except GovDataError as exc:
        if exc.status in (401, 403):
            raise
        return _list_page(page, error=page.message(exc), status=exc.status, typed=typed)
    return page.redirect(f"/security/destructions/{out.id}?done=requested")


def _detail(
    page: Page, request_id: str, *, error: str | None = None, status: int = 200
) -> Response:
    with page.act() as ctx:
        req = destruction.get_destruction(ctx, request_id)
    return page.render(
        "security/destruction_detail.html",
        status=status,
        req=req,
        steps=STEP_LABELS,
        decide=page.can(Perm.SECURITY_MANAGE) and req.status == DestructionStatus.PENDING,
        tone=lambda s: TONE.get(str(s), "gray"),
        error=error,
        notice=_done(page),
    )


@router.get("/security/destructions/{request_id}")
def destruction_page(page: UserPage, request_id: str) -> Response:
    return _detail(page, request_id)


@router.post("/security/destructions/{request_id}/decision")
def decide(page: UserForm, request_id: str) -> Response:
    approve = page.field("decision") == "approve"
    try:
        data = parse(DecisionIn, {"approve": approve, "note": page.field("note") or None}, LABELS)
        with page.act() as ctx:
            destruction.decide_destruction(ctx, request_id, data)
    except GovDataError as exc:
        if exc.status in (401, 404) or exc.code == "permission_denied":
            raise
        return _detail(page, request_id, error=page.message(exc), status=exc.status)
    done = "approved" if approve else "rejected"
    return page.redirect(f"/security/destructions/{request_id}?done={done}")


@router.get("/security/destructions/{request_id}/certificate.json")
def certificate(page: UserPage, request_id: str) -> Response:
    with page.act() as ctx:
        cert: dict[str, Any] = destruction.certificate(ctx, request_id)
    name = f"destruction-{cert.get('certificate_no', request_id)}.json"
    return Response(
        json.dumps(cert, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


# -- keys ---------------------------------------------------------------------------------------


def _keys_page(page: Page, *, error: str | None = None, status: int = 200) -> Response:
    with page.act() as ctx:
        state = keys.key_status(ctx)
        data_keys = keys.list_data_keys(ctx)
    return page.render(
        "security/keys.html",
        status=status,
        state=state,
        data_keys=data_keys,
        error=error,
        notice=_done(page),
    )


@router.get("/security/keys")
def keys_page(page: UserPage) -> Response:
    return _keys_page(page)


@router.post("/security/keys/rotate")
def rotate_master(page: UserForm) -> Response:
    try:
        with page.act() as ctx:
            keys.rotate_master_key(ctx)
    except GovDataError as exc:
        if exc.status in (401, 403):
            raise
        return _keys_page(page, error=page.message(exc), status=exc.status)
    return page.redirect("/security/keys?done=rotated")


@router.post("/security/keys/rewrap")
def rewrap(page: UserForm) -> Response:
    with page.act() as ctx:
        keys.start_rewrap(ctx)
    return page.redirect("/security/keys?done=rewrap")
