"""Mounts: create (proposed or given mapping), checks, scope rules, update, delete, list."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import select

from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from govdata.exchange import mounts, pipelines
from govdata.exchange.models import Mount
from govdata.exchange.schemas import (
    MappingColumn,
    MountCreate,
    MountUpdate,
    PipelineCreate,
    ProposeIn,
)
from govdata.lake.tables import Lake
from govdata.security.models import AuditRecord
from govdata.sources.models import SourceSystem
from tests.catalog.conftest import new_entry, published_entry
from tests.exchange.sourcedb import SourceDb, mariadb_db
from tests.identity.conftest import Org

PEOPLE_DDL = {
    "mariadb": (
        "CREATE TABLE people (id_no CHAR(18) PRIMARY KEY COMMENT '公民身份号码',"
        " xm VARCHAR(100) COMMENT '姓名', gender_code CHAR(1), age INT,"
        " updated_at DATETIME)"
    ),
    "postgres": (
        "CREATE TABLE people (id_no CHAR(18) PRIMARY KEY, xm VARCHAR(100), gender_code CHAR(1),"
        " age INT, updated_at TIMESTAMP);"
        " COMMENT ON COLUMN people.id_no IS '公民身份号码'; COMMENT ON COLUMN people.xm IS '姓名'"
    ),
}


def people_rows(n: int) -> list[tuple[Any, ...]]:
    return [
        (f"63010219900101{i:04d}", f"居民{i}", "1" if i % 2 else "2", 20 + i % 50, None)
        for i in range(n)
    ]


def fill_people(src: SourceDb, n: int) -> None:
    for stmt in PEOPLE_DDL[src.kind].split(";"):
        if stmt.strip():
            src.execute(stmt)
    src.executemany("INSERT INTO people VALUES (%s, %s, %s, %s, %s)", people_rows(n))


def add_source(org: Org, department: str, src: SourceDb, name: str = "户籍系统") -> str:
    """Register ``src`` as a source system of ``department`` (no secret: local test servers)."""
    with org.db.transaction() as s:
        row = SourceSystem(
            department_id=org.dept[department],
            name=name,
            kind="mariadb" if src.kind == "mariadb" else "postgresql",
            config=src.config(),
            status="ok",
        )
        s.add(row)
        s.flush()
        return row.id


def mount_people(
    org: Org, source_id: str, entry_id: str, user: str = "xn_officer", **kw: Any
) -> Any:
    data = {"entry_id": entry_id, "source_id": source_id, "target": "people", "mode": "physical"}
    data.update(kw)
    with org.as_(user).act() as ctx:
        return mounts.create_mount(ctx, MountCreate(**data))


@pytest.fixture
def people_db() -> Iterator[SourceDb]:
    with mariadb_db() as src:
        fill_people(src, 5)
        yield src


def test_create_proposes_the_mapping_keys_and_lake_table(org: Org, people_db: SourceDb) -> None:
    entry = published_entry(org, "xn_officer")
    source_id = add_source(org, "xn_stats", people_db)
    with org.as_("xn_officer").act() as ctx:
        proposal = mounts.propose(
            ctx, ProposeIn(entry_id=entry.id, source_id=source_id, target="people")
        )
    assert [(c.item, c.column, c.field) for c in proposal.columns] == [
        ("公民身份号码", "id_no", "resident_id"),
        ("姓名", "xm", "name"),
        ("性别代码", "gender_code", "gender_code"),
    ]
    assert proposal.key_columns == ["resident_id"]
    assert {i.code for i in proposal.issues} == {"mount_length_overflow"}  # varchar(100) > 50
    assert "age" in [c.name for c in proposal.source_columns]

    out = mount_people(org, source_id, entry.resource_code)
    assert out.entry_id == entry.id
    assert [c["field"] for c in out.columns] == ["resident_id", "name", "gender_code"]
    assert out.key_columns == ["resident_id"]
    assert out.unmapped_items == []
    assert out.lake_table == "xn_stats.entry_" + entry.resource_code.lower().replace("/", "_")
    assert [i.code for i in out.issues] == ["mount_length_overflow"]
    with org.db.sessions() as s:
        audit = s.scalars(
            select(AuditRecord).where(AuditRecord.action == "exchange.mount.create")
        ).one()
        assert audit.target_id == out.id
        assert audit.actor_id == org.users["xn_officer"]

    with pytest.raises(Conflict) as err:
        mount_people(org, source_id, entry.id)
    assert err.value.code == "mount_exists"


def test_given_mapping_is_checked_and_logical_mounts_have_no_lake_table(
    org: Org, people_db: SourceDb
) -> None:
    entry = published_entry(org, "xn_officer")
    source_id = add_source(org, "xn_stats", people_db)
    bad = [MappingColumn(item="姓名", column="missing", field="name", type="string")]
    with pytest.raises(InvalidInput) as err:
        mount_people(org, source_id, entry.id, columns=bad)
    assert err.value.code == "mount_column_unknown"
    assert err.value.details["column"] == "missing"

    retyped = [MappingColumn(item="姓名", column="age", field="name", type="int64")]
    with pytest.raises(InvalidInput) as err:
        mount_people(org, source_id, entry.id, columns=retyped)
    assert err.value.code == "mount_type_mismatch"

    with pytest.raises(InvalidInput) as err:
        mount_people(org, source_id, entry.id, key_columns=["nope"])
    assert err.value.code == "mount_key_invalid"

    with pytest.raises(InvalidInput) as err:
        mount_people(org, source_id, entry.id, watermark_column="nope")
    assert err.value.code == "mount_column_unknown"

    given = [
        MappingColumn(item="姓名", column="xm", field="name", type="string"),
        MappingColumn(item=None, column="age", field="age", type="int64"),
    ]
    out = mount_people(
        org, source_id, entry.id, columns=given, mode="logical", watermark_column="updated_at"
    )
    assert out.lake_table is None
    assert out.unmapped_items == ["公民身份号码", "性别代码"]
    # The source key is not mapped, and no mapped item is a key item: no key.
    assert out.key_columns == []
    assert out.watermark_column == "updated_at"


def test_scope_rules(org: Org, people_db: SourceDb) -> None:
    entry = published_entry(org, "xn_officer")
    source_id = add_source(org, "xn_stats", people_db)
    # Another department's officer, a department user, the auditor: refused.
    for user in ("hx_officer", "xn_clerk", "auditor", "xn_admin"):
        with pytest.raises(PermissionDenied):
            mount_people(org, source_id, entry.id, user=user)
    # A source of another department cannot feed this entry.
    other = add_source(org, "hx_stats", people_db, name="海西系统")
    with pytest.raises(InvalidInput) as err:
        mount_people(org, other, entry.id)
    assert err.value.code == "mount_source_invalid"
    # Drafts are not mounted.
    draft = new_entry(org, "xn_officer", name="草稿目录")
    with pytest.raises(InvalidInput) as err:
        mount_people(org, source_id, draft.id)
    assert err.value.code == "mount_entry_unpublished"
    # The operator may mount any department's entry.
    out = mount_people(org, source_id, entry.id, user="operator")

    def visible(user: str) -> list[str]:
        with org.as_(user).act() as ctx:
            return [m.id for m in mounts.list_mounts(ctx).items]

    assert visible("xn_officer") == [out.id]
    assert visible("xn_admin") == [out.id]  # region operator of Xining reads
    assert visible("operator") == [out.id]
    assert visible("hx_officer") == []
    assert visible("hx_admin") == []
    with org.as_("hx_officer").act() as ctx, pytest.raises(NotFound):
        mounts.get_mount(ctx, out.id)
    with org.as_("xn_admin").act() as ctx, pytest.raises(PermissionDenied):
        mounts.update_mount(ctx, out.id, MountUpdate(row_cap=5))
    with org.as_("xn_clerk").act() as ctx, pytest.raises(PermissionDenied):
        mounts.get_mount(ctx, out.id)


def test_update_rechecks_and_delete_is_refused_while_a_run_is_active(
    org: Org, people_db: SourceDb
) -> None:
    entry = published_entry(org, "xn_officer")
    source_id = add_source(org, "xn_stats", people_db)
    out = mount_people(org, source_id, entry.id, mode="logical")
    with org.as_("xn_officer").act() as ctx:
        changed = mounts.update_mount(
            ctx, out.id, MountUpdate(mode="physical", row_cap=50, watermark_column="updated_at")
        )
    assert changed.mode == "physical" and changed.row_cap == 50
    assert changed.lake_table is not None
    assert changed.columns == out.columns
    with org.as_("xn_officer").act() as ctx, pytest.raises(InvalidInput) as err:
        mounts.update_mount(
            ctx,
            out.id,
            MountUpdate(
                columns=[MappingColumn(item=None, column="gone", field="x", type="string")]
            ),
        )
    assert err.value.code == "mount_column_unknown"

    with org.as_("xn_officer").act() as ctx:
        p = pipelines.create_pipeline(
            ctx, PipelineCreate(mount_id=out.id, name="全量", kind="full")
        )
        run = pipelines.run_now(ctx, p.id)
    for action in (
        lambda ctx: mounts.delete_mount(ctx, out.id),
        lambda ctx: mounts.update_mount(ctx, out.id, MountUpdate(row_cap=7)),
    ):
        with org.as_("xn_officer").act() as ctx, pytest.raises(Conflict) as err:
            action(ctx)
        assert err.value.code == "mount_busy"
    # Pausing cancels the queued run; then the mount (and its pipeline) can go.
    with org.as_("xn_officer").act() as ctx:
        pipelines.pause_pipeline(ctx, p.id)
    lake = Lake.from_settings(org.settings)
    lake.create(changed.lake_table, pa.schema([("resident_id", pa.string())]), entry_id=entry.id)
    with org.as_("xn_officer").act() as ctx:
        mounts.delete_mount(ctx, out.id)
    with org.db.sessions() as s:
        assert s.get(Mount, out.id) is None
        audit = s.scalars(
            select(AuditRecord).where(AuditRecord.action == "exchange.mount.delete")
        ).one()
        assert audit.details["pipelines"] == [p.id]
    assert run.status == "queued"
    # The lake table stays unless asked.
    assert lake.exists(changed.lake_table)
    again = mount_people(org, source_id, entry.id)
    with org.as_("xn_officer").act() as ctx:
        mounts.delete_mount(ctx, again.id, drop_lake_table=True)
    assert not lake.exists(changed.lake_table)
