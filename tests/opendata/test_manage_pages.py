"""The opening review's pages: an officer proposes through the form, the operator reviews,
features and withdraws, each role sees its part and others are refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from govdata.app import create_app
from govdata.opendata.models import OpenDataset
from govdata.security.audit import AuditRecord
from tests.identity.conftest import PASSWORD, Org
from tests.opendata.fixtures import collected_schools
from tests.web.conftest import login

pytestmark = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


@pytest.fixture
def client(org: Org) -> Iterator[TestClient]:
    # Demo mode lets the operator sign in with a password alone (no TOTP enrolment).
    settings = org.settings.model_copy(update={"demo_mode": True})
    with TestClient(create_app(settings), follow_redirects=False) as c:
        yield c


def _as(client: TestClient, user: str) -> str:
    client.cookies.clear()
    return login(client, user, PASSWORD)


def _dataset(org: Org) -> OpenDataset:
    with org.db.sessions() as s:
        return s.scalars(select(OpenDataset)).one()


def _section(text: str, section_id: str) -> str:
    start = text.index(f'id="{section_id}"')
    return text[start : text.index("</section>", start)]


def test_propose_review_feature_withdraw(org: Org, tmp_path: Path, client: TestClient) -> None:
    entry_id, code, _ = collected_schools(org, tmp_path)
    token = _as(client, "xn_officer")
    page = client.get("/opendata/manage")
    assert page.status_code == 200
    openable = _section(page.text, "openable")
    assert f'data-entry="{code}"' in openable
    for field in ("school_code", "school_name", "county", "students"):
        assert f'name="fields" value="{field}" checked' in openable
    assert "head_mobile" not in openable and 'name="license_id"' in openable
    assert "review-queue" in page.text and 'name="decision"' not in page.text
    # A sensitive field is refused with the form's error; nothing is stored.
    bad = client.post(
        "/opendata/manage/propose",
        data={"csrf_token": token, "entry": entry_id, "fields": ["school_name", "head_mobile"]},
    )
    assert bad.status_code == 422 and "所选字段不可开放" in bad.text
    with org.db.sessions() as s:
        assert s.scalars(select(OpenDataset)).first() is None
    done = client.post(
        "/opendata/manage/propose",
        data={
            "csrf_token": token,
            "entry": entry_id,
            "fields": ["school_code", "school_name"],
            "license_id": "cc0-1.0",
            "note": "面向社会开放",
        },
    )
    assert done.status_code == 303
    ds = _dataset(org)
    assert done.headers["location"] == f"/opendata/manage/{ds.id}?done=propose"
    assert ds.status == "proposed" and ds.fields == ["school_code", "school_name"]
    assert ds.license_id == "cc0-1.0"
    detail = client.get(done.headers["location"])
    assert 'data-status="proposed"' in detail.text and 'id="done"' in detail.text
    assert 'id="review-panel"' not in detail.text and 'id="withdraw-panel"' in detail.text
    # The officer may not review its own proposal.
    refused = client.post(
        f"/opendata/manage/{ds.id}/review", data={"csrf_token": token, "decision": "approve"}
    )
    assert refused.status_code == 403

    token = _as(client, "operator")
    queue = _section(client.get("/opendata/manage").text, "review-queue")
    assert f'data-dataset="{ds.name}"' in queue and 'value="approve"' in queue
    no_reason = client.post(
        f"/opendata/manage/{ds.id}/review", data={"csrf_token": token, "decision": "reject"}
    )
    assert no_reason.status_code == 422 and "不予开放须说明理由" in no_reason.text
    assert _dataset(org).status == "proposed"
    ok = client.post(
        f"/opendata/manage/{ds.id}/review",
        data={"csrf_token": token, "decision": "approve", "next": "list"},
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/opendata/manage?done=approve"
    assert _dataset(org).status == "open"
    listed = client.get(ok.headers["location"]).text
    assert f'data-dataset="{ds.name}"' in _section(listed, "open-datasets")
    feat = client.post(
        f"/opendata/manage/{ds.id}/feature", data={"csrf_token": token, "featured": "1"}
    )
    assert feat.status_code == 303 and _dataset(org).featured
    detail = client.get(f"/opendata/manage/{ds.id}").text
    assert f'href="/open/datasets/{ds.name}"' in detail
    assert 'name="featured" value="0"' in detail
    gone = client.post(
        f"/opendata/manage/{ds.id}/withdraw", data={"csrf_token": token, "reason": "数据停止更新"}
    )
    assert gone.status_code == 303
    final = _dataset(org)
    assert final.status == "withdrawn" and not final.featured
    assert final.review_comment == "数据停止更新"
    with org.db.sessions() as s:
        actions = [
            a
            for (a,) in s.execute(
                select(AuditRecord.action)
                .where(AuditRecord.target_id == ds.id, AuditRecord.outcome == "success")
                .order_by(AuditRecord.at, AuditRecord.id)
            )
        ]
    assert actions == [
        "opendata.dataset.propose",
        "opendata.dataset.approve",
        "opendata.dataset.feature",
        "opendata.dataset.withdraw",
    ]


def test_who_sees_the_pages(org: Org, tmp_path: Path, client: TestClient) -> None:
    entry_id, _code, _ = collected_schools(org, tmp_path)
    token = _as(client, "xn_officer")
    client.post("/opendata/manage/propose", data={"csrf_token": token, "entry": entry_id})
    ds = _dataset(org)
    assert ds.fields == ["school_code", "school_name", "county", "students"]
    # Another department's officer sees neither the dataset nor its page.
    _as(client, "hx_officer")
    page = client.get("/opendata/manage")
    assert page.status_code == 200 and f'data-dataset="{ds.name}"' not in page.text
    assert client.get(f"/opendata/manage/{ds.id}").status_code == 403
    # A department user and the auditor have no open-data pages.
    for user in ("xn_clerk", "auditor"):
        _as(client, user)
        assert client.get("/opendata/manage").status_code == 403
        assert client.get(f"/opendata/manage/{ds.id}").status_code == 403
    client.cookies.clear()
    anonymous = client.get("/opendata/manage")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
