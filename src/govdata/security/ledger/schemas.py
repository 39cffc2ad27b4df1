"""What the ledger's API and CLI return: hashes and signatures as lowercase hex."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

HASH_ALGORITHM = "SM3"


class TreeHeadOut(BaseModel):
    node_id: str
    tree_size: int
    root_hash: str
    issued_at: datetime
    algorithm: str = Field(description="Signature algorithm: SM2-SM3, or Ed25519 without SM2")
    key_id: str
    signature: str
    public_key: str
    hash_algorithm: str = HASH_ALGORITHM


class InclusionProofOut(BaseModel):
    record_id: str
    leaf_index: int
    tree_size: int
    leaf_hash: str
    audit_path: list[str]
    root_hash: str
    hash_algorithm: str = HASH_ALGORITHM
    tree_head: TreeHeadOut | None = Field(
        None, description="The signed head of this size, when one was issued"
    )
    leaf: dict[str, Any] | None = Field(
        None, description="The leaf's content (auditors only): its SM3 with 0x00 is leaf_hash"
    )


class ConsistencyProofOut(BaseModel):
    first: int
    second: int
    first_root: str
    second_root: str
    proof: list[str]
    hash_algorithm: str = HASH_ALGORITHM


class ProblemOut(BaseModel):
    kind: str
    seq: int | None
    record_id: str | None
    message: str


class VerificationOut(BaseModel):
    ok: bool | None
    checked_at: datetime | None
    tree_size: int | None
    root_hash: str | None = None
    heads_checked: int | None = None
    pending: int
    sealed_size: int
    problem: ProblemOut | None = None
    job_id: str | None = None


class PeerIn(BaseModel):
    node_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    name: str = Field(min_length=1, max_length=128)
    algorithm: str = Field(pattern=r"^(SM2-SM3|Ed25519)$")
    public_key: str = Field(min_length=64, max_length=130, pattern=r"^[0-9a-f]+$")


class PeerOut(PeerIn):
    registered_at: datetime
    key_id: str
    last_tree_size: int | None = None


class PeerHeadIn(BaseModel):
    """A lower node's signed head, with the consistency proof from the last one countersigned."""

    node_id: str = Field(min_length=1, max_length=64)
    tree_size: int = Field(ge=0)
    root_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    issued_at: datetime
    algorithm: str
    key_id: str = Field(max_length=16)
    signature: str = Field(pattern=r"^[0-9a-f]+$", max_length=256)
    consistency: list[str] = Field(default_factory=list, max_length=128)


class CountersignOut(BaseModel):
    node_id: str
    tree_size: int
    root_hash: str
    countersigner: str
    countersigned_at: datetime
    algorithm: str
    key_id: str
    countersignature: str
