"""Which columns of an entry's lake table are encrypted at rest: the sensitive items of an
entry whose grade's controls (the classification policy table) require it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog.models import CatalogEntry, EntryItem
from govdata.security.crypto.columns import DETERMINISTIC, RANDOM


def grade_encrypts(session: Session, grade: int) -> bool:
    """True when data of ``grade`` must be encrypted at rest (``encrypt_at_rest``)."""
    # Imported here: classification imports sharing, which imports the lake, which imports this.
    from govdata.security import classification

    return classification.controls_for(session, grade).encrypt_at_rest


def encryption_required(session: Session, entry: CatalogEntry) -> list[str]:
    """The entry's items that must be encrypted at rest: its sensitive items (``is_sensitive``
    in the published version) when its grade requires encryption; else none."""
    if entry.published_version_id is None or not grade_encrypts(session, entry.grade):
        return []
    return list(
        session.scalars(
            select(EntryItem.name)
            .where(
                EntryItem.version_id == entry.published_version_id,
                EntryItem.is_sensitive.is_(True),
            )
            .order_by(EntryItem.position)
        )
    )


def encrypted_fields(
    session: Session,
    entry_id: str,
    columns: Iterable[Mapping[str, Any]],
    key_fields: Iterable[str],
) -> dict[str, str]:
    """The lake fields of a mount (``columns``: ``{"item", "field"}``) to encrypt, with their
    mode: deterministic for merge-key fields (merges and lookups compare ciphertexts), random
    for the rest."""
    entry = session.get(CatalogEntry, entry_id)
    if entry is None:
        return {}
    items = set(encryption_required(session, entry))
    keys = set(key_fields)
    return {
        str(c["field"]): DETERMINISTIC if c["field"] in keys else RANDOM
        for c in columns
        if c.get("item") in items
    }
