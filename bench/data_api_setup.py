"""The GovData node ``bench/data_api.py`` measures, set up the way departments use it.

The provincial police (provider) register a MariaDB source system, catalogue a person table
as a published unconditional-share entry and mount it; Haixi's statistics bureau (consumer)
applies for every item with API delivery, which grants it at once with the default masks
(name, resident id and address are personal data); an app credential of the consumer with
the ``data.read`` scope is what the load client presents. The same table is catalogued
twice: once mounted logically (read live from MariaDB) and once physically (read from a lake
table holding the same rows).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import connectorx as cx
import pyarrow.parquet as pq
from sqlalchemy import create_engine, select, text

from collect_source import HOST, PORT, SHAPE, USER, url
from govdata.catalog import actions as catalog
from govdata.catalog.schemas import EntryCreate, PublishRequest
from govdata.config import Settings
from govdata.core.db import Database
from govdata.exchange import mapping, mounts, pipelines
from govdata.exchange.models import Mount
from govdata.exchange.schemas import MountCreate, PipelineCreate
from govdata.exchange.vocab import MountMode, PipelineKind
from govdata.identity import actions as identity
from govdata.identity import auth
from govdata.identity.models import User
from govdata.identity.schemas import (
    CredentialCreate,
    DepartmentCreate,
    RegionCreate,
    RoleAssignmentIn,
    UserCreate,
)
from govdata.lake.tables import Lake
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM
from govdata.security.permissions import Role
from govdata.sharing import applications
from govdata.sharing.models import Grant
from govdata.sharing.schemas import ApplicationCreate
from govdata.sources import actions as sources
from govdata.sources.schemas import SourceCreate, SourceKind
from govdata.standards import uscc

PASSWORD = "Qinghai@2026bench"
PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432"
# 人口 → 人口基本信息, from the seeded classification tree.
CLASS_CODE = "101001"
# The full load's layout (exchange/engine/full.py defaults): a file per 250,000-key range,
# a row group per 50,000-row batch.
LAKE_FILE_ROWS = 250_000
LAKE_ROW_GROUP_ROWS = 50_000
# Limits high enough never to refuse a benchmark call (the count is still kept).
NO_LIMIT = 1_000_000_000


def pg_admin(sql: str) -> None:
    engine = create_engine(PG_BASE + "/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


@dataclass(frozen=True)
class Resource:
    """One catalogued, mounted and granted entry: what the endpoints serve."""

    store: str  # "lake" or "mariadb"
    resource_code: str
    entry_id: str
    mount_id: str
    grant_id: str
    key_field: str
    masked_fields: tuple[str, ...]


@dataclass
class Node:
    """A metadata store and data directory with a province, its police and Haixi's bureau."""

    settings: Settings
    db: Database
    store_db: str | None
    dept: dict[str, str] = field(default_factory=dict)
    sources: dict[tuple[str, int], str] = field(default_factory=dict)

    @classmethod
    def create(cls, workdir: Path, *, sqlite: bool, store_db: str) -> Node:
        data_dir = workdir / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        if sqlite:
            db_url, owned = f"sqlite:///{data_dir / 'govdata.db'}", None
        else:
            pg_admin(f"DROP DATABASE IF EXISTS {store_db} WITH (FORCE)")
            pg_admin(f"CREATE DATABASE {store_db}")
            db_url, owned = f"{PG_BASE}/{store_db}", store_db
        settings = Settings(
            data_dir=data_dir,
            database_url=db_url,
            secret_key=secrets.token_urlsafe(48),
            source_key=secrets.token_hex(16),
            embedded_worker=False,
            argon2_time_cost=1,
            argon2_memory_kib=1024,
            data_api_per_minute=NO_LIMIT,
            data_api_per_day=NO_LIMIT,
        )
        db = Database(db_url)
        db.migrate()
        node = cls(settings, db, owned)
        node._organise()
        return node

    def close(self) -> None:
        self.db.dispose()
        if self.store_db is not None:
            pg_admin(f"DROP DATABASE IF EXISTS {self.store_db} WITH (FORCE)")

    def env(self) -> dict[str, str]:
        """Environment of a web process of this node (production profile: no embedded
        worker), with the data-service limits raised so they never refuse a call."""
        s = self.settings
        return {
            **os.environ,
            "GOVDATA_DATA_DIR": str(s.data_dir),
            "GOVDATA_DATABASE_URL": s.database_url,
            "GOVDATA_SECRET_KEY": s.secret_key,
            "GOVDATA_SOURCE_KEY": s.source_key,
            "GOVDATA_EMBEDDED_WORKER": "false",
            "GOVDATA_DATA_API_PER_MINUTE": str(s.data_api_per_minute),
            "GOVDATA_DATA_API_PER_DAY": str(s.data_api_per_day),
            "PYTHONUNBUFFERED": "1",
        }

    # -- people ------------------------------------------------------------------------------

    def as_(self, username: str) -> Caller:
        with self.db.transaction() as s:
            user = s.scalars(select(User).where(User.username == username)).one()
            actor = auth.actor_for_user(user)
        return Caller(self.db, self.settings, actor, "127.0.0.1")

    @property
    def system(self) -> Caller:
        return Caller(self.db, self.settings, SYSTEM, "127.0.0.1")

    def _organise(self) -> None:
        with self.system.act() as ctx:
            identity.create_region(ctx, RegionCreate(code="630000", name="青海省"))
            identity.create_region(
                ctx,
                RegionCreate(code="632800", name="海西蒙古族藏族自治州", parent_code="630000"),
            )
            for n, (code, name, region) in enumerate(
                (("police", "青海省公安厅", "630000"), ("hx_stats", "海西州统计局", "632800")),
                start=1,
            ):
                out = identity.create_department(
                    ctx,
                    DepartmentCreate(
                        code=code,
                        name=name,
                        credit_code=uscc.make("1", "1", "630000", f"MB{n:06d}"),
                        region_code=region,
                    ),
                )
                self.dept[code] = out.id
            for username, role, department in (
                ("operator", Role.OPERATOR, None),
                ("officer", Role.DEPT_OFFICER, "police"),
                ("hx_officer", Role.DEPT_OFFICER, "hx_stats"),
            ):
                identity.create_user(
                    ctx,
                    UserCreate(
                        username=username,
                        display_name=username.title(),
                        password=PASSWORD,
                        department_id=self.dept[department] if department else None,
                        roles=[RoleAssignmentIn(role=role)],
                    ),
                )

    def app_token(self) -> str:
        """A new app credential of the consumer department with the ``data.read`` scope."""
        with self.system.act() as ctx:
            out = identity.create_credential(
                ctx,
                CredentialCreate(
                    name="bench-data-api",
                    department_id=self.dept["hx_stats"],
                    scopes=["data.read"],
                    days=30,
                ),
            )
        return out.token

    # -- data --------------------------------------------------------------------------------

    def source(self, database: str, *, port: int = PORT, user: str = "officer") -> str:
        """The source system of MariaDB database ``database``, registered by ``user`` (the
        provider's officer by default; ``hx_officer`` registers the consumer's own)."""
        if (database, port) not in self.sources:
            with self.as_(user).act() as ctx:
                out = sources.create_source(
                    ctx,
                    SourceCreate(
                        kind=SourceKind.MARIADB,
                        name=f"{database}@{port}",
                        config={"host": HOST, "port": port, "database": database, "user": USER},
                    ),
                )
            self.sources[(database, port)] = out.id
        return self.sources[(database, port)]

    def resource(
        self, store: str, database: str, table: str, *, port: int = PORT, shape: Any = SHAPE
    ) -> Resource:
        """Catalogue ``table`` as a published entry (offered through the API and as tables),
        mount it (logically for ``mariadb``, physically for ``lake``) and grant it to the
        consumer for the API and subscriptions; a lake table is left to ``fill_lake`` or a
        pipeline."""
        items: list[dict[str, Any]] = [
            {
                "name": item,
                "name_en": column,
                "data_type": data_type,
                "length": length,
                "is_key": column == "id",
                "is_sensitive": column in ("name", "resident_id", "address"),
                "grade": 2,
            }
            for column, _ddl, item, data_type, length in shape
        ]
        with self.as_("officer").act() as ctx:
            entry = catalog.create_entry(
                ctx,
                EntryCreate(
                    classification_code=CLASS_CODE,
                    name=f"人员基本信息（{store}：{table}）",
                    summary="全省人员的姓名、公民身份号码、出生日期、住址等基本登记信息。",
                    format="database",
                    share_type="unconditional",
                    share_modes=["api", "table"],
                    open_type="closed",
                    update_cycle="realtime",
                    grade=2,
                    contact_name="王建国",
                    contact_phone="0971-8181234",
                    contact_email="data@police.qh.gov.cn",
                    items=items,
                ),
            )
            catalog.submit_entry(ctx, entry.id)
        with self.as_("operator").act() as ctx:
            catalog.publish_entry(ctx, entry.id, PublishRequest())
        mode = MountMode.PHYSICAL if store == "lake" else MountMode.LOGICAL
        with self.as_("officer").act() as ctx:
            mount = mounts.create_mount(
                ctx,
                MountCreate(
                    entry_id=entry.id,
                    source_id=self.source(database, port=port),
                    target=table,
                    mode=mode,
                ),
            )
        with self.as_("hx_officer").act() as ctx:
            app = applications.apply(
                ctx,
                ApplicationCreate(
                    entry=entry.resource_code,
                    purpose="为群众办理业务时核验人员身份信息",
                    scenario="政务服务大厅身份核验",
                    legal_basis="《政务数据共享条例》第十条",
                    items=[i["name"] for i in items],
                    delivery_modes=["api", "subscription"],
                    valid_until=date.today() + timedelta(days=90),
                    contact_name="陈晓",
                    contact_phone="0977-8221234",
                ),
            )
        with self.db.transaction() as s:
            grant = s.scalars(select(Grant).where(Grant.application_id == app.id)).one_or_none()
            if grant is None:
                raise SystemExit(f"application {app.code} was not granted at once: {app.status}")
            row = s.get(Mount, mount.id)
            assert row is not None
            by_item = {c["item"]: c["field"] for c in row.columns if c.get("item")}
            masked = tuple(
                sorted(by_item[i] for i, kind in (grant.masks or {}).items() if kind != "clear")
            )
            key = list(row.key_columns or [])
        if key != ["id"]:
            raise SystemExit(f"the mount's key is {key}, expected ['id']")
        return Resource(store, entry.resource_code, entry.id, mount.id, grant.id, "id", masked)

    def fill_lake(self, resource: Resource, database: str, table: str, rows: int) -> int:
        """Create the physical mount's lake table and give it the source table's rows, laid
        out as the platform's full load lays them out: one Parquet file per key range of
        ``LAKE_FILE_ROWS``, in key order, row groups of ``LAKE_ROW_GROUP_ROWS``, committed
        as one version with ``Lake.commit_files`` — so the files' and the row groups' key
        statistics prune a lookup to one row group. Returns the rows written."""
        with self.db.transaction() as s:
            mount = s.get(Mount, resource.mount_id)
            assert mount is not None and mount.lake_table
            s.expunge(mount)
        schema = mapping.mount_schema(mount)
        lake = Lake.from_settings(self.settings)
        lake.create(mount.lake_table, schema, entry_id=resource.entry_id)
        staging = self.settings.lake_dir / "_staging" / "bench-data-api"
        staging.mkdir(parents=True, exist_ok=True)
        files: list[Path] = []
        written = 0
        for low in range(1, rows + 1, LAKE_FILE_ROWS):
            high = min(rows, low + LAKE_FILE_ROWS - 1)
            got = cx.read_sql(
                url(database),
                f"SELECT * FROM `{table}` WHERE id BETWEEN {low} AND {high} ORDER BY id",
                return_type="arrow",
            )
            path = staging / f"range-{low}.parquet"
            with pq.ParquetWriter(path, schema, compression="snappy") as writer:
                for batch in got.combine_chunks().to_batches(LAKE_ROW_GROUP_ROWS):
                    writer.write_batch(mapping.conform(batch, mount))
            files.append(path)
            written += got.num_rows
        lake.commit_files(mount.lake_table, files, mode="overwrite")
        return written

    # -- pipelines and subscriptions ---------------------------------------------------------

    def pipeline(self, mount_id: str, kind: PipelineKind, options: dict[str, Any]) -> str:
        with self.as_("officer").act() as ctx:
            out = pipelines.create_pipeline(
                ctx,
                PipelineCreate(mount_id=mount_id, name=f"{kind}-bench", kind=kind, options=options),
            )
        return out.id

    def run_now(self, pipeline_id: str) -> str:
        """Queue a run as the officer's "run now" does; returns the run id."""
        with self.as_("officer").act() as ctx:
            return pipelines.run_now(ctx, pipeline_id).id

    def pause(self, pipeline_id: str) -> None:
        with self.as_("officer").act() as ctx:
            pipelines.pause_pipeline(ctx, pipeline_id)

    def subscribe(self, grant_id: str, target_source_id: str, target_table: str) -> str:
        """The consumer subscribes to the grant, delivered into its own database table."""
        from govdata.sharing import subscriptions
        from govdata.sharing.schemas import SubscriptionCreate

        with self.as_("hx_officer").act() as ctx:
            out = subscriptions.create_subscription(
                ctx,
                SubscriptionCreate(
                    grant_id=grant_id,
                    name="人员基本信息订阅",
                    mode="table",
                    target_source_id=target_source_id,
                    target_table=target_table,
                ),
            )
        return out.id
