"""National catalog exchange: export upward, import applied-for entries (申领) as origin=upper."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from govdata.app import create_app
from govdata.catalog import actions, api_transfer, national
from govdata.catalog.schemas import PublishRequest, WithdrawRequest
from govdata.core.clock import now
from govdata.core.errors import InvalidInput, PermissionDenied
from tests.catalog.conftest import content, new_entry, published_entry
from tests.identity.conftest import Org, audit_rows, count
from tests.identity.test_api import bearer


def export(org: Org, user: str = "operator", **kw: Any) -> dict[str, Any]:
    with org.as_(user).act() as ctx:
        return national.export_national(ctx, **kw)


def import_upper(org: Org, payload: Any, provider: str = "hx_stats") -> national.UpperImportReport:
    with org.as_("operator").act() as ctx:
        return national.import_upper(ctx, payload, provider_code=provider)


def test_export_lists_published_entries_with_codes_and_labels(org: Org) -> None:
    published = published_entry(org)
    new_entry(org, "xn_officer", name="草稿不上报")
    gone = published_entry(org, name="已下架的目录")
    with org.as_("operator").act() as ctx:
        actions.withdraw_entry(ctx, gone.id, WithdrawRequest(reason="数据已停止采集"))

    doc = export(org)
    assert (doc["format"], doc["version"]) == ("govdata-catalog-exchange", 1)
    assert doc["node"]["region_code"] == "630000" and doc["node"]["region_name"] == "青海省"
    (entry,) = doc["entries"]
    assert entry["resource_code"] == published.resource_code
    assert entry["provider"] == {
        "code": "xn_stats",
        "name": "西宁市统计局",
        "credit_code": published.provider.credit_code,
        "region_code": "630100",
    }
    assert entry["classification"]["code"] == "101001"
    assert entry["classification"]["name"] == "人口基本信息"
    assert entry["share_type"] == {"code": "conditional", "label": "有条件共享"}
    assert entry["share_modes"] == [{"code": "api", "label": "接口"}]
    assert entry["open_type"] == {"code": "closed", "label": "不予开放"}
    assert entry["update_cycle"] == {"code": "daily", "label": "每日"}
    assert entry["format"] == {"code": "database", "label": "数据库"}
    assert entry["grade"] == {"level": 3, "label": "三级（重要数据）", "class": "important"}
    assert entry["version_no"] == 1 and entry["published_at"]
    assert [i["name"] for i in entry["items"]] == ["公民身份号码", "姓名", "性别代码"]
    assert entry["items"][0]["data_type"] == {"code": "string", "label": "字符型"}
    assert entry["items"][0]["share_type"]["code"] == "conditional"
    assert [w["resource_code"] for w in doc["withdrawn"]] == [gone.resource_code]
    assert doc["withdrawn"][0]["reason"] == "数据已停止采集"

    # Incremental: nothing was published or withdrawn after now.
    later = export(org, since=now() + timedelta(seconds=1))
    assert later["entries"] == [] and later["withdrawn"] == []
    assert len(export(org, since=now() - timedelta(hours=1))["entries"]) == 1

    (audit, *_) = audit_rows(org.db, "catalog.national.export")
    assert audit["actor_name"] == "operator" and audit["details"]["withdrawn"] == 1

    for user in ("xn_officer", "xn_admin"):
        with pytest.raises(PermissionDenied):
            export(org, user)


def test_upper_entries_import_as_marked_drafts_once(org: Org) -> None:
    upper = published_entry(org)
    doc = export(org)

    report = import_upper(org, doc)
    (created,) = report.created
    assert created.upper_code == upper.resource_code and report.skipped == []
    assert created.resource_code != upper.resource_code
    with org.as_("hx_officer").act() as ctx:
        local = actions.get_entry(ctx, created.id)
    assert local.origin == "upper" and local.upper_code == upper.resource_code
    assert local.status == "draft" and local.provider.code == "hx_stats"
    mine = local.current.model_dump(include=set(content()) - {"items"})
    assert mine == upper.current.model_dump(include=set(content()) - {"items"})
    assert [i.model_dump() for i in local.current.items] == [
        i.model_dump() for i in upper.current.items
    ]
    (audit,) = audit_rows(org.db, "catalog.national.import")
    assert audit["details"]["created"] == 1 and audit["details"]["skipped"] == 0

    # Importing the same document again skips the entry instead of duplicating it.
    entries = count(org.db, "catalog_entries")
    again = import_upper(org, doc)
    assert again.created == []
    assert [(s.upper_code, s.resource_code, s.reason) for s in again.skipped] == [
        (upper.resource_code, created.resource_code, "already_imported")
    ]
    assert count(org.db, "catalog_entries") == entries

    # Entries taken from the upper level are not reported back up.
    with org.as_("hx_officer").act() as ctx:
        actions.submit_entry(ctx, created.id)
    with org.as_("operator").act() as ctx:
        actions.publish_entry(ctx, created.id, PublishRequest())
    assert [e["resource_code"] for e in export(org)["entries"]] == [upper.resource_code]


def test_import_accepts_bare_labels_and_codes(org: Org) -> None:
    payload = {
        "format": "govdata-catalog-exchange",
        "version": 1,
        "entries": [
            {
                "resource_code": "101001/900001",
                "name": "全国人口基础信息",
                "classification": "101001",
                "format": "数据库",
                "share_type": "有条件共享",
                "share_condition": "限政务服务使用",
                "share_modes": ["接口", "table"],
                "open_type": "不予开放",
                "update_cycle": "每季",
                "grade": "三级（重要数据）",
                "publish_date": "2024-05-01",
                "items": [{"name": "姓名", "data_type": "字符型", "grade": 2}],
            }
        ],
    }
    (created,) = import_upper(org, payload, provider="police").created
    with org.as_("operator").act() as ctx:
        entry = actions.get_entry(ctx, created.id)
    v = entry.current
    assert (v.share_type, v.update_cycle, v.grade) == ("conditional", "quarterly", 3)
    assert v.share_modes == ["api", "table"] and str(v.publish_date) == "2024-05-01"
    assert [(i.name, i.data_type, i.grade, i.share_type) for i in v.items] == [
        ("姓名", "string", 2, "conditional")
    ]


def _payload() -> dict[str, Any]:
    return {
        "format": "govdata-catalog-exchange",
        "version": 1,
        "entries": [
            {
                "resource_code": f"101001/90000{i}",
                "name": f"上级目录{i}",
                "classification": {"code": "101001"},
                "format": {"code": "database"},
                "share_type": {"code": "unconditional", "label": "无条件共享"},
                "open_type": {"code": "closed"},
                "update_cycle": {"code": "daily"},
                "grade": {"level": 1},
            }
            for i in range(3)
        ],
    }


BAD_ENVELOPES: list[tuple[Any, str]] = [
    (lambda p: p.update(format="ckan"), "unsupported_format"),
    (lambda p: p.pop("format"), "unsupported_format"),
    (lambda p: p.update(version=2), "unsupported_version"),
    (lambda p: p.update(version="1"), "unsupported_version"),
    (lambda p: p.update(entries={"a": 1}), "invalid_exchange"),
    (lambda p: p.update(entries=[1, 2]), "invalid_exchange"),
    (lambda p: p.update(entries=[{}] * (national.MAX_IMPORT + 1)), "too_many_entries"),
]


def test_bad_envelopes_are_rejected(org: Org) -> None:
    for mutate, code in BAD_ENVELOPES:
        payload = _payload()
        mutate(payload)
        with pytest.raises(InvalidInput) as exc:
            import_upper(org, payload)
        assert exc.value.code == code
    with pytest.raises(InvalidInput) as exc:
        import_upper(org, ["not", "an", "object"])
    assert exc.value.code == "invalid_exchange"
    assert count(org.db, "catalog_entries") == 0


def test_one_bad_entry_fails_the_whole_import(org: Org) -> None:
    payload = _payload()
    payload["entries"][1]["share_type"] = {"code": "sometimes", "label": "偶尔共享"}
    payload["entries"][2]["classification"] = {"code": "999999"}
    payload["entries"].append(copy.deepcopy(payload["entries"][0]))
    payload["entries"].append({"name": "没有代码"})
    no_item_name = copy.deepcopy(payload["entries"][0])
    no_item_name.update(resource_code="101001/900009", items=[{"data_type": "string"}])
    payload["entries"].append(no_item_name)
    with pytest.raises(InvalidInput) as exc:
        import_upper(org, payload)
    assert exc.value.code == "import_failed"
    got = [(e["index"], e["field"], e["code"]) for e in exc.value.details["errors"]]
    assert got == [
        (1, "share_type", "invalid_choice"),
        (2, "classification.code", "unknown_classification"),
        (3, "resource_code", "duplicate_upper_code"),
        (4, "resource_code", "missing_required"),
        (5, "items[0].name", "invalid_value"),
    ]
    assert count(org.db, "catalog_entries") == 0

    with pytest.raises(InvalidInput) as exc:
        import_upper(org, _payload(), provider="nowhere")
    assert exc.value.code == "unknown_provider"
    with pytest.raises(PermissionDenied), org.as_("hx_officer").act() as ctx:
        national.import_upper(ctx, _payload(), provider_code="hx_stats")
    assert count(org.db, "catalog_entries") == 0


@pytest.fixture
def client(org: Org) -> Iterator[TestClient]:
    app = create_app(org.settings.model_copy(update={"demo_mode": True}))
    if not any(getattr(r, "path", "") == "/api/v1/catalog/national/import" for r in app.routes):
        app.include_router(api_transfer.router, prefix="/api/v1")
    with TestClient(app) as c:
        yield c


def test_exchange_over_http(client: TestClient, org: Org) -> None:
    upper = published_entry(org)
    operator = bearer(client, "operator")
    r = client.get("/api/v1/catalog/national/export", headers=operator)
    assert r.status_code == 200
    doc = r.json()
    assert [e["resource_code"] for e in doc["entries"]] == [upper.resource_code]
    r = client.get(
        "/api/v1/catalog/national/export",
        params={"since": (now() + timedelta(minutes=1)).isoformat()},
        headers=operator,
    )
    assert r.status_code == 200 and r.json()["entries"] == []
    officer = bearer(client, "xn_officer")
    assert client.get("/api/v1/catalog/national/export", headers=officer).status_code == 403

    url = "/api/v1/catalog/national/import"
    r = client.post(url, params={"provider_code": "hx_stats"}, json=doc, headers=operator)
    assert r.status_code == 200, r.text
    assert r.json()["created"][0]["upper_code"] == upper.resource_code
    r = client.post(url, params={"provider_code": "hx_stats"}, json=doc, headers=operator)
    assert r.json()["created"] == [] and r.json()["skipped"][0]["reason"] == "already_imported"
    bad = {**doc, "version": 9}
    r = client.post(url, params={"provider_code": "hx_stats"}, json=bad, headers=operator)
    assert r.status_code == 422 and r.json()["error"]["code"] == "unsupported_version"
    r = client.post(url, params={"provider_code": "hx_stats"}, json=doc, headers=officer)
    assert r.status_code == 403
