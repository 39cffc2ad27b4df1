"""The source systems' rows of the permission matrix (see tests/test_permission_matrix.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from govdata.security.permissions import Role

OP, R, DO, DU, S, A = (
    Role.OPERATOR,
    Role.REGION_OPERATOR,
    Role.DEPT_OFFICER,
    Role.DEPT_USER,
    Role.SECADMIN,
    Role.AUDITOR,
)

EXPECTED: dict[tuple[str, str], frozenset[Role] | str] = {}
QUERY: dict[tuple[str, str], str] = {}
UPLOADS: dict[tuple[str, str], tuple[dict[str, str], str]] = {}
BODIES: dict[tuple[str, str], Callable[[Any, int], Any]] = {}


def targets(w: Any, path: str) -> dict[str, str]:
    """Fresh objects for the path's parameters, inside the world's department ``w.dept_id``."""
    return {}
