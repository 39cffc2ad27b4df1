"""The lineage view's rows of the permission matrix (see tests/test_permission_matrix.py).

An entry's lineage graph and its OpenLineage export need ``quality.read`` or
``exchange.read`` over the entry's provider department: the operator, region operators in
their region, officers and department users of the department. The security administrator
and the auditor see no lineage.

The target is a published entry of the world's department (``xn_civil``) with a quality run
recorded on it, so the export has events of its own to make.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from govdata.catalog import actions as catalog_actions
from govdata.catalog.models import CatalogEntry
from govdata.catalog.schemas import EntryCreate, PublishRequest
from govdata.core.clock import now
from govdata.governance.quality_models import QualityRun
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM
from govdata.security.permissions import Role

OP, R, DO, DU = Role.OPERATOR, Role.REGION_OPERATOR, Role.DEPT_OFFICER, Role.DEPT_USER
READERS = frozenset({OP, R, DO, DU})  # quality.read or exchange.read
_L = "/api/v1/governance/lineage"

EXPECTED: dict[tuple[str, str], frozenset[Role] | str] = {
    ("GET", f"{_L}/{{entry}}"): READERS,
    ("GET", f"{_L}/{{entry}}/openlineage"): READERS,
}
QUERY: dict[tuple[str, str], str] = {}
UPLOADS: dict[tuple[str, str], tuple[dict[str, str], str]] = {}
BODIES: dict[tuple[str, str], Callable[[Any, int], Any]] = {}

_serial = itertools.count(1)


def _entry(w: Any) -> str:
    n = next(_serial)
    with Caller(w.db, w.settings, SYSTEM, "127.0.0.1").act() as ctx:
        entry = catalog_actions.create_entry(
            ctx,
            EntryCreate(
                classification_code="101001",
                provider_code="xn_civil",
                name=f"血缘矩阵目录{n}",
                summary="权限矩阵用的血缘目录。",
                format="database",
                share_type="unconditional",
                share_modes=["api"],
                open_type="closed",
                update_cycle="monthly",
                grade=2,
                contact_name="李明",
                contact_phone="0971-6100000",
                items=[{"name": "姓名", "name_en": "name", "data_type": "string", "grade": 2}],
            ),
        )
        catalog_actions.submit_entry(ctx, entry.id)
        catalog_actions.publish_entry(ctx, entry.id, PublishRequest())
        row = ctx.session.get(CatalogEntry, entry.id)
        assert row is not None
        ctx.session.add(
            QualityRun(
                entry_id=row.id,
                resource_code=row.resource_code,
                entry_name=row.name,
                department_id=row.provider_department_id,
                region_path=row.region_path,
                trigger="manual",
                status="succeeded",
                started_at=now(),
                finished_at=now(),
                rows_total=0,
                score=100.0,
                dimension_scores={},
            )
        )
    return row.id


def targets(w: Any, path: str) -> dict[str, str]:
    if not path.startswith(_L):
        return {}
    return {"entry": _entry(w)}
