"""The platform's own dataset search: open datasets for a query, ordered and paged, with facets.

The portal's search page, the CKAN-compatible ``package_search`` and the benchmark call
``search_datasets``. Only datasets behind ``access.public_clause`` are ever counted or
returned. Free text uses the catalog's full-text index (one ``catalog_search`` row per
entry, jieba tokens, FTS5 / tsvector) through the catalog search's own query builder, so
a word finds the same datasets here as in the catalog.

Facets count the filtered set: the public matches are materialised once and grouped per
facet, each facet under every other facet's filter but not its own, so a visitor can
widen a choice. Tags are the exception: they AND, so their counts are taken under their
own filter too (each count is what adding that tag would leave).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FromClause

from govdata.catalog import vocab as catalog_vocab
from govdata.catalog.models import CatalogClass, CatalogEntry, EntryVersion
from govdata.catalog.search import _Match, _match
from govdata.core.db import UTCDateTime
from govdata.core.errors import InvalidInput
from govdata.identity import queries as org
from govdata.opendata import views
from govdata.opendata.access import public_clause
from govdata.opendata.models import OpenDataset
from govdata.opendata.vocab import LICENSES

__all__ = [
    "FACETS",
    "SORTS",
    "DatasetQuery",
    "DatasetSearchResult",
    "FacetCount",
    "Sort",
    "search_datasets",
]

FACETS = ("topic", "publisher", "region", "format", "update_cycle", "open_type", "tags", "license")
Sort = Literal[
    "relevance",
    "modified_desc",
    "modified_asc",
    "name_asc",
    "name_desc",
    "id_asc",
    "id_desc",
    "popular",
    "created_desc",
]
SORTS: tuple[str, ...] = Sort.__args__  # type: ignore[attr-defined]
MAX_ROWS = 1000
_MAX_VALUES = 50


def _invalid(field: str, errors: list[dict[str, Any]]) -> InvalidInput:
    return InvalidInput(
        f"检索条件“{field}”不合法",
        f"Invalid search parameter {field!r}",
        code="opendata_search_invalid",
        details={"field": field, "errors": errors},
    )


class DatasetQuery(BaseModel):
    """What to search: free text, facet filters (repeat a facet to OR its values), order, page.

    Building one with bad values raises ``InvalidInput`` (``opendata_search_invalid``)
    directly, so every caller reports bad input the same way.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    q: str | None = Field(default=None, max_length=200)
    topic: list[str] = Field(default_factory=list, max_length=_MAX_VALUES)
    publisher: list[str] = Field(default_factory=list, max_length=_MAX_VALUES)
    region: list[str] = Field(default_factory=list, max_length=_MAX_VALUES)
    format: list[str] = Field(default_factory=list, max_length=_MAX_VALUES)
    update_cycle: list[str] = Field(default_factory=list, max_length=_MAX_VALUES)
    open_type: list[str] = Field(default_factory=list, max_length=_MAX_VALUES)
    tags: list[str] = Field(default_factory=list, max_length=_MAX_VALUES)
    license: list[str] = Field(default_factory=list, max_length=_MAX_VALUES)
    modified_from: datetime | None = None
    modified_to: datetime | None = None
    sort: Sort | None = None
    start: int = Field(default=0, ge=0)
    rows: int = Field(default=20, ge=0, le=MAX_ROWS)
    facets: list[str] = Field(default_factory=list)
    facet_limit: int = Field(default=50, ge=-1)

    @model_validator(mode="wrap")
    @classmethod
    def _as_invalid_input(
        cls, data: Any, handler: ModelWrapValidatorHandler[DatasetQuery]
    ) -> DatasetQuery:
        try:
            return handler(data)
        except ValidationError as exc:
            errors = [
                {"loc": [str(p) for p in e["loc"]], "msg": e["msg"], "type": e["type"]}
                for e in exc.errors()
            ]
            field = errors[0]["loc"][0] if errors and errors[0]["loc"] else ""
            raise _invalid(field, errors) from None

    @field_validator(
        "topic", "publisher", "region", "format", "update_cycle", "open_type", "tags", "license"
    )
    @classmethod
    def _no_blanks(cls, values: list[str]) -> list[str]:
        return [v.strip() for v in values if v and v.strip()]

    @field_validator("format", "update_cycle", "open_type")
    @classmethod
    def _vocab(cls, values: list[str], info: Any) -> list[str]:
        out = []
        for text in values:
            parsed = catalog_vocab.parse_label(info.field_name, text)
            if parsed is None:
                raise ValueError(f"unknown {info.field_name} value {text!r}")
            out.append(str(parsed))
        return out

    @field_validator("facets")
    @classmethod
    def _facets(cls, values: list[str]) -> list[str]:
        unknown = [v for v in values if v not in FACETS]
        if unknown:
            raise ValueError(f"unknown facet {unknown[0]!r}; facets are {', '.join(FACETS)}")
        return list(dict.fromkeys(values))

    @field_validator("q")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return " ".join(value.split()) if value and value.strip() else None

    @field_validator("modified_from", "modified_to")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give a time zone (e.g. 2026-01-01T00:00:00Z)")
        return value


class FacetCount(BaseModel):
    value: str
    label: str
    count: int


class DatasetSearchResult(BaseModel):
    count: int
    results: list[views.DatasetSummary]
    facets: dict[str, list[FacetCount]]


# Columns -------------------------------------------------------------------------------------


@dataclass
class _Cols:
    """The columns filters and facets test: of the tables for the page, of the CTE for facets."""

    id: Any
    topic: Any
    publisher: Any
    publisher_name: Any
    region: Any
    region_path: Any
    format: Any
    update_cycle: Any
    open_type: Any
    license: Any
    keywords: Any
    modified: Any


def _modified(dialect: str) -> ColumnElement[datetime]:
    """The dataset's ``modified``: the later of its entry's and its own last change."""
    if dialect == "postgresql":
        return func.greatest(CatalogEntry.updated_at, OpenDataset.updated_at, type_=UTCDateTime())
    # SQLite's two-argument max() is the scalar maximum, not the aggregate.
    return func.max(CatalogEntry.updated_at, OpenDataset.updated_at, type_=UTCDateTime())


def _table_cols(dialect: str) -> _Cols:
    e = CatalogEntry
    return _Cols(
        id=OpenDataset.id,
        topic=func.substr(e.class_code, 1, 3),
        publisher=e.provider_code,
        publisher_name=e.provider_name,
        region=e.region_code,
        region_path=e.region_path,
        format=e.format,
        update_cycle=e.update_cycle,
        open_type=e.open_type,
        license=OpenDataset.license_id,
        keywords=EntryVersion.keywords,
        modified=_modified(dialect),
    )


def _keywords_table(dialect: str, keywords: Any) -> Any:
    """The keywords JSON array as a table of ``value`` (both stores read it as JSON text)."""
    fn = func.json_array_elements_text if dialect == "postgresql" else func.json_each
    return fn(keywords).table_valued("value").alias("kw")


def _filters(query: DatasetQuery, c: _Cols, dialect: str) -> dict[str, ColumnElement[bool]]:
    """Per facet, the condition its selected values impose."""
    out: dict[str, ColumnElement[bool]] = {}
    if query.topic:
        out["topic"] = c.topic.in_(query.topic)
    if query.publisher:
        out["publisher"] = c.publisher.in_(query.publisher)
    if query.region:
        # Paths are six-digit codes joined by "/", so "<code>/" matches only a whole segment.
        out["region"] = or_(
            c.region.in_(query.region),
            *(c.region_path.like(f"%{code}/%") for code in query.region),
        )
    for name in ("format", "update_cycle", "open_type", "license"):
        values = getattr(query, name)
        if values:
            out[name] = getattr(c, name).in_(values)
    if query.tags and dialect == "postgresql":
        # jsonb containment: one operator for all the tags, no set-returning call per row.
        wanted = cast(literal(json.dumps(query.tags, ensure_ascii=False)), JSONB)
        out["tags"] = cast(c.keywords, JSONB).op("@>")(wanted)
    elif query.tags:
        conditions = []
        for tag in query.tags:
            kw = _keywords_table(dialect, c.keywords)
            conditions.append(exists(select(literal(1)).select_from(kw).where(kw.c.value == tag)))
        out["tags"] = and_(*conditions)
    return out


def _base(query: DatasetQuery, match: _Match | None, dialect: str, c: _Cols) -> Select[Any]:
    """The public datasets matching the text and the modified range (no facet filters yet)."""
    stmt = select(OpenDataset.id).join(CatalogEntry, public_clause())
    if query.tags or "tags" in query.facets:
        stmt = stmt.join(EntryVersion, EntryVersion.id == CatalogEntry.published_version_id)
    if match is not None:
        stmt = match.join(stmt)
    if query.modified_from is not None:
        stmt = stmt.where(c.modified >= query.modified_from)
    if query.modified_to is not None:
        stmt = stmt.where(c.modified <= query.modified_to)
    return stmt


# Facets --------------------------------------------------------------------------------------

_Raw = dict[str, list[tuple[str, str | None, int]]]


def _run(
    s: Session, query: DatasetQuery, match: _Match | None, dialect: str, sort: str
) -> tuple[int, _Raw, list[str]]:
    """The total, per requested facet (value, label, count), and the page's dataset ids,
    all from one statement over the matches materialised once."""
    t = _table_cols(dialect)
    # Only the columns the requested facets and the active filters read: the matches are
    # materialised once, and a narrow row keeps tens of thousands of them in memory.
    needed = set(query.facets) | {
        name for name in FACETS if getattr(query, name) and name != "tags"
    }
    names: list[str] = [
        n for n in ("topic", "publisher", "region", "format", "update_cycle") if n in needed
    ]
    names += [n for n in ("open_type", "license") if n in needed]
    if "publisher" in query.facets:
        names.append("publisher_name")
    if query.region:
        names.append("region_path")
    if query.tags or "tags" in query.facets:
        names.append("keywords")
    columns = [getattr(t, n).label(n) for n in names] or [literal(1).label("one")]
    keys = _sort_keys(sort, query, match, t) if query.rows > 0 else []
    if query.rows > 0:
        columns.append(t.id.label("id"))
        columns += [key.label(f"k{i}") for i, (key, _) in enumerate(keys)]
    m = _base(query, match, dialect, t).with_only_columns(*columns).cte("m")
    if dialect == "postgresql":
        # Counted once per facet: computed once, not inlined into every branch.
        m = m.prefix_with("MATERIALIZED")
    mc = _Cols(**{f.name: m.c.get(f.name) for f in fields(_Cols)})
    filters = _filters(query, mc, dialect)
    branches: list[Any] = [
        select(literal("_total"), cast(null(), String), cast(null(), String), func.count())
        .select_from(m)
        .where(*filters.values())
    ]
    for name in query.facets:
        others = [f for key, f in filters.items() if key != name or name == "tags"]
        source: FromClause = m
        if name == "tags":
            kw = _keywords_table(dialect, m.c.keywords)
            value: Any = kw.c.value
            source = m.join(kw, true())
        else:
            value = getattr(mc, name)
        label = func.max(m.c.publisher_name) if name == "publisher" else cast(null(), String)
        branches.append(
            select(literal(name), cast(value, String), label, func.count())
            .select_from(source)
            .where(*others)
            .group_by(value)
        )
    if query.rows > 0:
        # The page is cut in a subquery (a top-N sort, not a sort of every match) and
        # numbered there, since a UNION promises no order of its own.
        order = [m.c[f"k{i}"].desc() if desc else m.c[f"k{i}"] for i, (_, desc) in enumerate(keys)]
        order.append(m.c.id.desc() if sort == "id_desc" else m.c.id)
        page = (
            select(m.c.id, *(m.c[f"k{i}"] for i in range(len(keys))))
            .where(*filters.values())
            .order_by(*order)
            .offset(query.start)
            .limit(query.rows)
            .subquery("page")
        )
        page_order = [
            page.c[f"k{i}"].desc() if desc else page.c[f"k{i}"] for i, (_, desc) in enumerate(keys)
        ]
        page_order.append(page.c.id.desc() if sort == "id_desc" else page.c.id)
        branches.append(
            select(
                literal("_page"),
                page.c.id,
                cast(null(), String),
                func.row_number().over(order_by=page_order),
            )
        )
    total = 0
    raw: _Raw = {name: [] for name in query.facets}
    placed: list[tuple[int, str]] = []
    for name, value, label, count in s.execute(union_all(*branches)):
        if name == "_total":
            total = int(count)
        elif name == "_page":
            placed.append((int(count), str(value)))
        elif value is not None:
            raw[name].append((str(value), label, int(count)))
    return total, raw, [i for _, i in sorted(placed)]


def _facet_out(
    s: Session, query: DatasetQuery, raw: _Raw, locale: str
) -> dict[str, list[FacetCount]]:
    out: dict[str, list[FacetCount]] = {}
    for name, values in raw.items():
        ranked = sorted(values, key=lambda v: (-v[2], v[0]))
        if query.facet_limit >= 0:
            ranked = ranked[: query.facet_limit]
        codes = [v for v, _, _ in ranked]
        if name == "topic":
            names = dict(
                s.execute(
                    select(CatalogClass.code, CatalogClass.name).where(CatalogClass.code.in_(codes))
                ).all()
            )
        elif name == "region":
            names = org.region_names(s, codes)
        else:
            names = {}
        facet = []
        for value, label, count in ranked:
            if name == "publisher":
                text = label or value
            elif name in ("topic", "region"):
                text = names.get(value, value)
            elif name in ("format", "update_cycle", "open_type"):
                text = catalog_vocab.label(name, value, locale)
            elif name == "license":
                lic = LICENSES.get(value)
                text = (lic[0] if locale.startswith("zh") else lic[1]) if lic else value
            else:
                text = value
            facet.append(FacetCount(value=value, label=text, count=count))
        out[name] = facet
    return out


# Order and page ------------------------------------------------------------------------------


def _sort_keys(
    sort: str, query: DatasetQuery, match: _Match | None, c: _Cols
) -> list[tuple[Any, bool]]:
    """The order's keys before the dataset id, each with ``True`` for descending."""
    ds = OpenDataset
    if sort == "relevance" and match is not None and query.q is not None:
        exact = case((CatalogEntry.name == query.q, 0), else_=1)
        contains = case((CatalogEntry.name.contains(query.q, autoescape=True), 0), else_=1)
        if match.dialect == "sqlite":
            return [(exact, False), (contains, False), (match.score(), False)]
        # One key, as the catalog search does: PostgreSQL sorts on it without probing per row.
        return [(exact * 4 + contains * 2 + match.score(), False)]
    if sort in ("relevance", "modified_desc", "modified_asc"):
        return [(c.modified, sort != "modified_asc")]
    if sort in ("name_asc", "name_desc"):
        return [(ds.name, sort == "name_desc")]
    if sort == "popular":
        return [(ds.views + ds.downloads + ds.calls, True)]
    if sort == "created_desc":
        return [(func.coalesce(ds.opened_at, ds.created_at), True)]
    return []  # id_asc, id_desc: the id alone


def search_datasets(s: Session, query: DatasetQuery, locale: str = "zh_CN") -> DatasetSearchResult:
    """Search the open datasets: the public ones matching ``query``, a page of them, facets.

    ``q`` is segmented with jieba; every word (or a synonym of it) must occur in the
    dataset's title, description, keywords, items, publisher, classification or code.
    Filters: ``topic`` (level-2 class code, e.g. ``213``), ``publisher`` (department
    code), ``region`` (division code; its subtree matches too), ``format``,
    ``update_cycle`` and ``open_type`` (catalog codes or their labels), ``license`` (id),
    ``tags`` (all must be keywords), ``modified_from``/``modified_to`` (inclusive).
    Repeated values of one facet OR; facets AND.

    Orders: ``relevance`` (default with ``q``: the exact title, titles containing ``q``,
    then the full-text score), ``modified_desc`` (default without ``q``), ``modified_asc``,
    ``name_asc``/``name_desc`` (the dataset's CKAN name), ``id_asc``/``id_desc``,
    ``popular`` (views + downloads + calls) and ``created_desc`` (opened on the portal).
    Ties go by dataset id, so paging with ``start``/``rows`` is stable. ``rows=0`` gives
    only the count and the facets. ``facets`` names the facets to count;
    ``facet_limit`` keeps the most frequent values (-1: all).
    """
    dialect = s.get_bind().dialect.name
    match = _match(s, query.q)
    sort = query.sort or ("relevance" if query.q else "modified_desc")
    if sort == "relevance" and match is None:
        sort = "modified_desc"  # nothing to rank by
    total, raw, ids = _run(s, query, match, dialect, sort)
    facets = _facet_out(s, query, raw, locale)
    results: list[views.DatasetSummary] = []
    if ids:
        loaded = s.execute(
            select(OpenDataset, CatalogEntry)
            .join(CatalogEntry, public_clause())
            .where(OpenDataset.id.in_(ids))
        ).all()
        by_id = {ds.id: (ds, entry) for ds, entry in loaded}
        results = views.summaries(s, [by_id[i] for i in ids if i in by_id], locale)
    return DatasetSearchResult(count=total, results=results, facets=facets)


# The home page's figures ---------------------------------------------------------------------


class PortalTotals(BaseModel):
    datasets: int
    publishers: int
    views: int
    downloads: int
    calls: int


def portal_totals(s: Session) -> PortalTotals:
    """How many datasets are open, from how many publishers, and their use so far."""
    ds = OpenDataset
    totals = (
        select(
            func.count(),
            func.count(func.distinct(CatalogEntry.provider_code)),
            func.coalesce(func.sum(ds.views), 0),
            func.coalesce(func.sum(ds.downloads), 0),
            func.coalesce(func.sum(ds.calls), 0),
        )
        .select_from(ds)
        .join(CatalogEntry, public_clause())
    )
    row = s.execute(totals).one()
    return PortalTotals(
        datasets=row[0], publishers=row[1], views=row[2], downloads=row[3], calls=row[4]
    )


def featured_datasets(s: Session, limit: int, locale: str = "zh_CN") -> list[views.DatasetSummary]:
    """The operator's featured datasets, most recently changed first."""
    rows = s.execute(
        select(OpenDataset, CatalogEntry)
        .join(CatalogEntry, public_clause())
        .where(OpenDataset.featured.is_(True))
        .order_by(_modified(s.get_bind().dialect.name).desc(), OpenDataset.id)
        .limit(limit)
    ).all()
    return views.summaries(s, [(ds, entry) for ds, entry in rows], locale)
