"""The annual open list's and reuses' rows of the permission matrix (see
tests/test_permission_matrix.py).

The open list's workbench is for department officers (``opendata.publish``, their own
department's items) and the operator (``opendata.manage``: starting, reviewing,
approving). The approved list, the showcase and a published reuse are public. The reuse
queue, review, featuring and unpublishing are the operator's.

Targets: a draft list of a fresh year, a proposed item of the world's department
(``xn_civil``) on it, and a pending reuse — each fresh per call.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import select

from govdata.opendata.reuse_models import OpenList, OpenListItem, Reuse
from govdata.security.permissions import Role

OP, DO = Role.OPERATOR, Role.DEPT_OFFICER
PUBLIC = "public"
_L = "/api/v1/opendata/open-lists"
_I = "/api/v1/opendata/open-list-items/{item_id}"
_R = "/api/v1/opendata/reuses"

EXPECTED: dict[tuple[str, str], frozenset[Role] | str] = {
    ("GET", _L): frozenset({OP, DO}),
    ("POST", _L): frozenset({OP}),
    ("GET", f"{_L}/public"): PUBLIC,
    ("GET", f"{_L}/public/{{year}}"): PUBLIC,
    ("GET", f"{_L}/{{year}}"): frozenset({OP, DO}),
    ("POST", f"{_L}/{{year}}/items"): frozenset({OP, DO}),
    ("POST", f"{_L}/{{year}}/approve"): frozenset({OP}),
    ("POST", f"{_I}/review"): frozenset({OP}),
    ("POST", f"{_I}/link"): frozenset({OP, DO}),
    ("DELETE", _I): frozenset({OP, DO}),
    ("GET", _R): PUBLIC,
    ("GET", "/api/v1/opendata/reuse-queue"): frozenset({OP}),
    ("GET", f"{_R}/{{reuse_id}}"): PUBLIC,
    ("POST", f"{_R}/{{reuse_id}}/review"): frozenset({OP}),
    ("POST", f"{_R}/{{reuse_id}}/feature"): frozenset({OP}),
    ("POST", f"{_R}/{{reuse_id}}/unpublish"): frozenset({OP}),
}
QUERY: dict[tuple[str, str], str] = {}
UPLOADS: dict[tuple[str, str], tuple[dict[str, str], str]] = {}

_serial = itertools.count(1)
_years = itertools.count(2030)


def _year() -> int:
    # 2030–2099, then round again: a reused year only turns an allowed call into a 409.
    return 2030 + (next(_years) - 2030) % 70


BODIES: dict[tuple[str, str], Callable[[Any, int], Any]] = {
    ("POST", _L): lambda w, n: {"year": _year()},
    ("POST", f"{_L}/{{year}}/items"): lambda w, n: {
        "name": f"矩阵计划开放数据{n}",
        "planned_date": "2099-06-30",
        "department_id": w.dept_id,
    },
    ("POST", f"{_I}/review"): lambda w, n: {"accept": True},
    ("POST", f"{_I}/link"): lambda w, n: {"entry": "no-such-entry"},
    ("POST", f"{_R}/{{reuse_id}}/review"): lambda w, n: {"approve": True},
    ("POST", f"{_R}/{{reuse_id}}/feature"): lambda w, n: {"featured": False},
    ("POST", f"{_R}/{{reuse_id}}/unpublish"): lambda w, n: {"reason": "链接失效"},
}


def _draft(s: Any, year: int) -> OpenList:
    lst = s.scalars(select(OpenList).where(OpenList.year == year)).one_or_none()
    if lst is None:
        lst = OpenList(year=year, status="draft")
        s.add(lst)
        s.flush()
    return lst


def targets(w: Any, path: str) -> dict[str, str]:
    out: dict[str, str] = {}
    if "{year}" in path:
        # The items route plans for 2099: its list is that year's.
        year = 2099 if path.endswith("/items") else _year()
        with w.db.transaction(immediate=True) as s:
            _draft(s, year)
        out["year"] = str(year)
    if "{item_id}" in path:
        with w.db.transaction(immediate=True) as s:
            item = OpenListItem(
                list_id=_draft(s, 2098).id,
                department_id=w.dept_id,
                name=f"矩阵清单条目{next(_serial)}",
                planned_date=date(2098, 6, 30),
                open_type="open",
                status="proposed",
            )
            s.add(item)
            s.flush()
            out["item_id"] = item.id
    if "{reuse_id}" in path:
        with w.db.transaction(immediate=True) as s:
            reuse = Reuse(
                name=f"矩阵应用{next(_serial)}",
                description="权限矩阵用的应用。",
                url="https://example.org/app",
                submitter_id=str(uuid.uuid4()),
                submitter_name="矩阵用户",
                status="pending",
                featured=False,
                views=0,
            )
            s.add(reuse)
            s.flush()
            out["reuse_id"] = reuse.id
    return out
