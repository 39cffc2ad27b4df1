"""Field-by-field comparison of two versions of an entry."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from govdata.catalog import vocab
from govdata.catalog.actions._common import (
    CONTENT_FIELDS,
    ITEM_FIELDS,
    PUBLIC_VERSION_STATUSES,
    sees_working,
    visible_entry,
)
from govdata.catalog.models import EntryItem, EntryVersion
from govdata.catalog.schemas import FieldChange, ItemChange, VersionDiff
from govdata.core.errors import InvalidInput, NotFound
from govdata.security.context import ActionContext

FIELD_LABELS: dict[str, tuple[str, str]] = {
    "name": ("资源名称", "Name"),
    "summary": ("资源摘要", "Summary"),
    "format": ("资源格式", "Format"),
    "share_type": ("共享类型", "Share type"),
    "share_condition": ("共享条件", "Share condition"),
    "not_shared_basis": ("不予共享依据", "Legal basis for not sharing"),
    "share_modes": ("共享方式", "Share modes"),
    "open_type": ("开放类型", "Open type"),
    "open_condition": ("开放条件", "Open condition"),
    "update_cycle": ("更新周期", "Update cycle"),
    "publish_date": ("发布日期", "Publish date"),
    "related_codes": ("关联资源代码", "Related resource codes"),
    "keywords": ("关键词", "Keywords"),
    "grade": ("分级", "Grade"),
    "contact_name": ("联系人", "Contact"),
    "contact_phone": ("联系电话", "Contact phone"),
    "contact_email": ("电子邮箱", "Contact email"),
    "name_en": ("英文名称", "English name"),
    "data_type": ("数据类型", "Data type"),
    "length": ("长度", "Length"),
    "is_key": ("是否主键", "Key"),
    "is_sensitive": ("是否敏感", "Sensitive"),
    "description": ("描述", "Description"),
    "data_element": ("数据元", "Data element"),
}
# Fields whose stored codes the diff shows as labels.
LABELLED = {
    "format": "format",
    "share_type": "share_type",
    "open_type": "open_type",
    "update_cycle": "update_cycle",
    "data_type": "data_type",
    "grade": "grade",
}


def _label(field: str, locale: str) -> str:
    zh, en = FIELD_LABELS.get(field, (field, field))
    return zh if locale.startswith("zh") else en


def _shown(field: str, value: Any, locale: str) -> Any:
    if field in LABELLED and value is not None:
        return vocab.label(LABELLED[field], value, locale)
    if field == "share_modes":
        return [vocab.label("share_mode", v, locale) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _changes(fields: tuple[str, ...], old: object, new: object, locale: str) -> list[FieldChange]:
    changes = []
    for field in fields:
        before, after = getattr(old, field), getattr(new, field)
        if before != after:
            changes.append(
                FieldChange(
                    field=field,
                    label=_label(field, locale),
                    before=_shown(field, before, locale),
                    after=_shown(field, after, locale),
                )
            )
    return changes


def _item_changes(old: list[EntryItem], new: list[EntryItem], locale: str) -> list[ItemChange]:
    # Items are matched by name: renaming one reads as removed + added, which is what it is
    # for anyone who consumes the field.
    before = {i.name: i for i in old}
    after = {i.name: i for i in new}
    result = [ItemChange(name=n, change="removed") for n in before if n not in after]
    for name, item in after.items():
        if name not in before:
            result.append(ItemChange(name=name, change="added"))
            continue
        fields = _changes(ITEM_FIELDS, before[name], item, locale)
        if fields:
            result.append(ItemChange(name=name, change="changed", fields=fields))
    return result


def diff_versions(
    ctx: ActionContext, ref: str, from_no: int | None = None, to_no: int | None = None
) -> VersionDiff:
    """What changed from version ``from_no`` to ``to_no``, field by field and item by item.

    ``to_no`` defaults to the newest version the actor may read, ``from_no`` to the one
    before it. 422 ``single_version`` when there is nothing to compare.
    """
    entry = visible_entry(ctx, ref)
    insider = sees_working(ctx, entry)
    if to_no is None:
        readable = [
            v.version_no
            for v in ctx.session.scalars(
                select(EntryVersion).where(EntryVersion.entry_id == entry.id)
            )
            if insider or v.status in PUBLIC_VERSION_STATUSES
        ]
        to_no = max(readable)
    if from_no is None:
        from_no = to_no - 1
    if from_no < 1:
        raise InvalidInput(
            "该目录只有一个版本，无可比较",
            "The entry has a single version; there is nothing to compare",
            code="single_version",
        )
    found: dict[int, EntryVersion] = {}
    for no in (from_no, to_no):
        version = ctx.session.scalars(
            select(EntryVersion).where(
                EntryVersion.entry_id == entry.id, EntryVersion.version_no == no
            )
        ).one_or_none()
        if version is None or (not insider and version.status not in PUBLIC_VERSION_STATUSES):
            raise NotFound(f"版本 {no} 不存在", f"Version {no} not found", code="version_not_found")
        found[no] = version
    old, new = found[from_no], found[to_no]
    return VersionDiff(
        from_version=from_no,
        to_version=to_no,
        fields=_changes(CONTENT_FIELDS, old, new, ctx.locale),
        items=_item_changes(old.items, new.items, ctx.locale),
    )
