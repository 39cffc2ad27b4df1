"""Operations on the audit ledger: tree heads, proofs, verification, peer countersigning.

Heads and proofs carry hashes only, so peer nodes and the operator may fetch them
(``ledger.read``); a leaf's content is an audit record and goes to auditors alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core.clock import now
from govdata.core.errors import Conflict, GovDataError, InvalidInput, NotFound
from govdata.core.jobs import queue as jobqueue
from govdata.security.context import ActionContext
from govdata.security.ledger import heads, merkle, signing
from govdata.security.ledger.leaves import COLUMNS, leaf_content
from govdata.security.ledger.models import LedgerHead, LedgerLeaf, LedgerPeer, LedgerPeerHead
from govdata.security.ledger.proofs import inclusions
from govdata.security.ledger.schemas import (
    ConsistencyProofOut,
    CountersignOut,
    InclusionProofOut,
    PeerHeadIn,
    PeerIn,
    PeerOut,
    ProblemOut,
    TreeHeadOut,
    VerificationOut,
)
from govdata.security.ledger.tree import H, fetch_nodes, pending_count, seal, state
from govdata.security.ledger.verify import Report
from govdata.security.models import AuditRecord
from govdata.security.permissions import Perm

VERIFY_JOB = "ledger.verify"
# A request seals at most this many queued records before answering; the sealer does the rest.
_SEAL_ROUNDS = 40


class LedgerSizeInvalid(InvalidInput):
    code = "ledger_size_invalid"


def seal_all(session: Session, rounds: int = _SEAL_ROUNDS) -> int:
    total = 0
    for _ in range(rounds):
        sealed = seal(session)
        if not sealed:
            break
        total += sealed
    return total


def head_out(head: LedgerHead, key: signing.NodeKey) -> TreeHeadOut:
    return TreeHeadOut(
        node_id=head.node_id,
        tree_size=head.tree_size,
        root_hash=bytes(head.root_hash).hex(),
        issued_at=head.issued_at,
        algorithm=head.algorithm,
        key_id=head.key_id,
        signature=bytes(head.signature).hex(),
        public_key=key.public,
    )


def tree_head(ctx: ActionContext) -> TreeHeadOut:
    """The latest signed tree head, after sealing what is queued (a new head if it grew)."""
    ctx.require(Perm.LEDGER_READ)
    seal_all(ctx.session)
    head = heads.issue_if_due(ctx.session, ctx.settings, on_demand=True)
    return head_out(head, signing.node_key(ctx.settings))


def _check_size(ctx: ActionContext, size: int, *, what: str) -> None:
    sealed = state(ctx.session).tree_size
    if not 0 < size <= sealed:
        raise LedgerSizeInvalid(
            f"{what}须在 1 到 {sealed} 之间（账本当前大小）",
            f"{what} must be between 1 and {sealed} (the ledger's size)",
            details={"tree_size": size, "sealed": sealed},
        )


def prove_inclusion(
    ctx: ActionContext, record_id: str, tree_size: int | None = None
) -> InclusionProofOut:
    """Prove that an audit record is leaf ``i`` of the tree of ``tree_size`` leaves (default:
    the latest signed head, issued now if the record is newer than it)."""
    ctx.require(Perm.LEDGER_READ)
    seal_all(ctx.session)
    leaf = ctx.session.scalar(select(LedgerLeaf).where(LedgerLeaf.record_id == record_id))
    if leaf is None:
        raise NotFound(
            "该审计记录不在账本中",
            "No such audit record in the ledger",
            code="ledger_record_unknown",
            details={"record": record_id},
        )
    if tree_size is None:
        head = heads.issue_if_due(ctx.session, ctx.settings, on_demand=True)
        tree_size = head.tree_size
    _check_size(ctx, tree_size, what="树大小")
    if leaf.seq >= tree_size:
        raise LedgerSizeInvalid(
            f"该记录是第 {leaf.seq} 条，不在大小为 {tree_size} 的树中",
            f"The record is leaf {leaf.seq}, outside a tree of {tree_size} leaves",
            details={"leaf_index": leaf.seq, "tree_size": tree_size},
        )
    proof = inclusions(ctx.session, {record_id: leaf.seq}, tree_size)[record_id]
    signed = heads.at_size(ctx.session, tree_size)
    content: dict[str, Any] | None = None
    if ctx.actor.can(Perm.AUDIT_READ):
        record = ctx.session.execute(
            select(*[AuditRecord.__table__.c[c] for c in COLUMNS]).where(
                AuditRecord.id == record_id
            )
        ).one_or_none()
        content = None if record is None else leaf_content(leaf.seq, dict(record._mapping))
    ctx.audit(
        "audit.proof.inclusion",
        target_type="audit_record",
        target_id=record_id,
        details={"tree_size": tree_size},
    )
    return InclusionProofOut(
        record_id=record_id,
        leaf_index=proof.leaf_index,
        tree_size=tree_size,
        leaf_hash=proof.leaf_hash,
        audit_path=proof.audit_path,
        root_hash=proof.root_hash,
        tree_head=None if signed is None else head_out(signed, signing.node_key(ctx.settings)),
        leaf=content,
    )


def prove_consistency(ctx: ActionContext, first: int, second: int) -> ConsistencyProofOut:
    """Prove that the tree of ``second`` leaves extends the tree of ``first`` leaves."""
    ctx.require(Perm.LEDGER_READ)
    _check_size(ctx, second, what="第二个树大小")
    if not 0 < first <= second:
        raise LedgerSizeInvalid(
            "第一个树大小须大于 0 且不大于第二个",
            "first must be > 0 and ≤ second",
            details={"first": first, "second": second},
        )
    plan = merkle.consistency_plan(first, second)
    wanted = merkle.plan_nodes(plan) | set(merkle.range_nodes(0, first))
    nodes = fetch_nodes(ctx.session, wanted | set(merkle.range_nodes(0, second)))
    return ConsistencyProofOut(
        first=first,
        second=second,
        first_root=merkle.root_of(H, first, nodes).hex(),
        second_root=merkle.root_of(H, second, nodes).hex(),
        proof=[h.hex() for h in merkle.resolve(H, plan, nodes)],
    )


def _problem_out(problem: dict[str, Any] | None, locale: str) -> ProblemOut | None:
    if not problem:
        return None
    message = problem["message_en"] if locale.startswith("en") else problem["message_zh"]
    return ProblemOut(
        kind=problem["kind"], seq=problem["seq"], record_id=problem["record_id"], message=message
    )


def verification_status(ctx: ActionContext) -> VerificationOut:
    """How the last full verification went, and how much is sealed and queued now."""
    ctx.require(Perm.AUDIT_READ)
    st = state(ctx.session)
    return VerificationOut(
        ok=st.verified_ok,
        checked_at=st.verified_at,
        tree_size=st.verified_size,
        pending=pending_count(ctx.session),
        sealed_size=st.tree_size,
        problem=_problem_out(st.verified_problem, ctx.locale),
    )


def start_verification(ctx: ActionContext) -> VerificationOut:
    """Queue a full verification (a job: it reads every record); one at a time."""
    ctx.require(Perm.AUDIT_READ)
    job, _ = jobqueue.enqueue(
        ctx.session,
        VERIFY_JOB,
        {},
        max_attempts=1,
        idempotency_key=VERIFY_JOB,
        created_by=ctx.actor.id,
    )
    ctx.audit("audit.verify.start", target_type="job", target_id=job.id)
    out = verification_status(ctx)
    out.job_id = job.id
    return out


def record_verification(session: Session, report: Report) -> None:
    st = state(session, lock=True)
    st.verified_at = now()
    st.verified_ok = report.ok
    st.verified_size = report.tree_size
    st.verified_problem = None if report.problem is None else report.as_dict()["problem"]


@dataclass(frozen=True)
class LedgerHealth:
    tree_size: int
    pending: int
    last_head_at: datetime | None
    last_verified_at: datetime | None
    last_verified_ok: bool | None


def health(session: Session) -> LedgerHealth:
    st = state(session)
    head = heads.latest(session)
    return LedgerHealth(
        tree_size=st.tree_size,
        pending=pending_count(session),
        last_head_at=None if head is None else head.issued_at,
        last_verified_at=st.verified_at,
        last_verified_ok=st.verified_ok,
    )


# --- peer nodes: a city node's heads countersigned by the province ("区块链+数据共享") ---


def _peer_out(ctx: ActionContext, peer: LedgerPeer) -> PeerOut:
    last = _last_peer_head(ctx.session, peer.node_id)
    return PeerOut(
        node_id=peer.node_id,
        name=peer.name,
        algorithm=peer.algorithm,
        public_key=peer.public_key,
        registered_at=peer.registered_at,
        key_id=signing.key_id(peer.public_key),
        last_tree_size=None if last is None else last.tree_size,
    )


def register_peer(ctx: ActionContext, data: PeerIn) -> PeerOut:
    """Trust a lower node's signing key (the security administrator's decision)."""
    ctx.require(Perm.SECURITY_MANAGE)
    if ctx.session.get(LedgerPeer, data.node_id) is not None:
        raise Conflict(
            "该节点已登记",
            "This node is already registered",
            code="ledger_peer_exists",
            details={"node_id": data.node_id},
        )
    peer = LedgerPeer(**data.model_dump())
    ctx.session.add(peer)
    ctx.session.flush()
    ctx.audit(
        "audit.peer.register",
        target_type="ledger_peer",
        target_id=data.node_id,
        details={"algorithm": data.algorithm, "key_id": signing.key_id(data.public_key)},
    )
    return _peer_out(ctx, peer)


def list_peers(ctx: ActionContext) -> list[PeerOut]:
    ctx.require(Perm.LEDGER_READ)
    return [
        _peer_out(ctx, p)
        for p in ctx.session.scalars(select(LedgerPeer).order_by(LedgerPeer.node_id))
    ]


def _last_peer_head(session: Session, node_id: str) -> LedgerPeerHead | None:
    return session.scalar(
        select(LedgerPeerHead)
        .where(LedgerPeerHead.node_id == node_id)
        .order_by(LedgerPeerHead.tree_size.desc(), LedgerPeerHead.countersigned_at.desc())
    )


def _refuse(code: str, zh: str, en: str, **details: Any) -> GovDataError:
    return Conflict(zh, en, code=code, details=details or None)


def countersign(ctx: ActionContext, data: PeerHeadIn) -> CountersignOut:
    """Check a peer's signed head against its registered key and its last countersigned head
    (sizes only grow; the consistency proof must link them), then countersign and keep it."""
    ctx.require(Perm.LEDGER_ANCHOR)
    peer = ctx.session.get(LedgerPeer, data.node_id)
    if peer is None:
        raise NotFound(
            "未登记的节点",
            "Unregistered node",
            code="ledger_peer_unknown",
            details={"node_id": data.node_id},
        )
    root = bytes.fromhex(data.root_hash)
    signature = bytes.fromhex(data.signature)
    message = signing.head_message(data.node_id, data.tree_size, root, data.issued_at)
    if data.algorithm != peer.algorithm or not signing.verify(
        peer.algorithm, peer.public_key, message, signature
    ):
        raise _refuse(
            "ledger_peer_signature", "树头签名无效", "The tree head's signature is invalid"
        )
    last = _last_peer_head(ctx.session, data.node_id)
    if last is not None and last.tree_size > 0:
        if data.tree_size < last.tree_size:
            raise _refuse(
                "ledger_peer_rollback",
                "树头比已会签的更小：账本被回退",
                "The head is smaller than one already countersigned: the ledger went back",
                countersigned=last.tree_size,
            )
        proof = [bytes.fromhex(p) for p in data.consistency]
        if not merkle.verify_consistency(
            H, last.tree_size, data.tree_size, bytes(last.root_hash), root, proof
        ):
            raise _refuse(
                "ledger_peer_inconsistent",
                "新树头与已会签的树头不一致：账本被改写",
                "The head does not extend the one already countersigned: the ledger was rewritten",
                countersigned=last.tree_size,
            )
    key = signing.node_key(ctx.settings)
    me = signing.node_id(ctx.settings)
    countersignature = signing.sign(key, signing.countersign_message(me, message, signature))
    row = LedgerPeerHead(
        node_id=data.node_id,
        tree_size=data.tree_size,
        root_hash=root,
        issued_at=data.issued_at,
        algorithm=data.algorithm,
        key_id=data.key_id,
        signature=signature,
        countersigner=me,
        countersign_algorithm=key.algorithm,
        countersign_key_id=key.key_id,
        countersignature=countersignature,
    )
    ctx.session.add(row)
    ctx.session.flush()
    ctx.audit(
        "audit.peer.countersign",
        target_type="ledger_peer",
        target_id=data.node_id,
        details={"tree_size": data.tree_size, "root_hash": data.root_hash},
    )
    return CountersignOut(
        node_id=data.node_id,
        tree_size=data.tree_size,
        root_hash=data.root_hash,
        countersigner=me,
        countersigned_at=row.countersigned_at,
        algorithm=key.algorithm,
        key_id=key.key_id,
        countersignature=countersignature.hex(),
    )


def last_countersigned(ctx: ActionContext, node_id: str) -> int:
    """The size of the peer's last countersigned head (0: none), to prove consistency from."""
    ctx.require(Perm.LEDGER_ANCHOR)
    last = _last_peer_head(ctx.session, node_id)
    return 0 if last is None else last.tree_size
