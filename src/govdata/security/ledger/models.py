"""Tables of the audit ledger.

``ledger_leaves``, ``ledger_nodes`` and ``ledger_heads`` are append-only (database
triggers refuse UPDATE and DELETE, as on ``audit_records``); the queue and the
state row are the only ledger tables that change in place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from govdata.core.clock import now
from govdata.core.db import Base, IdMixin


class LedgerPending(Base):
    """An audit record written but not yet a leaf; the sealer takes them in ``n`` order."""

    __tablename__ = "ledger_pending"

    n: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    record_id: Mapped[str] = mapped_column(String(36), unique=True)


class LedgerLeaf(Base):
    """Leaf ``seq`` of the tree: which audit record, and the hash it had when sealed."""

    __tablename__ = "ledger_leaves"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    record_id: Mapped[str] = mapped_column(String(36), unique=True)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerNode(Base):
    """A perfect subtree's hash: the 2**level leaves from index·2**level (level ≥ 1)."""

    __tablename__ = "ledger_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerHead(IdMixin, Base):
    """A signed tree head: this node vouches that its ledger had ``tree_size`` leaves and
    that root at ``issued_at``."""

    __tablename__ = "ledger_heads"
    __table_args__ = (Index("ix_ledger_heads_tree_size", "tree_size"),)

    node_id: Mapped[str] = mapped_column(String(64))
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    issued_at: Mapped[datetime] = mapped_column(default=now)
    algorithm: Mapped[str] = mapped_column(String(16))
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[bytes] = mapped_column(LargeBinary(128))


class LedgerState(Base):
    """The one row saying how far the tree is sealed and how the last verification went."""

    __tablename__ = "ledger_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tree_size: Mapped[int] = mapped_column(BigInteger, default=0)
    sealed_at: Mapped[datetime | None] = mapped_column()
    verified_at: Mapped[datetime | None] = mapped_column()
    verified_ok: Mapped[bool | None] = mapped_column(Boolean)
    verified_size: Mapped[int | None] = mapped_column(BigInteger)
    verified_problem: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class LedgerPeer(Base):
    """A lower-level node whose tree heads this node countersigns (its trust anchor)."""

    __tablename__ = "ledger_peers"

    node_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    algorithm: Mapped[str] = mapped_column(String(16))
    public_key: Mapped[str] = mapped_column(Text)
    registered_at: Mapped[datetime] = mapped_column(default=now)


class LedgerPeerHead(IdMixin, Base):
    """A peer's signed tree head as received, with this node's countersignature."""

    __tablename__ = "ledger_peer_heads"
    __table_args__ = (Index("ix_ledger_peer_heads_node_size", "node_id", "tree_size"),)

    node_id: Mapped[str] = mapped_column(String(64))
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    issued_at: Mapped[datetime] = mapped_column()
    algorithm: Mapped[str] = mapped_column(String(16))
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[bytes] = mapped_column(LargeBinary(128))
    countersigned_at: Mapped[datetime] = mapped_column(default=now)
    countersigner: Mapped[str] = mapped_column(String(64))
    countersign_algorithm: Mapped[str] = mapped_column(String(16))
    countersign_key_id: Mapped[str] = mapped_column(String(16))
    countersignature: Mapped[bytes] = mapped_column(LargeBinary(128))
