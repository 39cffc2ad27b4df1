"""Sharing fixtures: the catalog's test organisation, entries of every share type, a real
SQLite source system mounted logically and physically, and helpers to apply and decide.

Provider: 西宁市统计局 (xn_stats, officer ``xn_officer``). Consumers: 海西州统计局
(hx_stats, officer ``hx_officer``) and 城东区卫生健康局 (cd_health, user ``cd_clerk``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import select

from govdata.catalog.models import CatalogEntry
from govdata.config import Settings
from govdata.exchange import mounts
from govdata.exchange.models import Mount
from govdata.exchange.schemas import MappingColumn, MountCreate
from govdata.identity import actions as identity_actions
from govdata.identity.schemas import CredentialCreate, RoleAssignmentIn
from govdata.lake.tables import Lake
from govdata.security.context import Caller
from govdata.security.permissions import Role
from govdata.sharing import applications
from govdata.sharing.schemas import ApplicationCreate, ApplicationOut, DecisionIn
from govdata.sources.models import SourceSystem
from tests.catalog.conftest import org, published_entry, settings
from tests.identity.conftest import Org

__all__ = ["org", "settings"]

ITEMS: list[dict[str, Any]] = [
    {
        "name": "公民身份号码",
        "name_en": "resident_id",
        "data_type": "string",
        "length": 18,
        "is_key": True,
        "is_sensitive": True,
        "grade": 3,
        "data_element": "DE00001",
    },
    {
        "name": "姓名",
        "name_en": "name",
        "data_type": "string",
        "length": 50,
        "grade": 2,
        "data_element": "DE00002",
    },
    {"name": "手机号码", "name_en": "phone", "data_type": "string", "length": 11, "grade": 2},
    {
        "name": "户籍地区划",
        "name_en": "region_code",
        "data_type": "string",
        "length": 6,
        "grade": 1,
    },
    {"name": "年龄", "name_en": "age", "data_type": "integer", "grade": 1},
]
PEOPLE = [
    ("630102199001011234", "张三", "13800001111", "630102", 36),
    ("630102198502023456", "李四", "13900002222", "630102", 41),
    ("632801199203035678", "王五", "13700003333", "632801", 34),
    ("632801200004047890", "赵六", "13600004444", "632801", 26),
    ("630100197805058012", "钱七", "13500005555", "630100", 48),
]
MAPPING = [
    MappingColumn(item="公民身份号码", column="id_no", field="resident_id", type="string"),
    MappingColumn(item="姓名", column="xm", field="name", type="string"),
    MappingColumn(item="手机号码", column="mobile", field="phone", type="string"),
    MappingColumn(item="户籍地区划", column="region", field="region_code", type="string"),
    MappingColumn(item="年龄", column="age", field="age", type="int64"),
]


def entry_content(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "户籍人口基本信息",
        "share_type": "unconditional",
        "share_condition": None,
        "share_modes": ["api", "table", "file"],
        "grade": 2,
        "items": [dict(i, grade=min(i["grade"], overrides.get("grade", 2))) for i in ITEMS],
    }
    data.update(overrides)
    return data


def make_entry(org: Org, **overrides: Any) -> CatalogEntry:
    out = published_entry(org, "xn_officer", **entry_content(**overrides))
    with org.db.transaction() as s:
        row = s.get(CatalogEntry, out.id)
        assert row is not None
        s.expunge(row)
        return row


def people_file(path: Path, rows: list[tuple[Any, ...]] = PEOPLE) -> Path:
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE people (id_no TEXT PRIMARY KEY, xm TEXT, mobile TEXT, region TEXT,"
        " age INTEGER, secret_note TEXT)"
    )
    conn.executemany(
        "INSERT INTO people VALUES (?, ?, ?, ?, ?, 'internal')", [tuple(r) for r in rows]
    )
    conn.commit()
    conn.close()
    return path


def add_sqlite_source(org: Org, department: str, path: Path) -> str:
    with org.db.transaction() as s:
        row = SourceSystem(
            department_id=org.dept[department],
            name=f"sqlite-{path.stem}",
            kind="sqlite",
            config={"path": str(path)},
            status="ok",
        )
        s.add(row)
        s.flush()
        return row.id


def mount_logical(org: Org, entry_id: str, source_id: str) -> str:
    with org.as_("xn_officer").act() as ctx:
        out = mounts.create_mount(
            ctx,
            MountCreate(
                entry_id=entry_id,
                source_id=source_id,
                target="people",
                mode="logical",
                columns=MAPPING,
                key_columns=["resident_id"],
            ),
        )
    return out.id


def mount_physical(org: Org, entry_id: str, source_id: str, rows: list[tuple[Any, ...]]) -> str:
    """A physical mount whose lake table holds ``rows`` (written directly: collection has its
    own tests)."""
    with org.as_("xn_officer").act() as ctx:
        out = mounts.create_mount(
            ctx,
            MountCreate(
                entry_id=entry_id,
                source_id=source_id,
                target="people",
                mode="physical",
                columns=MAPPING,
                key_columns=["resident_id"],
            ),
        )
    with org.db.transaction() as s:
        mount = s.get(Mount, out.id)
        assert mount is not None and mount.lake_table
        table_name = mount.lake_table
    lake = Lake.from_settings(org.settings)
    schema = pa.schema(
        [
            ("resident_id", pa.string()),
            ("name", pa.string()),
            ("phone", pa.string()),
            ("region_code", pa.string()),
            ("age", pa.int64()),
        ]
    )
    if not lake.exists(table_name):
        lake.create(table_name, schema, entry_id=entry_id)
    lake.overwrite(
        table_name, pa.Table.from_pylist([dict(zip(schema.names, r)) for r in rows], schema)
    )
    return out.id


@dataclass
class World:
    org: Org
    tmp: Path

    def entry(self, **overrides: Any) -> CatalogEntry:
        return make_entry(self.org, **overrides)

    def mounted(self, mode: str = "logical", **overrides: Any) -> CatalogEntry:
        entry = self.entry(**overrides)
        path = people_file(self.tmp / f"people-{entry.id[-6:]}.db")
        source_id = add_sqlite_source(self.org, "xn_stats", path)
        if mode == "logical":
            mount_logical(self.org, entry.id, source_id)
        else:
            mount_physical(self.org, entry.id, source_id, PEOPLE)
        return entry

    def apply(
        self, entry: CatalogEntry, user: str = "hx_officer", **overrides: Any
    ) -> ApplicationOut:
        data: dict[str, Any] = {
            "entry": entry.resource_code,
            "purpose": "为群众办理户籍证明核验身份",
            "scenario": "政务服务大厅身份核验",
            "legal_basis": "《政务数据共享条例》第十条",
            "items": [i["name"] for i in ITEMS],
            "delivery_modes": ["api"],
            "valid_until": date.today() + timedelta(days=90),
            "contact_name": "陈晓",
            "contact_phone": "0977-8221234",
        }
        data.update(overrides)
        with self.org.as_(user).act() as ctx:
            return applications.apply(ctx, ApplicationCreate(**data))

    def decide(self, app_id: str, user: str, approve: bool = True, **kw: Any) -> ApplicationOut:
        with self.org.as_(user).act() as ctx:
            return applications.decide(ctx, app_id, DecisionIn(approve=approve, **kw))

    def app_token(self, department: str = "hx_stats", scopes: list[str] | None = None) -> str:
        with self.org.system.act() as ctx:
            out = identity_actions.create_credential(
                ctx,
                CredentialCreate(
                    name=f"app-{department}-{len(scopes or [])}",
                    department_id=self.org.dept[department],
                    scopes=scopes or ["data.read"],
                    days=30,
                ),
            )
        return out.token

    def caller(self, user: str) -> Caller:
        return self.org.as_(user)


@pytest.fixture
def world(org: Org, tmp_path: Path) -> World:
    org.add_user("police_officer", RoleAssignmentIn(role=Role.DEPT_OFFICER), department="police")
    return World(org, tmp_path)


def mount_of(org: Org, entry_id: str) -> Mount:
    with org.db.transaction() as s:
        mount = s.scalars(select(Mount).where(Mount.entry_id == entry_id)).one()
        s.expunge(mount)
        return mount


def with_settings(org: Org, **update: Any) -> Settings:
    return org.settings.model_copy(update=update)
