"""Search synonyms the operator maintains: a query for a term also finds its synonyms, and back.

Each row is one set of equivalent phrases (the term and its synonyms); search
treats the set symmetrically. Phrases are segmented like queries, so a phrase
of several words (企业登记) must occur as all of its words.

``DEFAULT_SYNONYMS`` is a starter list; nothing loads it on its own: the demo
(or an operator's script) calls ``seed_default_synonyms(session)``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog.facet_cache import bump
from govdata.catalog.models import Synonym
from govdata.core.errors import InvalidInput, NotFound
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm

# Common abbreviations and older names of government data subjects.
DEFAULT_SYNONYMS: dict[str, list[str]] = {
    "低保": ["最低生活保障"],
    "社保": ["社会保险"],
    "医保": ["医疗保险", "医疗保障"],
    "营业执照": ["企业登记", "工商登记"],
    "户籍": ["户口"],
    "特困": ["特困人员", "五保"],
    "年报": ["年度报告"],
    "个体户": ["个体工商户"],
    "出生证": ["出生医学证明"],
    "驾照": ["驾驶证"],
    "残疾人": ["残障人士"],
}


class SynonymIn(BaseModel):
    """A term and the phrases a search for it should also find (replaces any earlier list)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    term: str = Field(min_length=1, max_length=64, examples=["低保"])
    synonyms: list[str] = Field(min_length=1, max_length=50, examples=[["最低生活保障"]])

    @field_validator("synonyms")
    @classmethod
    def _clean(cls, values: list[str]) -> list[str]:
        out: list[str] = []
        for value in values:
            value = " ".join(value.split())
            if not value or len(value) > 64:
                raise ValueError("each synonym must have 1 to 64 characters")
            if value not in out:
                out.append(value)
        return out


class SynonymsBody(BaseModel):
    """The body of ``PUT /catalog/synonyms/{term}``."""

    model_config = ConfigDict(extra="forbid")

    synonyms: list[str] = Field(min_length=1, max_length=50, examples=[["最低生活保障"]])


class SynonymOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    term: str
    synonyms: list[str]


class SynonymList(BaseModel):
    items: list[SynonymOut]


def _by_term(session: Session, term: str) -> Synonym | None:
    return session.scalar(select(Synonym).where(Synonym.term == term.strip()))


def list_synonyms(ctx: ActionContext) -> SynonymList:
    """Every synonym set, ordered by term."""
    ctx.require(Perm.CATALOG_READ)
    rows = ctx.session.scalars(select(Synonym).order_by(Synonym.term))
    return SynonymList(items=[SynonymOut.model_validate(r) for r in rows])


def set_synonyms(ctx: ActionContext, data: SynonymIn) -> SynonymOut:
    """Create the term's synonym list or replace it. 422 ``synonyms_empty`` when the list
    holds nothing but the term itself. Takes effect for the next search; nothing is reindexed."""
    ctx.require(Perm.CATALOG_MANAGE)
    synonyms = [s for s in data.synonyms if s != data.term]
    if not synonyms:
        raise InvalidInput(
            "同义词不能只包含该词本身",
            "A term needs at least one synonym other than itself",
            code="synonyms_empty",
        )
    row = _by_term(ctx.session, data.term)
    before = None if row is None else list(row.synonyms)
    if row is None:
        row = Synonym(term=data.term, synonyms=synonyms)
        ctx.session.add(row)
    else:
        row.synonyms = synonyms
    ctx.session.flush()
    bump(ctx.session)
    ctx.audit(
        "catalog.synonym_set",
        target_type="synonym",
        target_id=row.id,
        details={"term": data.term, "synonyms": synonyms, "before": before},
    )
    return SynonymOut.model_validate(row)


def delete_synonym(ctx: ActionContext, term: str) -> None:
    """Remove a term's synonym list; 404 ``synonym_not_found``."""
    ctx.require(Perm.CATALOG_MANAGE)
    row = _by_term(ctx.session, term)
    if row is None:
        raise NotFound(
            f"同义词“{term}”不存在", f"No synonyms for {term!r}", code="synonym_not_found"
        )
    details = {"term": row.term, "synonyms": list(row.synonyms)}
    ctx.session.delete(row)
    ctx.session.flush()
    bump(ctx.session)
    ctx.audit("catalog.synonym_delete", target_type="synonym", target_id=row.id, details=details)


def seed_default_synonyms(session: Session) -> int:
    """Add the ``DEFAULT_SYNONYMS`` whose terms are not set yet; returns how many were added.

    A seeding step of the demo, not an action: it writes no audit record.
    """
    existing = set(session.scalars(select(Synonym.term)))
    added = 0
    for term, synonyms in DEFAULT_SYNONYMS.items():
        if term not in existing:
            session.add(Synonym(term=term, synonyms=list(synonyms)))
            added += 1
    session.flush()
    if added:
        bump(session)
    return added
