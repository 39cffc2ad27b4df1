"""Custom quality rules: one SQL condition over an entry's fields, parsed and checked with
SQLGlot before it may run.

The condition says what a good row looks like (``age BETWEEN 0 AND 150``). It must be a
single boolean expression over the entry's own fields, using plain operators and a short
list of scalar functions: no statements, no subqueries, no table functions (DuckDB's
``read_csv`` would read the server's files), no other tables. What runs is SQLGlot's
rendering of the checked tree, never the text as typed.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from govdata.core.errors import InvalidInput

MAX_LENGTH = 2000

# Boolean forms a condition may take at its top.
_CONDITIONS: tuple[type[exp.Expr], ...] = (
    exp.And,
    exp.Or,
    exp.Not,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.Is,
    exp.In,
    exp.Between,
    exp.Like,
    exp.ILike,
    exp.RegexpLike,
    exp.RegexpFullMatch,
    exp.StartsWith,
    exp.EndsWith,
    exp.Paren,
    exp.Boolean,
)
# Everything else a condition may contain.
_ALLOWED: tuple[type[exp.Expr], ...] = (
    *_CONDITIONS,
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Null,
    exp.Neg,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.Mod,
    exp.DPipe,
    exp.Cast,
    exp.TryCast,
    exp.DataType,
    exp.Case,
    exp.If,
    exp.Coalesce,
    exp.Length,
    exp.Lower,
    exp.Upper,
    exp.Trim,
    exp.Substring,
    exp.Abs,
    exp.Round,
    exp.CurrentDate,
    exp.RegexpExtract,
    exp.StrPosition,
)
# Functions SQLGlot does not model, allowed by name (scalar, reading nothing).
_NAMED = frozenset({"try_strptime"})


def _invalid(zh: str, en: str, text: str, **details: object) -> InvalidInput:
    return InvalidInput(
        f"自定义规则条件无效：{zh}",
        f"Invalid custom rule condition: {en}",
        code="quality_predicate_invalid",
        details={"predicate": text[:200], **details},
    )


def parse_predicate(text: str, fields: Iterable[str]) -> exp.Expr:
    """The checked condition, ready to render for DuckDB; ``InvalidInput`` otherwise."""
    if not text.strip():
        raise _invalid("条件为空", "the condition is empty", text)
    if len(text) > MAX_LENGTH:
        raise _invalid(f"超过 {MAX_LENGTH} 个字符", f"longer than {MAX_LENGTH} characters", text)
    try:
        statements = sqlglot.parse(text, dialect="duckdb")
    except ParseError as exc:
        raise _invalid("无法解析", "it does not parse", text, error=str(exc)[:300]) from exc
    if len(statements) != 1 or statements[0] is None:
        raise _invalid("只能是一个条件", "it must be one condition", text)
    tree = statements[0]
    if not isinstance(tree, (*_CONDITIONS, exp.Case, exp.If)):
        raise _invalid(
            "须为判断条件（比较、IN、BETWEEN、LIKE、AND/OR 等）",
            "it must be a condition (a comparison, IN, BETWEEN, LIKE, AND/OR …)",
            text,
        )
    known = set(fields)
    for node in tree.walk():
        if isinstance(node, exp.Anonymous):
            if str(node.name).lower() not in _NAMED:
                raise _invalid(
                    f"不允许使用函数 {node.name}", f"function {node.name} is not allowed", text
                )
            continue
        if not isinstance(node, _ALLOWED):
            what = node.sql_name() if isinstance(node, exp.Func) else node.key.upper()
            raise _invalid(f"不允许使用 {what}", f"{what} is not allowed", text)
        if isinstance(node, exp.Column):
            if node.table:
                raise _invalid(
                    "只能引用本目录的字段", "it may only name the entry's own fields", text
                )
            if node.name not in known:
                raise _invalid(
                    f"字段 {node.name} 不存在",
                    f"there is no field {node.name}",
                    text,
                    field=node.name,
                    fields=sorted(known),
                )
    return tree


def to_duckdb(tree: exp.Expr) -> str:
    return tree.sql(dialect="duckdb")
