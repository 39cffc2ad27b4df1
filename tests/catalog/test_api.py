"""The catalog REST API over real requests: the interfaces the issue fixes, notifications."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from govdata.app import create_app
from tests.catalog.conftest import CLASS_CODE, content
from tests.identity.conftest import Org
from tests.identity.test_api import bearer


@pytest.fixture
def client(org: Org) -> Iterator[TestClient]:
    demo = org.settings.model_copy(update={"demo_mode": True})
    with TestClient(create_app(demo)) as c:
        yield c


def test_entry_lifecycle_over_http(client: TestClient, org: Org) -> None:
    officer = bearer(client, "xn_officer")
    operator = bearer(client, "operator")
    reader = bearer(client, "hx_officer")

    r = client.post(
        "/api/v1/catalog/entries",
        json={"classification_code": CLASS_CODE, **content()},
        headers=officer,
    )
    assert r.status_code == 201, r.text
    entry = r.json()
    code = entry["resource_code"]
    assert entry["status"] == "draft" and entry["provider"]["code"] == "xn_stats"

    # Drafts are invisible to other departments, by id and by resource code.
    assert client.get(f"/api/v1/catalog/entries/{code}", headers=reader).status_code == 404
    assert client.get(f"/api/v1/catalog/entries/{entry['id']}", headers=officer).status_code == 200

    r = client.post(f"/api/v1/catalog/entries/{code}/submit", headers=officer)
    assert r.status_code == 200 and r.json()["status"] == "submitted"
    r = client.get("/api/v1/catalog/review-queue", headers=operator)
    assert [e["resource_code"] for e in r.json()["items"]] == [code]

    r = client.post(
        f"/api/v1/catalog/entries/{code}/return",
        json={"reasons": {"summary": "摘要过短"}},
        headers=operator,
    )
    assert r.status_code == 200 and r.json()["working"]["review_reasons"] == {"summary": "摘要过短"}
    r = client.post(
        f"/api/v1/catalog/entries/{code}/return", json={"reasons": {}}, headers=operator
    )
    assert r.status_code == 422

    r = client.put(
        f"/api/v1/catalog/entries/{code}",
        json=content(summary="全省户籍人口基本登记信息，含姓名、性别和公民身份号码，按日更新。"),
        headers=officer,
    )
    assert r.status_code == 200, r.text
    assert client.post(f"/api/v1/catalog/entries/{code}/submit", headers=officer).status_code == 200
    r = client.post(f"/api/v1/catalog/entries/{code}/publish", json={}, headers=operator)
    assert r.status_code == 200 and r.json()["status"] == "published"

    got = client.get(f"/api/v1/catalog/entries/{code}", headers=reader).json()
    assert got["id"] == entry["id"] and len(got["current"]["items"]) == 3
    assert [v["version_no"] for v in got["versions"]] == [1]

    r = client.post(f"/api/v1/catalog/entries/{code}/versions", json={}, headers=officer)
    assert r.status_code == 201 and r.json()["working"]["version_no"] == 2
    r = client.get(f"/api/v1/catalog/entries/{code}/diff?from=1&to=2", headers=officer)
    assert r.status_code == 200 and r.json()["fields"] == []
    r = client.get(f"/api/v1/catalog/entries/{code}/versions/1", headers=reader)
    assert r.status_code == 200 and r.json()["status"] == "published"

    r = client.post(
        f"/api/v1/catalog/entries/{code}/withdraw", json={"reason": ""}, headers=officer
    )
    assert r.status_code == 422 and r.json()["error"]["code"]

    notes = client.get("/api/v1/notifications", headers=officer).json()
    kinds = [n["kind"] for n in notes["items"]]
    assert "catalog.published" in kinds and "catalog.returned" in kinds
    assert notes["unread"] == len(kinds)
    first = notes["items"][0]["id"]
    assert client.post(f"/api/v1/notifications/{first}/read", headers=officer).status_code == 200
    assert client.get("/api/v1/notifications", headers=officer).json()["unread"] == len(kinds) - 1
    # Someone else's notification does not exist for you.
    assert client.post(f"/api/v1/notifications/{first}/read", headers=reader).status_code == 404


def test_search_interface_shape(client: TestClient, org: Org) -> None:
    officer = bearer(client, "xn_officer")
    operator = bearer(client, "operator")
    for name, summary in (
        ("户籍人口基本信息", "全省户籍人口的基本登记信息。"),
        ("最低生活保障对象信息", "城乡最低生活保障对象及保障金发放信息。"),
    ):
        code = client.post(
            "/api/v1/catalog/entries",
            json={"classification_code": CLASS_CODE, **content(name=name, summary=summary)},
            headers=officer,
        ).json()["resource_code"]
        client.post(f"/api/v1/catalog/entries/{code}/submit", headers=officer)
        client.post(f"/api/v1/catalog/entries/{code}/publish", json={}, headers=operator)
    r = client.get("/api/v1/catalog/entries?q=户籍&limit=10", headers=bearer(client, "cd_clerk"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= {"items", "total", "facets", "next_cursor"}
    assert body["total"] == 1 and body["items"][0]["name"] == "户籍人口基本信息"
    item = body["items"][0]
    assert set(item) >= {
        "id",
        "resource_code",
        "name",
        "provider",
        "share_type",
        "open_type",
        "grade",
        "status",
    }
    assert item["provider"]["code"] == "xn_stats" and item["provider"]["name"] == "西宁市统计局"
    assert {"provider", "share_type", "open_type", "grade"} <= set(body["facets"])
    r = client.get("/api/v1/catalog/entries?limit=1", headers=officer)
    assert r.json()["total"] == 2 and r.json()["next_cursor"]
    r = client.get("/api/v1/catalog/entries?cursor=garbage", headers=officer)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_cursor"


def test_facet_counts_follow_every_change(client: TestClient, org: Org) -> None:
    """Facet counts are cached per data version: each change shows at once, nothing stale."""
    officer = bearer(client, "xn_officer")
    operator = bearer(client, "operator")
    reader = bearer(client, "hx_officer")

    def share_counts() -> dict[str, int]:
        body = client.get("/api/v1/catalog/entries", headers=reader).json()
        return {f["value"]: f["count"] for f in body["facets"]["share_type"]}

    assert share_counts() == {}
    created = client.post(
        "/api/v1/catalog/entries",
        json={"classification_code": CLASS_CODE, **content()},
        headers=officer,
    ).json()
    code = created["resource_code"]
    client.post(f"/api/v1/catalog/entries/{code}/submit", headers=officer)
    assert share_counts() == {}  # not yet published: invisible to another department
    client.post(f"/api/v1/catalog/entries/{code}/publish", json={}, headers=operator)
    assert share_counts() == {"conditional": 1}
    assert share_counts() == {"conditional": 1}  # the cached answer is the same answer
    client.post(f"/api/v1/catalog/entries/{code}/versions", json={}, headers=officer)
    client.put(
        f"/api/v1/catalog/entries/{code}",
        json=content(share_type="unconditional", share_condition=None),
        headers=officer,
    )
    client.post(f"/api/v1/catalog/entries/{code}/submit", headers=officer)
    assert share_counts() == {"conditional": 1}  # readers still see version 1
    client.post(f"/api/v1/catalog/entries/{code}/publish", json={}, headers=operator)
    assert share_counts() == {"unconditional": 1}
    client.post(
        f"/api/v1/catalog/entries/{code}/withdraw", json={"reason": "停用"}, headers=officer
    )
    assert share_counts() == {}
