"""Catalog search: the entries a caller may see for a query, ranked, with facet counts.

Segmentation and the search text itself live in ``search_text``; this module
turns ``SearchParams`` into SQL. Facets count the filtered set with one
statement: the matches are materialised once and grouped per facet, each facet
ignoring its own filter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    cast,
    column,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    table,
    union_all,
)
from sqlalchemy.orm import Session, raiseload

from govdata.catalog import vocab
from govdata.catalog.access import visibility_clause
from govdata.catalog.facet_cache import FACET_CACHE, bump, facet_key
from govdata.catalog.models import CatalogClass, CatalogEntry, SearchDoc
from govdata.catalog.schemas import FacetValue, SearchResult
from govdata.catalog.search_text import (
    expand,
    fts5_query,
    index_entry,
    index_text,
    index_tokens,
    pg_tsquery,
    reindex_all,
    tokens,
)
from govdata.catalog.summaries import summary_out
from govdata.core.errors import InvalidInput
from govdata.core.pagination import MAX_LIMIT, decode_cursor, encode_cursor
from govdata.identity import queries as org
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm

__all__ = [
    "FACETS",
    "SearchParams",
    "index_entry",
    "index_text",
    "index_tokens",
    "make_params",
    "reindex_all",
    "search_entries",
    "search_params",
    "tokens",
]

# Parameters ----------------------------------------------------------------------------------

Sort = Literal["relevance", "updated", "name", "code"]
FACETS = (
    "provider",
    "region",
    "classification",
    "category",
    "grade",
    "share_type",
    "open_type",
    "format",
    "update_cycle",
)
# Facet values beyond this many (by count) are left out; selected values always stay.
FACET_LIMIT = 100
_MAX_VALUES = 50
_VOCAB_KIND = {
    "category": "category",
    "share_type": "share_type",
    "open_type": "open_type",
    "format": "format",
    "update_cycle": "update_cycle",
    "status": "status",
}


def _as_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str | int):
        return [value]
    return value


class SearchParams(BaseModel):
    """What to search: free text, facet filters (repeat a facet to OR values), order, page.

    Facet filters accept the stored code or its Chinese or English label
    (``share_type=无条件共享``). ``classification`` is a class-code prefix and
    matches the subtree; ``region`` matches the region and the regions under it.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    q: str | None = Field(default=None, max_length=200)
    provider: list[str] = Field(default_factory=list, max_length=_MAX_VALUES)
    region: list[str] = Field(default_factory=list, max_length=_MAX_VALUES)
    classification: list[str] = Field(default_factory=list, max_length=_MAX_VALUES)
    category: list[str] = Field(default_factory=list, max_length=_MAX_VALUES)
    grade: list[int] = Field(default_factory=list, max_length=_MAX_VALUES)
    share_type: list[str] = Field(default_factory=list, max_length=_MAX_VALUES)
    open_type: list[str] = Field(default_factory=list, max_length=_MAX_VALUES)
    format: list[str] = Field(default_factory=list, max_length=_MAX_VALUES)
    update_cycle: list[str] = Field(default_factory=list, max_length=_MAX_VALUES)
    status: list[str] = Field(default_factory=list, max_length=_MAX_VALUES)
    sort: Sort | None = None
    limit: int = Field(default=20, ge=1, le=MAX_LIMIT)
    cursor: str | None = None

    @field_validator(
        "provider",
        "region",
        "classification",
        "category",
        "share_type",
        "open_type",
        "format",
        "update_cycle",
        "status",
        mode="before",
    )
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("category", "share_type", "open_type", "format", "update_cycle", "status")
    @classmethod
    def _known(cls, values: list[str], info: Any) -> list[str]:
        kind = _VOCAB_KIND[info.field_name]
        out = []
        for text in values:
            parsed = vocab.parse_label(kind, text)
            if parsed is None:
                raise ValueError(f"unknown {info.field_name} value {text!r}")
            out.append(parsed)
        return out

    @field_validator("grade", mode="before")
    @classmethod
    def _grade(cls, value: Any) -> list[int]:
        out = []
        for text in _as_list(value):
            parsed = vocab.parse_label("grade", str(text))
            if parsed is None:
                raise ValueError(f"unknown grade {text!r}")
            out.append(int(parsed))
        return out

    @field_validator("region")
    @classmethod
    def _region(cls, values: list[str]) -> list[str]:
        for code in values:
            if not re.fullmatch(r"\d{6}", code):
                raise ValueError(f"region must be a 6-digit division code, not {code!r}")
        return values

    @field_validator("classification")
    @classmethod
    def _classification(cls, values: list[str]) -> list[str]:
        for code in values:
            if not re.fullmatch(r"\d{1,32}", code):
                raise ValueError(f"classification must be a class code, not {code!r}")
        return values

    @field_validator("provider")
    @classmethod
    def _provider(cls, values: list[str]) -> list[str]:
        for code in values:
            if not 1 <= len(code) <= 32:
                raise ValueError(f"provider must be a department code, not {code!r}")
        return values

    @field_validator("q", "cursor")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None


_ERROR_CODES = {"limit": "invalid_limit", "sort": "invalid_sort", "cursor": "invalid_cursor"}


def invalid_params(exc: ValidationError) -> InvalidInput:
    """The 422 for search parameters that do not validate."""
    errors = [
        {"loc": [str(p) for p in e["loc"]], "msg": e["msg"], "type": e["type"]}
        for e in exc.errors()
    ]
    field = str(errors[0]["loc"][0]) if errors and errors[0]["loc"] else ""
    code = _ERROR_CODES.get(field, "invalid_query" if field == "q" else "invalid_facet")
    return InvalidInput(
        f"检索条件“{field}”不合法", f"Invalid search parameter {field!r}", code=code, details=errors
    )


def make_params(**values: Any) -> SearchParams:
    """``SearchParams(**values)``, with a validation failure reported as ``InvalidInput``."""
    try:
        return SearchParams(**values)
    except ValidationError as exc:
        raise invalid_params(exc) from None


FacetQuery = Annotated[list[str] | None, Query()]


def search_params(
    q: str | None = None,
    provider: FacetQuery = None,
    region: FacetQuery = None,
    classification: FacetQuery = None,
    category: FacetQuery = None,
    grade: FacetQuery = None,
    share_type: FacetQuery = None,
    open_type: FacetQuery = None,
    format: FacetQuery = None,
    update_cycle: FacetQuery = None,
    status: FacetQuery = None,
    sort: str | None = None,
    limit: int = 20,
    cursor: str | None = None,
) -> SearchParams:
    """FastAPI dependency: ``SearchParams`` from the query string (facets may repeat)."""
    return make_params(
        q=q,
        provider=provider,
        region=region,
        classification=classification,
        category=category,
        grade=grade,
        share_type=share_type,
        open_type=open_type,
        format=format,
        update_cycle=update_cycle,
        status=status,
        sort=sort,
        limit=limit,
        cursor=cursor,
    )


# PostgreSQL: the weighted tsvector (name A, the rest D) that the migration stores in this
# generated column, GIN-indexed; not in the model, so the ORM never writes it.
PG_VECTOR = "catalog_search.catalog_fts_vector"
_FTS = table("catalog_fts", column("rowid"))
# Column weights of bm25 on SQLite: a word in the name counts ten times one in the body.
NAME_WEIGHT, BODY_WEIGHT = 10.0, 1.0


@dataclass
class _Match:
    """The full-text condition and relevance score of one query on one store."""

    dialect: str
    query: str

    def join(self, stmt: Select[Any]) -> Select[Any]:
        stmt = stmt.join(SearchDoc, SearchDoc.entry_id == CatalogEntry.id)
        if self.dialect == "sqlite":
            stmt = stmt.join(_FTS, _FTS.c.rowid == SearchDoc.id)
        return stmt.where(self.condition())

    def condition(self) -> ColumnElement[bool]:
        if self.dialect == "sqlite":
            return literal_column("catalog_fts").op("MATCH")(self.query)  # type: ignore[no-any-return]
        tsquery = func.to_tsquery(literal_column("'simple'::regconfig"), self.query)
        return literal_column(PG_VECTOR).op("@@")(tsquery)  # type: ignore[no-any-return]

    def score(self) -> ColumnElement[Any]:
        """Smaller is better."""
        if self.dialect == "sqlite":
            return func.bm25(literal_column("catalog_fts"), NAME_WEIGHT, BODY_WEIGHT)
        tsquery = func.to_tsquery(literal_column("'simple'::regconfig"), self.query)
        # Normalisation 32 maps the rank into [0, 1), which _order relies on.
        return -func.ts_rank(literal_column(PG_VECTOR), tsquery, 32)


def _match(session: Session, q: str | None) -> _Match | None:
    words = tokens(q)
    if not words:
        return None
    groups = expand(session, words)
    dialect = session.get_bind().dialect.name
    query = fts5_query(groups) if dialect == "sqlite" else pg_tsquery(groups)
    return _Match(dialect, query)


# Filters -------------------------------------------------------------------------------------


def _facet_filters(p: SearchParams, c: Any) -> dict[str, ColumnElement[bool]]:
    """Per facet, the condition its selected values impose (``c``: the columns to test)."""
    out: dict[str, ColumnElement[bool]] = {}
    if p.provider:
        out["provider"] = c.provider_code.in_(p.provider)
    if p.region:
        # Paths are six-digit codes joined by "/", so "<code>/" only ever matches a whole segment.
        out["region"] = or_(
            c.region_code.in_(p.region), *(c.region_path.like(f"%{code}/%") for code in p.region)
        )
    if p.classification:
        out["classification"] = or_(*(c.class_code.startswith(x) for x in p.classification))
    for name in ("category", "grade", "share_type", "open_type", "format", "update_cycle"):
        values = getattr(p, name)
        if values:
            out[name] = getattr(c, name).in_(values)
    return out


def _facet_value(name: str, c: Any) -> ColumnElement[Any]:
    if name == "provider":
        return c.provider_code  # type: ignore[no-any-return]
    if name == "classification":
        return func.substr(c.class_code, 1, 3)
    if name == "region":
        return c.region_code  # type: ignore[no-any-return]
    if name == "grade":
        return cast(c.grade, String)
    return getattr(c, name)  # type: ignore[no-any-return]


def _base(ctx: ActionContext, p: SearchParams, match: _Match | None) -> Select[Any]:
    stmt = select(CatalogEntry).where(visibility_clause(ctx.actor))
    if p.status:
        stmt = stmt.where(CatalogEntry.status.in_(p.status))
    return match.join(stmt) if match else stmt


# Facets --------------------------------------------------------------------------------------


def _count_facets(
    ctx: ActionContext, p: SearchParams, match: _Match | None
) -> tuple[int, dict[str, list[tuple[str, str | None, int]]]]:
    e = CatalogEntry.__table__.c
    columns = [
        e.provider_code,
        e.provider_name,
        e.region_code,
        e.region_path,
        e.class_code,
        e.category,
        e.grade,
        e.share_type,
        e.open_type,
        e.format,
        e.update_cycle,
    ]
    m = _base(ctx, p, match).with_only_columns(*columns).cte("m").prefix_with("MATERIALIZED")
    filters = _facet_filters(p, m.c)
    branches = []
    for name in FACETS:
        value = _facet_value(name, m.c)
        label = func.max(m.c.provider_name) if name == "provider" else cast(null(), String)
        others = [f for key, f in filters.items() if key != name]
        branches.append(
            select(literal(name), value, label, func.count())
            .select_from(m)
            .where(*others)
            .group_by(value)
        )
    branches.append(
        select(literal("_total"), cast(null(), String), cast(null(), String), func.count())
        .select_from(m)
        .where(*filters.values())
    )
    total = 0
    facets: dict[str, list[tuple[str, str | None, int]]] = {name: [] for name in FACETS}
    for name, value, label, count in ctx.session.execute(union_all(*branches)):
        if name == "_total":
            total = count
        elif value is not None:
            facets[name].append((str(value), label, count))
    return total, facets


def _region_names(ctx: ActionContext, codes: Iterable[str]) -> dict[str, str]:
    # Region names are public facts of the organisation; any catalog reader may see them.
    return org.region_names(ctx.session, sorted(set(codes)))


def _class_labels(session: Session, codes: Iterable[str]) -> dict[str, str]:
    stmt = select(CatalogClass.code, CatalogClass.name).where(CatalogClass.code.in_(set(codes)))
    return {code: name for code, name in session.execute(stmt)}


def _facet_out(
    ctx: ActionContext, p: SearchParams, raw: dict[str, list[tuple[str, str | None, int]]]
) -> dict[str, list[FacetValue]]:
    regions = _region_names(ctx, (v for v, _, _ in raw["region"]))
    classes = _class_labels(ctx.session, (v for v, _, _ in raw["classification"]))
    out: dict[str, list[FacetValue]] = {}
    for name in FACETS:
        counts = {value: (label, count) for value, label, count in raw[name]}
        selected = [str(v) for v in getattr(p, name)]
        if name == "classification":
            selected = [v[:3] for v in selected]
        for value in selected:
            counts.setdefault(value, (None, 0))
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1][1], kv[0]))
        keep = [kv for i, kv in enumerate(ranked) if i < FACET_LIMIT or kv[0] in selected]
        values = []
        for value, (label, count) in keep:
            if name == "provider":
                text = label or value
            elif name == "region":
                text = regions.get(value, value)
            elif name == "classification":
                text = classes.get(value, value)
            elif name == "grade":
                text = vocab.label("grade", int(value), ctx.locale)
            else:
                text = vocab.label(name, value, ctx.locale)
            values.append(FacetValue(value=value, label=text, count=count))
        out[name] = values
    return out


# Ordering and pages --------------------------------------------------------------------------


def _bad_cursor() -> InvalidInput:
    return InvalidInput("分页游标无效", "Invalid pagination cursor", code="invalid_cursor")


def _keyset(sort: str, cursor: str | None) -> list[Any] | None:
    if cursor is None:
        return None
    values = decode_cursor(cursor)
    sizes = {"relevance": 2, "updated": 3, "name": 3, "code": 2}
    if len(values) != sizes[sort] or values[0] != sort:
        raise _bad_cursor()
    if sort == "relevance":
        if not isinstance(values[1], int) or values[1] < 0:
            raise _bad_cursor()
    elif not all(isinstance(v, str) for v in values[1:]):
        raise _bad_cursor()
    if sort == "updated":
        try:
            values[1] = datetime.fromisoformat(values[1])
        except ValueError:
            raise _bad_cursor() from None
        if values[1].tzinfo is None:
            raise _bad_cursor()
    return values[1:]


def _order(
    stmt: Select[Any], sort: str, after: list[Any] | None, q: str | None, match: _Match | None
) -> tuple[Select[Any], int]:
    """The page statement in ``sort`` order after the cursor position; returns the offset used."""
    e = CatalogEntry
    if sort == "relevance" and match is not None and q is not None:
        exact = case((e.name == q, 0), else_=1)
        contains = case((e.name.contains(q, autoescape=True), 0), else_=1)
        offset = after[0] if after else 0
        if match.dialect == "sqlite":
            keys = [exact, contains, match.score()]
        else:
            # One key over both tables: with the tiers as separate leading keys PostgreSQL
            # pre-sorts every visible entry by them and probes the index per row.
            keys = [exact * 4 + contains * 2 + match.score()]
        return stmt.order_by(*keys, e.id).offset(offset), offset
    if sort == "updated":
        if after:
            stmt = stmt.where(
                or_(e.updated_at < after[0], and_(e.updated_at == after[0], e.id < after[1]))
            )
        return stmt.order_by(e.updated_at.desc(), e.id.desc()), 0
    if sort == "name":
        if after:
            stmt = stmt.where(or_(e.name > after[0], and_(e.name == after[0], e.id > after[1])))
        return stmt.order_by(e.name, e.id), 0
    if after:
        stmt = stmt.where(e.resource_code > after[0])
    return stmt.order_by(e.resource_code), 0


def _cursor_after(sort: str, last: CatalogEntry, offset: int, limit: int) -> str:
    if sort == "relevance":
        return encode_cursor(["relevance", offset + limit])
    if sort == "updated":
        return encode_cursor(["updated", last.updated_at.isoformat(), last.id])
    if sort == "name":
        return encode_cursor(["name", last.name, last.id])
    return encode_cursor(["code", last.resource_code])


def search_entries(ctx: ActionContext, params: SearchParams) -> SearchResult:
    """Search the catalog: the entries the caller may see, ranked, with facet counts.

    ``q`` is segmented with jieba; every word must occur in the entry's name,
    summary, keywords, items, provider, classification or resource code (or a
    synonym of it must). Relevance order: the exact name first, then names
    containing ``q``, then the full-text score with the name weighted above the
    rest. Without ``q`` the default order is most recently updated first.

    Facets (provider, region, classification 类/项, category, grade, share type,
    open type, format, update cycle) count the matches under every other facet's
    filter but not their own, so a reader can widen a choice. ``total`` counts
    all matches. ``next_cursor`` continues the same query and order.
    """
    ctx.require(Perm.CATALOG_READ)
    q = " ".join(params.q.split()) if params.q else None
    match = _match(ctx.session, q)
    sort = params.sort or "relevance"
    if sort == "relevance" and match is None:
        sort = "updated"  # nothing to rank by
    after = _keyset(sort, params.cursor)

    key = facet_key(ctx, params.model_dump(exclude={"q", "sort", "limit", "cursor"}), q)
    counted = FACET_CACHE.get(key) if key is not None else None
    if counted is None:
        counted = _count_facets(ctx, params, match)
        if key is not None:
            FACET_CACHE.put(key, counted)
    total, raw = counted
    facets = _facet_out(ctx, params, raw)

    # Order ids only: the sort then carries a few bytes per match, not whole rows.
    stmt = _base(ctx, params, match).with_only_columns(CatalogEntry.id)
    for condition in _facet_filters(params, CatalogEntry).values():
        stmt = stmt.where(condition)
    stmt, offset = _order(stmt, sort, after, q, match)
    ids = list(ctx.session.scalars(stmt.limit(params.limit + 1)))
    loaded = ctx.session.scalars(
        select(CatalogEntry)
        .where(CatalogEntry.id.in_(ids))
        .options(raiseload(CatalogEntry.classification))
    )
    by_id = {e.id: e for e in loaded}
    rows = [by_id[i] for i in ids]
    next_cursor = None
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        next_cursor = _cursor_after(sort, rows[-1], offset, params.limit)
    return SearchResult(
        items=[summary_out(r) for r in rows], total=total, facets=facets, next_cursor=next_cursor
    )


def rebuild_search_index(ctx: ActionContext) -> int:
    """Re-segment every entry's search text, e.g. after the jieba dictionary or the
    government term list changed. Needs ``catalog.manage``; returns the entries indexed."""
    ctx.require(Perm.CATALOG_MANAGE)
    count = reindex_all(ctx.session)
    bump(ctx.session)
    ctx.audit("catalog.reindex", target_type="catalog", row_count=count)
    return count
