"""Standards registry actions: data elements (数据元) and code sets (代码集).

Everyone who reads the catalog reads the standards (``standard.read``); only the
platform operator changes them (``standard.manage``). Every change is audited.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from govdata.catalog.models import CodeSet, CodeValue, DataElement
from govdata.catalog.standards import transfer
from govdata.catalog.standards.schemas import (
    CodeSetFields,
    CodeSetIn,
    CodeSetOut,
    CodeSetPage,
    CodeSetSummary,
    CodeValueOut,
    DataElementFields,
    DataElementIn,
    DataElementOut,
    DataElementPage,
    ElementStatus,
    ExportFile,
    ExportFormat,
    ImportReport,
    ImportRowError,
    StandardKind,
)
from govdata.core.errors import Conflict, InvalidInput, NotFound
from govdata.core.pagination import paginate
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm

MAX_IMPORT_BYTES = 10 * 1024 * 1024
MAX_REPORTED_ERRORS = 500
ELEMENT_STATUSES = ("draft", "current", "retired")


def _count(s: Session, stmt: Select[Any]) -> int:
    return s.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


# Data elements -----------------------------------------------------------------------------


def _element_out(e: DataElement) -> DataElementOut:
    return DataElementOut(
        id=e.id,
        identifier=e.identifier,
        name=e.name,
        name_en=e.name_en,
        definition=e.definition,
        data_type=e.data_type,
        format=e.format,
        max_length=e.max_length,
        value_domain=e.value_domain,
        code_set=e.code_set.identifier if e.code_set else None,
        code_set_name=e.code_set.name if e.code_set else None,
        unit=e.unit,
        version=e.version,
        status=e.status,
        created_at=e.created_at,
        updated_at=e.updated_at,
    )


def _element_in(e: DataElement) -> DataElementIn:
    return DataElementIn(
        identifier=e.identifier,
        name=e.name,
        name_en=e.name_en,
        definition=e.definition,
        data_type=e.data_type,  # type: ignore[arg-type]
        format=e.format,
        max_length=e.max_length,
        value_domain=e.value_domain,
        code_set=e.code_set.identifier if e.code_set else None,
        unit=e.unit,
        version=e.version,
        status=e.status,  # type: ignore[arg-type]
    )


def _element(s: Session, identifier: str) -> DataElement:
    element = s.scalar(select(DataElement).where(DataElement.identifier == identifier))
    if element is None:
        raise NotFound(
            f"数据元“{identifier}”不存在",
            f"Data element '{identifier}' not found",
            code="data_element_not_found",
        )
    return element


def _code_set_ids(s: Session, identifiers: set[str]) -> dict[str, str]:
    if not identifiers:
        return {}
    rows = s.execute(
        select(CodeSet.identifier, CodeSet.id).where(CodeSet.identifier.in_(identifiers))
    )
    return {ident: id_ for ident, id_ in rows}


def _unknown_code_set(identifier: str) -> InvalidInput:
    return InvalidInput(
        f"代码集“{identifier}”不存在",
        f"Unknown code set '{identifier}'",
        code="unknown_code_set",
        details={"code_set": identifier},
    )


def _apply_element(
    s: Session, element: DataElement, data: DataElementFields, code_set_id: str | None
) -> None:
    for key in (
        "name",
        "name_en",
        "definition",
        "format",
        "max_length",
        "value_domain",
        "unit",
        "version",
        "status",
    ):
        setattr(element, key, getattr(data, key))
    element.data_type = data.data_type.value
    element.code_set_id = code_set_id
    element.code_set = s.get(CodeSet, code_set_id) if code_set_id else None


def list_data_elements(
    ctx: ActionContext,
    *,
    q: str | None = None,
    status: ElementStatus | None = None,
    code_set: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> DataElementPage:
    """Data elements ordered by identifier.

    ``q`` matches the identifier, the Chinese or the English name; ``status`` is one of
    draft, current, retired; ``code_set`` keeps the elements that use that code set.
    """
    ctx.require(Perm.STANDARD_READ)
    s = ctx.session
    stmt = select(DataElement)
    if q:
        stmt = stmt.where(
            or_(
                DataElement.identifier.contains(q, autoescape=True),
                DataElement.name.contains(q, autoescape=True),
                DataElement.name_en.contains(q.lower(), autoescape=True),
            )
        )
    if status is not None:
        if status not in ELEMENT_STATUSES:
            raise InvalidInput("状态无法识别", "Unknown status", code="invalid_status")
        stmt = stmt.where(DataElement.status == status)
    if code_set:
        stmt = stmt.join(CodeSet, DataElement.code_set_id == CodeSet.id).where(
            CodeSet.identifier == code_set
        )
    page = paginate(s, stmt, [DataElement.identifier], limit=limit, cursor=cursor)
    return DataElementPage(
        items=[_element_out(e) for e in page.items],
        total=_count(s, stmt),
        next_cursor=page.next_cursor,
    )


def get_data_element(ctx: ActionContext, identifier: str) -> DataElementOut:
    """One data element by its identifier (e.g. ``DE00001``). 404 ``data_element_not_found``."""
    ctx.require(Perm.STANDARD_READ)
    return _element_out(_element(ctx.session, identifier))


def create_data_element(ctx: ActionContext, data: DataElementIn) -> DataElementOut:
    """Register a data element. Errors: 409 ``data_element_taken``, 422 ``unknown_code_set``."""
    ctx.require(Perm.STANDARD_MANAGE)
    s = ctx.session
    if s.scalar(select(DataElement.id).where(DataElement.identifier == data.identifier)):
        raise Conflict(
            f"数据元标识符“{data.identifier}”已存在",
            f"Data element '{data.identifier}' already exists",
            code="data_element_taken",
        )
    code_set_id = _code_set_ids(s, {data.code_set} if data.code_set else set()).get(
        data.code_set or ""
    )
    if data.code_set and code_set_id is None:
        raise _unknown_code_set(data.code_set)
    element = DataElement(identifier=data.identifier)
    _apply_element(s, element, data, code_set_id)
    s.add(element)
    s.flush()
    ctx.audit(
        "standard.data_element_create",
        target_type="data_element",
        target_id=element.id,
        details={"identifier": element.identifier, "name": element.name},
    )
    return _element_out(element)


def update_data_element(
    ctx: ActionContext, identifier: str, data: DataElementFields
) -> DataElementOut:
    """Replace a data element's definition (everything but its identifier).

    Errors: 404 ``data_element_not_found``, 422 ``unknown_code_set``.
    """
    ctx.require(Perm.STANDARD_MANAGE)
    s = ctx.session
    element = _element(s, identifier)
    code_set_id = _code_set_ids(s, {data.code_set} if data.code_set else set()).get(
        data.code_set or ""
    )
    if data.code_set and code_set_id is None:
        raise _unknown_code_set(data.code_set)
    before = _element_in(element).model_dump(mode="json")
    _apply_element(s, element, data, code_set_id)
    s.flush()
    after = _element_in(element).model_dump(mode="json")
    ctx.audit(
        "standard.data_element_update",
        target_type="data_element",
        target_id=element.id,
        details={
            "identifier": identifier,
            "changed": sorted(k for k in after if after[k] != before[k]),
        },
    )
    return _element_out(element)


def retire_data_element(ctx: ActionContext, identifier: str) -> DataElementOut:
    """Mark a data element retired (废止). Items that still use it get a conformance warning;
    the element stays readable. Retiring a retired element changes nothing."""
    ctx.require(Perm.STANDARD_MANAGE)
    element = _element(ctx.session, identifier)
    if element.status != "retired":
        element.status = "retired"
        ctx.session.flush()
        ctx.audit(
            "standard.data_element_retire",
            target_type="data_element",
            target_id=element.id,
            details={"identifier": identifier},
        )
    return _element_out(element)


# Code sets ---------------------------------------------------------------------------------


def _code_set(s: Session, identifier: str) -> CodeSet:
    cs = s.scalar(select(CodeSet).where(CodeSet.identifier == identifier))
    if cs is None:
        raise NotFound(
            f"代码集“{identifier}”不存在",
            f"Code set '{identifier}' not found",
            code="code_set_not_found",
        )
    return cs


def _set_fields(cs: CodeSet) -> dict[str, Any]:
    return {
        "id": cs.id,
        "identifier": cs.identifier,
        "name": cs.name,
        "name_en": cs.name_en,
        "standard": cs.standard,
        "version": cs.version,
        "status": cs.status,
        "description": cs.description,
        "updated_at": cs.updated_at,
    }


def _code_set_out(cs: CodeSet) -> CodeSetOut:
    return CodeSetOut(
        **_set_fields(cs),
        value_count=len(cs.values),
        values=[CodeValueOut.model_validate(v) for v in cs.values],
    )


def _code_set_in(cs: CodeSet) -> CodeSetIn:
    return CodeSetIn(
        identifier=cs.identifier,
        name=cs.name,
        name_en=cs.name_en,
        standard=cs.standard,
        version=cs.version,
        status=cs.status,  # type: ignore[arg-type]
        description=cs.description,
        values=[
            {"code": v.code, "label": v.label, "label_en": v.label_en, "parent_code": v.parent_code}
            for v in cs.values
        ],  # type: ignore[misc]
    )


def _apply_code_set(cs: CodeSet, data: CodeSetFields) -> None:
    for key in ("name", "name_en", "standard", "version", "status", "description"):
        setattr(cs, key, getattr(data, key))
    # Update values in place by code: deleting and re-inserting the same code in one
    # flush would trip the (code_set_id, code) unique constraint.
    existing = {v.code: v for v in cs.values}
    keep: list[CodeValue] = []
    for position, value in enumerate(data.values):
        row = existing.pop(value.code, None) or CodeValue(code=value.code)
        row.label = value.label
        row.label_en = value.label_en
        row.parent_code = value.parent_code
        row.position = position
        keep.append(row)
    # Values left in ``existing`` drop out of the collection and are deleted as orphans.
    cs.values = keep


def list_code_sets(
    ctx: ActionContext,
    *,
    q: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> CodeSetPage:
    """Code sets ordered by identifier, without their values (``value_count`` says how many).
    ``q`` matches the identifier, the name or the standard."""
    ctx.require(Perm.STANDARD_READ)
    s = ctx.session
    stmt = select(CodeSet)
    if q:
        stmt = stmt.where(
            or_(
                CodeSet.identifier.contains(q, autoescape=True),
                CodeSet.name.contains(q, autoescape=True),
                CodeSet.standard.contains(q, autoescape=True),
            )
        )
    page = paginate(s, stmt, [CodeSet.identifier], limit=limit, cursor=cursor)
    ids = [cs.id for cs in page.items]
    counted = s.execute(
        select(CodeValue.code_set_id, func.count())
        .where(CodeValue.code_set_id.in_(ids))
        .group_by(CodeValue.code_set_id)
    )
    counts = {code_set_id: int(n) for code_set_id, n in counted}
    return CodeSetPage(
        items=[
            CodeSetSummary(**_set_fields(cs), value_count=counts.get(cs.id, 0)) for cs in page.items
        ],
        total=_count(s, stmt),
        next_cursor=page.next_cursor,
    )


def get_code_set(ctx: ActionContext, identifier: str) -> CodeSetOut:
    """One code set with all its values in order. 404 ``code_set_not_found``."""
    ctx.require(Perm.STANDARD_READ)
    return _code_set_out(_code_set(ctx.session, identifier))


def create_code_set(ctx: ActionContext, data: CodeSetIn) -> CodeSetOut:
    """Register a code set with its values. 409 ``code_set_taken``."""
    ctx.require(Perm.STANDARD_MANAGE)
    s = ctx.session
    if s.scalar(select(CodeSet.id).where(CodeSet.identifier == data.identifier)):
        raise Conflict(
            f"代码集“{data.identifier}”已存在",
            f"Code set '{data.identifier}' already exists",
            code="code_set_taken",
        )
    cs = CodeSet(identifier=data.identifier)
    s.add(cs)
    _apply_code_set(cs, data)
    s.flush()
    ctx.audit(
        "standard.code_set_create",
        target_type="code_set",
        target_id=cs.id,
        details={"identifier": cs.identifier, "name": cs.name, "values": len(cs.values)},
    )
    return _code_set_out(cs)


def update_code_set(ctx: ActionContext, identifier: str, data: CodeSetFields) -> CodeSetOut:
    """Replace a code set's description and its whole list of values (in the given order).
    404 ``code_set_not_found``."""
    ctx.require(Perm.STANDARD_MANAGE)
    s = ctx.session
    cs = _code_set(s, identifier)
    before = {v.code for v in cs.values}
    _apply_code_set(cs, data)
    s.flush()
    after = {v.code for v in cs.values}
    ctx.audit(
        "standard.code_set_update",
        target_type="code_set",
        target_id=cs.id,
        details={
            "identifier": identifier,
            "added": sorted(after - before),
            "removed": sorted(before - after),
        },
    )
    return _code_set_out(cs)


# Import and export -------------------------------------------------------------------------


def _check_kind(kind: str) -> StandardKind:
    if kind not in ("data_elements", "code_sets"):
        raise InvalidInput(
            "kind 须为 data_elements 或 code_sets",
            "kind must be data_elements or code_sets",
            code="invalid_kind",
        )
    return kind  # type: ignore[return-value]


def _reject(errors: list[ImportRowError]) -> InvalidInput:
    return InvalidInput(
        f"导入文件有 {len(errors)} 处错误，未导入任何数据",
        f"The file has {len(errors)} problem(s); nothing was imported",
        code="import_rejected",
        details={
            "error_count": len(errors),
            "errors": [e.model_dump() for e in errors[:MAX_REPORTED_ERRORS]],
        },
    )


def _duplicates(parsed: transfer.Parsed) -> None:
    seen: set[str] = set()
    for sheet, row, model in parsed.rows:
        if model.identifier in seen:
            parsed.error(
                sheet,
                row,
                "标识符" if sheet else "identifier",
                "duplicate_identifier",
                f"标识符“{model.identifier}”在文件中重复",
                f"Identifier '{model.identifier}' appears twice in the file",
            )
        seen.add(model.identifier)


def import_standards(ctx: ActionContext, kind: str, filename: str, content: bytes) -> ImportReport:
    """Import data elements or code sets from a .json or .xlsx file (by extension).

    Rows are matched by identifier: new ones are created, existing ones replaced.
    All or nothing: if any row is wrong nothing is written and the error is 422
    ``import_rejected`` with ``details.errors`` = [{sheet, row, column, code, message,
    message_en}]. Other errors: 422 ``unsupported_format``, ``invalid_file``, ``wrong_kind``,
    ``file_too_large``.
    """
    ctx.require(Perm.STANDARD_MANAGE)
    standard_kind = _check_kind(kind)
    fmt = transfer.file_format(filename)
    if len(content) > MAX_IMPORT_BYTES:
        raise InvalidInput("文件超过 10 MB", "The file is larger than 10 MB", code="file_too_large")
    parse = transfer.parse_json if fmt == "json" else transfer.parse_xlsx
    parsed = parse(content, standard_kind)
    _duplicates(parsed)
    s = ctx.session
    code_set_ids: dict[str, str] = {}
    if standard_kind == "data_elements":
        wanted = {m.code_set for _, _, m in parsed.rows if m.code_set}
        code_set_ids = _code_set_ids(s, wanted)
        for sheet, row, model in parsed.rows:
            if model.code_set and model.code_set not in code_set_ids:
                parsed.error(
                    sheet,
                    row,
                    transfer.ELEMENT_COLUMNS["code_set"] if sheet else "code_set",
                    "unknown_code_set",
                    f"代码集“{model.code_set}”不存在",
                    f"Unknown code set '{model.code_set}'",
                )
    if parsed.errors:
        parsed.errors.sort(key=lambda e: (e.sheet or "", e.row))
        raise _reject(parsed.errors)
    if not parsed.rows:
        raise InvalidInput("文件中没有数据", "The file holds no rows", code="empty_file")

    report = ImportReport(kind=standard_kind, format=fmt, created=[], updated=[], unchanged=[])
    for _, _, model in parsed.rows:
        if standard_kind == "data_elements":
            _import_element(s, model, code_set_ids, report)
        else:
            _import_code_set(s, model, report)
    s.flush()
    ctx.audit(
        "standard.import",
        target_type="data_element" if standard_kind == "data_elements" else "code_set",
        row_count=len(report.created) + len(report.updated),
        details={
            "kind": standard_kind,
            "format": fmt,
            "filename": filename,
            "created": report.created,
            "updated": report.updated,
            "unchanged": len(report.unchanged),
        },
    )
    return report


def _import_element(
    s: Session, model: DataElementIn, code_set_ids: dict[str, str], report: ImportReport
) -> None:
    element = s.scalar(select(DataElement).where(DataElement.identifier == model.identifier))
    code_set_id = code_set_ids.get(model.code_set) if model.code_set else None
    if element is None:
        element = DataElement(identifier=model.identifier)
        _apply_element(s, element, model, code_set_id)
        s.add(element)
        report.created.append(model.identifier)
    elif _element_in(element) == model:
        report.unchanged.append(model.identifier)
    else:
        _apply_element(s, element, model, code_set_id)
        report.updated.append(model.identifier)


def _import_code_set(s: Session, model: CodeSetIn, report: ImportReport) -> None:
    cs = s.scalar(select(CodeSet).where(CodeSet.identifier == model.identifier))
    if cs is None:
        cs = CodeSet(identifier=model.identifier)
        s.add(cs)
        _apply_code_set(cs, model)
        report.created.append(model.identifier)
    elif _code_set_in(cs) == model:
        report.unchanged.append(model.identifier)
    else:
        _apply_code_set(cs, model)
        report.updated.append(model.identifier)


def export_standards(ctx: ActionContext, kind: str, fmt: str) -> ExportFile:
    """All data elements or code sets as a file: ``json`` or ``xlsx`` (Chinese headers).
    The file can be imported again unchanged."""
    ctx.require(Perm.STANDARD_READ)
    standard_kind = _check_kind(kind)
    if fmt not in ("json", "xlsx"):
        raise InvalidInput(
            "format 须为 json 或 xlsx", "format must be json or xlsx", code="invalid_format"
        )
    export_fmt: ExportFormat = fmt  # type: ignore[assignment]
    s = ctx.session
    items: list[Any]
    if standard_kind == "data_elements":
        items = [
            _element_in(e) for e in s.scalars(select(DataElement).order_by(DataElement.identifier))
        ]
    else:
        items = [_code_set_in(cs) for cs in s.scalars(select(CodeSet).order_by(CodeSet.identifier))]
    if export_fmt == "json":
        content = transfer.dump_json(standard_kind, items)
        media_type = "application/json"
    else:
        content = transfer.dump_xlsx(standard_kind, items)
        media_type = transfer.XLSX_MEDIA_TYPE
    return ExportFile(
        filename=f"{standard_kind}.{export_fmt}", media_type=media_type, content=content
    )
