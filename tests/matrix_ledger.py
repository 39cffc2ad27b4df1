"""The audit ledger's rows of the permission matrix (see tests/test_permission_matrix.py).

- ``ledger.read`` (the auditor, the operator, department users — app credentials act as
  department users, and a lower node reaches this one as an app of its data bureau):
  signed tree heads, proofs and the list of peers. Hashes
  only; a leaf's content additionally takes ``audit.read``, which only the auditor holds.
- ``audit.read`` (the auditor): verification status, and starting a full verification.
- ``security.manage`` (the security administrator): trusting a lower node's key.
- ``ledger.anchor`` (the operator, who issues such credentials, and department users, as
  which they act): countersigning, only for heads signed by a registered key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from govdata.security.crypto import sm2
from govdata.security.permissions import Role

OP, A, S, DU = Role.OPERATOR, Role.AUDITOR, Role.SECADMIN, Role.DEPT_USER
READERS = frozenset({OP, A, DU})
_P = "/api/v1/audit"

EXPECTED: dict[tuple[str, str], frozenset[Role] | str] = {
    ("GET", f"{_P}/tree-head"): READERS,
    ("GET", f"{_P}/proof/inclusion"): READERS,
    ("GET", f"{_P}/proof/consistency"): READERS,
    ("GET", f"{_P}/verification"): frozenset({A}),
    ("POST", f"{_P}/verification"): frozenset({A}),
    ("GET", f"{_P}/peers"): READERS,
    ("POST", f"{_P}/peers"): frozenset({S}),
    ("GET", f"{_P}/peers/{{node_id}}/countersigned-size"): frozenset({OP, DU}),
    ("POST", f"{_P}/peer-heads"): frozenset({OP, DU}),
}
QUERY: dict[tuple[str, str], str] = {
    ("GET", f"{_P}/proof/inclusion"): "?record=no-such-record",
    ("GET", f"{_P}/proof/consistency"): "?first=1&second=1",
}
UPLOADS: dict[tuple[str, str], tuple[dict[str, str], str]] = {}

_PUBLIC = sm2.generate_keypair()[1]

BODIES: dict[tuple[str, str], Callable[[Any, int], Any]] = {
    ("POST", f"{_P}/peers"): lambda w, n: {
        "node_id": f"city-{n}",
        "name": f"市级节点{n}",
        "algorithm": "SM2-SM3",
        "public_key": _PUBLIC,
    },
    ("POST", f"{_P}/peer-heads"): lambda w, n: {
        "node_id": f"unregistered-{n}",
        "tree_size": 1,
        "root_hash": "00" * 32,
        "issued_at": "2026-12-06T00:00:00Z",
        "algorithm": "SM2-SM3",
        "key_id": "0" * 16,
        "signature": "00" * 64,
    },
}


def targets(w: Any, path: str) -> dict[str, str]:
    return {"node_id": "city-x"} if "{node_id}" in path else {}
