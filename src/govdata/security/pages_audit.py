"""The auditor's pages (审计管理员): search the audit trail, trace a data record, see one record
with its ledger proof, export with a proof bundle, and the ledger's verification status."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import Response
from pydantic import ValidationError
from sqlalchemy import select

from govdata.core.clock import DISPLAY_TZ, now
from govdata.core.errors import GovDataError, InvalidInput, NotFound
from govdata.identity.models import Department
from govdata.security import actions
from govdata.security.audit_export import export_audit
from govdata.security.ledger import actions as ledger_actions
from govdata.security.ledger import bundle
from govdata.security.models import AuditRecord
from govdata.security.permissions import Perm
from govdata.security.schemas import AuditFilter, AuditRecordOut
from govdata.web.portal import Page, PortalRouter, UserForm, UserPage

router = PortalRouter()

PAGE_SIZE = 50
FILTER_FIELDS = ("actor", "department_id", "entry", "action", "outcome", "since", "until", "key")
OUTCOMES = ("success", "denied", "failure")
ZIP = "application/zip"


def _time(value: str) -> datetime | None:
    """A date or a date and time as typed in the form, read as Beijing time."""
    if not value:
        return None
    for fmt in ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=DISPLAY_TZ)
        except ValueError:
            continue
    raise InvalidInput(
        f"时间“{value}”无法识别，请用 2026-12-01 或 2026-12-01 08:30",
        f"Cannot read the time {value!r}; use 2026-12-01 or 2026-12-01 08:30",
        code="invalid_time",
    )


def _filter(page: Page) -> tuple[dict[str, str], AuditFilter]:
    chosen = {k: page.request.query_params.get(k, "").strip() for k in FILTER_FIELDS}
    try:
        f = AuditFilter(
            actor=chosen["actor"] or None,
            department_id=chosen["department_id"] or None,
            entry=chosen["entry"] or None,
            action=chosen["action"] or None,
            outcome=chosen["outcome"] or None,
            since=_time(chosen["since"]),
            until=_time(chosen["until"]),
            key=chosen["key"] or None,
        )
    except ValidationError as exc:
        raise InvalidInput("筛选条件不合法", "Invalid filter", details=exc.errors()) from exc
    return chosen, f


def _departments(page: Page) -> list[tuple[str, str]]:
    with page.caller.db.sessions() as s:
        rows = s.execute(select(Department.id, Department.name).order_by(Department.name))
        return [(i, n) for i, n in rows]


def _query(chosen: dict[str, str]) -> str:
    return urlencode({k: v for k, v in chosen.items() if v})


@router.get("/audit")
def audit_records(page: UserPage, cursor: str = "") -> Response:
    """Search and filter the audit trail (actor, department, entry, action, outcome, time)."""
    error = None
    chosen: dict[str, str] = {k: "" for k in FILTER_FIELDS}
    try:
        chosen, f = _filter(page)
        with page.act() as ctx:
            result = actions.list_audit_records(ctx, f, limit=PAGE_SIZE, cursor=cursor or None)
    except GovDataError as exc:
        if exc.status in (401, 403):
            raise
        error = page.message(exc)
        with page.act() as ctx:
            result = actions.list_audit_records(ctx, AuditFilter(), limit=PAGE_SIZE)
    return page.render(
        "security/audit_records.html",
        result=result,
        chosen=chosen,
        query=_query(chosen),
        cursor=cursor,
        outcomes=OUTCOMES,
        departments=_departments(page),
        error=error,
    )


@router.get("/audit/trace")
def trace(page: UserPage, entry: str = "", key: str = "") -> Response:
    """Who read one data record, when, from where, and under which grant."""
    result = None
    error = None
    if entry or key:
        try:
            if not (entry and key):
                raise InvalidInput(
                    "请同时填写目录和记录主键",
                    "Give both the entry and the record's key",
                    code="trace_incomplete",
                )
            with page.act() as ctx:
                result = actions.list_audit_records(
                    ctx, AuditFilter(entry=entry.strip(), key=key.strip()), limit=200
                )
        except GovDataError as exc:
            if exc.status in (401, 403):
                raise
            error = page.message(exc)
    elif not page.can(Perm.AUDIT_READ):
        with page.act() as ctx:
            ctx.require(Perm.AUDIT_READ)
    return page.render(
        "security/audit_trace.html", result=result, entry=entry, key=key, error=error
    )


@router.get("/audit/records/{record_id}")
def audit_record(page: UserPage, record_id: str) -> Response:
    """One record, and the proof that it is in the ledger under the latest signed head."""
    with page.act() as ctx:
        ctx.require(Perm.AUDIT_READ)
        record = ctx.session.get(AuditRecord, record_id)
        if record is None:
            raise NotFound("审计记录不存在", "No such audit record", code="audit_record_unknown")
        out = AuditRecordOut.model_validate(record)
    proof: dict[str, Any] | None = None
    problems: list[str] = []
    error = None
    try:
        with page.act() as ctx:
            proof = ledger_actions.prove_inclusion(ctx, record_id).model_dump(mode="json")
        problems = bundle.check_inclusion(proof)
    except GovDataError as exc:
        error = page.message(exc)
    return page.render(
        "security/audit_record.html", record=out, proof=proof, problems=problems, error=error
    )


@router.get("/audit/records/{record_id}/proof.json")
def audit_record_proof(page: UserPage, record_id: str) -> Response:
    with page.act() as ctx:
        ctx.require(Perm.AUDIT_READ)
        proof = ledger_actions.prove_inclusion(ctx, record_id)
    return Response(
        proof.model_dump_json(indent=1),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="proof-{record_id}.json"'},
    )


@router.get("/audit/export.zip")
def export(page: UserPage) -> Response:
    """The filtered records as Excel, with the proof bundle that they are in the ledger."""
    try:
        _chosen, f = _filter(page)
        with page.act() as ctx:
            body = export_audit(ctx, f)
    except GovDataError as exc:
        if exc.status in (401, 403):
            raise
        return page.render(
            "security/audit_export_error.html", status=exc.status, error=page.message(exc)
        )
    stamp = now().strftime("%Y%m%d-%H%M%S")
    return Response(
        body,
        media_type=ZIP,
        headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.zip"'},
    )


@router.get("/audit/ledger")
def ledger(page: UserPage) -> Response:
    """The ledger: latest signed head, last verification, lower nodes anchored here."""
    with page.act() as ctx:
        verification = ledger_actions.verification_status(ctx)
        head = ledger_actions.tree_head(ctx)
        peers = ledger_actions.list_peers(ctx)
    return page.render(
        "security/audit_ledger.html", verification=verification, head=head, peers=peers
    )


@router.post("/audit/ledger/verify")
def start_verification(page: UserForm) -> Response:
    with page.act() as ctx:
        ledger_actions.start_verification(ctx)
    return page.redirect("/audit/ledger", "ledger_verify_started")
