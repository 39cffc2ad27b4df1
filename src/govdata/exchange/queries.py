"""Read-only questions other domains ask about collection, without reaching into its models."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.exchange.models import Mount


def lake_table_of(s: Session, entry_id: str) -> str | None:
    """The lake table an entry's physical mount collects into, if it has one."""
    return s.scalar(select(Mount.lake_table).where(Mount.entry_id == entry_id))


def lake_tables_of(s: Session, entry_ids: Iterable[str]) -> dict[str, str]:
    """``lake_table_of`` for many entries at once (entries without a lake table left out)."""
    ids = list(set(entry_ids))
    if not ids:
        return {}
    rows = s.execute(
        select(Mount.entry_id, Mount.lake_table).where(
            Mount.entry_id.in_(ids), Mount.lake_table.is_not(None)
        )
    ).all()
    return {entry_id: table for entry_id, table in rows if table}
