"""Bulk catalog work in the form departments use: Excel template, import, and export.

The workbook layout lives in ``workbook``; these are the actions over it.
Import is all or nothing per file: every row is checked first, then the drafts
are created through ``actions.create_entry`` in the caller's one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select

from govdata.catalog import actions, vocab
from govdata.catalog.models import CatalogClass, CatalogEntry, EntryVersion
from govdata.catalog.schemas import EntryCreate, ItemIn
from govdata.catalog.search import SearchParams, search_entries
from govdata.catalog.workbook import (
    ENTRY_COLS,
    ENTRY_SHEET,
    ITEM_COLS,
    ITEM_SHEET,
    RowReader,
    dedupe,
    error_dict,
    failed,
    load,
    pydantic_errors,
    template,
    write_workbook,
)
from govdata.core.clock import now
from govdata.core.errors import GovDataError, InvalidInput
from govdata.identity import queries as org
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm, Scope

MAX_EXPORT = 10_000
EXPORT_PAGE = 200
# create_entry's rule: an entry hangs at 目 (level 3) or below.
MIN_CLASS_LEVEL = 3


def entry_template() -> bytes:
    """An empty .xlsx import template: headers (required ones in red), drop-downs, 填写说明."""
    return template()


def download_template(ctx: ActionContext) -> bytes:
    """The import template for those who may import (``catalog.edit``)."""
    ctx.require(Perm.CATALOG_EDIT)
    return template()


class CreatedEntry(BaseModel):
    row: int
    id: str
    resource_code: str
    name: str
    item_count: int


class ImportReport(BaseModel):
    """What an import created; on any row error nothing is created (see ``import_entries``)."""

    filename: str | None
    entry_count: int
    item_count: int
    resource_codes: list[str]
    entries: list[CreatedEntry]


def _version_dict(entry: CatalogEntry, version: EntryVersion) -> dict[str, Any]:
    """An entry's content in ``EntryCreate`` field names, plus its identity."""
    return {
        "id": entry.id,
        "resource_code": entry.resource_code,
        "status": vocab.label("status", entry.status),
        "status_code": entry.status,
        "origin": entry.origin,
        "upper_code": entry.upper_code,
        "version_no": version.version_no,
        "published_at": version.published_at,
        "classification_code": entry.class_code,
        "provider_code": entry.provider_code,
        "provider_name": entry.provider_name,
        **{
            f: getattr(version, f)
            for f in EntryCreate.model_fields
            if f not in ("classification_code", "provider_code", "items")
        },
    }


def _item_dicts(version: EntryVersion) -> list[dict[str, Any]]:
    return [{f: getattr(item, f) for f in ItemIn.model_fields} for item in version.items]


def _collect(ctx: ActionContext, params: SearchParams) -> list[tuple[CatalogEntry, EntryVersion]]:
    """Every entry the search finds (in its order) with the version its readers see."""
    ids: list[str] = []
    cursor: str | None = None
    while True:
        page_params = params.model_copy(update={"cursor": cursor, "limit": EXPORT_PAGE})
        page = search_entries(ctx, page_params)
        if page.total > MAX_EXPORT:
            raise InvalidInput(
                f"导出结果 {page.total} 条，超过上限 {MAX_EXPORT} 条，请缩小查询范围",
                f"{page.total} entries match, more than the export limit of {MAX_EXPORT}; "
                "narrow the search",
                code="export_too_large",
                details={"total": page.total, "limit": MAX_EXPORT},
            )
        ids.extend(e.id for e in page.items)
        cursor = page.next_cursor
        if not cursor or not page.items:
            break
    found: dict[str, CatalogEntry] = {}
    for chunk in _chunks(ids):
        stmt = select(CatalogEntry).where(CatalogEntry.id.in_(chunk))
        found.update((e.id, e) for e in ctx.session.scalars(stmt))
    versions: dict[str, EntryVersion] = {}
    for chunk in _chunks([_visible_version_id(e) for e in found.values()]):
        stmt2 = select(EntryVersion).where(EntryVersion.id.in_(chunk))
        versions.update((v.id, v) for v in ctx.session.scalars(stmt2))
    return [
        (found[i], versions[_visible_version_id(found[i])])
        for i in dict.fromkeys(ids)
        if i in found and _visible_version_id(found[i]) in versions
    ]


def _chunks(values: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _visible_version_id(entry: CatalogEntry) -> str:
    # Readers see the published version; an entry never published shows its working draft.
    return entry.published_version_id or entry.working_version_id or ""


def export_xlsx(ctx: ActionContext, params: SearchParams) -> bytes:
    """The entries a search finds, with their items, as an importable workbook (≤ 10,000)."""
    ctx.require(Perm.CATALOG_READ)
    rows = [(_version_dict(e, v), _item_dicts(v)) for e, v in _collect(ctx, params)]
    ctx.audit(
        "catalog.export",
        target_type="catalog",
        row_count=len(rows),
        details={"format": "xlsx", "entries": len(rows)},
    )
    return write_workbook(rows)


def export_json(ctx: ActionContext, params: SearchParams) -> bytes:
    """The entries a search finds as JSON: stored codes, ``EntryCreate`` field names, items.

    ``{"format": "govdata-catalog-export", "version": 1, "generated_at", "total",
    "entries": [{id, resource_code, status, origin, upper_code, version_no, published_at,
    classification_code, provider_code, provider_name, name, summary, ..., items: [...]}]}``
    """
    ctx.require(Perm.CATALOG_READ)
    entries = []
    for entry, version in _collect(ctx, params):
        data = _version_dict(entry, version)
        data["status"] = data.pop("status_code")
        data["items"] = _item_dicts(version)
        entries.append(data)
    ctx.audit(
        "catalog.export",
        target_type="catalog",
        row_count=len(entries),
        details={"format": "json", "entries": len(entries)},
    )
    doc = {
        "format": "govdata-catalog-export",
        "version": 1,
        "generated_at": now(),
        "total": len(entries),
        "entries": entries,
    }
    return json.dumps(doc, ensure_ascii=False, default=_json_default, indent=1).encode()


def _json_default(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _check_references(
    ctx: ActionContext, parsed: list[tuple[int, dict[str, Any]]], reader: RowReader
) -> None:
    """Classification codes exist, are active and fine enough; providers exist and the actor
    may catalog for them — the checks ``create_entry`` makes, done here for every row at once."""
    codes = {d["classification_code"] for _, d in parsed if "classification_code" in d}
    stmt = select(CatalogClass).where(CatalogClass.code.in_(codes))
    classes = {c.code: c for c in ctx.session.scalars(stmt)}
    problems: dict[str | None, str | None] = {}
    for row, data in parsed:
        code = data.get("classification_code")
        node = classes.get(code) if code is not None else None
        if code is not None and (node is None or not node.is_active):
            reader.err(row, "资源分类代码", "unknown_classification", value=code)
        elif node is not None and node.level < MIN_CLASS_LEVEL:
            reader.err(row, "资源分类代码", "classification_too_broad", value=code)
        provider = data.get("provider_code")
        if provider not in problems:
            problems[provider] = _provider_problem(ctx, provider)
        if problem := problems[provider]:
            reader.err(row, "资源提供方代码", problem, value=provider)


def _provider_problem(ctx: ActionContext, code: str | None) -> str | None:
    s = ctx.session
    if code is None:
        if ctx.actor.department_id is None:
            return "provider_required"
        dept = org.department_by_id(s, ctx.actor.department_id)
    else:
        dept = org.department_by_code(s, code)
    if dept is None or not dept.is_active:
        return "unknown_provider"
    scope = Scope(region_path=dept.region_path, department_id=dept.id)
    return None if ctx.actor.can(Perm.CATALOG_EDIT, scope) else "provider_not_allowed"


def import_entries(ctx: ActionContext, data: bytes, filename: str | None = None) -> ImportReport:
    """Create one draft per row of 「目录」 with its 「信息项」 rows; all or nothing.

    Every row is checked before anything is written. On any error nothing is
    created and ``InvalidInput`` ``import_failed`` lists every error in
    ``details.errors`` as ``{sheet, row, column, code, message, message_en}``
    (row = the Excel row number). Codes: missing_column, missing_required,
    invalid_choice, invalid_grade, invalid_number, invalid_boolean, invalid_date,
    invalid_value, duplicate_row_key, unknown_row_key, unknown_classification,
    unknown_provider, provider_not_allowed, or the code a create refused with.
    Limits: 10 MB, 5,000 entries, 100,000 items (``file_too_large``,
    ``too_many_rows``); a file that is not an .xlsx workbook → ``invalid_file``.
    """
    ctx.require(Perm.CATALOG_EDIT)
    _, entry_rows, item_rows = load(data, filename)
    errors: list[dict[str, Any]] = []
    entries = RowReader(ENTRY_SHEET, errors)
    parsed: list[tuple[int, dict[str, Any]]] = []
    by_key: dict[str, int] = {}
    parsed_rows: dict[str, int] = {}
    for row, cells in entry_rows:
        values = entries.read(row, cells, ENTRY_COLS)
        key = values.pop("key", None)
        if key is not None:
            if key in by_key:
                entries.err(row, "行号", "duplicate_row_key", value=key, other=parsed_rows[key])
            else:
                by_key[key] = len(parsed)
                parsed_rows[key] = row
        parsed.append((row, values))
    item_reader = RowReader(ITEM_SHEET, errors)
    items: list[list[ItemIn]] = [[] for _ in parsed]
    for row, cells in item_rows:
        values = item_reader.read(row, cells, ITEM_COLS)
        key = values.pop("key", None)
        if key is not None and key not in by_key:
            item_reader.err(row, "行号", "unknown_row_key", value=key)
        try:
            item = ItemIn.model_validate(values)
        except ValidationError as exc:
            pydantic_errors(item_reader, row, exc, ITEM_COLS)
            continue
        if key in by_key:
            items[by_key[key]].append(item)
    _check_references(ctx, parsed, entries)
    creates: list[tuple[int, EntryCreate]] = []
    for (row, values), entry_items in zip(parsed, items, strict=True):
        try:
            creates.append((row, EntryCreate.model_validate({**values, "items": entry_items})))
        except ValidationError as exc:
            pydantic_errors(entries, row, exc, ENTRY_COLS)
    errors = dedupe(errors)
    if errors:
        raise failed(errors)
    report = ImportReport(
        filename=filename, entry_count=0, item_count=0, resource_codes=[], entries=[]
    )
    for row, create in creates:
        try:
            out = actions.create_entry(ctx, create)
        except GovDataError as exc:
            errors.append(
                error_dict(ENTRY_SHEET, row, "", exc.code, exc.message_zh, exc.message_en)
            )
            continue
        report.entries.append(
            CreatedEntry(
                row=row,
                id=out.id,
                resource_code=out.resource_code,
                name=out.name,
                item_count=len(create.items),
            )
        )
    if errors:
        # Rows created before the failing one roll back with the caller's transaction.
        raise failed(errors)
    report.entry_count = len(report.entries)
    report.item_count = sum(e.item_count for e in report.entries)
    report.resource_codes = [e.resource_code for e in report.entries]
    ctx.audit(
        "catalog.import",
        target_type="catalog",
        row_count=report.entry_count,
        details={"filename": filename, "entries": report.entry_count, "items": report.item_count},
    )
    return report
