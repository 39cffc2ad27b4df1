"""Audit ledger API: signed tree heads and proofs (auditors, the operator, peer nodes),
verification (auditors), countersigning for lower nodes (peer node tokens)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from govdata.security.ledger import actions
from govdata.security.ledger.schemas import (
    ConsistencyProofOut,
    CountersignOut,
    InclusionProofOut,
    PeerHeadIn,
    PeerIn,
    PeerOut,
    TreeHeadOut,
    VerificationOut,
)
from govdata.web.deps import CallerDep

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("/tree-head", response_model=TreeHeadOut)
def tree_head(caller: CallerDep) -> TreeHeadOut:
    """The latest signed tree head (a new one is issued if the ledger grew since the last)."""
    with caller.act() as ctx:
        return actions.tree_head(ctx)


@router.get("/proof/inclusion", response_model=InclusionProofOut)
def inclusion_proof(
    caller: CallerDep,
    record: Annotated[str, Query(min_length=1, max_length=36)],
    tree_size: Annotated[int | None, Query(ge=1)] = None,
) -> InclusionProofOut:
    """The audit path proving that ``record`` is in the tree of ``tree_size`` leaves."""
    with caller.act() as ctx:
        return actions.prove_inclusion(ctx, record, tree_size)


@router.get("/proof/consistency", response_model=ConsistencyProofOut)
def consistency_proof(
    caller: CallerDep,
    first: Annotated[int, Query(ge=1)],
    second: Annotated[int, Query(ge=1)],
) -> ConsistencyProofOut:
    """The proof that the tree of ``second`` leaves extends the tree of ``first`` leaves."""
    with caller.act() as ctx:
        return actions.prove_consistency(ctx, first, second)


@router.get("/verification", response_model=VerificationOut)
def verification(caller: CallerDep) -> VerificationOut:
    """The last full verification's outcome."""
    with caller.act() as ctx:
        return actions.verification_status(ctx)


@router.post("/verification", response_model=VerificationOut, status_code=202)
def start_verification(caller: CallerDep) -> VerificationOut:
    """Start a full verification of the ledger (a job)."""
    with caller.act() as ctx:
        return actions.start_verification(ctx)


@router.get("/peers", response_model=list[PeerOut])
def list_peers(caller: CallerDep) -> list[PeerOut]:
    with caller.act() as ctx:
        return actions.list_peers(ctx)


@router.post("/peers", response_model=PeerOut, status_code=201)
def register_peer(caller: CallerDep, data: PeerIn) -> PeerOut:
    """Register a lower node's signing key (security administrator)."""
    with caller.act() as ctx:
        return actions.register_peer(ctx, data)


@router.get("/peers/{node_id}/countersigned-size")
def countersigned_size(caller: CallerDep, node_id: str) -> dict[str, int]:
    """The size of the node's last countersigned head: prove consistency from there."""
    with caller.act() as ctx:
        return {"tree_size": actions.last_countersigned(ctx, node_id)}


@router.post("/peer-heads", response_model=CountersignOut, status_code=201)
def countersign(caller: CallerDep, data: PeerHeadIn) -> CountersignOut:
    """Countersign a lower node's signed tree head."""
    with caller.act() as ctx:
        return actions.countersign(ctx, data)
