"""The opening review's REST API per role (propose, list, one, review, feature, withdraw) and
the public statistics endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from govdata.app import create_app
from govdata.identity import auth
from govdata.identity.models import User
from tests.identity.conftest import Org
from tests.opendata.fixtures import OPEN_FIELDS, collected_schools

_D = "/api/v1/opendata/datasets"


@pytest.fixture
def client(org: Org) -> Iterator[TestClient]:
    with TestClient(create_app(org.settings)) as c:
        yield c


def _bearer(org: Org, username: str) -> dict[str, str]:
    with org.db.sessions() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        return {"authorization": f"Bearer {auth.issue_access_token(org.settings, user)[0]}"}


def test_the_review_through_the_api(org: Org, tmp_path: Path, client: TestClient) -> None:
    entry_id, code, _ = collected_schools(org, tmp_path)
    officer, operator = _bearer(org, "xn_officer"), _bearer(org, "operator")
    other, clerk = _bearer(org, "hx_officer"), _bearer(org, "xn_clerk")

    assert client.post(_D, json={"entry": code}, headers=clerk).status_code == 403
    assert client.post(_D, json={"entry": code}, headers=other).status_code == 403
    extra = client.post(_D, json={"entry": code, "grade": 1}, headers=officer)
    assert extra.status_code == 422
    made = client.post(
        _D, json={"entry": code, "license_id": "odc-by", "note": "开放"}, headers=officer
    )
    assert made.status_code == 201, made.text
    ds = made.json()
    assert ds["status"] == "proposed" and ds["fields"] == OPEN_FIELDS
    assert ds["license_id"] == "odc-by" and ds["entry_id"] == entry_id and not ds["public"]
    again = client.post(_D, json={"entry": code}, headers=officer)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "opendata_already_proposed"

    mine = client.get(_D, headers=officer).json()
    assert [d["id"] for d in mine["items"]] == [ds["id"]]
    assert client.get(_D, headers=other).json()["items"] == []
    assert client.get(f"{_D}?status=open", headers=operator).json()["items"] == []
    assert client.get(f"{_D}?status=nonsense", headers=operator).status_code == 422
    assert client.get(_D, headers=clerk).status_code == 403
    assert client.get(_D).status_code == 401
    assert client.get(f"{_D}/{ds['id']}", headers=other).status_code == 403
    assert client.get(f"{_D}/{ds['id']}", headers=officer).json()["status"] == "proposed"

    url = f"{_D}/{ds['id']}"
    assert client.post(f"{url}/review", json={"approve": True}, headers=officer).status_code == 403
    no_reason = client.post(f"{url}/review", json={"approve": False}, headers=operator)
    assert no_reason.status_code == 422
    approved = client.post(f"{url}/review", json={"approve": True}, headers=operator)
    assert approved.status_code == 200 and approved.json()["public"]
    assert (
        client.post(f"{url}/feature", json={"featured": True}, headers=officer).status_code == 403
    )
    featured = client.post(f"{url}/feature", json={"featured": True}, headers=operator)
    assert featured.json()["featured"] is True
    assert client.post(f"{url}/withdraw", json={"reason": "x"}, headers=other).status_code == 403
    assert client.post(f"{url}/withdraw", json={"reason": ""}, headers=officer).status_code == 422
    gone = client.post(f"{url}/withdraw", json={"reason": "数据停止更新"}, headers=officer)
    assert gone.status_code == 200
    assert gone.json()["status"] == "withdrawn" and gone.json()["featured"] is False
    assert (
        client.get(f"{_D}?status=withdrawn", headers=operator).json()["items"][0]["id"] == ds["id"]
    )


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_statistics_are_public(org: Org, client: TestClient) -> None:
    got = client.get("/api/v1/opendata/stats?by=month&from=2026-01&to=2026-02")
    assert got.status_code == 200
    body = got.json()
    assert body["by"] == "month" and [r["key"] for r in body["rows"]] == ["2026-01", "2026-02"]
    assert body["totals"] == {"views": 0, "downloads": 0, "calls": 0}
    assert client.get("/api/v1/opendata/stats?by=region").status_code == 422
    assert client.get("/api/v1/opendata/stats?from=2026-1").status_code == 422
