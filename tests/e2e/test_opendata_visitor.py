"""An anonymous visitor on the open-data portal in a real browser against a real server:
the home page, a search in Chinese, a dataset page with its preview, a CSV download, and
the API guide."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from playwright.sync_api import Page, expect

from govdata.core.db import Database
from govdata.identity.schemas import RoleAssignmentIn
from govdata.security.permissions import Role
from tests.e2e.conftest import Server
from tests.identity.conftest import Org
from tests.opendata.fixtures import SCHOOLS, opened_schools


def _open_schools(server: Server, tmp: Path) -> str:
    """The school list, collected and opened in the server's store; returns its name."""
    db = Database(server.settings.db_url)
    try:
        org = Org(db, server.settings, dept={"xn_stats": server.seed.department_id})
        org.add_user("xn_officer", RoleAssignmentIn(role=Role.DEPT_OFFICER), department="xn_stats")
        org.add_user("operator", RoleAssignmentIn(role=Role.OPERATOR))
        return opened_schools(org, tmp, classification_code="213002", keywords=["教育"]).name
    finally:
        db.dispose()


def test_anonymous_visitor_searches_previews_downloads_and_reads_the_guide(
    page: Page, server: Server, tmp_path: Path
) -> None:
    name = _open_schools(server, tmp_path)

    page.goto("/open")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("[data-figure=datasets]")).to_have_text("1")

    # Search in Chinese from the home page's search box.
    page.get_by_label("检索数据集").fill("中小学校")
    page.get_by_role("button", name="查询").click()
    page.wait_for_url("**/open/datasets?q=*")
    expect(page.locator("#result-total")).to_have_text("找到 1 个数据集")
    page.get_by_role("link", name="全省中小学校名录").click()
    page.wait_for_url(f"**/open/datasets/{name}")
    expect(page.get_by_role("heading", level=1)).to_have_text("全省中小学校名录")

    # The preview table arrives by htmx after the page.
    preview = page.locator("#preview-body table")
    expect(preview).to_be_visible()
    expect(preview.locator("tbody tr")).to_have_count(len(SCHOOLS))
    expect(preview.locator("tbody tr").first).to_contain_text("西宁市第一中学")
    expect(preview).not_to_contain_text("13800000001")  # the sensitive column never opens

    # Download the CSV: UTF-8 with a BOM (for Excel), the open fields' header, every row.
    with page.expect_download() as info:
        page.locator("a[data-format=CSV]").click()
    saved = tmp_path / "schools.csv"
    info.value.save_as(saved)
    raw = saved.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw[3:].decode("utf-8"))))
    assert rows[0] == ["school_code", "school_name", "county", "students"]
    assert rows[1:] == [[code, name, county, str(n)] for code, name, county, n, _ in SCHOOLS]
    assert "13800000001" not in raw.decode("utf-8-sig")

    # The API guide, from the navigation.
    page.get_by_role("navigation", name="开放平台导航").get_by_role("link", name="接口指南").click()
    page.wait_for_url("**/open/api-guide")
    expect(page.get_by_role("heading", level=1)).to_have_text("接口指南")
    expect(page.locator("#ckan")).to_have_text("CKAN 兼容的 Action API")
    expect(page.locator("article.guide")).to_contain_text(f"package_show?id={name}")
