"""The classification policy's and discovery's rows of the permission matrix (see
tests/test_permission_matrix.py).

- Everyone who works with the catalog (every role but none) reads the grade → controls table;
  only the security administrator (``security.manage``) changes it and reads the retention
  report.
- Discovery scans read rows: ``data.preview`` over the department (its officers) starts them
  and reads them; the security administrator reads every scan (masked findings) but neither
  starts one nor decides its suggestions, which take ``catalog.edit`` over the department.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from govdata.identity import queries as org
from govdata.security.classification_models import DiscoveryScan
from govdata.security.permissions import Role

OP, R, DO, DU, S, A = (
    Role.OPERATOR,
    Role.REGION_OPERATOR,
    Role.DEPT_OFFICER,
    Role.DEPT_USER,
    Role.SECADMIN,
    Role.AUDITOR,
)
_P = "/api/v1/security"
_SCAN = f"{_P}/discovery/scans/{{scan_id}}"

EXPECTED: dict[tuple[str, str], frozenset[Role] | str] = {
    ("GET", f"{_P}/classification"): frozenset({OP, R, DO, DU, S, A}),
    ("PUT", f"{_P}/classification"): frozenset({S}),
    ("GET", f"{_P}/classification/retention"): frozenset({S}),
    ("POST", f"{_P}/discovery/scans"): frozenset({DO}),
    ("GET", f"{_P}/discovery/scans"): frozenset({DO, S}),
    ("GET", _SCAN): frozenset({DO, S}),
    ("POST", f"{_SCAN}/accept"): frozenset({DO}),
    ("POST", f"{_SCAN}/dismiss"): frozenset({DO}),
}
QUERY: dict[tuple[str, str], str] = {}
UPLOADS: dict[tuple[str, str], tuple[dict[str, str], str]] = {}

BODIES: dict[tuple[str, str], Callable[[Any, int], Any]] = {
    # Breaks the "never looser" rule: the administrator gets 422, everyone else 403.
    ("PUT", f"{_P}/classification"): lambda w, n: {"grades": {"1": {"watermark": True}}},
    # No such entry: the officer gets 422 (the permission check passed), others 403.
    ("POST", f"{_P}/discovery/scans"): lambda w, n: {"entry": f"no-such-entry-{n}"},
    ("POST", f"{_SCAN}/accept"): lambda w, n: {"grade": True},
    ("POST", f"{_SCAN}/dismiss"): lambda w, n: {"grade": True},
}


def _scan(w: Any) -> str:
    """A queued scan of the world's department: readable by its officers, nothing to decide."""
    with w.db.transaction(immediate=True) as s:
        dept = org.department_by_id(s, w.dept_id)
        assert dept is not None
        scan = DiscoveryScan(
            target_kind="source",
            department_id=dept.id,
            region_path=dept.region_path,
            table_name="people",
            sample_rows=100,
            rows_sampled=0,
            status="queued",
            created_by_name="matrix",
        )
        s.add(scan)
        s.flush()
        return scan.id


def targets(w: Any, path: str) -> dict[str, str]:
    return {"scan_id": _scan(w)} if "{scan_id}" in path else {}
