"""The operator's catalog pages through real requests: classification tree and search synonyms."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from govdata.catalog import actions
from govdata.catalog.schemas import EntryCreate, EntryOut, PublishRequest
from govdata.config import Settings
from govdata.core.errors import InvalidInput
from tests.catalog.conftest import content
from tests.web.conftest import login
from tests.web.test_catalog_pages import caller

CLASSES = "/catalog/admin/classes"
SYNONYMS = "/catalog/admin/synonyms"


def signed_in(client: TestClient, username: str) -> str:
    client.cookies.clear()
    return login(client, username)


def new_entry(settings: Settings, class_code: str, **overrides: Any) -> EntryOut:
    """A draft by the statistics bureau's officer under ``class_code``."""
    c = caller(settings, "officer1")
    try:
        with c.act() as ctx:
            return actions.create_entry(
                ctx, EntryCreate(classification_code=class_code, **content(**overrides))
            )
    finally:
        c.db.dispose()


def publish(settings: Settings, entry: EntryOut) -> None:
    officer, operator = caller(settings, "officer1"), caller(settings, "operator1")
    try:
        with officer.act() as ctx:
            actions.submit_entry(ctx, entry.id)
        with operator.act() as ctx:
            actions.publish_entry(ctx, entry.id, PublishRequest())
    finally:
        officer.db.dispose()
        operator.db.dispose()


def row(html: str, code: str) -> str:
    """The tree's table row of a 目 or 细目."""
    match = re.search(rf'<tr id="class-{code}"[^>]*>.*?</tr>', html, re.S)
    assert match, f"no row for {code}"
    return match.group(0)


def results(client: TestClient, q: str) -> str:
    page = client.get("/catalog/search", params={"q": q})
    assert page.status_code == 200
    return page.text


def test_operator_adds_renames_and_deactivates_a_node(
    client: TestClient, portal_settings: Settings
) -> None:
    token = signed_in(client, "operator1")
    tree = client.get(CLASSES)
    assert tree.status_code == 200
    assert "<h1>分类管理</h1>" in tree.text
    assert 'class="nav-item is-active" href="/catalog/admin/classes"' in tree.text
    assert "人口基本信息" in row(tree.text, "101001") and "常住户口登记" in tree.text
    assert '<option value="101001"' in tree.text  # a 目 can take a 细目
    assert '<option value="10100201"' not in tree.text  # nothing goes below a 细目

    added = client.post(
        CLASSES,
        data={"parent_code": "101", "segment": "901", "name": "低保对象信息", "csrf_token": token},
    )
    assert added.status_code == 303, added.text
    assert added.headers["location"] == f"{CLASSES}?focus=101901#class-101901"
    page = client.get(added.headers["location"]).text
    assert "已新增分类。" in page
    new_row = row(page, "101901")
    assert "低保对象信息" in new_row and "目" in new_row and "启用" in new_row
    # Without a position it goes after its siblings, and its 项 is unfolded to show it.
    assert page.index('id="class-101901"') > page.index('id="class-101007"')
    assert re.search(r'<li id="class-101">\s*<details open>', page)
    assert not re.search(r'<li id="class-102">\s*<details open>', page)

    renamed = client.post(
        f"{CLASSES}/101901", data={"name": "低保救助对象信息", "position": "0", "csrf_token": token}
    )
    assert renamed.status_code == 303
    page = client.get(renamed.headers["location"]).text
    assert "已更新分类。" in page
    assert "低保救助对象信息" in row(page, "101901")
    assert page.index('id="class-101901"') < page.index('id="class-101001"')  # moved first

    draft = new_entry(portal_settings, "101901", name="低保救助对象名册")
    assert draft.class_code == "101901"

    off = client.post(f"{CLASSES}/101901/active", data={"active": "0", "csrf_token": token})
    assert off.status_code == 303
    page = client.get(off.headers["location"]).text
    assert "已停用分类。" in page
    greyed = row(page, "101901")
    assert 'class="muted"' in greyed and "停用" in greyed and ">启用</button>" in greyed
    with pytest.raises(InvalidInput) as refused:
        new_entry(portal_settings, "101901", name="低保救助对象名册二")
    assert refused.value.code == "unknown_classification"
    editor = client.get("/catalog/new").text
    assert '<option value="101901"' not in editor  # the editor offers active nodes only

    # A deactivated 项 greys its whole branch.
    client.post(f"{CLASSES}/102/active", data={"active": "0", "csrf_token": token})
    page = client.get(CLASSES).text
    assert "上级已停用" in row(page, "102001") and 'class="muted"' in row(page, "102001")

    on = client.post(f"{CLASSES}/101901/active", data={"active": "1", "csrf_token": token})
    assert on.status_code == 303
    assert "已重新启用分类。" in client.get(on.headers["location"]).text
    assert new_entry(portal_settings, "101901", name="低保救助对象名册三").class_code == "101901"


def test_class_form_errors_show_on_the_page_and_keep_the_input(client: TestClient) -> None:
    token = signed_in(client, "operator1")
    short = client.post(
        CLASSES,
        data={"parent_code": "101", "segment": "12", "name": "保留这个名称", "csrf_token": token},
    )
    assert short.status_code == 422
    html = short.text
    assert "该级分类代码应为 3" in html and 'role="alert"' in html
    assert '<details class="card" open id="new-class">' in html
    assert 'value="保留这个名称"' in html and 'name="segment" value="12"' in html
    assert '<option value="101" selected>' in html
    assert 'class="field has-error">\n        <span class="field-label">本级代码' in html

    letters = client.post(
        CLASSES, data={"parent_code": "101", "segment": "abc", "name": "x", "csrf_token": token}
    )
    assert letters.status_code == 422 and "请检查以下内容：本级代码" in letters.text

    taken = client.post(
        CLASSES,
        data={"parent_code": "101", "segment": "001", "name": "重复", "csrf_token": token},
    )
    assert taken.status_code == 409
    assert "分类代码“101001”已存在" in taken.text and 'value="重复"' in taken.text

    deep = client.post(
        CLASSES,
        data={"parent_code": "10100201", "segment": "1", "name": "太深", "csrf_token": token},
    )
    assert deep.status_code == 422 and "细目之下不能再分" in deep.text

    unnamed = client.post(
        f"{CLASSES}/101001", data={"name": "", "position": "7", "csrf_token": token}
    )
    assert unnamed.status_code == 422 and "请检查以下内容：名称" in unnamed.text
    assert '<details class="popover" id="edit-101001" open>' in unnamed.text
    assert 'name="position" value="7"' in unnamed.text
    assert "人口基本信息" in row(client.get(CLASSES).text, "101001")  # nothing was saved

    missing = client.post(f"{CLASSES}/999999", data={"name": "无", "csrf_token": token})
    assert missing.status_code == 404


def test_operator_maintains_search_synonyms(client: TestClient, portal_settings: Settings) -> None:
    publish(portal_settings, new_entry(portal_settings, "101001", name="最低生活保障对象信息"))
    token = signed_in(client, "operator1")
    empty = client.get(SYNONYMS)
    assert empty.status_code == 200
    assert "<h1>检索同义词</h1>" in empty.text and 'id="synonym-help"' in empty.text
    assert "尚未设置同义词" in empty.text
    assert "最低生活保障对象信息" not in results(client, "低保")  # not without the synonym

    saved = client.post(
        SYNONYMS,
        data={"term": "低保", "synonyms": "最低生活保障、城乡低保\n低保", "csrf_token": token},
    )
    assert saved.status_code == 303, saved.text
    page = client.get(SYNONYMS).text
    assert "已保存同义词。" in page
    listed = page[page.index('id="synonyms"') :]
    assert "<strong>低保</strong>" in listed
    assert '<span class="badge badge-blue">最低生活保障</span>' in listed
    assert '<span class="badge badge-blue">城乡低保</span>' in listed
    assert '<span class="badge badge-blue">低保</span>' not in listed  # the term itself is dropped
    assert "最低生活保障对象信息" in results(client, "低保")

    edit = client.get(SYNONYMS, params={"term": "低保"}).text
    assert "修改同义词" in edit and ">最低生活保障\n城乡低保</textarea>" in edit
    replaced = client.post(
        SYNONYMS, data={"term": "低保", "synonyms": "最低生活保障", "csrf_token": token}
    )
    assert replaced.status_code == 303
    assert "城乡低保" not in client.get(SYNONYMS).text

    only_itself = client.post(
        SYNONYMS, data={"term": "低保", "synonyms": "低保", "csrf_token": token}
    )
    assert only_itself.status_code == 422
    assert "同义词不能只包含该词本身" in only_itself.text
    assert 'name="term" value="低保"' in only_itself.text
    nothing = client.post(SYNONYMS, data={"term": "", "synonyms": "", "csrf_token": token})
    assert nothing.status_code == 422 and "请检查以下内容：检索词、同义词" in nothing.text

    deleted = client.post(f"{SYNONYMS}/delete", data={"term": "低保", "csrf_token": token})
    assert deleted.status_code == 303
    page = client.get(SYNONYMS).text
    assert "已删除同义词。" in page and "尚未设置同义词" in page
    assert "最低生活保障对象信息" not in results(client, "低保")
    again = client.post(f"{SYNONYMS}/delete", data={"term": "低保", "csrf_token": token})
    assert again.status_code == 404 and "同义词“低保”不存在" in again.text


def test_only_the_operator_manages_and_posts_need_the_csrf_token(client: TestClient) -> None:
    token = signed_in(client, "officer1")
    nav = client.get("/workbench").text
    assert CLASSES not in nav and SYNONYMS not in nav
    for url in (CLASSES, SYNONYMS):
        refused = client.get(url)
        assert refused.status_code == 403 and "无权访问" in refused.text
    posts: list[tuple[str, dict[str, str]]] = [
        (CLASSES, {"parent_code": "101", "segment": "902", "name": "越权"}),
        (f"{CLASSES}/101001", {"name": "越权"}),
        (f"{CLASSES}/101001/active", {"active": "0"}),
        (SYNONYMS, {"term": "越权", "synonyms": "越权操作"}),
        (f"{SYNONYMS}/delete", {"term": "越权"}),
    ]
    for url, data in posts:
        assert client.post(url, data={**data, "csrf_token": token}).status_code == 403, url

    token = signed_in(client, "operator1")
    for url, data in posts:
        forged = client.post(url, data=data)  # no token: a cross-site form
        assert forged.status_code == 403, url
        assert "请求校验失败" in forged.text
    page = client.get(CLASSES).text
    assert 'id="class-101902"' not in page and "越权" not in page
    first = row(page, "101001")
    assert "人口基本信息" in first and ">停用</button>" in first  # still active
    assert "越权" not in client.get(SYNONYMS).text

    client.cookies.clear()
    anonymous = client.get(CLASSES)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
