"""The standards registry: data elements and code sets, import/export, permissions, audit, HTTP."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook

from govdata.app import create_app
from govdata.catalog.standards import actions
from govdata.catalog.standards import api as standards_api
from govdata.catalog.standards.schemas import (
    CodeSetFields,
    CodeSetIn,
    DataElementFields,
    DataElementIn,
)
from govdata.config import Settings
from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tests.identity.conftest import Org, audit_rows, count
from tests.identity.test_api import bearer

GENDER = "GB/T 2261.1-2003"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"argon2_time_cost": 1, "argon2_memory_kib": 1024})


def element(**overrides: Any) -> DataElementIn:
    data: dict[str, Any] = {
        "identifier": "DE90001",
        "name": "监护人姓名",
        "name_en": "guardian_name",
        "definition": "未成年人监护人的姓名。",
        "data_type": "string",
        "format": "c..50",
        "max_length": 50,
    }
    return DataElementIn(**(data | overrides))


def test_list_search_filter_and_paginate(org: Org) -> None:
    with org.as_("xn_clerk").act() as ctx:
        hits = actions.list_data_elements(ctx, q="身份号码")
        assert [e.identifier for e in hits.items] == ["DE00001"] and hits.total == 1
        assert actions.list_data_elements(ctx, q="uscc").items[0].name == "统一社会信用代码"
        gender = actions.list_data_elements(ctx, code_set=GENDER)
        assert [(e.identifier, e.code_set_name) for e in gender.items] == [
            ("DE00003", "人的性别代码")
        ]
        assert actions.list_data_elements(ctx, status="retired").total == 0
        seen, cursor = [], None
        while True:
            page = actions.list_data_elements(ctx, limit=30, cursor=cursor)
            seen += [e.identifier for e in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == sorted(seen) and len(seen) == page.total == count(org.db, "data_elements")
        sets = actions.list_code_sets(ctx, q="性别")
        assert [(s.identifier, s.value_count) for s in sets.items] == [(GENDER, 4)]
        regions = actions.get_code_set(ctx, "GB/T 2260-2007")
        assert regions.values[0].code == "110000" and len(regions.values) == 34 + 8 + 44
        with pytest.raises(NotFound):
            actions.get_data_element(ctx, "DE99999")


def test_create_update_retire_are_audited(org: Org) -> None:
    with org.as_("operator").act() as ctx:
        out = actions.create_data_element(ctx, element(code_set=GENDER))
    assert out.code_set == GENDER and out.status == "current"
    with pytest.raises(Conflict) as err, org.as_("operator").act() as ctx:
        actions.create_data_element(ctx, element())
    assert err.value.code == "data_element_taken"
    with pytest.raises(InvalidInput) as err, org.as_("operator").act() as ctx:
        actions.create_data_element(ctx, element(identifier="DE90002", code_set="GB/T 0-0"))
    assert err.value.code == "unknown_code_set"
    assert count(org.db, "data_elements") == 85

    fields = element(max_length=30).model_dump(exclude={"identifier"})
    with org.as_("operator").act() as ctx:
        updated = actions.update_data_element(ctx, "DE90001", DataElementFields(**fields))
        assert updated.max_length == 30 and updated.code_set is None
        retired = actions.retire_data_element(ctx, "DE90001")
        assert retired.status == "retired"
    with org.as_("auditor").act() as ctx:
        assert actions.get_data_element(ctx, "DE90001").status == "retired"
        assert actions.list_data_elements(ctx, status="retired").total == 1

    created = audit_rows(org.db, "standard.data_element_create")
    assert [(r["actor_name"], r["target_id"]) for r in created] == [("operator", out.id)]
    assert created[0]["details"]["identifier"] == "DE90001"
    changed = audit_rows(org.db, "standard.data_element_update")[0]["details"]["changed"]
    assert set(changed) == {"max_length", "code_set"}
    assert len(audit_rows(org.db, "standard.data_element_retire")) == 1


def test_permissions(org: Org) -> None:
    for user in ("xn_clerk", "xn_officer", "xn_admin", "auditor"):
        with pytest.raises(PermissionDenied), org.as_(user).act() as ctx:
            actions.create_data_element(ctx, element())
        with pytest.raises(PermissionDenied), org.as_(user).act() as ctx:
            actions.import_standards(ctx, "data_elements", "x.json", b"[]")
    with org.as_("auditor").act() as ctx:
        assert actions.get_data_element(ctx, "DE00002").name == "姓名"
        assert actions.get_code_set(ctx, GENDER).values[1].label == "男性"
        assert actions.export_standards(ctx, "code_sets", "json").content
    with pytest.raises(PermissionDenied), org.as_("secadmin").act() as ctx:
        actions.list_data_elements(ctx)
    assert count(org.db, "data_elements") == 84
    denied = audit_rows(org.db, "standard.manage")
    assert {r["actor_name"] for r in denied} == {"xn_clerk", "xn_officer", "xn_admin", "auditor"}
    assert all(r["outcome"] == "denied" for r in denied)


def test_code_set_values_are_replaced_in_order(org: Org) -> None:
    data = CodeSetIn(
        identifier="QH/T 001-2026",
        name="牧区类型",
        values=[
            {"code": "1", "label": "纯牧区"},
            {"code": "2", "label": "半农半牧区"},
            {"code": "21", "label": "半农半牧区（河湟）", "parent_code": "2"},
        ],
    )
    with org.as_("operator").act() as ctx:
        created = actions.create_code_set(ctx, data)
    assert [v.code for v in created.values] == ["1", "2", "21"]
    with pytest.raises(Conflict), org.as_("operator").act() as ctx:
        actions.create_code_set(ctx, data)
    new_values = [
        {"code": "3", "label": "农区"},
        {"code": "1", "label": "纯牧区（含高寒牧区）"},
        {"code": "2", "label": "半农半牧区"},
    ]
    fields = CodeSetFields(name="牧区类型", version="2026", values=new_values)
    with org.as_("operator").act() as ctx:
        out = actions.update_code_set(ctx, "QH/T 001-2026", fields)
    assert [(v.code, v.label, v.position) for v in out.values] == [
        ("3", "农区", 0), ("1", "纯牧区（含高寒牧区）", 1), ("2", "半农半牧区", 2),
    ]  # fmt: skip
    details = audit_rows(org.db, "standard.code_set_update")[0]["details"]
    assert details["added"] == ["3"] and details["removed"] == ["21"]
    assert len(audit_rows(org.db, "standard.code_set_create")) == 1
    with pytest.raises(ValueError, match="unknown parent"):
        CodeSetFields(name="x", values=[{"code": "1", "label": "a", "parent_code": "9"}])


def _import(org: Org, kind: str, filename: str, content: bytes) -> Any:
    with org.as_("operator").act() as ctx:
        return actions.import_standards(ctx, kind, filename, content)


def _rejected(org: Org, kind: str, filename: str, content: bytes) -> list[dict[str, Any]]:
    with pytest.raises(InvalidInput) as err:
        _import(org, kind, filename, content)
    assert err.value.code == "import_rejected"
    errors: list[dict[str, Any]] = err.value.details["errors"]
    assert err.value.details["error_count"] == len(errors)
    assert all(e["message"] and e["message_en"] for e in errors)
    return errors


def test_bad_rows_reject_the_whole_file(org: Org) -> None:
    good = element().model_dump(mode="json")
    rows = [
        good,
        good | {"identifier": "DE90002", "data_type": "text"},
        good | {"identifier": "DE90003", "code_set": "GB/T 9999-2000"},
        good | {"identifier": "DE90001", "name": "重复"},
        {"identifier": "DE90004", "data_type": "string"},
    ]
    errors = _rejected(org, "data_elements", "de.json", json.dumps(rows).encode())
    assert {(e["row"], e["column"], e["code"]) for e in errors} == {
        (2, "data_type", "invalid_value"),
        (3, "code_set", "unknown_code_set"),
        (4, "identifier", "duplicate_identifier"),
        (5, "name", "required"),
    }
    assert count(org.db, "data_elements") == 84  # the good first row was not written either

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "数据元"
    ws.append(["标识符", "中文名称", "数据类型", "最大长度", "状态"])
    ws.append(["DE90001", "监护人姓名", "字符型", 50, "现行"])
    ws.append(["DE90002", "监护人电话", "文本", 20, "现行"])
    ws.append(["DE90003", None, "字符型", "很长", "作废中"])
    buf = io.BytesIO()
    wb.save(buf)
    errors = _rejected(org, "data_elements", "de.xlsx", buf.getvalue())
    assert {(e["sheet"], e["row"], e["column"], e["code"]) for e in errors} == {
        ("数据元", 3, "数据类型", "invalid_data_type"),
        ("数据元", 4, "状态", "invalid_status"),
    }
    ws.delete_rows(4)
    ws.append(["DE90003", None, "字符型", "很长"])
    buf = io.BytesIO()
    wb.save(buf)
    errors = _rejected(org, "data_elements", "de.xlsx", buf.getvalue())
    assert {(e["row"], e["column"], e["code"]) for e in errors} == {
        (3, "数据类型", "invalid_data_type"),
        (4, "中文名称", "required"),
        (4, "最大长度", "invalid_value"),
    }
    assert count(org.db, "data_elements") == 84
    assert audit_rows(org.db, "standard.import") == []

    for name, content, code in [
        ("de.csv", b"a,b", "unsupported_format"),
        ("de.xlsx", b"not a zip", "invalid_file"),
        ("de.json", b"{", "invalid_file"),
        ("de.json", b'{"kind": "code_sets", "items": []}', "wrong_kind"),
    ]:
        with pytest.raises(InvalidInput) as err:
            _import(org, "data_elements", name, content)
        assert err.value.code == code, name


def test_code_set_rows_are_reported_at_their_own_row(org: Org) -> None:
    wb = Workbook()
    sets = wb.active
    assert sets is not None
    sets.title = "代码集"
    sets.append(["标识符", "名称"])
    sets.append(["QH/T 001-2026", "牧区类型"])
    values = wb.create_sheet("代码值")
    values.append(["代码集标识符", "代码", "名称", "上级代码"])
    values.append(["QH/T 001-2026", "01", "纯牧区", None])
    values.append(["QH/T 001-2026", "01", "半农半牧区", None])
    values.append(["QH/T 001-2026", "03", "农区", "09"])
    values.append(["QH/T 404", "1", "无主", None])
    buf = io.BytesIO()
    wb.save(buf)
    errors = _rejected(org, "code_sets", "cs.xlsx", buf.getvalue())
    assert {(e["sheet"], e["row"], e["code"]) for e in errors} == {
        ("代码值", 3, "duplicate_code"),
        ("代码值", 4, "unknown_parent_code"),
        ("代码值", 5, "unknown_code_set"),
    }
    assert count(org.db, "code_sets") == 14


@pytest.mark.parametrize("fmt", ["json", "xlsx"])
def test_export_import_round_trip(org: Org, fmt: str) -> None:
    with org.as_("operator").act() as ctx:
        elements = actions.export_standards(ctx, "data_elements", fmt)
        code_sets = actions.export_standards(ctx, "code_sets", fmt)
    assert elements.filename == f"data_elements.{fmt}"
    report = _import(org, "data_elements", elements.filename, elements.content)
    assert report.created == report.updated == [] and len(report.unchanged) == 84
    report = _import(org, "code_sets", code_sets.filename, code_sets.content)
    assert report.created == report.updated == [] and len(report.unchanged) == 14

    if fmt == "json":
        doc = json.loads(elements.content)
        doc["items"][1]["definition"] = "修改后的定义"
        doc["items"].append(element().model_dump(mode="json"))
        changed = json.dumps(doc).encode()
        sets_doc = json.loads(code_sets.content)
        ethnic = next(s for s in sets_doc["items"] if s["identifier"] == "GB/T 3304-1991")
        ethnic["values"].append({"code": "99", "label": "测试", "label_en": None})
        changed_sets = json.dumps(sets_doc).encode()
    else:
        wb = load_workbook(io.BytesIO(elements.content))
        ws = wb["数据元"]
        assert [c.value for c in ws[1]][:5] == [
            "标识符",
            "中文名称",
            "英文名称",
            "定义",
            "数据类型",
        ]
        assert ws["E2"].value == "字符型" and ws["L2"].value == "现行"
        ws["D3"] = "修改后的定义"
        ws.append(["DE90001", "监护人姓名", "guardian_name", "", "字符型"])
        buf = io.BytesIO()
        wb.save(buf)
        changed = buf.getvalue()
        wb = load_workbook(io.BytesIO(code_sets.content))
        assert "01" in [r[1] for r in wb["代码值"].iter_rows(values_only=True)]
        wb["代码值"].append(["GB/T 3304-1991", "99", "测试"])
        buf = io.BytesIO()
        wb.save(buf)
        changed_sets = buf.getvalue()

    report = _import(org, "data_elements", elements.filename, changed)
    assert report.created == ["DE90001"] and report.updated == ["DE00002"]
    report = _import(org, "code_sets", code_sets.filename, changed_sets)
    assert report.updated == ["GB/T 3304-1991"] and report.created == []
    with org.as_("xn_clerk").act() as ctx:
        assert actions.get_data_element(ctx, "DE00002").definition == "修改后的定义"
        ethnic_out = actions.get_code_set(ctx, "GB/T 3304-1991")
        assert ethnic_out.values[0].code == "01" and ethnic_out.values[-1].code == "99"
        assert len(ethnic_out.values) == 59
    audits = audit_rows(org.db, "standard.import")
    assert len(audits) == 4 and audits[2]["details"]["created"] == ["DE90001"]
    assert audits[2]["details"]["format"] == fmt


# HTTP ------------------------------------------------------------------------------------


@pytest.fixture
def client(org: Org) -> Iterator[TestClient]:
    app = create_app(org.settings.model_copy(update={"demo_mode": True}))
    if not any(getattr(r, "path", "").startswith("/api/v1/standards") for r in app.routes):
        app.include_router(standards_api.router, prefix="/api/v1")
    with TestClient(app) as c:
        yield c


def test_routes(client: TestClient, org: Org) -> None:
    assert client.get("/api/v1/standards/data-elements").status_code == 401
    clerk, operator = bearer(client, "xn_clerk"), bearer(client, "operator")
    r = client.get("/api/v1/standards/data-elements", params={"q": "姓名"}, headers=clerk)
    assert r.status_code == 200 and "DE00002" in [e["identifier"] for e in r.json()["items"]]
    for path in ("GB/T 2261.1-2003", "GB%2FT%202261.1-2003"):
        r = client.get(f"/api/v1/standards/code-sets/{path}", headers=clerk)
        assert r.status_code == 200 and r.json()["value_count"] == 4, path
    assert client.get("/api/v1/standards/code-sets/nope", headers=clerk).status_code == 404

    body = element().model_dump(mode="json")
    r = client.post("/api/v1/standards/data-elements", json=body, headers=clerk)
    assert r.status_code == 403
    r = client.post("/api/v1/standards/data-elements", json=body, headers=operator)
    assert r.status_code == 201 and r.json()["identifier"] == "DE90001"
    del body["identifier"]
    r = client.put(
        "/api/v1/standards/data-elements/DE90001", json=body | {"unit": "人"}, headers=operator
    )
    assert r.status_code == 200 and r.json()["unit"] == "人"
    r = client.post("/api/v1/standards/data-elements/DE90001/retire", headers=operator)
    assert r.status_code == 200 and r.json()["status"] == "retired"
    cs = {"identifier": "QH/T 002-2026", "name": "测试", "values": [{"code": "1", "label": "一"}]}
    r = client.post("/api/v1/standards/code-sets", json=cs, headers=operator)
    assert r.status_code == 201
    del cs["identifier"]
    cs["values"].append({"code": "1", "label": "重复"})
    r = client.put("/api/v1/standards/code-sets/QH/T 002-2026", json=cs, headers=operator)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"

    r = client.get(
        "/api/v1/standards/export", params={"kind": "data_elements", "format": "xlsx"},
        headers=clerk,
    )  # fmt: skip
    assert r.status_code == 200 and r.headers["content-type"].startswith(
        "application/vnd.openxmlformats"
    )
    assert "data_elements.xlsx" in r.headers["content-disposition"]
    files = {"file": ("de.xlsx", r.content, "application/octet-stream")}
    r = client.post(
        "/api/v1/standards/import", files=files, data={"kind": "data_elements"}, headers=clerk
    )
    assert r.status_code == 403
    r = client.post(
        "/api/v1/standards/import", files=files, data={"kind": "data_elements"}, headers=operator
    )
    assert r.status_code == 200 and len(r.json()["unchanged"]) == 85
    bad = {"file": ("de.json", b'[{"identifier": "DE90009"}]', "application/json")}
    r = client.post(
        "/api/v1/standards/import", files=bad, data={"kind": "data_elements"}, headers=operator
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "import_rejected"
    assert {e["column"] for e in r.json()["error"]["details"]["errors"]} == {"name", "data_type"}
