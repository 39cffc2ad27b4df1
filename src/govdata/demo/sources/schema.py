"""Table definitions of the demo's source systems, rendered as DDL for SQLite and MariaDB.

Every table has an integer primary key ``id`` and an indexed ``updated_at``
column, as the departments' real systems do; incremental collection keys on it.
MariaDB keeps the Chinese comments as column and table COMMENTs; SQLite keeps
them as SQL comments inside the CREATE statement, which it stores verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from govdata.core.sqlident import quote_identifier


@dataclass(frozen=True)
class Column:
    name: str
    # Portable type names understood by both engines: BIGINT, INT, CHAR(n),
    # VARCHAR(n), DATE, DATETIME, DECIMAL(p,s).
    type: str
    comment: str
    nullable: bool = True


@dataclass(frozen=True)
class Table:
    name: str
    comment: str
    columns: tuple[Column, ...]
    unique: tuple[tuple[str, ...], ...] = ()
    indexes: tuple[tuple[str, ...], ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def all_indexes(self) -> list[tuple[str, tuple[str, ...], bool]]:
        """(name, columns, unique) for every secondary index, updated_at's included."""
        found = [(f"uq_{self.name}_{'_'.join(cols)}", cols, True) for cols in self.unique]
        found += [(f"ix_{self.name}_{'_'.join(cols)}", cols, False) for cols in self.indexes]
        found.append((f"ix_{self.name}_updated_at", ("updated_at",), False))
        return found


@dataclass(frozen=True)
class System:
    """One department's source system: a database of its own."""

    code: str
    name: str
    department: str
    tables: tuple[Table, ...] = field(default=())

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)


ID = Column("id", "BIGINT", "主键", nullable=False)
UPDATED_AT = Column("updated_at", "DATETIME", "最后更新时间", nullable=False)


def table(
    name: str,
    comment: str,
    *columns: Column,
    unique: tuple[tuple[str, ...], ...] = (),
    indexes: tuple[tuple[str, ...], ...] = (),
) -> Table:
    """A table with the ``id`` key first and ``updated_at`` last."""
    return Table(name, comment, (ID, *columns, UPDATED_AT), unique, indexes)


def _literal(text: str) -> exp.Literal:
    return exp.Literal.string(text)


def _one_line(text: str) -> str:
    """A definition's comment as a SQL line comment: it must not end the line early."""
    return " ".join(text.split())


def sqlite_create(t: Table) -> str:
    lines = []
    for i, c in enumerate(t.columns):
        # INTEGER PRIMARY KEY makes id the rowid instead of a second index.
        kind = "INTEGER PRIMARY KEY" if c.name == "id" else c.type
        null = "" if c.nullable or c.name == "id" else " NOT NULL"
        comma = "," if i < len(t.columns) - 1 else ""
        note = _one_line(c.comment)
        lines.append(f"  {quote_identifier(c.name, 'sqlite')} {kind}{null}{comma} -- {note}")
    body = "\n".join(lines)
    table_note = _one_line(t.comment)
    return f"CREATE TABLE {quote_identifier(t.name, 'sqlite')} ( -- {table_note}\n{body}\n)"


def mariadb_create(t: Table) -> str:
    lines = []
    for c in t.columns:
        kind = c.type
        null = " NOT NULL" if not c.nullable else " NULL"
        extra = ""
        if c.name == "updated_at":
            extra = " DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP"
        comment = _literal(c.comment).sql("mysql")
        lines.append(f"  {quote_identifier(c.name, 'mysql')} {kind}{null}{extra} COMMENT {comment}")
    lines.append(f"  PRIMARY KEY ({quote_identifier('id', 'mysql')})")
    body = ",\n".join(lines)
    return (
        f"CREATE TABLE {quote_identifier(t.name, 'mysql')} (\n{body}\n) ENGINE=InnoDB "
        f"DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci "
        f"COMMENT={_literal(t.comment).sql('mysql')}"
    )


def create_index(t: Table, name: str, cols: tuple[str, ...], unique: bool, dialect: str) -> str:
    kind = "UNIQUE INDEX" if unique else "INDEX"
    columns = ", ".join(quote_identifier(c, dialect) for c in cols)
    index, on = quote_identifier(name, dialect), quote_identifier(t.name, dialect)
    return f"CREATE {kind} {index} ON {on} ({columns})"


def insert_sql(t: Table, dialect: str) -> str:
    cols = ", ".join(quote_identifier(c, dialect) for c in t.column_names)
    marks = ", ".join(["?" if dialect == "sqlite" else "%s"] * len(t.columns))
    return f"INSERT INTO {quote_identifier(t.name, dialect)} ({cols}) VALUES ({marks})"  # noqa: S608
