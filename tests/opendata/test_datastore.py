"""datastore_search over an open dataset's lake table: filters, q, sort, fields, paging,
totals, ``_id``, the open fields only (a sensitive column is an unknown column), conditional
datasets behind an approved key, quotas, and every served call counted and audited."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from govdata.app import create_app
from govdata.opendata import apikeys, views
from govdata.opendata.apikeys import QuotaIn
from govdata.opendata.models import OpenDataset
from govdata.security.audit import AuditRecord
from tests.identity.conftest import Org
from tests.opendata.fixtures import opened_schools
from tests.opendata.test_apikeys import approved_key

URL = "/api/3/action/datastore_search"


@pytest.fixture
def client(org: Org) -> Iterator[TestClient]:
    with TestClient(create_app(org.settings)) as c:
        yield c


def search(
    client: TestClient, rid: str, headers: dict[str, str] | None = None, **params: Any
) -> Any:
    query = {k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in params.items()}
    r = client.get(URL, params={"resource_id": rid, **query}, headers=headers or {})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True
    return body["result"]


def refused(client: TestClient, rid: str, status: int, **params: Any) -> dict[str, Any]:
    query = {k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in params.items()}
    r = client.get(URL, params={"resource_id": rid, **query})
    assert r.status_code == status, r.text
    error: dict[str, Any] = r.json()["error"]
    return error


def codes(result: Any) -> list[str]:
    return [r["school_code"] for r in result["records"]]


def _calls(org: Org, dataset_id: str) -> tuple[int, list[AuditRecord]]:
    with org.db.sessions() as s:
        ds = s.get(OpenDataset, dataset_id)
        assert ds is not None
        audits = list(
            s.scalars(
                select(AuditRecord)
                .where(
                    AuditRecord.target_id == dataset_id,
                    AuditRecord.action == "opendata.data.call",
                    AuditRecord.outcome == "success",
                )
                .order_by(AuditRecord.id)
            )
        )
        return ds.calls, audits


def test_filters_q_sort_fields_and_paging(org: Org, tmp_path: Path, client: TestClient) -> None:
    opened = opened_schools(org, tmp_path)
    rid = views.resource_id(opened.dataset_id, "API")

    everything = search(client, rid)
    assert everything["resource_id"] == rid
    assert everything["fields"] == [
        {"id": "_id", "type": "int"},
        {"id": "school_code", "type": "text"},
        {"id": "school_name", "type": "text"},
        {"id": "county", "type": "text"},
        {"id": "students", "type": "int"},
    ]
    assert everything["total"] == 5 and everything["limit"] == 100
    assert everything["include_total"] is True and everything["records_format"] == "objects"
    assert "offset" not in everything
    # _id numbers the rows 1.. in key order; the sensitive column never shows.
    assert [(r["_id"], r["school_code"]) for r in everything["records"]] == [
        (1, "6301000001"),
        (2, "6301000002"),
        (3, "6301000003"),
        (4, "6328000001"),
        (5, "6328000002"),
    ]
    assert everything["records"][0] == {
        "_id": 1,
        "school_code": "6301000001",
        "school_name": "西宁市第一中学",
        "county": "城东区",
        "students": 2310,
    }
    assert everything["_links"]["start"].startswith("/api/3/action/datastore_search?")
    assert "offset=100" in everything["_links"]["next"]
    # Every resource of the dataset reads the same table.
    for fmt in ("CSV", "XLSX", "JSON"):
        assert search(client, views.resource_id(opened.dataset_id, fmt))["total"] == 5

    # filters: one value, a list, numbers as numbers or text; _id stays the row's own.
    one = search(client, rid, filters={"county": "格尔木市"})
    assert [(r["_id"], r["school_code"]) for r in one["records"]] == [(4, "6328000001")]
    assert one["total"] == 1
    assert codes(search(client, rid, filters={"county": ["城东区", "城中区"]})) == [
        "6301000001",
        "6301000002",
    ]
    assert codes(search(client, rid, filters={"students": 2310})) == ["6301000001"]
    assert codes(search(client, rid, filters={"students": "1985"})) == ["6301000002"]
    assert codes(search(client, rid, filters={"_id": [2, 5]})) == ["6301000002", "6328000002"]
    assert search(client, rid, filters={"students": "many"})["total"] == 0

    # q: words over the text fields (all must occur), or field -> text.
    assert search(client, rid, q="第一中学")["total"] == 4
    assert codes(search(client, rid, q="西宁 第二")) == ["6301000002"]
    assert codes(search(client, rid, q={"county": "城"})) == ["6301000001", "6301000002"]

    # sort, fields (list or comma string), limit/offset, include_total, distinct, lists.
    by_students = search(client, rid, sort="students desc", fields="school_code,students")
    assert [r["students"] for r in by_students["records"]] == [2310, 1985, 1760, 1520, 1204]
    assert by_students["fields"] == [
        {"id": "school_code", "type": "text"},
        {"id": "students", "type": "int"},
    ]
    assert set(by_students["records"][0]) == {"school_code", "students"}
    mixed = search(client, rid, sort='"county" asc, _id desc', fields=["_id", "county"])
    assert [r["county"] for r in mixed["records"]] == sorted(r["county"] for r in mixed["records"])
    page = search(client, rid, limit=2, offset=2)
    assert [r["_id"] for r in page["records"]] == [3, 4]
    assert page["offset"] == 2 and page["limit"] == 2 and page["total"] == 5
    assert "offset=4" in page["_links"]["next"]
    assert search(client, rid, limit=2, offset=10)["records"] == []
    assert search(client, rid, limit=100_000)["limit"] == 32_000
    untotalled = search(client, rid, include_total="false", limit=1)
    assert "total" not in untotalled and len(untotalled["records"]) == 1
    distinct = search(client, rid, fields=["county"], distinct=True, sort="county desc")
    counties = [r["county"] for r in distinct["records"]]
    assert counties == sorted({s for s in counties}, reverse=True) and len(counties) == 5
    lists = search(client, rid, fields="_id,students", records_format="lists", limit=1)
    assert lists["records"] == [[1, 2310]]

    # POST JSON, as ckanapi sends it.
    r = client.post(URL, json={"resource_id": rid, "filters": {"county": "湟中区"}})
    assert r.status_code == 200 and codes(r.json()["result"]) == ["6301000003"]

    served, audits = _calls(org, opened.dataset_id)
    assert served == len(audits) == 22
    last = audits[-1]
    assert last.fields == "school_code,school_name,county,students"
    assert last.row_count == 1
    assert last.details is not None and last.details["filters"] == {"county": ["湟中区"]}


def test_unknown_and_sensitive_columns_are_refused_alike(
    org: Org, tmp_path: Path, client: TestClient
) -> None:
    opened = opened_schools(org, tmp_path)
    rid = views.resource_id(opened.dataset_id, "CSV")
    for column in ("head_mobile", "no_such_column", 'students" OR 1=1 --'):
        e = refused(client, rid, 409, fields=[column])
        assert e["__type"] == "Validation Error"
        assert e["fields"] == [f'field "{column}" not in table']
        assert refused(client, rid, 409, filters={column: "1"})["filters"] == [
            f'field "{column}" not in table'
        ]
        assert refused(client, rid, 409, q={column: "138"})["q"] == [
            f'field "{column}" not in table'
        ]
    assert "sort" in refused(client, rid, 409, sort="head_mobile asc")
    assert "sort" in refused(client, rid, 409, sort="students; DROP TABLE x")
    assert "limit" in refused(client, rid, 409, limit=-1)
    assert "filters" in refused(client, rid, 409, filters="[1]")
    # The sensitive value is in no answer, even through q over all text fields.
    assert search(client, rid, q="13800000001")["total"] == 0
    # Refused calls count nothing and leave no call record.
    served, audits = _calls(org, opened.dataset_id)
    assert served == len(audits) == 1


def test_conditional_data_needs_an_approved_key_and_quotas_hold(
    org: Org, tmp_path: Path, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    conditional = opened_schools(org, tmp_path, open_type="conditional")
    rid = views.resource_id(conditional.dataset_id, "API")
    e = refused(client, rid, 403)
    assert e["__type"] == "Authorization Error" and "Access denied" in e["message"]
    # The refusal is audited (and counts nothing).
    with org.db.sessions() as s:
        denied = s.scalars(
            select(AuditRecord.outcome).where(
                AuditRecord.target_id == conditional.dataset_id,
                AuditRecord.action == "opendata.data.call",
            )
        ).all()
    assert denied == ["denied"]
    # Metadata stays public: the dataset is in package_show for anyone.
    assert client.get(f"/api/3/action/package_show?id={conditional.name}").status_code == 200

    _, key_id, key = approved_key(org, conditional, caplog)
    for headers in ({"Authorization": key}, {"X-CKAN-API-Key": key}):
        assert search(client, rid, headers=headers)["total"] == 5
    r = client.get(URL, params={"resource_id": rid}, headers={"Authorization": "gdo_forged"})
    assert r.status_code == 403 and r.json()["error"]["__type"] == "Authorization Error"

    with org.as_("operator").act() as ctx:
        apikeys.set_quota(ctx, key_id, QuotaIn(per_minute=3))
    auth = {"Authorization": key}
    assert search(client, rid, headers=auth)["total"] == 5  # the 3rd call this minute
    r = client.get(URL, params={"resource_id": rid}, headers=auth)
    assert r.status_code == 429
    body = r.json()
    assert body["success"] is False and body["error"]["__type"] == "Authorization Error"
    assert int(r.headers["Retry-After"]) >= 1
    # Three calls served, counted and audited; the refused ones none.
    served, audits = _calls(org, conditional.dataset_id)
    assert served == len(audits) == 3
    assert {a.actor_id for a in audits} != {None}
