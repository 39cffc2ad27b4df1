"""Collection and exchange pages: sources, mounts with the mapping editor, pipelines with a
real run, lake tables, lineage and the collection report, and who sees what."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from openpyxl import load_workbook

import govdata
from govdata.catalog.schemas import EntryOut
from govdata.config import Settings
from govdata.core.db import Database
from tests.exchange.engine_fixtures import run_jobs
from tests.web.conftest import Seed, login
from tests.web.test_catalog_pages import add_other_department, publish

ITEMS = [
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
    {"name": "年龄", "name_en": "age", "data_type": "integer", "grade": 1},
    {"name": "婚姻状况", "name_en": "marital_status", "data_type": "string", "grade": 1},
]


@pytest.fixture
def people_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite source outside the platform's data folder, with three residents."""
    path = tmp_path_factory.mktemp("source") / "hukou.db"
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE people (resident_id TEXT PRIMARY KEY, xm TEXT, age INTEGER, updated_at TEXT)"
    )
    con.executemany(
        "INSERT INTO people VALUES (?, ?, ?, ?)",
        [
            ("630102199001010011", "张三", 36, "2026-01-01"),
            ("630102199202020022", "李四", 34, "2026-01-02"),
            ("630102199303030033", "王五", 33, "2026-01-03"),
        ],
    )
    con.commit()
    con.close()
    return path


def _entry(settings: Settings) -> EntryOut:
    return publish(settings, "officer1", items=ITEMS)


def _csrf(client: TestClient, url: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).text)
    assert match
    return match.group(1)


def _add_source(client: TestClient, token: str, path: Path) -> str:
    response = client.post(
        "/sources/new",
        data={"csrf_token": token, "kind": "sqlite", "name": "户籍系统", "path": str(path)},
    )
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/sources/([0-9a-f-]+)", response.headers["location"])
    assert match
    return match.group(1)


def _mount(client: TestClient, token: str, entry: EntryOut, source_id: str) -> str:
    base = {
        "csrf_token": token,
        "source_id": source_id,
        "target_kind": "table",
        "target": "people",
        "mode": "physical",
    }
    editor = client.post(f"/exchange/mounts/new?entry={entry.id}", data={**base, "step": "propose"})
    assert editor.status_code == 200
    form = _form_fields(editor.text)
    # 姓名 has no column of its name: the officer picks xm; its field and type follow.
    form[_row_of(form, "姓名").replace("item", "column")] = "xm"
    saved = client.post(
        f"/exchange/mounts/new?entry={entry.id}", data={**form, "csrf_token": token, "step": "save"}
    )
    assert saved.status_code == 303, saved.text
    return saved.headers["location"].rsplit("/", 1)[-1]


def _row_of(form: dict[str, str], item: str) -> str:
    return next(k for k, v in form.items() if k.startswith("item-") and v == item)


def _form_fields(html: str) -> dict[str, str]:
    """The values a browser would post from the mapping editor (inputs and selected options)."""
    form = html[html.index('id="mount-form"') :]
    fields: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        if not name:
            continue
        kind = re.search(r'type="([^"]+)"', tag)
        if kind and kind.group(1) in ("checkbox", "radio") and " checked" not in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        fields[name.group(1)] = value.group(1) if value else ""
    for name, body in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        fields[name] = chosen.group(1) if chosen else ""
    for name, body in re.findall(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        fields[name] = body
    return {k: v.replace("&#34;", '"').replace("&amp;", "&") for k, v in fields.items()}


def test_officer_registers_tests_discovers_previews_and_proposes(
    client: TestClient, people_db: Path
) -> None:
    token = login(client, "officer1")
    assert "数据归集" in client.get("/workbench").text
    assert client.get("/sources/new").status_code == 200
    assert 'name="path"' in client.get("/sources/new?kind=sqlite").text

    # Errors come back in Chinese, with what was typed.
    empty = client.post(
        "/sources/new", data={"csrf_token": token, "kind": "sqlite", "name": "", "path": ""}
    )
    assert empty.status_code == 422
    assert "请检查" in empty.text
    relative = client.post(
        "/sources/new",
        data={"csrf_token": token, "kind": "sqlite", "name": "相对路径", "path": "rel.db"},
    )
    assert relative.status_code == 422
    assert "绝对路径" in relative.text
    assert 'value="相对路径"' in relative.text

    source_id = _add_source(client, token, people_db)
    listing = client.get("/sources?q=户籍&kind=sqlite").text
    assert "户籍系统" in listing and "西宁市统计局" in listing and "未测试" in listing
    assert "户籍系统" not in client.get("/sources?kind=mariadb").text

    tested = client.post(
        f"/sources/{source_id}/test", headers={"HX-Request": "true", "X-CSRF-Token": token}
    )
    assert tested.status_code == 200
    assert 'data-status="ok"' in tested.text and "连接成功" in tested.text
    assert "连接正常" in client.get(f"/sources/{source_id}").text

    tables = client.get(f"/sources/{source_id}/tables", headers={"HX-Request": "true"}).text
    assert "people" in tables and "resident_id" in tables and "INTEGER" in tables
    assert "预览数据" in tables

    preview = client.get(f"/sources/{source_id}/preview?table=people").text
    assert "张三" in preview and "630102199303030033" in preview

    proposal = client.post(
        f"/sources/{source_id}/propose",
        data={"table": "people"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert proposal.status_code == 200
    assert "proposal-items" in proposal.text and "resident_id" in proposal.text

    # A missing table is a message in the fragment, not a failure of the page.
    missing = client.get(f"/sources/{source_id}/preview?table=nope").text
    assert "alert-error" in missing

    # English is one click away.
    switched = client.post(
        "/locale", data={"csrf_token": token, "locale": "en", "next": "/sources"}
    )
    assert switched.status_code == 303
    english = client.get("/sources").text
    assert "Source systems" in english and "SQLite database file" in english
    assert "Connected" in english


def test_file_source_takes_uploads(client: TestClient) -> None:
    token = login(client, "officer1")
    created = client.post(
        "/sources/new", data={"csrf_token": token, "kind": "file", "name": "低保名册"}
    )
    assert created.status_code == 303, created.text
    url = created.headers["location"]
    assert 'id="upload"' in client.get(url).text
    empty = client.post(url + "/upload", data={"csrf_token": token})
    assert empty.status_code == 422 and "请选择要上传的文件" in empty.text
    csv = "身份证号,姓名\n630102199001010011,张三\n".encode("gb18030")
    uploaded = client.post(
        url + "/upload",
        data={"csrf_token": token},
        files={"file": ("dibao.csv", csv, "text/csv")},
    )
    assert uploaded.status_code == 303, uploaded.text
    assert "文件已上传。" in client.get(url).text
    tables = client.get(url + "/tables", headers={"HX-Request": "true"}).text
    assert "dibao.csv" in tables and "身份证号" in tables
    assert "张三" in client.get(url + "/preview?table=dibao.csv").text


def test_passwords_are_never_shown_again(client: TestClient) -> None:
    token = login(client, "officer1")
    created = client.post(
        "/sources/new",
        data={
            "csrf_token": token,
            "kind": "mariadb",
            "name": "户政库",
            "host": "127.0.0.1",
            "port": "3306",
            "database": "hz",
            "user": "reader",
            "password": "S3cret-Never-Shown",
        },
    )
    assert created.status_code == 303, created.text
    url = created.headers["location"]
    detail = client.get(url).text
    assert "S3cret-Never-Shown" not in detail and "••••••" in detail
    edit = client.get(url + "/edit").text
    assert "S3cret-Never-Shown" not in edit and "已设置" in edit
    assert 'name="password" value=""' in edit

    # Saving without a password keeps it; a bad port comes back in Chinese.
    bad = client.post(
        url + "/edit",
        data={
            "csrf_token": token,
            "name": "户政库",
            "host": "127.0.0.1",
            "port": "99999",
            "database": "hz",
            "user": "reader",
        },
    )
    assert bad.status_code == 422
    assert "连接配置不正确" in bad.text and "S3cret-Never-Shown" not in bad.text


def test_who_sees_sources_and_rows(
    client: TestClient, portal_settings: Settings, people_db: Path
) -> None:
    add_other_department(portal_settings)
    token = login(client, "officer1")
    source_id = _add_source(client, token, people_db)

    client.cookies.clear()
    login(client, "operator1")
    assert "户籍系统" in client.get("/sources").text
    detail = client.get(f"/sources/{source_id}")
    assert detail.status_code == 200
    tables = client.get(f"/sources/{source_id}/tables", headers={"HX-Request": "true"}).text
    assert "resident_id" in tables and "预览数据" not in tables
    assert client.get(f"/sources/{source_id}/preview?table=people").status_code == 403

    client.cookies.clear()
    login(client, "civofficer")
    assert "户籍系统" not in client.get("/sources").text
    assert client.get(f"/sources/{source_id}").status_code == 404
    assert client.get(f"/sources/{source_id}/preview?table=people").status_code == 404

    client.cookies.clear()
    login(client, "deptuser1")
    assert client.get("/sources").status_code == 403
    assert "数据归集" not in client.get("/workbench").text


def test_mount_editor_flags_unmapped_items_and_type_errors(
    client: TestClient, portal_settings: Settings, people_db: Path
) -> None:
    entry = _entry(portal_settings)
    token = login(client, "officer1")
    source_id = _add_source(client, token, people_db)
    page = client.get(f"/catalog/entries/{entry.id}").text
    assert 'id="mount-data"' in page

    editor = client.post(
        f"/exchange/mounts/new?entry={entry.id}",
        data={
            "csrf_token": token,
            "source_id": source_id,
            "target_kind": "table",
            "target": "people",
            "mode": "physical",
            "step": "propose",
        },
    ).text
    rows = re.findall(r'<tr class="mapping-row[^"]*" data-item="([^"]*)">(.*?)</tr>', editor, re.S)
    by_item = {name: body for name, body in rows}
    assert set(by_item) == {"公民身份号码", "姓名", "年龄", "婚姻状况"}
    assert '<option value="resident_id" selected' in by_item["公民身份号码"]
    assert '<option value="age" selected' in by_item["年龄"]
    assert "未映射" in by_item["婚姻状况"] and "未映射" in by_item["姓名"]
    assert "未映射" not in by_item["公民身份号码"]

    # Text into the integer item 年龄 is refused, on its row, in Chinese.
    form = _form_fields(editor)
    form[_row_of(form, "年龄").replace("item", "column")] = "xm"
    form[_row_of(form, "姓名").replace("item", "column")] = "xm"
    refused = client.post(
        f"/exchange/mounts/new?entry={entry.id}", data={**form, "csrf_token": token, "step": "save"}
    )
    assert refused.status_code == 422
    bad_rows = dict(
        re.findall(
            r'<tr class="mapping-row[^"]*" data-item="([^"]*)">(.*?)</tr>', refused.text, re.S
        )
    )
    assert "mapping-issue" in bad_rows["年龄"]
    assert "mapping-issue" not in bad_rows["姓名"]
    assert re.search(r"[\u4e00-\u9fff]", bad_rows["年龄"].split("mapping-issue", 1)[1])

    # Put right, it mounts as logical access: rows are read at the source when shown.
    form = _form_fields(refused.text)
    form[_row_of(form, "年龄").replace("item", "column")] = "age"
    form["mode"] = "logical"
    saved = client.post(
        f"/exchange/mounts/new?entry={entry.id}", data={**form, "csrf_token": token, "step": "save"}
    )
    assert saved.status_code == 303, saved.text
    mount_url = saved.headers["location"]
    detail = client.get(mount_url).text
    assert "逻辑接入" in detail and "就地查询" in detail and 'id="new-pipeline"' not in detail
    rows = client.get(mount_url + "/rows").text
    assert "张三" in rows and 'data-row-count="3"' in rows
    lineage = client.get(f"/exchange/lineage/{entry.id}").text
    assert "就地查询" in lineage and 'id="no-mount"' not in lineage


def test_mount_pipeline_run_lake_lineage_and_report(
    client: TestClient,
    db: Database,
    portal_settings: Settings,
    seeded: Seed,
    people_db: Path,
) -> None:
    add_other_department(portal_settings)
    entry = _entry(portal_settings)
    token = login(client, "officer1")
    source_id = _add_source(client, token, people_db)
    mount_id = _mount(client, token, entry, source_id)

    mount = client.get(f"/exchange/mounts/{mount_id}").text
    assert "物理汇聚" in mount and "婚姻状况" in mount  # unmapped item listed
    assert "resident_id" in mount
    entry_page = client.get(f"/catalog/entries/{entry.id}").text
    assert (
        f"/exchange/mounts/{mount_id}" in entry_page
        and f"/exchange/lineage/{entry.id}" in entry_page
    )

    form = client.get(f"/exchange/pipelines/new?mount={mount_id}").text
    assert 'name="schedule"' in form
    bad = client.post(
        f"/exchange/pipelines/new?mount={mount_id}",
        data={"csrf_token": token, "name": "全量", "kind": "full", "schedule": "every day"},
    )
    assert bad.status_code == 422 and "定时表达式" in bad.text
    created = client.post(
        f"/exchange/pipelines/new?mount={mount_id}",
        data={"csrf_token": token, "name": "全量", "kind": "full", "schedule": "0 2 * * *"},
    )
    assert created.status_code == 303, created.text
    pipeline_url = created.headers["location"]
    assert "0 2 * * *" in client.get("/exchange/pipelines").text

    queued = client.post(pipeline_url + "/run", data={"csrf_token": token})
    assert queued.status_code == 303
    panel = client.get(pipeline_url + "/progress").text
    assert 'hx-trigger="every 1s"' in panel and 'data-run-status="queued"' in panel
    busy = client.post(pipeline_url + "/run", data={"csrf_token": token})
    assert busy.status_code == 409 and "已有运行中或排队中的任务" in busy.text

    assert run_jobs(db, portal_settings) >= 1
    panel = client.get(pipeline_url + "/progress").text
    assert 'data-run-status="succeeded"' in panel and "hx-get" not in panel
    assert '<dd data-testid="rows-written">3</dd>' in panel
    detail = client.get(pipeline_url).text
    run_id = re.search(r'href="/exchange/runs/([0-9a-f-]+)"', detail)
    assert run_id
    run = client.get(f"/exchange/runs/{run_id.group(1)}").text
    assert "run-log" in run and "成功" in run

    paused = client.post(pipeline_url + "/pause", data={"csrf_token": token})
    assert paused.status_code == 303
    assert "已暂停" in client.get(pipeline_url).text
    refused = client.post(pipeline_url + "/run", data={"csrf_token": token})
    assert refused.status_code == 409 and "已暂停" in refused.text
    assert client.post(pipeline_url + "/resume", data={"csrf_token": token}).status_code == 303

    lake = client.get("/exchange/lake").text
    table = re.search(r'href="/exchange/lake/([^"]+)"', lake)
    assert table and "户籍人口基本信息" in lake
    lake_table = client.get(f"/exchange/lake/{table.group(1)}").text
    assert 'id="lake-rows">3<' in lake_table and "WRITE" in lake_table.upper()
    rows = client.get(f"/exchange/lake/{table.group(1)}/rows").text
    assert "张三" in rows
    assert "张三" in client.get(f"/exchange/mounts/{mount_id}/rows").text

    lineage = client.get(f"/exchange/lineage/{entry.id}").text
    assert "户籍系统" in lineage and table.group(1) in lineage
    assert 'data-event="COMPLETE"' in lineage and 'data-event="START"' in lineage

    report = client.get("/exchange/report").text
    assert "西宁市统计局" in report and 'id="report-departments"' in report
    assert 'data-department="stats"' in report
    client.cookies.clear()
    login(client, "regionop")
    regional = client.get("/exchange/report?region=630100").text
    assert 'data-region="630100"' in regional and "西宁市民政局" in regional
    assert client.get("/exchange/report?region=630000").status_code == 403
    # A region operator reads collection in the region but changes nothing.
    assert 'id="run-now"' not in client.get(pipeline_url).text
    assert client.get(f"/exchange/pipelines/new?mount={mount_id}").status_code == 403
    assert (
        client.post(
            pipeline_url + "/run", data={"csrf_token": _csrf(client, pipeline_url)}
        ).status_code
        == 403
    )
    client.cookies.clear()
    token = login(client, "officer1")
    export = client.get("/exchange/report.xlsx")
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("application/vnd.openxml")
    from io import BytesIO

    book = load_workbook(BytesIO(export.content))
    assert len(book.sheetnames) >= 2

    # The operator sees the collection but not a single row.
    client.cookies.clear()
    login(client, "operator1")
    assert client.get(f"/exchange/mounts/{mount_id}").status_code == 200
    assert 'id="load-rows"' not in client.get(f"/exchange/lake/{table.group(1)}").text
    assert client.get(f"/exchange/lake/{table.group(1)}/rows").status_code == 403
    assert client.get(f"/exchange/mounts/{mount_id}/rows").status_code == 403
    assert 'id="run-now"' in client.get(pipeline_url).text  # operators manage workflows

    # Another department's officer learns nothing of it.
    client.cookies.clear()
    login(client, "civofficer")
    assert client.get(f"/exchange/mounts/{mount_id}").status_code == 404
    assert client.get(pipeline_url).status_code == 404
    assert client.get(f"/exchange/lake/{table.group(1)}").status_code == 404
    assert client.get(f"/exchange/lineage/{entry.id}").status_code == 404
    assert "户籍人口基本信息" not in client.get("/exchange/lake").text
    assert client.get(f"/exchange/mounts/new?entry={entry.id}").status_code == 403


PAGE_SOURCES = [
    ("web/templates/sources/**.html", "jinja2"),
    ("web/templates/exchange/**.html", "jinja2"),
    ("web/templates/catalog/entry.html", "jinja2"),
    ("web/portal.py", "python"),
    ("sources/pages.py", "python"),
    ("exchange/pages/*.py", "python"),
]


def test_every_exchange_page_message_has_a_chinese_translation() -> None:
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
    assert "Source systems" in found and "Run now" in found  # the extraction read our files
    with (src / "web/locale/zh_CN/LC_MESSAGES/messages.po").open("rb") as fh:
        catalog = read_po(fh, locale="zh_CN")
    translated: set[Any] = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id and (m.string if isinstance(m.string, str) else all(m.string or ()))
    }
    assert sorted(found - translated) == []
