"""The security posture page (态势感知) and the alert pages: the figures come from real data-service
reads, refusals and a revoked credential; alerts are disposed of through the forms; the auditor
sees everything read-only, the operator the posture only, a department officer neither."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from govdata.app import create_app
from govdata.identity import actions as identity_actions
from govdata.security.anomaly import posture
from govdata.security.anomaly.models import Alert, AlertRule
from tests.catalog.conftest import org, settings
from tests.identity.conftest import PASSWORD
from tests.security.test_alerts_flow import refusals
from tests.security.test_anomaly import alerts, app_token, granted, scan
from tests.sharing.conftest import World, world
from tests.web.conftest import csrf_from

__all__ = ["org", "settings", "world"]


@pytest.fixture
def portal(world: World) -> Iterator[TestClient]:
    # Demo mode lets the privileged roles in without a second factor.
    app = create_app(world.org.settings.model_copy(update={"demo_mode": True}), migrate=False)
    with TestClient(app, follow_redirects=False) as client:
        yield client


def sign_in(client: TestClient, username: str) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    client.cookies.clear()
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    assert r.status_code == 303, r.text
    return csrf_from(client.get("/workbench").text)


def stat(html: str, name: str) -> str:
    match = re.search(rf'data-stat="{name}"><span><span class="stat-value">([^<]*)<', html)
    assert match, name
    return match.group(1)


def section(html: str, section_id: str) -> str:
    start = html.index(f'id="{section_id}"')
    return html[start : html.index("</section>", start)]


def test_the_posture_page_shows_volumes_consumers_alerts_grades_and_the_ledger(
    world: World, portal: TestClient
) -> None:
    db, settings = world.org.db, world.org.settings
    entry = granted(world)  # grade 2, granted to 海西州统计局
    reader_token, reader = app_token(world, "reader")
    outsider_token, _ = app_token(world, "outsider", department="cd_health")
    code, seq = entry.resource_code.split("/")
    url = f"/api/v1/data/{code}/{seq}"
    for _ in range(3):
        r = portal.get(url, headers={"authorization": f"Bearer {reader_token}"})
        assert r.status_code == 200 and r.json()["row_count"] == 5
    r = portal.get(
        f"{url}/records/630102199001011234", headers={"authorization": f"Bearer {reader_token}"}
    )
    assert r.json()["row_count"] == 1
    for _ in range(2):  # no grant: refused
        r = portal.get(url, headers={"authorization": f"Bearer {outsider_token}"})
        assert r.status_code == 403
    stale_token, stale = app_token(world, "stale")
    with world.org.system.act() as ctx:
        identity_actions.revoke_credential(ctx, str(stale.id))
    r = portal.get(url, headers={"authorization": f"Bearer {stale_token}"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "credential_revoked"
    scan(db, settings)
    [alert] = alerts(db, "revoked_credential")

    sign_in(portal, "secadmin")
    html = portal.get("/security/posture").text
    assert (stat(html, "calls_today"), stat(html, "rows_today")) == ("4", "16")
    assert stat(html, "consumers_today") == "1"
    # Two refused reads and the revoked credential.
    assert stat(html, "denied_today") == "3"
    assert stat(html, "open_alerts") == "1"
    top = section(html, "top-consumers")
    assert re.search(rf'data-consumer="{reader.name}">.*?>4<.*?>16<', top, re.S)
    assert re.search(r'data-severity="high">.*?class="num">1<', section(html, "open-alerts"), re.S)
    grades = section(html, "grades")
    assert re.search(r'data-grade="2">.*?class="num">1</td><td class="num">1<', grades, re.S)
    assert re.search(r'data-grade="3">.*?class="num">0<', grades, re.S)
    assert alert.code in section(html, "recent-alerts")
    with db.transaction() as s:
        ledger = posture.ledger_health(s)
    panel = section(html, "ledger-health")
    if ledger.enabled:
        assert f"{ledger.tree_size:,}" in panel
    else:
        assert "未启用" in panel
    # The operator sees the posture without the alerts behind it; an officer sees neither.
    sign_in(portal, "operator")
    html = portal.get("/security/posture").text
    assert stat(html, "calls_today") == "4" and 'id="recent-alerts"' not in html
    assert portal.get("/security/alerts").status_code == 403
    assert portal.get(f"/security/alerts/{alert.id}").status_code == 403
    sign_in(portal, "xn_officer")
    assert portal.get("/security/posture").status_code == 403


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_alerts_are_disposed_of_through_the_portal_and_the_auditor_only_reads(
    world: World, portal: TestClient
) -> None:
    db, settings = world.org.db, world.org.settings
    refusals(db, "prober")
    scan(db, settings)
    [alert] = alerts(db)
    base = f"/security/alerts/{alert.id}"

    token = sign_in(portal, "secadmin")
    listing = portal.get("/security/alerts").text
    assert f'data-code="{alert.code}"' in listing and "多次被拒绝的请求" in listing
    page = portal.get(base).text
    assert 'id="assign-panel"' in page and 'id="start-panel"' not in page
    r = portal.post(f"{base}/assign", data={"assignee": "secadmin", "csrf_token": token})
    assert r.status_code == 303
    page = portal.get(r.headers["location"]).text
    assert "告警已指派" in page and 'id="start-panel"' in page
    assert portal.post(f"{base}/start", data={"csrf_token": token}).status_code == 303
    # Closing needs a note; without one the page says so and nothing changes.
    r = portal.post(f"{base}/close", data={"note": "  ", "csrf_token": token})
    assert r.status_code == 422 and "请检查" in r.text
    note = "已核实为越权探测，凭证已停用"
    r = portal.post(f"{base}/close", data={"note": note, "csrf_token": token})
    assert r.status_code == 303
    page = portal.get(base).text
    assert 'data-status="closed"' in page and note in page
    assert page.count('data-action="') == 4  # raised, assigned, started, closed
    # Rules: settings typed into the form, checked by the action.
    r = portal.post(
        "/security/alert-rules/denied_burst",
        data={"enabled": "on", "severity": "high", "p_count": "abc", "csrf_token": token},
    )
    assert r.status_code == 422
    r = portal.post(
        "/security/alert-rules/denied_burst",
        data={
            "enabled": "on",
            "severity": "high",
            "p_count": "30",
            "p_window_minutes": "15",
            "csrf_token": token,
        },
    )
    assert r.status_code == 303
    with db.transaction() as s:
        rule = s.get(AlertRule, "denied_burst")
        assert rule is not None and rule.severity == "high"
        # An unticked box is a "no".
        assert (rule.params["count"], rule.params["login_failures"]) == (30, False)

    token = sign_in(portal, "auditor")
    page = portal.get(base).text
    assert "已核实为越权探测" in page and "<form" not in page.split('id="alert-details"')[1]
    rules = portal.get("/security/alert-rules").text
    assert 'data-rule="denied_burst"' in rules and 'action="/security/alert-rules/' not in rules
    r = portal.post(f"{base}/false-positive", data={"note": "x", "csrf_token": token})
    assert r.status_code == 403
    r = portal.post("/security/alerts/scan", data={"csrf_token": token})
    assert r.status_code == 403
    with db.transaction() as s:
        status = s.scalar(select(Alert.status).where(Alert.id == alert.id))
    assert status == "closed"
