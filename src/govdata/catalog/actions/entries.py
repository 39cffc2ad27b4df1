"""Registering, editing and reading catalog entries."""

from __future__ import annotations

from sqlalchemy import Select, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from govdata.catalog.access import entry_scope, review_clause
from govdata.catalog.actions._common import (
    PUBLIC_VERSION_STATUSES,
    class_by_code,
    content_of,
    entry_out,
    fill_version,
    provider,
    record,
    sees_working,
    sync_entry,
    version_out,
    visible_entry,
    working_version,
)
from govdata.catalog.models import CatalogClass, CatalogEntry, CodeSequence, EntryVersion
from govdata.catalog.schemas import EntryCreate, EntryOut, EntryPage, EntryUpdate, VersionOut
from govdata.catalog.summaries import summary_out
from govdata.catalog.vocab import EDITABLE, EntryStatus, Origin, VersionStatus
from govdata.core.errors import Conflict, InvalidInput, NotFound
from govdata.core.pagination import paginate
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm, Scope

MAX_SEQUENCE = 999_999
# Resource codes are 类+项+目(+细目): an entry hangs at 目 level or below.
MIN_ENTRY_CLASS_LEVEL = 3


def _entry_class(s: Session, code: str) -> CatalogClass:
    node = class_by_code(s, code)
    if node is None or not node.is_active:
        raise InvalidInput(
            f"资源分类“{code}”不存在或已停用",
            f"Unknown or inactive classification '{code}'",
            code="unknown_classification",
            details={"classification_code": code},
        )
    if node.level < MIN_ENTRY_CLASS_LEVEL:
        raise InvalidInput(
            f"资源分类须细化到“目”一级（“{code}”过粗）",
            f"An entry must be classified at 目 level or below ('{code}' is too broad)",
            code="classification_too_broad",
            details={"classification_code": code},
        )
    return node


def next_resource_code(s: Session, prefix: str) -> str:
    """``<prefix>/<6-digit sequence>``; the sequence only grows, so no code is ever reused."""
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(CodeSequence)
        .values(prefix=prefix, last_value=1)
        .on_conflict_do_update(
            index_elements=[CodeSequence.prefix],
            set_={"last_value": CodeSequence.last_value + 1},
        )
        .returning(CodeSequence.last_value)
    )
    value = int(s.execute(stmt).scalar_one())
    if value > MAX_SEQUENCE:
        raise Conflict(
            f"分类“{prefix}”下的资源代码序号已用尽",
            f"Resource code sequence exhausted under '{prefix}'",
            code="resource_code_exhausted",
        )
    return f"{prefix}/{value:06d}"


def create_entry(
    ctx: ActionContext,
    data: EntryCreate,
    *,
    origin: Origin = Origin.LOCAL,
    upper_code: str | None = None,
) -> EntryOut:
    """Register a new entry as a draft (version 1) and give it its resource code.

    Needs ``catalog.edit`` over the provider department (an officer's own by
    default). Errors: 422 ``unknown_classification`` / ``classification_too_broad``
    / ``unknown_provider`` / ``provider_required``.
    """
    ctx.require(Perm.CATALOG_EDIT)
    s = ctx.session
    dept = provider(ctx, data.provider_code)
    ctx.require(Perm.CATALOG_EDIT, Scope(dept.region_path, dept.id), target_id=dept.id)
    node = _entry_class(s, data.classification_code)
    entry = CatalogEntry(
        resource_code=next_resource_code(s, node.code),
        classification_id=node.id,
        class_code=node.code,
        category=node.category,
        provider_department_id=dept.id,
        provider_code=dept.code,
        provider_name=dept.name,
        provider_credit_code=dept.credit_code,
        region_code=dept.region_code,
        region_path=dept.region_path,
        origin=origin,
        upper_code=upper_code,
        status=EntryStatus.DRAFT,
        working_status=VersionStatus.DRAFT,
        latest_version_no=1,
        created_by=ctx.actor.id,
        # Facet copies are filled from the version by sync_entry.
        name=data.name,
        share_type=data.share_type,
        open_type=data.open_type,
        grade=data.grade,
        format=data.format,
        update_cycle=data.update_cycle,
    )
    entry.classification = node
    s.add(entry)
    s.flush()
    version = EntryVersion(
        entry_id=entry.id,
        version_no=1,
        status=VersionStatus.DRAFT,
        created_by=ctx.actor.id,
        conformance=[],
        review_reasons={},
    )
    fill_version(version, data)
    s.add(version)
    s.flush()
    entry.working_version_id = version.id
    sync_entry(s, entry, reindex=True)
    record(
        ctx,
        entry,
        1,
        "create",
        details={"origin": str(origin), "upper_code": upper_code} if upper_code else None,
    )
    return entry_out(ctx, entry)


def update_entry(ctx: ActionContext, entry_id: str, data: EntryUpdate) -> EntryOut:
    """Replace the content of the version under work (a draft or a returned one).

    Published versions never change: open a new version first. The
    classification can change only before the first publication; the entry
    then gets a new resource code and the old one stays retired. Errors: 409
    ``entry_not_editable``.
    """
    ctx.require(Perm.CATALOG_EDIT)
    s = ctx.session
    entry = visible_entry(ctx, entry_id)
    ctx.require(Perm.CATALOG_EDIT, entry_scope(entry), target_id=entry.id)
    version = working_version(s, entry)
    if version is None or version.status not in EDITABLE:
        raise Conflict(
            "只有草稿或已退回的版本可以修改；已发布的目录请先新建版本",
            "Only a draft or returned version can be edited; open a new version first",
            code="entry_not_editable",
        )
    before = content_of(version).model_dump()
    details: dict[str, str] = {}
    if data.classification_code and data.classification_code != entry.class_code:
        if entry.published_version_id is not None:
            raise Conflict(
                "已发布过的目录不能更改资源分类",
                "The classification of an entry cannot change after it was published",
                code="classification_locked",
            )
        node = _entry_class(s, data.classification_code)
        details = {"old_resource_code": entry.resource_code}
        entry.resource_code = next_resource_code(s, node.code)
        entry.classification = node
        entry.classification_id = node.id
        entry.class_code = node.code
        entry.category = node.category
        details["new_resource_code"] = entry.resource_code
    fill_version(version, data)
    version.change_note = data.change_note
    s.flush()
    after = content_of(version).model_dump()
    changed = sorted(k for k in after if after[k] != before[k]) + (
        ["classification"] if details else []
    )
    # Readers see the draft only until the first publication.
    sync_entry(s, entry, reindex=entry.published_version_id is None)
    record(ctx, entry, version.version_no, "update", fields=changed, details=details or None)
    return entry_out(ctx, entry)


def get_entry(ctx: ActionContext, ref: str) -> EntryOut:
    """One entry by id or resource code, with its items, versions and timeline.

    Unpublished entries are visible only to their department and reviewers;
    to anyone else they do not exist (404 ``entry_not_found``).
    """
    return entry_out(ctx, visible_entry(ctx, ref))


def get_version(ctx: ActionContext, ref: str, version_no: int) -> VersionOut:
    """One version of an entry; versions under work only for the department and reviewers."""
    entry = visible_entry(ctx, ref)
    version = ctx.session.scalars(
        select(EntryVersion).where(
            EntryVersion.entry_id == entry.id, EntryVersion.version_no == version_no
        )
    ).one_or_none()
    hidden = version is not None and version.status not in PUBLIC_VERSION_STATUSES
    if version is None or (hidden and not sees_working(ctx, entry)):
        raise NotFound("版本不存在", "Version not found", code="version_not_found")
    return version_out(version)


def _page(
    ctx: ActionContext,
    stmt: Select[CatalogEntry],
    *,
    limit: int,
    cursor: str | None,
    oldest_first: bool,
) -> EntryPage:
    s = ctx.session
    total = s.scalar(select(func.count()).select_from(stmt.subquery()))
    page = paginate(
        s,
        stmt,
        [CatalogEntry.updated_at, CatalogEntry.id],
        limit=limit,
        cursor=cursor,
        descending=not oldest_first,
    )
    return EntryPage(
        items=[summary_out(e) for e in page.items],
        total=int(total or 0),
        next_cursor=page.next_cursor,
    )


def list_department_entries(
    ctx: ActionContext, *, status: str | None = None, limit: int = 50, cursor: str | None = None
) -> EntryPage:
    """The actor's own department's entries in every state, most recently changed first.

    ``status`` matches the entry's state or the state of its version under work.
    """
    ctx.require(Perm.CATALOG_READ)
    if ctx.actor.department_id is None:
        raise InvalidInput(
            "当前用户不属于任何部门", "You do not belong to a department", code="no_department"
        )
    stmt = select(CatalogEntry).where(
        CatalogEntry.provider_department_id == ctx.actor.department_id
    )
    if status:
        if status not in {*EntryStatus, *VersionStatus}:
            raise InvalidInput(
                f"未知状态“{status}”", f"Unknown status '{status}'", code="invalid_status"
            )
        stmt = stmt.where(or_(CatalogEntry.status == status, CatalogEntry.working_status == status))
    return _page(ctx, stmt, limit=limit, cursor=cursor, oldest_first=False)


def review_queue(ctx: ActionContext, *, limit: int = 50, cursor: str | None = None) -> EntryPage:
    """Entries waiting for review in the reviewer's region, oldest first."""
    ctx.require(Perm.CATALOG_REVIEW)
    stmt = select(CatalogEntry).where(
        CatalogEntry.working_status == VersionStatus.SUBMITTED, review_clause(ctx.actor)
    )
    return _page(ctx, stmt, limit=limit, cursor=cursor, oldest_first=True)
