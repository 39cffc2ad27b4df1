"""The opening review's and the usage statistics' rows of the permission matrix (see
tests/test_permission_matrix.py).

Department officers (``opendata.publish`` over their department) propose and list their
department's datasets; the operator (``opendata.manage``) lists all, reviews and features;
withdrawing is the operator's or the provider officer's. The statistics are public.

Targets: a published, openly typed entry of the world's department (``xn_civil``) with an
open dataset row — proposed for the review route, open for the others — fresh per call.
No lake data is needed: the permission check comes before every check of the data (an
approval of such a dataset would answer 422, a rejection is used instead).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from govdata.catalog import actions as catalog_actions
from govdata.catalog.schemas import EntryCreate, PublishRequest
from govdata.core.clock import now
from govdata.opendata.datasets import dataset_name
from govdata.opendata.models import OpenDataset
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM
from govdata.security.permissions import Role

OP, DO = Role.OPERATOR, Role.DEPT_OFFICER
PUBLIC = "public"
_D = "/api/v1/opendata/datasets"

EXPECTED: dict[tuple[str, str], frozenset[Role] | str] = {
    ("GET", _D): frozenset({OP, DO}),
    ("POST", _D): frozenset({DO}),
    ("GET", f"{_D}/{{dataset_id}}"): frozenset({OP, DO}),
    ("POST", f"{_D}/{{dataset_id}}/review"): frozenset({OP}),
    ("POST", f"{_D}/{{dataset_id}}/withdraw"): frozenset({OP, DO}),
    ("POST", f"{_D}/{{dataset_id}}/feature"): frozenset({OP}),
    ("GET", "/api/v1/opendata/stats"): PUBLIC,
}
QUERY: dict[tuple[str, str], str] = {}
UPLOADS: dict[tuple[str, str], tuple[dict[str, str], str]] = {}

_serial = itertools.count(1)


def _entry(w: Any) -> tuple[str, str]:
    """(entry id, resource code) of a fresh published entry of ``xn_civil`` that may open."""
    n = next(_serial)
    with Caller(w.db, w.settings, SYSTEM, "127.0.0.1").act() as ctx:
        entry = catalog_actions.create_entry(
            ctx,
            EntryCreate(
                classification_code="101001",
                provider_code="xn_civil",
                name=f"开放审核矩阵目录{n}",
                summary="权限矩阵用的开放目录。",
                format="database",
                share_type="unconditional",
                share_modes=["api"],
                open_type="open",
                update_cycle="monthly",
                grade=1,
                contact_name="李明",
                contact_phone="0971-6100000",
                items=[{"name": "名称", "name_en": "name", "data_type": "string", "grade": 1}],
            ),
        )
        catalog_actions.submit_entry(ctx, entry.id)
        catalog_actions.publish_entry(ctx, entry.id, PublishRequest())
    return entry.id, entry.resource_code


def _dataset(w: Any, status: str) -> str:
    entry_id, code = _entry(w)
    with w.db.transaction(immediate=True) as s:
        row = OpenDataset(
            entry_id=entry_id,
            name=dataset_name(code),
            status=status,
            fields=["name"],
            license_id="cc-by-4.0",
            featured=False,
            proposed_at=now(),
            opened_at=now() if status == "open" else None,
            views=0,
            downloads=0,
            calls=0,
        )
        s.add(row)
        s.flush()
        return row.id


BODIES: dict[tuple[str, str], Callable[[Any, int], Any]] = {
    ("POST", _D): lambda w, n: {"entry": _entry(w)[1], "note": "矩阵"},
    ("POST", f"{_D}/{{dataset_id}}/review"): lambda w, n: {"approve": False, "comment": "不符合"},
    ("POST", f"{_D}/{{dataset_id}}/withdraw"): lambda w, n: {"reason": "停止开放"},
    ("POST", f"{_D}/{{dataset_id}}/feature"): lambda w, n: {"featured": True},
}


def targets(w: Any, path: str) -> dict[str, str]:
    if not path.startswith(_D) or "{dataset_id}" not in path:
        return {}
    return {"dataset_id": _dataset(w, "proposed" if path.endswith("/review") else "open")}
