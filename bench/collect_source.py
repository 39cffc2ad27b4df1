"""The benchmark's MariaDB source: a realistic 12-column person table, generated in the server.

Rows come from MariaDB's sequence engine (``seq_1_to_N``) through ``INSERT … SELECT`` with
expressions, so a million rows take seconds and never pass through Python. The session that
generates them turns its binary log off: the bulk insert is set-up, not a change a CDC
pipeline should ever see, and a multi-million-row ROW event would only slow the server down.
"""

from __future__ import annotations

import time
from typing import Any

import pymysql

HOST, PORT, USER = "127.0.0.1", 3306, "root"
GENERATE_CHUNK = 1_000_000

COLUMNS = (
    "id",
    "name",
    "resident_id",
    "gender",
    "birth_date",
    "registered_at",
    "monthly_income",
    "household_size",
    "address",
    "latitude",
    "status",
    "updated_at",
)

# (column, DDL, catalog item name, catalog data type, length): the entry describing the table.
SHAPE = (
    ("id", "BIGINT NOT NULL PRIMARY KEY", "人员编号", "integer", None),
    ("name", "VARCHAR(32) NOT NULL", "姓名", "string", 32),
    ("resident_id", "CHAR(18) NOT NULL", "公民身份号码", "string", 18),
    ("gender", "TINYINT NOT NULL", "性别代码", "integer", None),
    ("birth_date", "DATE NOT NULL", "出生日期", "date", None),
    ("registered_at", "DATETIME NOT NULL", "登记时间", "datetime", None),
    ("monthly_income", "DECIMAL(12,2) NULL", "月收入", "decimal", 12),
    ("household_size", "INT NOT NULL", "家庭人口数", "integer", None),
    ("address", "VARCHAR(200) NOT NULL", "户籍地址", "string", 200),
    ("latitude", "DOUBLE NULL", "纬度", "decimal", None),
    ("status", "VARCHAR(16) NOT NULL", "人员状态", "string", 16),
    ("updated_at", "DATETIME(6) NOT NULL", "更新时间", "datetime", None),
)
CDC_COLUMN = ("change_seq", "BIGINT NOT NULL DEFAULT 0", "变更序号", "integer", None)

_SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢韩"
_GIVEN = ("伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军")
_GIVEN2 = ("洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀兰", "霞")
_AREAS = ("630102", "630103", "630104", "630121", "632801")
_COUNTIES = ("西宁市城东区", "西宁市城中区", "西宁市城西区", "大通回族土族自治县", "格尔木市")
_STREETS = ("八一路", "五四大街", "昆仑路", "长江路", "海晏路", "黄河路")


def _elt(index_sql: str, values: tuple[str, ...] | str) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"ELT(1 + ({index_sql}) % {len(values)}, {quoted})"


def _row_expressions(seq: str, change_seq: str | None = None) -> str:
    """SELECT-list expressions of one generated row, a function of the integer ``seq``."""
    birth = f"DATE '1940-01-01' + INTERVAL ({seq} * 7919) % 29000 DAY"
    exprs = [
        seq,
        f"CONCAT({_elt(seq, tuple(_SURNAMES))}, {_elt(f'{seq} DIV 24', _GIVEN + _GIVEN2)})",
        # Area code, birth date, sequence and a check character: the shape of a real id.
        f"CONCAT({_elt(seq, _AREAS)}, DATE_FORMAT({birth}, '%Y%m%d'),"
        f" LPAD({seq} % 1000, 3, '0'), {_elt(seq, tuple('0123456789X'))})",
        f"{seq} % 2",
        birth,
        f"TIMESTAMP '2000-01-01 00:00:00' + INTERVAL ({seq} * 104729) % 788400000 SECOND",
        f"IF({seq} % 17 = 0, NULL, (({seq} * 31337) % 2000000) / 100)",
        f"1 + {seq} % 7",
        f"CONCAT('青海省', {_elt(seq, _COUNTIES)}, {_elt(f'{seq} DIV 5', _STREETS)},"
        f" {seq} % 997 + 1, '号', {seq} % 30 + 1, '栋', {seq} % 600 + 101, '室')",
        f"IF({seq} % 13 = 0, NULL, 36.0 + ({seq} % 100000) / 1000000.0)",
        _elt(seq, ("active", "moved", "active", "deceased")),
        f"TIMESTAMP '2024-01-01 00:00:00' + INTERVAL {seq} SECOND"
        f" + INTERVAL ({seq} % 1000000) MICROSECOND",
    ]
    if change_seq is not None:
        exprs.append(change_seq)
    return ",\n  ".join(exprs)


def connect(database: str | None = None, *, autocommit: bool = True) -> Any:
    return pymysql.connect(
        host=HOST,
        port=PORT,
        user=USER,
        database=database,
        charset="utf8mb4",
        autocommit=autocommit,
    )


def url(database: str) -> str:
    return f"mysql://{USER}@{HOST}:{PORT}/{database}"


def server_version() -> str:
    conn = connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT VERSION()")
            return str(cur.fetchone()[0])
    finally:
        conn.close()


def create_database(database: str) -> None:
    conn = connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS `{database}` CHARACTER SET utf8mb4")
    finally:
        conn.close()


def drop_database(database: str) -> None:
    conn = connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
    finally:
        conn.close()


def row_count(database: str, table: str) -> int | None:
    """Rows in ``table``, or None when it does not exist."""
    conn = connect(database)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT COUNT(*) FROM information_schema.TABLES"
                " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
                (database, table),
            )
            if not cur.fetchone()[0]:
                return None
            cur.execute(f"SELECT COUNT(*) FROM `{table}`")
            return int(cur.fetchone()[0])
    finally:
        conn.close()


def generate(database: str, table: str, rows: int, *, cdc: bool = False) -> float:
    """(Re)create ``table`` with ``rows`` generated rows; returns the seconds it took."""
    shape = (*SHAPE, CDC_COLUMN) if cdc else SHAPE
    ddl = ",\n  ".join(f"`{c}` {d}" for c, d, *_ in shape)
    conn = connect(database, autocommit=False)
    start = time.perf_counter()
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION sql_log_bin = 0")
            cur.execute(f"DROP TABLE IF EXISTS `{table}`")
            cur.execute(f"CREATE TABLE `{table}` (\n  {ddl}\n) ENGINE=InnoDB")
            # One transaction per million rows keeps the undo log small.
            for low in range(1, rows + 1, GENERATE_CHUNK):
                high = min(rows, low + GENERATE_CHUNK - 1)
                exprs = _row_expressions("s.seq", "0" if cdc else None)
                cur.execute(f"INSERT INTO `{table}`\nSELECT\n  {exprs}\nFROM seq_{low}_to_{high} s")
                conn.commit()
            cur.execute(f"ANALYZE TABLE `{table}`")
            cur.fetchall()
    finally:
        conn.close()
    return time.perf_counter() - start
