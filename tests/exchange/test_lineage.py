"""OpenLineage run events recorded by pipeline runs."""

from __future__ import annotations

from sqlalchemy import select

from govdata.config import Settings
from govdata.core.db import Database
from govdata.exchange.models import LineageEvent
from tests.exchange import engine_fixtures as ef
from tests.exchange.sourcedb import mariadb_db
from tests.identity.conftest import Org


def _events(db: Database, run_id: str) -> list[LineageEvent]:
    with db.transaction() as s:
        rows = list(
            s.scalars(
                select(LineageEvent)
                .where(LineageEvent.run_id == run_id)
                .order_by(LineageEvent.event_time)
            )
        )
        s.expunge_all()
        return rows


def test_run_events_name_job_datasets_mapping_and_counts(
    org: Org, db: Database, settings: Settings
) -> None:
    with mariadb_db() as src:
        src.execute("CREATE TABLE person (ID INT PRIMARY KEY, Full_Name VARCHAR(20))")
        src.executemany("INSERT INTO person VALUES (%s, %s)", [(i, f"n{i}") for i in range(7)])
        info = src.connector().discover()[0]
        setup = ef.make_pipeline(
            org,
            kind="mariadb",
            config=src.config(),
            target="person",
            columns=ef.mapping_of(info),
            key_columns=["id"],
        )
        run = ef.run(db, settings, setup)
        assert run.status == "succeeded", run.error_message
        events = _events(db, run.id)
        assert [e.event_type for e in events] == ["START", "COMPLETE"]
        assert {e.entry_id for e in events} == {setup.entry_id}
        done = events[1].payload
        assert done["eventType"] == "COMPLETE"
        assert done["schemaURL"].startswith("https://openlineage.io/spec/2-0-2/OpenLineage.json")
        assert done["producer"]
        assert done["eventTime"].endswith("Z")
        assert done["run"]["runId"] == run.id
        assert done["job"]["namespace"] == "govdata"
        assert setup.pipeline_id in done["job"]["name"]
        (source,) = done["inputs"]
        assert source["namespace"] == "mysql://127.0.0.1:3306"
        assert source["name"] == f"{src.name}.person"
        assert [f["name"] for f in source["facets"]["schema"]["fields"]] == ["ID", "Full_Name"]
        (lake,) = done["outputs"]
        assert lake["name"] == setup.lake_table
        assert lake["namespace"].startswith("file://")
        assert [f["name"] for f in lake["facets"]["schema"]["fields"]] == ["id", "full_name"]
        lineage = lake["facets"]["columnLineage"]["fields"]
        assert lineage["full_name"]["inputFields"] == [
            {"namespace": source["namespace"], "name": source["name"], "field": "Full_Name"}
        ]
        assert lake["outputFacets"]["outputStatistics"]["rowCount"] == 7
        assert "outputFacets" not in events[0].payload["outputs"][0]

        # A failed run ends with FAIL and the error.
        src.execute("ALTER TABLE person DROP COLUMN Full_Name")
        failed = ef.run(db, settings, setup)
        assert failed.status == "failed"
        fail = _events(db, failed.id)[-1].payload
        assert fail["eventType"] == "FAIL"
        assert "source_schema_drift" in fail["run"]["facets"]["errorMessage"]["message"]
        assert fail["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 0
