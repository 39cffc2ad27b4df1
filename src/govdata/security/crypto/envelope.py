"""Data keys in the store: created, loaded (unwrapped), rotated, rewrapped and destroyed.

Envelope encryption: data is encrypted with a random 128-bit SM4 data key per owner (a lake
table); the store keeps the data key only sealed under a master key (``keyring``). Rotating
the master key therefore rewraps a few dozen bytes per owner, never the data.

Every function here works inside the caller's transaction; auditing is the caller's.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.core.clock import now
from govdata.core.ids import new_id
from govdata.security.crypto import sm4
from govdata.security.crypto.errors import data_key_destroyed
from govdata.security.crypto.keyring import Keyring
from govdata.security.crypto.models import DataKey
from govdata.security.crypto.sm3 import key_id as key_id_of

LAKE_OWNER = "lake:"


class KeyState(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"
    DESTROYED = "destroyed"


LIVE = (KeyState.ACTIVE.value, KeyState.RETIRED.value)


def lake_owner(table: str) -> str:
    return f"{LAKE_OWNER}{table}"


def _context(row: DataKey) -> str:
    # The wrap is bound to its row: a wrapped key copied onto another owner does not open.
    return f"{row.owner}#{row.id}"


@dataclass(frozen=True)
class OwnerKeys:
    """An owner's live data keys, unwrapped, for one read or write."""

    owner: str
    keys: dict[str, bytes] = field(default_factory=dict, repr=False)  # key id -> key
    # The newest live key: what new data is encrypted with.
    current: str | None = None
    # The oldest live key: what deterministic (looked-up, merged-by) columns use, so a
    # rotation never splits equal values across two ciphertexts.
    index: str | None = None
    destroyed: frozenset[str] = frozenset()

    def key(self, kid: str) -> bytes:
        found = self.keys.get(kid)
        if found is None:
            raise data_key_destroyed(self.owner, kid)
        return found


def _rows(s: Session, owner: str) -> list[DataKey]:
    return list(
        s.scalars(select(DataKey).where(DataKey.owner == owner).order_by(DataKey.generation))
    )


def load(s: Session, keyring: Keyring, owner: str) -> OwnerKeys:
    """Unwrap the owner's live keys (none: an owner with no key yet, or shredded)."""
    keys: dict[str, bytes] = {}
    destroyed: set[str] = set()
    live: list[DataKey] = []
    for row in _rows(s, owner):
        if row.state == KeyState.DESTROYED or row.wrapped is None or row.master_key_id is None:
            destroyed.add(row.key_id)
            continue
        keys[row.key_id] = keyring.unwrap(
            row.master_key_id, base64.b64decode(row.wrapped), _context(row)
        )
        live.append(row)
    return OwnerKeys(
        owner=owner,
        keys=keys,
        current=live[-1].key_id if live else None,
        index=live[0].key_id if live else None,
        destroyed=frozenset(destroyed),
    )


def _new_row(s: Session, keyring: Keyring, owner: str, entry_id: str | None) -> DataKey:
    generation = (
        s.scalar(select(func.max(DataKey.generation)).where(DataKey.owner == owner)) or 0
    ) + 1
    taken = set(s.scalars(select(DataKey.key_id).where(DataKey.owner == owner)))
    material = sm4.new_key()
    while key_id_of(material) in taken:  # a 32-bit id: astronomically rare, but cheap to rule out
        material = sm4.new_key()
    row = DataKey(
        id=new_id(),
        owner=owner,
        entry_id=entry_id,
        generation=generation,
        key_id=key_id_of(material),
        state=KeyState.ACTIVE.value,
    )
    master_id, wrapped = keyring.wrap(material, _context(row))
    row.master_key_id = master_id
    row.wrapped = base64.b64encode(wrapped).decode("ascii")
    s.add(row)
    s.flush()
    return row


def ensure(s: Session, keyring: Keyring, owner: str, entry_id: str | None) -> DataKey | None:
    """The owner's active key, created when it has none; None when it already had one."""
    current = s.scalar(
        select(DataKey).where(DataKey.owner == owner, DataKey.state == KeyState.ACTIVE)
    )
    if current is not None:
        return None
    return _new_row(s, keyring, owner, entry_id)


def rotate(s: Session, keyring: Keyring, owner: str) -> tuple[DataKey | None, DataKey]:
    """A new active key for ``owner``; the previous one is retired (it still decrypts)."""
    old = s.scalar(select(DataKey).where(DataKey.owner == owner, DataKey.state == KeyState.ACTIVE))
    entry_id = old.entry_id if old is not None else None
    if old is not None:
        old.state = KeyState.RETIRED.value
        old.retired_at = now()
        s.flush()
    return old, _new_row(s, keyring, owner, entry_id)


def destroy(s: Session, owner: str, destruction_id: str | None) -> list[str]:
    """Shred every key of ``owner``: the wrap is wiped, so nothing it encrypted opens again
    (copies of the data included). Returns the ids of the keys destroyed now."""
    shredded = []
    at = now()
    for row in _rows(s, owner):
        if row.state == KeyState.DESTROYED:
            continue
        row.state = KeyState.DESTROYED.value
        row.wrapped = None
        row.master_key_id = None
        row.destroyed_at = at
        row.destruction_id = destruction_id
        shredded.append(row.key_id)
    s.flush()
    return shredded


def pending_rewrap(s: Session, active_master: str) -> int:
    return int(
        s.scalar(
            select(func.count())
            .select_from(DataKey)
            .where(DataKey.state.in_(LIVE), DataKey.master_key_id != active_master)
        )
        or 0
    )


def rewrap_batch(s: Session, keyring: Keyring, limit: int) -> list[str]:
    """Rewrap up to ``limit`` live keys still wrapped under an older master key; returns the
    ids of the rows rewrapped. Idempotent: a batch interrupted before its commit is redone."""
    active = keyring.active()
    rows = s.scalars(
        select(DataKey)
        .where(DataKey.state.in_(LIVE), DataKey.master_key_id != active.id)
        .order_by(DataKey.id)
        .limit(limit)
    ).all()
    at = now()
    for row in rows:
        assert row.master_key_id is not None and row.wrapped is not None
        material = keyring.unwrap(row.master_key_id, base64.b64decode(row.wrapped), _context(row))
        master_id, wrapped = keyring.wrap(material, _context(row))
        row.master_key_id = master_id
        row.wrapped = base64.b64encode(wrapped).decode("ascii")
        row.rewrapped_at = at
    s.flush()
    return [r.id for r in rows]


def by_master(s: Session) -> dict[str, int]:
    """How many live data keys each master key wraps."""
    rows = s.execute(
        select(DataKey.master_key_id, func.count())
        .where(DataKey.state.in_(LIVE))
        .group_by(DataKey.master_key_id)
    ).all()
    return {str(m): int(n) for m, n in rows if m is not None}
