"""Signed tree heads: issuing them, finding them, checking them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.config import Settings
from govdata.core.clock import now
from govdata.security.ledger import signing
from govdata.security.ledger.models import LedgerHead
from govdata.security.ledger.tree import root_at, state


def latest(session: Session) -> LedgerHead | None:
    return session.scalar(
        select(LedgerHead).order_by(LedgerHead.tree_size.desc(), LedgerHead.issued_at.desc())
    )


def at_size(session: Session, tree_size: int) -> LedgerHead | None:
    return session.scalar(
        select(LedgerHead)
        .where(LedgerHead.tree_size == tree_size)
        .order_by(LedgerHead.issued_at.desc())
    )


def issue(session: Session, settings: Settings) -> LedgerHead:
    """Sign the tree as sealed now. Sizes only grow, so a head never contradicts another."""
    size = state(session, lock=True).tree_size
    key = signing.node_key(settings)
    node = signing.node_id(settings)
    root = root_at(session, size)
    issued_at = now()
    head = LedgerHead(
        node_id=node,
        tree_size=size,
        root_hash=root,
        issued_at=issued_at,
        algorithm=key.algorithm,
        key_id=key.key_id,
        signature=signing.sign(key, signing.head_message(node, size, root, issued_at)),
    )
    session.add(head)
    session.flush()
    return head


def issue_if_due(session: Session, settings: Settings, *, on_demand: bool = False) -> LedgerHead:
    """The latest head, or a new one when the tree has grown since it — at once on demand,
    else once ``ledger_head_seconds`` have passed — or when there is none yet."""
    head = latest(session)
    size = state(session).tree_size
    if head is not None and head.tree_size == size:
        return head
    recent = head is not None and now() - head.issued_at < timedelta(
        seconds=settings.ledger_head_seconds
    )
    if head is not None and recent and not on_demand:
        return head
    return issue(session, settings)


def signature_ok(head: LedgerHead, key: signing.NodeKey) -> bool:
    if head.key_id != key.key_id:
        return False
    message = signing.head_message(head.node_id, head.tree_size, head.root_hash, head.issued_at)
    return signing.verify(head.algorithm, key.public, message, head.signature)
