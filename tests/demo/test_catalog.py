"""The demo catalogue: seeded through the catalog actions, matching the real source schemas."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from govdata.catalog import actions
from govdata.catalog.models import CatalogEntry, EntryEvent
from govdata.catalog.schemas import EntryOut
from govdata.catalog.search import SearchParams, search_entries
from govdata.config import Settings
from govdata.core.db import Database
from govdata.demo.catalog import seed_catalog
from govdata.demo.catalog_plan import SOURCE_SYSTEMS, plan_catalog
from govdata.demo.province import seed_province
from govdata.demo.sources.writer import (
    MariaDBSettings,
    MariaDBSink,
    drop_mariadb_databases,
    mariadb_connect,
)
from govdata.identity import auth
from govdata.identity.models import User
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM
from tests import services

RESOURCE_CODE = re.compile(r"^(\d{6,8})/(\d{6})$")


def _settings(data_dir: Path, url: str) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=url,
        secret_key="test-secret-key-" + "x" * 32,
        embedded_worker=False,
        demo_mode=True,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )


@pytest.fixture(scope="module")
def demo_catalog(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Database, Settings, int]]:
    """One SQLite store with the demo province and its whole catalogue, shared by the module."""
    root = tmp_path_factory.mktemp("demo_catalog")
    store = root / "govdata.db"
    shutil.copy(sqlite_template, store)
    settings = _settings(root / "data", f"sqlite:///{store}")
    db = Database(settings.db_url)
    seed_province(db, settings)
    count = seed_catalog(db, settings)
    yield db, settings, count
    db.dispose()


def caller_for(db: Database, settings: Settings, username: str) -> Caller:
    with db.transaction() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        return Caller(db, settings, auth.actor_for_user(user), "test")


def _system(db: Database, settings: Settings) -> Caller:
    return Caller(db, settings, SYSTEM, "test")


def _entries(db: Database, **where: Any) -> list[CatalogEntry]:
    """Catalogue rows (read straight from the store, so these tests do not depend on search)."""
    with db.transaction() as s:
        rows = list(s.scalars(select(CatalogEntry).filter_by(**where)))
        s.expunge_all()
    return rows


def _entry(caller: Caller, ref: str) -> EntryOut:
    with caller.act() as ctx:
        return actions.get_entry(ctx, ref)


def test_the_plan_is_large_varied_and_deterministic() -> None:
    first, again = plan_catalog(), plan_catalog()
    assert [p.content for p in first] == [p.content for p in again]
    assert len(first) >= 300
    assert sum(1 for p in first if p.source is None) >= 280
    assert all(4 <= len(p.content.items) <= 20 for p in first)
    by_department = Counter(p.department for p in first)
    assert len(by_department) >= 100  # every provincial department and most bureaus
    assert all(by_department[code] >= 5 for code in ("police", "civil", "hrss", "market"))
    names = Counter((p.department, p.content.name) for p in first)
    assert max(names.values()) == 1
    assert any(p.content.name.startswith("西宁市") for p in first)


def test_the_catalogue_holds_every_state(demo_catalog: tuple[Database, Settings, int]) -> None:
    db, settings, count = demo_catalog
    system = _system(db, settings)
    entries = _entries(db)
    assert len(entries) == count == len(plan_catalog()) >= 300
    statuses = Counter(e.status for e in entries)
    assert statuses["published"] >= 250
    assert statuses["submitted"] >= 10 and statuses["draft"] >= 10
    assert statuses["returned"] >= 5 and statuses["withdrawn"] >= 1
    revising = [e for e in entries if e.status == "published" and e.working_status == "submitted"]
    assert revising

    codes = [e.resource_code for e in entries]
    assert len(set(codes)) == len(codes)
    for e in entries:
        match = RESOURCE_CODE.match(e.resource_code)
        assert match and match.group(1) == e.class_code, e.resource_code
    with system.act() as ctx:
        known = {n.code for n in _flatten(actions.class_tree(ctx).items)}
    assert {e.class_code for e in entries} <= known
    grades = Counter(e.grade for e in entries)
    assert set(grades) == {1, 2, 3, 4}
    assert {e.share_type for e in entries} == {"unconditional", "conditional", "none"}
    assert {e.open_type for e in entries} == {"open", "conditional", "closed"}
    assert not [e for e in entries if e.grade == 4 and e.open_type != "closed"]


def _flatten(nodes: list[Any]) -> Iterator[Any]:
    for node in nodes:
        yield node
        yield from _flatten(node.children)


def test_published_entries_pass_the_conformance_check(
    demo_catalog: tuple[Database, Settings, int],
) -> None:
    db, settings, _ = demo_catalog
    system = _system(db, settings)
    published = _entries(db, status="published")
    with system.act() as ctx:
        for e in published:
            errors = [f for f in actions.check_entry(ctx, e.id) if f.severity == "error"]
            assert not errors, (e.name, errors)


def _columns(db_file: Path, table: str) -> list[tuple[str, str, int]]:
    """(name, declared type, is primary key) of each column, as the source database has them."""
    conn = sqlite3.connect(db_file)
    try:
        rows = conn.execute(f"PRAGMA table_info({table})").fetchall()
    finally:
        conn.close()
    return [(r[1], r[2], r[5]) for r in rows]


TYPES = {
    "INTEGER": "integer",
    "BIGINT": "integer",
    "INT": "integer",
    "CHAR": "string",
    "VARCHAR": "string",
    "DATE": "date",
    "DATETIME": "datetime",
    "DECIMAL": "decimal",
}


def test_source_tables_are_catalogued_with_their_real_columns(
    demo_catalog: tuple[Database, Settings, int],
    sqlite_sources: tuple[Path, dict[str, Any]],
) -> None:
    db, settings, _ = demo_catalog
    out, manifest = sqlite_sources
    assert {s["code"] for s in manifest["systems"]} == {s.code for s in SOURCE_SYSTEMS}
    for source in manifest["systems"]:
        officer = caller_for(db, settings, f"{source['department']}_officer")
        for table in source["tables"]:
            found = _entries(db, provider_code=source["department"])
            matches = [e for e in found if e.name == table["comment"]]
            assert len(matches) == 1, (source["code"], table["name"])
            entry = _entry(officer, matches[0].id)
            assert entry.status == "published"
            assert entry.provider.code == source["department"]
            real = _columns(out / source["path"], table["name"])
            items = entry.current.items
            assert [i.name_en for i in items] == [name for name, _, _ in real]
            for item, (name, declared, pk) in zip(items, real, strict=True):
                base = re.match(r"\w+", declared)
                assert base and item.data_type == TYPES[base.group(0)], (name, declared)
                size = re.search(r"\((\d+)", declared)
                if item.data_type == "string":
                    assert size and item.length == int(size.group(1))
                assert item.is_key == bool(pk)
                assert not re.search(r"[A-Za-z]{3}", item.name), item.name  # a Chinese label
                if "resident_id" in name or name in ("phone", "address"):
                    assert item.is_sensitive and item.grade >= 3, name
                    assert item.share_type != "unconditional"
                    assert entry.grade >= 3
            elements = {i.name_en: i.data_element for i in items}
            if "resident_id" in elements:
                assert elements["resident_id"] == "DE00001"


def test_source_tables_match_their_mariadb_schema_too(
    demo_catalog: tuple[Database, Settings, int],
) -> None:
    """The MariaDB variant of the sources: names, types, lengths and column comments agree."""
    services.need("MariaDB", services.mariadb_up())
    db, settings, _ = demo_catalog
    maria = MariaDBSettings.model_validate(
        {**services.MARIADB, "prefix": f"govdata_cattest_{os.getpid()}_"}
    )
    try:
        for system in SOURCE_SYSTEMS:
            # Tables only: the schema is what the catalogue describes.
            MariaDBSink(maria, maria.prefix + system.code, system).finish()
            conn = mariadb_connect(maria)
            try:
                with conn.cursor() as cur:
                    cur.execute(
                        "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, "
                        "NUMERIC_PRECISION, COLUMN_COMMENT FROM information_schema.COLUMNS "
                        "WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME, ORDINAL_POSITION",
                        (maria.prefix + system.code,),
                    )
                    rows = list(cur.fetchall())
            finally:
                conn.close()
            for table in system.tables:
                real = [r for r in rows if r[0] == table.name]
                entry_row = next(
                    e
                    for e in _entries(db, provider_code=system.department)
                    if e.name == table.comment
                )
                items = _entry(_system(db, settings), entry_row.id).current.items
                assert [i.name_en for i in items] == [r[1] for r in real]
                for item, (_, column, kind, chars, digits, comment) in zip(
                    items, real, strict=True
                ):
                    assert item.data_type == TYPES[kind.upper()], column
                    if item.data_type == "string":
                        assert item.length == chars, column
                    if item.data_type == "decimal":
                        assert item.length == digits, column
                    assert comment.startswith(item.name), (column, comment, item.name)
                    assert item.description in (None, comment)
    finally:
        drop_mariadb_databases(maria, maria.prefix)


def test_search_finds_the_household_register_first(
    demo_catalog: tuple[Database, Settings, int],
) -> None:
    db, settings, _ = demo_catalog
    reader = caller_for(db, settings, "xn_edu_user")
    with reader.act() as ctx:
        result = search_entries(ctx, SearchParams(q="户籍", limit=5))
    assert result.items[0].provider.code == "police"
    assert "户籍人口信息" in [e.name for e in result.items[:2]]
    assert all(e.status == "published" for e in result.items)


def test_the_workflow_left_a_real_trail(demo_catalog: tuple[Database, Settings, int]) -> None:
    db, settings, _ = demo_catalog
    operator = caller_for(db, settings, "operator")
    with operator.act() as ctx:
        queue = actions.review_queue(ctx, limit=200)
    assert queue.total >= 10
    assert any(e.provider.region_code == "630000" for e in queue.items)
    region = caller_for(db, settings, "xn_operator")
    with region.act() as ctx:
        local_queue = actions.review_queue(ctx, limit=200)
    assert all(e.provider.region_code == "630100" for e in local_queue.items)
    assert {e.id for e in local_queue.items} <= {e.id for e in queue.items}

    with db.transaction() as s:
        events = s.execute(
            select(CatalogEntry.provider_code, EntryEvent.action, EntryEvent.actor_name).join(
                EntryEvent, EntryEvent.entry_id == CatalogEntry.id
            )
        ).all()
    creators = {(code, actor) for code, action, actor in events if action == "create"}
    assert all(actor == f"{code}_officer" for code, actor in creators)
    publishers = {actor for code, action, actor in events if action == "publish"}
    assert "operator" in publishers and "xn_operator" in publishers

    system = _system(db, settings)
    returned = _entries(db, status="returned")
    entry = _entry(system, returned[0].id)
    assert entry.working is not None and entry.working.review_reasons

    withdrawn = _entries(db, status="withdrawn")
    assert _entry(system, withdrawn[0].id).withdrawn_reason

    revised = [e for e in _entries(db, latest_version_no=2) if e.working_status is None]
    assert len(revised) >= 5
    with system.act() as ctx:
        diff = actions.diff_versions(ctx, revised[0].id, 1, 2)
    assert [(c.name, c.change) for c in diff.items] == [("数据更新时间", "added")]
    assert "summary" in {f.field for f in diff.fields}


def test_seeding_again_adds_nothing(demo_catalog: tuple[Database, Settings, int]) -> None:
    db, settings, count = demo_catalog
    assert seed_catalog(db, settings) == count
    assert len(_entries(db)) == count


def test_seeding_works_on_postgres(pg_store_url: str, tmp_path: Path) -> None:
    """A few departments on PostgreSQL: the same actions, the same checks."""
    settings = _settings(tmp_path / "data", pg_store_url)
    db = Database(settings.db_url)
    try:
        seed_province(db, settings)
        chosen = {"police", "market", "xn_civil"}
        # As after an interrupted build: one department done, then the whole run again.
        expected = [p for p in plan_catalog() if p.department in chosen]
        police = sum(1 for p in expected if p.department == "police")
        assert seed_catalog(db, settings, departments={"police"}) == police
        count = seed_catalog(db, settings, departments=chosen)
        assert count == len(expected)
        system = _system(db, settings)
        entries = _entries(db)
        assert len(entries) == count
        assert {e.provider_code for e in entries} == chosen
        with system.act() as ctx:
            for e in entries:
                if e.status == "published":
                    findings = actions.check_entry(ctx, e.id)
                    assert not [f for f in findings if f.severity == "error"], e.name
        with system.act() as ctx:
            result = search_entries(ctx, SearchParams(q="户籍", limit=3))
        assert result.items[0].provider.code == "police"
    finally:
        db.dispose()
