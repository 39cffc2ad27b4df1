"""Re-check the whole ledger from the audit records up and name the first thing that is wrong.

Every leaf is rebuilt from its record as stored now and compared with the hash it had
when sealed; the tree is rebuilt from those leaves and compared with the stored nodes
(which proofs are made from) and with every signed tree head. A record changed, deleted
or moved shows at its own leaf; a ledger rewritten consistently all the way down shows
at the first signed head it no longer matches, which bounds where the change is.
"""

from __future__ import annotations

import hmac
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from govdata.config import Settings
from govdata.security.ledger import heads, merkle, signing
from govdata.security.ledger.leaves import COLUMNS, leaf_bytes
from govdata.security.ledger.models import LedgerHead, LedgerLeaf, LedgerNode, LedgerPending
from govdata.security.ledger.tree import H, pending_count, state
from govdata.security.models import AuditRecord

_STREAM = 10_000


@dataclass
class Problem:
    kind: str  # altered | deleted | missing_leaf | truncated | node_mismatch | head_mismatch
    #            | bad_signature | unsealed
    seq: int | None
    record_id: str | None
    message_zh: str
    message_en: str


@dataclass
class Report:
    ok: bool
    tree_size: int
    root_hash: str
    heads_checked: int
    pending: int
    problem: Problem | None = None
    signed_head: dict[str, Any] | None = field(default=None)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _leaf_problem(kind: str, seq: int, record_id: str | None) -> Problem:
    what = {
        "altered": (
            "与封存时不一致（被修改或移动）",
            "does not match what was sealed (altered or moved)",
        ),
        "deleted": ("已被删除", "has been deleted"),
        "missing_leaf": (
            "的账本叶子缺失（被删除或移动）",
            "is missing from the ledger (deleted or moved)",
        ),
    }[kind]
    rid = record_id or "?"
    return Problem(
        kind,
        seq,
        record_id,
        f"第 {seq} 条审计记录（{rid}）{what[0]}",
        f"Audit record #{seq} ({rid}) {what[1]}",
    )


class _NodeCheck:
    """Compares the nodes the rebuilt tree makes with the stored ones, a batch at a time."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.made: dict[int, dict[int, bytes]] = {}

    def add(self, made: list[tuple[int, int, bytes]]) -> None:
        for level, idx, h in made:
            if level:
                self.made.setdefault(level, {})[idx] = h

    def flush(self) -> tuple[int, int] | None:
        """The first (level, index) whose stored hash differs, or None."""
        bad: tuple[int, int] | None = None
        for level, made in self.made.items():
            lo, hi = min(made), max(made)
            stored = dict(
                self.session.execute(
                    select(LedgerNode.idx, LedgerNode.hash).where(
                        LedgerNode.level == level, LedgerNode.idx.between(lo, hi)
                    )
                ).all()
            )
            for idx in sorted(made):
                if stored.get(idx) != made[idx]:
                    first = idx << level
                    if bad is None or first < bad[1] << bad[0]:
                        bad = (level, idx)
                    break
        self.made.clear()
        return bad


def verify_ledger(session: Session, settings: Settings) -> Report:
    key = signing.node_key(settings)
    head_rows = list(session.scalars(select(LedgerHead).order_by(LedgerHead.tree_size)))
    tree = merkle.Frontier(H)
    nodes = _NodeCheck(session)
    problem: Problem | None = None
    checked = 0
    hi = 0  # next head to compare against
    record = AuditRecord.__table__
    stmt = (
        select(
            LedgerLeaf.seq,
            LedgerLeaf.record_id,
            LedgerLeaf.leaf_hash,
            *[record.c[c] for c in COLUMNS],
        )
        .outerjoin(record, record.c.id == LedgerLeaf.record_id)
        .order_by(LedgerLeaf.seq)
        .execution_options(yield_per=_STREAM)
    )
    last_good = 0

    def check_heads() -> Problem | None:
        nonlocal hi, checked
        while hi < len(head_rows) and head_rows[hi].tree_size <= tree.size:
            head = head_rows[hi]
            hi += 1
            if head.tree_size < tree.size:
                continue  # covered by an earlier pass; sizes only grow
            checked += 1
            if bytes(head.root_hash) != tree.root():
                return _head_problem(head, key, last_good)
        return None

    problem = check_heads()  # a head of size 0
    # Core rows, not ORM ones: this loop runs once per record in the ledger.
    rows = session.connection().execute(stmt) if problem is None else ()
    for row in rows:
        seq = row.seq
        if seq != tree.size:
            problem = _leaf_problem("missing_leaf", tree.size, None)
            break
        if row.id is None:
            problem = _leaf_problem("deleted", seq, row.record_id)
            break
        digest = merkle.leaf_hash(H, leaf_bytes(seq, dict(zip(COLUMNS, row[3:], strict=True))))
        if not hmac.compare_digest(digest, bytes(row.leaf_hash)):
            problem = _leaf_problem("altered", seq, row.record_id)
            break
        nodes.add(tree.append(digest))
        if tree.size % _STREAM == 0 and (bad := nodes.flush()):
            problem = _node_problem(bad)
            break
        if problem := check_heads():
            break
        last_good = tree.size
    if problem is None and (bad := nodes.flush()):
        problem = _node_problem(bad)
    sealed = state(session).tree_size
    if problem is None and (hi < len(head_rows) or sealed > tree.size):
        problem = Problem(
            "truncated",
            tree.size,
            None,
            f"账本在第 {tree.size} 条处被截断：签名树头或封存记录表明应有 "
            f"{max(sealed, head_rows[-1].tree_size if head_rows else 0)} 条",
            f"The ledger is truncated at #{tree.size}: signed heads or the sealed count say "
            f"{max(sealed, head_rows[-1].tree_size if head_rows else 0)}",
        )
    latest = heads.latest(session)
    if problem is None and latest is not None and not heads.signature_ok(latest, key):
        problem = _bad_signature(latest)
    if problem is None:
        problem = _unsealed(session)
    return Report(
        ok=problem is None,
        tree_size=tree.size,
        root_hash=tree.root().hex(),
        heads_checked=checked,
        pending=pending_count(session),
        problem=problem,
        signed_head=None if latest is None else _head_dict(latest),
    )


def _head_dict(head: LedgerHead) -> dict[str, Any]:
    return {
        "tree_size": head.tree_size,
        "root_hash": bytes(head.root_hash).hex(),
        "issued_at": head.issued_at.isoformat(),
        "algorithm": head.algorithm,
    }


def _bad_signature(head: LedgerHead) -> Problem:
    return Problem(
        "bad_signature",
        head.tree_size,
        None,
        f"树头（{head.tree_size} 条）的签名无效：不是本节点签发的",
        f"The tree head at size {head.tree_size} has an invalid signature: "
        "this node did not sign it",
    )


def _head_problem(head: LedgerHead, key: signing.NodeKey, last_good: int) -> Problem:
    if not heads.signature_ok(head, key):
        return _bad_signature(head)
    return Problem(
        "head_mismatch",
        last_good,
        None,
        f"第 {last_good}–{head.tree_size - 1} 条之间有记录被改动：重算的根与 "
        f"{head.issued_at:%Y-%m-%d %H:%M:%S} 签名的树头不符（账本被整体重写）",
        f"A record between #{last_good} and #{head.tree_size - 1} was changed: the rebuilt root "
        f"does not match the head signed at {head.issued_at.isoformat()} "
        "(the ledger was rewritten)",
    )


def _node_problem(bad: tuple[int, int]) -> Problem:
    level, idx = bad
    first = idx << level
    return Problem(
        "node_mismatch",
        first,
        None,
        f"第 {first}–{first + (1 << level) - 1} 条的存储树节点被改动（证明将无法验证）",
        f"The stored tree node over #{first}–#{first + (1 << level) - 1} was altered "
        "(proofs from it would not verify)",
    )


def _unsealed(session: Session) -> Problem | None:
    """An audit record that is neither a leaf nor queued was put in behind the ledger's back."""
    rec = AuditRecord.__table__
    orphan = session.execute(
        select(rec.c.id)
        .where(
            ~exists().where(LedgerLeaf.record_id == rec.c.id),
            ~exists().where(LedgerPending.record_id == rec.c.id),
        )
        .order_by(rec.c.at)
        .limit(1)
    ).scalar()
    if orphan is None:
        return None
    return Problem(
        "unsealed",
        None,
        orphan,
        f"审计记录 {orphan} 既未封存也不在封存队列中（绕过审计写入）",
        f"Audit record {orphan} is neither sealed nor queued (written around the audit function)",
    )
