"""The preview of an open dataset: its first rows of open fields, for the dataset page.

Same gate as the downloads (public dataset, open fields only, conditional data only for
approved readers) and audited as a data read; not counted as a view (the page counts that).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.errors import PermissionDenied
from govdata.lake.tables import Lake
from govdata.opendata import grants
from govdata.opendata.access import public_dataset
from govdata.opendata.downloads import AUDIT_TARGET, Source, audit_denied, resolve
from govdata.security.context import Caller

PREVIEW_ROWS = 20


@dataclass(frozen=True)
class Column:
    name: str  # the column name in files and the API
    title: str  # the catalog item's name


@dataclass(frozen=True)
class Preview:
    name: str
    title: str
    allowed: bool  # False: conditional data the caller may not read (no rows)
    columns: list[Column] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    version: int | None = None
    apply_url: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "lake_version": self.version,
            "fields": [{"name": c.name, "title": c.title} for c in self.columns],
            "records": [
                {c.name: _json_cell(v) for c, v in zip(self.columns, row, strict=True)}
                for row in self.rows
            ],
        }


def _json_cell(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _head(settings: Settings, src: Source, limit: int) -> list[list[Any]]:
    reader = Lake.from_settings(settings).scan(
        src.table, columns=src.columns, version=src.version, batch_size=limit
    )
    rows: list[list[Any]] = []
    for batch in reader:
        take = batch.slice(0, limit - len(rows))
        rows.extend(list(r.values()) for r in take.to_pylist())
        if len(rows) >= limit:
            break
    return rows


def preview(
    db: Database,
    settings: Settings,
    who: grants.PublicIdentity,
    ref: str,
    *,
    limit: int = PREVIEW_ROWS,
    client_addr: str | None = None,
    strict: bool = False,
) -> Preview:
    """The first ``limit`` rows of the dataset's open fields (current lake version).

    A conditional dataset the caller may not read gives a preview without rows (``allowed``
    False) — or ``opendata_access_required`` when ``strict`` (the JSON form).
    """
    limit = max(1, min(limit, 100))
    with db.sessions() as s:
        try:
            src = resolve(s, settings, who, ref)
        except PermissionDenied:
            audit_denied(db, who, ref, "opendata.data.preview", client_addr)
            if strict:
                raise
            ds, entry = public_dataset(s, ref)
            return Preview(
                ds.name, entry.name, allowed=False, apply_url=f"/open/datasets/{ds.name}/apply"
            )
    rows = _head(settings, src, limit)
    with Caller(db, settings, who.actor, client_addr).act() as ctx:
        grants.consume(ctx.session, settings, who, client_addr)
        ctx.audit(
            "opendata.data.preview",
            target_type=AUDIT_TARGET,
            target_id=src.dataset.id,
            fields=src.columns,
            row_count=len(rows),
            details={"lake_table": src.table, "lake_version": src.version, "key_id": who.key_id},
        )
    return Preview(
        name=src.dataset.name,
        title=src.entry.name,
        allowed=True,
        columns=[Column(f.field, f.item) for f in src.fields],
        rows=rows,
        version=src.version,
    )
