"""Cross-source checks (多源校核): subjects and their sources.

A subject (人口, 法人, or the operator's own) names the key its sources are joined on and the
fields compared, each with a kind (``FieldKind``) that decides how values are normalised; each
source is a catalog entry's lake table with a mapping subject field → column. Runs and their
conflicts are in ``crosscheck_runs``; the authority order per field in ``authority``.

The operator (``governance.manage``) edits subjects and sources; whoever holds
``quality.read`` reads them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from govdata.catalog.models import CatalogEntry
from govdata.config import Settings
from govdata.core.errors import Conflict, InvalidInput, NotFound
from govdata.exchange import queries as exchange_queries
from govdata.governance import authority
from govdata.governance.crosscheck_models import (
    AuthorityRank,
    CrosscheckRun,
    CrosscheckSubject,
    SubjectSource,
)
from govdata.governance.crosscheck_runs import run_out
from govdata.governance.crosscheck_schemas import (
    KIND_LABELS,
    FieldOut,
    SourceIn,
    SourceOut,
    SourceUpdate,
    SubjectField,
    SubjectIn,
    SubjectOut,
    SubjectUpdate,
    check_fields,
)
from govdata.governance.vocab import label
from govdata.identity import queries as org
from govdata.lake.tables import Lake
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm

# -- outputs --------------------------------------------------------------------------------


def _fields_out(subject: CrosscheckSubject, locale: str) -> list[FieldOut]:
    return [
        FieldOut(
            code=str(f["code"]),
            label=str(f["label"]),
            kind=str(f["kind"]),
            kind_label=label(KIND_LABELS, str(f["kind"]), locale),
        )
        for f in subject.fields or []
    ]


def source_out(src: SubjectSource, tables: dict[str, str], names: dict[str, str]) -> SourceOut:
    return SourceOut(
        id=src.id,
        subject_id=src.subject_id,
        entry_id=src.entry_id,
        resource_code=src.resource_code,
        entry_name=src.entry_name,
        department_id=src.department_id,
        department_name=names.get(src.department_id),
        label=src.label,
        mapping={k: str(v) for k, v in (src.mapping or {}).items()},
        lake_table=tables.get(src.entry_id),
        created_at=src.created_at,
    )


def subject_out(s: Session, subject: CrosscheckSubject, locale: str, *, full: bool) -> SubjectOut:
    out = SubjectOut(
        id=subject.id,
        code=subject.code,
        name=subject.name,
        description=subject.description,
        key_field=subject.key_field,
        fields=_fields_out(subject, locale),
        builtin=subject.builtin,
    )
    sources = authority.subject_sources(s, subject.id)
    tables = exchange_queries.lake_tables_of(s, [src.entry_id for src in sources])
    names = org.department_names(s, {src.department_id for src in sources})
    out.sources = [source_out(src, tables, names) for src in sources]
    last = s.scalar(
        select(CrosscheckRun)
        .where(CrosscheckRun.subject_id == subject.id)
        .order_by(CrosscheckRun.created_at.desc(), CrosscheckRun.id.desc())
        .limit(1)
    )
    if last is not None:
        out.last_run = run_out(s, last, locale, subject=subject, with_agreements=full)
    if full:
        out.authority = authority.authority_out(s, subject)
    return out


# -- subjects -------------------------------------------------------------------------------


def list_subjects(ctx: ActionContext) -> list[SubjectOut]:
    """Every subject with its sources and its latest run (``quality.read``)."""
    ctx.require(Perm.QUALITY_READ)
    s = ctx.session
    subjects = s.scalars(select(CrosscheckSubject).order_by(CrosscheckSubject.created_at))
    return [subject_out(s, subject, ctx.locale, full=False) for subject in subjects]


def get_subject(ctx: ActionContext, ref: str) -> SubjectOut:
    """One subject (code or id): fields, sources, authority order per field, latest run."""
    ctx.require(Perm.QUALITY_READ)
    subject = authority.load_subject(ctx.session, ref)
    return subject_out(ctx.session, subject, ctx.locale, full=True)


def create_subject(ctx: ActionContext, data: SubjectIn) -> SubjectOut:
    """Add a subject: the entity compared across entries, its key and its fields.
    Operator only (``governance.manage``)."""
    ctx.require(Perm.GOVERNANCE_MANAGE)
    s = ctx.session
    if s.scalar(select(CrosscheckSubject.id).where(CrosscheckSubject.code == data.code)):
        raise Conflict(
            f"主题代码 {data.code} 已存在",
            f"Subject code {data.code} exists already",
            code="subject_exists",
            details={"code": data.code},
        )
    subject = CrosscheckSubject(
        code=data.code,
        name=data.name.strip(),
        description=data.description,
        key_field=data.key_field,
        fields=[f.model_dump(mode="json") for f in data.fields],
        builtin=False,
        updated_by_name=ctx.actor.name,
    )
    s.add(subject)
    s.flush()
    ctx.audit(
        "governance.subject.create",
        target_type="governance_subject",
        target_id=subject.id,
        details={"code": subject.code, "key_field": subject.key_field, "fields": subject.fields},
    )
    return subject_out(s, subject, ctx.locale, full=True)


def update_subject(ctx: ActionContext, ref: str, data: SubjectUpdate) -> SubjectOut:
    """Change a subject's name, description, key or fields. Mappings and authority orders
    of fields that are removed go with them. Operator only (``governance.manage``)."""
    ctx.require(Perm.GOVERNANCE_MANAGE)
    s = ctx.session
    subject = authority.load_subject(s, ref)
    fields = data.fields
    if fields is None:
        fields = [SubjectField.model_validate(f) for f in subject.fields or []]
    key_field = data.key_field or subject.key_field
    try:
        check_fields(fields, key_field)
    except ValueError as exc:
        raise InvalidInput(
            "字段设置不合法：主题须有关键字段及至少一个比对字段，字段代码不可重复",
            f"Invalid fields: {exc}",
            code="subject_fields_invalid",
        ) from exc
    changes: dict[str, Any] = {}
    if data.name is not None and data.name.strip() != subject.name:
        changes["name"] = subject.name = data.name.strip()
    if data.description is not None and data.description != subject.description:
        changes["description"] = subject.description = data.description or None
    if key_field != subject.key_field:
        changes["key_field"] = subject.key_field = key_field
    new_fields = [f.model_dump(mode="json") for f in fields]
    if new_fields != subject.fields:
        changes["fields"] = subject.fields = new_fields
        kept = {f.code for f in fields}
        for src in authority.subject_sources(s, subject.id):
            mapping = {k: v for k, v in (src.mapping or {}).items() if k in kept}
            if mapping != src.mapping:
                src.mapping = mapping
        s.execute(
            delete(AuthorityRank).where(
                AuthorityRank.subject_id == subject.id, AuthorityRank.field.not_in(kept)
            )
        )
    subject.updated_by_name = ctx.actor.name
    s.flush()
    ctx.audit(
        "governance.subject.update",
        target_type="governance_subject",
        target_id=subject.id,
        details={"code": subject.code, "changes": changes},
    )
    return subject_out(s, subject, ctx.locale, full=True)


# -- sources --------------------------------------------------------------------------------


def _entry(s: Session, ref: str) -> CatalogEntry:
    entry = s.scalar(
        select(CatalogEntry).where((CatalogEntry.id == ref) | (CatalogEntry.resource_code == ref))
    )
    if entry is None:
        raise NotFound(
            "目录不存在", "Catalog entry not found", code="entry_not_found", details={"ref": ref}
        )
    return entry


def _check_mapping(
    settings: Settings, subject: CrosscheckSubject, table: str | None, mapping: dict[str, str]
) -> dict[str, str]:
    mapping = {k.strip(): v.strip() for k, v in mapping.items() if v and v.strip()}
    fields = {str(f["code"]) for f in subject.fields or []}
    unknown = sorted(set(mapping) - fields)
    if unknown:
        raise InvalidInput(
            f"主题没有这些字段：{'、'.join(unknown)}",
            f"The subject has no fields {', '.join(unknown)}",
            code="subject_field_unknown",
            details={"fields": unknown},
        )
    if subject.key_field not in mapping:
        raise InvalidInput(
            "须映射主题的关键字段",
            "Map the subject's key field",
            code="source_key_unmapped",
            details={"key_field": subject.key_field},
        )
    if len(mapping) < 2:
        raise InvalidInput(
            "除关键字段外至少映射一个比对字段",
            "Map at least one field besides the key",
            code="source_fields_unmapped",
        )
    lake = Lake.from_settings(settings)
    if not table or not lake.exists(table):
        raise InvalidInput(
            "该目录尚无归集到数据湖的数据表",
            "The entry has no lake table yet",
            code="source_no_lake_table",
            details={"lake_table": table},
        )
    columns = set(lake.dataset(table).schema.names)
    missing = sorted(c for c in mapping.values() if c not in columns)
    if missing:
        raise InvalidInput(
            f"数据表没有这些列：{'、'.join(missing)}",
            f"The lake table has no columns {', '.join(missing)}",
            code="source_column_unknown",
            details={"columns": missing, "lake_table": table},
        )
    return mapping


def _source(s: Session, source_id: str) -> SubjectSource:
    src = s.get(SubjectSource, source_id)
    if src is None:
        raise NotFound(
            "校核来源不存在",
            "Subject source not found",
            code="subject_source_not_found",
            details={"id": source_id},
        )
    return src


def add_source(ctx: ActionContext, subject_ref: str, data: SourceIn) -> SourceOut:
    """Add a catalog entry (with a lake table) as a source of the subject, with its mapping
    subject field → lake column (the key field required). Operator only."""
    ctx.require(Perm.GOVERNANCE_MANAGE)
    s = ctx.session
    subject = authority.load_subject(s, subject_ref)
    entry = _entry(s, data.entry)
    if s.scalar(
        select(SubjectSource.id).where(
            SubjectSource.subject_id == subject.id, SubjectSource.entry_id == entry.id
        )
    ):
        raise Conflict(
            "该目录已是本主题的来源",
            "The entry is a source of this subject already",
            code="subject_source_exists",
            details={"entry": entry.resource_code},
        )
    table = exchange_queries.lake_table_of(s, entry.id)
    mapping = _check_mapping(ctx.settings, subject, table, data.mapping)
    src = SubjectSource(
        subject_id=subject.id,
        entry_id=entry.id,
        resource_code=entry.resource_code,
        entry_name=entry.name,
        department_id=entry.provider_department_id,
        region_path=entry.region_path,
        label=data.label.strip(),
        mapping=mapping,
        created_by_name=ctx.actor.name,
    )
    s.add(src)
    s.flush()
    ctx.audit(
        "governance.subject_source.add",
        target_type="governance_subject",
        target_id=subject.id,
        details={
            "subject": subject.code,
            "source": src.id,
            "entry": entry.resource_code,
            "label": src.label,
            "mapping": mapping,
        },
    )
    names = org.department_names(s, {src.department_id})
    return source_out(src, {entry.id: table} if table else {}, names)


def update_source(ctx: ActionContext, source_id: str, data: SourceUpdate) -> SourceOut:
    """Change a source's label or mapping. Operator only."""
    ctx.require(Perm.GOVERNANCE_MANAGE)
    s = ctx.session
    src = _source(s, source_id)
    subject = s.get(CrosscheckSubject, src.subject_id)
    assert subject is not None
    table = exchange_queries.lake_table_of(s, src.entry_id)
    changes: dict[str, Any] = {}
    if data.label is not None and data.label.strip() != src.label:
        changes["label"] = src.label = data.label.strip()
    if data.mapping is not None:
        mapping = _check_mapping(ctx.settings, subject, table, data.mapping)
        if mapping != src.mapping:
            changes["mapping"] = src.mapping = mapping
            s.execute(
                delete(AuthorityRank).where(
                    AuthorityRank.source_id == src.id, AuthorityRank.field.not_in(list(mapping))
                )
            )
    s.flush()
    ctx.audit(
        "governance.subject_source.update",
        target_type="governance_subject",
        target_id=subject.id,
        details={"subject": subject.code, "source": src.id, "changes": changes},
    )
    names = org.department_names(s, {src.department_id})
    return source_out(src, {src.entry_id: table} if table else {}, names)


def remove_source(ctx: ActionContext, source_id: str) -> None:
    """Remove a source from its subject (and from every authority order). Past runs keep
    what they compared. Operator only."""
    ctx.require(Perm.GOVERNANCE_MANAGE)
    s = ctx.session
    src = _source(s, source_id)
    subject = s.get(CrosscheckSubject, src.subject_id)
    assert subject is not None
    s.execute(delete(AuthorityRank).where(AuthorityRank.source_id == src.id))
    details = {"subject": subject.code, "source": src.id, "entry": src.resource_code}
    s.delete(src)
    s.flush()
    ctx.audit(
        "governance.subject_source.remove",
        target_type="governance_subject",
        target_id=subject.id,
        details=details,
    )
