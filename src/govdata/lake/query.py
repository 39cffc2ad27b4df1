"""Read-only SQL over lake tables: checked with SQLGlot, run by DuckDB through Arrow.

Two locks, either enough on its own for the common cases:

1. the statement is parsed (DuckDB dialect) and refused unless it is exactly one
   ``SELECT`` (or ``WITH … SELECT``, or a ``UNION``/``INTERSECT``/``EXCEPT`` of them) whose
   every table reference is a lake table or one of its own CTEs — so no DDL/DML, ``COPY``,
   ``ATTACH``, ``PRAGMA``, ``SET``, ``INSTALL``/``LOAD`` and no table functions such as
   ``read_csv`` or ``query``;
2. DuckDB runs it on a fresh in-memory connection that sees only the Arrow datasets of the
   referenced tables, with external access switched off and the configuration locked, so
   even a statement the checker misjudged cannot touch files or the network.

No DuckDB extension is involved: lake tables reach DuckDB as pyarrow datasets.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from govdata.core.errors import InvalidInput
from govdata.core.sqlident import qualified, quote_identifier
from govdata.lake.names import TableName, parse_table_name
from govdata.lake.tables import Lake

# Scalar functions that reach outside the query's data even in a SELECT list.
_DENIED_FUNCTIONS = frozenset({"getenv", "current_setting", "glob", "query", "query_table"})

# Statement kinds refused wherever they appear (a CTE can hide DML in some dialects).
_DENIED_NODES: tuple[type[Any], ...] = (
    exp.DML,
    exp.DDL,
    exp.Command,
    exp.Copy,
    exp.Attach,
    exp.Detach,
    exp.Install,
    exp.Pragma,
    exp.Set,
    exp.Use,
    exp.Describe,
    exp.Summarize,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Export,
)


def _refuse(reason_zh: str, reason_en: str, sql: str) -> InvalidInput:
    return InvalidInput(
        f"仅允许一条只读的 SELECT 查询湖表：{reason_zh}",
        f"Only one read-only SELECT over lake tables is allowed: {reason_en}",
        code="sql_not_allowed",
        details={"sql": sql[:2000]},
    )


def _kind(node: exp.Expr) -> str:
    # A Command keeps its leading keyword (LOAD, CALL) in ``this``; other nodes are typed.
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    return type(node).__name__.upper()


def check_select(sql: str, lake_tables: Iterable[str]) -> list[TableName]:
    """Refuse ``sql`` unless it is one read-only SELECT over ``lake_tables``.

    Returns the lake tables it reads. Raises InvalidInput with code ``sql_not_allowed``.
    """
    known = {str(t) for t in lake_tables}
    parser_log = logging.getLogger("sqlglot")
    level = parser_log.level
    # SQLGlot warns when it falls back to an opaque Command (LOAD, CALL...); we refuse those
    # anyway, and the warning would only clutter the CLI's refusal message.
    parser_log.setLevel(logging.ERROR)
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except ParseError as exc:
        raise InvalidInput(
            f"SQL 语法错误：{exc}",
            f"SQL syntax error: {exc}",
            code="sql_not_allowed",
            details={"sql": sql[:2000]},
        ) from exc
    finally:
        parser_log.setLevel(level)
    if len(statements) != 1:
        raise _refuse(f"收到 {len(statements)} 条语句", f"got {len(statements)} statements", sql)
    tree = statements[0]
    if not isinstance(tree, exp.Select | exp.SetOperation):
        kind = _kind(tree)
        raise _refuse(f"{kind} 不是 SELECT", f"{kind} is not a SELECT", sql)
    for node in tree.walk():
        if isinstance(node, _DENIED_NODES):
            kind = _kind(node)
            raise _refuse(f"包含 {kind}", f"contains {kind}", sql)
        if isinstance(node, exp.Func):
            fname = node.sql_name().lower() if not isinstance(node, exp.Anonymous) else node.name
            if fname.lower() in _DENIED_FUNCTIONS or fname.lower().startswith("read_"):
                raise _refuse(f"不允许调用函数 {fname}", f"function {fname} is not allowed", sql)

    cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    used: dict[str, TableName] = {}
    for ref in tree.find_all(exp.Table):
        if not isinstance(ref.this, exp.Identifier):
            # A table function (read_csv(...), generate_series(...), glob(...)) in FROM.
            raise _refuse(
                f"不允许表函数 {ref.this.sql('duckdb')}",
                f"table function {ref.this.sql('duckdb')} is not allowed",
                sql,
            )
        schema, name = ref.db.lower(), ref.name.lower()
        if ref.catalog:
            raise _refuse(
                f"不允许指定数据库 {ref.catalog}", f"catalog {ref.catalog} is not allowed", sql
            )
        if not schema and name in cte_names:
            continue
        full = f"{schema}.{name}"
        if full not in known:
            raise _refuse(
                f"{ref.sql('duckdb')} 不是湖表", f"{ref.sql('duckdb')} is not a lake table", sql
            )
        used[full] = parse_table_name(full)
    return sorted(used.values())


def run_select(lake: Lake, sql: str) -> pa.Table:
    """Run one checked read-only SELECT over lake tables and return the result as Arrow.

    Table names are as ``Lake.list_tables`` gives them (``schema.name``).
    """
    tables = check_select(sql, lake.list_tables())
    con = duckdb.connect(":memory:")
    try:
        for i, table in enumerate(tables):
            # Registering is a name binding, not a copy: DuckDB scans the dataset lazily,
            # pushing projections and filters into pyarrow.
            source = f"__lake_{i}"
            con.register(source, lake.dataset(table))
            # Both parts matched ^[a-z][a-z0-9_]*$ in parse_table_name; quoted all the same.
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(table.schema, 'duckdb')}")
            view = qualified("duckdb", table.schema, table.name)
            source_name = quote_identifier(source, "duckdb")
            con.execute(f"CREATE VIEW {view} AS SELECT * FROM {source_name}")  # noqa: S608
        # After registration, because registering and creating views are what it forbids.
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        try:
            return con.sql(sql).to_arrow_table()
        except duckdb.Error as exc:
            raise InvalidInput(
                f"查询执行失败：{exc}",
                f"Query failed: {exc}",
                code="sql_failed",
                details={"sql": sql[:2000]},
            ) from exc
    finally:
        con.close()
