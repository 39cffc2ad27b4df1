"""Sharing end to end in a real browser: a consumer applies from the catalog entry page, the
provider approves from its review queue, and the consumer reads the granted data through the
grant page's try-it box, masked as granted."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.test_catalog_flow import switch_user
from tests.web.test_catalog_pages import add_other_department
from tests.web.test_sharing_pages import mount_people, provider_entry


def test_consumer_applies_provider_approves_consumer_reads_masked_rows(
    page: Page, server: Server, tmp_path: Path
) -> None:
    # 西宁市统计局 publishes a conditional-share entry with a SQLite source mounted logically;
    # 西宁市民政局 (civofficer) is the consumer.
    add_other_department(server.settings)
    entry = provider_entry(server.settings)
    mount_people(server.settings, entry, tmp_path)

    # The consumer applies from the entry page.
    switch_user(page, "civofficer")
    page.goto(f"/catalog/entries/{entry.id}")
    page.click("#apply-share")
    expect(page.locator("#apply-items input[name=items][value='宗教信仰']")).to_be_disabled()
    expect(page.locator("#apply-items input[name=items][value='姓名']")).to_be_checked()
    page.fill("#f-purpose", "为群众办理户籍证明核验身份")
    page.fill("#f-scenario", "政务服务大厅身份核验")
    page.fill("#f-legal_basis", "《政务数据共享条例》第十条")
    page.fill("input[name=contact_phone]", "0971-8221234")
    page.click("#submit-application")
    expect(page.locator(".alert-success")).to_have_text("共享申请已提交。")
    expect(page.locator("#current-step")).to_contain_text("提供部门审核")
    expect(page.locator("#current-step .countdown")).to_contain_text("剩余")

    # The provider's officer approves it from the review queue.
    switch_user(page, "officer1")
    page.click("nav >> text=审核待办")
    page.click("#review-queue a.app-link")
    page.fill("#f-comment", "同意共享")
    page.click("#approve")
    expect(page.locator(".alert-success")).to_have_text("审核意见已提交。")
    expect(page.locator("#application-title [data-status]")).to_have_text("已通过")

    # The consumer opens the grant and tries the data API.
    switch_user(page, "civofficer")
    page.click("nav >> text=我的授权")
    page.click("#grants a.grant-link")
    expect(page.locator("#onward-transfer")).to_contain_text("不得转让")
    expect(page.locator("#api-url")).to_contain_text(f"/api/v1/data/{entry.resource_code}")
    page.fill("#try-filters", "age__gte=35")
    page.click("#try-run")
    zhang = page.locator("#try-rows tbody tr", has_text="630102********1234")
    expect(zhang.locator("td[data-field=name]")).to_have_text("张*")
    expect(zhang.locator("td[data-field=age]")).to_have_text("36")  # not personal: clear
    expect(page.locator("#try-row-count")).to_have_attribute("data-row-count", "2")
    expect(page.locator("#try-result")).to_contain_text("为群众办理户籍证明核验身份")
    page.screenshot(path="/tmp/govdata-e2e-sharing.png", full_page=True)
