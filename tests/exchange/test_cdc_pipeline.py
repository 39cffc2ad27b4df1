"""CDC pipelines end to end: a real MariaDB/PostgreSQL source, a real lake, the run context.

A stream runs in a thread (as it would in a worker); the tests change the source, wait for
the lake table to equal it, pause (the stream stops), change the source while paused,
resume (a new run continues from the position in the lake) and compare again: same row
count and same content checksum as the source, no key twice.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import select

from govdata.core.errors import GovDataError
from govdata.exchange import mapping, mounts, pipelines
from govdata.exchange.cdc.base import Change, ChangeBatch, collapse
from govdata.exchange.engine.cdc import run_cdc, stream_name
from govdata.exchange.engine.context import META_POSITION, RunContext
from govdata.exchange.models import PipelineRun, PipelineRunLog
from govdata.exchange.schemas import MappingColumn, MountCreate, PipelineCreate
from govdata.lake.tables import Lake
from govdata.sources.models import SourceSystem
from tests.catalog.conftest import published_entry
from tests.exchange.sourcedb import SourceDb, mariadb_db, postgres_db
from tests.identity.conftest import Org

DDL = {
    "mariadb": (
        "CREATE TABLE people (id_no CHAR(18) PRIMARY KEY COMMENT '公民身份号码',"
        " xm VARCHAR(50) COMMENT '姓名', gender_code CHAR(1), age INT, updated_at DATETIME)"
    ),
    "postgres": (
        "CREATE TABLE people (id_no CHAR(18) PRIMARY KEY, xm VARCHAR(50), gender_code CHAR(1),"
        " age INT, updated_at TIMESTAMP);"
        " COMMENT ON COLUMN people.id_no IS '公民身份号码'; COMMENT ON COLUMN people.xm IS '姓名'"
    ),
}
INSERT = "INSERT INTO people VALUES (%s, %s, %s, %s, NULL)"


def _id(i: int) -> str:
    return f"63010219900101{i:04d}"


def _person(i: int) -> tuple[Any, ...]:
    return (_id(i), f"居民{i}", "1" if i % 2 else "2", 20 + i % 50)


@pytest.fixture(params=["mariadb", "postgres"])
def source(request: pytest.FixtureRequest) -> Iterator[SourceDb]:
    open_db = mariadb_db if request.param == "mariadb" else postgres_db
    with open_db() as src:
        for stmt in DDL[src.kind].split(";"):
            if stmt.strip():
                src.execute(stmt)
        src.executemany(INSERT, [_person(i) for i in range(50)])
        yield src


def _cdc_pipeline(org: Org, src: SourceDb, **options: Any) -> tuple[str, str]:
    """A published entry, its source and mount, and a CDC pipeline: (pipeline id, lake table)."""
    entry = published_entry(org, "xn_officer")
    with org.db.transaction() as s:
        row = SourceSystem(
            department_id=org.dept["xn_stats"],
            name="户籍系统",
            kind="mariadb" if src.kind == "mariadb" else "postgresql",
            config=src.config(),
            status="ok",
        )
        s.add(row)
        s.flush()
        source_id = row.id
    with org.as_("xn_officer").act() as ctx:
        mount = mounts.create_mount(
            ctx,
            MountCreate(entry_id=entry.id, source_id=source_id, target="people", mode="physical"),
        )
    with org.as_("xn_officer").act() as ctx:
        pipeline = pipelines.create_pipeline(
            ctx,
            PipelineCreate(
                mount_id=mount.id,
                name="实时同步",
                kind="cdc",
                options={"batch_window_ms": 100, **options},
            ),
        )
    assert mount.lake_table is not None
    return pipeline.id, mount.lake_table


class Stream:
    """One run of the pipeline, streaming in a thread as a worker would run it."""

    def __init__(self, org: Org, pipeline_id: str, run_id: str) -> None:
        self.rc = RunContext.load(org.db, org.settings, pipeline_id, run_id)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            run_cdc(self.rc)
        except BaseException as exc:
            self.error = exc

    def join(self, timeout: float = 15) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the stream did not stop"

    def pause(self, org: Org) -> None:
        """Pause the pipeline (as an officer would) and wait for the stream to end."""
        with org.as_("xn_officer").act() as ctx:
            pipelines.pause_pipeline(ctx, self.rc.pipeline_id)
        self.join()


def _newest_run(org: Org, pipeline_id: str) -> str:
    with org.db.sessions() as s:
        run = s.scalars(
            select(PipelineRun)
            .where(PipelineRun.pipeline_id == pipeline_id)
            .order_by(PipelineRun.started_at.desc())
            .limit(1)
        ).one()
        return run.id


def _expected(src: SourceDb, rc: RunContext) -> pa.Table:
    """The source as the lake should hold it: mapped, renamed, cast, sorted by key."""
    batches = src.connector().read_batches("people", columns=mapping.source_columns(rc.mount))
    conformed = [mapping.conform(b, rc.mount) for b in batches]
    table = pa.Table.from_batches(conformed, schema=mapping.mount_schema(rc.mount))
    return table.sort_by(rc.mount.key_columns[0])


def _lake(lake: Lake, table: str, key: str) -> pa.Table:
    return lake.read(table).sort_by(key)


def checksum(table: pa.Table) -> str:
    digest = hashlib.sha256()
    for row in table.to_pylist():
        digest.update(json.dumps(row, sort_keys=True, default=str, ensure_ascii=False).encode())
    return digest.hexdigest()


def _wait(check: Callable[[], bool], stream: Stream, timeout: float = 20) -> float:
    """Seconds until ``check()`` holds (fails the test after ``timeout`` or on a crash)."""
    began = time.monotonic()
    while True:
        if stream.error is not None:
            raise stream.error
        if check():
            return time.monotonic() - began
        if time.monotonic() - began > timeout:
            logs = _logs(stream.rc)
            pytest.fail(f"the lake table did not catch up with the source; run log: {logs}")
        time.sleep(0.05)


def _equal(src: SourceDb, rc: RunContext, table: str) -> Callable[[], bool]:
    key = rc.mount.key_columns[0]
    return lambda: rc.lake.exists(table) and _lake(rc.lake, table, key).equals(_expected(src, rc))


def test_a_cdc_pipeline_keeps_the_lake_equal_and_resumes_exactly(
    org: Org, source: SourceDb
) -> None:
    pipeline_id, table = _cdc_pipeline(org, source)
    with org.as_("xn_officer").act() as ctx:
        first_run = pipelines.run_now(ctx, pipeline_id).id
    stream = Stream(org, pipeline_id, first_run)
    rc = stream.rc
    key = rc.mount.key_columns[0]
    try:
        # The initial full load, then changes within seconds.
        _wait(_equal(source, rc, table), stream)
        assert rc.lake.read(table).num_rows == 50
        source.executemany(INSERT, [_person(i) for i in range(50, 60)])
        source.execute("UPDATE people SET xm = '张三丰', age = 99 WHERE id_no = %s", (_id(3),))
        source.execute("DELETE FROM people WHERE id_no IN (%s, %s)", (_id(4), _id(55)))
        latency = _wait(_equal(source, rc, table), stream)
        assert latency < 5
        changes = rc.lake.history(table, 1)[0]
        position = json.loads(changes[META_POSITION])
        assert "log_file" in position or "lsn" in position
    finally:
        # Pause: the stream notices and ends its run.
        stream.pause(org)
    assert stream.error is None
    # 55 may be inserted and deleted within one batch: then it never reaches the lake.
    assert rc.counts.deleted in (1, 2) and rc.counts.updated >= 1
    stopped_version = rc.lake.table(table).version()

    # While paused, nothing reaches the lake.
    source.executemany(INSERT, [_person(i) for i in range(60, 80)])
    source.execute("UPDATE people SET age = age + 1 WHERE id_no < %s", (_id(30),))
    source.execute("DELETE FROM people WHERE id_no = %s", (_id(70),))
    time.sleep(0.5)
    assert rc.lake.table(table).version() == stopped_version

    # Resume: a new run, from the position committed in the lake.
    with org.as_("xn_officer").act() as ctx:
        pipelines.resume_pipeline(ctx, pipeline_id)
    resumed = Stream(org, pipeline_id, _newest_run(org, pipeline_id))
    try:
        _wait(_equal(source, resumed.rc, table), resumed)
        logs = resumed.rc.lake.history(table, 3)
        assert all(c.get("govdata.run_id") != first_run for c in logs[:1])
    finally:
        resumed.pause(org)
    assert resumed.error is None
    lake = _lake(rc.lake, table, key)
    expected = _expected(source, rc)
    assert lake.num_rows == expected.num_rows == source.rows("SELECT COUNT(*) FROM people")[0][0]
    assert len(set(lake.column(key).to_pylist())) == lake.num_rows
    assert checksum(lake) == checksum(expected)
    # The resumed run did not load again: no overwrite after the first one.
    assert loads(rc.lake, table) == 1


def test_a_crash_between_commit_and_acknowledge_repeats_nothing(org: Org, source: SourceDb) -> None:
    """A run that dies without acknowledging (PostgreSQL keeps the slot behind the lake) is
    followed by one that starts from the lake's position: the rows are not applied twice."""
    pipeline_id, table = _cdc_pipeline(org, source)
    with org.as_("xn_officer").act() as ctx:
        first = pipelines.run_now(ctx, pipeline_id).id
    stream = Stream(org, pipeline_id, first)
    rc = stream.rc
    try:
        _wait(_equal(source, rc, table), stream)
        source.execute("UPDATE people SET age = 1 WHERE id_no = %s", (_id(1),))
        _wait(_equal(source, rc, table), stream)
    finally:
        stream.pause(org)
    version = rc.lake.table(table).version()
    with org.as_("xn_officer").act() as ctx:
        pipelines.resume_pipeline(ctx, pipeline_id)
    again = Stream(org, pipeline_id, _newest_run(org, pipeline_id))
    try:
        time.sleep(1.0)
        # Nothing changed at the source: the resumed stream commits nothing.
        assert rc.lake.table(table).version() == version
        source.execute("INSERT INTO people VALUES (%s, '新生儿', '1', 0, NULL)", (_id(900),))
        _wait(_equal(source, again.rc, table), again)
        assert rc.lake.table(table).version() == version + 1
    finally:
        again.pause(org)
    assert again.error is None


def test_cdc_unavailable_without_fallback_fails_with_the_reason(org: Org) -> None:
    with postgres_db() as src:
        src.execute("CREATE TABLE people (id_no CHAR(18) PRIMARY KEY, xm VARCHAR(50))")
        src.execute("COMMENT ON COLUMN people.id_no IS '公民身份号码'")
        pipeline_id, _table = _cdc_pipeline(org, src, fallback=False)
        with org.as_("xn_officer").act() as ctx:
            run_id = pipelines.run_now(ctx, pipeline_id).id
        rc = RunContext.load(org.db, org.settings, pipeline_id, run_id)
        # A role the pipeline connects as, without the REPLICATION attribute.
        src.execute("CREATE ROLE gd_cdc_norepl LOGIN")
        try:
            with org.db.transaction() as s:
                source = s.get(SourceSystem, rc.mount.source_id)
                assert source is not None
                source.config = {**source.config, "user": "gd_cdc_norepl"}
            with pytest.raises(GovDataError) as caught:
                run_cdc(rc)
        finally:
            src.execute("DROP ROLE gd_cdc_norepl")
        assert caught.value.code == "cdc_unavailable"
        assert "REPLICATION" in caught.value.details["reason"]
        slots = src.rows(
            "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (stream_name(pipeline_id),)
        )
        assert slots == []


# -- collapse -----------------------------------------------------------------------------------

SCHEMA = pa.schema([("id", pa.int64()), ("v", pa.string())])


def _collapse(*changes: Change) -> tuple[list[dict[str, Any]], list[dict[str, Any]], bool]:
    out = collapse(ChangeBatch(list(changes), {"lsn": "0/1"}), ["id"], SCHEMA)
    return out.upserts.to_pylist(), out.deletes.to_pylist(), out.truncated


def test_collapse_keeps_the_last_change_per_key() -> None:
    up, down, truncated = _collapse(
        Change("insert", {"id": 1, "v": "a"}),
        Change("update", {"id": 1, "v": "b"}),
        Change("insert", {"id": 2, "v": "x"}),
        Change("delete", {"id": 2, "v": None}),
        Change("delete", {"id": 3}),
        Change("insert", {"id": 3, "v": "again"}),
    )
    assert up == [{"id": 1, "v": "b"}, {"id": 3, "v": "again"}]
    assert down == [{"id": 2}]
    assert not truncated


def test_collapse_turns_a_key_change_into_a_delete_of_the_old_key() -> None:
    up, down, _ = _collapse(
        Change("insert", {"id": 1, "v": "a"}),
        Change("update", {"id": 5, "v": "a"}, old={"id": 1, "v": "a"}),
    )
    assert up == [{"id": 5, "v": "a"}] and down == [{"id": 1}]


def test_collapse_after_truncate_keeps_only_later_rows() -> None:
    up, down, truncated = _collapse(
        Change("insert", {"id": 1, "v": "a"}),
        Change("truncate", {}),
        Change("insert", {"id": 2, "v": "b"}),
    )
    assert truncated and up == [{"id": 2, "v": "b"}] and down == []


def test_collapse_reports_a_value_that_does_not_fit() -> None:
    with pytest.raises(GovDataError) as caught:
        _collapse(Change("insert", {"id": "not a number", "v": "a"}))
    assert caught.value.code == "mount_value_invalid"
    assert caught.value.details["column"] == "id"


def test_without_a_change_log_the_pipeline_polls_by_watermark(org: Org, tmp_path: Any) -> None:
    import sqlite3

    path = tmp_path / "people.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE people (id_no TEXT PRIMARY KEY, xm TEXT, updated_at INTEGER NOT NULL)"
        )
        conn.executemany(
            "INSERT INTO people VALUES (?, ?, ?)", [(_id(i), f"居民{i}", 1) for i in range(10)]
        )
    entry = published_entry(org, "xn_officer")
    with org.db.transaction() as s:
        row = SourceSystem(
            department_id=org.dept["xn_stats"],
            name="本地库",
            kind="sqlite",
            config={"path": str(path)},
            status="ok",
        )
        s.add(row)
        s.flush()
        source_id = row.id
    with org.as_("xn_officer").act() as ctx:
        mount = mounts.create_mount(
            ctx,
            MountCreate(
                entry_id=entry.id,
                source_id=source_id,
                target="people",
                mode="physical",
                columns=[
                    MappingColumn(
                        item="公民身份号码", column="id_no", field="resident_id", type="string"
                    ),
                    MappingColumn(item="姓名", column="xm", field="name", type="string"),
                    MappingColumn(column="updated_at", field="updated_at", type="int64"),
                ],
                key_columns=["resident_id"],
                watermark_column="updated_at",
            ),
        )
        pipeline = pipelines.create_pipeline(
            ctx,
            PipelineCreate(
                mount_id=mount.id, name="轮询", kind="cdc", options={"poll_seconds": 0.2}
            ),
        )
        run_id = pipelines.run_now(ctx, pipeline.id).id
    stream = Stream(org, pipeline.id, run_id)
    rc = stream.rc
    table = str(mount.lake_table)

    def rows() -> int:
        return rc.lake.read(table).num_rows if rc.lake.exists(table) else 0

    try:
        _wait(lambda: rows() == 10, stream)
        for step in (2, 3):
            with sqlite3.connect(path) as conn:
                conn.execute("INSERT INTO people VALUES (?, '新', ?)", (_id(100 + step), step))
            _wait(lambda step=step: rows() == 9 + step, stream)  # type: ignore[misc]
    finally:
        stream.pause(org)
    assert stream.error is None
    with org.db.sessions() as s:
        logs = s.scalars(
            select(PipelineRunLog.message).where(PipelineRunLog.run_id == run_id)
        ).all()
    assert any("sqlite sources have no change log" in m for m in logs)


def _logs(rc: RunContext) -> list[str]:
    with rc.db.sessions() as s:
        return list(
            s.scalars(
                select(PipelineRunLog.message)
                .where(PipelineRunLog.run_id == rc.run_id)
                .order_by(PipelineRunLog.id)
            ).all()
        )


def test_a_worker_runs_the_stream_hands_it_back_on_shutdown_and_resumes(
    org: Org, source: SourceDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    from govdata.core.jobs.models import Job
    from govdata.core.jobs.worker import Worker

    # The pipeline handler builds its settings from the environment (a worker process is
    # configured that way): point it at this test's store and lake.
    monkeypatch.setenv("GOVDATA_DATA_DIR", str(org.settings.data_dir))
    monkeypatch.setenv("GOVDATA_DATABASE_URL", org.settings.database_url)
    monkeypatch.setenv("GOVDATA_SECRET_KEY", org.settings.secret_key)

    pipeline_id, table = _cdc_pipeline(org, source)
    with org.as_("xn_officer").act() as ctx:
        run_id = pipelines.run_now(ctx, pipeline_id).id
    lake = Lake.from_settings(org.settings)
    rc = RunContext.load(org.db, org.settings, pipeline_id, run_id)
    key = rc.mount.key_columns[0]

    def caught_up() -> bool:
        # The handler adds the source's unmapped columns (schema drift) before streaming.
        now = RunContext.load(org.db, org.settings, pipeline_id, run_id)
        return lake.exists(table) and _lake(lake, table, key).equals(_expected(source, now))

    def wait(check: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 30
        while not check():
            assert time.monotonic() < deadline, _logs(rc)
            time.sleep(0.1)

    first = Worker(org.db, org.settings, queues=[pipelines.CDC_QUEUE])
    first.start()
    try:
        wait(caught_up)
        source.executemany(INSERT, [_person(i) for i in range(200, 210)])
        wait(caught_up)
    finally:
        first.stop(grace=10)
    # Handed back, not finished: the job is queued again and the run is still open.
    with org.db.sessions() as s:
        run = s.get(PipelineRun, run_id)
        assert run is not None and run.status == "running"
        job = s.get(Job, run.job_id)
        assert job is not None and job.status == "queued"
    source.execute("DELETE FROM people WHERE id_no = %s", (_id(201),))
    second = Worker(org.db, org.settings, queues=[pipelines.CDC_QUEUE])
    second.start()
    try:
        wait(caught_up)
        with org.as_("xn_officer").act() as ctx:
            pipelines.pause_pipeline(ctx, pipeline_id)
        wait(lambda: _run_status(org, run_id) != "running")
    finally:
        second.stop(grace=10)
    assert _run_status(org, run_id) == "succeeded"
    assert loads(lake, table) == 1


def _run_status(org: Org, run_id: str) -> str:
    with org.db.sessions() as s:
        run = s.get(PipelineRun, run_id)
        assert run is not None
        return run.status


def loads(lake: Lake, table: str) -> int:
    """How many commits replaced the table's content (full loads)."""
    return sum(
        1
        for c in lake.history(table)
        if c["operation"] == "WRITE" and c.get("operationParameters", {}).get("mode") == "Overwrite"
    )


def test_a_position_the_source_log_lost_leads_to_a_new_full_load(
    org: Org, source: SourceDb
) -> None:
    pipeline_id, table = _cdc_pipeline(org, source)
    with org.as_("xn_officer").act() as ctx:
        run_id = pipelines.run_now(ctx, pipeline_id).id
    stream = Stream(org, pipeline_id, run_id)
    rc = stream.rc
    try:
        _wait(_equal(source, rc, table), stream)
    finally:
        stream.pause(org)
    if source.kind == "mariadb":
        # Binary logs expired: the committed position names a file the server no longer has
        # (purging the shared test server's logs would disturb other tests).
        lost = {"log_file": "mysql-bin.999999", "log_pos": 4}
        empty = rc.lake.read(table).slice(0, 0)
        rc.lake.append(table, empty, commit_metadata=rc.commit_metadata(lost))
    else:
        source.execute("SELECT pg_drop_replication_slot(%s)", (stream_name(pipeline_id),))
    source.execute("UPDATE people SET age = 7 WHERE id_no = %s", (_id(2),))
    with org.as_("xn_officer").act() as ctx:
        pipelines.resume_pipeline(ctx, pipeline_id)
    again = Stream(org, pipeline_id, _newest_run(org, pipeline_id))
    try:
        _wait(_equal(source, again.rc, table), again)
        source.execute("DELETE FROM people WHERE id_no = %s", (_id(3),))
        _wait(_equal(source, again.rc, table), again)
    finally:
        again.pause(org)
    assert again.error is None
    assert any("loading the table again" in m for m in _logs(again.rc))
    assert loads(rc.lake, table) == 2


def test_deleting_a_postgres_cdc_pipeline_releases_its_slot(org: Org) -> None:
    with postgres_db() as src:
        src.execute(DDL["postgres"].split(";")[0])
        src.execute("COMMENT ON COLUMN people.id_no IS '公民身份号码'")
        src.executemany(INSERT, [_person(i) for i in range(5)])
        pipeline_id, table = _cdc_pipeline(org, src)
        with org.as_("xn_officer").act() as ctx:
            run_id = pipelines.run_now(ctx, pipeline_id).id
        stream = Stream(org, pipeline_id, run_id)
        try:
            _wait(_equal(src, stream.rc, table), stream)
        finally:
            stream.pause(org)
        name = stream_name(pipeline_id)
        assert src.rows("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (name,))
        # A paused pipeline keeps its slot: the stream resumes from it.
        with org.as_("xn_officer").act() as ctx:
            pipelines.delete_pipeline(ctx, pipeline_id)
        assert not src.rows("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (name,))
        assert not src.rows("SELECT 1 FROM pg_publication WHERE pubname = %s", (name,))
