"""National catalog exchange (上级目录): export published entries upward, import applied-for ones.

The JSON form is specified in ``docs/catalog-exchange.md``: an envelope
``{"format": "govdata-catalog-exchange", "version": 1, "node", "generated_at",
"entries", "withdrawn"}``; every enumerated value travels as ``{"code", "label"}``
with the national standard's Chinese label, so a receiver may read either.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select

from govdata import __version__
from govdata.catalog import actions, vocab
from govdata.catalog.models import CatalogClass, CatalogEntry, EntryVersion
from govdata.catalog.schemas import EntryCreate
from govdata.catalog.vocab import EntryStatus, Origin
from govdata.core.clock import now
from govdata.core.errors import GovDataError, InvalidInput
from govdata.identity import queries as org
from govdata.identity.actions import list_regions
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm, Scope

FORMAT = "govdata-catalog-exchange"
VERSION = 1
MAX_IMPORT = 5_000
# create_entry's rule: an entry hangs at 目 (level 3) or below.
MIN_CLASS_LEVEL = 3


def _coded(kind: str, value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    return {"code": str(value), "label": vocab.label(kind, value)}


def _grade(level: int) -> dict[str, Any]:
    return {"level": level, "label": vocab.label("grade", level), "class": vocab.grade_class(level)}


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _entry_doc(entry: CatalogEntry, version: EntryVersion) -> dict[str, Any]:
    return {
        "resource_code": entry.resource_code,
        "name": version.name,
        "provider": {
            "code": entry.provider_code,
            "name": entry.provider_name,
            "credit_code": entry.provider_credit_code,
            "region_code": entry.region_code,
        },
        "classification": {
            "code": entry.class_code,
            "name": entry.classification.name,
            "category": _coded("category", entry.category),
        },
        "summary": version.summary,
        "format": _coded("format", version.format),
        "share_type": _coded("share_type", version.share_type),
        "share_condition": version.share_condition,
        "not_shared_basis": version.not_shared_basis,
        "share_modes": [_coded("share_mode", m) for m in version.share_modes],
        "open_type": _coded("open_type", version.open_type),
        "open_condition": version.open_condition,
        "update_cycle": _coded("update_cycle", version.update_cycle),
        "publish_date": _day(version.publish_date),
        "related_codes": list(version.related_codes),
        "keywords": list(version.keywords),
        "grade": _grade(version.grade),
        "contact": {
            "name": version.contact_name,
            "phone": version.contact_phone,
            "email": version.contact_email,
        },
        "items": [
            {
                "position": item.position,
                "name": item.name,
                "name_en": item.name_en,
                "data_type": _coded("data_type", item.data_type),
                "length": item.length,
                "is_key": item.is_key,
                "is_sensitive": item.is_sensitive,
                "grade": _grade(item.grade),
                "share_type": _coded("share_type", item.share_type),
                "description": item.description,
                "data_element": item.data_element,
            }
            for item in version.items
        ],
        "version_no": version.version_no,
        "published_at": version.published_at.isoformat() if version.published_at else None,
    }


def _node(ctx: ActionContext) -> dict[str, Any]:
    roots = [r for r in list_regions(ctx) if r.parent_code is None]
    root = roots[0] if roots else None
    return {
        "region_code": root.code if root else None,
        "region_name": root.name if root else None,
        "platform": "GovData",
        "platform_version": __version__,
    }


def export_national(ctx: ActionContext, *, since: datetime | None = None) -> dict[str, Any]:
    """Published entries catalogued here, in the exchange form, for the upper-level catalog.

    ``since`` keeps only entries published (or withdrawn) at or after that time,
    for incremental delivery. Entries applied for from the upper level
    (origin ``upper``) are left out: they came from there. Needs ``catalog.manage``.
    """
    ctx.require(Perm.CATALOG_MANAGE)
    s = ctx.session
    local = CatalogEntry.origin == Origin.LOCAL
    stmt = (
        select(CatalogEntry, EntryVersion)
        .join(EntryVersion, EntryVersion.id == CatalogEntry.published_version_id)
        .where(CatalogEntry.status == EntryStatus.PUBLISHED, local)
        .order_by(CatalogEntry.resource_code)
    )
    gone = select(CatalogEntry).where(CatalogEntry.status == EntryStatus.WITHDRAWN, local)
    if since is not None:
        stmt = stmt.where(CatalogEntry.published_at >= since)
        gone = gone.where(CatalogEntry.withdrawn_at >= since)
    entries = [_entry_doc(e, v) for e, v in s.execute(stmt)]
    withdrawn = [
        {
            "resource_code": e.resource_code,
            "withdrawn_at": e.withdrawn_at.isoformat() if e.withdrawn_at else None,
            "reason": e.withdrawn_reason,
        }
        for e in s.scalars(gone.order_by(CatalogEntry.resource_code))
    ]
    ctx.audit(
        "catalog.national.export",
        target_type="catalog",
        row_count=len(entries),
        details={"since": since.isoformat() if since else None, "withdrawn": len(withdrawn)},
    )
    return {
        "format": FORMAT,
        "version": VERSION,
        "node": _node(ctx),
        "generated_at": now().isoformat(),
        "since": since.isoformat() if since else None,
        "entries": entries,
        "withdrawn": withdrawn,
    }


# Import (申领) -------------------------------------------------------------------------------


class UpperSkipped(BaseModel):
    upper_code: str
    resource_code: str
    reason: str


class UpperCreated(BaseModel):
    upper_code: str
    id: str
    resource_code: str
    name: str


class UpperImportReport(BaseModel):
    provider_code: str
    created: list[UpperCreated]
    skipped: list[UpperSkipped]


def _bad_envelope(zh: str, en: str, code: str, **details: Any) -> InvalidInput:
    return InvalidInput(zh, en, code=code, details=details or None)


def _check_envelope(payload: Any) -> list[Any]:
    if not isinstance(payload, dict):
        raise _bad_envelope(
            "交换文件须为 JSON 对象", "The payload must be a JSON object", "invalid_exchange"
        )
    if payload.get("format") != FORMAT:
        raise _bad_envelope(
            f"不是目录交换文件（format 须为 {FORMAT}）",
            f"Not a catalog exchange document (format must be {FORMAT})",
            "unsupported_format",
            format=payload.get("format"),
        )
    if payload.get("version") != VERSION:
        raise _bad_envelope(
            f"不支持的交换格式版本：{payload.get('version')!r}（支持 {VERSION}）",
            f"Unsupported exchange version {payload.get('version')!r} (supported: {VERSION})",
            "unsupported_version",
            version=payload.get("version"),
        )
    if not isinstance(payload.get("node", {}), dict):
        raise _bad_envelope("node 须为对象", "node must be an object", "invalid_exchange")
    entries = payload.get("entries")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise _bad_envelope(
            "entries 须为对象数组", "entries must be a list of objects", "invalid_exchange"
        )
    if len(entries) > MAX_IMPORT:
        raise _bad_envelope(
            f"一次最多导入 {MAX_IMPORT} 条目录",
            f"At most {MAX_IMPORT} entries per import",
            "too_many_entries",
            limit=MAX_IMPORT,
        )
    return entries


class _Problems:
    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []

    def add(self, index: int, code_: str | None, field: str, code: str, zh: str, en: str) -> None:
        self.errors.append(
            {
                "index": index,
                "resource_code": code_,
                "field": field,
                "code": code,
                "message": zh,
                "message_en": en,
            }
        )


def _value(
    kind: str, raw: Any, field: str, index: int, rc: str | None, problems: _Problems
) -> str | None:
    """A coded value from ``{"code", "label"}``, a bare code or a label; None if absent/bad."""
    if raw is None:
        return None
    candidates = [raw.get("code"), raw.get("label")] if isinstance(raw, dict) else [raw]
    for candidate in candidates:
        if isinstance(candidate, str | int) and not isinstance(candidate, bool):
            value = vocab.parse_label(kind, str(candidate))
            if value is not None:
                return value
    problems.add(
        index,
        rc,
        field,
        "invalid_choice",
        f"“{field}”的值 {raw!r} 不在标准值域内",
        f"{field}: {raw!r} is not an allowed value",
    )
    return None


def _grade_value(raw: Any, field: str, index: int, rc: str | None, p: _Problems) -> int | None:
    if isinstance(raw, dict):
        raw = raw.get("level", raw.get("code", raw.get("label")))
    value = _value("grade", raw, field, index, rc, p)
    return int(value) if value is not None else None


def _content(raw: dict[str, Any], index: int, problems: _Problems) -> dict[str, Any]:
    """The exchange form of one entry turned back into ``EntryCreate`` input."""
    rc = raw.get("resource_code") if isinstance(raw.get("resource_code"), str) else None
    klass = raw.get("classification")
    contact: dict[str, Any] = raw["contact"] if isinstance(raw.get("contact"), dict) else {}
    data: dict[str, Any] = {
        "classification_code": klass.get("code") if isinstance(klass, dict) else klass,
        "name": raw.get("name"),
        "summary": raw.get("summary") or "",
        "share_condition": raw.get("share_condition"),
        "not_shared_basis": raw.get("not_shared_basis"),
        "open_condition": raw.get("open_condition"),
        "publish_date": raw.get("publish_date"),
        "related_codes": raw.get("related_codes") or [],
        "keywords": raw.get("keywords") or [],
        "contact_name": contact.get("name"),
        "contact_phone": contact.get("phone"),
        "contact_email": contact.get("email"),
    }
    for field in ("format", "share_type", "open_type", "update_cycle"):
        data[field] = _value(field, raw.get(field), field, index, rc, problems)
    modes = raw.get("share_modes") or []
    data["share_modes"] = [
        _value("share_mode", m, "share_modes", index, rc, problems)
        for m in (modes if isinstance(modes, list) else [modes])
    ]
    data["grade"] = _grade_value(raw.get("grade"), "grade", index, rc, problems)
    items = raw.get("items") or []
    data["items"] = []
    for n, item in enumerate(items if isinstance(items, list) else [items]):
        where = f"items[{n}]"
        if not isinstance(item, dict):
            problems.add(
                index, rc, where, "invalid_value", "信息项须为对象", "An item must be an object"
            )
            continue
        data["items"].append(
            {
                **{
                    k: item.get(k)
                    for k in ("name", "name_en", "length", "description", "data_element")
                },
                "is_key": bool(item.get("is_key")),
                "is_sensitive": bool(item.get("is_sensitive")),
                "data_type": _value(
                    "data_type", item.get("data_type"), f"{where}.data_type", index, rc, problems
                ),
                "grade": _grade_value(item.get("grade"), f"{where}.grade", index, rc, problems)
                or 1,
                "share_type": _value(
                    "share_type", item.get("share_type"), f"{where}.share_type", index, rc, problems
                ),
            }
        )
    return data


# EntryCreate fields whose exchange form is nested.
_EXCHANGE_NAMES = {
    "classification_code": "classification.code",
    "contact_name": "contact.name",
    "contact_phone": "contact.phone",
    "contact_email": "contact.email",
}


def import_upper(ctx: ActionContext, payload: Any, *, provider_code: str) -> UpperImportReport:
    """Take entries applied for from the upper-level catalog (申领) as local drafts.

    Each entry becomes a draft of ``provider_code``'s department marked
    ``origin=upper`` with ``upper_code`` = its upper-level resource code; it gets
    a local resource code and then goes through review like any draft. An upper
    code already taken earlier is skipped (reported in ``skipped``, reason
    ``already_imported``), never duplicated or overwritten. All or nothing: any
    invalid entry fails the whole import with 422 ``import_failed`` and
    ``details.errors`` ``[{index, resource_code, field, code, message, message_en}]``.
    Envelope errors: ``invalid_exchange``, ``unsupported_format``,
    ``unsupported_version``, ``too_many_entries``. Needs ``catalog.manage``.
    """
    ctx.require(Perm.CATALOG_MANAGE)
    s = ctx.session
    raw_entries = _check_envelope(payload)
    dept = org.department_by_code(s, provider_code)
    if dept is None or not dept.is_active:
        raise InvalidInput(
            f"提供方部门“{provider_code}”不存在或已停用",
            f"Unknown or inactive provider department '{provider_code}'",
            code="unknown_provider",
            details={"provider_code": provider_code},
        )
    ctx.require(Perm.CATALOG_EDIT, Scope(dept.region_path, dept.id), target_id=dept.id)
    problems = _Problems()
    seen: dict[str, int] = {}
    parsed: list[tuple[int, str, EntryCreate]] = []
    for index, raw in enumerate(raw_entries):
        upper = raw.get("resource_code")
        if not isinstance(upper, str) or not upper.strip():
            problems.add(
                index,
                None,
                "resource_code",
                "missing_required",
                "缺少上级资源代码",
                "resource_code is required",
            )
            continue
        upper = upper.strip()
        if upper in seen:
            problems.add(
                index,
                upper,
                "resource_code",
                "duplicate_upper_code",
                f"与第 {seen[upper]} 条重复",
                f"Repeats entry {seen[upper]}",
            )
            continue
        seen[upper] = index
        before = len(problems.errors)
        data = _content(raw, index, problems)
        if len(problems.errors) > before:
            continue
        try:
            create = EntryCreate.model_validate({**data, "provider_code": provider_code})
        except ValidationError as exc:
            for e in exc.errors():
                loc = [_EXCHANGE_NAMES.get(str(x), x) for x in e["loc"][:1]] + [*e["loc"][1:]]
                field = "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in loc)
                field = field.lstrip(".")
                problems.add(
                    index,
                    upper,
                    field,
                    "invalid_value",
                    f"“{field}”取值不合法：{e['msg']}",
                    e["msg"],
                )
            continue
        parsed.append((index, upper, create))
    _check_classes(ctx, parsed, problems)
    existing = _existing(ctx, list(seen))
    report = UpperImportReport(provider_code=provider_code, created=[], skipped=[])
    if not problems.errors:
        for index, upper, create in parsed:
            if upper in existing:
                report.skipped.append(
                    UpperSkipped(
                        upper_code=upper, resource_code=existing[upper], reason="already_imported"
                    )
                )
                continue
            try:
                out = actions.create_entry(ctx, create, origin=Origin.UPPER, upper_code=upper)
            except GovDataError as exc:
                problems.add(index, upper, "", exc.code, exc.message_zh, exc.message_en)
                continue
            report.created.append(
                UpperCreated(
                    upper_code=upper, id=out.id, resource_code=out.resource_code, name=out.name
                )
            )
    if problems.errors:
        problems.errors.sort(key=lambda e: int(e["index"]))
        raise InvalidInput(
            f"导入失败：{len(problems.errors)} 处错误，未导入任何目录",
            f"Import failed with {len(problems.errors)} errors; nothing was imported",
            code="import_failed",
            details={"errors": problems.errors},
        )
    ctx.audit(
        "catalog.national.import",
        target_type="department",
        target_id=dept.id,
        row_count=len(report.created),
        details={
            "provider_code": provider_code,
            "created": len(report.created),
            "skipped": len(report.skipped),
            "node": payload.get("node"),
        },
    )
    return report


def _check_classes(
    ctx: ActionContext, parsed: list[tuple[int, str, EntryCreate]], problems: _Problems
) -> None:
    codes = {c.classification_code for _, _, c in parsed}
    stmt = select(CatalogClass).where(CatalogClass.code.in_(codes))
    classes = {c.code: c for c in ctx.session.scalars(stmt)}
    for index, upper, create in parsed:
        node = classes.get(create.classification_code)
        if node is None or not node.is_active or node.level < MIN_CLASS_LEVEL:
            code = create.classification_code
            problems.add(
                index,
                upper,
                "classification.code",
                "unknown_classification",
                f"本级分类体系中没有可编目的分类“{code}”",
                f"No usable classification {code} in the local tree",
            )


def _existing(ctx: ActionContext, upper_codes: list[str]) -> dict[str, str]:
    """Upper codes already taken here → the local resource code that took them."""
    found: dict[str, str] = {}
    for start in range(0, len(upper_codes), 500):
        chunk = upper_codes[start : start + 500]
        stmt = select(CatalogEntry.upper_code, CatalogEntry.resource_code).where(
            CatalogEntry.upper_code.in_(chunk)
        )
        for upper, local in ctx.session.execute(stmt):
            if upper is not None:
                found.setdefault(upper, local)
    return found
