"""Collection end to end in a real browser: a SQLite source, a physical mount, a full
pipeline run by the server's embedded worker, and the rows in the lake table."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.test_portal import sign_in
from tests.web.test_catalog_pages import publish
from tests.web.test_exchange_pages import ITEMS


def _source_db(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "hukou.db"
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE people (resident_id TEXT PRIMARY KEY, xm TEXT, age INTEGER, updated_at TEXT)"
    )
    con.executemany(
        "INSERT INTO people VALUES (?, ?, ?, ?)",
        [(f"63010219900101{i:04d}", f"居民{i}", 20 + i, "2026-01-01") for i in range(1, 51)],
    )
    con.commit()
    con.close()
    return path


def test_officer_collects_a_sqlite_table_into_the_lake(
    page: Page, server: Server, tmp_path: Path
) -> None:
    entry = publish(server.settings, "officer1", items=ITEMS)
    db_path = _source_db(tmp_path / "department-system")

    sign_in(page, "officer1")
    page.wait_for_url("**/workbench")

    # Register the source and test it.
    page.click("nav >> text=数据源")
    page.click("#new-source")
    page.click("[data-kind=sqlite]")
    page.fill("#source-form input[name=name]", "户籍系统")
    page.fill("#source-form input[name=path]", str(db_path))
    page.click("#save-source")
    expect(page.locator(".alert-success")).to_have_text("数据源已登记。")
    page.click("#test-source")
    expect(page.locator("#test-result")).to_have_attribute("data-status", "ok")
    expect(page.locator("#test-result")).to_contain_text("连接成功")
    page.click("#discover")
    expect(page.locator(".discovered-table")).to_contain_text("people")

    # Mount the published entry physically, picking a column for 姓名 in the editor.
    page.goto(f"/catalog/entries/{entry.id}")
    page.click("#mount-data")
    page.select_option("#f-source", label="户籍系统")
    page.fill("#f-target", "people")
    page.check("input[name=mode][value=physical]")
    page.click("#propose-mapping")
    name_row = page.locator("tr.mapping-row[data-item='姓名']")
    expect(name_row.locator(".unmapped-flag")).to_be_visible()
    expect(page.locator("tr.mapping-row[data-item='公民身份号码'] select")).to_have_value(
        "resident_id"
    )
    name_row.locator("select").select_option("xm")
    page.click("#save-mount")
    expect(page.locator(".alert-success")).to_have_text("数据已挂载到目录。")
    expect(page.locator("#mount-mapping")).to_contain_text("xm")

    # A full pipeline, run now, watched until it finishes.
    page.click("#new-pipeline")
    page.fill("#pipeline-form input[name=name]", "户籍全量")
    page.select_option("#f-kind", "full")
    page.click("#save-pipeline")
    expect(page.locator(".alert-success")).to_have_text("数据管道已创建。")
    page.click("#run-now")
    expect(page.locator(".alert-success")).to_have_text("运行已加入队列。")
    panel = page.locator("#run-panel")
    expect(panel).to_have_attribute("data-run-status", "succeeded", timeout=30_000)
    expect(panel.locator("[data-testid=rows-written]")).to_have_text("50")

    # The rows are in the lake table.
    page.click(".page-head a[href^='/exchange/lake/']")
    expect(page.locator("#lake-rows")).to_have_text("50")
    page.click("#load-rows")
    expect(page.locator("#rows-slot .preview-rows")).to_contain_text("居民1")
    page.screenshot(path="/tmp/govdata-e2e-exchange.png", full_page=True)

    # The entry's page shows its mount and leads to the lineage page.
    page.goto(f"/catalog/entries/{entry.id}")
    expect(page.locator("#entry-mount")).to_contain_text("物理汇聚")
    page.click("#entry-mount a[href^='/exchange/lineage/']")
    expect(page.locator("#node-source")).to_contain_text("户籍系统")
    expect(page.locator("#lineage-events tr[data-event=COMPLETE]")).to_have_count(1)
    assert re.search(r"/exchange/lineage/", page.url)
