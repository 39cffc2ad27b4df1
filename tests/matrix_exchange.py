"""Permission-matrix rows for mounts, pipelines and the lake (see test_permission_matrix.py).

Officers manage their department's mounts and pipelines and are the only ones who see rows
(mount reads, lake table rows: ``data.preview``); region operators read their region's
metadata; the operator reads and manages all, but sees no rows.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from govdata.catalog import actions as catalog_actions
from govdata.catalog.schemas import EntryCreate, PublishRequest
from govdata.exchange import mounts, pipelines
from govdata.exchange.models import PipelineRun
from govdata.exchange.schemas import MountCreate, PipelineCreate
from govdata.lake.tables import Lake
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM
from govdata.security.permissions import Role
from govdata.sources import actions as source_actions
from govdata.sources.schemas import SourceCreate, SourceKind
from tests.matrix_sources import _sqlite_file

OP, R, DO, DU, S, A = (
    Role.OPERATOR,
    Role.REGION_OPERATOR,
    Role.DEPT_OFFICER,
    Role.DEPT_USER,
    Role.SECADMIN,
    Role.AUDITOR,
)
READERS = frozenset({OP, R, DO})
MANAGERS = frozenset({OP, DO})
_M = "/api/v1/mounts/{mount_id}"
_P = "/api/v1/pipelines/{pipeline_id}"
_L = "/api/v1/lake/tables/{name}"

EXPECTED: dict[tuple[str, str], frozenset[Role] | str] = {
    ("GET", "/api/v1/mounts"): READERS,
    ("POST", "/api/v1/mounts"): MANAGERS,
    ("POST", "/api/v1/mounts/propose"): MANAGERS,
    ("GET", _M): READERS,
    ("PATCH", _M): MANAGERS,
    ("DELETE", _M): MANAGERS,
    # Rows: data.preview, the department's officers only.
    ("GET", f"{_M}/rows"): frozenset({DO}),
    ("GET", "/api/v1/pipelines"): READERS,
    ("POST", "/api/v1/pipelines"): MANAGERS,
    ("GET", _P): READERS,
    ("PATCH", _P): MANAGERS,
    ("DELETE", _P): MANAGERS,
    ("POST", f"{_P}/run"): MANAGERS,
    ("POST", f"{_P}/pause"): MANAGERS,
    ("POST", f"{_P}/resume"): MANAGERS,
    ("GET", f"{_P}/runs"): READERS,
    ("GET", "/api/v1/runs/{run_id}"): READERS,
    ("GET", "/api/v1/lake/tables"): READERS,
    ("GET", "/api/v1/exchange/report"): READERS,
    ("GET", "/api/v1/exchange/report.xlsx"): READERS,
    ("GET", f"{_L}/versions"): READERS,
    ("GET", f"{_L}/rows"): frozenset({DO}),
}
QUERY: dict[tuple[str, str], str] = {
    ("GET", f"{_M}/rows"): "?limit=5",
}
UPLOADS: dict[tuple[str, str], tuple[dict[str, str], str]] = {}

_serial = itertools.count(1)
_ITEMS = [
    {"name": "编号", "name_en": "id", "data_type": "integer", "is_key": True, "grade": 1},
    {"name": "姓名", "name_en": "name", "data_type": "string", "length": 50, "grade": 2},
]


def _system(w: Any) -> Caller:
    return Caller(w.db, w.settings, SYSTEM, "127.0.0.1")


def _entry(w: Any) -> str:
    n = next(_serial)
    data = EntryCreate(
        classification_code="101001",
        provider_code="xn_civil",
        name=f"矩阵挂载目录{n}",
        summary="权限矩阵用的挂载目录。",
        format="database",
        share_type="unconditional",
        share_modes=["api"],
        open_type="closed",
        update_cycle="monthly",
        grade=2,
        contact_name="李明",
        contact_phone="0971-6100000",
        items=_ITEMS,
    )
    with _system(w).act() as ctx:
        entry = catalog_actions.create_entry(ctx, data)
        catalog_actions.submit_entry(ctx, entry.id)
        catalog_actions.publish_entry(ctx, entry.id, PublishRequest())
    return entry.id


def _source(w: Any) -> str:
    data = SourceCreate(
        kind=SourceKind.SQLITE,
        name=f"矩阵挂载库{next(_serial)}",
        department_id=w.dept_id,
        config={"path": _sqlite_file(w)},
    )
    with _system(w).act() as ctx:
        return source_actions.create_source(ctx, data).id


def _mount(w: Any, mode: str = "logical") -> tuple[str, str]:
    entry_id = _entry(w)
    data = MountCreate(
        entry_id=entry_id, source_id=_source(w), target="people", mode=mode, row_cap=100
    )
    with _system(w).act() as ctx:
        return mounts.create_mount(ctx, data).id, entry_id


def _pipeline(w: Any) -> str:
    mount_id, _entry_id = _mount(w, "physical")
    with _system(w).act() as ctx:
        data = PipelineCreate(mount_id=mount_id, name="全量", kind="full")
        return pipelines.create_pipeline(ctx, data).id


def _run(w: Any) -> str:
    pipeline_id = _pipeline(w)
    with w.db.transaction(immediate=True) as s:
        run = PipelineRun(pipeline_id=pipeline_id, kind="full", trigger="manual", status="failed")
        s.add(run)
        s.flush()
        return run.id


def _lake_table(w: Any) -> str:
    name = f"xn_civil.entry_matrix_{next(_serial)}"
    lake = Lake.from_settings(w.settings)
    schema = pa.schema([("id", pa.int64()), ("name", pa.string())])
    lake.create(name, schema, entry_id=_entry(w))
    lake.append(name, pa.table({"id": [1, 2], "name": ["张三", "李四"]}, schema=schema))
    return name


BODIES: dict[tuple[str, str], Callable[[Any, int], Any]] = {
    ("POST", "/api/v1/mounts"): lambda w, n: {
        "entry_id": _entry(w),
        "source_id": _source(w),
        "target": "people",
        "mode": "logical",
    },
    ("POST", "/api/v1/mounts/propose"): lambda w, n: {
        "entry_id": _entry(w),
        "source_id": _source(w),
        "target": "people",
    },
    ("PATCH", _M): lambda w, n: {"row_cap": 50},
    ("POST", "/api/v1/pipelines"): lambda w, n: {
        "mount_id": _mount(w, "physical")[0],
        "name": f"管道{n}",
        "kind": "full",
    },
    ("PATCH", _P): lambda w, n: {"name": f"改名{n}", "schedule": "0 3 * * *"},
}


def targets(w: Any, path: str) -> dict[str, str]:
    """Fresh objects for the path's parameters, inside the world's department ``w.dept_id``."""
    if "{mount_id}" in path:
        return {"mount_id": _mount(w)[0]}
    if "{pipeline_id}" in path:
        return {"pipeline_id": _pipeline(w)}
    if "{run_id}" in path:
        return {"run_id": _run(w)}
    if "{name}" in path and path.startswith("/api/v1/lake/"):
        return {"name": _lake_table(w)}
    return {}
