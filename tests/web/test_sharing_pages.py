"""Sharing portal pages through real requests: apply from the entry page, the review queue,
decisions and their errors, grants with the try-it box, objections, demands, the operator's
rules, who may see what, and the English locale."""

from __future__ import annotations

import re
import sqlite3
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlalchemy import select

import govdata
from govdata.catalog.schemas import EntryOut
from govdata.config import Settings
from govdata.core.db import Database
from govdata.exchange import mounts
from govdata.exchange.schemas import MappingColumn, MountCreate
from govdata.identity import actions as identity_actions
from govdata.identity.models import Department
from govdata.identity.schemas import DepartmentCreate, RoleAssignmentIn, UserCreate
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM
from govdata.security.permissions import Role
from govdata.sharing.models import Application, Grant
from govdata.sources.models import SourceSystem
from govdata.standards import uscc
from tests.web.conftest import PASSWORD, csrf_from, login
from tests.web.test_catalog_pages import add_other_department, caller, publish

ITEMS: list[dict[str, Any]] = [
    {
        "name": "公民身份号码",
        "name_en": "resident_id",
        "data_type": "string",
        "length": 18,
        "is_key": True,
        "is_sensitive": True,
        "grade": 2,
        "data_element": "DE00001",
    },
    {
        "name": "姓名",
        "name_en": "name",
        "data_type": "string",
        "length": 50,
        "grade": 2,
        "data_element": "DE00002",
    },
    {"name": "年龄", "name_en": "age", "data_type": "integer", "grade": 1},
    {
        "name": "宗教信仰",
        "name_en": "religion",
        "data_type": "string",
        "length": 20,
        "grade": 2,
        "share_type": "none",
    },
]
MAPPING = [
    MappingColumn(item="公民身份号码", column="id_no", field="resident_id", type="string"),
    MappingColumn(item="姓名", column="xm", field="name", type="string"),
    MappingColumn(item="年龄", column="age", field="age", type="int64"),
    MappingColumn(item="宗教信仰", column="religion", field="religion", type="string"),
]
PEOPLE = [
    ("630102199001011234", "张三", 36, "无"),
    ("630102198502023456", "李四", 41, "无"),
    ("632801199203035678", "王五", 34, "无"),
]
APP_PATH = re.compile(r"^/sharing/applications/([0-9a-f-]+)\?done=applied$")


# -- the world: a provider entry with a mounted SQLite source, and a consumer department --


def provider_entry(settings: Settings) -> EntryOut:
    """西宁市统计局 (officer1) publishes a conditional-share entry, grade 2, API and table."""
    return publish(
        settings,
        "officer1",
        name="户籍人口基本信息",
        grade=2,
        share_modes=["api", "table"],
        items=ITEMS,
    )


def mount_people(settings: Settings, entry: EntryOut, folder: Path) -> None:
    """A SQLite source of the provider, mounted logically on the entry."""
    path = folder / "hukou.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE people (id_no TEXT PRIMARY KEY, xm TEXT, age INTEGER, religion TEXT)")
    con.executemany("INSERT INTO people VALUES (?, ?, ?, ?)", PEOPLE)
    con.commit()
    con.close()
    officer = caller(settings, "officer1")
    try:
        with officer.db.transaction() as s:
            source = SourceSystem(
                department_id=entry.provider.id,
                name="户籍系统",
                kind="sqlite",
                config={"path": str(path)},
                status="ok",
            )
            s.add(source)
            s.flush()
            source_id = source.id
        with officer.act() as ctx:
            mounts.create_mount(
                ctx,
                MountCreate(
                    entry_id=entry.id,
                    source_id=source_id,
                    target="people",
                    mode="logical",
                    columns=MAPPING,
                    key_columns=["resident_id"],
                ),
            )
    finally:
        officer.db.dispose()


def _third_department(settings: Settings) -> None:
    """西宁市教育局 with an officer: it takes no part in the sharing between the other two."""
    db = Database(settings.db_url)
    try:
        with Caller(db, settings, SYSTEM).act() as ctx:
            dept = identity_actions.create_department(
                ctx,
                DepartmentCreate(
                    code="edu",
                    name="西宁市教育局",
                    credit_code=uscc.make("1", "1", "630100", "MB000003"),
                    region_code="630100",
                ),
            )
            identity_actions.create_user(
                ctx,
                UserCreate(
                    username="eduofficer",
                    display_name="教育eduofficer",
                    password=PASSWORD,
                    department_id=dept.id,
                    roles=[RoleAssignmentIn(role=Role.DEPT_OFFICER)],
                ),
            )
    finally:
        db.dispose()


@pytest.fixture
def world(client: TestClient, portal_settings: Settings, tmp_path: Path) -> EntryOut:
    add_other_department(portal_settings)
    entry = provider_entry(portal_settings)
    mount_people(portal_settings, entry, tmp_path)
    return entry


def as_user(client: TestClient, username: str) -> str:
    client.cookies.clear()
    return login(client, username)


def post(client: TestClient, url: str, pairs: list[tuple[str, str]], **headers: str) -> Any:
    """A form post with repeated keys, encoded as the browser does."""
    return client.post(
        url,
        content=urlencode(pairs),
        headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
    )


def apply_form(token: str, **overrides: Any) -> list[tuple[str, str]]:
    fields: dict[str, Any] = {
        "purpose": "为群众办理户籍证明核验身份",
        "scenario": "政务服务大厅身份核验",
        "legal_basis": "《政务数据共享条例》第十条",
        "valid_until": "",
        "contact_name": "陈晓",
        "contact_phone": "0971-8221234",
        "items": ["公民身份号码", "姓名", "年龄"],
        "delivery_modes": ["api"],
        "cond_item": [""],
        "cond_op": ["="],
        "cond_value": [""],
    }
    fields.update(overrides)
    pairs = [("csrf_token", token)]
    for key, value in fields.items():
        for v in value if isinstance(value, list) else [value]:
            pairs.append((key, v))
    return pairs


def valid_until(days: int = 200) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def _apply(client: TestClient, entry: EntryOut, **overrides: Any) -> str:
    token = as_user(client, "civofficer")
    form = apply_form(token, valid_until=valid_until(), **overrides)
    response = post(client, f"/sharing/applications/new?entry={entry.id}", form)
    assert response.status_code == 303, response.text
    match = APP_PATH.match(response.headers["location"])
    assert match
    return match.group(1)


def _approve(client: TestClient, app_id: str) -> str:
    token = as_user(client, "officer1")
    decided = post(
        client,
        f"/sharing/applications/{app_id}/decide",
        [("csrf_token", token), ("decision", "approve"), ("comment", "同意")],
    )
    assert decided.status_code == 303, decided.text
    detail = client.get(f"/sharing/applications/{app_id}")
    match = re.search(r'id="open-grant" href="/sharing/grants/([0-9a-f-]+)"', detail.text)
    assert match, detail.text
    return match.group(1)


def _store(settings: Settings) -> Database:
    return Database(settings.db_url)


def _count(settings: Settings, model: type[Any]) -> int:
    db = _store(settings)
    try:
        with db.transaction() as s:
            return len(s.scalars(select(model)).all())
    finally:
        db.dispose()


# -- applying ---------------------------------------------------------------------------------


def test_apply_from_the_entry_page_keeps_what_was_typed_on_errors(
    client: TestClient, world: EntryOut, portal_settings: Settings
) -> None:
    entry = world
    # The provider's own officer gets no apply button; the other department does.
    as_user(client, "officer1")
    assert 'id="apply-share"' not in client.get(f"/catalog/entries/{entry.id}").text
    token = as_user(client, "civofficer")
    page = client.get(f"/catalog/entries/{entry.id}").text
    assert "申请共享" in page and f"/sharing/applications/new?entry={entry.id}" in page

    form = client.get(f"/sharing/applications/new?entry={entry.id}")
    assert form.status_code == 200
    html = form.text
    # Items are checked by default; the not-shared item is marked and cannot be chosen.
    assert re.search(r'name="items" value="姓名" checked', html)
    assert re.search(r'name="items" value="宗教信仰" disabled', html)
    assert "不予共享" in html
    # Only the delivery modes the entry offers (api, table → subscription), no files.
    assert 'name="delivery_modes" value="api"' in html
    assert 'name="delivery_modes" value="subscription"' in html
    assert 'name="delivery_modes" value="file"' not in html
    assert html.count('class="condition-row"') == 1

    # One more condition row without JavaScript: what was typed comes back.
    more = post(
        client,
        f"/sharing/applications/new?entry={entry.id}",
        apply_form(token, purpose="核验身份用途说明", add_condition="1"),
    )
    assert more.status_code == 200
    assert more.text.count('class="condition-row"') == 2
    assert "核验身份用途说明" in more.text

    # The action's error (no legal basis, bad date) is shown in Chinese next to the form,
    # nothing is created and the typed text is still there.
    bad = post(
        client,
        f"/sharing/applications/new?entry={entry.id}",
        apply_form(token, legal_basis="", valid_until="", scenario="窗口核验的应用场景"),
    )
    assert bad.status_code == 422
    assert "请检查" in bad.text and "法律依据" in bad.text and "有效期至" in bad.text
    assert "窗口核验的应用场景" in bad.text and "为群众办理户籍证明核验身份" in bad.text
    # An IN condition without values is the action's refusal, shown the same way.
    wrong = post(
        client,
        f"/sharing/applications/new?entry={entry.id}",
        apply_form(
            token,
            valid_until=valid_until(),
            cond_item=["年龄"],
            cond_op=["IN"],
            cond_value=[""],
        ),
    )
    assert wrong.status_code == 422 and "行范围条件的值无效" in wrong.text
    assert _count(portal_settings, Application) == 0

    app_id = _apply(
        client, entry, cond_item=["年龄", ""], cond_op=[">=", "="], cond_value=["18", ""]
    )
    detail = client.get(f"/sharing/applications/{app_id}?done=applied")
    assert "共享申请已提交。" in detail.text
    assert "审批中" in detail.text and "提供部门审核" in detail.text
    assert "剩余" in detail.text and "个工作日" in detail.text
    assert "年龄 &gt;= 18" in detail.text
    assert 'id="withdraw"' in detail.text and 'id="decide-form"' not in detail.text

    mine = client.get("/sharing/applications").text
    assert "户籍人口基本信息" in mine and "剩余" in mine and 'class="tab is-active"' in mine
    assert "户籍人口基本信息" not in client.get("/sharing/applications?status=approved").text


def test_provider_reviews_rejects_without_reason_then_approves(
    client: TestClient, world: EntryOut, portal_settings: Settings
) -> None:
    app_id = _apply(client, world)
    # The applicant cannot decide its own application.
    token = as_user(client, "civofficer")
    refused = post(
        client,
        f"/sharing/applications/{app_id}/decide",
        [("csrf_token", token), ("decision", "approve")],
    )
    assert refused.status_code == 403

    token = as_user(client, "officer1")
    queue = client.get("/sharing/review")
    assert queue.status_code == 200
    assert f"/sharing/applications/{app_id}" in queue.text and "剩余" in queue.text
    nav = client.get("/workbench").text
    assert 'href="/sharing/review"' in nav and "审核待办" in nav

    detail = client.get(f"/sharing/applications/{app_id}").text
    assert 'id="decide-form"' in detail and 'id="withdraw"' not in detail

    # A rejection needs a reason: the zh error, the application unchanged.
    rejected = post(
        client,
        f"/sharing/applications/{app_id}/decide",
        [("csrf_token", token), ("decision", "reject"), ("comment", "  ")],
    )
    assert rejected.status_code == 422
    assert "不同意须说明理由" in rejected.text and "审批中" in rejected.text
    db = _store(portal_settings)
    try:
        with db.transaction() as s:
            row = s.get(Application, app_id)
            assert row is not None and row.status == "pending"
    finally:
        db.dispose()

    grant_id = _approve(client, app_id)
    assert f"/sharing/applications/{app_id}" not in client.get("/sharing/review").text
    detail = client.get(f"/sharing/applications/{app_id}").text
    assert "已通过" in detail and "officer1 · " in detail

    # The provider sees the grant among those given, the consumer among those held.
    assert grant_id in client.get("/sharing/grants/given").text
    as_user(client, "civofficer")
    assert grant_id in client.get("/sharing/grants").text
    assert grant_id not in client.get("/sharing/grants/given").text


def test_rejection_is_contested_and_the_operator_grants_as_applied(
    client: TestClient, world: EntryOut
) -> None:
    app_id = _apply(client, world)
    token = as_user(client, "officer1")
    rejected = post(
        client,
        f"/sharing/applications/{app_id}/decide",
        [("csrf_token", token), ("decision", "reject"), ("comment", "用途不明确")],
    )
    assert rejected.status_code == 303
    token = as_user(client, "civofficer")
    page = client.get(f"/sharing/applications/{app_id}").text
    assert "未通过" in page and "用途不明确" in page and 'id="contest-panel"' in page
    contested = post(
        client,
        f"/sharing/applications/{app_id}/contest",
        [("csrf_token", token), ("reason", "用途已在申请中写明")],
    )
    assert contested.status_code == 303
    assert "协调中" in client.get(f"/sharing/applications/{app_id}").text

    token = as_user(client, "operator1")
    queue = client.get("/sharing/review").text
    assert f"/sharing/applications/{app_id}" in queue and "主管部门待办" in queue
    page = client.get(f"/sharing/applications/{app_id}").text
    assert 'id="resolve-panel"' in page and "用途已在申请中写明" in page
    resolved = post(
        client,
        f"/sharing/applications/{app_id}/resolve",
        [("csrf_token", token), ("outcome", "grant"), ("comment", "用途合规，按申请授权")],
    )
    assert resolved.status_code == 303
    page = client.get(f"/sharing/applications/{app_id}?done=resolved").text
    assert "协调已办结。" in page and "已通过" in page and 'id="open-grant"' in page
    assert "户籍人口基本信息" in client.get("/sharing/grants/all").text


def test_renewal_is_applied_for_from_the_grant_and_withdrawn(
    client: TestClient, world: EntryOut
) -> None:
    grant_id = _approve(client, _apply(client, world))
    token = as_user(client, "civofficer")
    no_reason = post(
        client,
        f"/sharing/grants/{grant_id}/renew",
        [("csrf_token", token), ("valid_until", valid_until()), ("reason", "")],
    )
    assert no_reason.status_code == 422 and "请检查" in no_reason.text
    renewed = post(
        client,
        f"/sharing/grants/{grant_id}/renew",
        [("csrf_token", token), ("valid_until", "2099-01-01"), ("reason", "业务延续")],
    )
    assert renewed.status_code == 422 and "有效期须晚于今天" in renewed.text
    renewed = post(
        client,
        f"/sharing/grants/{grant_id}/renew",
        [("csrf_token", token), ("valid_until", valid_until(400)), ("reason", "业务延续")],
    )
    assert renewed.status_code == 303
    url = renewed.headers["location"].split("?")[0]
    page = client.get(url).text
    assert "续期" in page and "审批中" in page and "业务延续" in page
    withdrawn = post(client, f"{url}/withdraw", [("csrf_token", token)])
    assert withdrawn.status_code == 303
    page = client.get(f"{url}?done=withdrawn").text
    assert "申请已撤回。" in page and "已撤回" in page and 'id="withdraw"' not in page


def test_grant_page_documents_the_api_and_tries_it_with_masks(
    client: TestClient, world: EntryOut, portal_settings: Settings
) -> None:
    grant_id = _approve(client, _apply(client, world))
    token = as_user(client, "civofficer")
    page = client.get(f"/sharing/grants/{grant_id}")
    assert page.status_code == 200
    html = page.text
    assert "不得转让" in html and "为群众办理户籍证明核验身份" in html
    assert "身份证号脱敏" in html and "姓名脱敏" in html
    assert f"/api/v1/data/{world.resource_code}" in html
    assert "<code>resident_id</code>" in html and "field__in=a,b" in html
    assert "Authorization: Bearer &lt;APP_TOKEN&gt;" in html
    assert 'hx-post="/sharing/grants/' in html and 'id="try-form"' in html
    assert "宗教信仰" not in html.split('id="grant-items"')[1].split("</section>")[0]

    # The try-it box reads through the data API as the signed-in user: masked values as
    # returned, the clear non-sensitive item, the row count, the purpose and the notice.
    tried = post(
        client,
        f"/sharing/grants/{grant_id}/try",
        [("csrf_token", token), ("filters", "age__gte=35"), ("fields", ""), ("limit", "10")],
        **{"HX-Request": "true"},
    )
    assert tried.status_code == 200
    assert "<html" not in tried.text  # a fragment for htmx
    assert "630102********1234" in tried.text and "张*" in tried.text
    assert ">36<" in tried.text and ">41<" in tried.text and "王五" not in tried.text
    assert 'data-row-count="2"' in tried.text and "共 2 行" in tried.text
    assert "不得转让" in tried.text and "为群众办理户籍证明核验身份" in tried.text
    # A field outside the grant is the data API's refusal, shown in the box.
    outside = post(
        client,
        f"/sharing/grants/{grant_id}/try",
        [("csrf_token", token), ("filters", "religion=无"), ("limit", "5")],
        **{"HX-Request": "true"},
    )
    assert outside.status_code == 200 and "未获授权的字段" in outside.text
    # Without htmx the whole grant page comes back with the result in it.
    full = post(client, f"/sharing/grants/{grant_id}/try", [("csrf_token", token)])
    assert full.status_code == 200 and 'id="grant-details"' in full.text
    assert 'data-row-count="3"' in full.text

    # Revoking needs a reason; then the very next read is refused, in the box.
    token = as_user(client, "officer1")
    html = client.get(f"/sharing/grants/{grant_id}").text
    assert 'id="revoke"' in html and 'id="try-form"' not in html  # the API doc is the holder's
    empty = post(client, f"/sharing/grants/{grant_id}/revoke", [("csrf_token", token)])
    assert empty.status_code == 422 and "请检查" in empty.text
    revoked = post(
        client,
        f"/sharing/grants/{grant_id}/revoke",
        [("csrf_token", token), ("reason", "用途已结束")],
    )
    assert revoked.status_code == 303
    assert "已撤销" in client.get(f"/sharing/grants/{grant_id}").text
    token = as_user(client, "civofficer")
    after = post(
        client, f"/sharing/grants/{grant_id}/try", [("csrf_token", token)], **{"HX-Request": "1"}
    )
    assert "授权已撤销" in after.text and "张*" not in after.text


def test_objection_from_a_grant_is_answered_and_closed(client: TestClient, world: EntryOut) -> None:
    grant_id = _approve(client, _apply(client, world))
    token = as_user(client, "civofficer")
    assert "报告问题数据" in client.get(f"/sharing/grants/{grant_id}").text
    form = client.get(f"/sharing/grants/{grant_id}/objections/new")
    assert form.status_code == 200
    assert 'name="key-公民身份号码"' in form.text and '<option value="年龄"' in form.text
    assert '<option value="宗教信仰"' not in form.text

    missing = post(
        client,
        f"/sharing/grants/{grant_id}/objections/new",
        [("csrf_token", token), ("title", ""), ("description", "年龄与出生日期不符")],
    )
    assert missing.status_code == 422 and "标题" in missing.text
    assert "年龄与出生日期不符" in missing.text
    created = post(
        client,
        f"/sharing/grants/{grant_id}/objections/new",
        [
            ("csrf_token", token),
            ("key-公民身份号码", "630102199001011234"),
            ("field", "年龄"),
            ("title", "年龄有误"),
            ("description", "年龄与出生日期不符"),
            ("evidence", "出生日期 1990-01-01"),
            ("severity", "4"),
        ],
    )
    assert created.status_code == 303
    url = created.headers["location"].split("?")[0]
    page = client.get(url).text
    assert "年龄有误" in page and "待处理" in page and "公民身份号码=630102199001011234" in page
    assert 'id="answer-panel"' not in page and 'id="close-panel"' in page
    assert "年龄有误" in client.get("/sharing/objections?side=reported").text

    token = as_user(client, "officer1")
    assert "年龄有误" in client.get("/sharing/objections?side=assigned").text
    answered = post(
        client,
        f"{url}/answer",
        [("csrf_token", token), ("verdict", "dispute"), ("answer", "经核对户籍底册，数据无误")],
    )
    assert answered.status_code == 303
    page = client.get(url).text
    assert "有异议" in page and "经核对户籍底册，数据无误" in page
    # The rest of the rectification workflow lives on the ticket's own page.
    ticket_id = url.rsplit("/", 1)[-1]
    assert f'href="/governance/tickets/{ticket_id}"' in page
    assert "年龄有误" in client.get(f"/governance/tickets/{ticket_id}").text

    token = as_user(client, "civofficer")
    closed = post(client, f"{url}/close", [("csrf_token", token), ("note", "已核实")])
    assert closed.status_code == 303
    assert "已关闭" in client.get(url).text


def test_demand_is_routed_answered_and_fulfilled(client: TestClient, world: EntryOut) -> None:
    token = as_user(client, "civofficer")
    created = post(
        client,
        "/sharing/demands/new",
        [
            ("csrf_token", token),
            ("title", "婚姻登记信息"),
            ("description", "需要全市婚姻登记信息用于救助审核"),
            ("purpose", "低保家庭收入核对"),
            ("items_wanted", "姓名\n登记日期，登记机关"),
        ],
    )
    assert created.status_code == 303, created.text
    url = created.headers["location"].split("?")[0]
    page = client.get(url).text
    assert "待分派" in page and "登记机关" in page and 'id="close-panel"' in page

    token = as_user(client, "operator1")
    page = client.get(url).text
    assert 'id="route-panel"' in page and "西宁市统计局" in page
    stats = re.search(r'<option value="([0-9a-f-]+)"[^>]*>西宁市统计局</option>', page)
    assert stats
    routed = post(
        client,
        f"{url}/route",
        [("csrf_token", token), ("provider_department_id", stats.group(1))],
    )
    assert routed.status_code == 303

    token = as_user(client, "officer1")
    assert "婚姻登记信息" in client.get("/sharing/demands?side=incoming").text
    no_basis = post(
        client, f"{url}/answer", [("csrf_token", token), ("answer", "cannot_share"), ("note", "")]
    )
    assert no_basis.status_code == 422 and "不能共享须说明依据" in no_basis.text
    answered = post(client, f"{url}/answer", [("csrf_token", token), ("answer", "will_catalog")])
    assert answered.status_code == 303
    fulfilled = post(
        client, f"{url}/fulfil", [("csrf_token", token), ("entry_id", world.resource_code)]
    )
    assert fulfilled.status_code == 303
    page = client.get(url).text
    assert "已满足" in page and world.resource_code in page


def test_operator_edits_the_rules_and_the_calendar(client: TestClient, world: EntryOut) -> None:
    token = as_user(client, "operator1")
    nav = client.get("/workbench").text
    assert 'href="/sharing/policy"' in nav and "共享规则" in nav
    page = client.get("/sharing/policy")
    assert page.status_code == 200 and 'id="rules-form"' in page.text

    rules = [
        ("csrf_token", token),
        ("compliance_days", "3"),
        ("provider_days", "7"),
        ("operator_days", "5"),
        ("demand_days", "10"),
        ("objection_days", "6"),
        ("chain-3", "1"),
        ("chain-4", "1"),
    ]
    # Grades 3–4 must keep the operator: unticking grade 4 is refused, typed values kept.
    refused = post(client, "/sharing/policy", [p for p in rules if p[0] != "chain-4"])
    assert refused.status_code == 422
    assert "必须经主管部门审批" in refused.text and 'value="7"' in refused.text
    saved = post(client, "/sharing/policy", [*rules, ("operator_compliance_check", "1")])
    assert saved.status_code == 303
    page = client.get("/sharing/policy").text
    assert 'id="f-provider_days" min="1" max="60" required value="7"' in page
    assert 'id="f-compliance" checked' in page

    added = post(
        client,
        "/sharing/policy/holidays",
        [("csrf_token", token), ("day", "2031-02-03"), ("kind", "holiday"), ("name", "春节")],
    )
    assert added.status_code == 303 and "year=2031" in added.headers["location"]
    listed = client.get("/sharing/policy?year=2031").text
    assert 'data-day="2031-02-03"' in listed and "春节" in listed
    assert 'data-day="2031-02-03"' not in client.get("/sharing/policy?year=2030").text
    removed = post(client, "/sharing/policy/holidays/2031-02-03/delete", [("csrf_token", token)])
    assert removed.status_code == 303
    assert 'data-day="2031-02-03"' not in client.get("/sharing/policy?year=2031").text

    # Officers read the rules but cannot change them.
    token = as_user(client, "officer1")
    page = client.get("/sharing/policy")
    assert page.status_code == 200 and 'id="save-rules"' not in page.text
    assert post(client, "/sharing/policy", [*rules[1:], ("csrf_token", token)]).status_code == 403


def test_who_sees_what(client: TestClient, world: EntryOut, portal_settings: Settings) -> None:
    _third_department(portal_settings)
    app_id = _apply(client, world)
    grant_id = _approve(client, app_id)
    # Roles without sharing: refused.
    for username in ("secadmin1", "auditor1"):
        as_user(client, username)
        assert 'href="/sharing/applications"' not in client.get("/workbench").text
        assert client.get("/sharing/applications").status_code == 403
        assert client.get(f"/sharing/applications/{app_id}").status_code == 403
        assert client.get("/sharing/policy").status_code == 403
    # A department on neither side: the application and the grant do not exist for it.
    token = as_user(client, "eduofficer")
    assert client.get(f"/sharing/applications/{app_id}").status_code == 404
    assert client.get(f"/sharing/grants/{grant_id}").status_code == 404
    assert (
        post(client, f"/sharing/grants/{grant_id}/try", [("csrf_token", token)]).status_code == 404
    )
    assert "户籍人口基本信息" not in client.get("/sharing/applications?view=all").text
    # A department user may apply but has no review queue and cannot revoke.
    token = as_user(client, "civuser")
    assert client.get("/sharing/review").status_code == 403
    assert client.get(f"/sharing/applications/new?entry={world.id}").status_code == 200
    revoke = post(
        client, f"/sharing/grants/{grant_id}/revoke", [("csrf_token", token), ("reason", "不需要")]
    )
    assert revoke.status_code == 403
    # The operator has its own queue but not the provider's decision.
    as_user(client, "operator1")
    assert client.get("/sharing/review").status_code == 200
    assert 'id="decide-form"' not in client.get(f"/sharing/applications/{app_id}").text
    # A form post without the CSRF token is refused.
    assert post(client, "/sharing/policy", [("provider_days", "9")]).status_code == 403
    db = _store(portal_settings)
    try:
        with db.transaction() as s:
            assert s.get(Grant, grant_id) is not None
            assert s.scalars(select(Department).where(Department.code == "edu")).one()
    finally:
        db.dispose()


def test_application_page_in_english(client: TestClient, world: EntryOut) -> None:
    app_id = _apply(client, world)
    token = as_user(client, "civofficer")
    switched = post(
        client,
        "/locale",
        [("csrf_token", token), ("locale", "en"), ("next", f"/sharing/applications/{app_id}")],
    )
    assert switched.status_code == 303
    page = client.get(f"/sharing/applications/{app_id}").text
    assert "Approval chain" in page and "Provider review" in page and "Pending" in page
    assert "working days left" in page and "Withdraw the application" in page
    assert "审批流程" not in page
    assert "Sharing applications" in client.get("/sharing/applications").text
    assert csrf_from(page)


PAGE_SOURCES = [
    ("web/templates/sharing/**.html", "jinja2"),
    ("sharing/pages/*.py", "python"),
    ("web/portal.py", "python"),
]


def test_every_sharing_page_message_has_a_chinese_translation() -> None:
    src = Path(govdata.__file__).resolve().parent
    options = {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}
    found: set[str] = set()
    for _f, _l, message, _c, _ctx in extract_from_dir(
        str(src),
        PAGE_SOURCES,
        keywords={**DEFAULT_KEYWORDS, "N_": None},
        options_map={p: options for p, kind in PAGE_SOURCES if kind == "jinja2"},
    ):
        found.add(message if isinstance(message, str) else message[0])
    assert "Reviews to do" in found and "Send the request" in found  # it read our files
    with (src / "web/locale/zh_CN/LC_MESSAGES/messages.po").open("rb") as fh:
        catalog = read_po(fh, locale="zh_CN")
    translated: set[Any] = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id and (m.string if isinstance(m.string, str) else all(m.string or ()))
    }
    assert sorted(found - translated) == []
