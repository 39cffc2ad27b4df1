"""Subscriptions: a grant's data delivered into the consumer's MariaDB/PostgreSQL table or
into files, exactly as granted (items, row filter, masks), first whole, then change by
change; crash-safe; ended by revocation and expiry; queued after lake commits; permissions.

Most tests run on a SQLite metadata store; one (logical entry, jobs through a worker) runs
on PostgreSQL. Targets are throw-away MariaDB and PostgreSQL databases.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select, update

from govdata.catalog.models import CatalogEntry
from govdata.core.clock import now
from govdata.core.errors import Conflict, GovDataError, InvalidInput, NotFound, PermissionDenied
from govdata.core.jobs.models import Job, JobSchedule
from govdata.core.jobs.worker import Worker
from govdata.exchange.engine import returnflow
from govdata.exchange.models import Mount, Pipeline
from govdata.lake.tables import Lake
from govdata.security.models import AuditRecord
from govdata.sharing import delivery, grants, subscriptions
from govdata.sharing.jobs import deliver_now
from govdata.sharing.models import Grant, Subscription, SubscriptionRun
from govdata.sharing.schemas import ReasonIn, SubscriptionCreate, SubscriptionOut
from govdata.sources.models import SourceSystem
from tests.conftest import fresh_store
from tests.exchange.engine_fixtures import Setup, enqueue
from tests.exchange.engine_fixtures import run_row as pipeline_run_row
from tests.exchange.sourcedb import SourceDb, mariadb_db, postgres_db
from tests.sharing.conftest import PEOPLE, World

GRANTED = ["公民身份号码", "姓名", "户籍地区划", "年龄"]  # not 手机号码
IN_SCOPE = [["户籍地区划", "IN", ["630102", "632801"]]]
COLUMNS = ["resident_id", "name", "region_code", "age"]
ZHANG, LI, WANG, ZHAO, QIAN = (p[0] for p in PEOPLE)
SUN, ZHOU = "632801201001019999", "630100201101018888"
LAKE_SCHEMA = pa.schema(
    [
        ("resident_id", pa.string()),
        ("name", pa.string()),
        ("phone", pa.string()),
        ("region_code", pa.string()),
        ("age", pa.int64()),
    ]
)


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLite unless a test asks for ``postgres`` (indirect parametrisation)."""
    yield from fresh_store(getattr(request, "param", "sqlite"), tmp_path, request)


@pytest.fixture(params=["mariadb", "postgres"])
def target(request: pytest.FixtureRequest) -> Iterator[SourceDb]:
    make = mariadb_db if request.param == "mariadb" else postgres_db
    with make("govdata_sub") as db:
        yield db


# -- helpers ---------------------------------------------------------------------------------


def grant_for(
    world: World,
    entry: CatalogEntry,
    user: str = "hx_officer",
    *,
    modes: list[str],
    clear: list[str] | None = None,
    items: list[str] = GRANTED,
    row_filter: list[list[Any]] = IN_SCOPE,
) -> str:
    app = world.apply(
        entry,
        user,
        items=items,
        row_filter=row_filter,
        delivery_modes=modes,
        clear_items=clear or [],
    )
    assert app.grant_id, app
    return app.grant_id


def add_target(world: World, department: str, db: SourceDb | None = None) -> str:
    kind = "mariadb" if db is not None and db.kind == "mariadb" else "postgresql"
    config = db.config() if db is not None else {"host": "127.0.0.1", "database": "x", "user": "x"}
    with world.org.db.transaction() as s:
        row = SourceSystem(
            department_id=world.org.dept[department],
            name=f"target-{db.name if db else department}",
            kind=kind,
            config=config,
            status="ok",
        )
        s.add(row)
        s.flush()
        return row.id


def subscribe(world: World, user: str = "hx_officer", **data: Any) -> SubscriptionOut:
    data.setdefault("name", "户籍人口订阅")
    with world.caller(user).act() as ctx:
        return subscriptions.create_subscription(ctx, SubscriptionCreate(**data))


def lake_of(world: World, entry: CatalogEntry) -> tuple[Lake, str]:
    with world.org.db.transaction() as s:
        table = s.scalars(select(Mount.lake_table).where(Mount.entry_id == entry.id)).one()
    assert table
    return Lake.from_settings(world.org.settings), table


def person(rid: str, name: str, region: str, age: int) -> dict[str, Any]:
    return dict(zip(LAKE_SCHEMA.names, (rid, name, "13000000000", region, age), strict=True))


def change_lake(lake: Lake, table: str) -> None:
    """v2: 张三 updated inside the scope, 李四 moved out of it, 孙八 new inside, 周九 new
    outside; v3: 王五 deleted."""
    rows = [
        person(ZHANG, "张三", "630102", 37),
        person(LI, "李四", "630100", 41),
        person(SUN, "孙八", "632801", 16),
        person(ZHOU, "周九", "630100", 15),
    ]
    lake.merge(table, pa.Table.from_pylist(rows, LAKE_SCHEMA), ["resident_id"])
    lake.delete(table, f"resident_id = '{WANG}'")


def run_row(world: World, run_id: str) -> SubscriptionRun:
    with world.org.db.transaction() as s:
        run = s.get(SubscriptionRun, run_id)
        assert run is not None
        s.expunge(run)
        return run


def sub_row(world: World, sub_id: str) -> Subscription:
    with world.org.db.transaction() as s:
        sub = s.get(Subscription, sub_id)
        assert sub is not None
        s.expunge(sub)
        return sub


def target_rows(db: SourceDb, table: str) -> list[tuple[Any, ...]]:
    q = "`" if db.kind == "mariadb" else '"'
    cols = ", ".join(f"{q}{c}{q}" for c in COLUMNS)
    return db.rows(f"SELECT {cols} FROM {table} ORDER BY {q}resident_id{q}")


def target_columns(db: SourceDb, table: str) -> set[str]:
    schema = "DATABASE()" if db.kind == "mariadb" else "'public'"
    found = db.rows(
        "SELECT column_name FROM information_schema.columns "
        f"WHERE table_schema = {schema} AND table_name = %s",
        (table,),
    )
    return {str(r[0]).lower() for r in found}


def delivered_version(db: SourceDb, sub_id: str) -> int | None:
    found = db.rows("SELECT lake_version FROM govdata_delivery WHERE pipeline_id = %s", (sub_id,))
    return int(found[0][0]) if found else None


def audits(world: World, action: str) -> list[AuditRecord]:
    with world.org.db.transaction() as s:
        rows = list(s.scalars(select(AuditRecord).where(AuditRecord.action == action)))
        for r in rows:
            s.expunge(r)
        return rows


def run_jobs(world: World) -> int:
    """Run every queued job through a real worker; returns how many deliveries ran."""

    def finished() -> int:
        with world.org.db.transaction() as s:
            return len(
                s.scalars(
                    select(Job.id).where(
                        Job.kind == "sharing.subscription",
                        Job.status.in_(("succeeded", "failed", "dead", "cancelled")),
                    )
                ).all()
            )

    before = finished()
    Worker(world.org.db, world.org.settings).run_until_idle()
    return finished() - before


# Delivered as granted: 姓名 masked by default, the key asked for clear, 手机号码 never.
FIRST = [
    (LI, "李*", "630102", 41),
    (ZHANG, "张*", "630102", 36),
    (WANG, "王*", "632801", 34),
    (ZHAO, "赵*", "632801", 26),
]
AT_V3 = [(ZHANG, "张*", "630102", 37), (ZHAO, "赵*", "632801", 26), (SUN, "孙*", "632801", 16)]


def _sorted(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(rows, key=lambda r: r[0])


# -- table mode ----------------------------------------------------------------------------------


def test_table_delivery_copies_then_applies_changes(world: World, target: SourceDb) -> None:
    entry = world.mounted("physical")
    grant_id = grant_for(world, entry, modes=["subscription"], clear=["公民身份号码"])
    source_id = add_target(world, "hx_stats", target)
    sub = subscribe(
        world, grant_id=grant_id, mode="table", target_source_id=source_id, target_table="people"
    )
    assert sub.state == "active" and sub.delivered_version is None and sub.lag_seconds is None

    first = run_row(world, deliver_now(world.org.db, world.org.settings, sub.id))
    assert (first.status, first.version_from, first.version_to) == ("succeeded", None, 1)
    assert (first.rows_upserted, first.rows_deleted) == (4, 0)
    # Only the granted fields exist; only rows in scope; the name masked.
    assert target_columns(target, "people") == set(COLUMNS)
    assert target_rows(target, "people") == _sorted(FIRST)
    assert delivered_version(target, sub.id) == 1

    lake, table = lake_of(world, entry)
    change_lake(lake, table)
    second = run_row(world, deliver_now(world.org.db, world.org.settings, sub.id))
    assert (second.status, second.version_from, second.version_to) == ("succeeded", 1, 3)
    # 张三 updated and 孙八 new; 李四 (moved out of scope) and 王五 (deleted) gone.
    assert (second.rows_upserted, second.rows_deleted) == (2, 2)
    assert target_rows(target, "people") == _sorted(AT_V3)
    assert delivered_version(target, sub.id) == 3

    # Nothing new: nothing written, nothing repeated.
    third = run_row(world, deliver_now(world.org.db, world.org.settings, sub.id))
    assert (third.status, third.rows_upserted, third.version_to) == ("succeeded", 0, 3)
    assert target_rows(target, "people") == _sorted(AT_V3)

    with world.caller("hx_officer").act() as ctx:
        out = subscriptions.get_subscription(ctx, sub.id)
        runs = subscriptions.list_runs(ctx, sub.id)
    assert out.delivered_version == 3 and out.last_error is None
    assert out.lag_seconds is not None and 0 <= out.lag_seconds < 120
    assert [r.id for r in runs] == [third.id, second.id, first.id]
    delivered = audits(world, "sharing.subscription.deliver")
    assert len(delivered) == 3 and delivered[0].fields == ",".join(GRANTED)
    assert {a.row_count for a in delivered} == {4, 2, 0}


def test_a_sqlite_database_of_the_consumer_receives_the_same(world: World) -> None:
    entry = world.mounted("physical")
    grant_id = grant_for(world, entry, modes=["subscription"], clear=["公民身份号码"])
    path = world.tmp / "consumer.db"
    sqlite3.connect(path).close()
    with world.org.db.transaction() as s:
        source = SourceSystem(
            department_id=world.org.dept["hx_stats"],
            name="海西州统计局本地库",
            kind="sqlite",
            config={"path": str(path)},
            status="ok",
        )
        s.add(source)
        s.flush()
        source_id = source.id
    sub = subscribe(
        world, grant_id=grant_id, mode="table", target_source_id=source_id, target_table="people"
    )

    def rows() -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(path)
        try:
            return sorted(conn.execute(f"SELECT {', '.join(COLUMNS)} FROM people").fetchall())
        finally:
            conn.close()

    first = run_row(world, deliver_now(world.org.db, world.org.settings, sub.id))
    assert (first.status, first.rows_upserted) == ("succeeded", 4)
    assert rows() == _sorted(FIRST)
    lake, table = lake_of(world, entry)
    change_lake(lake, table)
    second = run_row(world, deliver_now(world.org.db, world.org.settings, sub.id))
    assert (second.version_from, second.version_to, second.rows_deleted) == (1, 3, 2)
    assert rows() == _sorted(AT_V3)
    conn = sqlite3.connect(path)
    try:
        delivered = conn.execute(
            "SELECT lake_version FROM govdata_delivery WHERE pipeline_id = ?", (sub.id,)
        ).fetchone()
    finally:
        conn.close()
    assert delivered == (3,)


def test_a_crash_between_batches_resumes_without_loss_or_repetition(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    with mariadb_db("govdata_sub") as target:
        entry = world.mounted("physical")
        grant_id = grant_for(world, entry, modes=["subscription"], clear=["公民身份号码"])
        source_id = add_target(world, "hx_stats", target)
        sub = subscribe(
            world, grant_id=grant_id, mode="table", target_source_id=source_id, target_table="t"
        )
        # One row per batch, a target commit at every lake version.
        monkeypatch.setattr(delivery, "BATCH_ROWS", 1)
        monkeypatch.setattr(delivery, "COMMIT_ROWS", 1)
        real_upsert = returnflow.Target.upsert
        calls = {"n": 0}

        def crash_on(n: int) -> None:
            calls["n"] = 0

            def upsert(self: returnflow.Target, batch: pa.RecordBatch, keys: Any) -> None:
                calls["n"] += batch.num_rows > 0
                if calls["n"] == n:
                    raise RuntimeError("worker killed mid-delivery")
                real_upsert(self, batch, keys)

            monkeypatch.setattr(returnflow.Target, "upsert", upsert)

        def deliver() -> SubscriptionRun:
            return run_row(world, deliver_now(world.org.db, world.org.settings, sub.id))

        # In the first copy, after one batch: nothing reaches the consumer.
        crash_on(2)
        with pytest.raises(RuntimeError):
            deliver()
        assert target_rows(target, "t") == [] and delivered_version(target, sub.id) is None
        monkeypatch.setattr(returnflow.Target, "upsert", real_upsert)
        assert deliver().status == "succeeded"
        assert target_rows(target, "t") == _sorted(FIRST)

        # v2 updates, v3 deletes, v4 inserts: a crash in v4 keeps v2 and v3 delivered.
        lake, table = lake_of(world, entry)
        lake.merge(
            table,
            pa.Table.from_pylist(
                [person(ZHANG, "张三", "630102", 37), person(LI, "李四", "630100", 41)],
                LAKE_SCHEMA,
            ),
            ["resident_id"],
        )
        lake.delete(table, f"resident_id = '{WANG}'")
        lake.merge(
            table,
            pa.Table.from_pylist(
                [person(SUN, "孙八", "632801", 16), person(ZHOU, "周九", "630100", 15)],
                LAKE_SCHEMA,
            ),
            ["resident_id"],
        )
        crash_on(2)
        with pytest.raises(RuntimeError):
            deliver()
        assert delivered_version(target, sub.id) == 3
        assert target_rows(target, "t") == _sorted([r for r in AT_V3 if r[0] != SUN])
        with world.org.db.transaction() as s:
            failed = s.scalars(
                select(SubscriptionRun)
                .where(SubscriptionRun.status == "failed")
                .order_by(SubscriptionRun.started_at)
            ).all()
        assert [r.version_to for r in failed] == [None, 3]
        assert sub_row(world, sub.id).delivered_version == 3

        monkeypatch.setattr(returnflow.Target, "upsert", real_upsert)
        last = deliver()
        assert (last.status, last.version_from, last.version_to) == ("succeeded", 3, 4)
        assert target_rows(target, "t") == _sorted(AT_V3)
        assert delivered_version(target, sub.id) == 4


@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
def test_a_logical_entry_is_read_whole_and_upserted_through_the_queue(world: World) -> None:
    with postgres_db("govdata_sub") as target:
        entry = world.mounted("logical")
        grant_id = grant_for(world, entry, modes=["subscription"], clear=["公民身份号码"])
        source_id = add_target(world, "hx_stats", target)
        sub = subscribe(
            world, grant_id=grant_id, mode="table", target_source_id=source_id, target_table="p"
        )
        # Creating the subscription queued its first delivery; "run now" queues another.
        with world.caller("hx_officer").act() as ctx:
            queued = subscriptions.run_subscription(ctx, sub.id)
        assert queued.status == "queued"
        with world.caller("hx_officer").act() as ctx, pytest.raises(Conflict) as err:
            subscriptions.run_subscription(ctx, sub.id)
        assert err.value.code == "sharing_subscription_busy"
        assert run_jobs(world) == 2
        assert target_rows(target, "p") == _sorted(FIRST)
        assert run_row(world, queued.id).status == "succeeded"

        # At the source: 张三 changes, 王五 goes. Logical entries have no change feed: the
        # update arrives, the delete is not detected.
        with world.org.db.transaction() as s:
            config = s.scalars(
                select(SourceSystem.config)
                .join(Mount, Mount.source_id == SourceSystem.id)
                .where(Mount.entry_id == entry.id)
            ).one()
        path = config["path"]
        conn = sqlite3.connect(path)
        conn.execute("UPDATE people SET age = 37 WHERE id_no = ?", (ZHANG,))
        conn.execute("DELETE FROM people WHERE id_no = ?", (WANG,))
        conn.commit()
        conn.close()
        with world.caller("hx_officer").act() as ctx:
            subscriptions.run_subscription(ctx, sub.id)
        assert run_jobs(world) == 1
        rows = dict((r[0], r) for r in target_rows(target, "p"))
        assert rows[ZHANG][3] == 37 and WANG in rows and len(rows) == 4
        out = sub_row(world, sub.id)
        assert out.delivered_version is None and out.delivered_at is not None


# -- file mode ------------------------------------------------------------------------------------


def read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw[3:].decode("utf-8"))))


def test_files_hold_granted_masked_columns_full_then_changes(world: World) -> None:
    entry = world.mounted("physical")
    lake, table = lake_of(world, entry)
    # hx: CSV, everything masked by default (the key too: every file is whole).
    masked = subscribe(
        world,
        grant_id=grant_for(world, entry, modes=["file"]),
        mode="file",
        file_format="csv",
    )
    # cd_health: Parquet with the key clear, so later files carry changes.
    clear = subscribe(
        world,
        "cd_clerk",
        grant_id=grant_for(world, entry, "cd_clerk", modes=["file"], clear=["公民身份号码"]),
        mode="file",
        file_format="parquet",
    )
    db, settings = world.org.db, world.org.settings
    run = run_row(world, deliver_now(db, settings, masked.id))
    assert run.files == ["full-v1.csv"]
    folder = settings.delivery_dir / masked.id
    header, *rows = read_csv(folder / "full-v1.csv")
    assert header == COLUMNS
    assert sorted(rows) == [
        ["630102********1234", "张*", "630102", "36"],
        ["630102********3456", "李*", "630102", "41"],
        ["632801********5678", "王*", "632801", "34"],
        ["632801********7890", "赵*", "632801", "26"],
    ]
    assert run_row(world, deliver_now(db, settings, clear.id)).files == ["full-v1.parquet"]

    change_lake(lake, table)
    assert run_row(world, deliver_now(db, settings, masked.id)).files == ["full-v3.csv"]
    assert len(read_csv(folder / "full-v3.csv")) == 1 + 3
    changes = run_row(world, deliver_now(db, settings, clear.id))
    assert changes.files == ["changes-v2-v3.parquet"]
    got = pq.read_table(settings.delivery_dir / clear.id / "changes-v2-v3.parquet")
    assert got.schema.names == ["_op", "_version", *COLUMNS]
    assert sorted(got.to_pylist(), key=lambda r: (r["_version"], r["resident_id"])) == [
        {"_op": "delete", "_version": 2, "resident_id": LI, "name": None, "region_code": None,
         "age": None},  # moved out of scope: only its key leaves
        {"_op": "upsert", "_version": 2, "resident_id": ZHANG, "name": "张*",
         "region_code": "630102", "age": 37},
        {"_op": "upsert", "_version": 2, "resident_id": SUN, "name": "孙*",
         "region_code": "632801", "age": 16},
        {"_op": "delete", "_version": 3, "resident_id": WANG, "name": None, "region_code": None,
         "age": None},
    ]  # fmt: skip
    # Nothing new: no file.
    assert run_row(world, deliver_now(db, settings, clear.id)).files == []

    with world.caller("hx_officer").act() as ctx:
        files = subscriptions.delivery_files(ctx, masked.id)
        path = subscriptions.open_delivery_file(ctx, masked.id, "full-v1.csv")
    assert {f.name for f in files} == {"full-v1.csv", "full-v3.csv"}
    assert path == folder / "full-v1.csv"
    (download,) = audits(world, "sharing.subscription.download")
    assert download.row_count == 4 and download.fields == ",".join(GRANTED)
    for name in ("../../govdata.db", "full-v9.csv", ".full-v1.csv.x.tmp"):
        with world.caller("hx_officer").act() as ctx, pytest.raises(NotFound):
            subscriptions.open_delivery_file(ctx, masked.id, name)


# -- the grant decides ----------------------------------------------------------------------------


def test_revoked_or_expired_grants_fail_the_run_and_end_the_subscription(world: World) -> None:
    entry = world.mounted("physical")
    db, settings = world.org.db, world.org.settings
    hx_grant = grant_for(world, entry, modes=["file"])
    hx = subscribe(world, grant_id=hx_grant, mode="file", file_format="csv")
    assert run_row(world, deliver_now(db, settings, hx.id)).status == "succeeded"
    with world.caller("xn_officer").act() as ctx:
        grants.revoke_grant(ctx, hx_grant, ReasonIn(reason="用途已结束"))
    run = run_row(world, deliver_now(db, settings, hx.id))
    assert (run.status, run.error_code) == ("failed", "sharing_grant_revoked")
    after = sub_row(world, hx.id)
    assert after.state == "ended" and after.last_error and "revoked" in after.last_error
    with world.caller("hx_officer").act() as ctx, pytest.raises(PermissionDenied) as denied:
        subscriptions.open_delivery_file(ctx, hx.id, "full-v1.csv")
    assert denied.value.code == "sharing_grant_revoked"
    with world.caller("hx_officer").act() as ctx, pytest.raises(Conflict) as err:
        subscriptions.run_subscription(ctx, hx.id)
    assert err.value.code == "sharing_subscription_ended"

    cd_grant = grant_for(world, entry, "cd_clerk", modes=["file"])
    cd = subscribe(
        world, "cd_clerk", grant_id=cd_grant, mode="file", file_format="csv", schedule="0 2 * * *"
    )
    with db.transaction() as s:
        s.execute(update(Grant).where(Grant.id == cd_grant).values(expires_at=now() - timedelta(1)))
    run = run_row(world, deliver_now(db, settings, cd.id))
    assert (run.status, run.error_code, run.files) == ("failed", "sharing_grant_expired", [])
    ended = sub_row(world, cd.id)
    assert ended.state == "ended" and not (settings.delivery_dir / cd.id).exists()
    with db.transaction() as s:
        schedule = s.get(JobSchedule, ended.schedule_id)
        assert schedule is not None and schedule.enabled is False


def test_who_may_subscribe_see_and_run(world: World) -> None:
    entry = world.mounted("physical")
    hx_grant = grant_for(world, entry, modes=["subscription", "file"], clear=["公民身份号码"])
    target = add_target(world, "hx_stats")
    sub = subscribe(
        world, grant_id=hx_grant, mode="table", target_source_id=target, target_table="people"
    )

    # Another department neither sees the grant nor the subscription.
    with world.caller("police_officer").act() as ctx, pytest.raises(NotFound):
        subscriptions.create_subscription(
            ctx, SubscriptionCreate(grant_id=hx_grant, name="借用", mode="file", file_format="csv")
        )
    with world.caller("police_officer").act() as ctx:
        with pytest.raises(NotFound):
            subscriptions.get_subscription(ctx, sub.id)
        assert subscriptions.list_subscriptions(ctx).items == []

    # The provider sees it, read-only.
    with world.caller("xn_officer").act() as ctx:
        assert subscriptions.get_subscription(ctx, sub.id).consumer_department_name
        given = subscriptions.list_subscriptions(ctx, side="given").items
        assert [s.id for s in given] == [sub.id]
        assert subscriptions.list_subscriptions(ctx, side="held").items == []
    for act in (
        subscriptions.run_subscription,
        subscriptions.pause_subscription,
        subscriptions.delete_subscription,
    ):
        with world.caller("xn_officer").act() as ctx, pytest.raises(PermissionDenied):
            act(ctx, sub.id)
    with world.caller("xn_officer").act() as ctx, pytest.raises(PermissionDenied):
        subscriptions.create_subscription(
            ctx, SubscriptionCreate(grant_id=hx_grant, name="代订", mode="file", file_format="csv")
        )
    # The operator oversees but neither subscribes nor reads the data.
    with world.caller("operator").act() as ctx:
        assert subscriptions.get_subscription(ctx, sub.id).id == sub.id
    with world.caller("operator").act() as ctx, pytest.raises(PermissionDenied):
        subscriptions.create_subscription(
            ctx, SubscriptionCreate(grant_id=hx_grant, name="代订", mode="file", file_format="csv")
        )

    def refused(user: str = "hx_officer", **data: Any) -> GovDataError:
        with pytest.raises(GovDataError) as err:
            subscribe(world, user, **data)
        return err.value

    # Only the consumer's own MariaDB/PostgreSQL source, and one subscription per table.
    xn_target = add_target(world, "xn_stats")
    table = {"grant_id": hx_grant, "mode": "table", "target_table": "other"}
    assert refused(**table, target_source_id=xn_target).code == "sharing_target_invalid"
    taken = refused(**{**table, "target_table": "people"}, target_source_id=target)
    assert taken.code == "sharing_target_taken"
    # The delivery mode must be granted; a table needs its key clear.
    api_only = grant_for(world, world.mounted("physical"), modes=["api"])
    assert refused(grant_id=api_only, mode="file", file_format="csv").code == (
        "sharing_mode_not_granted"
    )
    masked_key = grant_for(world, world.mounted("physical"), modes=["subscription"])
    err = refused(grant_id=masked_key, mode="table", target_source_id=target, target_table="m")
    assert isinstance(err, InvalidInput) and err.code == "sharing_key_masked"
    # A department user may subscribe to files, but not write into a database.
    cd_grant = grant_for(world, entry, "cd_clerk", modes=["subscription"], clear=["公民身份号码"])
    cd_target = add_target(world, "cd_health")
    denied = refused(
        "cd_clerk", grant_id=cd_grant, mode="table", target_source_id=cd_target, target_table="p"
    )
    assert isinstance(denied, PermissionDenied)


# -- change-triggered delivery, schedule, pause, delete -----------------------------------------


def test_lake_commits_queue_one_delivery_and_pipelines_trigger_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = world.mounted("physical")
    lake, table = lake_of(world, entry)
    sub = subscribe(
        world,
        grant_id=grant_for(world, entry, modes=["file"]),
        mode="file",
        file_format="csv",
        schedule="*/5 * * * *",
    )
    db = world.org.db

    def queue() -> int:
        with db.transaction(immediate=True) as s:
            return subscriptions.queue_due_deliveries(s, table)

    def runs() -> list[SubscriptionRun]:
        with db.transaction() as s:
            return list(s.scalars(select(SubscriptionRun).order_by(SubscriptionRun.started_at)))

    # Creating it queued the first delivery: a commit now adds nothing.
    assert queue() == 0
    assert run_jobs(world) == 1
    assert [r.files for r in runs()] == [["full-v1.csv"]]
    # Once that delivery has started, a commit queues the next (and only one).
    assert (queue(), queue()) == (1, 0)
    # Nothing changed in the lake since: the job ends without a run.
    assert run_jobs(world) == 1 and len(runs()) == 1

    # A pipeline run that commits to the lake queues a delivery when it succeeds.
    with db.transaction() as s:
        mount = s.scalars(select(Mount).where(Mount.entry_id == entry.id)).one()
        pipeline = Pipeline(
            mount_id=mount.id,
            department_id=mount.department_id,
            name="full-load",
            kind="full",
            options={},
            state="active",
        )
        s.add(pipeline)
        s.flush()
        setup = Setup(mount.source_id, entry.id, mount.id, pipeline.id, table)
    pipeline_run = enqueue(db, setup)
    assert Worker(db, world.org.settings).run_one()  # the pipeline: the oldest job
    assert pipeline_run_row(db, pipeline_run).status == "succeeded"
    with db.transaction() as s:
        waiting = s.scalars(
            select(Job).where(Job.kind == "sharing.subscription", Job.status == "queued")
        ).all()
    assert len(waiting) == 1
    assert run_jobs(world) == 1
    version = lake.table(table).version()
    assert runs()[-1].files == [f"full-v{version}.csv"]
    assert sub_row(world, sub.id).delivered_version == version

    # Paused subscriptions are not queued; a failure to queue never reaches the pipeline.
    with world.caller("hx_officer").act() as ctx:
        paused = subscriptions.pause_subscription(ctx, sub.id)
    assert paused.state == "paused" and queue() == 0

    def broken(_s: Any, _table: str) -> int:
        raise RuntimeError("store gone")

    monkeypatch.setattr(subscriptions, "queue_due_deliveries", broken)
    with world.caller("hx_officer").act() as ctx:
        subscriptions.resume_subscription(ctx, sub.id)
    assert subscriptions.notify_lake_commit(db, table) == 0


def test_pause_resume_and_delete(world: World) -> None:
    entry = world.mounted("physical")
    db, settings = world.org.db, world.org.settings
    sub = subscribe(
        world,
        grant_id=grant_for(world, entry, modes=["file"]),
        mode="file",
        file_format="csv",
        schedule="0 2 * * *",
    )
    deliver_now(db, settings, sub.id)
    folder = settings.delivery_dir / sub.id
    assert (folder / "full-v1.csv").exists()

    def schedule_enabled() -> bool | None:
        with db.transaction() as s:
            schedule = s.scalars(
                select(JobSchedule).where(JobSchedule.name == f"sharing-subscription:{sub.id}")
            ).one_or_none()
            return None if schedule is None else schedule.enabled

    assert schedule_enabled() is True
    with world.caller("hx_officer").act() as ctx:
        queued = subscriptions.run_subscription(ctx, sub.id)
        subscriptions.pause_subscription(ctx, sub.id)
    assert schedule_enabled() is False and run_row(world, queued.id).status == "cancelled"
    with pytest.raises(Conflict) as err:
        deliver_now(db, settings, sub.id)
    assert err.value.code == "sharing_subscription_paused"
    with world.caller("hx_officer").act() as ctx:
        assert subscriptions.resume_subscription(ctx, sub.id).state == "active"
    assert schedule_enabled() is True

    with world.caller("hx_officer").act() as ctx:
        subscriptions.delete_subscription(ctx, sub.id)
    assert schedule_enabled() is None and not folder.exists()
    with world.caller("hx_officer").act() as ctx, pytest.raises(NotFound):
        subscriptions.get_subscription(ctx, sub.id)
    # Jobs queued for it end quietly.
    assert run_jobs(world) >= 1
