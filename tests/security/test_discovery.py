"""Sensitive-data discovery on real data: a lake table and a SQLite source table with planted
values (valid and checksum-invalid resident IDs — only the valid ones count), scans run as jobs
by a real worker, suggestions accepted into a draft version of the catalog entry, and accepted
mask kinds masking new grants.

SQLite store (the scan's storage is plain ORM rows; the classification tests cover
PostgreSQL).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from govdata.app import create_app
from govdata.catalog import actions as catalog_actions
from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from govdata.core.jobs.models import Job
from govdata.core.jobs.worker import Worker
from govdata.exchange import mounts
from govdata.exchange.models import Mount
from govdata.exchange.schemas import MappingColumn, MountCreate
from govdata.lake.tables import Lake
from govdata.security import classification, discovery, discovery_actions
from govdata.security.classification_schemas import ScanCreate, ScanOut, SuggestionDecision
from govdata.security.models import AuditRecord
from govdata.sharing.models import Grant
from tests.conftest import fresh_store
from tests.governance.test_validators import luhn_digit, make_cc, make_id
from tests.identity.conftest import PASSWORD
from tests.sharing.conftest import World, add_sqlite_source, org, settings, world
from tests.web.conftest import csrf_from

__all__ = ["org", "settings", "world"]

ROWS = 1000
# item, column (= field), what it holds
COLUMNS = [
    ("编号", "bh", "resident IDs, 60% with a valid check character"),
    ("伪号", "wh", "resident IDs, every one with a wrong check character"),
    ("联络", "lx", "mobile numbers"),
    ("备注一", "yx", "e-mail addresses in three rows of four"),
    ("备注二", "dz", "addresses"),
    ("经办", "jb", "personal names"),
    ("单位代码", "dm", "unified social credit codes"),
    ("账户", "zh", "bank card numbers"),
    ("年龄", "nl", "integers"),
]
NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "欧阳修", "阿依古丽·买买提"]
DIVISIONS = ["630102", "632801", "110105", "440305"]


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_store("sqlite", tmp_path, request)


def _wrong(number: str) -> str:
    check = number[-1]
    return number[:-1] + ("0" if check != "0" else "1")


def planted(n: int = ROWS) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        born = (date(1950, 1, 1) + timedelta(days=11 * i)).strftime("%Y%m%d")
        rid = make_id(DIVISIONS[i % 4], born, f"{i % 1000:03d}")
        card = "622202" + f"{i:09d}"
        rows.append(
            {
                "bh": rid if i % 10 < 6 else _wrong(rid),
                "wh": _wrong(make_id(DIVISIONS[(i + 1) % 4], born, f"{(i * 7) % 1000:03d}")),
                "lx": f"13{i:09d}",
                "yx": f"user{i}@example.cn" if i % 4 != 3 else "无",
                "dz": f"青海省西宁市城东区八一路{i}号",
                "jb": NAMES[i % len(NAMES)],
                "dm": make_cc("9", "1", "630100", f"MA{i:06d}"),
                "zh": card + luhn_digit(card),
                "nl": i % 90,
            }
        )
    return rows


SCHEMA = pa.schema(
    [(column, pa.int64() if column == "nl" else pa.string()) for _item, column, _ in COLUMNS]
)


def source_file(path: Path, rows: list[dict[str, Any]]) -> Path:
    conn = sqlite3.connect(path)
    columns = ", ".join(f"{c} {'INTEGER' if c == 'nl' else 'TEXT'}" for _i, c, _ in COLUMNS)
    for table in ("planted", "unmapped"):
        conn.execute(f"CREATE TABLE {table} ({columns})")
        conn.executemany(
            f"INSERT INTO {table} VALUES ({', '.join('?' * len(COLUMNS))})",
            [tuple(r[c] for _i, c, _ in COLUMNS) for r in rows],
        )
    conn.commit()
    conn.close()
    return path


def neutral_entry(world: World) -> Any:
    """An entry whose item names say nothing about what the values are."""
    items = [
        {
            "name": item,
            "name_en": column,
            "data_type": "integer" if column == "nl" else "string",
            "length": None if column == "nl" else 64,
            "is_key": column == "bh",
            "grade": 1,
        }
        for item, column, _ in COLUMNS
    ]
    return world.entry(name="经办登记台账", grade=1, items=items, share_modes=["api"])


def mounted_lake(world: World, rows: list[dict[str, Any]]) -> tuple[Any, str]:
    entry = neutral_entry(world)
    source_id = add_sqlite_source(world.org, "xn_stats", source_file(world.tmp / "p.db", rows[:50]))
    with world.org.as_("xn_officer").act() as ctx:
        out = mounts.create_mount(
            ctx,
            MountCreate(
                entry_id=entry.id,
                source_id=source_id,
                target="planted",
                mode="physical",
                columns=[
                    MappingColumn(
                        item=item, column=c, field=c, type="int64" if c == "nl" else "string"
                    )
                    for item, c, _ in COLUMNS
                ],
                key_columns=["bh"],
            ),
        )
    with world.org.db.transaction() as s:
        mount = s.get(Mount, out.id)
        assert mount is not None and mount.lake_table
        table = mount.lake_table
    lake = Lake.from_settings(world.org.settings)
    lake.create(table, SCHEMA, entry_id=entry.id)
    lake.overwrite(table, pa.Table.from_pylist(rows, SCHEMA))
    return entry, source_id


def start(world: World, user: str = "xn_officer", **data: Any) -> ScanOut:
    with world.caller(user).act() as ctx:
        return discovery_actions.start_scan(ctx, ScanCreate(**data))


def run(world: World, scan_id: str, user: str = "xn_officer") -> ScanOut:
    Worker(world.org.db, world.org.settings).run_until_idle()
    with world.caller(user).act() as ctx:
        return discovery_actions.get_scan(ctx, scan_id)


def by_column(scan: ScanOut) -> dict[str, Any]:
    return {c.column: c for c in scan.columns}


def test_a_lake_table_is_sampled_and_its_suggestions_go_through_the_catalog(world: World) -> None:
    rows = planted()
    entry, _source = mounted_lake(world, rows)
    queued = start(world, entry=entry.resource_code, sample_rows=400)
    assert queued.status == "queued" and queued.job_id
    scan = run(world, queued.id)
    assert scan.status == "succeeded", scan.error_message
    assert scan.rows_sampled == 400
    with world.org.db.transaction() as s:
        job = s.get(Job, queued.job_id)
        assert job is not None and job.status == "succeeded"
        assert (job.progress_done, job.progress_total) == (3, 3)

    found = by_column(scan)
    assert {c: f.kind for c, f in found.items()} == {
        "bh": "resident_id",
        "wh": found["wh"].kind,  # a wrong check character: never a resident ID
        "lx": "mobile",
        "yx": "email",
        "dz": "address",
        "jb": "name",
        "dm": "credit_code",
        "zh": "bank_card",
        "nl": None,
    }
    assert "resident_id" not in found["wh"].counts and found["wh"].state == "none"
    assert 0.5 <= found["bh"].hit_rate <= 0.7  # 60% planted valid, sampled
    for column in ("lx", "dz", "jb", "dm", "zh"):
        assert found[column].hit_rate == 1.0, column
    assert 0.65 <= found["yx"].hit_rate <= 0.85
    # Examples are masked: no planted value appears whole.
    plain = {str(r[c]) for r in rows for c in ("bh", "lx", "dz", "jb", "zh", "yx")}
    examples = [e for f in scan.columns for e in f.examples]
    assert examples and all("*" in e and e not in plain for e in examples)
    assert found["bh"].examples[0][:6] in DIVISIONS

    assert (found["bh"].suggest_sensitive, found["bh"].suggest_mask, found["bh"].suggest_grade) == (
        True,
        "resident_id",
        3,
    )
    assert {c for c, f in found.items() if f.state == "pending"} == {
        "bh",
        "lx",
        "yx",
        "dz",
        "jb",
        "zh",
    }
    assert found["dm"].state == "none"  # a public organisation identifier: nothing to change
    assert (scan.entry_grade, scan.suggested_grade, scan.grade_state) == (1, 3, "pending")

    # Only pending suggestions can be decided, by the department's officers.
    def decide(user: str, accept: bool, **data: Any) -> Any:
        decision = SuggestionDecision(**data)
        with world.caller(user).act() as ctx:
            if accept:
                return discovery_actions.accept_suggestions(ctx, scan.id, decision)
            return discovery_actions.dismiss_suggestions(ctx, scan.id, decision)

    with pytest.raises(InvalidInput):
        decide("xn_officer", True, columns=[found["dm"].id])
    with pytest.raises(PermissionDenied):
        decide("xn_clerk", True, columns=[found["bh"].id])

    accepted = decide(
        "xn_officer", True, columns=[found[c].id for c in ("bh", "lx", "jb")], grade=True
    )
    assert accepted.version_no == 2
    decided = by_column(accepted.scan)
    assert [decided[c].state for c in ("bh", "lx", "jb", "yx")] == [
        "accepted",
        "accepted",
        "accepted",
        "pending",
    ]
    assert accepted.scan.grade_state == "accepted"
    dismissed = decide("xn_officer", False, columns=[found["yx"].id])
    assert by_column(dismissed.scan)["yx"].state == "dismissed"

    # The change is a draft of version 2; the published version 1 is untouched.
    with world.caller("xn_officer").act() as ctx:
        out = catalog_actions.get_entry(ctx, entry.id)
    assert out.status == "published" and out.current.version_no == 1 and out.current.grade == 1
    assert out.working is not None and out.working.status == "draft"
    assert out.working.grade == 3
    items = {i.name: i for i in out.working.items}
    assert (items["编号"].is_sensitive, items["编号"].grade) == (True, 3)
    assert (items["联络"].is_sensitive, items["联络"].grade) == (True, 3)
    assert (items["经办"].is_sensitive, items["经办"].grade) == (False, 2)
    assert (items["备注一"].is_sensitive, items["备注一"].grade) == (False, 1)
    assert "采纳敏感数据识别建议" in (out.working.change_note or "")
    with world.org.db.transaction() as s:
        actions = [
            a for a in s.scalars(select(AuditRecord.action)) if a.startswith("security.discovery")
        ]
    assert actions == [
        "security.discovery.start",
        "security.discovery.scan",
        "security.discovery.accept",
        "security.discovery.dismiss",
    ]

    # New grants mask what the officer accepted, though the published names say nothing.
    app = world.apply(entry, "cd_clerk", items=["编号", "联络", "经办", "备注一", "年龄"])
    assert app.grant_id is not None
    with world.org.db.transaction() as s:
        grant = s.get(Grant, app.grant_id)
        assert grant is not None
        assert grant.masks == {"编号": "resident_id", "联络": "phone", "经办": "name"}

    # While the draft is under review, accepting more waits for the review to end.
    with world.caller("xn_officer").act() as ctx:
        catalog_actions.submit_entry(ctx, entry.id)
    with pytest.raises(Conflict) as caught:
        decide("xn_officer", True, columns=[found["zh"].id])
    assert caught.value.code == "entry_under_review"


def test_a_source_table_is_read_through_its_connector(world: World) -> None:
    rows = planted(200)
    path = source_file(world.tmp / "src.db", rows)
    source_id = add_sqlite_source(world.org, "xn_stats", path)
    scan = run(world, start(world, source_id=source_id, table="unmapped", sample_rows=150).id)
    assert scan.status == "succeeded", scan.error_message
    assert scan.entry_id is None and scan.rows_sampled == 150  # the first 150 rows
    found = by_column(scan)
    valid = sum(1 for i in range(150) if i % 10 < 6)
    assert found["bh"].counts["resident_id"] == valid == found["bh"].hits
    assert found["bh"].hit_rate == pytest.approx(valid / 150, abs=1e-4)
    assert "resident_id" not in found["wh"].counts
    assert found["lx"].counts == {"mobile": 150}
    emails = sum(1 for i in range(150) if i % 4 != 3)
    assert found["yx"].counts == {"email": emails} and found["yx"].non_empty == 150
    assert found["zh"].counts == {"bank_card": 150}
    assert found["dm"].counts == {"credit_code": 150}
    # No entry holds this table: findings and suggestions, nothing to accept.
    assert all(c.item is None and c.state == "none" for c in scan.columns)
    assert found["bh"].suggest_grade == 3 and scan.grade_state is None


def test_who_may_scan_and_read_scans(world: World) -> None:
    entry = world.mounted("physical")
    with pytest.raises(PermissionDenied):
        start(world, "hx_officer", entry=entry.id)
    with pytest.raises(PermissionDenied):
        start(world, "secadmin", entry=entry.id)
    with pytest.raises(InvalidInput) as caught:
        start(world, entry="no-such-entry")
    assert caught.value.code == "discovery_target_invalid"
    scan = run(world, start(world, entry=entry.id, sample_rows=10).id)
    assert scan.status == "succeeded"
    # PEOPLE's IDs do not carry valid check characters: the column is not resident IDs.
    assert by_column(scan)["resident_id"].counts.get("resident_id") is None
    assert by_column(scan)["phone"].kind == "mobile"
    with world.caller("secadmin").act() as ctx:
        assert discovery_actions.get_scan(ctx, scan.id).id == scan.id
        assert [s.id for s in discovery_actions.list_scans(ctx).items] == [scan.id]
    with world.caller("hx_officer").act() as ctx:
        with pytest.raises(NotFound):
            discovery_actions.get_scan(ctx, scan.id)
        assert discovery_actions.list_scans(ctx).items == []
    for user in ("cd_clerk", "operator"):
        with world.caller(user).act() as ctx, pytest.raises(PermissionDenied):
            discovery_actions.get_scan(ctx, scan.id)


def test_a_scan_without_data_fails_with_a_reason(world: World) -> None:
    entry = world.mounted("physical")
    with world.org.db.transaction() as s:
        table = s.scalars(select(Mount.lake_table).where(Mount.entry_id == entry.id)).one()
    assert table
    lake = Lake.from_settings(world.org.settings)
    scan = start(world, entry=entry.id)
    # The lake table goes away before the job runs (e.g. never collected on a fresh node).
    import shutil

    shutil.rmtree(lake.path(table))
    failed = run(world, scan.id)
    assert (failed.status, failed.error_code) == ("failed", "discovery_no_data")


def test_scan_column_judges_values_not_names() -> None:
    sample = pa.table(
        {
            "a": ["11010519491231002X", "11010519491231002x", "110105194912310021", None, " "],
            "b": [13800001111, 13912345678, 12345678901, None, 13700000000],
            "c": [1.5, 2.5, None, None, None],
        }
    )
    found = {f.column: f for f in discovery.scan_sample(sample)}
    assert (found["a"].kind, found["a"].hits, found["a"].non_empty) == ("resident_id", 2, 3)
    assert (found["b"].kind, found["b"].hits, found["b"].non_empty) == ("mobile", 3, 4)
    assert found["c"].kind is None and found["c"].non_empty == 0


# -- the portal ---------------------------------------------------------------------------


def signed_in(world: World, username: str) -> tuple[TestClient, str]:
    app = create_app(world.org.settings.model_copy(update={"demo_mode": True}), migrate=False)
    client = TestClient(app, follow_redirects=False)
    client.__enter__()
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 303, response.text
    return client, csrf_from(client.get("/workbench").text)


def test_the_portal_pages(world: World) -> None:
    rows = planted(60)
    entry, _source = mounted_lake(world, rows)

    sec, token = signed_in(world, "secadmin")
    page = sec.get("/security/classification")
    assert page.status_code == 200
    assert "分类分级管控策略" in page.text and 'id="save-controls"' in page.text
    form = {"csrf_token": token}
    for grade in (1, 2, 3, 4):
        form.update({f"default_mask-{grade}": "1", f"encrypt_at_rest-{grade}": "1"})
        if grade < 4:
            form[f"allow_download-{grade}"] = "1"
        if grade > 2:
            form[f"watermark-{grade}"] = "1"
    bad = sec.post("/security/classification", data={**form, "allow_download-4": "1"})
    assert bad.status_code == 422 and "核心数据不得以文件交付" in bad.text
    saved = sec.post("/security/classification", data={**form, "retention_days-2": "30"})
    assert saved.status_code == 303
    with world.org.db.transaction() as s:
        table = classification.policy_table(s)
    assert table[1].encrypt_at_rest and table[2].retention_days == 30
    assert sec.get("/security/discovery").status_code == 200  # reads scans, cannot start one
    sec.__exit__(None, None, None)

    officer, token = signed_in(world, "xn_officer")
    listing = officer.get("/security/discovery")
    assert listing.status_code == 200 and 'id="scan-form"' in listing.text
    started = officer.post(
        "/security/discovery",
        data={
            "csrf_token": token,
            "target": "entry",
            "entry": entry.resource_code,
            "sample_rows": "100",
        },
    )
    assert started.status_code == 303
    scan_id = started.headers["location"].split("/")[-1].split("?")[0]
    Worker(world.org.db, world.org.settings).run_until_idle()
    page = officer.get(f"/security/discovery/{scan_id}")
    assert page.status_code == 200 and "公民身份号码" in page.text and "待处理" in page.text
    with world.caller("xn_officer").act() as ctx:
        scan = discovery_actions.get_scan(ctx, scan_id)
    bh = by_column(scan)["bh"]
    accepted = officer.post(
        f"/security/discovery/{scan_id}/accept",
        data={"csrf_token": token, "column": bh.id, "grade": "1"},
    )
    assert accepted.status_code == 303
    with world.caller("xn_officer").act() as ctx:
        after = discovery_actions.get_scan(ctx, scan_id)
    assert by_column(after)["bh"].state == "accepted" and after.grade_state == "accepted"
    officer.__exit__(None, None, None)

    clerk, _token = signed_in(world, "cd_clerk")
    assert clerk.get("/security/discovery").status_code == 403
    assert clerk.get("/security/classification").status_code == 200  # read-only table
    clerk.__exit__(None, None, None)
