"""Base libraries and duplicate checks: rows of the permission matrix (see
tests/test_permission_matrix.py).

Libraries, builds, golden records and duplicate checks are read with ``quality.read`` (the
operator, region operators, department officers and users); building a library and
attaching its catalog entry is the operator's alone (``governance.manage``); a duplicate
check needs ``quality.manage`` (the operator, department officers over their own
department). The security administrator and the auditor see none of it. Without sources
or a build the allowed callers get past the permission check to a 404 or 422.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from govdata.security.permissions import Role

OP, R, DO, DU = Role.OPERATOR, Role.REGION_OPERATOR, Role.DEPT_OFFICER, Role.DEPT_USER
READERS = frozenset({OP, R, DO, DU})
MANAGERS = frozenset({OP})
QUALITY_MANAGERS = frozenset({OP, DO})
_P = "/api/v1/governance"
_L = f"{_P}/baselibs/{{code}}"

EXPECTED: dict[tuple[str, str], frozenset[Role] | str] = {
    ("GET", f"{_P}/baselibs"): READERS,
    ("GET", _L): READERS,
    ("POST", f"{_L}/builds"): MANAGERS,
    ("GET", f"{_L}/builds/{{build_id}}"): READERS,
    ("PUT", f"{_L}/entry"): MANAGERS,
    ("GET", f"{_L}/records"): READERS,
    ("GET", f"{_L}/records/{{entity_id}}"): READERS,
    ("POST", f"{_P}/duplicate-checks"): QUALITY_MANAGERS,
    ("GET", f"{_P}/duplicate-checks"): READERS,
    ("GET", f"{_P}/duplicate-checks/{{check_id}}"): READERS,
}
QUERY: dict[tuple[str, str], str] = {("GET", f"{_L}/records"): "?q=630102"}
UPLOADS: dict[tuple[str, str], tuple[dict[str, str], str]] = {}

BODIES: dict[tuple[str, str], Callable[[Any, int], Any]] = {
    ("POST", f"{_L}/builds"): lambda w, n: {"retrain": False},
    # No such entry: the operator gets past the permission check to a 404.
    ("PUT", f"{_L}/entry"): lambda w, n: {"entry": f"no-such-entry-{n}"},
    ("POST", f"{_P}/duplicate-checks"): lambda w, n: {
        "entry": f"no-such-entry-{n}",
        "subject": "population",
    },
}


def targets(w: Any, path: str) -> dict[str, str]:
    if not (path.startswith(f"{_P}/baselibs") or path.startswith(f"{_P}/duplicate-checks")):
        return {}
    return {
        "code": "population",
        "build_id": "01a20000-0000-7000-8000-0000000000b1",
        "entity_id": "P0000000000000000",
        "check_id": "01a20000-0000-7000-8000-0000000000c1",
    }
