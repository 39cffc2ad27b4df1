"""Portal flows in a real browser against a real server."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from govdata.core.db import Database
from govdata.core.jobs import actions as job_actions
from govdata.core.jobs.schemas import JobEnqueue
from govdata.identity.auth import actor_for_user
from govdata.identity.models import User
from govdata.security.context import Caller
from govdata.standards import uscc
from tests.e2e.conftest import Server
from tests.web.conftest import PASSWORD


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form[action='/login'] button[type=submit]")


def test_operator_creates_a_department_and_a_user(page: Page, server: Server) -> None:
    sign_in(page, "operator1")
    page.wait_for_url("**/workbench")
    expect(page.locator(".brand-name")).to_have_text("一体化政务大数据平台")

    page.click("nav >> text=部门管理")
    page.click("#new-department summary")
    page.fill("#new-department input[name=name]", "西宁市民政局")
    page.fill("#new-department input[name=code]", "xn_civil")
    page.fill("#new-department input[name=credit_code]", uscc.make("1", "1", "630100", "MB000002"))
    page.select_option("#new-department select[name=region_code]", "630100")
    page.click("#new-department button[type=submit]")
    expect(page.locator(".alert-success")).to_have_text("部门已创建。")
    expect(page.locator("#departments")).to_contain_text("西宁市民政局")

    page.click("nav >> text=用户管理")
    page.click("#new-user summary")
    page.fill("#new-user input[name=username]", "zhang.san")
    page.fill("#new-user input[name=display_name]", "张三")
    page.fill("#new-user input[name=password]", "Zhang-San-2026!")
    page.select_option("#new-user select[name=department_id]", label="西宁市民政局")
    page.select_option("#new-user select[name=role]", "dept_officer")
    page.click("#new-user button[type=submit]")
    expect(page.locator(".alert-success")).to_have_text("用户已创建。")
    row = page.locator("#users tr", has_text="zhang.san")
    expect(row).to_contain_text("张三")
    expect(row).to_contain_text("西宁市民政局")
    expect(row).to_contain_text("部门数据管理员")
    page.screenshot(path="/tmp/govdata-e2e-users.png", full_page=True)


def test_five_wrong_passwords_lock_the_account(page: Page, server: Server) -> None:
    for _ in range(5):
        sign_in(page, "officer1", "not-the-password")
        expect(page.locator(".alert-error")).to_have_text("用户名或密码错误")
    sign_in(page, "officer1")
    expect(page.locator(".alert-error")).to_contain_text("账号已临时锁定")
    assert "/login" in page.url
    page.goto("/workbench")
    assert "/login" in page.url


def test_jobs_page_shows_live_progress(page: Page, server: Server) -> None:
    sign_in(page, "operator1")
    page.wait_for_url("**/workbench")
    db = Database(server.settings.db_url)
    try:
        with db.transaction() as s:
            operator = actor_for_user(s.get(User, server.seed.users["operator1"]))
        with Caller(db, server.settings, operator).act() as ctx:
            job = job_actions.enqueue_job(
                ctx, JobEnqueue(kind="e2e.count", payload={"steps": 8, "delay": 0.6})
            )
    finally:
        db.dispose()

    page.goto("/jobs")
    row = page.locator(f"#job-{job.id}")
    percent = row.locator("[data-testid=job-percent]")
    # The page is loaded once; htmx polling moves the bar forward.
    expect(percent).to_have_text(re.compile(r"^(12\.5|25|37\.5)%$"), timeout=15_000)
    first = percent.inner_text()
    expect(percent).not_to_have_text(first, timeout=10_000)
    assert float(percent.inner_text().rstrip("%")) > float(first.rstrip("%"))
    page.screenshot(path="/tmp/govdata-e2e-jobs.png", full_page=True)
    expect(row).to_have_attribute("data-job-status", "succeeded", timeout=20_000)
    expect(row.locator(".badge")).to_have_text("已完成")
