"""The source systems' rows of the permission matrix (see tests/test_permission_matrix.py).

Officers manage their department's sources and are the only ones who see rows (preview,
proposals that sample values); region operators read their region's; the operator reads
and manages all, but sees no rows.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM
from govdata.security.permissions import Role
from govdata.sources import actions
from govdata.sources.schemas import SourceCreate, SourceKind

OP, R, DO, DU, S, A = (
    Role.OPERATOR,
    Role.REGION_OPERATOR,
    Role.DEPT_OFFICER,
    Role.DEPT_USER,
    Role.SECADMIN,
    Role.AUDITOR,
)

_S = "/api/v1/sources/{source_id}"
EXPECTED: dict[tuple[str, str], frozenset[Role] | str] = {
    ("GET", "/api/v1/sources"): frozenset({OP, R, DO}),
    ("POST", "/api/v1/sources"): frozenset({OP, DO}),
    ("GET", _S): frozenset({OP, R, DO}),
    ("PATCH", _S): frozenset({OP, DO}),
    ("DELETE", _S): frozenset({OP, DO}),
    ("POST", f"{_S}/test"): frozenset({OP, DO}),
    ("GET", f"{_S}/tables"): frozenset({OP, DO}),
    # Rows: data.preview, the department's officers only.
    ("GET", f"{_S}/preview"): frozenset({DO}),
    ("GET", f"{_S}/proposals"): frozenset({DO}),
    ("POST", f"{_S}/files"): frozenset({OP, DO}),
}
QUERY: dict[tuple[str, str], str] = {
    ("GET", f"{_S}/preview"): "?table=people",
    ("GET", f"{_S}/proposals"): "?table=people",
}
UPLOADS: dict[tuple[str, str], tuple[dict[str, str], str]] = {
    ("POST", f"{_S}/files"): ({}, "file"),
}

_serial = itertools.count(1)


def _sqlite_file(w: Any) -> str:
    """A small SQLite database next to (never inside) the world's data directory."""
    path: Path = w.settings.data_dir.parent / "matrix_source.db"
    if not path.exists():
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT)")
            conn.execute("INSERT INTO people VALUES (1, '张三'), (2, '李四')")
        conn.close()
    return str(path)


BODIES: dict[tuple[str, str], Callable[[Any, int], Any]] = {
    ("POST", "/api/v1/sources"): lambda w, n: {
        "kind": "sqlite",
        "name": f"矩阵数据源{n}",
        "department_id": w.dept_id,
        "config": {"path": _sqlite_file(w)},
    },
    ("PATCH", _S): lambda w, n: {"description": f"说明{n}"},
}


def targets(w: Any, path: str) -> dict[str, str]:
    """Fresh objects for the path's parameters, inside the world's department ``w.dept_id``."""
    if "{source_id}" not in path:
        return {}
    n = next(_serial)
    if path.endswith("/files"):
        data = SourceCreate(kind=SourceKind.FILE, name=f"矩阵文件{n}", department_id=w.dept_id)
    else:
        data = SourceCreate(
            kind=SourceKind.SQLITE,
            name=f"矩阵库{n}",
            department_id=w.dept_id,
            config={"path": _sqlite_file(w)},
        )
    with Caller(w.db, w.settings, SYSTEM, "127.0.0.1").act() as ctx:
        return {"source_id": actions.create_source(ctx, data).id}
