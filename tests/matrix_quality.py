"""Data quality's rows of the permission matrix (see tests/test_permission_matrix.py).

Who does what, by the actions (``govdata.governance.quality_rules``, ``quality_runs``):

- ``quality.read`` (operator everywhere, region operators in their region, officers and
  department users in their department) lists rules, suggestions, runs, one run, scores
  and trends.
- ``quality.manage`` (operator everywhere, officers for their own department's entries)
  adds, changes and deletes rules, applies suggestions and starts runs.
- The security administrator and the auditor take no part in data quality.

Targets are a published entry of the world's department (``xn_civil``, where the scoped
roles sit) with one rule attached, a fresh rule for each change, and a run recorded on it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from govdata.catalog import actions as catalog_actions
from govdata.catalog.models import CatalogEntry
from govdata.catalog.schemas import EntryCreate, PublishRequest
from govdata.core.clock import now
from govdata.governance import quality_rules
from govdata.governance.quality_models import QualityRun
from govdata.governance.quality_schemas import RuleIn
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM
from govdata.security.permissions import Role

OP, R, DO, DU = Role.OPERATOR, Role.REGION_OPERATOR, Role.DEPT_OFFICER, Role.DEPT_USER
READERS = frozenset({OP, R, DO, DU})  # quality.read
MANAGERS = frozenset({OP, DO})  # quality.manage
_Q = "/api/v1/governance/quality"
_E = f"{_Q}/entries/{{entry}}"

EXPECTED: dict[tuple[str, str], frozenset[Role] | str] = {
    ("GET", f"{_E}/rules"): READERS,
    ("POST", f"{_E}/rules"): MANAGERS,
    ("GET", f"{_E}/suggestions"): READERS,
    ("POST", f"{_E}/suggestions/apply"): MANAGERS,
    ("POST", f"{_E}/runs"): MANAGERS,
    ("GET", f"{_E}/trend"): READERS,
    ("PUT", f"{_Q}/rules/{{rule_id}}"): MANAGERS,
    ("DELETE", f"{_Q}/rules/{{rule_id}}"): MANAGERS,
    ("GET", f"{_Q}/runs"): READERS,
    ("GET", f"{_Q}/runs/{{run_id}}"): READERS,
    ("GET", f"{_Q}/scores"): READERS,
}
QUERY: dict[tuple[str, str], str] = {}
UPLOADS: dict[tuple[str, str], tuple[dict[str, str], str]] = {}

_serial = itertools.count(1)

BODIES: dict[tuple[str, str], Callable[[Any, int], Any]] = {
    ("POST", f"{_E}/rules"): lambda w, n: {"kind": "not_null", "item": "姓名", "severity": 3},
    ("PUT", f"{_Q}/rules/{{rule_id}}"): lambda w, n: {"severity": n % 5 + 1},
}

_ENTRY: dict[str, Any] = {
    "summary": "城乡最低生活保障对象信息。",
    "format": "database",
    "share_type": "unconditional",
    "share_modes": ["api"],
    "open_type": "closed",
    "update_cycle": "monthly",
    "grade": 2,
    "contact_name": "李明",
    "contact_phone": "0971-6100000",
    "items": [
        {
            "name": "姓名",
            "name_en": "name",
            "data_type": "string",
            "length": 50,
            "grade": 2,
            "data_element": "DE00002",
        },
    ],
}


def _system(w: Any) -> Caller:
    return Caller(w.db, w.settings, SYSTEM, "127.0.0.1")


def _entry(w: Any) -> str:
    """A published entry of the world's department with one rule, so a run can start."""
    n = next(_serial)
    with _system(w).act() as ctx:
        entry = catalog_actions.create_entry(
            ctx,
            EntryCreate(
                classification_code="101001",
                provider_code="xn_civil",
                name=f"质量矩阵目录{n}",
                **_ENTRY,
            ),
        )
        catalog_actions.submit_entry(ctx, entry.id)
        catalog_actions.publish_entry(ctx, entry.id, PublishRequest())
        quality_rules.create_rule(ctx, entry.id, RuleIn(kind="not_null", item="姓名"))
    return entry.id


def _rule(w: Any) -> str:
    entry_id = _entry(w)
    with _system(w).act() as ctx:
        return quality_rules.create_rule(ctx, entry_id, RuleIn(kind="unique", item="姓名")).id


def _run(w: Any) -> str:
    """A finished run of a fresh entry (recorded directly: runs have their own tests)."""
    entry_id = _entry(w)
    with w.db.transaction(immediate=True) as s:
        entry = s.get(CatalogEntry, entry_id)
        assert entry is not None
        run = QualityRun(
            entry_id=entry_id,
            resource_code=entry.resource_code,
            entry_name=entry.name,
            department_id=entry.provider_department_id,
            region_path=entry.region_path,
            trigger="manual",
            status="succeeded",
            started_at=now(),
            finished_at=now(),
            rows_total=10,
            score=90.0,
            dimension_scores={"completeness": 90.0},
        )
        s.add(run)
        s.flush()
        return run.id


def targets(w: Any, path: str) -> dict[str, str]:
    if not path.startswith(_Q):
        return {}
    found: dict[str, str] = {}
    if "{entry}" in path:
        found["entry"] = _entry(w)
    if "{rule_id}" in path:
        found["rule_id"] = _rule(w)
    if "{run_id}" in path:
        found["run_id"] = _run(w)
    return found
