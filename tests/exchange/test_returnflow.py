"""Return flow (回流) to real MariaDB and PostgreSQL targets: first copy, change feed, restarts."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import select

from govdata.core.errors import GovDataError
from govdata.exchange.engine import RunContext, returnflow
from govdata.exchange.engine.full import Stopped
from govdata.exchange.engine.returnflow import run_return
from govdata.exchange.models import Mount, Pipeline, PipelineRun, PipelineRunLog
from govdata.lake.tables import Lake
from govdata.sources.models import SourceSystem
from tests.catalog.conftest import published_entry
from tests.exchange.engine_fixtures import Setup as EngineSetup
from tests.exchange.engine_fixtures import enqueue, run_jobs, run_row
from tests.exchange.sourcedb import SourceDb, mariadb_db, postgres_db
from tests.identity.conftest import Org

LAKE_TABLE = "xn_stats.entry_return_test"
SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("name", pa.string()),
        ("amount", pa.decimal128(12, 2)),
        ("born", pa.date32()),
        ("updated_at", pa.timestamp("us", tz="UTC")),
        ("active", pa.bool_()),
    ]
)
COLUMNS = SCHEMA.names
T0 = datetime(2026, 11, 1, 8, 30, 15, 123456, tzinfo=UTC)


def rows(ids: range | list[int], tag: str = "v1") -> pa.Table:
    ids = list(ids)
    return pa.table(
        {
            "id": ids,
            "name": [f"居民{i}-{tag}" for i in ids],
            "amount": [Decimal(i) / 4 for i in ids],
            "born": [date(1980, 1, 1) + timedelta(days=i) for i in ids],
            "updated_at": [T0 + timedelta(seconds=i) for i in ids],
            "active": [i % 3 != 0 for i in ids],
        },
        schema=SCHEMA,
    )


def canonical(value: Any) -> str:
    """One spelling per value whichever driver read it (MariaDB gives 0/1 and naive UTC)."""
    if value is None:
        return "∅"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal("0.01")))
    return str(value)


def checksum(records: list[tuple[Any, ...]]) -> tuple[int, str]:
    digest = hashlib.sha256()
    for record in sorted(records, key=lambda r: r[0]):
        digest.update("|".join(canonical(v) for v in record).encode())
        digest.update(b"\n")
    return len(records), digest.hexdigest()


@dataclass
class Setup:
    org: Org
    lake: Lake
    target: SourceDb
    pipeline_id: str
    table: str = "household_return"

    def run(self) -> RunContext:
        with self.org.db.transaction() as s:
            run = PipelineRun(
                pipeline_id=self.pipeline_id, kind="return", trigger="manual", status="running"
            )
            s.add(run)
            s.flush()
            run_id = run.id
        rc = RunContext.load(self.org.db, self.org.settings, self.pipeline_id, run_id)
        run_return(rc)
        return rc

    def target_rows(self) -> list[tuple[Any, ...]]:
        q = '"' if self.target.kind == "postgres" else "`"
        cols = ", ".join(f"{q}{c}{q}" for c in COLUMNS)
        return self.target.rows(f"SELECT {cols} FROM {self.table}")

    def delivered(self) -> tuple[int, datetime] | None:
        found = self.target.rows(
            "SELECT lake_version, delivered_at FROM govdata_delivery WHERE pipeline_id = %s",
            (self.pipeline_id,),
        )
        return (int(found[0][0]), found[0][1]) if found else None

    def lake_rows(self, version: int | None = None) -> list[tuple[Any, ...]]:
        table = self.lake.read(LAKE_TABLE, version=version)
        return list(zip(*(table.column(c).to_pylist() for c in COLUMNS), strict=True))

    def assert_target_is_lake(self, version: int | None = None) -> None:
        assert checksum(self.target_rows()) == checksum(self.lake_rows(version))


@pytest.fixture(params=["mariadb", "postgres"])
def target(request: pytest.FixtureRequest) -> Iterator[SourceDb]:
    make = mariadb_db if request.param == "mariadb" else postgres_db
    with make("govdata_ret") as t:
        yield t


def make_setup(org: Org, target: SourceDb, **options: Any) -> Setup:
    entry = published_entry(org, "xn_officer", name="回流测试户籍人口")
    dept = org.dept["xn_stats"]
    kind = "mariadb" if target.kind == "mariadb" else "postgresql"
    with org.db.transaction() as s:
        origin = SourceSystem(department_id=dept, name="origin", kind="mariadb", config={})
        receiver = SourceSystem(
            department_id=dept, name="receiver", kind=kind, config=target.config()
        )
        s.add_all([origin, receiver])
        s.flush()
        mount = Mount(
            entry_id=entry.id,
            department_id=dept,
            source_id=origin.id,
            mode="physical",
            target_kind="table",
            target="household",
            columns=[
                {"item": None, "column": c, "field": c, "type": str(SCHEMA.field(c).type)}
                for c in COLUMNS
            ],
            key_columns=["id"],
            lake_table=LAKE_TABLE,
        )
        s.add(mount)
        s.flush()
        pipeline = Pipeline(
            mount_id=mount.id,
            department_id=dept,
            name="return-to-xining",
            kind="return",
            options={
                "target_source_id": receiver.id,
                "target_table": "household_return",
                "create_table": True,
                **options,
            },
        )
        s.add(pipeline)
        s.flush()
        pipeline_id = pipeline.id
    lake = Lake.from_settings(org.settings)
    lake.create(LAKE_TABLE, SCHEMA)
    lake.append(LAKE_TABLE, rows(range(1, 301)))
    return Setup(org, lake, target, pipeline_id)


def change_lake(lake: Lake) -> None:
    """Three commits: updates and an insert by merge, a delete, a delete-and-insert merge."""
    lake.merge(LAKE_TABLE, rows([5, 6, 7, 301], "v2"), ["id"])
    lake.delete(LAKE_TABLE, "id >= 100 AND id < 120")
    changes = rows([8, 9, 302, 303], "v3").append_column(
        "_deleted", pa.array([True, False, False, True])
    )
    lake.merge(LAKE_TABLE, changes, ["id"], delete_column="_deleted")


def test_first_copy_then_changes_then_nothing(org: Org, target: SourceDb) -> None:
    st = make_setup(org, target, batch_rows=64)
    rc = st.run()
    st.assert_target_is_lake()
    assert st.target_rows() and len(st.target_rows()) == 300
    delivered = st.delivered()
    assert delivered is not None and delivered[0] == 1
    assert (rc.counts.inserted, rc.position_after) == (300, {"lake_version": 1})

    change_lake(st.lake)
    rc = st.run()
    st.assert_target_is_lake()
    assert len(st.target_rows()) == 300 + 1 - 20 - 1 + 1  # +301 -[100,120) -8 +302
    delivered = st.delivered()
    assert delivered is not None and delivered[0] == 4
    c = rc.counts
    assert (c.inserted, c.updated, c.deleted) == (2, 4, 21)
    # The target is written with the lake's values, types intact.
    by_id = {r[0]: r for r in st.target_rows()}
    assert by_id[5][1] == "居民5-v2" and canonical(by_id[9][2]) == "2.25"
    assert canonical(by_id[9][4]) == (T0 + timedelta(seconds=9)).isoformat()

    before = st.target_rows()
    rc = st.run()
    assert st.delivered() == delivered
    assert st.target_rows() == before
    assert (rc.counts.read, rc.counts.written) == (0, 0)


def test_an_overwrite_in_the_lake_is_delivered_as_a_copy(org: Org, target: SourceDb) -> None:
    st = make_setup(org, target)
    st.run()
    st.lake.merge(LAKE_TABLE, rows([1, 2], "v2"), ["id"])
    # A full reload: ids 250..349, so rows 1..249 go and 300..349 are new.
    st.lake.overwrite(LAKE_TABLE, rows(range(250, 350), "reload"))
    st.lake.delete(LAKE_TABLE, "id = 260")
    st.run()
    st.assert_target_is_lake()
    assert len(st.target_rows()) == 99


def test_a_crash_between_batches_loses_and_repeats_nothing(
    org: Org, target: SourceDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    st = make_setup(org, target, batch_rows=40)
    real_upsert = returnflow.Target.upsert
    calls = {"n": 0}

    def crash_on(n: int) -> None:
        calls["n"] = 0

        def upsert(self: returnflow.Target, batch: pa.RecordBatch, keys: Any) -> None:
            calls["n"] += 1
            if calls["n"] == n:
                raise RuntimeError("worker killed mid-delivery")
            real_upsert(self, batch, keys)

        monkeypatch.setattr(returnflow.Target, "upsert", upsert)

    # During the first copy (8 batches of 40): nothing is delivered.
    crash_on(4)
    with pytest.raises(RuntimeError):
        st.run()
    assert st.delivered() is None and st.target_rows() == []
    monkeypatch.setattr(returnflow.Target, "upsert", real_upsert)
    st.run()
    st.assert_target_is_lake()

    # During changes of three versions in one transaction: the target stays at version 1.
    change_lake(st.lake)
    crash_on(3)
    with pytest.raises(RuntimeError):
        st.run()
    delivered = st.delivered()
    assert delivered is not None and delivered[0] == 1
    st.assert_target_is_lake(1)
    monkeypatch.setattr(returnflow.Target, "upsert", real_upsert)
    st.run()
    st.assert_target_is_lake()
    delivered = st.delivered()
    assert delivered is not None and delivered[0] == 4


def test_committed_steps_survive_a_crash_in_a_later_one(
    org: Org, target: SourceDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    # commit_rows=1: every lake version is committed on its own.
    st = make_setup(org, target, commit_rows=1)
    st.run()
    change_lake(st.lake)
    real_upsert = returnflow.Target.upsert
    calls = {"n": 0}

    def upsert(self: returnflow.Target, batch: pa.RecordBatch, keys: Any) -> None:
        # Version 2 upserts, version 3 only deletes, version 4 upserts: crash there.
        calls["n"] += batch.num_rows > 0
        if calls["n"] == 2:
            raise RuntimeError("worker killed mid-delivery")
        real_upsert(self, batch, keys)

    monkeypatch.setattr(returnflow.Target, "upsert", upsert)
    with pytest.raises(RuntimeError):
        st.run()
    delivered = st.delivered()
    assert delivered is not None and delivered[0] == 3
    st.assert_target_is_lake(3)
    monkeypatch.setattr(returnflow.Target, "upsert", real_upsert)
    st.run()
    st.assert_target_is_lake()


def test_new_lake_columns_reach_the_target(org: Org, target: SourceDb) -> None:
    st = make_setup(org, target)
    st.run()
    st.lake.add_columns(LAKE_TABLE, [pa.field("district", pa.string())])
    extra = rows([1, 500], "v2").append_column("district", pa.array(["城东区", "城西区"]))
    st.lake.merge(LAKE_TABLE, extra, ["id"])
    st.run()
    found = dict(st.target.rows(f"SELECT id, district FROM {st.table} WHERE id IN (1, 2, 500)"))
    assert found == {1: "城东区", 2: None, 500: "城西区"}


def test_a_missing_target_table_is_not_created_unless_asked(org: Org, target: SourceDb) -> None:
    st = make_setup(org, target, create_table=False)
    with pytest.raises(GovDataError) as err:
        st.run()
    assert err.value.code == "return_target_missing"
    assert st.delivered() is None


def test_a_paused_pipeline_stops_at_a_delivered_version(org: Org, target: SourceDb) -> None:
    st = make_setup(org, target, commit_rows=1)
    st.run()
    change_lake(st.lake)
    with org.db.transaction() as s:
        pipeline = s.get(Pipeline, st.pipeline_id)
        assert pipeline is not None
        pipeline.state = "paused"
    with pytest.raises(Stopped):
        st.run()
    delivered = st.delivered()
    assert delivered is not None and delivered[0] == 2
    st.assert_target_is_lake(2)


def test_the_pipeline_job_delivers_and_records_the_run(org: Org, target: SourceDb) -> None:
    st = make_setup(org, target)
    with org.db.transaction() as s:
        pipeline = s.get(Pipeline, st.pipeline_id)
        assert pipeline is not None
        mount_id = pipeline.mount_id
    setup = EngineSetup("", "", mount_id, st.pipeline_id, LAKE_TABLE)
    first = enqueue(org.db, setup)
    assert run_jobs(org.db, org.settings) == 1
    change_lake(st.lake)
    second = enqueue(org.db, setup)
    assert run_jobs(org.db, org.settings) == 1
    st.assert_target_is_lake()
    one, two = run_row(org.db, first), run_row(org.db, second)
    assert (one.status, one.rows_inserted, one.position_after) == (
        "succeeded",
        300,
        {"lake_version": 1},
    )
    assert (two.status, two.rows_deleted, two.lake_version_after) == ("succeeded", 21, 4)
    with org.db.transaction() as s:
        pipeline = s.get(Pipeline, st.pipeline_id)
        assert pipeline is not None and pipeline.position == {"lake_version": 4}


def test_a_vacuumed_change_feed_falls_back_to_a_copy(org: Org, target: SourceDb) -> None:
    st = make_setup(org, target)
    st.run()
    # Version 2 appends a file, version 3 rewrites it; vacuum then deletes it, and with it
    # the only record of version 2's inserts.
    st.lake.append(LAKE_TABLE, rows([400, 401]))
    st.lake.merge(LAKE_TABLE, rows([400], "v2"), ["id"])
    assert st.lake.vacuum(LAKE_TABLE, timedelta(0), allow_short_retention=True)
    rc = st.run()
    st.assert_target_is_lake()
    delivered = st.delivered()
    # Vacuum commits too (VACUUM START / END): the copy is of the newest version.
    assert delivered is not None and delivered[0] == st.lake.table(LAKE_TABLE).version() > 3
    assert rc.counts.inserted == len(st.target_rows()) == 302
    with org.db.transaction() as s:
        logs = s.scalars(
            select(PipelineRunLog.message).where(PipelineRunLog.run_id == rc.run_id)
        ).all()
    assert any("change feed" in m for m in logs)


def test_a_dropped_target_table_is_made_and_filled_again(org: Org, target: SourceDb) -> None:
    st = make_setup(org, target)
    st.run()
    change_lake(st.lake)
    target.execute(f"DROP TABLE {st.table}")
    st.run()
    st.assert_target_is_lake()
    delivered = st.delivered()
    assert delivered is not None and delivered[0] == 4
