"""Inclusion proofs for one record or thousands, from a single fetch of the nodes they need."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from govdata.security.ledger import merkle
from govdata.security.ledger.tree import H, fetch_nodes


@dataclass(frozen=True)
class Inclusion:
    leaf_index: int
    leaf_hash: str
    audit_path: list[str]
    root_hash: str


def inclusions(session: Session, seqs: Mapping[str, int], tree_size: int) -> dict[str, Inclusion]:
    """For each record (id → leaf index below ``tree_size``), its audit path to the root."""
    plans = {rid: merkle.inclusion_plan(seq, tree_size) for rid, seq in seqs.items()}
    wanted = set(merkle.range_nodes(0, tree_size)) | {(0, seq) for seq in seqs.values()}
    for plan in plans.values():
        wanted |= merkle.plan_nodes(plan)
    nodes = fetch_nodes(session, wanted)
    root = merkle.root_of(H, tree_size, nodes).hex()
    return {
        rid: Inclusion(
            leaf_index=seqs[rid],
            leaf_hash=nodes[(0, seqs[rid])].hex(),
            audit_path=[h.hex() for h in merkle.resolve(H, plan, nodes)],
            root_hash=root,
        )
        for rid, plan in plans.items()
    }
