"""Schema drift between a real source and its mount, checked at the start of every run."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pytest
from sqlalchemy import select

from govdata.catalog.models import EntryEvent
from govdata.config import Settings
from govdata.core.db import Database
from govdata.exchange.models import Mount
from govdata.lake.tables import Lake
from govdata.notifications.models import Notification
from tests.exchange import engine_fixtures as ef
from tests.exchange.sourcedb import SourceDb, mariadb_db, postgres_db
from tests.identity.conftest import Org

SOURCES = pytest.mark.parametrize("source", [mariadb_db, postgres_db], ids=["mariadb", "postgres"])


def _loaded(org: Org, db: Database, settings: Settings, src: SourceDb, **kw: object) -> ef.Setup:
    src.execute("CREATE TABLE person (id INT PRIMARY KEY, name VARCHAR(20), age INT)")
    src.executemany("INSERT INTO person VALUES (%s, %s, %s)", [(1, "甲", 30), (2, "乙", 40)])
    info = src.connector().discover()[0]
    setup = ef.make_pipeline(
        org,
        kind="mariadb" if src.kind == "mariadb" else "postgresql",
        config=src.config(),
        target="person",
        columns=ef.mapping_of(info),
        key_columns=["id"],
        **kw,  # type: ignore[arg-type]
    )
    run = ef.run(db, settings, setup)
    assert run.status == "succeeded", run.error_message
    return setup


@SOURCES
def test_a_column_left_out_of_the_mapping_is_not_drift(
    org: Org, db: Database, settings: Settings, source: Callable[[], object]
) -> None:
    with source() as src:  # type: ignore[attr-defined]
        src.execute("CREATE TABLE person (id INT PRIMARY KEY, name VARCHAR(20), age INT)")
        src.executemany("INSERT INTO person VALUES (%s, %s, %s)", [(1, "甲", 30), (2, "乙", 40)])
        info = src.connector().discover()[0]
        setup = ef.make_pipeline(
            org,
            kind="mariadb" if src.kind == "mariadb" else "postgresql",
            config=src.config(),
            target="person",
            columns=[c for c in ef.mapping_of(info) if c["column"] != "age"],
            key_columns=["id"],
            source_columns=["id", "name", "age"],
        )
        for _ in range(2):
            run = ef.run(db, settings, setup)
            assert run.status == "succeeded", ef.job_of(db, run.id).last_error
        assert Lake.from_settings(settings).info(setup.lake_table).schema.names == ["id", "name"]
        with db.transaction() as s:
            mount = s.get(Mount, setup.mount_id)
            assert mount is not None
            assert mount.drift == [] and [c["column"] for c in mount.columns] == ["id", "name"]


@SOURCES
def test_new_source_column_is_added_to_the_lake_and_flagged(
    org: Org, db: Database, settings: Settings, source: Callable[[], object]
) -> None:
    with source() as src:  # type: ignore[attr-defined]
        setup = _loaded(org, db, settings, src, watermark="id", pipeline_kind="incremental")
        q = "`" if src.kind == "mariadb" else '"'
        src.execute(f"ALTER TABLE person ADD COLUMN {q}Phone_No{q} VARCHAR(20)")
        src.execute("INSERT INTO person VALUES (3, '丙', 50, '13900000000')")
        run = ef.run(db, settings, setup)
        assert run.status == "succeeded", run.error_message

        schema = Lake.from_settings(settings).info(setup.lake_table).schema
        assert schema.names == ["id", "name", "age", "phone_no"]
        assert schema.field("phone_no").type == pa.string()
        rows = ef.lake_rows(settings, setup.lake_table, "id")
        # Rows loaded before the column existed read it as null.
        assert [(r["id"], r["phone_no"]) for r in rows] == [
            (1, None),
            (2, None),
            (3, "13900000000"),
        ]
        with db.transaction() as s:
            mount = s.get(Mount, setup.mount_id)
            assert mount is not None
            assert mount.columns[-1] == {
                "item": None,
                "column": "Phone_No",
                "field": "phone_no",
                "type": "string",
            }
            assert [d["column"] for d in mount.drift] == ["Phone_No"]
            events = s.scalars(
                select(EntryEvent).where(
                    EntryEvent.entry_id == setup.entry_id, EntryEvent.action == "source_drift"
                )
            ).all()
            assert len(events) == 1 and "Phone_No" in (events[0].comment or "")
            notices = s.scalars(
                select(Notification).where(Notification.kind == "exchange.source_drift")
            ).all()
            assert org.users["xn_officer"] in {n.user_id for n in notices}
            assert all(n.user_id != org.users["operator"] for n in notices)

        # The next run finds nothing new: no second event.
        again = ef.run(db, settings, setup)
        assert again.status == "succeeded", again.error_message
        with db.transaction() as s:
            count = len(
                s.scalars(select(EntryEvent).where(EntryEvent.action == "source_drift")).all()
            )
            assert count == 1


@SOURCES
def test_dropped_mapped_column_fails_the_run_and_changes_nothing(
    org: Org, db: Database, settings: Settings, source: Callable[[], object]
) -> None:
    with source() as src:  # type: ignore[attr-defined]
        setup = _loaded(org, db, settings, src)
        lake = Lake.from_settings(settings)
        version = lake.table(setup.lake_table).version()
        src.execute("ALTER TABLE person DROP COLUMN age")
        run = ef.run(db, settings, setup)
        assert run.status == "failed"
        assert run.error_code == "source_schema_drift"
        assert "age" in (run.error_message or "") and "dropped" in (run.error_message or "")
        assert "已被删除" in (run.error_message or "")
        assert lake.table(setup.lake_table).version() == version
        assert ef.job_of(db, run.id).status == "failed"


@SOURCES
def test_retyped_mapped_column_fails_naming_old_and_new_type(
    org: Org, db: Database, settings: Settings, source: Callable[[], object]
) -> None:
    with source() as src:  # type: ignore[attr-defined]
        setup = _loaded(org, db, settings, src)
        lake = Lake.from_settings(settings)
        version = lake.table(setup.lake_table).version()
        if src.kind == "mariadb":
            src.execute("ALTER TABLE person MODIFY age VARCHAR(10)")
        else:
            src.execute("ALTER TABLE person ALTER COLUMN age TYPE VARCHAR(10)")
        run = ef.run(db, settings, setup)
        assert run.status == "failed"
        assert run.error_code == "source_schema_drift"
        message = run.error_message or ""
        assert "age" in message and "int64" in message and "varchar" in message.lower()
        assert lake.table(setup.lake_table).version() == version
        assert ef.lake_rows(settings, setup.lake_table, "id")[0]["age"] == 30
