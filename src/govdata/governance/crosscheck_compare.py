"""The comparison of a cross-source check (多源校核), as SQL run by DuckDB over Arrow streams.

Each source is a ``RecordBatchReader`` (``Lake.scan`` gives one), read once: DuckDB keeps one
row per normalised key (a source holding a key twice keeps one of its rows, and the number
of such keys is reported), with every mapped field normalised by its kind and as stored. The
sources are then set side by side — one row per key, a full outer join on the key — and
every figure is an aggregate of one pass over that relation:

- per field, over all sources: *compared* = keys that at least two sources hold a value
  for; *agreed* = those whose values are all equal once normalised;
- per field and pair of sources: keys both hold a value for, and how many agree;
- conflicts: the (key, field) pairs with two or more different normalised values, each
  source's value as stored and the source the authority order makes win (the first source
  in the order that holds a value). Their count is exact; the list is capped.

Normalisation per field kind (``normalise``): full-width characters become half-width,
runs of white space one space (names, identifiers and addresses: none), letters upper case;
dates in ``YYYY-MM-DD``, ``YYYYMMDD``, ``YYYY/M/D``, ``YYYY.MM.DD`` or ``YYYY年M月D日``
(or typed as dates or timestamps) become ``YYYY-MM-DD``; gender codes ``1``/``男``/``M``
and ``2``/``女``/``F`` become ``1`` and ``2``, unknown (``0``, ``9``, ``未知``, ``未说明``)
no value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
from sqlglot import exp

from govdata.core.sqlident import quote_identifier
from govdata.governance.crosscheck_schemas import FieldKind

# Full-width ASCII (U+FF01..U+FF5E), the ideographic space and the no-break space.
_WIDE = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000\u00a0"
_NARROW = "".join(chr(c) for c in range(0x21, 0x7F)) + "  "
_WIDE_CLASS = "'[\uff01-\uff5e\u3000\u00a0]'"  # the same characters, as a regex
DEFAULT_CAP = 10_000


def _narrow() -> exp.Expr:
    """``translate(CAST(x AS VARCHAR), <wide>, <narrow>)``: full-width to half-width."""
    return exp.func(
        "translate",
        exp.cast(exp.column("x"), exp.DataType.build("VARCHAR")),
        exp.Literal.string(_WIDE),
        exp.Literal.string(_NARROW),
    )


# One macro per kind; each takes a value of any type and gives text or NULL.
_MACROS = r"""
CREATE MACRO gd_text(x) AS
    nullif(upper(trim(regexp_replace(gd_narrow(x), '\s+', ' ', 'g'))), '');
CREATE MACRO gd_tight(x) AS nullif(upper(regexp_replace(gd_narrow(x), '\s+', '', 'g')), '');
CREATE MACRO gd_name(x) AS regexp_replace(gd_tight(x), '[.・•‧･]', '·', 'g');
CREATE MACRO gd_gender(x) AS CASE
    WHEN gd_tight(x) IN ('1', '男', '男性', 'M', 'MALE') THEN '1'
    WHEN gd_tight(x) IN ('2', '女', '女性', 'F', 'FEMALE') THEN '2'
    WHEN gd_tight(x) IN ('0', '9', '未知', '未说明', '未知的性别', '未说明的性别') THEN NULL
    ELSE gd_tight(x) END;
CREATE MACRO gd_date_parts(t) AS regexp_extract(
    t, '^(\d{4})\s*[-/.年]?\s*(\d{1,2})\s*[-/.月]?\s*(\d{1,2})', ['y', 'm', 'd']);
CREATE MACRO gd_date_of(p) AS strftime(
    try_cast(p.y || '-' || lpad(p.m, 2, '0') || '-' || lpad(p.d, 2, '0') AS DATE), '%Y-%m-%d');
CREATE MACRO gd_date(x) AS coalesce(gd_date_of(gd_date_parts(gd_tight(x))), gd_tight(x));
"""

_KIND_MACRO = {
    FieldKind.NAME: "gd_name",
    FieldKind.ID: "gd_tight",
    FieldKind.GENDER: "gd_gender",
    FieldKind.DATE: "gd_date",
    FieldKind.ADDRESS: "gd_tight",
    FieldKind.TEXT: "gd_text",
    FieldKind.CODE: "gd_tight",
}


def _ident(name: str) -> str:
    return quote_identifier(name, "duckdb")


def _col(name: str) -> exp.Column:
    return exp.column(exp.to_identifier(name, quoted=True))


def normalise(kind: FieldKind | str, column: str) -> exp.Expr:
    """The expression normalising ``column`` as a value of ``kind`` (macros of ``_MACROS``)."""
    return exp.func(_KIND_MACRO[FieldKind(kind)], _col(column))


@dataclass(frozen=True)
class SourceInput:
    id: str
    reader: Callable[[], pa.RecordBatchReader]  # opened when the comparison reaches it
    key_column: str
    columns: dict[str, str]  # subject field -> column


@dataclass(frozen=True)
class FieldAgreement:
    field: str
    source_a: str | None  # None (with source_b None): over all sources
    source_b: str | None
    compared: int
    agreed: int


@dataclass(frozen=True)
class ConflictRow:
    key: str
    field: str
    values: dict[str, str | None]  # source id -> value as stored
    winner: str | None


@dataclass
class Comparison:
    source_rows: dict[str, int] = field(default_factory=dict)
    source_keys: dict[str, int] = field(default_factory=dict)
    duplicate_keys: dict[str, int] = field(default_factory=dict)
    key_count: int = 0
    shared_keys: int = 0
    conflict_count: int = 0
    agreements: list[FieldAgreement] = field(default_factory=list)
    conflicts: list[ConflictRow] = field(default_factory=list)


Progress = Callable[[int, int, str], None]


def _count_if(cond: exp.Expr) -> exp.Expr:
    return exp.Filter(this=exp.func("count", exp.Star()), expression=exp.Where(this=cond))


def _fn(name: str, *args: exp.Expr) -> exp.Expr:
    """A DuckDB function by its own name (not one SQLGlot would rename)."""
    return exp.Anonymous(this=name, expressions=list(args))


def _as_int(cond: exp.Expr) -> exp.Expr:
    return exp.Coalesce(
        this=exp.cast(cond, exp.DataType.build("INTEGER")), expressions=[exp.Literal.number(0)]
    )


def _sum(terms: list[exp.Expr]) -> exp.Expr:
    total = terms[0]
    for term in terms[1:]:
        total = exp.Add(this=total, expression=term)
    return exp.paren(total)


def _n(i: int, fname: str) -> exp.Column:
    return _col("n" + str(int(i)) + "_" + fname)


def _r(i: int, fname: str) -> exp.Column:
    return _col("r" + str(int(i)) + "_" + fname)


def _p(i: int) -> exp.Column:
    return _col("p" + str(int(i)))


@dataclass(frozen=True)
class _Plan:
    sources: Sequence[SourceInput]
    fields: list[str]  # compared fields, in order
    holders: dict[str, list[int]]  # field -> indexes of the sources mapping it
    order: dict[str, list[int]]  # field -> holders in authority order


def _plan(
    sources: Sequence[SourceInput],
    kinds: dict[str, FieldKind | str],
    authority: dict[str, list[str]],
) -> _Plan:
    index = {src.id: i for i, src in enumerate(sources)}
    holders = {
        fname: [i for i, src in enumerate(sources) if src.columns.get(fname)] for fname in kinds
    }
    order = {}
    for fname, held in holders.items():
        placed = [index[sid] for sid in authority.get(fname, []) if index.get(sid) in held]
        order[fname] = [*placed, *(i for i in held if i not in placed)]
    return _Plan(sources, [f for f in kinds if holders[f]], holders, order)


def compare(
    sources: Sequence[SourceInput],
    kinds: dict[str, FieldKind | str],
    key_kind: FieldKind | str,
    authority: dict[str, list[str]],
    *,
    cap: int = DEFAULT_CAP,
    progress: Progress | None = None,
) -> Comparison:
    """Compare ``sources`` on the fields of ``kinds`` (field -> kind; the key excluded).

    ``authority``: per field, source ids in the order the authority sets (first wins); a
    source holding a value but missing from the order comes after those listed.
    """
    out = Comparison()
    plan = _plan(sources, kinds, authority)
    steps = len(sources) + 2
    con = duckdb.connect(":memory:")
    try:
        # translate() is slow: only values holding a full-width character go through it.
        con.execute(
            "CREATE MACRO gd_narrow(x) AS CASE WHEN regexp_matches(CAST(x AS VARCHAR), "
            + _WIDE_CLASS
            + ") THEN "
            + _narrow().sql(dialect="duckdb")
            + " ELSE CAST(x AS VARCHAR) END"
        )
        con.execute(_MACROS)
        for i, src in enumerate(sources):
            if progress:
                progress(i, steps, src.id)
            _load(
                con, i, src, [f for f in plan.fields if i in plan.holders[f]], kinds, key_kind, out
            )
        if progress:
            progress(len(sources), steps, "compare")
        if sources:
            _wide(con, len(sources))
            _agreements(con, plan, out)
            _conflicts(con, plan, cap, out)
        if progress:
            progress(steps - 1, steps, "conflicts")
    finally:
        con.close()
    return out


def _load(
    con: duckdb.DuckDBPyConnection,
    i: int,
    src: SourceInput,
    fields: list[str],
    kinds: dict[str, FieldKind | str],
    key_kind: FieldKind | str,
    out: Comparison,
) -> None:
    """One row per normalised key of the source, as table ``s<i>``: ``k``, ``p<i>`` (true:
    the source holds the key), and per field ``n<i>_<field>`` (normalised) and
    ``r<i>_<field>`` (as stored, as text)."""
    reader = src.reader()
    relation = "src" + str(int(i))
    con.register(relation, reader)
    cols: list[exp.Expr] = [
        exp.alias_(normalise(key_kind, src.key_column), "k"),
        exp.alias_(exp.true(), "p" + str(int(i)), quoted=True),
    ]
    for fname in fields:
        column = src.columns[fname]
        cols.append(exp.alias_(normalise(kinds[fname], column), _n(i, fname).name, quoted=True))
        cols.append(
            exp.alias_(
                exp.cast(_col(column), exp.DataType.build("VARCHAR")),
                _r(i, fname).name,
                quoted=True,
            )
        )
    select = exp.select(*cols).from_(exp.to_table(_ident(relation)))
    raw = _ident("raw" + str(int(i)))
    table = _ident("s" + str(int(i)))
    con.execute("CREATE TEMP TABLE " + raw + " AS " + select.sql(dialect="duckdb"))
    con.unregister(relation)
    # raw and table are quoted identifiers (sqlident); nothing else is pasted in.
    dedup = "CREATE TEMP TABLE " + table + " AS SELECT DISTINCT ON (k) * FROM " + raw  # noqa: S608
    con.execute(dedup + " WHERE k IS NOT NULL")
    rows = "SELECT (SELECT count(*) FROM " + raw + "), (SELECT count(*) FROM " + table + ")"  # noqa: S608
    dups = "SELECT count(*) FROM (SELECT k FROM " + raw + " WHERE k IS NOT NULL"  # noqa: S608
    row = con.execute(rows + ", (" + dups + " GROUP BY k HAVING count(*) > 1))").fetchone()
    assert row is not None
    out.source_rows[src.id] = int(row[0])
    out.source_keys[src.id] = int(row[1])
    out.duplicate_keys[src.id] = int(row[2])
    con.execute("DROP TABLE " + raw)


def _wide(con: duckdb.DuckDBPyConnection, n: int) -> None:
    """``w``: every source side by side, one row per key held by any of them."""
    query = exp.select("*").from_(exp.to_table(_ident("s0")))
    for i in range(1, n):
        query = query.join(
            exp.to_table(_ident("s" + str(int(i)))), using=["k"], join_type="FULL OUTER"
        )
    con.execute("CREATE TEMP TABLE w AS " + query.sql(dialect="duckdb"))


def _values(plan: _Plan, fname: str) -> exp.Expr:
    return _fn("list_value", *(_n(i, fname) for i in plan.holders[fname]))


def _agreements(con: duckdb.DuckDBPyConnection, plan: _Plan, out: Comparison) -> None:
    """Every figure in one pass over ``w``."""
    n = len(plan.sources)
    held = _sum([_as_int(_p(i)) for i in range(n)])
    columns: list[exp.Expr] = [exp.func("count", exp.Star()), _count_if(held >= 2)]
    # (field, a, b) of each pair of count columns after the first two; a and b None: all.
    layout: list[tuple[str, int | None, int | None]] = []
    for fname in plan.fields:
        holders = plan.holders[fname]
        present = _sum([_as_int(_n(i, fname).is_(exp.null()).not_()) for i in holders])
        distinct = _fn("len", _fn("list_distinct", _values(plan, fname)))
        columns += [_count_if(present >= 2), _count_if((present >= 2) & distinct.eq(1))]
        layout.append((fname, None, None))
        for x, a in enumerate(holders):
            for b in holders[x + 1 :]:
                both = _n(a, fname).is_(exp.null()).not_() & _n(b, fname).is_(exp.null()).not_()
                columns += [_count_if(both), _count_if(_n(a, fname).eq(_n(b, fname)))]
                layout.append((fname, a, b))
    row = con.execute(exp.select(*columns).from_("w").sql(dialect="duckdb")).fetchone()
    assert row is not None
    out.key_count, out.shared_keys = int(row[0]), int(row[1])
    for at, (fname, first, second) in enumerate(layout):
        compared, agreed = int(row[2 + 2 * at]), int(row[3 + 2 * at])
        if first is None or second is None:
            out.agreements.append(FieldAgreement(fname, None, None, compared, agreed))
            out.conflict_count += compared - agreed
        else:
            ids = plan.sources[first].id, plan.sources[second].id
            out.agreements.append(FieldAgreement(fname, ids[0], ids[1], compared, agreed))
    out.agreements.sort(key=lambda x: (x.source_a is not None, x.field))


def _conflicts(con: duckdb.DuckDBPyConnection, plan: _Plan, cap: int, out: Comparison) -> None:
    """The first ``cap`` conflicts by field and key, with each holder's value as stored and
    the winner: the first source in the field's authority order that holds a value."""
    if cap <= 0 or not plan.fields:
        return
    selects: list[exp.Select] = []
    for fname in plan.fields:
        holders = plan.holders[fname]
        winner = exp.Case()
        for i in plan.order[fname]:
            winner = winner.when(_n(i, fname).is_(exp.null()).not_(), exp.Literal.number(i))
        selects.append(
            exp.select(
                exp.alias_(exp.Literal.string(fname), "field"),
                exp.column("k"),
                exp.alias_(_fn("list_value", *(_p(i) for i in holders)), "held"),
                exp.alias_(_fn("list_value", *(_r(i, fname) for i in holders)), "raws"),
                exp.alias_(winner, "winner"),
            )
            .from_("w")
            .where(_fn("len", _fn("list_distinct", _values(plan, fname))) > 1)
        )
    query: exp.Query = selects[0]
    for sel in selects[1:]:
        query = exp.union(query, sel, distinct=False)
    found = con.execute(
        exp.select("*")
        .from_(query.subquery("c"))
        .order_by("field", "k")
        .limit(exp.Placeholder())
        .sql(dialect="duckdb"),
        [cap],
    ).fetchall()
    for fname, key, held, raws, winner in found:
        ids = [plan.sources[i].id for i in plan.holders[fname]]
        values: dict[str, str | None] = {
            sid: raw for sid, has, raw in zip(ids, held, raws, strict=True) if has
        }
        out.conflicts.append(
            ConflictRow(
                str(key),
                str(fname),
                values,
                plan.sources[winner].id if winner is not None else None,
            )
        )
