"""One entry: its detail page, a version, the diff of two versions, and the workflow buttons."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic import ValidationError

from govdata.catalog import actions
from govdata.catalog.pages.common import REVIEW_FIELDS, context, refusal
from govdata.catalog.schemas import (
    EntryOut,
    Finding,
    NewVersion,
    PublishRequest,
    ReturnRequest,
    VersionOut,
    WithdrawRequest,
)
from govdata.core.errors import GovDataError, InvalidInput
from govdata.exchange import mounts, pipelines
from govdata.identity import queries as org
from govdata.security.permissions import Perm, Scope
from govdata.web.portal import Page, PortalRouter, UserForm, UserPage

router = PortalRouter()

REASON_PREFIX = "reason-"


def entry_url(entry: EntryOut, suffix: str = "") -> str:
    return f"/catalog/entries/{entry.id}{suffix}"


def _findings_of(exc: GovDataError) -> list[Finding] | None:
    if exc.code != "conformance_failed" or not isinstance(exc.details, dict):
        return None
    return [Finding.model_validate(f) for f in exc.details.get("findings", [])]


def detail_page(
    page: Page,
    ref: str,
    *,
    status: int = 200,
    error: str | None = None,
    findings: list[Finding] | None = None,
    review: dict[str, Any] | None = None,
    withdraw_reason: str | None = None,
) -> Response:
    with page.act() as ctx:
        entry = actions.get_entry(ctx, ref)
        # Editors see what a submit would say, reviewers what a publish would; others nothing.
        if findings is None and {"submit", "review"} & set(entry.allowed):
            try:
                findings = actions.check_entry(ctx, entry.id)
            except GovDataError as exc:
                if refusal(exc):
                    raise
                findings = None
    shown = entry.working or entry.current
    reasons = shown.review_reasons if shown.status == "returned" else {}
    return page.render(
        "catalog/entry.html",
        status=status,
        entry=entry,
        mounted=_mounted(page, entry),
        # 申请共享: another department's published entry, for those who may apply.
        can_apply=entry.status == "published"
        and page.can(Perm.SHARING_APPLY)
        and entry.provider.id != page.actor.department_id,
        shown=shown,
        findings=findings or [],
        has_errors=any(f.severity == "error" for f in findings or []),
        reasons=reasons,
        review=review or {"comment": "", "reasons": {}, "publish_comment": ""},
        review_fields=REVIEW_FIELDS,
        withdraw_reason=withdraw_reason or "",
        withdraw_open=withdraw_reason is not None,
        error=error,
        **context(page),
    )


def _mounted(page: Page, entry: EntryOut) -> dict[str, Any] | None:
    """The entry's mount with its newest run, for those who may see collection; else None."""
    if not page.can(Perm.EXCHANGE_READ):
        return None
    try:
        with page.act() as ctx:
            mount = mounts.mount_of_entry(ctx, entry.id)
            flows = pipelines.list_pipelines(ctx, mount_id=mount.id).items if mount else []
    except GovDataError as exc:
        if refusal(exc):
            return None
        raise
    runs = [p.last_run for p in flows if p.last_run is not None]
    with page.act() as ctx:
        dept = org.department_by_id(ctx.session, entry.provider.id)
    can_mount = (
        dept is not None
        and entry.status == "published"
        and page.actor.can(Perm.EXCHANGE_MANAGE, Scope(dept.region_path, dept.id))
    )
    if mount is None and not can_mount:
        return None
    # Without a mount the block only offers "mount data", to those who may.
    return {"mount": mount, "last_run": max(runs, key=lambda r: r.started_at) if runs else None}


@router.get("/catalog/entries/{ref:path}/versions/{version_no:int}")
def version_page(page: UserPage, ref: str, version_no: int) -> Response:
    with page.act() as ctx:
        entry = actions.get_entry(ctx, ref)
        version: VersionOut = actions.get_version(ctx, entry.id, version_no)
    return page.render(
        "catalog/version.html", entry=entry, version=version, shown=version, **context(page)
    )


@router.get("/catalog/entries/{ref:path}/diff")
def diff_page(page: UserPage, ref: str) -> Response:
    params = page.request.query_params
    with page.act() as ctx:
        entry = actions.get_entry(ctx, ref)
        numbers = sorted(v.version_no for v in entry.versions)
        error = None
        diff = None
        try:
            to_no = int(params.get("to") or (numbers[-1] if numbers else 1))
            from_no = int(params.get("from") or (numbers[-2] if len(numbers) > 1 else to_no))
        except ValueError:
            from_no = to_no = numbers[-1] if numbers else 1
            error = page.message(
                InvalidInput("版本号须为整数", "Versions are numbers", code="invalid_version")
            )
        if error is None:
            try:
                diff = actions.diff_versions(ctx, entry.id, from_no, to_no)
            except GovDataError as exc:
                if exc.status in (401, 403):
                    raise
                error = page.message(exc)
    return page.render(
        "catalog/diff.html",
        status=200 if error is None else 404,
        entry=entry,
        diff=diff,
        numbers=numbers,
        from_no=from_no,
        to_no=to_no,
        error=error,
        **context(page),
    )


@router.post("/catalog/entries/{ref:path}/submit")
def submit(page: UserForm, ref: str) -> Response:
    try:
        with page.act() as ctx:
            entry = actions.submit_entry(ctx, ref)
    except GovDataError as exc:
        if refusal(exc):
            raise
        return detail_page(
            page, ref, status=exc.status, error=page.message(exc), findings=_findings_of(exc)
        )
    return page.redirect(entry_url(entry), notice="entry_submitted")


@router.post("/catalog/entries/{ref:path}/publish")
def publish(page: UserForm, ref: str) -> Response:
    comment = page.field("publish_comment")
    try:
        data = PublishRequest(comment=comment or None)
        with page.act() as ctx:
            entry = actions.publish_entry(ctx, ref, data)
    except (GovDataError, ValidationError) as exc:
        failure = _failure(exc)
        if refusal(failure):
            raise failure from None
        review = {"comment": "", "reasons": {}, "publish_comment": comment}
        return detail_page(
            page,
            ref,
            status=failure.status,
            error=page.message(failure),
            findings=_findings_of(failure),
            review=review,
        )
    return page.redirect(entry_url(entry), notice="entry_published")


def _failure(exc: GovDataError | ValidationError) -> GovDataError:
    if isinstance(exc, GovDataError):
        return exc
    return InvalidInput(
        "输入内容过长或格式不正确",
        "The input is too long or malformed",
        code="invalid_input",
        details={"errors": exc.errors(include_url=False, include_context=False)},
    )


def _reasons(page: Page) -> dict[str, str]:
    assert page.form is not None
    reasons = {}
    for key, value in page.form.multi_items():
        if key.startswith(REASON_PREFIX) and isinstance(value, str) and value.strip():
            reasons[key[len(REASON_PREFIX) :]] = value.strip()
    return reasons


@router.post("/catalog/entries/{ref:path}/return")
def return_entry(page: UserForm, ref: str) -> Response:
    reasons = _reasons(page)
    comment = page.field("comment")
    try:
        if not reasons:
            raise InvalidInput(
                "请至少为一个字段填写退回原因",
                "Give a reason for at least one field",
                code="reasons_required",
            )
        data = ReturnRequest(reasons=reasons, comment=comment or None)
        with page.act() as ctx:
            entry = actions.return_entry(ctx, ref, data)
    except (GovDataError, ValidationError) as exc:
        failure = _failure(exc)
        if refusal(failure):
            raise failure from None
        review = {"comment": comment, "reasons": reasons, "publish_comment": "", "open": True}
        return detail_page(
            page, ref, status=failure.status, error=page.message(failure), review=review
        )
    return page.redirect(entry_url(entry), notice="entry_returned")


@router.post("/catalog/entries/{ref:path}/withdraw")
def withdraw(page: UserForm, ref: str) -> Response:
    reason = page.field("reason")
    try:
        data = WithdrawRequest(reason=reason)
        with page.act() as ctx:
            entry = actions.withdraw_entry(ctx, ref, data)
    except (GovDataError, ValidationError) as exc:
        failure = _failure(exc)
        if refusal(failure):
            raise failure from None
        if isinstance(exc, ValidationError) and not reason:
            failure = InvalidInput(
                "请填写下架原因", "Give a reason for withdrawing", code="reason_required"
            )
        return detail_page(
            page, ref, status=failure.status, error=page.message(failure), withdraw_reason=reason
        )
    return page.redirect(entry_url(entry), notice="entry_withdrawn")


@router.post("/catalog/entries/{ref:path}/versions")
def open_version(page: UserForm, ref: str) -> Response:
    note = page.field("change_note")
    try:
        data = NewVersion(change_note=note or None)
        with page.act() as ctx:
            entry = actions.new_version(ctx, ref, data)
    except (GovDataError, ValidationError) as exc:
        failure = _failure(exc)
        if refusal(failure):
            raise failure from None
        return detail_page(page, ref, status=failure.status, error=page.message(failure))
    return page.redirect(entry_url(entry, "/edit"), notice="entry_version_opened")


# The catch-all entry route goes last: a resource code contains "/", so ``ref`` is a path.
@router.get("/catalog/entries/{ref:path}")
def detail(page: UserPage, ref: str) -> Response:
    return detail_page(page, ref)
