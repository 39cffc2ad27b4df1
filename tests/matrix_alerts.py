"""Anomaly detection's rows of the permission matrix (see tests/test_permission_matrix.py).

- ``security.manage`` (the security administrator) sees and disposes of alerts, edits the
  alert rules and runs the scan; the disposal steps after assignment are the assignee's.
- ``audit.read`` (the auditor) reads alerts, their evidence, the rules and baselines, and
  changes nothing.
- ``security.read`` (the operator) reads the posture page only: alerts carry audit-trail
  evidence, which the system administrator may not read.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from govdata.core.clock import now
from govdata.identity.models import RoleAssignment, User
from govdata.security.anomaly.models import Alert
from govdata.security.permissions import Role

OP, A, S = Role.OPERATOR, Role.AUDITOR, Role.SECADMIN
_P = "/api/v1/security"
_A = f"{_P}/alerts/{{alert_id}}"

EXPECTED: dict[tuple[str, str], frozenset[Role] | str] = {
    ("GET", f"{_P}/alerts"): frozenset({S, A}),
    ("POST", f"{_P}/alerts/scan"): frozenset({S}),
    ("GET", _A): frozenset({S, A}),
    ("POST", f"{_A}/assign"): frozenset({S}),
    ("POST", f"{_A}/start"): frozenset({S}),
    ("POST", f"{_A}/close"): frozenset({S}),
    ("POST", f"{_A}/false-positive"): frozenset({S}),
    ("GET", f"{_P}/alert-rules"): frozenset({S, A}),
    ("PUT", f"{_P}/alert-rules/{{code}}"): frozenset({S}),
    ("GET", f"{_P}/baselines"): frozenset({S, A}),
    ("GET", f"{_P}/posture"): frozenset({S, A, OP}),
}
QUERY: dict[tuple[str, str], str] = {}
UPLOADS: dict[tuple[str, str], tuple[dict[str, str], str]] = {}

_serial = itertools.count(1)


def _newest_officer(w: Any) -> tuple[str | None, str | None]:
    """The security administrator the matrix made last: the caller, when it is one."""
    with w.db.transaction(immediate=True) as s:
        row = s.execute(
            select(User.id, User.username)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(RoleAssignment.role == Role.SECADMIN.value)
            .order_by(User.created_at.desc())
            .limit(1)
        ).first()
    return (row[0], row[1]) if row else (None, None)


BODIES: dict[tuple[str, str], Callable[[Any, int], Any]] = {
    ("POST", f"{_A}/assign"): lambda w, n: {"assignee": _newest_officer(w)[1] or "nobody"},
    ("POST", f"{_A}/close"): lambda w, n: {"note": f"处置完毕{n}"},
    ("POST", f"{_A}/false-positive"): lambda w, n: {"note": f"误报{n}"},
    ("PUT", f"{_P}/alert-rules/{{code}}"): lambda w, n: {
        "enabled": True,
        "severity": "medium",
        "params": {"count": 20 + n},
    },
}


def _alert(w: Any, path: str) -> str:
    """A fresh alert in the state the route acts on, assigned to the caller where needed."""
    n = next(_serial)
    status = "open"
    if path.endswith("/start"):
        status = "assigned"
    elif path.endswith("/close"):
        status = "disposing"
    assignee_id, assignee_name = _newest_officer(w) if status != "open" else (None, None)
    at = now() - timedelta(minutes=5)
    with w.db.transaction(immediate=True) as s:
        alert = Alert(
            code=f"ALM{n:06d}",
            rule="denied_burst",
            severity="medium",
            status=status,
            dedup_key=f"matrix|{n}",
            subject_kind="app",
            subject_id=f"matrix-app-{n}",
            subject_name=f"app:matrix{n}",
            window_start=at,
            window_end=at + timedelta(minutes=10),
            observed=25,
            threshold=20,
            occurrences=1,
            first_event_at=at,
            last_event_at=at,
            evidence={},
            record_ids=[],
            assignee_id=assignee_id,
            assignee_name=assignee_name,
        )
        s.add(alert)
        s.flush()
        return alert.id


def targets(w: Any, path: str) -> dict[str, str]:
    found: dict[str, str] = {}
    if "{alert_id}" in path:
        found["alert_id"] = _alert(w, path)
    if "{code}" in path and path.startswith(f"{_P}/alert-rules"):
        found["code"] = "denied_burst"
    return found
