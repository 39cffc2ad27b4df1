"""Counting what the public does with open data: views, downloads and API calls.

One row per dataset and month (Asia/Shanghai), added to with an upsert in the caller's
transaction, so a count and the audit record of the same read commit together. The
dataset's running totals move in the same statement batch for "most used" ordering.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from govdata.core.clock import DISPLAY_TZ, now
from govdata.opendata.models import OpenDataset, OpenUsage
from govdata.opendata.vocab import UsageKind

_COLUMN = {UsageKind.VIEW: "views", UsageKind.DOWNLOAD: "downloads", UsageKind.CALL: "calls"}


def month_now() -> str:
    return now().astimezone(DISPLAY_TZ).strftime("%Y-%m")


def record_usage(
    s: Session,
    dataset_id: str,
    department_id: str,
    kind: UsageKind,
    n: int = 1,
    *,
    month: str | None = None,
) -> None:
    """Add ``n`` to this month's ``kind`` count of the dataset (and to its running total)."""
    column = _COLUMN[kind]
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(OpenUsage).values(
        dataset_id=dataset_id,
        month=month or month_now(),
        department_id=department_id,
        **{"views": 0, "downloads": 0, "calls": 0, column: n},
    )
    s.execute(
        stmt.on_conflict_do_update(
            index_elements=[OpenUsage.dataset_id, OpenUsage.month],
            set_={column: getattr(OpenUsage, column) + n},
        )
    )
    # Counting is not a change of the dataset: keep ``updated_at`` (its onupdate would fire)
    # so metadata_modified, DCAT's modified and harvesters' ranges move only on real edits.
    s.execute(
        update(OpenDataset)
        .where(OpenDataset.id == dataset_id)
        .values({column: getattr(OpenDataset, column) + n, "updated_at": OpenDataset.updated_at})
    )
