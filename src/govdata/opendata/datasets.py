"""The opening review: a provider proposes an entry for opening, the operator decides.

An entry can open when it is published, graded 1 or 2, its open type is open or
conditional, and its data is collected into the lake (downloads are made from the lake
table). Core and important data never open: ``opendata_not_openable`` names the reason.
"""

from __future__ import annotations

import re

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog.actions._common import load_entry
from govdata.catalog.models import CatalogEntry
from govdata.catalog.vocab import EntryStatus
from govdata.core.clock import now
from govdata.core.errors import Conflict, InvalidInput, NotFound
from govdata.core.pagination import Page, paginate
from govdata.notifications.actions import Message
from govdata.opendata.access import OPENABLE_TYPES, entry_openable, lake_mount, openable_items
from govdata.opendata.models import OpenDataset
from govdata.opendata.schemas import DatasetAdminOut, FeatureIn, ProposeIn, ReviewIn, WithdrawIn
from govdata.opendata.vocab import (
    DEFAULT_LICENSE,
    LICENSES,
    OPENABLE_GRADE,
    STATUS_LABELS,
    DatasetStatus,
    label,
)
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm, Role
from govdata.security.scopes import scope_clause
from govdata.sharing.common import department_scope, notify_department, notify_operators

AUDIT_TARGET = "open_dataset"


def dataset_name(resource_code: str) -> str:
    """CKAN's dataset ``name`` for a resource code: lowercase, only [a-z0-9_-]."""
    return re.sub(r"[^a-z0-9_-]+", "-", resource_code.lower()).strip("-")[:100]


def _not_openable(reason_zh: str, reason_en: str, **details: object) -> InvalidInput:
    return InvalidInput(
        f"该目录不能开放：{reason_zh}",
        f"This entry cannot be opened: {reason_en}",
        code="opendata_not_openable",
        details=dict(details),
    )


def check_openable(s: Session, entry: CatalogEntry) -> list[str]:
    """The lake fields of the entry that may open; raises ``opendata_not_openable``."""
    if entry.status != EntryStatus.PUBLISHED or not entry.published_version_id:
        raise _not_openable("目录未发布", "it is not published", status=entry.status)
    if entry.grade > OPENABLE_GRADE:
        raise _not_openable(
            f"数据分级为{entry.grade}级，仅一、二级数据可开放",
            f"it is graded {entry.grade}; only grades 1–2 open",
            grade=entry.grade,
        )
    if entry.open_type not in OPENABLE_TYPES:
        raise _not_openable(
            "开放类型为不予开放", "its open type is closed", open_type=entry.open_type
        )
    mount = lake_mount(s, entry.id)
    if mount is None:
        raise _not_openable(
            "数据尚未归集入湖（开放文件由湖表生成）",
            "its data is not collected into the lake (open files are made from it)",
        )
    items = openable_items(s, entry)
    fields = [c["field"] for c in mount.columns if c.get("item") in items]
    if not fields:
        raise _not_openable("没有可开放的信息项（均为三级以上或敏感项）", "no item may open")
    return fields


def _dataset(ctx: ActionContext, dataset_id: str) -> tuple[OpenDataset, CatalogEntry]:
    ds = ctx.session.get(OpenDataset, dataset_id)
    entry = ctx.session.get(CatalogEntry, ds.entry_id) if ds else None
    if ds is None or entry is None:
        raise NotFound(
            "开放数据集不存在", "Open dataset not found", code="opendata_dataset_not_found"
        )
    return ds, entry


def dataset_admin_out(
    s: Session, ds: OpenDataset, entry: CatalogEntry, locale: str = "zh_CN"
) -> DatasetAdminOut:
    public = (
        ds.status == DatasetStatus.OPEN
        and entry.status == EntryStatus.PUBLISHED
        and entry.grade <= OPENABLE_GRADE
        and entry.open_type in OPENABLE_TYPES
    )
    return DatasetAdminOut(
        id=ds.id,
        name=ds.name,
        entry_id=entry.id,
        resource_code=entry.resource_code,
        title=entry.name,
        publisher_id=entry.provider_department_id,
        publisher_name=entry.provider_name,
        open_type=entry.open_type,
        grade=entry.grade,
        status=ds.status,
        status_label=label(STATUS_LABELS, ds.status, locale),
        public=public,
        fields=list(ds.fields),
        license_id=ds.license_id,
        featured=ds.featured,
        proposed_at=ds.proposed_at,
        proposal_note=ds.proposal_note,
        reviewed_at=ds.reviewed_at,
        review_comment=ds.review_comment,
        opened_at=ds.opened_at,
        withdrawn_at=ds.withdrawn_at,
        views=ds.views,
        downloads=ds.downloads,
        calls=ds.calls,
    )


def propose_opening(ctx: ActionContext, entry_ref: str, data: ProposeIn) -> DatasetAdminOut:
    """Propose a published entry of the actor's department for opening (开放申请).

    ``fields`` picks lake fields among the openable ones (default: all of them); items above
    grade 2 or marked sensitive are never openable. Needs ``opendata.publish`` on the
    entry's department. Proposing again after a rejection or withdrawal starts a new review.
    """
    s = ctx.session
    entry = load_entry(s, entry_ref)
    if entry is None:
        raise NotFound("目录不存在", "Catalog entry not found", code="entry_not_found")
    ctx.require(
        Perm.OPENDATA_PUBLISH,
        department_scope(s, entry.provider_department_id),
        target_id=entry.id,
    )
    openable = check_openable(s, entry)
    fields = openable if data.fields is None else list(dict.fromkeys(data.fields))
    outside = [f for f in fields if f not in openable]
    if outside or not fields:
        raise InvalidInput(
            "所选字段不可开放或不存在",
            "Chosen fields are not openable or do not exist",
            code="opendata_field_not_openable",
            details={"fields": outside, "openable": openable},
        )
    license_id = data.license_id or DEFAULT_LICENSE
    if license_id not in LICENSES:
        raise InvalidInput(
            "未知的开放许可",
            "Unknown licence",
            code="opendata_license_unknown",
            details={"license_id": license_id, "known": list(LICENSES)},
        )
    ds = s.scalars(select(OpenDataset).where(OpenDataset.entry_id == entry.id)).one_or_none()
    if ds is not None and ds.status in (DatasetStatus.PROPOSED, DatasetStatus.OPEN):
        raise Conflict(
            "该目录已在开放审核中或已开放",
            "The entry is already under review or open",
            code="opendata_already_proposed",
            details={"status": ds.status},
        )
    if ds is None:
        ds = OpenDataset(
            entry_id=entry.id,
            name=dataset_name(entry.resource_code),
            views=0,
            downloads=0,
            calls=0,
            featured=False,
        )
        s.add(ds)
    ds.status = DatasetStatus.PROPOSED.value
    ds.fields = fields
    ds.license_id = license_id
    ds.proposal_note = data.note
    ds.proposed_by = ctx.actor.id
    ds.proposed_at = now()
    ds.reviewed_at = ds.reviewed_by = ds.review_comment = None
    s.flush()
    ctx.audit(
        "opendata.dataset.propose",
        target_type=AUDIT_TARGET,
        target_id=ds.id,
        fields=fields,
        details={"resource_code": entry.resource_code, "license": license_id},
    )
    notify_operators(
        s,
        Message(
            kind="opendata.proposed",
            title_zh=f"开放申请待审核：{entry.name}",
            title_en=f"Opening proposed for review: {entry.name}",
            link="/opendata/manage",
            target_type=AUDIT_TARGET,
            target_id=ds.id,
        ),
    )
    return dataset_admin_out(s, ds, entry, ctx.locale)


def review_opening(ctx: ActionContext, dataset_id: str, data: ReviewIn) -> DatasetAdminOut:
    """The operator's opening review: approve (the dataset goes public) or reject."""
    ctx.require(Perm.OPENDATA_MANAGE, target_id=dataset_id)
    s = ctx.session
    ds, entry = _dataset(ctx, dataset_id)
    if ds.status != DatasetStatus.PROPOSED:
        raise Conflict(
            "该数据集不在待审核状态",
            "The dataset is not awaiting review",
            code="opendata_not_proposed",
            details={"status": ds.status},
        )
    if data.approve:
        # The entry may have changed since it was proposed; check again at the gate.
        check_openable(s, entry)
    elif not data.comment:
        raise InvalidInput(
            "不予开放须说明理由", "A rejection needs a reason", code="opendata_reason_required"
        )
    at = now()
    ds.status = (DatasetStatus.OPEN if data.approve else DatasetStatus.REJECTED).value
    ds.reviewed_by, ds.reviewed_at, ds.review_comment = ctx.actor.id, at, data.comment
    if data.approve:
        ds.opened_at, ds.withdrawn_at = at, None
    ctx.audit(
        "opendata.dataset.approve" if data.approve else "opendata.dataset.reject",
        target_type=AUDIT_TARGET,
        target_id=ds.id,
        details={"resource_code": entry.resource_code, "comment": data.comment},
    )
    verdict = ("已开放", "is open") if data.approve else ("未通过开放审核", "was not approved")
    notify_department(
        s,
        entry.provider_department_id,
        {Role.DEPT_OFFICER},
        Message(
            kind="opendata.reviewed",
            title_zh=f"{entry.name}{verdict[0]}",
            title_en=f"{entry.name} {verdict[1]}",
            link="/opendata/manage",
            target_type=AUDIT_TARGET,
            target_id=ds.id,
        ),
    )
    return dataset_admin_out(s, ds, entry, ctx.locale)


def withdraw_dataset(ctx: ActionContext, dataset_id: str, data: WithdrawIn) -> DatasetAdminOut:
    """Take an open (or proposed) dataset off the portal: the operator, or its provider."""
    s = ctx.session
    ds, entry = _dataset(ctx, dataset_id)
    if not ctx.actor.can(Perm.OPENDATA_MANAGE):
        ctx.require(
            Perm.OPENDATA_PUBLISH,
            department_scope(s, entry.provider_department_id),
            target_id=ds.id,
        )
    if ds.status not in (DatasetStatus.OPEN, DatasetStatus.PROPOSED):
        raise Conflict(
            "该数据集未开放",
            "The dataset is not open",
            code="opendata_not_open",
            details={"status": ds.status},
        )
    ds.status, ds.withdrawn_at, ds.review_comment = (
        DatasetStatus.WITHDRAWN.value,
        now(),
        data.reason,
    )
    ds.featured = False
    ctx.audit(
        "opendata.dataset.withdraw",
        target_type=AUDIT_TARGET,
        target_id=ds.id,
        details={"resource_code": entry.resource_code, "reason": data.reason},
    )
    return dataset_admin_out(s, ds, entry, ctx.locale)


def feature_dataset(ctx: ActionContext, dataset_id: str, data: FeatureIn) -> DatasetAdminOut:
    """Feature an open dataset on the portal's home page (or stop featuring it)."""
    ctx.require(Perm.OPENDATA_MANAGE, target_id=dataset_id)
    ds, entry = _dataset(ctx, dataset_id)
    if data.featured and ds.status != DatasetStatus.OPEN:
        raise Conflict(
            "只能推荐已开放的数据集",
            "Only open datasets can be featured",
            code="opendata_not_open",
            details={"status": ds.status},
        )
    ds.featured = data.featured
    ctx.audit(
        "opendata.dataset.feature",
        target_type=AUDIT_TARGET,
        target_id=ds.id,
        details={"featured": data.featured},
    )
    return dataset_admin_out(ctx.session, ds, entry, ctx.locale)


def get_dataset_admin(ctx: ActionContext, dataset_id: str) -> DatasetAdminOut:
    s = ctx.session
    ds, entry = _dataset(ctx, dataset_id)
    scope = department_scope(s, entry.provider_department_id)
    if not (ctx.actor.can(Perm.OPENDATA_MANAGE) or ctx.actor.can(Perm.OPENDATA_PUBLISH, scope)):
        ctx.require(Perm.OPENDATA_MANAGE, target_id=ds.id)
    return dataset_admin_out(s, ds, entry, ctx.locale)


def list_datasets_admin(
    ctx: ActionContext,
    *,
    status: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[DatasetAdminOut]:
    """Open datasets of every status in the actor's scope, newest change first.

    The operator sees all; a department officer sees its department's.
    """
    if not ctx.actor.can(Perm.OPENDATA_MANAGE):
        ctx.require(Perm.OPENDATA_PUBLISH)
    s = ctx.session
    stmt = select(OpenDataset).join(CatalogEntry, CatalogEntry.id == OpenDataset.entry_id)
    if not ctx.actor.can(Perm.OPENDATA_MANAGE):
        stmt = stmt.where(
            scope_clause(
                ctx.actor,
                Perm.OPENDATA_PUBLISH,
                CatalogEntry.provider_department_id,
                CatalogEntry.region_path,
            )
        )
    if status:
        if status not in {x.value for x in DatasetStatus}:
            raise InvalidInput("未知状态", "Unknown status", code="invalid_status")
        stmt = stmt.where(OpenDataset.status == status)
    page = paginate(
        s,
        stmt,
        [OpenDataset.updated_at, OpenDataset.id],
        limit=limit,
        cursor=cursor,
        descending=True,
    )
    entries = {
        e.id: e
        for e in s.scalars(
            select(CatalogEntry).where(CatalogEntry.id.in_([d.entry_id for d in page.items]))
        )
    }
    return Page(
        items=[dataset_admin_out(s, d, entries[d.entry_id], ctx.locale) for d in page.items],
        next_cursor=page.next_cursor,
    )


class OpenableField(BaseModel):
    field: str
    item: str


class OpenableEntry(BaseModel):
    """A published, collected entry in the actor's scope that may be proposed for opening."""

    entry_id: str
    resource_code: str
    name: str
    provider_name: str
    grade: int
    open_type: str
    fields: list[OpenableField]
    # Set when it was proposed before and rejected or withdrawn (it may be proposed again).
    previous_status: str | None


def openable_entries(ctx: ActionContext, *, limit: int = 200) -> list[OpenableEntry]:
    """Entries the actor may propose now: published, grade ≤ 2, open or conditional, in the
    lake, of a department where the actor holds ``opendata.publish``, and not already
    proposed or open."""
    ctx.require(Perm.OPENDATA_PUBLISH)
    s = ctx.session
    busy = select(OpenDataset.entry_id).where(
        OpenDataset.status.in_([DatasetStatus.PROPOSED.value, DatasetStatus.OPEN.value])
    )
    entries = s.scalars(
        select(CatalogEntry)
        .where(
            entry_openable(),
            CatalogEntry.id.not_in(busy),
            scope_clause(
                ctx.actor,
                Perm.OPENDATA_PUBLISH,
                CatalogEntry.provider_department_id,
                CatalogEntry.region_path,
            ),
        )
        .order_by(CatalogEntry.resource_code)
        .limit(limit)
    ).all()
    previous = dict(
        s.execute(
            select(OpenDataset.entry_id, OpenDataset.status).where(
                OpenDataset.entry_id.in_([e.id for e in entries])
            )
        ).all()
    )
    out = []
    for entry in entries:
        mount = lake_mount(s, entry.id)
        if mount is None:
            continue
        items = openable_items(s, entry)
        fields = [
            OpenableField(field=c["field"], item=str(c["item"]))
            for c in mount.columns
            if c.get("item") in items
        ]
        if fields:
            out.append(
                OpenableEntry(
                    entry_id=entry.id,
                    resource_code=entry.resource_code,
                    name=entry.name,
                    provider_name=entry.provider_name,
                    grade=entry.grade,
                    open_type=entry.open_type,
                    fields=fields,
                    previous_status=previous.get(entry.id),
                )
            )
    return out
