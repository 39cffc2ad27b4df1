"""The review workflow: submit, return, publish, withdraw, and new versions of published entries.

draft → submitted → published, or submitted → returned (reasons per field) →
submitted again. A published entry changes only through a new version, which
goes through the same review; publishing it supersedes the previous one.
"""

from __future__ import annotations

import re

from govdata.catalog import conformance
from govdata.catalog.access import entry_scope
from govdata.catalog.actions._common import (
    CONTENT_FIELDS,
    ITEM_FIELDS,
    can_edit,
    can_review,
    content_of,
    copy_version,
    department_officers,
    entry_out,
    record,
    reviewers,
    sync_entry,
    tell,
    version_by_id,
    visible_entry,
    working_version,
)
from govdata.catalog.models import CatalogEntry, EntryVersion
from govdata.catalog.schemas import (
    EntryOut,
    Finding,
    NewVersion,
    PublishRequest,
    ReturnRequest,
    WithdrawRequest,
)
from govdata.catalog.vocab import EDITABLE, EntryStatus, VersionStatus
from govdata.core.clock import DISPLAY_TZ, now
from govdata.core.errors import Conflict, InvalidInput
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm

ITEM_FIELD_RE = re.compile(r"^items\[(\d+)\](?:\.(\w+))?$")
# Fields a reviewer may attach a reason to, besides the content fields and items[i].field.
OTHER_REVIEW_FIELDS = frozenset({"general", "classification", "provider", "items"})


def _working(ctx: ActionContext, entry: CatalogEntry, *states: str) -> EntryVersion:
    version = working_version(ctx.session, entry)
    if version is None or version.status not in states:
        raise Conflict(
            "目录当前状态不允许此操作",
            "The entry is not in a state that allows this",
            code="invalid_transition",
            details={"status": entry.status, "working_status": entry.working_status},
        )
    return version


def _findings(ctx: ActionContext, entry: CatalogEntry, version: EntryVersion) -> list[Finding]:
    return conformance.check_content(
        ctx.session,
        content_of(version),
        classification_code=entry.class_code,
        provider_credit_code=entry.provider_credit_code,
    )


def check_entry(ctx: ActionContext, ref: str) -> list[Finding]:
    """Run the conformance check (符合性审查) on the version under work — or, if none, the
    published one — without changing anything."""
    ctx.require(Perm.CATALOG_READ)
    entry = visible_entry(ctx, ref)
    s = ctx.session
    version = (
        working_version(s, entry) if (can_edit(ctx, entry) or can_review(ctx, entry)) else None
    )
    version = version or version_by_id(s, entry.published_version_id) or working_version(s, entry)
    assert version is not None
    return _findings(ctx, entry, version)


def submit_entry(ctx: ActionContext, ref: str) -> EntryOut:
    """Send a draft or returned version for review after the conformance check.

    Errors block the submit (422 ``conformance_failed`` with the findings in
    ``details.findings``); warnings are kept on the version for the reviewer.
    Notifies the reviewers of the provider's region.
    """
    ctx.require(Perm.CATALOG_EDIT)
    entry = visible_entry(ctx, ref)
    ctx.require(Perm.CATALOG_EDIT, entry_scope(entry), target_id=entry.id)
    version = _working(ctx, entry, *EDITABLE)
    findings = _findings(ctx, entry, version)
    if conformance.has_errors(findings):
        raise InvalidInput(
            "符合性审查未通过，请按提示修改后再提交",
            "The conformance check found errors; fix them and submit again",
            code="conformance_failed",
            details={"findings": [f.model_dump() for f in findings]},
        )
    resubmit = version.status == VersionStatus.RETURNED
    version.status = VersionStatus.SUBMITTED
    version.conformance = [f.model_dump() for f in findings]
    version.submitted_at = now()
    version.submitted_by = ctx.actor.id
    version.submitted_by_name = ctx.actor.name
    entry.working_status = VersionStatus.SUBMITTED
    if entry.published_version_id is None:
        entry.status = EntryStatus.SUBMITTED
    sync_entry(ctx.session, entry, reindex=False)
    record(
        ctx,
        entry,
        version.version_no,
        "resubmit" if resubmit else "submit",
        details={"warnings": len(findings)},
    )
    tell(
        ctx,
        reviewers(ctx.session, entry),
        entry,
        "catalog.review_requested",
        "待审核目录",
        "Entry to review",
    )
    return entry_out(ctx, entry)


def _require_review(ctx: ActionContext, entry: CatalogEntry) -> None:
    ctx.require(Perm.CATALOG_REVIEW)
    ctx.require(Perm.CATALOG_REVIEW, entry_scope(entry), target_id=entry.id)


def _check_reason_keys(version: EntryVersion, reasons: dict[str, str]) -> None:
    for key, text in reasons.items():
        match = ITEM_FIELD_RE.match(key)
        if match:
            index, field = int(match.group(1)), match.group(2)
            known = 1 <= index <= len(version.items) and (field is None or field in ITEM_FIELDS)
        else:
            known = key in CONTENT_FIELDS or key in OTHER_REVIEW_FIELDS
        if not known:
            raise InvalidInput(
                f"退回原因指向未知字段“{key}”",
                f"Return reason names an unknown field '{key}'",
                code="unknown_field",
                details={"field": key},
            )
        if not text.strip():
            raise InvalidInput(
                f"字段“{key}”的退回原因不能为空",
                f"The reason for '{key}' is empty",
                code="empty_reason",
                details={"field": key},
            )


def return_entry(ctx: ActionContext, ref: str, data: ReturnRequest) -> EntryOut:
    """Return a submitted version for correction, with a reason per field.

    Field keys are content fields (``name``, ``share_condition``, ...),
    ``classification``, ``items``, or ``items[N]`` / ``items[N].field`` with N
    counted from 1. Notifies the submitter.
    """
    entry = visible_entry(ctx, ref)
    _require_review(ctx, entry)
    version = _working(ctx, entry, VersionStatus.SUBMITTED)
    _check_reason_keys(version, data.reasons)
    version.status = VersionStatus.RETURNED
    version.review_reasons = dict(data.reasons)
    version.review_comment = data.comment
    version.reviewed_at = now()
    version.reviewed_by = ctx.actor.id
    version.reviewed_by_name = ctx.actor.name
    entry.working_status = VersionStatus.RETURNED
    if entry.published_version_id is None:
        entry.status = EntryStatus.RETURNED
    sync_entry(ctx.session, entry, reindex=False)
    record(
        ctx,
        entry,
        version.version_no,
        "return",
        comment=data.comment,
        details={"reasons": dict(data.reasons)},
        fields=sorted(data.reasons),
    )
    tell(
        ctx,
        [version.submitted_by or "", *department_officers(ctx.session, entry)],
        entry,
        "catalog.returned",
        "目录被退回修改",
        "Entry returned for correction",
    )
    return entry_out(ctx, entry)


def publish_entry(ctx: ActionContext, ref: str, data: PublishRequest) -> EntryOut:
    """Accept a submitted version: it becomes the published one and can no longer change.

    The previous published version (if any) is superseded. The conformance
    check runs again (standards may have changed since the submit); errors
    block publication. Notifies the submitter.
    """
    entry = visible_entry(ctx, ref)
    _require_review(ctx, entry)
    version = _working(ctx, entry, VersionStatus.SUBMITTED)
    findings = _findings(ctx, entry, version)
    if conformance.has_errors(findings):
        raise InvalidInput(
            "符合性审查未通过，不能发布",
            "The conformance check found errors; the entry cannot be published",
            code="conformance_failed",
            details={"findings": [f.model_dump() for f in findings]},
        )
    at = now()
    previous = version_by_id(ctx.session, entry.published_version_id)
    if previous is not None:
        previous.status = VersionStatus.SUPERSEDED
    version.status = VersionStatus.PUBLISHED
    version.conformance = [f.model_dump() for f in findings]
    version.reviewed_at = at
    version.reviewed_by = ctx.actor.id
    version.reviewed_by_name = ctx.actor.name
    version.review_comment = data.comment
    version.review_reasons = {}
    version.published_at = at
    if version.publish_date is None:
        version.publish_date = at.astimezone(DISPLAY_TZ).date()
    entry.published_version_id = version.id
    entry.working_version_id = None
    entry.working_status = None
    entry.status = EntryStatus.PUBLISHED
    entry.published_at = at
    entry.withdrawn_at = None
    entry.withdrawn_reason = None
    # A first publication shows the same content the draft showed.
    sync_entry(ctx.session, entry, reindex=previous is not None)
    record(ctx, entry, version.version_no, "publish", comment=data.comment)
    tell(
        ctx,
        [version.submitted_by or ""],
        entry,
        "catalog.published",
        "目录已发布",
        "Entry published",
    )
    return entry_out(ctx, entry)


def withdraw_entry(ctx: ActionContext, ref: str, data: WithdrawRequest) -> EntryOut:
    """Take a published entry off the catalog (下架) with a reason.

    The provider department's officers or the reviewers may withdraw. The
    entry stays readable to them; republishing goes through a new version.
    """
    entry = visible_entry(ctx, ref)
    if not can_edit(ctx, entry):
        _require_review(ctx, entry)
    if entry.status != EntryStatus.PUBLISHED:
        raise Conflict(
            "只有已发布的目录可以下架",
            "Only a published entry can be withdrawn",
            code="invalid_transition",
            details={"status": entry.status},
        )
    version = version_by_id(ctx.session, entry.published_version_id)
    assert version is not None
    version.status = VersionStatus.WITHDRAWN
    entry.status = EntryStatus.WITHDRAWN
    entry.withdrawn_at = now()
    entry.withdrawn_reason = data.reason
    sync_entry(ctx.session, entry, reindex=False)
    record(ctx, entry, version.version_no, "withdraw", comment=data.reason)
    tell(
        ctx,
        [*department_officers(ctx.session, entry), *reviewers(ctx.session, entry)],
        entry,
        "catalog.withdrawn",
        "目录已下架",
        "Entry withdrawn",
    )
    return entry_out(ctx, entry)


def new_version(ctx: ActionContext, ref: str, data: NewVersion) -> EntryOut:
    """Open the next version of a published (or withdrawn) entry as a draft copy of it."""
    ctx.require(Perm.CATALOG_EDIT)
    entry = visible_entry(ctx, ref)
    ctx.require(Perm.CATALOG_EDIT, entry_scope(entry), target_id=entry.id)
    if entry.working_version_id is not None or entry.status not in (
        EntryStatus.PUBLISHED,
        EntryStatus.WITHDRAWN,
    ):
        raise Conflict(
            "该目录已有未完成的版本，或尚未发布",
            "The entry already has a version under work, or was never published",
            code="invalid_transition",
            details={"status": entry.status, "working_status": entry.working_status},
        )
    source = version_by_id(ctx.session, entry.published_version_id)
    assert source is not None
    entry.latest_version_no += 1
    draft = copy_version(source, entry.latest_version_no, ctx.actor.id)
    draft.change_note = data.change_note
    ctx.session.add(draft)
    ctx.session.flush()
    entry.working_version_id = draft.id
    entry.working_status = VersionStatus.DRAFT
    sync_entry(ctx.session, entry, reindex=False)
    record(ctx, entry, draft.version_no, "new_version", comment=data.change_note)
    return entry_out(ctx, entry)
