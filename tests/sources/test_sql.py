"""SQL source connectors against real MariaDB, PostgreSQL and SQLite databases."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import sqlite3
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pymysql
import pytest
from sqlalchemy.engine import make_url

from govdata.core.errors import GovDataError
from govdata.sources import MariaDBConnector, PostgresConnector, SQLiteConnector
from govdata.sources.sql import SqlConnector
from govdata.sources.types import mariadb_arrow_type, postgres_arrow_type, sqlite_arrow_type
from tests import services

BIG_ROWS = 120_000
UTC = dt.UTC
STAMP = dt.datetime(2024, 5, 6, 7, 8, 9, 250000, tzinfo=UTC)
PEOPLE: list[tuple[Any, ...]] = [
    # id, name, amount, score, born, seen, stamp, active, photo, meta, small
    (
        1,
        "张三",
        Decimal("1234.50"),
        1.5,
        dt.date(1990, 1, 2),
        dt.datetime(2024, 5, 6, 7, 8, 9, 123456),
        STAMP,
        True,
        b"\x00\xff",
        {"k": "值"},
        -5,
    ),
    (
        2,
        "Ada Lovelace",
        Decimal("-0.01"),
        -2.25,
        dt.date(1815, 12, 10),
        dt.datetime(2000, 1, 1),
        STAMP + dt.timedelta(days=1),
        False,
        b"",
        {"n": 1},
        32000,
    ),
    (3, None, None, None, None, None, None, None, None, None, None),
]
COLUMNS = ["id", "name", "amount", "score", "born", "seen", "stamp", "active", "photo", "meta"]
COLUMNS.append("small")


@dataclass
class Source:
    kind: str
    make: Callable[[], SqlConnector]
    scalar: Callable[[str], tuple[Any, ...]]
    checksum_sql: str
    kill: Callable[[int], None] = lambda _pid: None


def _code(exc: pytest.ExceptionInfo[GovDataError]) -> str:
    return exc.value.code


# -- MariaDB -------------------------------------------------------------------------------

MARIADB_DDL = [
    """CREATE TABLE people (
        id BIGINT PRIMARY KEY,
        name VARCHAR(50) COMMENT '姓名',
        amount DECIMAL(12,2),
        score DOUBLE,
        born DATE,
        seen DATETIME(6),
        stamp TIMESTAMP(6) NULL DEFAULT NULL,
        active TINYINT(1),
        photo BLOB,
        meta JSON,
        small SMALLINT
    ) COMMENT='人口' DEFAULT CHARSET=utf8mb4""",
    "CREATE TABLE big (id INT PRIMARY KEY, name VARCHAR(20), amount DECIMAL(10,2), grp INT)",
    "INSERT INTO big SELECT seq, CONCAT('名', seq), seq / 100, seq % 7 FROM seq_1_to_120000",
    "CREATE TABLE pair (a INT, b INT, u INT UNSIGNED, PRIMARY KEY (b, a))",
    "CREATE VIEW big_view AS SELECT id, name FROM big",
    "ANALYZE TABLE big",
    # ~45 MB of rows: far more than the socket buffers hold, so a reader killed after its
    # first batch is still mid-read (with `big` the server could finish sending first).
    "CREATE TABLE wide AS SELECT seq AS id, REPEAT('名', 100) AS name FROM seq_1_to_150000",
]


@pytest.fixture(scope="module")
def mariadb() -> Iterator[Source]:
    services.need("MariaDB", services.mariadb_up())
    db = f"govdata_t_src_{secrets.token_hex(4)}"
    user = f"govdata_t_{secrets.token_hex(3)}"
    admin = pymysql.connect(**services.MARIADB, autocommit=True, charset="utf8mb4")
    cur = admin.cursor()
    cur.execute(f"CREATE DATABASE {db} CHARACTER SET utf8mb4")
    cur.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'right-password'")
    cur.execute(f"GRANT SELECT ON {db}.* TO '{user}'@'%'")
    cur.execute(f"USE {db}")
    cur.execute("SET time_zone = '+00:00'")
    for stmt in MARIADB_DDL:
        cur.execute(stmt)
    rows = [
        (
            *r[:6],
            None if r[6] is None else r[6].replace(tzinfo=None),
            *r[7:9],
            None if r[9] is None else json.dumps(r[9], ensure_ascii=False),
            r[10],
        )
        for r in PEOPLE
    ]
    cur.executemany(f"INSERT INTO people VALUES ({', '.join(['%s'] * 11)})", rows)
    cur.fetchall()

    def scalar(sql: str) -> tuple[Any, ...]:
        cur.execute(sql)
        return tuple(cur.fetchone())

    def kill(pid: int) -> None:
        cur.execute(f"KILL CONNECTION {int(pid)}")

    def make() -> SqlConnector:
        return MariaDBConnector(
            host=services.MARIADB["host"],
            port=services.MARIADB["port"],
            user=user,
            password="right-password",
            database=db,
        )

    yield Source(
        "mariadb",
        make,
        scalar,
        "SELECT COUNT(*), SUM(id), SUM(amount * 100), SUM(CHAR_LENGTH(name)) FROM big",
        kill,
    )
    cur.execute(f"DROP DATABASE {db}")
    cur.execute(f"DROP USER '{user}'@'%'")
    admin.close()


# -- PostgreSQL ----------------------------------------------------------------------------

PG_DDL = [
    """CREATE TABLE people (
        id int8 PRIMARY KEY, name varchar(50), amount numeric(12,2), score float8, born date,
        seen timestamp, stamp timestamptz, active boolean, photo bytea, meta jsonb,
        small int2)""",
    "COMMENT ON TABLE people IS '人口'",
    "COMMENT ON COLUMN people.name IS '姓名'",
    "CREATE TABLE big (id int4 PRIMARY KEY, name text, amount numeric(10,2), grp int4)",
    "INSERT INTO big SELECT g, '名' || g, g / 100.0, g % 7 FROM generate_series(1, 120000) g",
    "CREATE TABLE pair (a int4, b int4, PRIMARY KEY (b, a))",
    "ANALYZE big",
]


def _pg_params(database: str) -> dict[str, Any]:
    url = make_url(services.PG_ADMIN_URL)
    return {
        "host": url.host or "127.0.0.1",
        "port": url.port or 5432,
        "user": url.username or "postgres",
        "password": url.password,
        "dbname": database,
    }


@pytest.fixture(scope="module")
def postgres() -> Iterator[Source]:
    services.need("PostgreSQL", services.postgres_up())
    db = f"govdata_t_src_{secrets.token_hex(4)}"
    admin_db = make_url(services.PG_ADMIN_URL).database or "postgres"
    with psycopg.connect(**_pg_params(admin_db), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{db}"')
    conn = psycopg.connect(**_pg_params(db), autocommit=True)
    for stmt in PG_DDL:
        conn.execute(stmt)
    with conn.cursor() as cur:
        cur.executemany(
            f"INSERT INTO people VALUES ({', '.join(['%s'] * 11)})",
            [(*r[:9], None if r[9] is None else json.dumps(r[9]), r[10]) for r in PEOPLE],
        )

    def scalar(sql: str) -> tuple[Any, ...]:
        row = conn.execute(sql).fetchone()
        assert row is not None
        return tuple(row)

    params = _pg_params(db)

    def make() -> SqlConnector:
        return PostgresConnector(
            host=params["host"],
            port=params["port"],
            user=params["user"],
            password=params["password"],
            database=db,
        )

    yield Source(
        "postgres",
        make,
        scalar,
        "SELECT count(*), sum(id), sum(amount * 100), sum(length(name)) FROM big",
    )
    conn.close()
    with psycopg.connect(**_pg_params(admin_db), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{db}" WITH (FORCE)')


# -- SQLite --------------------------------------------------------------------------------

SQLITE_DDL = [
    """CREATE TABLE people (
        id INTEGER PRIMARY KEY, name VARCHAR(50), amount DECIMAL(12,2), score REAL, born DATE,
        seen DATETIME, stamp TIMESTAMP, active BOOLEAN, photo BLOB, meta JSON,
        small SMALLINT)""",
    "CREATE TABLE big (id INTEGER PRIMARY KEY, name TEXT, amount DECIMAL(10,2), grp INTEGER)",
    """INSERT INTO big WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s
        WHERE g < 120000) SELECT g, '名' || g, g / 100.0, g % 7 FROM s""",
    "CREATE TABLE pair (a INT, b INT, PRIMARY KEY (b, a))",
]


@pytest.fixture(scope="module")
def sqlite_source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Source]:
    path = tmp_path_factory.mktemp("src") / "source.db"
    conn = sqlite3.connect(path)
    for stmt in SQLITE_DDL:
        conn.execute(stmt)
    conn.executemany(
        f"INSERT INTO people VALUES ({', '.join(['?'] * 11)})",
        [
            (
                r[0],
                r[1],
                None if r[2] is None else str(r[2]),
                r[3],
                None if r[4] is None else r[4].isoformat(),
                None if r[5] is None else r[5].isoformat(" "),
                None if r[6] is None else r[6].replace(tzinfo=None).isoformat(" "),
                r[7],
                r[8],
                None if r[9] is None else json.dumps(r[9], ensure_ascii=False),
                r[10],
            )
            for r in PEOPLE
        ],
    )
    conn.commit()

    def scalar(sql: str) -> tuple[Any, ...]:
        return tuple(conn.execute(sql).fetchone())

    yield Source(
        "sqlite",
        lambda: SQLiteConnector(path),
        scalar,
        "SELECT count(*), sum(id), sum(CAST(round(amount * 100) AS INTEGER)), sum(length(name))"
        " FROM big",
    )
    conn.close()


@pytest.fixture(params=["mariadb", "postgres", "sqlite"])
def src(request: pytest.FixtureRequest) -> Source:
    name = "sqlite_source" if request.param == "sqlite" else request.param
    source: Source = request.getfixturevalue(name)
    return source


# -- expectations --------------------------------------------------------------------------

ARROW_TYPES: dict[str, dict[str, pa.DataType]] = {
    "mariadb": {
        "id": pa.int64(),
        "stamp": pa.timestamp("us", tz="UTC"),
        "active": pa.bool_(),
        "small": pa.int16(),
    },
    "postgres": {
        "id": pa.int64(),
        "stamp": pa.timestamp("us", tz="UTC"),
        "active": pa.bool_(),
        "small": pa.int16(),
    },
    "sqlite": {
        "id": pa.int64(),
        "stamp": pa.timestamp("us"),
        "active": pa.bool_(),
        "small": pa.int64(),
    },
}
COMMON_TYPES = {
    "name": pa.string(),
    "amount": pa.decimal128(12, 2),
    "score": pa.float64(),
    "born": pa.date32(),
    "seen": pa.timestamp("us"),
    "photo": pa.binary(),
    "meta": pa.string(),
}


def expected_rows(kind: str) -> list[dict[str, Any]]:
    out = []
    for r in PEOPLE:
        row = dict(zip(COLUMNS, r, strict=True))
        if kind == "sqlite" and row["stamp"] is not None:
            row["stamp"] = row["stamp"].replace(tzinfo=None)
        out.append(row)
    return out


def normalise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        if row["meta"] is not None:
            row["meta"] = json.loads(row["meta"])
    return rows


# -- tests ---------------------------------------------------------------------------------


def test_discovery_reports_columns_types_keys_comments_and_estimates(src: Source) -> None:
    tables = {t.name: t for t in src.make().discover()}
    assert {"people", "big", "pair"} <= set(tables)
    people = tables["people"]
    assert [c.name for c in people.columns] == COLUMNS
    types = {c.name: c.arrow_type for c in people.columns}
    assert types == {**COMMON_TYPES, **ARROW_TYPES[src.kind]}
    assert people.primary_key == ("id",)
    assert [c.name for c in people.columns if c.is_key] == ["id"]
    assert people.column("id").nullable is False
    assert people.column("name").nullable is True
    assert tables["pair"].primary_key == ("b", "a")
    if src.kind == "sqlite":
        assert people.comment is None
        assert people.column("name").comment is None
        assert people.column("amount").type == "DECIMAL(12,2)"
    else:
        assert people.comment == "人口"
        assert people.column("name").comment == "姓名"
    estimate = tables["big"].row_estimate
    assert estimate is not None
    # Catalog statistics are estimates; SQLite counts.
    if src.kind == "sqlite":
        assert estimate == BIG_ROWS
    else:
        assert 0.5 * BIG_ROWS <= estimate <= 1.5 * BIG_ROWS


def test_preview_returns_first_rows_by_key_with_the_discovered_schema(src: Source) -> None:
    conn = src.make()
    table = conn.preview("people", limit=2)
    assert table.num_rows == 2
    assert table.schema == conn.table("people").arrow_schema()
    assert normalise(table.to_pylist()) == expected_rows(src.kind)[:2]
    assert conn.preview("big", limit=5).column("id").to_pylist() == [1, 2, 3, 4, 5]


def test_every_mapped_type_round_trips_with_nulls_and_chinese_text(src: Source) -> None:
    batches = list(src.make().read_batches("people"))
    rows = normalise(pa.Table.from_batches(batches).to_pylist())
    assert sorted(rows, key=lambda r: r["id"]) == expected_rows(src.kind)


def test_batches_stream_the_whole_table_with_a_matching_checksum(src: Source) -> None:
    conn = src.make()
    sizes = []
    total_id = 0
    total_cents = Decimal(0)
    total_len = 0
    for batch in conn.read_batches("big", batch_rows=50_000):
        assert batch.schema == conn.table("big").arrow_schema()
        sizes.append(batch.num_rows)
        total_id += pc.sum(batch.column("id")).as_py()
        total_cents += pc.sum(batch.column("amount")).as_py() * 100
        total_len += pc.sum(pc.utf8_length(batch.column("name"))).as_py()
    assert sizes == [50_000, 50_000, 20_000]
    count, sum_id, sum_cents, sum_len = src.scalar(src.checksum_sql)
    assert (sum(sizes), total_id, total_cents, total_len) == (
        count,
        int(sum_id),
        Decimal(sum_cents),
        int(sum_len),
    )


def test_projection_and_structured_filter_are_pushed_down(src: Source) -> None:
    conn = src.make()
    where = [("grp", "=", 3), ("id", "<=", 1000), ("id", ">", 10)]
    table = pa.Table.from_batches(
        list(conn.read_batches("big", columns=["id", "name"], where=where, batch_rows=40))
    )
    assert table.column_names == ["id", "name"]
    ids = table.column("id").to_pylist()
    assert ids == [i for i in range(11, 1001) if i % 7 == 3]
    assert src.scalar("SELECT count(*) FROM big WHERE grp = 3 AND id <= 1000 AND id > 10") == (
        len(ids),
    )
    picked = conn.read_batches("people", columns=["id"], where=[("id", "IN", [1, 3])])
    assert pa.Table.from_batches(list(picked)).column("id").to_pylist() == [1, 3]
    nulls = conn.read_batches("people", columns=["id"], where=[("name", "IS NULL", None)])
    assert pa.Table.from_batches(list(nulls)).column("id").to_pylist() == [3]
    chinese = conn.read_batches("people", columns=["id"], where=[("name", "=", "张三")])
    assert pa.Table.from_batches(list(chinese)).column("id").to_pylist() == [1]


def test_limit_is_pushed_down_and_key_range_reads_the_ends(src: Source) -> None:
    conn = src.make()
    where = [("grp", "=", 3)]
    limited = list(conn.read_batches("big", columns=["id"], where=where, batch_rows=4, limit=10))
    assert [b.num_rows for b in limited] == [4, 4, 2]
    assert all(i % 7 == 3 for b in limited for i in b.column("id").to_pylist())
    low, high = src.scalar("SELECT min(id), max(id) FROM big")
    assert conn.key_range("big", "id") == (low, high)
    with pytest.raises(GovDataError) as exc:
        conn.read_batches("big", limit=0)
    assert _code(exc) == "source_limit_invalid"


def test_unknown_tables_columns_and_operators_are_refused(src: Source) -> None:
    conn = src.make()
    for name in ("nope", "big; DROP TABLE big", 'big" --'):
        with pytest.raises(GovDataError) as exc:
            conn.read_batches(name)
        assert _code(exc) == "source_table_unknown"
        assert exc.value.status == 404
        assert exc.value.message_zh != exc.value.message_en
    with pytest.raises(GovDataError) as exc:
        conn.read_batches("big", where=[("id = 1 OR 1", "=", 1)])
    assert _code(exc) == "source_column_unknown"
    with pytest.raises(GovDataError) as exc:
        conn.read_batches("big", columns=["id", "secret"])
    assert _code(exc) == "source_column_unknown"
    for bad in ([("id", "LIKE", "1")], [("id", "IN", [])], [("id", "=", None)], ["id = 1"]):
        with pytest.raises(GovDataError) as exc:
            conn.read_batches("big", where=bad)  # type: ignore[arg-type]
        assert _code(exc) == "source_filter_invalid"
    assert src.scalar("SELECT count(*) FROM big") == (BIG_ROWS,)


def test_connection_test_succeeds_on_a_live_source(src: Source) -> None:
    src.make().test_connection()


def test_wrong_mariadb_password_is_an_auth_failure(mariadb: Source) -> None:
    good = mariadb.make()
    assert isinstance(good, MariaDBConnector)
    bad = MariaDBConnector(
        host=good.host, port=good.port, user=good.user, password="wrong", database=good.database
    )
    with pytest.raises(GovDataError) as exc:
        bad.test_connection()
    assert _code(exc) == "source_auth_failed"
    assert "密码" in exc.value.message_zh and "password" in exc.value.message_en


def test_unknown_postgres_role_is_an_auth_failure(postgres: Source) -> None:
    good = postgres.make()
    assert isinstance(good, PostgresConnector)
    bad = PostgresConnector(
        host=good.host, port=good.port, user="govdata_no_such_role", database=good.database
    )
    with pytest.raises(GovDataError) as exc:
        bad.test_connection()
    assert _code(exc) == "source_auth_failed"


def test_missing_database_is_reported_as_such(
    mariadb: Source, postgres: Source, tmp_path: Path
) -> None:
    m = mariadb.make()
    p = postgres.make()
    assert isinstance(m, MariaDBConnector) and isinstance(p, PostgresConnector)
    connectors: list[SqlConnector] = [
        MariaDBConnector(
            host=m.host, port=m.port, user="root", password="", database="govdata_t_src_absent"
        ),
        PostgresConnector(host=p.host, port=p.port, user=p.user, database="govdata_t_absent"),
        SQLiteConnector(tmp_path / "absent.db"),
    ]
    for conn in connectors:
        with pytest.raises(GovDataError) as exc:
            conn.test_connection()
        assert _code(exc) == "source_database_missing"


@pytest.mark.parametrize("kind", ["mariadb", "postgres"])
@pytest.mark.parametrize("host", ["127.0.0.1", "10.255.255.1"])
def test_unreachable_source_fails_fast(kind: str, host: str) -> None:
    # Port 1 refuses at once; 10.255.255.1 is unroutable, so only the timeout ends the attempt.
    conn: SqlConnector
    if kind == "mariadb":
        conn = MariaDBConnector(host=host, port=1, user="x", database="x", connect_timeout=1)
    else:
        conn = PostgresConnector(host=host, port=1, user="x", database="x", connect_timeout=1)
    started = time.monotonic()
    with pytest.raises(GovDataError) as exc:
        conn.test_connection()
    assert time.monotonic() - started < 4
    assert _code(exc) == "source_unreachable"
    assert exc.value.status == 503
    assert "无法连接" in exc.value.message_zh


def test_streaming_keeps_python_memory_bounded_by_the_batch(src: Source) -> None:
    # 30k rows held as Python tuples take about 9 MB; a 2,000-row chunk well under 1 MB.
    conn = src.make()
    conn.table("big")
    rows = 0
    tracemalloc.start()
    try:
        for batch in conn.read_batches("big", where=[("id", "<=", 30_000)], batch_rows=2_000):
            rows += batch.num_rows
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == 30_000
    assert peak < 4 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def _kill_readers(src: Source, conn: SqlConnector) -> None:
    if isinstance(conn, MariaDBConnector):
        cur_ids = src.scalar(
            "SELECT GROUP_CONCAT(ID) FROM information_schema.PROCESSLIST"
            f" WHERE USER = '{conn.user}'"
        )
        for pid in str(cur_ids[0]).split(","):
            src.kill(int(pid))
    else:
        assert isinstance(conn, PostgresConnector)
        src.scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            f" WHERE datname = '{conn.database}' AND pid <> pg_backend_pid()"
        )


@pytest.mark.parametrize("kind", ["mariadb", "postgres"])
def test_a_source_going_away_mid_read_is_reported(
    kind: str, request: pytest.FixtureRequest
) -> None:
    src: Source = request.getfixturevalue(kind)
    conn = src.make()
    batches = conn.read_batches("wide" if kind == "mariadb" else "big", batch_rows=1_000)
    assert next(batches).num_rows == 1_000
    _kill_readers(src, conn)
    with pytest.raises(GovDataError) as exc:
        for _ in batches:
            pass
    assert _code(exc) == "source_unreachable"


def test_mariadb_specifics_unsigned_and_views(mariadb: Source) -> None:
    tables = {t.name: t for t in mariadb.make().discover()}
    assert tables["pair"].column("u").arrow_type == pa.uint32()
    view = tables["big_view"]
    assert view.row_estimate is None and view.comment is None and view.primary_key == ()
    assert [c.name for c in view.columns] == ["id", "name"]


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("这不是数据库 " * 200, encoding="utf-8")
    with pytest.raises(GovDataError) as exc:
        SQLiteConnector(path).test_connection()
    assert _code(exc) == "source_database_missing"


@pytest.mark.parametrize(
    ("mapped", "expected"),
    [
        (mariadb_arrow_type("decimal", "decimal(40,5)", 40, 5), pa.decimal256(40, 5)),
        (mariadb_arrow_type("decimal", "decimal(10,0)", 10, 0), pa.decimal128(10, 0)),
        (mariadb_arrow_type("bigint", "bigint(20) unsigned", 20, 0), pa.uint64()),
        (mariadb_arrow_type("tinyint", "tinyint(4)", 3, 0), pa.int8()),
        (mariadb_arrow_type("tinyint", "tinyint(1)", 3, 0), pa.bool_()),
        (mariadb_arrow_type("json", "longtext", None, None), pa.string()),
        (mariadb_arrow_type("geometry", "geometry", None, None), pa.string()),
        (postgres_arrow_type("numeric", None, None), pa.string()),
        (postgres_arrow_type("numeric", 18, 4), pa.decimal128(18, 4)),
        (postgres_arrow_type("timestamptz", None, None), pa.timestamp("us", tz="UTC")),
        (postgres_arrow_type("_int4", None, None), pa.string()),
        (sqlite_arrow_type("DECIMAL(10, 2)"), pa.decimal128(10, 2)),
        (sqlite_arrow_type("varchar(20)"), pa.string()),
        (sqlite_arrow_type("NUMERIC"), pa.string()),
        (sqlite_arrow_type(""), pa.string()),
        (sqlite_arrow_type("unsigned big int"), pa.int64()),
        (sqlite_arrow_type("NVARCHAR(10)"), pa.string()),
        (sqlite_arrow_type("DOUBLE PRECISION"), pa.float64()),
        (sqlite_arrow_type("LONGBLOB"), pa.binary()),
    ],
)
def test_type_tables(mapped: pa.DataType, expected: pa.DataType) -> None:
    assert mapped == expected


def test_a_value_that_does_not_fit_its_declared_type_is_a_clear_error(tmp_path: Path) -> None:
    # SQLite stores whatever it is given; a text in an INTEGER column must not become a 500.
    path = tmp_path / "loose.db"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, d DATE)")
        raw.execute("INSERT INTO t VALUES (1, 'not a number', '2024-01-01')")
        raw.execute("INSERT INTO t VALUES (2, 5, '2024-13-45')")
    conn = SQLiteConnector(path)
    with pytest.raises(GovDataError) as exc:
        list(conn.read_batches("t", columns=["id", "n"]))
    assert _code(exc) == "source_value_invalid"
    assert exc.value.details["column"] == "n"
    with pytest.raises(GovDataError) as exc:
        conn.preview("t")
    assert _code(exc) == "source_value_invalid"
    assert exc.value.details["column"] == "n"
    rows = conn.read_batches("t", columns=["id", "d"], where=[("id", "=", 1)])
    assert pa.Table.from_batches(list(rows)).column("d").to_pylist() == [dt.date(2024, 1, 1)]
    with pytest.raises(GovDataError) as exc:
        list(conn.read_batches("t", columns=["d"], where=[("id", "=", 2)]))
    assert exc.value.details["column"] == "d"


# -- read-only queries and statement timeouts (query mounts, logical access) ------------------

SLOW_QUERY = {
    "mariadb": "SELECT SLEEP(5) AS s",
    "postgres": "SELECT pg_sleep(5) AS s",
    # Counts without end: only the progress handler can stop it.
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)"
    " SELECT max(x) FROM c",
}


def test_read_query_wraps_the_query_with_projection_filters_and_limit(src: Source) -> None:
    conn = src.make()
    sql = "SELECT id, name, amount, grp FROM big WHERE grp = 3;"
    info = conn.query_info(sql)
    assert [c.name for c in info.columns] == ["id", "name", "amount", "grp"]
    if src.kind != "sqlite":
        # The server describes the result: the same types discovery gives the table.
        assert info.column("amount").arrow_type == pa.decimal128(10, 2)
        assert pa.types.is_integer(info.column("id").arrow_type)
    batches = list(
        conn.read_query(sql, columns=["id", "name"], where=[("id", ">", 100)], limit=4, timeout=10)
    )
    table = pa.Table.from_batches(batches)
    assert table.schema.names == ["id", "name"]
    assert table.num_rows == 4
    ids = [int(i) for i in table.column("id").to_pylist()]
    assert all(i > 100 and i % 7 == 3 for i in ids)
    # A literal % in the query survives the driver's parameter formatting.
    like = conn.read_query(
        "SELECT name FROM big WHERE name LIKE '名1%'", where=[("name", "=", "名12")], limit=5
    )
    assert pa.Table.from_batches(list(like)).column("name").to_pylist() == ["名12"]


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM big",
        "SELECT 1; SELECT 2",
        "UPDATE big SET grp = 0",
        "CREATE TABLE x (a INT)",
        "SELECT * FROM big FOR UPDATE",
        "WITH d AS (DELETE FROM big RETURNING id) SELECT id FROM d",
    ],
)
def test_read_query_refuses_anything_but_one_select(src: Source, sql: str) -> None:
    with pytest.raises(GovDataError) as exc:
        list(src.make().read_query(sql, limit=1))
    assert _code(exc) == "sql_not_allowed"


def test_a_slow_query_is_stopped_by_the_source_at_the_timeout(src: Source) -> None:
    conn = src.make()
    t = time.monotonic()
    with pytest.raises(GovDataError) as exc:
        list(conn.read_query(SLOW_QUERY[src.kind], timeout=0.5, info=_one_text_column("s")))
    elapsed = time.monotonic() - t
    assert _code(exc) == "source_timeout"
    assert elapsed < 3, elapsed
    # The connector is still usable afterwards: the timeout was per statement.
    assert pa.Table.from_batches(list(conn.read_batches("big", limit=3, timeout=5))).num_rows == 3


def _one_text_column(name: str) -> Any:
    from govdata.sources.base import ColumnInfo, TableInfo

    return TableInfo(
        schema="query",
        name="query",
        columns=(ColumnInfo(name=name, type="", arrow_type=pa.string(), nullable=True),),
    )


def test_a_slow_table_read_is_stopped_at_the_timeout() -> None:
    # A view that sleeps per row; SQLite's discovery counts a view's rows, so a view that
    # never ends cannot be discovered there: its timeout is covered by the query test.
    from tests.exchange.sourcedb import mariadb_db, postgres_db

    sleepy = {
        "mariadb": "CREATE VIEW slow AS SELECT id, SLEEP(1) AS s FROM t",
        "postgres": "CREATE VIEW slow AS SELECT id, pg_sleep(1)::text AS s FROM t",
    }
    for make in (mariadb_db, postgres_db):
        with make() as db:
            db.execute("CREATE TABLE t (id INT PRIMARY KEY)")
            db.executemany("INSERT INTO t VALUES (%s)", [(i,) for i in range(10)])
            db.execute(sleepy[db.kind])
            conn = db.connector()
            assert isinstance(conn, SqlConnector)
            t = time.monotonic()
            with pytest.raises(GovDataError) as exc:
                list(conn.read_batches("slow", timeout=0.5))
            assert _code(exc) == "source_timeout", db.kind
            assert time.monotonic() - t < 3
