"""The comparison of a cross-source check (多源校核), as SQL run by DuckDB over Arrow streams.

Each source is a ``RecordBatchReader`` (``Lake.scan`` gives one), read once: DuckDB keeps one
row per normalised key (a source holding a key twice keeps one of its rows, and the number
of such keys is reported), with every mapped field normalised by its kind. The sources are
then laid out long — (key, source, field, normalised value, value as stored) — and every
figure is an aggregate over that relation:

- per field, over all sources: *compared* = keys that at least two sources hold a value
  for; *agreed* = those whose values are all equal once normalised;
- per field and pair of sources: keys both hold a value for, and how many agree;
- conflicts: the (key, field) pairs with two or more different normalised values, each
  source's value as stored and the source the authority order makes win (the first source
  in the order that holds a value). Their count is exact; the list is capped.

Normalisation per field kind (``normalise_sql``): full-width characters become half-width,
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


def _union(selects: list[exp.Select]) -> exp.Query:
    query: exp.Query = selects[0]
    for sel in selects[1:]:
        query = exp.union(query, sel, distinct=False)
    return query


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
    steps = len(sources) + 2
    con = duckdb.connect(":memory:")
    try:
        con.execute("CREATE MACRO gd_narrow(x) AS " + _narrow().sql(dialect="duckdb"))
        con.execute(_MACROS)
        long: list[exp.Select] = []
        for i, src in enumerate(sources):
            if progress:
                progress(i, steps, src.id)
            fields = [f for f, c in src.columns.items() if f in kinds and c]
            _load(con, i, src, fields, kinds, key_kind, out)
            for fname in fields:
                long.append(
                    exp.select(
                        exp.column("k"),
                        exp.alias_(exp.Literal.number(i), "src"),
                        exp.alias_(exp.Literal.string(fname), "field"),
                        exp.alias_(_col("n_" + fname), "v"),
                        exp.alias_(_col("r_" + fname), "raw"),
                    ).from_(exp.to_table(_ident("s" + str(i))))
                )
        if progress:
            progress(len(sources), steps, "compare")
        if sources:
            keys = _union(
                [
                    exp.select("k").from_(exp.to_table(_ident("s" + str(i))))
                    for i in range(len(sources))
                ]
            )
            counts = (
                exp.select(
                    exp.func("count", exp.Star()),
                    exp.Filter(
                        this=exp.func("count", exp.Star()),
                        expression=exp.Where(this=exp.column("n") >= 2),
                    ),
                )
                .from_(
                    exp.select("k", exp.alias_(exp.func("count", exp.Star()), "n"))
                    .from_(keys.subquery("keys"))
                    .group_by("k")
                    .subquery("per_key")
                )
                .sql(dialect="duckdb")
            )
            row = con.execute(counts).fetchone()
            assert row is not None
            out.key_count, out.shared_keys = int(row[0]), int(row[1])
        if long:
            con.execute("CREATE TEMP TABLE long AS " + _union(long).sql(dialect="duckdb"))
            _rank_table(con, sources, authority, list(kinds))
            _agreements(con, sources, out)
            _conflicts(con, sources, cap, out)
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
    """One row per normalised key of the source, as table ``s<i>``: ``k``, and per field
    ``n_<field>`` (normalised) and ``r_<field>`` (as stored, as text)."""
    reader = src.reader()
    relation = "src" + str(i)
    con.register(relation, reader)
    cols: list[exp.Expr] = [exp.alias_(normalise(key_kind, src.key_column), "k")]
    for fname in fields:
        column = src.columns[fname]
        cols.append(exp.alias_(normalise(kinds[fname], column), "n_" + fname, quoted=True))
        cols.append(
            exp.alias_(
                exp.cast(_col(column), exp.DataType.build("VARCHAR")), "r_" + fname, quoted=True
            )
        )
    select = exp.select(*cols).from_(exp.to_table(_ident(relation)))
    raw = _ident("raw" + str(i))
    table = _ident("s" + str(i))
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


def _rank_table(
    con: duckdb.DuckDBPyConnection,
    sources: Sequence[SourceInput],
    authority: dict[str, list[str]],
    fields: list[str],
) -> None:
    index = {s.id: i for i, s in enumerate(sources)}
    rows: list[tuple[str, int, int]] = []
    for fname in fields:
        order = [index[sid] for sid in authority.get(fname, []) if sid in index]
        rest = [i for i in range(len(sources)) if i not in order]
        rows.extend((fname, i, rank) for rank, i in enumerate([*order, *rest]))
    con.execute("CREATE TEMP TABLE ranks (field VARCHAR, src INTEGER, rank INTEGER)")
    if rows:
        con.executemany("INSERT INTO ranks VALUES (?, ?, ?)", rows)


def _agreements(
    con: duckdb.DuckDBPyConnection, sources: Sequence[SourceInput], out: Comparison
) -> None:
    overall = con.execute(
        "SELECT field, count(*) FILTER (WHERE n >= 2), count(*) FILTER (WHERE n >= 2 AND d = 1)"
        " FROM (SELECT field, k, count(v) AS n, count(DISTINCT v) AS d FROM long"
        " GROUP BY field, k) GROUP BY field ORDER BY field"
    ).fetchall()
    for fname, compared, agreed in overall:
        out.agreements.append(FieldAgreement(fname, None, None, int(compared), int(agreed)))
        out.conflict_count += int(compared) - int(agreed)
    pairs = con.execute(
        "SELECT a.field, a.src, b.src, count(*), count(*) FILTER (WHERE a.v = b.v)"
        " FROM long a JOIN long b ON a.k = b.k AND a.field = b.field AND a.src < b.src"
        " WHERE a.v IS NOT NULL AND b.v IS NOT NULL"
        " GROUP BY a.field, a.src, b.src ORDER BY 1, 2, 3"
    ).fetchall()
    for fname, a, b, compared, agreed in pairs:
        out.agreements.append(
            FieldAgreement(fname, sources[a].id, sources[b].id, int(compared), int(agreed))
        )


def _conflicts(
    con: duckdb.DuckDBPyConnection, sources: Sequence[SourceInput], cap: int, out: Comparison
) -> None:
    if cap <= 0:
        return
    found = con.execute(
        "WITH c AS (SELECT field, k FROM long GROUP BY field, k HAVING count(DISTINCT v) > 1)"
        " SELECT c.field, c.k, list(l.src ORDER BY l.src), list(l.raw ORDER BY l.src),"
        " arg_min(l.src, r.rank) FILTER (WHERE l.v IS NOT NULL)"
        " FROM c JOIN long l ON l.field = c.field AND l.k = c.k"
        " LEFT JOIN ranks r ON r.field = l.field AND r.src = l.src"
        " GROUP BY c.field, c.k ORDER BY c.field, c.k LIMIT ?",
        [cap],
    ).fetchall()
    for fname, key, srcs, raws, winner in found:
        values: dict[str, str | None] = {
            sources[s].id: raw for s, raw in zip(srcs, raws, strict=True)
        }
        out.conflicts.append(
            ConflictRow(
                str(key),
                str(fname),
                values,
                sources[winner].id if winner is not None else None,
            )
        )
