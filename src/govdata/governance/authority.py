"""Authoritative sources (权威数据源): per subject field, which source wins and in what order
the others fall back.

The operator sets the order field by field (``set_authority``); every consumer reads it
through ``field_order``, the function the base libraries build golden records from: keep its
signature and meaning stable.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from govdata.core.clock import now
from govdata.core.errors import InvalidInput, NotFound
from govdata.exchange import queries as exchange_queries
from govdata.governance.crosscheck_models import AuthorityRank, CrosscheckSubject, SubjectSource
from govdata.governance.crosscheck_schemas import AuthorityIn, AuthorityOut
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm


@dataclass(frozen=True)
class SourceRef:
    """One source of a subject field, as ``field_order`` lists it."""

    source_id: str
    label: str
    entry_id: str
    resource_code: str
    department_id: str
    lake_table: str | None  # None: the entry has no lake table (now); skip it
    column: str  # the lake column holding the field
    ranked: bool  # placed by the operator (False: after them, in the order sources were added)


def subject_not_found(ref: str) -> NotFound:
    return NotFound(
        "校核主题不存在", "Subject not found", code="subject_not_found", details={"subject": ref}
    )


def load_subject(s: Session, ref: str) -> CrosscheckSubject:
    subject = s.scalar(
        select(CrosscheckSubject).where(
            (CrosscheckSubject.code == ref) | (CrosscheckSubject.id == ref)
        )
    )
    if subject is None:
        raise subject_not_found(ref)
    return subject


def subject_sources(s: Session, subject_id: str) -> list[SubjectSource]:
    """The subject's sources in the order they were added."""
    return list(
        s.scalars(
            select(SubjectSource)
            .where(SubjectSource.subject_id == subject_id)
            .order_by(SubjectSource.created_at, SubjectSource.id)
        )
    )


def ranks_of(s: Session, subject_id: str) -> dict[str, list[str]]:
    """field -> source ids in the operator's order."""
    rows = s.execute(
        select(AuthorityRank.field, AuthorityRank.source_id)
        .where(AuthorityRank.subject_id == subject_id)
        .order_by(AuthorityRank.field, AuthorityRank.rank)
    ).all()
    ranks: dict[str, list[str]] = {}
    for fname, source_id in rows:
        ranks.setdefault(fname, []).append(source_id)
    return ranks


def order_ids(
    fields: list[str], sources: list[SubjectSource], ranks: dict[str, list[str]]
) -> dict[str, tuple[list[str], int]]:
    """field -> (source ids, authority first; how many of them the operator placed).

    Only sources that map the field are listed: the operator's order first, then the other
    sources mapping it, in the order they were added."""
    out: dict[str, tuple[list[str], int]] = {}
    for fname in fields:
        mapping = [src.id for src in sources if (src.mapping or {}).get(fname)]
        placed = [sid for sid in ranks.get(fname, []) if sid in mapping]
        out[fname] = ([*placed, *(sid for sid in mapping if sid not in placed)], len(placed))
    return out


def field_order(session: Session, subject_code: str) -> dict[str, list[SourceRef]]:
    """Every field of the subject (its key field included) → the sources that hold it,
    the authoritative one first, then the fallback order.

    The order is the operator's (``set_authority``) for the sources they placed, followed by
    the other sources mapping the field in the order they were added (``ranked`` tells them
    apart). A field no source maps has an empty list. A source whose entry has no lake table
    is listed with ``lake_table=None``. Raises ``NotFound`` for an unknown subject.
    A query, not an action: the caller has already checked its own permission.
    """
    subject = load_subject(session, subject_code)
    sources = subject_sources(session, subject.id)
    by_id = {src.id: src for src in sources}
    tables = exchange_queries.lake_tables_of(session, [src.entry_id for src in sources])
    fields = [str(f["code"]) for f in subject.fields or []]
    result: dict[str, list[SourceRef]] = {}
    for fname, (ids, placed) in order_ids(fields, sources, ranks_of(session, subject.id)).items():
        refs = []
        for i, sid in enumerate(ids):
            src = by_id[sid]
            refs.append(
                SourceRef(
                    source_id=src.id,
                    label=src.label,
                    entry_id=src.entry_id,
                    resource_code=src.resource_code,
                    department_id=src.department_id,
                    lake_table=tables.get(src.entry_id),
                    column=str(src.mapping[fname]),
                    ranked=i < placed,
                )
            )
        result[fname] = refs
    return result


def authority_out(s: Session, subject: CrosscheckSubject) -> list[AuthorityOut]:
    sources = subject_sources(s, subject.id)
    fields = [str(f["code"]) for f in subject.fields or []]
    orders = order_ids(fields, sources, ranks_of(s, subject.id))
    return [
        AuthorityOut(field=fname, order=ids, ranked=placed)
        for fname, (ids, placed) in orders.items()
        if fname != subject.key_field
    ]


def set_authority(
    ctx: ActionContext, subject_ref: str, field: str, data: AuthorityIn
) -> list[AuthorityOut]:
    """Set the order of sources for one field of a subject: the first is authoritative,
    the rest the fallback order (an empty list clears it). Operator only
    (``governance.manage``); every listed source must map the field."""
    ctx.require(Perm.GOVERNANCE_MANAGE)
    s = ctx.session
    subject = load_subject(s, subject_ref)
    fields = {str(f["code"]) for f in subject.fields or []}
    if field not in fields or field == subject.key_field:
        raise InvalidInput(
            f"主题没有可比对的字段 {field}",
            f"The subject has no comparable field {field}",
            code="subject_field_unknown",
            details={"field": field},
        )
    if len(set(data.sources)) != len(data.sources):
        raise InvalidInput(
            "同一来源不能重复排序",
            "A source is listed twice",
            code="authority_duplicate",
            details={"sources": data.sources},
        )
    sources = {src.id: src for src in subject_sources(s, subject.id)}
    for sid in data.sources:
        src = sources.get(sid)
        if src is None or not (src.mapping or {}).get(field):
            raise InvalidInput(
                "所选来源不属于该主题或未映射该字段",
                "A listed source is not a source of the subject mapping this field",
                code="authority_source_invalid",
                details={"source": sid, "field": field},
            )
    s.execute(
        delete(AuthorityRank).where(
            AuthorityRank.subject_id == subject.id, AuthorityRank.field == field
        )
    )
    s.flush()
    at = now()
    for rank, sid in enumerate(data.sources, start=1):
        s.add(
            AuthorityRank(
                subject_id=subject.id,
                field=field,
                source_id=sid,
                rank=rank,
                updated_at=at,
                updated_by_name=ctx.actor.name,
            )
        )
    s.flush()
    ctx.audit(
        "governance.authority.set",
        target_type="governance_subject",
        target_id=subject.id,
        details={
            "subject": subject.code,
            "field": field,
            "order": [
                {"source": sid, "entry": sources[sid].resource_code, "label": sources[sid].label}
                for sid in data.sources
            ],
        },
    )
    return authority_out(s, subject)
