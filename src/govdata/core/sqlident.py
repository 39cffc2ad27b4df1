"""Names in generated SQL, quoted by SQLAlchemy's identifier preparer of the dialect.

Values never go into SQL text: they are bound parameters. Names — tables, columns,
schemas, publications — cannot be bound, so they are quoted here, always and whatever
their spelling. ``tests/security/test_sql_hygiene.py`` accepts in SQL text only names
quoted here, placeholders, numbers and SQL rendered or checked by SQLGlot.
"""

from __future__ import annotations

from sqlalchemy.dialects.mysql.base import MySQLDialect
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.dialects.sqlite.base import SQLiteDialect
from sqlalchemy.sql.compiler import IdentifierPreparer

# The dialects without a driver. "qmark": a preparer for a "format" dialect would double
# every % for the driver; the callers that pass bound parameters to such a driver double
# them themselves.
_PG = PGDialect(paramstyle="qmark").identifier_preparer  # type: ignore[no-untyped-call]
_PREPARERS: dict[str, IdentifierPreparer] = {
    "mysql": MySQLDialect(paramstyle="qmark").identifier_preparer,
    "postgresql": _PG,
    "sqlite": SQLiteDialect(paramstyle="qmark").identifier_preparer,
    # DuckDB and DataFusion (delta-rs predicates) quote names as PostgreSQL does.
    "duckdb": _PG,
    "datafusion": _PG,
}
_PREPARERS["mariadb"] = _PREPARERS["mysql"]
_PREPARERS["postgres"] = _PG


def quote_identifier(name: str, dialect: str) -> str:
    """``name`` as one quoted identifier of ``dialect``: `a``b` or "a""b"."""
    return _PREPARERS[dialect].quote_identifier(name)


def qualified(dialect: str, *parts: str) -> str:
    """A dotted name, each part quoted: "schema"."table"."""
    return ".".join(quote_identifier(p, dialect) for p in parts)
