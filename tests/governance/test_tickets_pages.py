"""The ticket portal pages: queues, the detail with the forms the viewer may use, a step
taken through its form (CSRF), a refusal, the accountability page and its Excel export."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from govdata.app import create_app
from tests.catalog.conftest import org, settings
from tests.governance.test_tickets import _report
from tests.identity.conftest import PASSWORD, Org
from tests.web.conftest import csrf_from, login

__all__ = ["org", "settings"]


@pytest.fixture
def client(org: Org) -> Iterator[TestClient]:
    with TestClient(create_app(org.settings), follow_redirects=False) as c:
        yield c


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_queues_detail_and_a_step_through_the_form(org: Org, client: TestClient) -> None:
    tid = _report(org, severity=4)
    login(client, "xn_officer", PASSWORD)
    queue = client.get("/governance/tickets?side=assigned")
    assert queue.status_code == 200 and "问题数据整改" in queue.text, queue.status_code
    assert f'href="/governance/tickets/{tid}"' in queue.text
    detail = client.get(f"/governance/tickets/{tid}")
    assert 'id="accept-panel"' in detail.text and 'id="close-panel"' not in detail.text
    token = csrf_from(detail.text)
    done = client.post(
        f"/governance/tickets/{tid}/accept",
        data={"csrf_token": token, "note": "已核实"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].endswith("?done=accept")
    after = client.get(done.headers["location"])
    assert 'data-status="accepted"' in after.text and "工单已受理。" in after.text
    assert 'id="start-panel"' in after.text
    # A dispute needs its reason: the form comes back with the error, nothing changes.
    client.cookies.clear()
    login(client, "hx_officer", PASSWORD)
    seen = client.get(f"/governance/tickets/{tid}")
    assert 'id="close-panel"' in seen.text and 'id="start-panel"' not in seen.text
    refused = client.post(
        f"/governance/tickets/{tid}/start", data={"csrf_token": csrf_from(seen.text)}
    )
    assert refused.status_code == 403
    reported = client.get("/governance/tickets?side=reported")
    assert f'href="/governance/tickets/{tid}"' in reported.text


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_accountability_page_and_export(org: Org, client: TestClient) -> None:
    _report(org)
    login(client, "xn_admin", PASSWORD)
    page = client.get("/governance/accountability")
    assert page.status_code == 200 and "整改问责报告" in page.text
    assert 'data-department="xn_stats"' in page.text
    assert "/governance/tickets" in page.text  # the nav item
    export = client.get("/governance/accountability.xlsx")
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert export.content[:2] == b"PK"
