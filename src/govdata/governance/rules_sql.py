"""Quality rules compiled to one DuckDB aggregate over a table: every rule's checked and
failed counts from a single pass over the rows.

A rule names its kind, the field it checks and its parameters. Each value rule becomes
a condition that is true when a row passes; nulls are only the not-null rule's business,
so the others count the non-null values they checked. Uniqueness is counted by the
aggregate itself (values minus distinct values). The input is a stream of Arrow batches
(``Lake.scan`` gives one), which DuckDB reads once and never holds whole.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
from sqlglot import exp

from govdata.core.errors import InvalidInput
from govdata.governance import predicates, sql_checks

KINDS = (
    "not_null",
    "unique",
    "pattern",
    "length",
    "range",
    "allowed",
    "date_valid",
    "resident_id",
    "credit_code",
    "mobile",
    "custom",
)
RELATION = "rows_under_check"


@dataclass(frozen=True)
class RuleSpec:
    id: str
    kind: str
    field: str | None = None
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class RuleCount:
    rule_id: str
    checked: int
    failed: int

    @property
    def pass_rate(self) -> float | None:
        return None if self.checked == 0 else (self.checked - self.failed) / self.checked


def _invalid(rule: RuleSpec, zh: str, en: str) -> InvalidInput:
    return InvalidInput(
        f"质量规则 {rule.id} 无效：{zh}",
        f"Quality rule {rule.id} is invalid: {en}",
        code="quality_rule_invalid",
        details={"rule": rule.id, "kind": rule.kind},
    )


def _lit(value: Any) -> exp.Expr:
    return exp.convert(value)


def _passes(rule: RuleSpec, col: exp.Expr) -> exp.Expr:
    """The condition a non-null value of ``col`` meets when it passes ``rule``."""
    p = rule.params
    text = exp.cast(col.copy(), "varchar")
    if rule.kind == "pattern":
        return exp.func("regexp_full_match", text, _lit(str(p["regex"])))
    if rule.kind == "length":
        length = exp.func("length", text)
        return exp.Between(this=length, low=_lit(int(p.get("min", 0))), high=_lit(int(p["max"])))
    if rule.kind == "range":
        number = exp.TryCast(this=col.copy(), to=exp.DataType.build("double"))
        return exp.Between(this=number, low=_lit(float(p["min"])), high=_lit(float(p["max"])))
    if rule.kind == "allowed":
        values = [str(x) for x in p["values"]]
        if not values:
            raise _invalid(rule, "可选值为空", "no allowed values")
        return exp.In(this=text, expressions=[_lit(x) for x in values])
    if rule.kind == "date_valid":
        # With a format the text must match it; without, any ISO date or date and time (and
        # a typed date or timestamp column) is read as one.
        parsed = (
            exp.func("try_strptime", text, _lit(str(p["format"])))
            if p.get("format")
            else exp.TryCast(this=text, to=exp.DataType.build("timestamp"))
        )
        valid: exp.Expr = exp.Not(this=exp.Is(this=parsed, expression=exp.null()))
        # Plausibility: a real date can still be impossible for the field (born in 1850).
        day = exp.cast(parsed.copy(), "date")
        if p.get("min"):
            valid = exp.and_(
                valid, exp.GTE(this=day.copy(), expression=exp.cast(_lit(str(p["min"])), "date"))
            )
        if p.get("max"):
            valid = exp.and_(
                valid, exp.LTE(this=day.copy(), expression=exp.cast(_lit(str(p["max"])), "date"))
            )
        return valid
    if rule.kind in ("resident_id", "credit_code", "mobile"):
        check: exp.Expr = getattr(sql_checks, rule.kind)(str(rule.field))
        return check
    raise _invalid(rule, f"未知规则类型 {rule.kind}", f"unknown kind {rule.kind!r}")


def _aggregates(rule: RuleSpec, fields: Sequence[str]) -> tuple[exp.Expr, exp.Expr]:
    """(checked, failed) aggregate expressions of one rule."""
    if rule.kind not in KINDS:
        raise _invalid(rule, f"未知规则类型 {rule.kind}", f"unknown kind {rule.kind!r}")
    rows = exp.Count(this=exp.Star())
    if rule.kind == "custom":
        cond = predicates.parse_predicate(str(rule.params.get("predicate", "")), fields)
        failed = exp.func("count_if", exp.Not(this=exp.func("coalesce", cond, exp.false())))
        return rows, failed
    if rule.field not in fields:
        raise _invalid(rule, f"字段 {rule.field} 不存在", f"there is no field {rule.field!r}")
    col = exp.column(str(rule.field), quoted=True)
    if rule.kind == "not_null":
        return rows, exp.func("count_if", exp.Is(this=col, expression=exp.null()))
    values = exp.Count(this=col.copy())
    if rule.kind == "unique":
        distinct = exp.Count(this=exp.Distinct(expressions=[col.copy()]))
        return values, exp.Sub(this=values.copy(), expression=distinct)
    cond = _passes(rule, col)
    present = exp.Not(this=exp.Is(this=col.copy(), expression=exp.null()))
    failing = exp.And(
        this=present, expression=exp.Not(this=exp.func("coalesce", cond, exp.false()))
    )
    return values, exp.func("count_if", failing)


def failure_condition(rule: RuleSpec, fields: Sequence[str]) -> exp.Expr:
    """True for a row that fails ``rule`` (every kind but ``unique``, which fails on groups):
    what picks a run's sample failing rows."""
    if rule.kind == "custom":
        cond = predicates.parse_predicate(str(rule.params.get("predicate", "")), fields)
        return exp.Not(this=exp.func("coalesce", cond, exp.false()))
    col = exp.column(str(rule.field), quoted=True)
    if rule.kind == "not_null":
        return exp.Is(this=col, expression=exp.null())
    present = exp.Not(this=exp.Is(this=col.copy(), expression=exp.null()))
    return exp.And(
        this=present, expression=exp.Not(this=exp.func("coalesce", _passes(rule, col), exp.false()))
    )


def compile_rules(rules: Sequence[RuleSpec], fields: Sequence[str]) -> exp.Select:
    """One SELECT of ``checked_i, failed_i`` for every rule, over the relation to check."""
    columns: list[exp.Expr] = []
    for i, rule in enumerate(rules):
        checked, failed = _aggregates(rule, fields)
        columns += [exp.alias_(checked, f"checked_{i}"), exp.alias_(failed, f"failed_{i}")]
    return exp.select(*columns).from_(RELATION)


def run_rules(reader: pa.RecordBatchReader, rules: Sequence[RuleSpec]) -> list[RuleCount]:
    """Run every rule over the stream in one pass; counts in the order of ``rules``."""
    if not rules:
        return []
    fields = list(reader.schema.names)
    sql = compile_rules(rules, fields).sql(dialect="duckdb")
    con = duckdb.connect()
    try:
        con.register(RELATION, reader)
        row = con.execute(sql).fetchone()
    finally:
        con.close()
    assert row is not None
    return [
        RuleCount(rule.id, int(row[2 * i] or 0), int(row[2 * i + 1] or 0))
        for i, rule in enumerate(rules)
    ]
