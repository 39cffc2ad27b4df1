"""Lookups, output conversions and bookkeeping shared by the catalog actions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from govdata.catalog import facet_cache, search
from govdata.catalog.access import entry_scope, is_visible
from govdata.catalog.models import CatalogClass, CatalogEntry, EntryEvent, EntryItem, EntryVersion
from govdata.catalog.schemas import (
    EntryContent,
    EntryOut,
    EventOut,
    Finding,
    ItemIn,
    ItemOut,
    VersionOut,
    VersionRef,
)
from govdata.catalog.summaries import summary_out
from govdata.catalog.vocab import EDITABLE, EntryStatus, VersionStatus
from govdata.core.clock import now
from govdata.core.errors import InvalidInput, NotFound
from govdata.identity import queries as org
from govdata.notifications.actions import Message, notify
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm, Role

# Versions everyone who may see the entry may read; working versions only its editors and reviewers.
PUBLIC_VERSION_STATUSES = frozenset(
    {VersionStatus.PUBLISHED, VersionStatus.SUPERSEDED, VersionStatus.WITHDRAWN}
)
# Review exchanges stay between the provider and the reviewers.
PUBLIC_EVENTS = frozenset({"publish", "withdraw"})
CONTENT_FIELDS = (
    "name",
    "summary",
    "format",
    "share_type",
    "share_condition",
    "not_shared_basis",
    "share_modes",
    "open_type",
    "open_condition",
    "update_cycle",
    "publish_date",
    "related_codes",
    "keywords",
    "grade",
    "contact_name",
    "contact_phone",
    "contact_email",
)
ITEM_FIELDS = (
    "name",
    "name_en",
    "data_type",
    "length",
    "is_key",
    "is_sensitive",
    "grade",
    "share_type",
    "description",
    "data_element",
)


def entry_not_found(ref: str) -> NotFound:
    return NotFound(
        "目录不存在或无权查看",
        "Catalog entry not found",
        code="entry_not_found",
        details={"ref": ref},
    )


def load_entry(s: Session, ref: str) -> CatalogEntry | None:
    """By id or by resource code (which contains a ``/``)."""
    if "/" in ref:
        return s.scalars(select(CatalogEntry).where(CatalogEntry.resource_code == ref)).first()
    return s.get(CatalogEntry, ref)


def visible_entry(ctx: ActionContext, ref: str) -> CatalogEntry:
    """The entry if the actor may see it; otherwise 404, so drafts do not leak their existence."""
    ctx.require(Perm.CATALOG_READ)
    entry = load_entry(ctx.session, ref)
    if entry is None or not is_visible(ctx.actor, entry):
        raise entry_not_found(ref)
    return entry


def can_edit(ctx: ActionContext, entry: CatalogEntry) -> bool:
    return ctx.actor.can(Perm.CATALOG_EDIT, entry_scope(entry))


def can_review(ctx: ActionContext, entry: CatalogEntry) -> bool:
    return ctx.actor.can(Perm.CATALOG_REVIEW, entry_scope(entry))


def sees_working(ctx: ActionContext, entry: CatalogEntry) -> bool:
    return (
        ctx.actor.kind == "system"
        or ctx.actor.department_id == entry.provider_department_id
        or can_edit(ctx, entry)
        or can_review(ctx, entry)
    )


def version_by_id(s: Session, version_id: str | None) -> EntryVersion | None:
    return s.get(EntryVersion, version_id) if version_id else None


def working_version(s: Session, entry: CatalogEntry) -> EntryVersion | None:
    return version_by_id(s, entry.working_version_id)


def visible_version(s: Session, entry: CatalogEntry) -> EntryVersion:
    """What readers see: the published version, else the one under work."""
    version = version_by_id(s, entry.published_version_id) or working_version(s, entry)
    if version is None:
        # Every entry is created with a version; losing both pointers is a bug, not input.
        raise RuntimeError(f"catalog entry {entry.id} has no version")
    return version


def class_by_code(s: Session, code: str) -> CatalogClass | None:
    return s.scalars(select(CatalogClass).where(CatalogClass.code == code)).one_or_none()


def provider(ctx: ActionContext, code: str | None) -> org.DepartmentFacts:
    """The provider department named in input, or the actor's own department."""
    s = ctx.session
    if code is None:
        if ctx.actor.department_id is None:
            raise InvalidInput(
                "请指定资源提供方部门", "provider_code is required", code="provider_required"
            )
        facts = org.department_by_id(s, ctx.actor.department_id)
    else:
        facts = org.department_by_code(s, code)
    if facts is None or not facts.is_active:
        raise InvalidInput(
            f"提供方部门“{code}”不存在或已停用",
            f"Unknown or inactive provider department '{code}'",
            code="unknown_provider",
            details={"provider_code": code},
        )
    return facts


def fill_version(version: EntryVersion, content: EntryContent) -> None:
    """Write content into an editable version, replacing its items."""
    assert version.status in EDITABLE
    for field in CONTENT_FIELDS:
        value = getattr(content, field)
        if field in ("share_modes", "related_codes", "keywords"):
            value = [str(v) for v in dict.fromkeys(value)]
        setattr(version, field, value)
    version.items.clear()
    session = object_session(version)
    if session is not None:
        # Old items must be gone before new ones take their positions (unique per version).
        session.flush()
    for position, item in enumerate(content.items, start=1):
        version.items.append(_item_row(position, item, content.share_type))


def _item_row(position: int, item: ItemIn, entry_share: str) -> EntryItem:
    return EntryItem(
        position=position,
        name=item.name,
        name_en=item.name_en,
        data_type=item.data_type,
        length=item.length,
        is_key=item.is_key,
        is_sensitive=item.is_sensitive,
        grade=item.grade,
        share_type=item.share_type or entry_share,
        description=item.description,
        data_element=item.data_element,
    )


def copy_version(source: EntryVersion, version_no: int, actor_id: str | None) -> EntryVersion:
    new = EntryVersion(
        entry_id=source.entry_id,
        version_no=version_no,
        status=VersionStatus.DRAFT,
        created_by=actor_id,
        conformance=[],
        review_reasons={},
        **{f: getattr(source, f) for f in CONTENT_FIELDS},
    )
    for item in source.items:
        new.items.append(
            EntryItem(position=item.position, **{f: getattr(item, f) for f in ITEM_FIELDS})
        )
    return new


def content_of(version: EntryVersion) -> EntryContent:
    """A stored version as input again (for the conformance check and for copying)."""
    data: dict[str, Any] = {f: getattr(version, f) for f in CONTENT_FIELDS}
    data["items"] = [{f: getattr(i, f) for f in ITEM_FIELDS} for i in version.items]
    return EntryContent.model_validate(data)


def sync_entry(s: Session, entry: CatalogEntry, *, reindex: bool) -> None:
    """Copy the visible version's facet fields onto the entry; re-index its text when the
    visible content changed (status changes live on the entry and need no re-indexing)."""
    version = visible_version(s, entry)
    entry.name = version.name
    entry.share_type = version.share_type
    entry.open_type = version.open_type
    entry.grade = version.grade
    entry.format = version.format
    entry.update_cycle = version.update_cycle
    entry.item_count = len(version.items)
    # Always, even when no copied field changed: "recently updated" order follows it.
    entry.updated_at = now()
    s.flush()
    facet_cache.bump(s)
    if reindex:
        search.index_entry(s, entry, version)


def record(
    ctx: ActionContext,
    entry: CatalogEntry,
    version_no: int,
    action: str,
    *,
    comment: str | None = None,
    details: dict[str, Any] | None = None,
    fields: list[str] | None = None,
) -> None:
    """The entry's timeline event and the audit record of one transition."""
    ctx.session.add(
        EntryEvent(
            entry_id=entry.id,
            version_no=version_no,
            action=action,
            actor_id=ctx.actor.id,
            actor_name=ctx.actor.name,
            comment=comment,
            details=details or {},
        )
    )
    ctx.audit(
        f"catalog.entry.{action}",
        target_type="catalog_entry",
        target_id=entry.id,
        fields=fields,
        details={"resource_code": entry.resource_code, "version_no": version_no, **(details or {})},
    )


def tell(
    ctx: ActionContext, user_ids: list[str], entry: CatalogEntry, kind: str, zh: str, en: str
) -> None:
    """Notify people about an entry, never the actor about their own action."""
    recipients = [u for u in user_ids if u and u != ctx.actor.id]
    notify(
        ctx.session,
        recipients,
        Message(
            kind=kind,
            title_zh=f"{zh}：{entry.name}（{entry.resource_code}）",
            title_en=f"{en}: {entry.name} ({entry.resource_code})",
            link=f"/catalog/entries/{entry.id}",
            target_type="catalog_entry",
            target_id=entry.id,
        ),
    )


def reviewers(s: Session, entry: CatalogEntry) -> list[str]:
    return org.users_covering(s, {Role.OPERATOR, Role.REGION_OPERATOR}, entry_scope(entry))


def department_officers(s: Session, entry: CatalogEntry) -> list[str]:
    return org.users_covering(s, {Role.DEPT_OFFICER}, entry_scope(entry))


def version_out(version: EntryVersion) -> VersionOut:
    out = VersionOut.model_validate(version)
    out.conformance = [Finding.model_validate(f) for f in version.conformance or []]
    out.items = [ItemOut.model_validate(i) for i in version.items]
    return out


def allowed_actions(
    ctx: ActionContext, entry: CatalogEntry, working: EntryVersion | None
) -> list[str]:
    allowed = []
    editor = can_edit(ctx, entry)
    if working is not None and working.status in EDITABLE and editor:
        allowed += ["edit", "submit"]
    if working is not None and working.status == VersionStatus.SUBMITTED and can_review(ctx, entry):
        allowed += ["review"]
    if (
        working is None
        and entry.status in (EntryStatus.PUBLISHED, EntryStatus.WITHDRAWN)
        and editor
    ):
        allowed.append("new_version")
    if entry.status == EntryStatus.PUBLISHED and (editor or can_review(ctx, entry)):
        allowed.append("withdraw")
    return allowed


def entry_out(ctx: ActionContext, entry: CatalogEntry) -> EntryOut:
    s = ctx.session
    insider = sees_working(ctx, entry)
    working = working_version(s, entry) if insider else None
    current = version_by_id(s, entry.published_version_id) or working
    if current is None:
        raise entry_not_found(entry.id)
    versions = s.scalars(
        select(EntryVersion)
        .where(EntryVersion.entry_id == entry.id)
        .order_by(EntryVersion.version_no.desc())
    ).all()
    events = s.scalars(
        select(EntryEvent).where(EntryEvent.entry_id == entry.id).order_by(EntryEvent.at.desc())
    ).all()
    shown_versions = [v for v in versions if insider or v.status in PUBLIC_VERSION_STATUSES]
    shown_numbers = {v.version_no for v in shown_versions}
    return EntryOut(
        **summary_out(entry).model_dump(),
        classification_name=entry.classification.name,
        upper_code=entry.upper_code,
        withdrawn_at=entry.withdrawn_at,
        withdrawn_reason=entry.withdrawn_reason,
        current=version_out(current),
        working=version_out(working) if working is not None else None,
        versions=[VersionRef.model_validate(v) for v in shown_versions],
        events=[
            EventOut.model_validate(e)
            for e in events
            if insider or (e.action in PUBLIC_EVENTS and e.version_no in shown_numbers)
        ],
        allowed=allowed_actions(ctx, entry, working),
    )
