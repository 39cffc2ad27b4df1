"""Problem-data tickets' rows of the permission matrix (see tests/test_permission_matrix.py).

Who does what, by the actions (``govdata.governance.tickets`` and ``.accountability``):

- ``sharing.read`` (operator, region operators, officers, department users) lists and reads
  the tickets and the accountability report of the reader's scope;
- ``sharing.decide`` on the provider (its officers): accept, dispute, start rectifying,
  submit for re-check;
- the reporter's ``sharing.apply`` (officers and users of the reporting department) or the
  operator's ``sharing.manage``: close, reopen;
- ``sharing.manage`` (the operator): decide disputes, reassign, extend deadlines.

Each call gets a fresh ticket of the world's department (provider, and reporter for the
reporter's steps) in the state its route acts on, so the permission check, not a state
conflict, decides.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from govdata.catalog import actions as catalog_actions
from govdata.catalog.schemas import EntryCreate, PublishRequest
from govdata.core.clock import now
from govdata.governance.models import Ticket
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM
from govdata.security.permissions import Role
from govdata.sharing.common import department_scope

OP, R, DO, DU = Role.OPERATOR, Role.REGION_OPERATOR, Role.DEPT_OFFICER, Role.DEPT_USER
READERS = frozenset({OP, R, DO, DU})
PROVIDER = frozenset({DO})
REPORTER = frozenset({OP, DO, DU})
OPERATOR = frozenset({OP})

_P = "/api/v1/governance"
_T = f"{_P}/tickets/{{ticket_id}}"

EXPECTED: dict[tuple[str, str], frozenset[Role] | str] = {
    ("GET", f"{_P}/tickets"): READERS,
    ("GET", _T): READERS,
    ("POST", f"{_T}/accept"): PROVIDER,
    ("POST", f"{_T}/dispute"): PROVIDER,
    ("POST", f"{_T}/start"): PROVIDER,
    ("POST", f"{_T}/submit"): PROVIDER,
    ("POST", f"{_T}/close"): REPORTER,
    ("POST", f"{_T}/reopen"): REPORTER,
    ("POST", f"{_T}/decide"): OPERATOR,
    ("POST", f"{_T}/reassign"): OPERATOR,
    ("POST", f"{_T}/extend"): OPERATOR,
    ("GET", f"{_P}/accountability"): READERS,
    ("GET", f"{_P}/accountability.xlsx"): READERS,
}
QUERY: dict[tuple[str, str], str] = {}
UPLOADS: dict[tuple[str, str], tuple[dict[str, str], str]] = {}

BODIES: dict[tuple[str, str], Callable[[Any, int], Any]] = {
    ("POST", f"{_T}/accept"): lambda w, n: {"note": f"受理{n}"},
    ("POST", f"{_T}/dispute"): lambda w, n: {"note": f"数据无误{n}"},
    ("POST", f"{_T}/start"): lambda w, n: {},
    ("POST", f"{_T}/submit"): lambda w, n: {"note": f"已整改{n}"},
    ("POST", f"{_T}/close"): lambda w, n: {"note": f"确认关闭{n}"},
    ("POST", f"{_T}/reopen"): lambda w, n: {"note": f"仍有问题{n}"},
    ("POST", f"{_T}/decide"): lambda w, n: {"uphold": False, "note": f"驳回异议{n}"},
    ("POST", f"{_T}/reassign"): lambda w, n: {"department_id": w.dept_id, "note": f"转办{n}"},
    ("POST", f"{_T}/extend"): lambda w, n: {"days": 2, "note": f"延期{n}"},
}

_serial = itertools.count(1)
# The state each step acts on.
_STATE = {
    "accept": "open",
    "dispute": "open",
    "start": "accepted",
    "submit": "rectifying",
    "close": "open",
    "reopen": "rechecked",
    "decide": "disputed",
    "reassign": "open",
    "extend": "open",
}
_ENTRY: dict[str, Any] = {
    "name": "问题工单矩阵目录",
    "summary": "矩阵测试用目录。",
    "format": "database",
    "share_type": "unconditional",
    "share_modes": ["api"],
    "open_type": "closed",
    "update_cycle": "monthly",
    "grade": 1,
    "contact_name": "李明",
    "contact_phone": "0971-6100000",
    "items": [{"name": "姓名", "data_type": "string", "length": 50, "grade": 1}],
}


def _entry(w: Any) -> tuple[str, str, str]:
    found: tuple[str, str, str] | None = getattr(w, "_tickets_entry", None)
    if found is None:
        with Caller(w.db, w.settings, SYSTEM, "127.0.0.1").act() as ctx:
            entry = catalog_actions.create_entry(
                ctx, EntryCreate(classification_code="101001", provider_code="xn_civil", **_ENTRY)
            )
            catalog_actions.submit_entry(ctx, entry.id)
            catalog_actions.publish_entry(ctx, entry.id, PublishRequest())
        found = (entry.id, entry.resource_code, entry.name)
        w._tickets_entry = found
    return found


def _ticket(w: Any, path: str) -> str:
    n = next(_serial)
    step = path.rsplit("/", 1)[-1]
    status = _STATE.get(step, "open")
    entry_id, code, name = _entry(w)
    with w.db.transaction(immediate=True) as s:
        region = department_scope(s, w.dept_id).region_path or ""
        reported = step in ("close", "reopen")
        t = Ticket(
            code=f"WTM{n:06d}",
            source="objection",
            severity=3,
            entry_id=entry_id,
            resource_code=code,
            entry_name=name,
            provider_department_id=w.dept_id,
            provider_region_path=region,
            reporter_department_id=w.dept_id if reported else None,
            reporter_region_path=region if reported else None,
            reporter_name="矩阵",
            record_key={},
            title=f"矩阵工单{n}",
            description="矩阵测试。",
            status=status,
            due_at=now() + timedelta(days=5),
            escalation_level=0,
            reopen_count=0,
            recheck_count=0,
        )
        s.add(t)
        s.flush()
        return t.id


def targets(w: Any, path: str) -> dict[str, str]:
    if "{ticket_id}" in path and path.startswith(f"{_P}/tickets"):
        return {"ticket_id": _ticket(w, path)}
    return {}
