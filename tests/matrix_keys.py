"""Key management and secure destruction rows of the permission matrix (see
tests/test_permission_matrix.py).

Keys: the security administrator only (三员分立: the operator runs the platform, not its keys).
Destruction: officers (their department) and the operator request; the security
administrator decides; departments (``exchange.read``), the security administrator and the
auditor read requests and certificates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM
from govdata.security.destruction import request_destruction
from govdata.security.destruction_schemas import DestructionIn
from govdata.security.permissions import Role
from tests.matrix_exchange import _entry

OP, R, DO, DU, S, A = (
    Role.OPERATOR,
    Role.REGION_OPERATOR,
    Role.DEPT_OFFICER,
    Role.DEPT_USER,
    Role.SECADMIN,
    Role.AUDITOR,
)
KEYS = frozenset({S})
READERS = frozenset({OP, R, DO, S, A})
_D = "/api/v1/destructions/{destruction_id}"

EXPECTED: dict[tuple[str, str], frozenset[Role] | str] = {
    ("GET", "/api/v1/keys/status"): KEYS,
    ("GET", "/api/v1/keys/data-keys"): KEYS,
    ("POST", "/api/v1/keys/master/rotate"): KEYS,
    ("POST", "/api/v1/keys/rewrap"): KEYS,
    ("POST", "/api/v1/keys/master/{master_key_id}/forget"): KEYS,
    ("POST", "/api/v1/keys/tables/{table}/rotate"): KEYS,
    ("GET", "/api/v1/destructions"): READERS,
    ("POST", "/api/v1/destructions"): frozenset({OP, DO}),
    ("GET", _D): READERS,
    ("POST", f"{_D}/decision"): KEYS,
    ("GET", f"{_D}/certificate"): READERS,
}
QUERY: dict[tuple[str, str], str] = {}
UPLOADS: dict[tuple[str, str], tuple[dict[str, str], str]] = {}


def _destruction(w: Any) -> str:
    with Caller(w.db, w.settings, SYSTEM, "127.0.0.1").act() as ctx:
        out = request_destruction(ctx, DestructionIn(entry=_entry(w), reason="权限矩阵"))
    return out.id


BODIES: dict[tuple[str, str], Callable[[Any, int], Any]] = {
    ("POST", "/api/v1/destructions"): lambda w, n: {"entry": _entry(w), "reason": f"到期{n}"},
    ("POST", f"{_D}/decision"): lambda w, n: {"approve": n % 2 == 0, "note": "矩阵"},
}


def targets(w: Any, path: str) -> dict[str, str]:
    if "{destruction_id}" in path:
        return {"destruction_id": _destruction(w)}
    if "{master_key_id}" in path:
        return {"master_key_id": "00000000"}
    if "{table}" in path:
        return {"table": "xn_civil.entry_none"}
    return {}
