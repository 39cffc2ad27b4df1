"""The classification policy: seeded controls, the security administrator's edits under the
table's rules, and sharing applying it — refused delivery modes, default masks per item grade,
watermarked files, downloads refused once the grade forbids them.

Real stores, real lake tables and a real worker-free delivery (``deliver_now``). Most tests run
on SQLite; the seeding and the edits run on PostgreSQL too.
"""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from govdata.core.clock import now
from govdata.core.errors import InvalidInput, PermissionDenied
from govdata.security import classification, retention, watermark
from govdata.security.classification_schemas import ControlsUpdate
from govdata.security.models import AuditRecord
from govdata.sharing import policy, subscriptions
from govdata.sharing.jobs import deliver_now
from govdata.sharing.models import Grant, SubscriptionRun
from govdata.sharing.schemas import PolicyUpdate, SubscriptionCreate
from govdata.sharing.vocab import StepKind
from tests.conftest import fresh_store
from tests.identity.conftest import Org
from tests.sharing.conftest import World, org, settings, world

__all__ = ["org", "settings", "world"]


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLite unless a test asks for PostgreSQL too (indirect parametrisation)."""
    yield from fresh_store(getattr(request, "param", "sqlite"), tmp_path, request)


BOTH_STORES = pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)


def update(org: Org, user: str, grades: dict[str, dict[str, Any]]) -> list[Any]:
    with org.as_(user).act() as ctx:
        return classification.update_controls(
            ctx, ControlsUpdate.model_validate({"grades": grades})
        )


def table(org: Org) -> dict[int, classification.GradeControls]:
    with org.db.transaction() as s:
        return classification.policy_table(s)


def audits(org: Org, action: str) -> list[AuditRecord]:
    with org.db.transaction() as s:
        rows = list(s.scalars(select(AuditRecord).where(AuditRecord.action == action)))
        for row in rows:
            s.expunge(row)
        return rows


# -- the table --------------------------------------------------------------------------------


@BOTH_STORES
def test_seeded_controls_keep_what_sharing_did_and_what_the_rules_require(org: Org) -> None:
    t = table(org)
    assert [t[g].allow_download for g in (1, 2, 3, 4)] == [True, True, True, False]
    assert all(t[g].default_mask for g in (1, 2, 3, 4))
    assert [t[g].encrypt_at_rest for g in (1, 2, 3, 4)] == [False, False, True, True]
    assert [t[g].watermark for g in (1, 2, 3, 4)] == [False, False, True, True]
    assert all(t[g].retention_days is None for g in (1, 2, 3, 4))
    # Who approves is the sharing policy's: grades 3–4 keep the operator.
    assert [t[g].approval_chain for g in (1, 2, 3, 4)] == [(), (), ("operator",), ("operator",)]
    with org.db.transaction() as s:
        assert classification.check(s, 3, "file").grade == 3
        with pytest.raises(InvalidInput) as caught:
            classification.check(s, 4, classification.Operation.EXPORT)
        assert caught.value.code == "classification_forbidden"
        assert classification.check(s, 4, "api").allows("subscription")
        with pytest.raises(InvalidInput):
            classification.controls_for(s, 5)


@BOTH_STORES
def test_the_security_administrator_edits_the_table_under_its_rules(org: Org) -> None:
    with pytest.raises(PermissionDenied):
        update(org, "operator", {"1": {"watermark": True}})

    def refused(grades: dict[str, dict[str, Any]]) -> list[str]:
        before = table(org)
        with pytest.raises(InvalidInput) as caught:
            update(org, "secadmin", grades)
        assert caught.value.code == "classification_policy_invalid"
        assert table(org) == before  # nothing changed
        return [p["rule"] for p in caught.value.details["problems"]]

    assert refused({"4": {"allow_download": True}}) == ["core data is never downloaded"]
    assert "grades 3–4 are encrypted at rest" in refused({"3": {"encrypt_at_rest": False}})
    assert "grades 3–4 mask personal data" in refused({"4": {"default_mask": False}})
    assert refused({"3": {"watermark": False}}) == ["files of grades 3–4 carry a watermark"]
    # A higher grade is never looser than a lower one.
    assert refused({"2": {"allow_download": False}}) == ["looser than grade 2 (allows downloads)"]
    assert refused({"1": {"encrypt_at_rest": True}}) == [
        "looser than grade 1 (skips encryption at rest)"
    ]

    out = update(
        org,
        "secadmin",
        {
            "2": {"allow_download": False, "encrypt_at_rest": True},
            "3": {"allow_download": False, "retention_days": 30},
        },
    )
    assert [(c.grade, c.allow_download, c.encrypt_at_rest, c.retention_days) for c in out] == [
        (1, True, False, None),
        (2, False, True, None),
        (3, False, True, 30),
        (4, False, True, None),
    ]
    assert out[1].updated_by == "secadmin"
    (record,) = audits(org, "security.classification.update")
    assert record.details is not None
    assert record.details["before"]["3"]["retention_days"] is None
    assert record.details["after"]["3"]["retention_days"] == 30
    assert update(org, "secadmin", {"3": {"retention_days": 0}})[2].retention_days is None

    # Everyone working with the catalog reads the table; the sharing policy's chains show in it.
    with org.as_("operator").act() as ctx:
        policy.update_policy(ctx, PolicyUpdate(grade_chains={"2": [StepKind.OPERATOR]}))
    with org.as_("cd_clerk").act() as ctx:
        read = classification.get_controls(ctx)
    assert [c.approval_chain for c in read] == [[], ["operator"], ["operator"], ["operator"]]
    assert read[3].label == "四级（核心数据）"


# -- sharing applies it -----------------------------------------------------------------------


def test_core_data_cannot_be_applied_for_as_files(world: World) -> None:
    entry = world.entry(grade=4)
    with pytest.raises(InvalidInput) as caught:
        world.apply(entry, delivery_modes=["api", "file"])
    assert caught.value.code == "classification_forbidden"
    assert caught.value.details == {"grade": 4, "operation": "file"}
    app = world.apply(entry, delivery_modes=["api", "subscription"])
    assert app.current_step == "operator"  # grade 4 keeps the operator's approval


def grant_masks(world: World, grant_id: str) -> dict[str, str]:
    with world.org.db.transaction() as s:
        grant = s.get(Grant, grant_id)
        assert grant is not None
        return dict(grant.masks)


def test_default_masks_follow_the_controls_of_each_items_grade(world: World) -> None:
    entry = world.entry()  # grade 2: every item graded 1 or 2
    first = world.apply(entry, clear_items=["姓名"])
    assert first.grant_id is not None
    assert grant_masks(world, first.grant_id) == {
        "公民身份号码": "resident_id",
        "姓名": "clear",
        "手机号码": "phone",
    }
    update(world.org, "secadmin", {"1": {"default_mask": False}, "2": {"default_mask": False}})
    second = world.apply(entry, "cd_clerk")
    assert second.grant_id is not None
    assert grant_masks(world, second.grant_id) == {
        "公民身份号码": "clear",
        "姓名": "clear",
        "手机号码": "clear",
    }


def read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    return list(csv.reader(io.StringIO(raw[3:].decode("utf-8"))))


def file_grant(world: World, entry: Any, user: str) -> str:
    app = world.apply(entry, user, delivery_modes=["file"])
    if app.grant_id is None:  # grade 3: the operator approves too
        app = world.decide(app.id, "operator")
    assert app.grant_id is not None
    return app.grant_id


def subscribe(world: World, user: str, grant_id: str, fmt: str) -> str:
    with world.caller(user).act() as ctx:
        out = subscriptions.create_subscription(
            ctx,
            SubscriptionCreate(grant_id=grant_id, name="户籍订阅", mode="file", file_format=fmt),
        )
    return out.id


def run_of(world: World, run_id: str) -> SubscriptionRun:
    with world.org.db.transaction() as s:
        run = s.get(SubscriptionRun, run_id)
        assert run is not None
        s.expunge(run)
        return run


def test_files_of_important_data_are_watermarked_and_stop_when_the_grade_forbids_them(
    world: World,
) -> None:
    db, settings = world.org.db, world.org.settings
    important = world.mounted("physical", grade=3)
    general = world.mounted("physical")
    csv_grant = file_grant(world, important, "hx_officer")
    csv_sub = subscribe(world, "hx_officer", csv_grant, "csv")
    pq_grant = file_grant(world, important, "cd_clerk")
    pq_sub = subscribe(world, "cd_clerk", pq_grant, "parquet")
    plain_sub = subscribe(world, "hx_officer", file_grant(world, general, "hx_officer"), "csv")
    with db.transaction() as s:
        codes = {g.id: g.code for g in s.scalars(select(Grant))}

    at = now()
    assert run_of(world, deliver_now(db, settings, csv_sub)).files == ["full-v1.csv"]
    header, *rows = read_csv(settings.delivery_dir / csv_sub / "full-v1.csv")
    assert header[-1] == "_watermark" and len(rows) == 5
    # The consumer, the grant and the delivery time (to the second, so compare up to the day).
    (mark,) = {row[-1] for row in rows}
    assert mark.startswith(watermark.watermark_text("海西州统计局", codes[csv_grant], at)[:-8])

    assert run_of(world, deliver_now(db, settings, pq_sub)).files == ["full-v1.parquet"]
    got = pq.read_table(settings.delivery_dir / pq_sub / "full-v1.parquet")
    text = got.schema.metadata[watermark.METADATA_KEY].decode()
    assert "城东区卫生健康局" in text and codes[pq_grant] in text
    assert set(got.column("_watermark").to_pylist()) == {text}

    # General data (grade 2) is not watermarked.
    assert run_of(world, deliver_now(db, settings, plain_sub)).files == ["full-v1.csv"]
    header, *_ = read_csv(settings.delivery_dir / plain_sub / "full-v1.csv")
    assert "_watermark" not in header

    # Retention: a copy older than its grade allows is reported (nothing is deleted).
    update(world.org, "secadmin", {"2": {"retention_days": 2}})
    old = settings.delivery_dir / plain_sub / "full-v1.csv"
    three_days_ago = time.time() - 3 * 86_400
    os.utime(old, (three_days_ago, three_days_ago))
    with world.caller("secadmin").act() as ctx:
        report = retention.retention_report(ctx)
    assert [(r.subscription_id, r.file, r.grade, r.age_days, r.retention_days) for r in report] == [
        (plain_sub, "full-v1.csv", 2, 3, 2)
    ]
    assert report[0].consumer_department_name == "海西州统计局" and old.is_file()
    with world.caller("operator").act() as ctx, pytest.raises(PermissionDenied):
        retention.retention_report(ctx)

    # Grade 3 may no longer leave as files: downloads and new deliveries are refused.
    update(world.org, "secadmin", {"3": {"allow_download": False}})
    with world.caller("hx_officer").act() as ctx, pytest.raises(InvalidInput) as caught:
        subscriptions.open_delivery_file(ctx, csv_sub, "full-v1.csv")
    assert caught.value.code == "classification_forbidden"
    (settings.delivery_dir / csv_sub / "full-v1.csv").unlink()
    refused = run_of(world, deliver_now(db, settings, csv_sub))
    assert refused.status == "failed" and refused.error_code == "classification_forbidden"
    with world.caller("hx_officer").act() as ctx:
        assert subscriptions.open_delivery_file(ctx, plain_sub, "full-v1.csv").is_file()


def test_workbooks_carry_the_watermark_in_properties_and_headers(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.append(["公民身份号码", "姓名"])
    book.create_sheet("第二页")
    text = watermark.watermark_text("海西州统计局 & 格尔木", "SQ-G-20260101-0001", now())
    watermark.watermark_workbook(book, text)
    path = tmp_path / "export.xlsx"
    book.save(path)
    again = openpyxl.load_workbook(path)
    assert again.properties.description == text
    for sheet in again.worksheets:
        assert sheet.oddHeader.center.text == text.replace("&", "&&")
    assert "海西州统计局" in text and "SQ-G-20260101-0001" in text
