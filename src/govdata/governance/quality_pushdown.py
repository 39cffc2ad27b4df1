"""Quality rules pushed down to a database source that an entry reaches by logical access.

The rules every SQL engine can evaluate the same way (not null, unique, length, numeric
range, allowed values) compile to one aggregate that SQLGlot renders in the source's own
dialect and the source runs over at most the mount's row cap of rows, read-only and under
the mount's timeout; only the counts travel. Pattern, date and identifier-checksum rules,
whose functions differ from engine to engine, run in DuckDB over the capped rows instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import sqlglot
from sqlalchemy.orm import Session
from sqlglot import exp

from govdata.config import Settings
from govdata.core.errors import InvalidInput
from govdata.exchange import mapping
from govdata.exchange.models import Mount
from govdata.exchange.vocab import TargetKind
from govdata.governance import rules_sql
from govdata.sources.registry import connector_for, source_facts
from govdata.sources.sql import SqlConnector

PUSHABLE = frozenset({"not_null", "unique", "length", "range", "allowed"})
_ROWS = "rows_total"


@dataclass(frozen=True)
class Pushed:
    counts: dict[str, rules_sql.RuleCount]
    rows: int
    sql: str


def _numeric(mount: Mount, field: str | None) -> bool:
    for c in mount.columns:
        if c["field"] == field:
            t = mapping.parse_type(str(c["type"]))
            return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t))
    return False


def pushable(mount: Mount, specs: Sequence[rules_sql.RuleSpec]) -> list[rules_sql.RuleSpec]:
    """The rules the source can count itself (a range only over a numeric column: a text
    column would need a cast that fails at the source instead of counting as invalid)."""
    return [
        sp
        for sp in specs
        if sp.kind in PUSHABLE and (sp.kind != "range" or _numeric(mount, sp.field))
    ]


def _portable(select: exp.Select) -> exp.Select:
    """``count_if(c)`` as ``SUM(CASE WHEN c THEN 1 ELSE 0 END)``, which every dialect has."""

    def rewrite(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.CountIf):
            case = exp.Case().when(node.this, exp.Literal.number(1)).else_(exp.Literal.number(0))
            return exp.Coalesce(this=exp.Sum(this=case), expressions=[exp.Literal.number(0)])
        return node

    out = select.transform(rewrite)
    assert isinstance(out, exp.Select)
    return out


def _relation(mount: Mount, dialect: str) -> exp.Expr:
    if mount.target_kind == TargetKind.QUERY:
        query = sqlglot.parse_one(mount.target, dialect=dialect)
        assert isinstance(query, exp.Query)
        return query.subquery("src")
    parts = mount.target.split(".")
    return exp.table_(parts[-1], db=parts[-2] if len(parts) > 1 else None, quoted=True)


def count_at_source(
    s: Session, settings: Settings, mount: Mount, specs: Sequence[rules_sql.RuleSpec]
) -> Pushed | None:
    """Counts of ``specs`` (all pushable) computed by the source over the capped rows, or
    None when the source is not a database."""
    facts = source_facts(s, mount.source_id)
    if facts is None:
        raise InvalidInput(
            "挂载的数据源已不存在",
            "The mount's source no longer exists",
            code="mount_source_invalid",
            details={"source_id": mount.source_id},
        )
    connector = connector_for(settings, facts)
    if not isinstance(connector, SqlConnector) or not specs:
        return None
    dialect = connector.sql_dialect
    fields = [str(c["field"]) for c in mount.columns]
    capped = (
        exp.select(
            *(
                exp.alias_(exp.column(str(c["column"]), quoted=True), str(c["field"]), quoted=True)
                for c in mount.columns
            )
        )
        .from_(_relation(mount, dialect))
        .limit(mount.row_cap)
    )
    # The same rows the capped read for the other rules takes: the first by the key.
    by_field = {str(c["field"]): str(c["column"]) for c in mount.columns}
    keys = [by_field[k] for k in mount.key_columns if k in by_field]
    if keys:
        capped = capped.order_by(*(exp.column(k, quoted=True) for k in keys))
    select = rules_sql.compile_rules(specs, fields)
    select = select.select(exp.alias_(exp.Count(this=exp.Star()), _ROWS))
    select = select.from_(capped.subquery(rules_sql.RELATION))
    sql = _portable(select).sql(dialect=dialect)
    batches = list(connector.read_query(sql, timeout=float(mount.timeout_seconds)))
    row = pa.Table.from_batches(batches).to_pylist()[0]
    counts = {
        sp.id: rules_sql.RuleCount(
            sp.id, int(row[f"checked_{i}"] or 0), int(row[f"failed_{i}"] or 0)
        )
        for i, sp in enumerate(specs)
    }
    return Pushed(counts, int(row[_ROWS] or 0), sql)
