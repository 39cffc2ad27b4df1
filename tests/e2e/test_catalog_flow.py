"""The catalog's whole review loop in a real browser against a real server."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.test_portal import sign_in
from tests.web.test_catalog_pages import add_other_department

ITEMS = (
    ("公民身份号码", "resident_id", "18", "3", "DE00001"),
    ("姓名", "name", "50", "2", "DE00002"),
    ("性别代码", "gender_code", "1", "1", "DE00003"),
)


def switch_user(page: Page, username: str) -> None:
    page.context.clear_cookies()
    sign_in(page, username)
    page.wait_for_url("**/workbench")


def fill_item(page: Page, row: int, values: tuple[str, str, str, str, str]) -> None:
    name, name_en, length, grade, element = values
    cells = page.locator("#items-body tr.item-row").nth(row)
    cells.locator("input[name$='-name']").fill(name)
    cells.locator("input[name$='-name_en']").fill(name_en)
    cells.locator("select[name$='-data_type']").select_option("string")
    cells.locator("input[name$='-length']").fill(length)
    cells.locator("select[name$='-grade']").select_option(grade)
    cells.locator("input[name$='-data_element']").fill(element)


def test_officer_registers_operator_reviews_and_another_department_finds_it(
    page: Page, server: Server
) -> None:
    add_other_department(server.settings)

    # The officer registers the entry through the editor, adding rows to the items grid.
    switch_user(page, "officer1")
    page.click("nav >> text=本部门目录")
    page.click("#new-entry")
    page.fill("#f-name", "户籍人口基本信息")
    page.select_option("#f-classification_code", "101001")
    page.select_option("#f-format", "database")
    page.select_option("#f-update_cycle", "daily")
    page.select_option("#f-grade", "3")
    page.fill("#f-summary", "全市户籍人口的姓名、性别、公民身份号码等登记信息。")
    page.fill("#f-keywords", "户籍 人口")
    page.select_option("#f-share_type", "conditional")
    page.check("#f-share_modes input[value=api]")
    page.fill("#f-share_condition", "用于政务服务身份核验，须经提供部门同意")
    page.select_option("#f-open_type", "closed")
    page.fill("#f-contact_name", "王建国")
    page.fill("#f-contact_phone", "0971-8181234")
    page.check("#items-body tr.item-row >> nth=0 >> input[name$='-is_key']")
    fill_item(page, 0, ITEMS[0])
    for row in (1, 2):
        page.click("#add-item")
        expect(page.locator("#items-body tr.item-row")).to_have_count(row + 1)
        fill_item(page, row, ITEMS[row])
    expect(page.locator("#items-body tr.item-row >> nth=2 >> .row-no")).to_have_text("3")
    page.click("#save-entry")
    expect(page.locator(".alert-success")).to_have_text("目录已创建为草稿。")
    expect(page.locator("#entry-items tbody tr")).to_have_count(3)
    entry_url = page.url
    page.click("#submit-form button")
    expect(page.locator(".alert-success")).to_have_text("已提交审核。")

    # The operator returns it with a reason on one field.
    switch_user(page, "operator1")
    page.click("nav >> text=审核队列")
    page.click("#review-queue a.btn")
    page.fill("#return-form textarea[name=comment]", "联系方式不完整")
    page.fill("#return-form input[name='reason-contact_email']", "请补充联系邮箱")
    page.click("#return-form button[type=submit]")
    expect(page.locator(".alert-success")).to_have_text("目录已退回修改。")

    # The officer is told, sees the reason next to the field, fixes it and resubmits.
    switch_user(page, "officer1")
    expect(page.locator(".bell-count")).to_have_text("1")
    page.click(".bell")
    page.click("#notifications >> text=目录被退回修改")
    page.wait_for_url(entry_url)
    expect(page.locator("#return-reasons")).to_contain_text("请补充联系邮箱")
    page.click("#edit-entry")
    reason = page.locator(".field.has-reason", has=page.locator("#f-contact_email"))
    expect(reason.locator(".field-reason")).to_contain_text("请补充联系邮箱")
    expect(page.locator("#items-body tr.item-row")).to_have_count(3)
    page.fill("#f-contact_email", "huji@stats.example.cn")
    page.click("#save-entry")
    expect(page.locator(".alert-success")).to_have_text("已保存修改。")
    page.click("#submit-form button")
    expect(page.locator(".alert-success")).to_have_text("已提交审核。")

    # The operator publishes.
    switch_user(page, "operator1")
    page.goto(entry_url)
    page.fill("#publish-form textarea", "同意发布")
    page.click("#publish-form button[type=submit]")
    expect(page.locator(".alert-success")).to_have_text("目录已发布。")
    expect(page.locator("#entry-name .badge").first).to_have_text("已发布")

    # Someone of another department finds it by a Chinese keyword and opens it.
    switch_user(page, "civuser")
    page.click("nav >> text=目录检索")
    page.fill("#search-form input[name=q]", "户籍")
    page.click("#search-form button[type=submit]")
    expect(page.locator("#result-total")).to_have_text("找到 1 条目录")
    # htmx swapped the results in place and put the search in the address bar.
    expect(page).to_have_url(re.compile(r"/catalog/search\?q=%E6%88%B7%E7%B1%8D"))
    share = page.locator("[data-facet=share_type] .facet-value")
    expect(share).to_contain_text(["有条件共享"])
    page.click("#results >> text=户籍人口基本信息")
    expect(page.locator("#entry-name")).to_contain_text("户籍人口基本信息")
    expect(page.locator("#entry-items tbody tr")).to_have_count(3)
    expect(page.locator("#entry-items")).to_contain_text("公民身份号码")
    expect(page.locator("#entry-actions button")).to_have_count(0)
    page.screenshot(path="/tmp/govdata-e2e-catalog.png", full_page=True)
