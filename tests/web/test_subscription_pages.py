"""Subscription pages through real requests: subscribing from a grant, both sides' lists,
sync now with the delivery history polled while it waits, the delivered CSV downloaded
(BOM, masked values, audited), pause, resume and delete, a table delivered into the
consumer's own SQLite database, the provider read-only, a third department shut out, form
errors that keep what was typed, and English."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from govdata.catalog.schemas import EntryOut
from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.jobs.worker import Worker
from govdata.identity.models import Department
from govdata.security.models import AuditRecord
from govdata.sharing.models import Subscription
from govdata.sources.models import SourceSystem
from tests.web.test_catalog_pages import add_other_department, publish
from tests.web.test_sharing_pages import (
    ITEMS,
    _apply,
    _approve,
    _third_department,
    as_user,
    mount_people,
    post,
)

SUB_PATH = re.compile(r"^/sharing/subscriptions/([0-9a-f-]+)\?done=created$")
FILE_LINK = re.compile(r'/sharing/subscriptions/[0-9a-f-]+/files/(full-[^"]+\.csv)"')


@pytest.fixture
def world(client: TestClient, portal_settings: Settings, tmp_path: Path) -> EntryOut:
    """The people entry of 西宁市统计局, offered by API, into tables and as files."""
    add_other_department(portal_settings)
    entry = publish(
        portal_settings,
        "officer1",
        name="户籍人口基本信息",
        grade=2,
        share_modes=["api", "table", "file"],
        items=ITEMS,
    )
    mount_people(portal_settings, entry, tmp_path)
    return entry


def held_grant(client: TestClient, entry: EntryOut, **overrides: Any) -> str:
    """西宁市民政局 applies for files and table subscription; the provider approves."""
    overrides.setdefault("delivery_modes", ["file", "subscription"])
    return _approve(client, _apply(client, entry, **overrides))


def subscribe_form(token: str, **fields: str) -> list[tuple[str, str]]:
    values = {
        "name": "民政户籍订阅",
        "mode": "file",
        "target_source_id": "",
        "target_table": "",
        "file_format": "csv",
        "schedule": "",
        **fields,
    }
    return [("csrf_token", token), *values.items()]


def subscribe(client: TestClient, grant_id: str, **fields: str) -> str:
    token = as_user(client, "civofficer")
    created = post(
        client,
        f"/sharing/subscriptions/new?grant_id={grant_id}",
        subscribe_form(token, **fields),
    )
    assert created.status_code == 303, created.text
    match = SUB_PATH.match(created.headers["location"])
    assert match
    return match.group(1)


def run_jobs(settings: Settings) -> int:
    db = Database(settings.db_url)
    try:
        return Worker(db, settings).run_until_idle()
    finally:
        db.dispose()


def rows_of(settings: Settings, model: type[Any], **where: Any) -> list[Any]:
    db = Database(settings.db_url)
    try:
        with db.transaction() as s:
            stmt = select(model).filter_by(**where)
            found = list(s.scalars(stmt))
            for row in found:
                s.expunge(row)
            return found
    finally:
        db.dispose()


def test_subscribe_from_a_grant_sync_download_pause_resume_and_delete(
    client: TestClient, world: EntryOut, portal_settings: Settings
) -> None:
    grant_id = held_grant(client, world)
    token = as_user(client, "civofficer")
    grant_page = client.get(f"/sharing/grants/{grant_id}").text
    assert f'id="subscribe" href="/sharing/subscriptions/new?grant_id={grant_id}"' in grant_page

    form = client.get(f"/sharing/subscriptions/new?grant_id={grant_id}")
    assert form.status_code == 200
    html = form.text
    assert 'name="name" value="户籍人口基本信息"' in html and "不得转让" in html
    assert 'name="mode" value="table" checked' in html and 'name="mode" value="file"' in html
    assert 'name="file_format"' in html and "0 2 * * *" in html

    # The action's refusals come back in Chinese next to the form, with what was typed.
    url = f"/sharing/subscriptions/new?grant_id={grant_id}"
    no_target = post(client, url, subscribe_form(token, mode="table", target_table="copy"))
    assert no_target.status_code == 422
    assert "库表订阅须指定本部门的目标数据源和目标表" in no_target.text
    assert 'value="民政户籍订阅"' in no_target.text and 'value="copy"' in no_target.text
    bad_cron = post(client, url, subscribe_form(token, schedule="每天两点"))
    assert bad_cron.status_code == 422 and "定时表达式“每天两点”不合法" in bad_cron.text
    assert 'value="每天两点"' in bad_cron.text
    no_name = post(client, url, subscribe_form(token, name=""))
    assert no_name.status_code == 422 and "请检查" in no_name.text and "名称" in no_name.text
    assert rows_of(portal_settings, Subscription) == []

    sub_id = subscribe(client, grant_id)
    page = client.get(f"/sharing/subscriptions/{sub_id}?done=created").text
    assert "订阅已创建，首次交付已加入队列。" in page
    assert 'data-state="active"' in page and "运行中" in page
    assert "不得转让" in page and "为群众办理户籍证明核验身份" in page
    assert 'id="run-now"' in page and 'id="pause"' in page and 'id="delete"' in page
    assert "data-confirm=" in page and 'id="read-only"' not in page
    assert "暂无交付记录。" in page and 'data-polling="off"' in page

    listed = client.get("/sharing/subscriptions").text
    row = listed.split(f'data-subscription="{sub_id}"')[1].split("</tr>")[0]
    assert "民政户籍订阅" in row and "户籍人口基本信息" in row and "西宁市统计局" in row
    assert "文件" in row and "csv" in row and "运行中" in row
    assert 'class="tab is-active" href="/sharing/subscriptions?side=held"' in listed
    assert "我订阅的" in listed and "向我订阅的" in listed

    # Sync now queues a run; the history asks for fresh figures until it is done.
    token = as_user(client, "civofficer")
    queued = post(client, f"/sharing/subscriptions/{sub_id}/run", [("csrf_token", token)])
    assert queued.status_code == 303
    page = client.get(queued.headers["location"]).text
    assert "已加入交付队列。" in page and 'data-run-status="queued"' in page
    assert f'hx-get="/sharing/subscriptions/{sub_id}/delivery" hx-trigger="every 3s"' in page
    waiting = client.get(f"/sharing/subscriptions/{sub_id}/delivery", headers={"HX-Request": "1"})
    assert waiting.status_code == 200 and "<html" not in waiting.text
    assert 'data-polling="on"' in waiting.text and "排队中" in waiting.text
    again = post(client, f"/sharing/subscriptions/{sub_id}/run", [("csrf_token", token)])
    assert again.status_code == 409 and "该订阅已有排队中或运行中的交付" in again.text

    assert run_jobs(portal_settings) >= 1
    panel = client.get(f"/sharing/subscriptions/{sub_id}/delivery").text
    assert 'data-polling="off"' in panel and "hx-trigger" not in panel
    run_row = re.search(r'<tr data-run="[^"]+" data-run-status="succeeded">(.*?)</tr>', panel, re.S)
    assert run_row and '<td class="num">3</td>' in run_row.group(1)  # rows delivered
    page = client.get(f"/sharing/subscriptions/{sub_id}").text
    assert 'id="delivered-files"' in page and "秒" in page.split('id="lag"')[1][:80]
    match = FILE_LINK.search(page)
    assert match, page
    name = match.group(1)

    # The file as downloaded: Excel's BOM, the granted items, masked as granted.
    download = client.get(f"/sharing/subscriptions/{sub_id}/files/{name}")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    assert download.content.startswith(b"\xef\xbb\xbf")
    header, *rows = csv.reader(io.StringIO(download.content[3:].decode("utf-8")))
    assert header == ["resident_id", "name", "age"]
    assert sorted(rows) == [
        ["630102********1234", "张*", "36"],
        ["630102********3456", "李*", "41"],
        ["632801********5678", "王*", "34"],
    ]
    (audit,) = rows_of(portal_settings, AuditRecord, action="sharing.subscription.download")
    assert audit.target_id == sub_id and audit.row_count == 3
    missing = client.get(f"/sharing/subscriptions/{sub_id}/files/full-v9.csv")
    assert missing.status_code == 404

    paused = post(client, f"/sharing/subscriptions/{sub_id}/pause", [("csrf_token", token)])
    assert paused.status_code == 303
    page = client.get(paused.headers["location"]).text
    assert "订阅已暂停。" in page and "已暂停" in page
    assert 'id="resume"' in page and 'id="run-now"' not in page
    refused = post(client, f"/sharing/subscriptions/{sub_id}/run", [("csrf_token", token)])
    assert refused.status_code == 409 and "订阅已暂停，请先恢复" in refused.text
    resumed = post(client, f"/sharing/subscriptions/{sub_id}/resume", [("csrf_token", token)])
    assert resumed.status_code == 303
    page = client.get(resumed.headers["location"]).text
    assert "订阅已恢复" in page and 'data-state="active"' in page and 'id="run-now"' in page

    deleted = post(client, f"/sharing/subscriptions/{sub_id}/delete", [("csrf_token", token)])
    assert deleted.status_code == 303
    listed = client.get(deleted.headers["location"]).text
    assert "订阅已删除。" in listed and sub_id not in listed
    assert client.get(f"/sharing/subscriptions/{sub_id}").status_code == 404


def test_a_table_is_delivered_into_the_consumers_own_sqlite_database(
    client: TestClient, world: EntryOut, portal_settings: Settings, tmp_path: Path
) -> None:
    # Table delivery writes by the key: the consumer asked for it unmasked.
    grant_id = held_grant(client, world, clear_items=["公民身份号码"])
    sqlite3.connect(tmp_path / "civil.db").close()
    db = Database(portal_settings.db_url)
    try:
        with db.transaction() as s:
            civil = s.scalars(select(Department.id).where(Department.code == "civil")).one()
            target = SourceSystem(
                department_id=civil,
                name="民政业务库",
                kind="sqlite",
                config={"path": str(tmp_path / "civil.db")},
                status="ok",
            )
            s.add(target)
            s.flush()
            target_id = target.id
    finally:
        db.dispose()
    as_user(client, "civofficer")
    form = client.get(f"/sharing/subscriptions/new?grant_id={grant_id}").text
    assert f'<option value="{target_id}">民政业务库 (sqlite)</option>' in form

    sub_id = subscribe(
        client,
        grant_id,
        mode="table",
        target_source_id=target_id,
        target_table="people_copy",
        schedule="0 2 * * *",
    )
    run_jobs(portal_settings)
    con = sqlite3.connect(tmp_path / "civil.db")
    try:
        got = sorted(con.execute("SELECT resident_id, name, age FROM people_copy").fetchall())
    finally:
        con.close()
    assert got == [
        ("630102198502023456", "李*", 41),
        ("630102199001011234", "张*", 36),
        ("632801199203035678", "王*", 34),
    ]
    page = client.get(f"/sharing/subscriptions/{sub_id}").text
    assert "民政业务库.people_copy" in page and "<code>0 2 * * *</code>" in page
    assert 'data-run-status="succeeded"' in page and 'id="delivered-files"' not in page
    listed = client.get("/sharing/subscriptions").text
    assert "库表" in listed and "民政业务库.people_copy" in listed


def test_the_provider_sees_it_read_only_and_others_not_at_all(
    client: TestClient, world: EntryOut, portal_settings: Settings
) -> None:
    _third_department(portal_settings)
    grant_id = held_grant(client, world)
    sub_id = subscribe(client, grant_id)
    run_jobs(portal_settings)
    as_user(client, "civofficer")
    name = FILE_LINK.search(client.get(f"/sharing/subscriptions/{sub_id}").text)
    assert name

    token = as_user(client, "officer1")
    assert 'id="subscribe"' not in client.get(f"/sharing/grants/{grant_id}").text
    given = client.get("/sharing/subscriptions?side=given").text
    assert f'data-subscription="{sub_id}"' in given and "西宁市民政局" in given
    assert sub_id not in client.get("/sharing/subscriptions?side=held").text
    page = client.get(f"/sharing/subscriptions/{sub_id}")
    assert page.status_code == 200
    html = page.text
    assert 'id="read-only"' in html and 'data-run-status="succeeded"' in html
    for button in ('id="run-now"', 'id="pause"', 'id="resume"', 'id="delete"', "/files/"):
        assert button not in html
    for action in ("run", "pause", "delete"):
        refused = post(client, f"/sharing/subscriptions/{sub_id}/{action}", [("csrf_token", token)])
        assert refused.status_code == 403
    assert client.get(f"/sharing/subscriptions/{sub_id}/files/{name.group(1)}").status_code == 403
    assert client.get(f"/sharing/subscriptions/new?grant_id={grant_id}").status_code == 403

    token = as_user(client, "eduofficer")
    assert client.get(f"/sharing/subscriptions/{sub_id}").status_code == 404
    assert client.get(f"/sharing/subscriptions/{sub_id}/delivery").status_code == 404
    assert client.get(f"/sharing/subscriptions/new?grant_id={grant_id}").status_code == 404
    run = post(client, f"/sharing/subscriptions/{sub_id}/run", [("csrf_token", token)])
    assert run.status_code == 404
    assert sub_id not in client.get("/sharing/subscriptions").text

    # A department user subscribes to files, but is not offered its database.
    token = as_user(client, "civuser")
    user_form = client.get(f"/sharing/subscriptions/new?grant_id={grant_id}").text
    assert 'name="mode" value="table" disabled' in user_form
    assert 'id="table-target"' not in user_form and 'name="mode" value="file" checked' in user_form
    parquet = post(
        client,
        f"/sharing/subscriptions/new?grant_id={grant_id}",
        subscribe_form(token, name="民政户籍文件", file_format="parquet"),
    )
    assert parquet.status_code == 303
    assert 'id="run-now"' in client.get(parquet.headers["location"]).text
    colleague = client.get(f"/sharing/subscriptions/{sub_id}").text
    assert 'id="run-now"' in colleague and "/files/" in colleague
    # Roles without sharing have no subscriptions page.
    as_user(client, "auditor1")
    assert client.get("/sharing/subscriptions").status_code == 403
    assert len(rows_of(portal_settings, Subscription)) == 2


def test_subscription_pages_in_english(client: TestClient, world: EntryOut) -> None:
    sub_id = subscribe(client, held_grant(client, world))
    token = as_user(client, "civofficer")
    switched = post(
        client,
        "/locale",
        [("csrf_token", token), ("locale", "en"), ("next", f"/sharing/subscriptions/{sub_id}")],
    )
    assert switched.status_code == 303
    page = client.get(f"/sharing/subscriptions/{sub_id}").text
    assert "Sync now" in page and "Delivery history" in page and "Onward transfer" in page
    assert "No deliveries yet." in page and ">Active<" in page and "Files" in page
    assert "立即同步" not in page and "交付记录" not in page
    listed = client.get("/sharing/subscriptions").text
    assert "Subscribed by us" in listed and "Subscribed to us" in listed
