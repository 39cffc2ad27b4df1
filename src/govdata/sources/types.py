"""Native column types → Arrow types, one table per dialect.

Anything not in a table is read as a string, so an unusual type never stops a load.
"""

from __future__ import annotations

import re

import pyarrow as pa

# MariaDB/MySQL, keyed by information_schema.COLUMNS.DATA_TYPE.
MARIADB_TYPES: dict[str, pa.DataType] = {
    "tinyint": pa.int8(),
    "smallint": pa.int16(),
    "mediumint": pa.int32(),
    "int": pa.int32(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
    "year": pa.int16(),
    "float": pa.float32(),
    "double": pa.float64(),
    "real": pa.float64(),
    "char": pa.string(),
    "varchar": pa.string(),
    "tinytext": pa.string(),
    "text": pa.string(),
    "mediumtext": pa.string(),
    "longtext": pa.string(),
    "enum": pa.string(),
    "set": pa.string(),
    "json": pa.string(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us"),
    # TIMESTAMP is stored in UTC; connectors set the session time zone to UTC to read it.
    "timestamp": pa.timestamp("us", tz="UTC"),
    "time": pa.duration("us"),
    "binary": pa.binary(),
    "varbinary": pa.binary(),
    "tinyblob": pa.binary(),
    "blob": pa.binary(),
    "mediumblob": pa.binary(),
    "longblob": pa.binary(),
    "bit": pa.binary(),
}
_MARIADB_UNSIGNED: dict[str, pa.DataType] = {
    "tinyint": pa.uint8(),
    "smallint": pa.uint16(),
    "mediumint": pa.uint32(),
    "int": pa.uint32(),
    "integer": pa.uint32(),
    "bigint": pa.uint64(),
}

# PostgreSQL, keyed by pg_type.typname (the udt_name).
POSTGRES_TYPES: dict[str, pa.DataType] = {
    "int2": pa.int16(),
    "int4": pa.int32(),
    "int8": pa.int64(),
    "float4": pa.float32(),
    "float8": pa.float64(),
    "bool": pa.bool_(),
    "varchar": pa.string(),
    "bpchar": pa.string(),
    "text": pa.string(),
    "name": pa.string(),
    "uuid": pa.string(),
    "json": pa.string(),
    "jsonb": pa.string(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "timestamptz": pa.timestamp("us", tz="UTC"),
    "time": pa.time64("us"),
    "bytea": pa.binary(),
}

# SQLite: keyed by the declared type's base word (upper case), following its affinity rules.
SQLITE_TYPES: dict[str, pa.DataType] = {
    "INTEGER": pa.int64(),
    "INT": pa.int64(),
    "BIGINT": pa.int64(),
    "SMALLINT": pa.int64(),
    "TINYINT": pa.int64(),
    "REAL": pa.float64(),
    "FLOAT": pa.float64(),
    "DOUBLE": pa.float64(),
    "TEXT": pa.string(),
    "VARCHAR": pa.string(),
    "CHAR": pa.string(),
    "CLOB": pa.string(),
    "JSON": pa.string(),
    "BLOB": pa.binary(),
    "BOOLEAN": pa.bool_(),
    "BOOL": pa.bool_(),
    "DATE": pa.date32(),
    "DATETIME": pa.timestamp("us"),
    "TIMESTAMP": pa.timestamp("us"),
}


def decimal_type(precision: int | None, scale: int | None) -> pa.DataType:
    """A decimal of the declared precision; unbounded ones are kept exact as strings."""
    if precision is None or precision <= 0:
        return pa.string()
    scale = scale or 0
    if precision <= 38:
        return pa.decimal128(precision, scale)
    if precision <= 76:
        return pa.decimal256(precision, scale)
    return pa.string()


def mariadb_arrow_type(
    data_type: str, column_type: str, precision: int | None, scale: int | None
) -> pa.DataType:
    data_type = data_type.lower()
    column_type = column_type.lower()
    if data_type in ("decimal", "numeric"):
        return decimal_type(precision, scale)
    if data_type == "tinyint" and column_type.startswith("tinyint(1)"):
        return pa.bool_()
    if "unsigned" in column_type and data_type in _MARIADB_UNSIGNED:
        return _MARIADB_UNSIGNED[data_type]
    return MARIADB_TYPES.get(data_type, pa.string())


def postgres_arrow_type(udt_name: str, precision: int | None, scale: int | None) -> pa.DataType:
    if udt_name == "numeric":
        return decimal_type(precision, scale)
    return POSTGRES_TYPES.get(udt_name, pa.string())


_SQLITE_DECL = re.compile(r"^\s*([A-Za-z]+)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?")


def sqlite_arrow_type(declared: str) -> pa.DataType:
    m = _SQLITE_DECL.match(declared or "")
    if not m:
        return pa.string()
    word = m.group(1).upper()
    if word in ("DECIMAL", "NUMERIC"):
        precision = int(m.group(2)) if m.group(2) else None
        return decimal_type(precision, int(m.group(3)) if m.group(3) else 0)
    if word in SQLITE_TYPES:
        return SQLITE_TYPES[word]
    # SQLite's own affinity rules (datatype3.html §3.1), in its order of precedence.
    upper = declared.upper()
    if "INT" in upper:
        return pa.int64()
    if any(k in upper for k in ("CHAR", "CLOB", "TEXT")):
        return pa.string()
    if "BLOB" in upper:
        return pa.binary()
    if any(k in upper for k in ("REAL", "FLOA", "DOUB")):
        return pa.float64()
    return pa.string()
