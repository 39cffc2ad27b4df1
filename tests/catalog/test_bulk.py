"""Excel template, bulk import with its error report, and export to Excel and JSON."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook

from govdata.app import create_app
from govdata.catalog import actions, api_transfer, bulk, workbook
from govdata.catalog.search import SearchParams
from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.errors import InvalidInput, PermissionDenied
from tests.catalog.conftest import content, new_entry, published_entry
from tests.identity.conftest import Org, audit_rows, build_org, count
from tests.identity.test_api import bearer

ENTRY_HEADERS = [c.header for c in workbook.ENTRY_COLS]
ITEM_HEADERS = [c.header for c in workbook.ITEM_COLS]


def fill(entries: list[dict[str, Any]], items: list[dict[str, Any]]) -> bytes:
    """The downloaded template with rows typed in by header, as a department would."""
    wb = load_workbook(io.BytesIO(bulk.entry_template()))
    for sheet, headers, rows in (
        (wb["目录"], ENTRY_HEADERS, entries),
        (wb["信息项"], ITEM_HEADERS, items),
    ):
        for row in rows:
            sheet.append([row.get(h) for h in headers])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def good_row(key: int, **overrides: Any) -> dict[str, Any]:
    row = {
        "行号": key,
        "资源分类代码": "101001",
        "资源名称": f"常住人口登记信息{key}",
        "资源摘要": "全省常住人口登记信息",
        "资源格式": "数据库",
        "共享类型": "有条件共享",
        "共享条件": "用于政务服务身份核验",
        "共享方式": "接口、库表",
        "开放类型": "不予开放",
        "更新周期": "每日",
        "分级": 2,
    }
    row.update(overrides)
    return row


def good_item(key: int, name: str = "姓名", **overrides: Any) -> dict[str, Any]:
    row = {"行号": key, "信息项名称": name, "数据类型": "字符型", "长度": 50, "是否主键": "否"}
    row.update(overrides)
    return row


def import_as(org: Org, user: str, data: bytes, filename: str = "目录.xlsx") -> bulk.ImportReport:
    with org.as_(user).act() as ctx:
        return bulk.import_entries(ctx, data, filename)


def import_errors(org: Org, user: str, data: bytes) -> list[tuple[str, int, str, str]]:
    with pytest.raises(InvalidInput) as exc:
        import_as(org, user, data)
    assert exc.value.code == "import_failed"
    errors = exc.value.details["errors"]
    assert all(e["message"] and e["message_en"] for e in errors)
    return [(e["sheet"], e["row"], e["column"], e["code"]) for e in errors]


def comparable(version: Any) -> dict[str, Any]:
    data = version.model_dump(
        include={
            "name", "summary", "format", "share_type", "share_condition", "not_shared_basis",
            "share_modes", "open_type", "open_condition", "update_cycle", "publish_date",
            "related_codes", "keywords", "grade", "contact_name", "contact_phone",
            "contact_email",
        }
    )  # fmt: skip
    data["items"] = [i.model_dump(exclude={"position"}) for i in version.items]
    return data


# Template ----------------------------------------------------------------------------------


def test_template_has_chinese_headers_dropdowns_and_instructions() -> None:
    wb = load_workbook(io.BytesIO(bulk.entry_template()))
    assert wb.sheetnames == ["目录", "信息项", "填写说明"]
    entries, items, help_ = wb["目录"], wb["信息项"], wb["填写说明"]
    assert [c.value for c in entries[1]] == ENTRY_HEADERS
    assert ENTRY_HEADERS[:20] == [
        "行号", "资源分类代码", "资源名称", "资源提供方代码", "资源摘要", "资源格式", "共享类型",
        "共享条件", "不予共享依据", "共享方式", "开放类型", "开放条件", "更新周期", "发布日期",
        "关联资源代码", "关键词", "分级", "联系人", "联系电话", "电子邮箱",
    ]  # fmt: skip
    assert [c.value for c in items[1]] == [
        "行号", "信息项名称", "英文名称", "数据类型", "长度", "是否主键", "是否敏感", "分级",
        "共享类型", "描述", "数据元标识符",
    ]  # fmt: skip
    assert entries.freeze_panes == "A2" and items.freeze_panes == "A2"
    assert entries.max_row == 1 and items.max_row == 1  # no sample rows to import by mistake
    assert entries["C1"].font.bold and entries.column_dimensions["C"].width >= 20

    # Drop-downs point at the allowed values listed on 填写说明.
    lists = {str(dv.sqref): dv.formula1 for dv in entries.data_validations.dataValidation}
    assert set(lists) >= {"F2:F5001", "G2:G5001", "K2:K5001", "M2:M5001", "Q2:Q5001"}
    allowed: dict[str, list[Any]] = {}
    for col in help_.iter_cols(min_col=6, values_only=True):
        allowed[col[0]] = [v for v in col[1:] if v is not None]
    sheet_range = lists["G2:G5001"].split("!")[1].replace("$", "")
    shown = [c.value for row in help_[sheet_range] for c in row]
    assert shown == allowed["共享类型"] == ["无条件共享", "有条件共享", "不予共享"]
    assert allowed["更新周期"][:3] == ["实时", "每日", "每周"]
    assert allowed["分级"] == [1, 2, 3, 4]
    item_lists = {str(dv.sqref): dv.formula1 for dv in items.data_validations.dataValidation}
    assert item_lists["F2:F5001"] == '"是,否"'
    notes = {(r[0], r[1]): r[3] for r in help_.iter_rows(min_row=2, max_col=4, values_only=True)}
    assert "有条件共享时必填" in notes[("目录", "共享条件")]


# Round trip --------------------------------------------------------------------------------


def test_export_then_import_reproduces_entries_with_items(org: Org) -> None:
    published = published_entry(org)
    draft = new_entry(
        org,
        "xn_officer",
        name="法人单位登记信息",
        share_type="none",
        share_condition=None,
        not_shared_basis="《中华人民共和国统计法》第九条",
        share_modes=["file", "email"],
        open_type="closed",
        update_cycle="quarterly",
        publish_date=date(2024, 3, 31),
        related_codes=["101001/000001", "101002/000007"],
        keywords=["法人", "登记"],
        grade=2,
        items=[
            {"name": "统一社会信用代码", "data_type": "string", "length": 18, "is_key": True,
             "grade": 2, "description": "GB 32100", "data_element": "DE00004"},
            {"name": "注册资本", "name_en": "capital", "data_type": "decimal", "grade": 1},
        ],
    )  # fmt: skip
    with org.as_("xn_officer").act() as ctx:
        data = bulk.export_xlsx(ctx, SearchParams(provider=["xn_stats"]))

    wb = load_workbook(io.BytesIO(data), read_only=True)
    rows = list(wb["目录"].iter_rows(values_only=True))
    assert list(rows[0]) == ENTRY_HEADERS
    by_name = {r[2]: dict(zip(ENTRY_HEADERS, r, strict=True)) for r in rows[1:]}
    assert by_name["法人单位登记信息"]["共享方式"] == "文件、邮件"
    assert by_name["法人单位登记信息"]["状态"] == "草稿"
    assert by_name["户籍人口基本信息"]["资源代码"] == published.resource_code
    assert by_name["户籍人口基本信息"]["共享类型"] == "有条件共享"
    assert len(list(wb["信息项"].iter_rows(min_row=2, values_only=True))) == 5
    wb.close()

    # The operator imports the file again: two new drafts with the same content and items.
    report = import_as(org, "operator", data, "export.xlsx")
    assert report.entry_count == 2 and report.item_count == 5
    assert len(set(report.resource_codes) & {published.resource_code, draft.resource_code}) == 0
    with org.as_("operator").act() as ctx:
        copies = {e.name: actions.get_entry(ctx, e.id) for e in report.entries}
        originals = [actions.get_entry(ctx, published.id), actions.get_entry(ctx, draft.id)]
    for original in originals:
        copy = copies[original.name]
        assert copy.status == "draft" and copy.provider.code == "xn_stats"
        assert copy.class_code == original.class_code
        assert comparable(copy.current) == comparable(original.current)
    assert copies["法人单位登记信息"].current.publish_date == date(2024, 3, 31)

    (export_audit,) = audit_rows(org.db, "catalog.export")
    assert export_audit["details"] == {"format": "xlsx", "entries": 2}
    (import_audit,) = audit_rows(org.db, "catalog.import")
    assert import_audit["actor_name"] == "operator"
    assert import_audit["details"] == {"filename": "export.xlsx", "entries": 2, "items": 5}


def test_import_accepts_codes_aliases_dates_and_blank_rows(org: Org) -> None:
    data = fill(
        [
            good_row(1, 共享类型="conditional", 共享方式="api，table", 更新周期="每季",
                     发布日期="2025年1月5日", 分级="三级（重要数据）", 关键词="户籍; 人口"),
            {},  # a blank line between rows is skipped, not an error
            good_row(2, 资源提供方代码="xn_stats", 资源格式="Database"),
        ],
        [good_item(1, 是否主键="是", 是否敏感="Y", 分级=3), good_item(1, "性别"),
         good_item(2, 数据类型="integer", 长度=None)],
    )  # fmt: skip
    report = import_as(org, "xn_officer", data)
    assert [e.row for e in report.entries] == [2, 4]
    with org.as_("xn_officer").act() as ctx:
        first = actions.get_entry(ctx, report.entries[0].id).current
    assert (first.share_modes, first.update_cycle, first.grade) == (
        ["api", "table"],
        "quarterly",
        3,
    )
    assert first.publish_date == date(2025, 1, 5) and first.keywords == ["户籍", "人口"]
    assert [(i.name, i.is_key, i.is_sensitive, i.grade) for i in first.items] == [
        ("姓名", True, True, 3),
        ("性别", False, False, 1),
    ]


# Error report ------------------------------------------------------------------------------


def test_import_reports_every_bad_cell_and_creates_nothing(org: Org) -> None:
    data = fill(
        [
            good_row(1),
            good_row(2, 资源分类代码="999999"),
            good_row(3, 共享类型="随便共享"),
            good_row(4, 资源名称=None),
            good_row(5, 分级=7),
            good_row(6, 发布日期="下周一", 共享方式="接口、快递"),
            good_row(1, 资源名称="重复行号"),
            good_row(7, 资源分类代码="101"),
        ],
        [
            good_item(1),
            good_item(9),
            good_item(1, 数据类型="文本"),
            good_item(2, 长度="很长", 是否敏感="也许"),
            good_item(3, 信息项名称=None),
        ],
    )
    before = count(org.db, "catalog_entries")
    assert import_errors(org, "xn_officer", data) == [
        ("目录", 3, "资源分类代码", "unknown_classification"),
        ("目录", 4, "共享类型", "invalid_choice"),
        ("目录", 5, "资源名称", "missing_required"),
        ("目录", 6, "分级", "invalid_grade"),
        ("目录", 7, "共享方式", "invalid_choice"),
        ("目录", 7, "发布日期", "invalid_date"),
        ("目录", 8, "行号", "duplicate_row_key"),
        ("目录", 9, "资源分类代码", "classification_too_broad"),
        ("信息项", 3, "行号", "unknown_row_key"),
        ("信息项", 4, "数据类型", "invalid_choice"),
        ("信息项", 5, "长度", "invalid_number"),
        ("信息项", 5, "是否敏感", "invalid_boolean"),
        ("信息项", 6, "信息项名称", "missing_required"),
    ]
    assert count(org.db, "catalog_entries") == before
    assert audit_rows(org.db, "catalog.import") == []


def test_messages_name_allowed_values_and_schema_rules_apply(org: Org) -> None:
    with pytest.raises(InvalidInput) as exc:
        import_as(org, "xn_officer", fill([good_row(1, 更新周期="每两天")], []))
    (error,) = exc.value.details["errors"]
    assert "每两天" in error["message"] and "每日" in error["message"]
    assert "Daily" not in error["message"] and "每日" in error["message_en"]

    too_long = fill([good_row(1, 资源名称="长" * 300, 资源提供方代码="xn_stats")], [])
    assert import_errors(org, "operator", too_long) == [("目录", 2, "资源名称", "invalid_value")]


# Permissions -------------------------------------------------------------------------------


def test_officer_imports_for_own_department_only(org: Org) -> None:
    foreign = fill([good_row(1), good_row(2, 资源提供方代码="hx_stats")], [])
    assert import_errors(org, "xn_officer", foreign) == [
        ("目录", 3, "资源提供方代码", "provider_not_allowed")
    ]
    unknown = fill([good_row(1, 资源提供方代码="nowhere")], [])
    assert import_errors(org, "xn_officer", unknown) == [
        ("目录", 2, "资源提供方代码", "unknown_provider")
    ]
    # The operator belongs to no department, so every row must name its provider.
    assert import_errors(org, "operator", fill([good_row(1)], [])) == [
        ("目录", 2, "资源提供方代码", "provider_required")
    ]
    report = import_as(org, "xn_officer", fill([good_row(1)], [good_item(1)]))
    with org.as_("xn_officer").act() as ctx:
        entry = actions.get_entry(ctx, report.resource_codes[0])
    assert entry.provider.code == "xn_stats" and entry.status == "draft"

    # A department user reads the catalog but neither imports nor gets the template.
    before = count(org.db, "catalog_entries")
    with pytest.raises(PermissionDenied):
        import_as(org, "xn_clerk", fill([good_row(1)], []))
    with pytest.raises(PermissionDenied), org.as_("xn_clerk").act() as ctx:
        bulk.download_template(ctx)
    assert count(org.db, "catalog_entries") == before


# Bad files ---------------------------------------------------------------------------------


def _zip_without_workbook() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    return out.getvalue()


def _workbook_without_catalog_sheet() -> bytes:
    wb = Workbook()
    wb.active.title = "Sheet1"  # type: ignore[union-attr]
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "filename", "code"),
    [
        (b"name,share_type\n", "entries.csv", "invalid_file"),
        (b"%PDF-1.7 not excel", "entries.xlsx", "invalid_file"),
        (_zip_without_workbook(), "entries.xlsx", "invalid_file"),
        (_workbook_without_catalog_sheet(), "entries.xlsx", "missing_sheet"),
        (b"PK\x03\x04" + b"\0" * workbook.MAX_FILE_BYTES, "big.xlsx", "file_too_large"),
    ],
)
def test_unreadable_files_get_a_clear_error(
    sqlite_org: Org, data: bytes, filename: str, code: str
) -> None:
    with pytest.raises(InvalidInput) as exc:
        import_as(sqlite_org, "xn_officer", data, filename)
    assert exc.value.code == code


def test_missing_columns_and_row_limit(sqlite_org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "目录"  # type: ignore[union-attr]
    ws.append(["行号", "资源名称", "资源格式"])  # type: ignore[union-attr]
    out = io.BytesIO()
    wb.save(out)
    missing = import_errors(sqlite_org, "xn_officer", out.getvalue())
    assert [(s, r, c) for s, r, c, _ in missing] == [
        ("目录", 1, h, ) for h in ("资源分类代码", "共享类型", "开放类型", "更新周期", "分级")
    ]  # fmt: skip
    assert {code for *_, code in missing} == {"missing_column"}

    monkeypatch.setattr(workbook, "MAX_ENTRY_ROWS", 2)
    with pytest.raises(InvalidInput) as exc:
        import_as(sqlite_org, "xn_officer", fill([good_row(i) for i in range(1, 4)], []))
    assert exc.value.code == "too_many_rows" and exc.value.details["limit"] == 2


@pytest.fixture
def sqlite_org(sqlite_store_url: str, tmp_path: Path) -> Iterator[Org]:
    """The test organisation on SQLite only, for checks that do not depend on the store."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=sqlite_store_url,
        secret_key="test-secret-key-" + "x" * 32,
        embedded_worker=False,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )
    db = Database(settings.db_url)
    yield build_org(db, settings)
    db.dispose()


# JSON export and limits --------------------------------------------------------------------


def test_json_export_shows_what_the_reader_may_see(org: Org) -> None:
    published = published_entry(org)
    new_entry(org, "xn_officer", name="未发布的草稿")
    with org.as_("cd_clerk").act() as ctx:
        doc = json.loads(bulk.export_json(ctx, SearchParams()))
    assert doc["format"] == "govdata-catalog-export" and doc["version"] == 1
    assert doc["total"] == 1
    (entry,) = doc["entries"]
    assert entry["resource_code"] == published.resource_code
    assert entry["status"] == "published" and entry["version_no"] == 1
    assert entry["classification_code"] == "101001" and entry["provider_code"] == "xn_stats"
    expected = content()
    for field in ("name", "share_type", "share_condition", "share_modes", "open_type", "grade"):
        assert entry[field] == expected[field]
    assert [i["name"] for i in entry["items"]] == ["公民身份号码", "姓名", "性别代码"]
    assert entry["items"][0] | {"share_type": None} == {
        **expected["items"][0], "share_type": None, "description": None,
    }  # fmt: skip
    (audit,) = audit_rows(org.db, "catalog.export")
    assert audit["actor_name"] == "cd_clerk" and audit["details"]["format"] == "json"


def test_export_pages_through_every_match_up_to_the_cap(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(3):
        new_entry(org, "xn_officer", name=f"目录{i}")
    monkeypatch.setattr(bulk, "EXPORT_PAGE", 1)
    with org.as_("xn_officer").act() as ctx:
        # The query's own page size does not cut the export short.
        doc = json.loads(bulk.export_json(ctx, SearchParams(limit=1)))
    assert sorted(e["name"] for e in doc["entries"]) == ["目录0", "目录1", "目录2"]

    monkeypatch.setattr(bulk, "MAX_EXPORT", 2)
    with pytest.raises(InvalidInput) as exc, org.as_("xn_officer").act() as ctx:
        bulk.export_xlsx(ctx, SearchParams())
    assert exc.value.code == "export_too_large" and exc.value.details["total"] == 3
    assert len(audit_rows(org.db, "catalog.export")) == 1  # the refused export wrote nothing


# HTTP --------------------------------------------------------------------------------------


@pytest.fixture
def client(org: Org) -> Iterator[TestClient]:
    app = create_app(org.settings.model_copy(update={"demo_mode": True}))
    if not any(getattr(r, "path", "") == "/api/v1/catalog/import" for r in app.routes):
        app.include_router(api_transfer.router, prefix="/api/v1")
    with TestClient(app) as c:
        yield c


def test_transfer_over_http(client: TestClient, org: Org) -> None:
    officer = bearer(client, "xn_officer")
    r = client.get("/api/v1/catalog/template.xlsx", headers=officer)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert quote("政务数据目录导入模板.xlsx") in r.headers["content-disposition"]
    assert load_workbook(io.BytesIO(r.content)).sheetnames == ["目录", "信息项", "填写说明"]
    clerk = bearer(client, "xn_clerk")
    assert client.get("/api/v1/catalog/template.xlsx", headers=clerk).status_code == 403

    data = fill([good_row(1), good_row(2, 分级=9)], [good_item(1)])
    r = client.post("/api/v1/catalog/import", files={"file": ("目录.xlsx", data)}, headers=officer)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "import_failed"
    assert [(e["row"], e["column"], e["code"]) for e in error["details"]["errors"]] == [
        (3, "分级", "invalid_grade")
    ]
    data = fill([good_row(1), good_row(2)], [good_item(1)])
    r = client.post("/api/v1/catalog/import", files={"file": ("目录.xlsx", data)}, headers=officer)
    assert r.status_code == 201, r.text
    assert r.json()["entry_count"] == 2 and r.json()["item_count"] == 1

    r = client.get("/api/v1/catalog/export.json?provider=xn_stats", headers=officer)
    assert r.status_code == 200 and "filename*=UTF-8''" in r.headers["content-disposition"]
    names = sorted(e["name"] for e in r.json()["entries"])
    assert names == ["常住人口登记信息1", "常住人口登记信息2"]
    r = client.get("/api/v1/catalog/export.xlsx?share_type=有条件共享", headers=officer)
    assert r.status_code == 200
    rows = list(load_workbook(io.BytesIO(r.content))["目录"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == 2


def test_exports_survive_control_characters_in_names() -> None:
    import io

    from openpyxl import load_workbook

    from govdata.catalog.workbook import ENTRY_SHEET, write_workbook

    data = write_workbook([({"name": "低保\x04对象\x1f信息"}, [{"name": "姓\x00名"}])])
    wb = load_workbook(io.BytesIO(data))
    values = [c.value for row in wb[ENTRY_SHEET].iter_rows(min_row=2) for c in row]
    assert "低保对象信息" in values
