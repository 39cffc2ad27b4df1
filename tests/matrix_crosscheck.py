"""Cross-source checks and authoritative sources: rows of the permission matrix (see
tests/test_permission_matrix.py).

Subjects, runs and agreement figures are read with ``quality.read`` (the operator, region
operators, department officers and users); changing subjects, sources and the authority
order and starting runs is the operator's alone (``governance.manage``). The security
administrator and the auditor see none of it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from govdata.core.clock import now
from govdata.governance.authority import load_subject
from govdata.governance.crosscheck_models import CrosscheckRun, SubjectSource
from govdata.governance.crosscheck_schemas import RunStatus
from govdata.security.permissions import Role
from tests.matrix_exchange import _entry

OP, R, DO, DU = Role.OPERATOR, Role.REGION_OPERATOR, Role.DEPT_OFFICER, Role.DEPT_USER
READERS = frozenset({OP, R, DO, DU})
MANAGERS = frozenset({OP})
_P = "/api/v1/governance/crosscheck"
_S = f"{_P}/subjects/{{subject}}"

EXPECTED: dict[tuple[str, str], frozenset[Role] | str] = {
    ("GET", f"{_P}/subjects"): READERS,
    ("POST", f"{_P}/subjects"): MANAGERS,
    ("GET", _S): READERS,
    ("PATCH", _S): MANAGERS,
    ("POST", f"{_S}/sources"): MANAGERS,
    ("PATCH", f"{_P}/sources/{{source_id}}"): MANAGERS,
    ("DELETE", f"{_P}/sources/{{source_id}}"): MANAGERS,
    ("PUT", f"{_S}/authority/{{field}}"): MANAGERS,
    ("POST", f"{_S}/runs"): MANAGERS,
    ("GET", f"{_S}/runs"): READERS,
    ("GET", f"{_P}/runs/{{run_id}}"): READERS,
    ("GET", f"{_P}/runs/{{run_id}}/conflicts"): READERS,
}
QUERY: dict[tuple[str, str], str] = {}
UPLOADS: dict[tuple[str, str], tuple[dict[str, str], str]] = {}

_serial = itertools.count(1)

BODIES: dict[tuple[str, str], Callable[[Any, int], Any]] = {
    ("POST", f"{_P}/subjects"): lambda w, n: {
        "code": f"matrix_{n}",
        "name": f"矩阵主题{n}",
        "key_field": "key",
        "fields": [
            {"code": "key", "label": "编号", "kind": "id"},
            {"code": "name", "label": "名称", "kind": "text"},
        ],
    },
    ("PATCH", _S): lambda w, n: {"description": f"矩阵说明{n}"},
    # No such entry: the operator gets past the permission check to a 404.
    ("POST", f"{_S}/sources"): lambda w, n: {
        "entry": f"no-such-entry-{n}",
        "label": "矩阵",
        "mapping": {"resident_id": "id", "name": "xm"},
    },
    ("PATCH", f"{_P}/sources/{{source_id}}"): lambda w, n: {"label": f"来源{n}"},
    ("PUT", f"{_S}/authority/{{field}}"): lambda w, n: {"sources": []},
}


def _subject_id(w: Any) -> str:
    with w.db.transaction(immediate=True) as s:
        return load_subject(s, "population").id


def _source(w: Any) -> str:
    entry_id = _entry(w)
    subject_id = _subject_id(w)
    with w.db.transaction(immediate=True) as s:
        src = SubjectSource(
            subject_id=subject_id,
            entry_id=entry_id,
            resource_code=f"matrix-{next(_serial)}",
            entry_name="矩阵来源",
            department_id=w.dept_id,
            region_path="630000/630100/630102",
            label="矩阵",
            mapping={"resident_id": "id", "name": "xm"},
        )
        s.add(src)
        s.flush()
        return src.id


def _run(w: Any) -> str:
    subject_id = _subject_id(w)
    with w.db.transaction(immediate=True) as s:
        run = CrosscheckRun(
            subject_id=subject_id,
            subject_code="population",
            status=RunStatus.SUCCEEDED.value,
            requested_by_name="矩阵",
            finished_at=now(),
            sources=[],
            authority={},
        )
        s.add(run)
        s.flush()
        return run.id


def targets(w: Any, path: str) -> dict[str, str]:
    if not path.startswith(_P):
        return {}
    found = {"subject": "population", "field": "name"}
    if "{source_id}" in path:
        found["source_id"] = _source(w)
    if "{run_id}" in path:
        found["run_id"] = _run(w)
    return found
