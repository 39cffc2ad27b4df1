"""Alerts after they are raised: disposal (处置) open → assigned → disposing → closed or a
false positive, notices to the assignee and to every security administrator for severe
alerts, every change audited; who may see and change what (the auditor reads, changes
nothing; the operator sees the posture only); alert rules edited by the security
administrator."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select
from typer.testing import CliRunner

from govdata.app import create_app
from govdata.cli import app
from govdata.core.clock import now
from govdata.core.db import Database
from govdata.core.errors import Conflict, InvalidInput, PermissionDenied
from govdata.identity import auth
from govdata.identity.models import User
from govdata.identity.schemas import RoleAssignmentIn
from govdata.notifications.models import Notification
from govdata.security.anomaly import alerts as alert_actions
from govdata.security.anomaly.models import Alert, AlertRule
from govdata.security.anomaly.schemas import AssignIn, NoteIn
from govdata.security.audit import DENIED
from govdata.security.models import AuditRecord
from govdata.security.permissions import Role
from tests.catalog.conftest import org, settings
from tests.identity.conftest import Org
from tests.security.test_anomaly import alerts, app_actor, past_record, scan

__all__ = ["org", "settings"]


def refusals(db: Database, name: str, n: int = 20) -> None:
    """``n`` refused reads by app ``name`` a minute ago: one denied-burst alert (medium)."""
    past_record(
        db, app_actor(name), "data.read", [now() - timedelta(minutes=1)] * n, outcome=DENIED
    )


def refused_token(db: Database, name: str) -> None:
    """A revoked credential presented a minute ago: one revoked-credential alert (high)."""
    past_record(
        db,
        app_actor(name),
        "auth.token_refused",
        now() - timedelta(minutes=1),
        outcome=DENIED,
        details={"reason": "credential_revoked"},
    )


def notices(db: Database, kind: str) -> dict[str, int]:
    with db.transaction() as s:
        rows = s.execute(
            select(User.username, Notification.id)
            .join(User, User.id == Notification.user_id)
            .where(Notification.kind == kind)
        ).all()
    found: dict[str, int] = {}
    for username, _ in rows:
        found[username] = found.get(username, 0) + 1
    return found


def audit_actions(db: Database, prefix: str) -> list[tuple[str, str, str]]:
    with db.transaction() as s:
        rows = s.execute(
            select(AuditRecord.action, AuditRecord.actor_name, AuditRecord.outcome)
            .where(AuditRecord.action.startswith(prefix))
            .order_by(AuditRecord.at)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_disposal_runs_from_open_to_closed_and_every_step_is_audited(org: Org) -> None:
    db, settings = org.db, org.settings
    org.add_user("secadmin2", RoleAssignmentIn(role=Role.SECADMIN))
    refusals(db, "prober")
    refusals(db, "noisy")
    refused_token(db, "stale")
    assert scan(db, settings).raised == 3
    by_subject = {a.subject_name: a for a in alerts(db)}
    first, second = by_subject["app:prober"], by_subject["app:noisy"]
    assert (first.status, first.severity, first.code[:2]) == ("open", "medium", "AL")
    # Severe alerts are announced to every security administrator, the others are not.
    assert notices(db, "security.alert.raised") == {"secadmin": 1, "secadmin2": 1}

    def act(user: str, fn: Any, *args: Any) -> Any:
        with org.as_(user).act() as ctx:
            return fn(ctx, *args)

    out = act("secadmin", alert_actions.assign_alert, first.id, AssignIn(assignee="secadmin2"))
    assert (out.status, out.assignee_name) == ("assigned", "secadmin2")
    assert notices(db, "security.alert.assigned") == {"secadmin2": 1}
    # Only the assignee disposes of it, and only step by step.
    with pytest.raises(PermissionDenied) as refused:
        act("secadmin", alert_actions.start_disposal, first.id)
    assert refused.value.code == "alert_not_assignee"
    with pytest.raises(Conflict) as early:
        act("secadmin2", alert_actions.close_alert, first.id, NoteIn(note="done"))
    assert early.value.code == "alert_bad_state"
    assert act("secadmin2", alert_actions.start_disposal, first.id).status == "disposing"
    with pytest.raises(ValidationError):
        NoteIn(note="   ")  # a closure note is required
    note = NoteIn(note="已约谈应用负责人，凭证已吊销")
    closed = act("secadmin2", alert_actions.close_alert, first.id, note)
    assert (closed.status, closed.closed_by_name, closed.note) == ("closed", "secadmin2", note.note)
    with pytest.raises(Conflict):
        act("secadmin", alert_actions.assign_alert, first.id, AssignIn(assignee="secadmin"))
    # Anyone of the security administrators may call an open alert a false positive.
    fp = act("secadmin", alert_actions.mark_false_positive, second.id, NoteIn(note="压力测试流量"))
    assert fp.status == "false_positive"
    # Alerts go to security administrators only.
    third = by_subject["app:stale"]
    with pytest.raises(InvalidInput) as wrong:
        act("secadmin", alert_actions.assign_alert, third.id, AssignIn(assignee="auditor"))
    assert wrong.value.code == "alert_assignee_invalid"

    detail = act("auditor", alert_actions.get_alert, first.id)
    assert [e.action for e in detail.events] == ["raise", "assign", "start", "close"]
    assert detail.records and all(r.action == "data.read" for r in detail.records)
    assert audit_actions(db, "security.alert.") == [
        ("security.alert.raise", "system", "success"),
        ("security.alert.raise", "system", "success"),
        ("security.alert.raise", "system", "success"),
        ("security.alert.assign", "secadmin", "success"),
        ("security.alert.start", "secadmin2", "success"),
        ("security.alert.close", "secadmin2", "success"),
        ("security.alert.false_positive", "secadmin", "success"),
        ("security.alert.view", "auditor", "success"),
    ]
    with db.transaction() as s:
        denied = s.scalars(
            select(AuditRecord.target_id).where(
                AuditRecord.actor_name == "secadmin", AuditRecord.outcome == DENIED
            )
        ).all()
    assert denied == [first.id]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_auditor_reads_alerts_and_changes_nothing_the_operator_sees_the_posture_only(
    org: Org,
) -> None:
    db, settings = org.db, org.settings
    refusals(db, "prober")
    scan(db, settings)
    [alert] = alerts(db)

    def bearer(username: str) -> dict[str, str]:
        with db.transaction() as s:
            user = s.scalars(select(User).where(User.username == username)).one()
            return {"authorization": f"Bearer {auth.issue_access_token(settings, user)[0]}"}

    base = "/api/v1/security"
    changes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", f"/alerts/{alert.id}/assign", {"assignee": "secadmin"}),
        ("POST", f"/alerts/{alert.id}/start", None),
        ("POST", f"/alerts/{alert.id}/close", {"note": "x"}),
        ("POST", f"/alerts/{alert.id}/false-positive", {"note": "x"}),
        ("PUT", "/alert-rules/denied_burst", {"enabled": False, "severity": "low"}),
        ("POST", "/alerts/scan", None),
    ]
    reads = ["/alerts", f"/alerts/{alert.id}", "/alert-rules", "/baselines", "/posture"]
    with TestClient(create_app(settings, migrate=False)) as client:
        auditor, operator = bearer("auditor"), bearer("operator")
        officer, secadmin = bearer("xn_officer"), bearer("secadmin")
        for path in reads:
            assert client.get(base + path, headers=auditor).status_code == 200, path
        page = client.get(base + "/alerts", headers=auditor).json()
        assert [a["code"] for a in page["items"]] == [alert.code]
        for method, path, body in changes:
            r = client.request(method, base + path, headers=auditor, json=body)
            assert r.status_code == 403, (path, r.text)
            assert r.json()["error"]["code"] == "permission_denied"
        # The system administrator sees the posture, never the alerts and their evidence.
        assert client.get(base + "/posture", headers=operator).status_code == 200
        for path in reads[:-1]:
            assert client.get(base + path, headers=operator).status_code == 403, path
        assert client.get(base + "/posture", headers=officer).status_code == 403
        # The security administrator edits rules; bad settings change nothing.
        r = client.put(
            base + "/alert-rules/denied_burst",
            headers=secadmin,
            json={"enabled": True, "severity": "high", "params": {"count": 1}},
        )
        assert r.status_code == 422 and r.json()["error"]["code"] == "alert_rule_invalid"
        r = client.put(
            base + "/alert-rules/denied_burst",
            headers=secadmin,
            json={"enabled": True, "severity": "high", "params": {"count": 50}},
        )
        assert r.status_code == 200 and r.json()["params"]["count"] == 50
        r = client.post(
            f"{base}/alerts/{alert.id}/assign", headers=secadmin, json={"assignee": "secadmin"}
        )
        assert r.status_code == 200 and r.json()["status"] == "assigned"
        r = client.post(f"{base}/alerts/{alert.id}/close", headers=secadmin, json={"note": " "})
        assert r.status_code == 422
    with db.transaction() as s:
        row = s.get(Alert, alert.id)
        assert row is not None and (row.status, row.note) == ("assigned", None)
        rule = s.get(AlertRule, "denied_burst")
        assert rule is not None and (rule.severity, rule.params["count"]) == ("high", 50)
    updates = audit_actions(db, "security.alert_rule.update")
    assert updates == [("security.alert_rule.update", "secadmin", "success")]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_cli_scans_lists_alerts_and_shows_the_rules(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = org.settings
    monkeypatch.setenv("GOVDATA_DATABASE_URL", s.database_url or "")
    monkeypatch.setenv("GOVDATA_DATA_DIR", str(s.data_dir))
    monkeypatch.setenv("GOVDATA_SECRET_KEY", s.secret_key)
    monkeypatch.setenv("COLUMNS", "250")
    runner = CliRunner()
    refusals(org.db, "prober")
    result = runner.invoke(app, ["alerts", "scan"])
    assert result.exit_code == 0 and "raised=1" in result.output, result.output
    [alert] = alerts(org.db)
    result = runner.invoke(app, ["alerts", "list"])
    assert result.exit_code == 0 and alert.code in result.output and "待处置" in result.output
    result = runner.invoke(app, ["alerts", "list", "--status", "closed"])
    assert result.exit_code == 0 and alert.code not in result.output
    result = runner.invoke(app, ["alerts", "rules"])
    assert result.exit_code == 0 and "volume_baseline" in result.output
    assert "floor=5000" in result.output
    assert audit_actions(org.db, "security.alert.scan") == [
        ("security.alert.scan", "cli", "success")
    ]
