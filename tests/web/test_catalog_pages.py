"""Catalog portal pages through real requests: editor, detail, review, search, standards."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi.testclient import TestClient

from govdata.catalog import actions
from govdata.catalog.schemas import EntryCreate, EntryOut, PublishRequest
from govdata.config import Settings
from govdata.core.db import Database
from govdata.identity import actions as identity_actions
from govdata.identity.auth import actor_for_user
from govdata.identity.models import User
from govdata.identity.schemas import DepartmentCreate, RoleAssignmentIn, UserCreate
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM
from govdata.security.permissions import Role
from govdata.standards import uscc
from tests.web.conftest import PASSWORD, Seed, login

ENTRY_PATH = re.compile(r"^/catalog/entries/([0-9a-f-]+)$")


def entry_form(**overrides: Any) -> list[tuple[str, str]]:
    """The editor's fields for an entry that passes the conformance check."""
    fields = {
        "name": "户籍人口基本信息",
        "classification_code": "101001",
        "summary": "全市户籍人口的姓名、性别、公民身份号码等登记信息。",
        "format": "database",
        "update_cycle": "daily",
        "grade": "3",
        "share_type": "conditional",
        "share_condition": "用于政务服务身份核验，须经提供部门同意",
        "open_type": "closed",
        "keywords": "户籍，人口",
        "contact_name": "王建国",
        "contact_phone": "0971-8181234",
        "contact_email": "data@stats.example.cn",
    }
    fields.update(overrides)
    data = [*list(fields.items()), ("share_modes", "api"), ("share_modes", "table")]
    items = [
        ("公民身份号码", "resident_id", "18", "3", "DE00001", True),
        ("姓名", "name", "50", "2", "DE00002", False),
        ("性别代码", "gender_code", "1", "1", "DE00003", False),
    ]
    for i, (name, name_en, length, grade, element, key) in enumerate(items):
        data += [
            (f"items-{i}-name", name),
            (f"items-{i}-name_en", name_en),
            (f"items-{i}-data_type", "string"),
            (f"items-{i}-length", length),
            (f"items-{i}-grade", grade),
            (f"items-{i}-share_type", ""),
            (f"items-{i}-data_element", element),
            (f"items-{i}-description", ""),
        ]
        if key:
            data.append((f"items-{i}-is_key", "1"))
    return data


def content(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "classification_code": "101001",
        "name": "户籍人口基本信息",
        "summary": "全市户籍人口的姓名、性别、公民身份号码等登记信息。",
        "format": "database",
        "share_type": "conditional",
        "share_condition": "用于政务服务身份核验",
        "share_modes": ["api"],
        "open_type": "closed",
        "update_cycle": "daily",
        "grade": 3,
        "contact_name": "王建国",
        "contact_phone": "0971-8181234",
        "items": [
            {
                "name": "公民身份号码",
                "name_en": "resident_id",
                "data_type": "string",
                "length": 18,
                "is_key": True,
                "grade": 3,
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
        ],
    }
    data.update(overrides)
    return data


def caller(settings: Settings, username: str) -> Caller:
    db = Database(settings.db_url)
    with db.transaction() as s:
        from sqlalchemy import select

        user = s.scalars(select(User).where(User.username == username)).one()
        actor = actor_for_user(user)
    return Caller(db, settings, actor)


def create(settings: Settings, username: str = "officer1", **overrides: Any) -> EntryOut:
    c = caller(settings, username)
    try:
        with c.act() as ctx:
            return actions.create_entry(ctx, EntryCreate(**content(**overrides)))
    finally:
        c.db.dispose()


def publish(settings: Settings, username: str = "officer1", **overrides: Any) -> EntryOut:
    entry = create(settings, username, **overrides)
    c, op = caller(settings, username), caller(settings, "operator1")
    try:
        with c.act() as ctx:
            actions.submit_entry(ctx, entry.id)
        with op.act() as ctx:
            return actions.publish_entry(ctx, entry.id, PublishRequest())
    finally:
        c.db.dispose()
        op.db.dispose()


def add_other_department(settings: Settings) -> None:
    """A second department with an officer and a user: they must not see the first's drafts."""
    db = Database(settings.db_url)
    try:
        with Caller(db, settings, SYSTEM).act() as ctx:
            dept = identity_actions.create_department(
                ctx,
                DepartmentCreate(
                    code="civil",
                    name="西宁市民政局",
                    credit_code=uscc.make("1", "1", "630100", "MB000002"),
                    region_code="630100",
                ),
            )
            for username, role in (("civofficer", Role.DEPT_OFFICER), ("civuser", Role.DEPT_USER)):
                identity_actions.create_user(
                    ctx,
                    UserCreate(
                        username=username,
                        display_name=f"民政{username}",
                        password=PASSWORD,
                        department_id=dept.id,
                        roles=[RoleAssignmentIn(role=role)],
                    ),
                )
    finally:
        db.dispose()


def post_form(client: TestClient, url: str, pairs: list[tuple[str, str]]) -> Any:
    """A form post with repeated keys (share_modes), encoded as the browser does."""
    return client.post(
        url,
        content=urlencode(pairs),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def signed_in(client: TestClient, username: str) -> str:
    client.cookies.clear()
    return login(client, username)


def test_editor_creates_and_edits_an_entry_with_its_items_grid(client: TestClient) -> None:
    token = signed_in(client, "officer1")
    new = client.get("/catalog/new")
    assert new.status_code == 200
    assert '<option value="101001"' in new.text  # a 目 of the seeded tree
    assert '<option value="101"' not in new.text  # 项 cannot hold an entry
    assert 'id="items-body-template"' in new.text and "items-__i__-name" in new.text

    created = post_form(client, "/catalog/new", [*entry_form(), ("csrf_token", token)])
    assert created.status_code == 303, created.text
    url = created.headers["location"]
    match = ENTRY_PATH.match(url)
    assert match
    detail = client.get(url)
    assert "目录已创建为草稿。" in detail.text
    assert "户籍人口基本信息" in detail.text and "草稿" in detail.text
    assert detail.text.count("<code>DE0000") == 3
    assert "有条件共享" in detail.text and "接口" in detail.text and "库表" in detail.text
    assert 'id="submit-form"' in detail.text and 'href="' + url + '/edit"' in detail.text

    edit = client.get(url + "/edit")
    assert 'name="items-2-name" value="性别代码"' in edit.text
    assert 'value="0971-8181234"' in edit.text

    # Row 1 removed in the browser, a row added with a higher index: the gap is harmless.
    form = [
        (k, v) for k, v in entry_form(name="户籍人口登记信息") if not k.startswith("items-1-")
    ] + [
        ("items-7-name", "出生日期"),
        ("items-7-name_en", "birth_date"),
        ("items-7-data_type", "date"),
        ("items-7-grade", "2"),
        ("items-9-name", ""),  # an empty row of the grid is ignored
        ("change_note", "补充出生日期"),
        ("csrf_token", token),
    ]
    saved = post_form(client, url + "/edit", form)
    assert saved.status_code == 303, saved.text
    page = client.get(url).text
    assert "已保存修改。" in page
    assert "户籍人口登记信息" in page and "出生日期" in page and "日期型" in page
    items = page[page.index('id="entry-items"') :]
    assert "姓名" not in items[: items.index("</table>")]
    assert items.index("性别代码") < items.index("出生日期")


def test_validation_errors_keep_the_input(client: TestClient) -> None:
    token = signed_in(client, "officer1")
    form = entry_form(name="", summary="保留我输入的摘要")
    form = [(k, "十八" if k == "items-0-length" else v) for k, v in form]
    response = post_form(client, "/catalog/new", [*form, ("csrf_token", token)])
    assert response.status_code == 422
    html = response.text
    assert "请检查表单中标出的" in html
    assert "保留我输入的摘要" in html  # nothing typed is lost
    assert 'name="items-0-length" value="十八"' in html
    assert 'name="items-2-name" value="性别代码"' in html
    assert "必填。" in html and "请输入整数。" in html
    assert '<option value="101001" selected' in html

    # An action's own refusal lands on the field it concerns.
    refused = post_form(
        client, "/catalog/new", [*entry_form(classification_code="101"), ("csrf_token", token)]
    )
    assert refused.status_code == 422
    assert "资源分类须细化到“目”一级" in refused.text
    assert 'class="field has-error"' in refused.text


def test_review_return_fix_resubmit_publish_through_forms(
    client: TestClient, portal_settings: Settings
) -> None:
    entry = create(portal_settings)
    url = f"/catalog/entries/{entry.id}"
    token = signed_in(client, "officer1")
    submitted = client.post(url + "/submit", data={"csrf_token": token})
    assert submitted.status_code == 303
    assert "已提交审核。" in client.get(url).text

    token = signed_in(client, "operator1")
    queue = client.get("/catalog/review").text
    assert url + "#review-panel" in queue
    detail = client.get(url).text
    assert 'id="review-panel"' in detail and 'name="reason-items[2]"' in detail
    empty = client.post(url + "/return", data={"csrf_token": token, "comment": "不行"})
    assert empty.status_code == 422 and "请至少为一个字段填写退回原因" in empty.text
    returned = client.post(
        url + "/return",
        data={
            "csrf_token": token,
            "comment": "请补充联系方式",
            "reason-contact_email": "请填写联系邮箱",
            "reason-items[2]": "姓名长度应与数据元一致",
        },
    )
    assert returned.status_code == 303

    token = signed_in(client, "officer1")
    bell = client.get("/notifications/badge").text
    assert 'data-count="1"' in bell
    notes = client.get("/notifications").text
    assert "目录被退回修改" in notes
    edit = client.get(url + "/edit").text
    # The reviewer's reasons sit next to the fields they concern.
    email_field = edit[edit.index('for="f-contact_email"') :]
    assert email_field.index("请填写联系邮箱") < email_field.index("</div>")
    assert "信息项 2：审核人 — 姓名长度应与数据元一致" in edit
    assert "请补充联系方式" in edit
    fixed = post_form(
        client,
        url + "/edit",
        [*entry_form(contact_email="hj@stats.example.cn"), ("csrf_token", token)],
    )
    assert fixed.status_code == 303
    assert client.post(url + "/submit", data={"csrf_token": token}).status_code == 303

    token = signed_in(client, "operator1")
    published = client.post(url + "/publish", data={"csrf_token": token, "publish_comment": "好"})
    assert published.status_code == 303
    page = client.get(url).text
    assert "目录已发布。" in page and "已发布" in page
    timeline = page[page.index('id="timeline"') :]
    for label in ("发布", "重新提交", "退回修改", "提交审核", "创建"):
        assert label in timeline
    assert "请填写联系邮箱" in timeline

    # A new version goes to the editor; the diff shows what changed.
    token = signed_in(client, "officer1")
    opened = client.post(url + "/versions", data={"csrf_token": token, "change_note": "改名"})
    assert opened.status_code == 303 and opened.headers["location"] == url + "/edit"
    post_form(client, url + "/edit", [*entry_form(name="户籍人口信息"), ("csrf_token", token)])
    diff = client.get(url + "/diff?from=1&to=2").text
    fields = diff[diff.index('id="diff-fields"') :]
    assert "资源名称" in fields and "户籍人口基本信息" in fields and "户籍人口信息" in fields
    assert "版本 2" in client.get(url + "/versions/2").text


def test_search_finds_by_chinese_keyword_and_counts_facets(
    client: TestClient, portal_settings: Settings
) -> None:
    publish(portal_settings)
    publish(
        portal_settings,
        name="婚姻登记信息",
        summary="婚姻登记当事人与登记机关信息。",
        classification_code="101005",
        share_type="unconditional",
        share_condition=None,
        keywords=["婚姻"],
    )
    create(portal_settings, name="户籍草稿目录")  # a draft: only its department sees it
    add_other_department(portal_settings)
    signed_in(client, "civuser")

    found = client.get("/catalog/search", params={"q": "户籍"})
    assert found.status_code == 200
    html = found.text
    assert "户籍人口基本信息" in html and "婚姻登记信息" not in html
    assert "户籍草稿目录" not in html
    assert "找到 1 条目录" in html
    share = html[html.index('data-facet="share_type"') :]
    assert re.search(r"有条件共享</span><span class=\"facet-count\">1<", share)

    everything = client.get("/catalog/search").text
    assert "找到 2 条目录" in everything
    narrowed = client.get("/catalog/search", params={"share_type": "unconditional"})
    assert "婚姻登记信息" in narrowed.text and "户籍人口基本信息" not in narrowed.text
    assert "facet-value is-selected" in narrowed.text
    # Another facet still counts both share types while this one is selected.
    facet = narrowed.text[narrowed.text.index('data-facet="share_type"') :]
    assert "有条件共享" in facet[: facet.index("</ul>")]

    partial = client.get(
        "/catalog/search",
        params={"q": "婚姻"},
        headers={"HX-Request": "true", "HX-Target": "search-main"},
    )
    assert partial.text.lstrip().startswith('<div id="search-main">')
    assert "<html" not in partial.text and "婚姻登记信息" in partial.text

    home = client.get("/catalog").text
    assert 'id="stat-published">2<' in home
    assert "人口" in home[home.index('id="by-class"') :] and "西宁市统计局" in home

    export = client.get("/catalog/export.xlsx", params={"q": "户籍"})
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert export.content[:2] == b"PK"
    as_json = client.get("/catalog/export.json", params={"share_type": "unconditional"}).json()
    assert [e["name"] for e in as_json["entries"]] == ["婚姻登记信息"]


def test_csrf_is_enforced_on_every_catalog_form(
    client: TestClient, portal_settings: Settings
) -> None:
    entry = create(portal_settings)
    signed_in(client, "officer1")
    assert post_form(client, "/catalog/new", entry_form()).status_code == 403
    url = f"/catalog/entries/{entry.id}"
    assert client.post(url + "/submit", data={"csrf_token": "forged"}).status_code == 403
    assert post_form(client, url + "/edit", entry_form()).status_code == 403
    assert "草稿" in client.get(url).text  # nothing happened


def test_permissions_and_visibility(
    client: TestClient, portal_settings: Settings, seeded: Seed
) -> None:
    draft = create(portal_settings)
    add_other_department(portal_settings)

    signed_in(client, "deptuser1")
    assert client.get("/catalog/new").status_code == 403
    assert client.get("/catalog/review").status_code == 403
    assert client.get("/catalog/import").status_code == 403
    own = client.get(f"/catalog/entries/{draft.id}")
    assert own.status_code == 200 and 'id="edit-entry"' not in own.text
    nav = client.get("/catalog").text
    assert 'href="/catalog/search"' in nav and 'href="/catalog/review"' not in nav

    signed_in(client, "civofficer")
    assert client.get(f"/catalog/entries/{draft.id}").status_code == 404
    assert client.get(f"/catalog/entries/{draft.resource_code}").status_code == 404
    assert client.get(f"/catalog/entries/{draft.id}/edit").status_code == 404
    mine = client.get("/catalog/mine").text
    assert "户籍人口基本信息" not in mine and "暂无目录" in mine

    signed_in(client, "secadmin1")
    assert client.get("/catalog/search").status_code == 403


def test_standards_pages_and_import(client: TestClient, portal_settings: Settings) -> None:
    token = signed_in(client, "officer1")
    elements = client.get("/standards/data-elements", params={"q": "公民"}).text
    assert "DE00001" in elements and "公民身份号码" in elements and "DE00002" not in elements
    sets = client.get("/standards/code-sets").text
    assert "GB/T 2261.1-2003" in sets
    one = client.get("/standards/code-sets/GB/T 2261.1-2003").text
    assert "男性" in one and "女性" in one

    template = client.get("/catalog/import/template.xlsx")
    assert template.status_code == 200 and template.content[:2] == b"PK"
    bad = client.post(
        "/catalog/import",
        data={"csrf_token": token},
        files={"file": ("entries.xlsx", b"not a workbook", "application/octet-stream")},
    )
    assert bad.status_code == 422

    publish(portal_settings, name="低保对象信息", classification_code="101006")
    exported = client.get("/catalog/export.xlsx", params={"q": "低保"}).content
    imported = client.post(
        "/catalog/import",
        data={"csrf_token": token},
        files={"file": ("entries.xlsx", exported, "application/octet-stream")},
    )
    assert imported.status_code == 200, imported.text
    assert 'id="import-report"' in imported.text and "低保对象信息" in imported.text
    assert "已导入 1 条目录（草稿）。" in imported.text
