"""The tree in the store: sealing queued audit records into leaves, and reading nodes back.

Audit records are written by every action in its own transaction and only queued
there (``ledger_pending``), so writers never wait on each other for a leaf number.
Sealing takes the queue in batches under the ledger's one lock (the state row), numbers
the records, hashes them and stores the perfect subtrees they complete; each perfect
subtree is stored once, so any proof is a handful of lookups at any tree size.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable

from sqlalchemy import Select, and_, bindparam, delete, func, insert, or_, select
from sqlalchemy.orm import Session

from govdata.core.clock import now
from govdata.security.ledger import merkle
from govdata.security.ledger.leaves import COLUMNS, leaf_bytes
from govdata.security.ledger.models import LedgerLeaf, LedgerNode, LedgerPending, LedgerState
from govdata.security.models import AuditRecord

log = logging.getLogger(__name__)

H = merkle.sm3
SEAL_BATCH = 5000
_FETCH_CHUNK = 500


def state(session: Session, *, lock: bool = False) -> LedgerState:
    stmt = select(LedgerState).where(LedgerState.id == 1)
    if lock:
        stmt = stmt.with_for_update()
    found = session.scalar(stmt)
    if found is None:  # a store migrated before the row existed cannot happen; be explicit
        raise RuntimeError("ledger_state row missing: run the migrations")
    return found


@functools.cache
def _leaves_stmt() -> Select[int, bytes]:
    return select(LedgerLeaf.seq, LedgerLeaf.leaf_hash).where(
        LedgerLeaf.seq.in_(bindparam("seqs", expanding=True))
    )


@functools.lru_cache(maxsize=256)
def _nodes_stmt(levels: tuple[int, ...]) -> Select[int, int, bytes]:
    # One statement per set of levels, built once: constructing the expression costs far
    # more than SQLite takes to answer it, and a proof asks for the same shapes again.
    return select(LedgerNode.level, LedgerNode.idx, LedgerNode.hash).where(
        or_(
            *(
                and_(
                    LedgerNode.level == lv, LedgerNode.idx.in_(bindparam(f"i{lv}", expanding=True))
                )
                for lv in levels
            )
        )
    )


def fetch_nodes(session: Session, wanted: Iterable[merkle.Node]) -> dict[merkle.Node, bytes]:
    """The hashes of the given perfect subtrees (level 0 = leaves): one query for the leaves
    and one for the inner nodes (a proof needs a few dozen, at any tree size)."""
    wanted = set(wanted)
    leaves = sorted(idx for level, idx in wanted if level == 0)
    inner: dict[int, list[int]] = {}
    for level, idx in sorted(wanted):
        if level:
            inner.setdefault(level, []).append(idx)
    found: dict[merkle.Node, bytes] = {}
    conn = session.connection()
    for i in range(0, len(leaves), _FETCH_CHUNK):
        rows = conn.execute(_leaves_stmt(), {"seqs": leaves[i : i + _FETCH_CHUNK]})
        found.update({(0, seq): bytes(h) for seq, h in rows})
    while inner:  # exports ask for thousands: at most _FETCH_CHUNK per level per statement
        part = {lv: ix[:_FETCH_CHUNK] for lv, ix in inner.items()}
        inner = {lv: ix[_FETCH_CHUNK:] for lv, ix in inner.items() if len(ix) > _FETCH_CHUNK}
        params = {f"i{lv}": ix for lv, ix in part.items()}
        node_rows = conn.execute(_nodes_stmt(tuple(sorted(part))), params)
        found.update({(level, idx): bytes(h) for level, idx, h in node_rows})
    missing = wanted - found.keys()
    if missing:
        raise LookupError(f"ledger nodes missing from the store: {sorted(missing)[:5]}")
    return found


def frontier(session: Session, size: int) -> merkle.Frontier:
    nodes = merkle.Frontier.nodes_for(size)
    found = fetch_nodes(session, nodes)
    return merkle.Frontier(H, size, {level: found[(level, idx)] for level, idx in nodes})


def root_at(session: Session, size: int) -> bytes:
    return merkle.root_of(H, size, fetch_nodes(session, merkle.range_nodes(0, size)))


def seal(session: Session, *, batch: int = SEAL_BATCH) -> int:
    """Seal up to ``batch`` queued records into leaves; return how many were sealed.

    Runs in the caller's transaction, which must be able to write (the state row's lock
    makes concurrent sealers on PostgreSQL take turns; SQLite has one writer anyway).
    """
    st = state(session, lock=True)
    queued = session.execute(
        select(LedgerPending.n, LedgerPending.record_id).order_by(LedgerPending.n).limit(batch)
    ).all()
    if not queued:
        return 0
    ids = [rid for _, rid in queued]
    records: dict[str, dict[str, object]] = {}
    cols = [AuditRecord.__table__.c[c] for c in COLUMNS]
    conn = session.connection()  # Core rows: this runs once per audit record
    for i in range(0, len(ids), _FETCH_CHUNK):
        chunk = ids[i : i + _FETCH_CHUNK]
        for row in conn.execute(select(*cols).where(AuditRecord.id.in_(chunk))):
            fetched = dict(zip(COLUMNS, row, strict=True))
            records[str(fetched["id"])] = fetched
    tree = frontier(session, st.tree_size)
    leaves: list[dict[str, object]] = []
    nodes: list[dict[str, object]] = []
    for record_id in ids:
        record = records.get(record_id)
        if record is None:
            # Queued in the record's own transaction, so only a hand in the database removes
            # one; verification reports records that are neither leaves nor queued.
            log.error("audit record %s was queued for the ledger but is gone", record_id)
            continue
        seq = tree.size
        digest = merkle.leaf_hash(H, leaf_bytes(seq, record))
        for level, idx, h in tree.append(digest):
            if level == 0:
                leaves.append({"seq": idx, "record_id": record_id, "leaf_hash": h})
            else:
                nodes.append({"level": level, "idx": idx, "hash": h})
    # Core inserts: the ORM's bulk path costs more than hashing at this volume.
    if leaves:
        conn.execute(insert(LedgerLeaf), leaves)
    if nodes:
        conn.execute(insert(LedgerNode), nodes)
    session.execute(delete(LedgerPending).where(LedgerPending.n <= queued[-1][0]))
    st.tree_size = tree.size
    st.sealed_at = now()
    session.flush()
    return len(queued)


def pending_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(LedgerPending)) or 0
