"""Reading mounts: logical reads at real MariaDB / PostgreSQL sources with projection, filters
and limits pushed down (proved from the source's own query log and table statistics), row
caps, timeouts enforced by the source, query mounts, and physical reads from the lake."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pyarrow as pa
import pymysql
import pytest
from sqlalchemy import select

from govdata.core.errors import InvalidInput, NotFound, PermissionDenied, ServiceUnavailable
from govdata.exchange import logical
from govdata.exchange.schemas import MappingColumn
from govdata.lake.tables import Lake
from govdata.security.models import AuditRecord
from tests import services
from tests.catalog.conftest import published_entry
from tests.exchange.sourcedb import SourceDb, mariadb_db, postgres_db
from tests.exchange.test_mounts import add_source, fill_people, mount_people
from tests.identity.conftest import Org

ROWS = 2000


@pytest.fixture(params=["mariadb", "postgres"])
def people_src(request: pytest.FixtureRequest) -> Iterator[SourceDb]:
    make = mariadb_db if request.param == "mariadb" else postgres_db
    with make() as src:
        fill_people(src, ROWS)
        if src.kind == "postgres":
            src.execute("CREATE INDEX people_age ON people (age)")
            src.execute("ANALYZE people")
        yield src


def read(org: Org, mount_id: str, user: str = "xn_officer", **kw: Any) -> pa.Table:
    with org.as_(user).act() as ctx:
        return logical.read_mount(ctx, mount_id, **kw)


@contextmanager
def mariadb_query_log() -> Iterator[Callable[[str], list[str]]]:
    """The server's general query log (as a table) while the block runs, then as it was."""
    m = services.MARIADB
    admin = pymysql.connect(**m, autocommit=True, charset="utf8mb4")
    with admin.cursor() as cur:
        cur.execute("SELECT @@general_log, @@log_output, CONNECTION_ID()")
        was_on, was_output, me = cur.fetchone()
        cur.execute("SET GLOBAL log_output = 'TABLE'")
        cur.execute("SET GLOBAL general_log = 1")
    since = time.time()

    def statements(needle: str) -> list[str]:
        with admin.cursor() as cur:
            cur.execute(
                "SELECT CONVERT(argument USING utf8mb4) FROM mysql.general_log"
                " WHERE command_type = 'Query' AND event_time >= FROM_UNIXTIME(%s)"
                " AND thread_id <> %s AND CONVERT(argument USING utf8mb4) LIKE %s",
                (int(since) - 1, me, f"%{needle}%"),
            )
            return [r[0] for r in cur.fetchall()]

    try:
        yield statements
    finally:
        with admin.cursor() as cur:
            cur.execute(f"SET GLOBAL general_log = {int(was_on)}")
            cur.execute(f"SET GLOBAL log_output = '{was_output}'")
        admin.close()


def pg_tuples_read(src: SourceDb) -> int:
    """Tuples the server has read from ``people`` so far (sequential and through indexes)."""
    with psycopg.connect(
        host=src.host, port=src.port, user=src.user, dbname=src.name, autocommit=True
    ) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)"
            " FROM pg_stat_user_tables WHERE relname = 'people'"
        ).fetchone()
        assert row is not None
        return int(row[0])


def pg_tuples_after(src: SourceDb, before: int, at_least: int) -> int:
    # A backend's statistics reach the shared counters when it ends (the connector closes
    # its connection after the read); wait for that instead of guessing a delay.
    deadline = time.monotonic() + 5
    while True:
        delta = pg_tuples_read(src) - before
        if delta >= at_least or time.monotonic() > deadline:
            return delta
        time.sleep(0.05)


def test_logical_read_pushes_projection_filters_and_limit_to_the_source(
    org: Org, people_src: SourceDb
) -> None:
    entry = published_entry(org, "xn_officer")
    source_id = add_source(org, "xn_stats", people_src)
    mount = mount_people(
        org,
        source_id,
        entry.id,
        mode="logical",
        columns=[
            MappingColumn(item="公民身份号码", column="id_no", field="resident_id", type="string"),
            MappingColumn(item="姓名", column="xm", field="name", type="string"),
            MappingColumn(item=None, column="age", field="age", type="int64"),
        ],
    )
    filters = [("age", "=", 25), ("resident_id", ">=", "630102199001010100")]
    if people_src.kind == "mariadb":
        with mariadb_query_log() as log:
            table = read(org, mount.id, columns=["name", "age"], filters=filters, limit=7)
            sent = log(f"`{people_src.name}`.`people`")
        assert len(sent) == 1, sent
        statement = sent[0]
        # Exactly the two columns, both conditions and the limit went to the source.
        assert statement.startswith(
            "SET STATEMENT max_statement_time=30.000 FOR SELECT `xm`, `age`"
        )
        assert "WHERE `age` = 25 AND `id_no` >= '630102199001010100'" in statement
        assert statement.endswith("LIMIT 7")
    else:
        before = pg_tuples_read(people_src)
        table = read(org, mount.id, columns=["name", "age"], filters=filters, limit=7)
        touched = pg_tuples_after(people_src, before, 7)
        # The source stopped after the seventh matching row: it read a fraction of the table
        # (had the filter or the limit stayed here, it would have read and sent all of it).
        assert 7 <= touched < ROWS / 2, touched
        # Control: an unfiltered read of the whole table shows up in the same counter.
        before = pg_tuples_read(people_src)
        assert read(org, mount.id, columns=["age"], limit=ROWS).num_rows == ROWS
        assert pg_tuples_after(people_src, before, ROWS) >= ROWS
    assert table.schema.names == ["name", "age"]
    assert table.schema.field("age").type == pa.int64()
    assert table.num_rows == 7
    assert set(table.column("age").to_pylist()) == {25}
    with org.db.sessions() as s:
        audit = s.scalars(
            select(AuditRecord)
            .where(AuditRecord.action == "exchange.mount.read")
            .order_by(AuditRecord.at)
        ).first()
        assert audit is not None
        assert audit.row_count == 7
        assert audit.fields is not None and "name" in audit.fields and "age" in audit.fields


def test_row_cap_bounds_every_read(org: Org, people_src: SourceDb) -> None:
    entry = published_entry(org, "xn_officer")
    source_id = add_source(org, "xn_stats", people_src)
    mount = mount_people(org, source_id, entry.id, mode="logical", row_cap=3)
    assert read(org, mount.id).num_rows == 3
    assert read(org, mount.id, limit=100).num_rows == 3
    assert read(org, mount.id, limit=2).num_rows == 2
    assert read(org, mount.id).schema.names == ["resident_id", "name", "gender_code"]


def test_query_mount_wraps_the_query_and_a_slow_query_is_cut_off(
    org: Org, people_src: SourceDb
) -> None:
    entry = published_entry(org, "xn_officer")
    source_id = add_source(org, "xn_stats", people_src)
    mount = mount_people(
        org,
        source_id,
        entry.id,
        mode="logical",
        target_kind="query",
        target="SELECT id_no AS resident_id, xm AS 姓名, age * 2 AS dbl FROM people WHERE age < 30",
    )
    # Matched by the aliases: an English item name, a Chinese one.
    assert [(c["column"], c["field"]) for c in mount.columns] == [
        ("resident_id", "resident_id"),
        ("姓名", "name"),
    ]
    assert mount.unmapped_items == ["性别代码"]
    table = read(org, mount.id, filters=[("name", "IN", ["居民5", "居民6", "居民45"])])
    assert sorted(table.column("name").to_pylist()) == ["居民5", "居民6"]

    sleeper = "SELECT SLEEP(5) AS s" if people_src.kind == "mariadb" else "SELECT pg_sleep(5) AS s"
    other = published_entry(org, "xn_officer", name="慢查询目录")
    slow = mount_people(
        org,
        source_id,
        other.id,
        mode="logical",
        target_kind="query",
        target=sleeper,
        columns=[MappingColumn(item=None, column="s", field="s", type="string")],
        timeout_seconds=1,
    )
    t = time.monotonic()
    with pytest.raises(ServiceUnavailable) as err:
        read(org, slow.id)
    elapsed = time.monotonic() - t
    assert err.value.code == "source_timeout"
    assert elapsed < 3, elapsed

    with pytest.raises(InvalidInput) as bad:
        mount_people(
            org,
            source_id,
            published_entry(org, "xn_officer", name="写入目录").id,
            mode="logical",
            target_kind="query",
            target="DELETE FROM people",
        )
    assert bad.value.code == "sql_not_allowed"


def test_reading_needs_data_preview_over_the_department(org: Org, people_src: SourceDb) -> None:
    entry = published_entry(org, "xn_officer")
    source_id = add_source(org, "xn_stats", people_src)
    mount = mount_people(org, source_id, entry.id, mode="logical")
    # Operators and region operators manage and see mounts, not their content; a department
    # user holds neither; another department's officer does not even learn the mount exists.
    for user in ("operator", "xn_admin", "xn_clerk"):
        with pytest.raises(PermissionDenied):
            read(org, mount.id, user=user)
    with pytest.raises(NotFound) as missing:
        read(org, mount.id, user="hx_officer")
    assert missing.value.code == "mount_not_found"
    with pytest.raises(InvalidInput) as err:
        read(org, mount.id, columns=["nope"])
    assert err.value.code == "mount_field_unknown"


def test_physical_read_scans_the_lake_table(org: Org) -> None:
    entry = published_entry(org, "xn_officer")
    with mariadb_db() as src:
        fill_people(src, 1)
        source_id = add_source(org, "xn_stats", src)
        mount = mount_people(org, source_id, entry.id, mode="physical", row_cap=50)
    # Nothing collected yet: an empty table of the mount's shape.
    empty = read(org, mount.id)
    assert empty.num_rows == 0 and empty.schema.names == ["resident_id", "name", "gender_code"]
    lake = Lake.from_settings(org.settings)
    schema = pa.schema(
        [("resident_id", pa.string()), ("name", pa.string()), ("gender_code", pa.string())]
    )
    lake.create(mount.lake_table, schema, entry_id=entry.id)
    lake.append(
        mount.lake_table,
        pa.table(
            {
                "resident_id": [f"id{i:03d}" for i in range(120)],
                "name": [f"n{i}" for i in range(120)],
                "gender_code": ["1" if i % 2 else "2" for i in range(120)],
            },
            schema=schema,
        ),
    )
    t = read(org, mount.id, columns=["resident_id"], filters=[("gender_code", "=", "1")], limit=10)
    assert t.schema.names == ["resident_id"]
    assert t.num_rows == 10
    assert read(org, mount.id).num_rows == 50  # row cap
    t = read(org, mount.id, filters=[("resident_id", "IN", ["id001", "id002"])])
    assert sorted(t.column("name").to_pylist()) == ["n1", "n2"]


def test_rows_and_lake_table_routes(org: Org) -> None:
    from fastapi.testclient import TestClient

    from govdata.app import create_app
    from govdata.identity import auth
    from govdata.identity.models import User

    entry = published_entry(org, "xn_officer")
    with mariadb_db() as src:
        fill_people(src, 30)
        source_id = add_source(org, "xn_stats", src)
        logical_mount = mount_people(org, source_id, entry.id, mode="logical")
        other = published_entry(org, "xn_officer", name="湖表目录")
        physical = mount_people(org, source_id, other.id, mode="physical")
        lake = Lake.from_settings(org.settings)
        schema = pa.schema([("resident_id", pa.string()), ("name", pa.string())])
        lake.create(physical.lake_table, schema, entry_id=other.id)
        lake.append(
            physical.lake_table, pa.table({"resident_id": ["a", "b"], "name": ["甲", "乙"]})
        )

        def token(username: str) -> dict[str, str]:
            with org.db.sessions() as s:
                user = s.get(User, org.users[username])
                assert user is not None
                return {"authorization": f"Bearer {auth.issue_access_token(org.settings, user)[0]}"}

        officer, operator = token("xn_officer"), token("operator")
        with TestClient(create_app(org.settings)) as client:
            url = f"/api/v1/mounts/{logical_mount.id}/rows"
            q = '?columns=name,resident_id&filter=[["name","IN",["居民3","居民4"]]]&limit=5'
            resp = client.get(url + q, headers=officer)
            assert resp.status_code == 200, resp.text
            body = resp.json()
            assert [f["name"] for f in body["fields"]] == ["name", "resident_id"]
            assert sorted(r["name"] for r in body["rows"]) == ["居民3", "居民4"]
            bad = client.get(url + "?filter=not-json", headers=officer)
            assert bad.status_code == 422
            assert bad.json()["error"]["code"] == "source_filter_invalid"
            assert client.get(url, headers=operator).status_code == 403

            tables = client.get("/api/v1/lake/tables", headers=operator).json()
            assert [(t["name"], t["entry_id"], t["rows"]) for t in tables] == [
                (physical.lake_table, other.id, 2)
            ]
            versions = client.get(
                f"/api/v1/lake/tables/{physical.lake_table}/versions", headers=operator
            ).json()
            assert [v["version"] for v in versions] == [1, 0]
            rows_url = f"/api/v1/lake/tables/{physical.lake_table}/rows"
            assert client.get(rows_url, headers=operator).status_code == 403
            rows = client.get(rows_url + "?version=0", headers=officer).json()
            assert rows["row_count"] == 0
            rows = client.get(rows_url + "?limit=1", headers=officer).json()
            assert rows["row_count"] == 1
    with org.db.sessions() as s:
        reads = s.scalars(
            select(AuditRecord)
            .where(AuditRecord.action == "lake.table.read")
            .order_by(AuditRecord.at, AuditRecord.id)
        ).all()
        assert [r.row_count for r in reads] == [0, 1]
