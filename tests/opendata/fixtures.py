"""Open datasets for tests: a published entry of 学校名录 collected from a real SQLite source
into the lake by a real full-load pipeline, proposed for opening and approved — every step
through its action."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from govdata.core.jobs.worker import Worker
from govdata.exchange import mounts, pipelines
from govdata.exchange.schemas import MappingColumn, MountCreate, PipelineCreate
from govdata.exchange.vocab import PipelineKind
from govdata.opendata import datasets
from govdata.opendata.schemas import ProposeIn, ReviewIn
from tests.catalog.conftest import content, published_entry
from tests.identity.conftest import Org
from tests.sharing.conftest import add_sqlite_source

SCHOOL_ITEMS: list[dict[str, Any]] = [
    {
        "name": "学校代码",
        "name_en": "school_code",
        "data_type": "string",
        "length": 10,
        "is_key": True,
        "grade": 1,
    },
    {"name": "学校名称", "name_en": "school_name", "data_type": "string", "length": 64, "grade": 1},
    {"name": "所在县区", "name_en": "county", "data_type": "string", "length": 32, "grade": 1},
    {"name": "在校学生数", "name_en": "students", "data_type": "integer", "grade": 2},
    # Sensitive: never opens, whatever the entry's grade.
    {
        "name": "校长手机号码",
        "name_en": "head_mobile",
        "data_type": "string",
        "length": 11,
        "is_sensitive": True,
        "grade": 2,
    },
]
SCHOOL_MAPPING = [
    MappingColumn(item="学校代码", column="code", field="school_code", type="string"),
    MappingColumn(item="学校名称", column="name", field="school_name", type="string"),
    MappingColumn(item="所在县区", column="county", field="county", type="string"),
    MappingColumn(item="在校学生数", column="students", field="students", type="int64"),
    MappingColumn(item="校长手机号码", column="mobile", field="head_mobile", type="string"),
]
OPEN_FIELDS = ["school_code", "school_name", "county", "students"]
SCHOOLS = [
    ("6301000001", "西宁市第一中学", "城东区", 2310, "13800000001"),
    ("6301000002", "西宁市第二中学", "城中区", 1985, "13800000002"),
    ("6301000003", "湟中区第一中学", "湟中区", 1520, "13800000003"),
    ("6328000001", "格尔木市第一中学", "格尔木市", 1760, "13800000004"),
    ("6328000002", "德令哈市第一中学", "德令哈市", 1204, "13800000005"),
]


def schools_file(path: Path, rows: list[tuple[Any, ...]] = SCHOOLS) -> Path:
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE schools (code TEXT PRIMARY KEY, name TEXT, county TEXT,"
        " students INTEGER, mobile TEXT)"
    )
    conn.executemany("INSERT INTO schools VALUES (?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()
    return path


@dataclass(frozen=True)
class Opened:
    dataset_id: str
    name: str
    entry_id: str
    resource_code: str
    table: str


def school_content(*, grade: int = 2, open_type: str = "open", **overrides: Any) -> dict[str, Any]:
    """Catalog content of the school list (passes the conformance check)."""
    return content(
        **{
            "name": "全省中小学校名录",
            "summary": "全省中小学校的代码、名称、所在县区和在校学生数。",
            "grade": grade,
            "open_type": open_type,
            "open_condition": "仅限科研用途" if open_type == "conditional" else None,
            "share_type": "unconditional",
            "share_condition": None,
            "share_modes": ["api", "table", "file"],
            "items": [dict(i, grade=min(int(i["grade"]), grade)) for i in SCHOOL_ITEMS],
            **overrides,
        }
    )


def collected_schools(
    org: Org,
    tmp: Path,
    *,
    officer: str = "xn_officer",
    department: str = "xn_stats",
    name: str = "全省中小学校名录",
    open_type: str = "open",
    grade: int = 2,
    rows: list[tuple[Any, ...]] = SCHOOLS,
    **overrides: Any,
) -> tuple[str, str, str]:
    """(entry id, resource code, lake table) of a published, collected entry."""
    entry = published_entry(
        org,
        officer,
        **school_content(grade=grade, open_type=open_type, name=name, **overrides),
    )
    path = schools_file(tmp / f"schools-{entry.id[-8:]}.db", rows)
    source_id = add_sqlite_source(org, department, path)
    with org.as_(officer).act() as ctx:
        mount = mounts.create_mount(
            ctx,
            MountCreate(
                entry_id=entry.id,
                source_id=source_id,
                target="schools",
                mode="physical",
                columns=SCHOOL_MAPPING,
                key_columns=["school_code"],
            ),
        )
        pipeline = pipelines.create_pipeline(
            ctx, PipelineCreate(mount_id=mount.id, name="全量采集", kind=PipelineKind.FULL)
        )
        queued = pipelines.run_now(ctx, pipeline.id)
    Worker(org.db, org.settings).run_until_idle()
    # A live server's own worker may have taken the job: wait for the run to end.
    deadline = time.monotonic() + 60
    while True:
        with org.as_(officer).act() as ctx:
            status = pipelines.get_run(ctx, queued.id).status
        if status not in ("queued", "running") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status == "succeeded"
    return entry.id, entry.resource_code, str(mount.lake_table)


def opened_schools(org: Org, tmp: Path, **kw: Any) -> Opened:
    """``collected_schools``, proposed by its officer and approved by the operator."""
    entry_id, code, table = collected_schools(org, tmp, **kw)
    with org.as_(kw.get("officer", "xn_officer")).act() as ctx:
        ds = datasets.propose_opening(ctx, entry_id, ProposeIn(note="面向社会开放"))
    with org.as_("operator").act() as ctx:
        datasets.review_opening(ctx, ds.id, ReviewIn(approve=True))
    return Opened(ds.id, ds.name, entry_id, code, table)


def opened_schools_by(org: Org, tmp: Path, officer: str, department: str, **kw: Any) -> Opened:
    """``opened_schools`` published by another department (``officer`` of ``department``)."""
    return opened_schools(org, tmp, officer=officer, department=department, **kw)


def republish_schools(
    org: Org, opened: Opened, officer: str = "xn_officer", **content: Any
) -> None:
    """Publish a new version of the dataset's entry with changed content (e.g. ``grade=3``)."""
    from govdata.catalog import actions as catalog_actions
    from govdata.catalog.schemas import EntryUpdate, NewVersion, PublishRequest

    with org.as_(officer).act() as ctx:
        catalog_actions.new_version(ctx, opened.entry_id, NewVersion(change_note="调整"))
        catalog_actions.update_entry(ctx, opened.entry_id, EntryUpdate(**school_content(**content)))
        catalog_actions.submit_entry(ctx, opened.entry_id)
    with org.as_("operator").act() as ctx:
        catalog_actions.publish_entry(ctx, opened.entry_id, PublishRequest())


def recollect(org: Org, entry_id: str, rows: list[tuple[Any, ...]]) -> None:
    """Replace the rows of the entry's SQLite source and run its full load again (a new
    lake version)."""
    from sqlalchemy import select

    from govdata.exchange.models import Mount, Pipeline
    from govdata.sources.models import SourceSystem

    with org.db.sessions() as s:
        mount = s.scalars(select(Mount).where(Mount.entry_id == entry_id)).one()
        pipeline_id = s.scalars(select(Pipeline.id).where(Pipeline.mount_id == mount.id)).one()
        source = s.get(SourceSystem, mount.source_id)
        assert source is not None
        path = Path(source.config["path"])
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM schools")
    conn.executemany("INSERT INTO schools VALUES (?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()
    with org.as_("xn_officer").act() as ctx:
        queued = pipelines.run_now(ctx, pipeline_id)
    Worker(org.db, org.settings).run_until_idle()
    with org.as_("xn_officer").act() as ctx:
        assert pipelines.get_run(ctx, queued.id).status == "succeeded"
