"""Anchoring this node's ledger at a higher node (city → province, "区块链+数据共享").

The higher node countersigns a head only if it extends the last one it countersigned,
so once anchored, this node cannot rewrite or roll back its ledger unnoticed even with
its own key. The cascade between levels calls ``anchor_latest`` with an anchor of its
choice; ``HttpAnchor`` speaks the API of ``govdata.security.ledger.api``.
"""

from __future__ import annotations

from typing import Protocol

import httpx

from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.errors import GovDataError
from govdata.security.ledger import heads, merkle, signing
from govdata.security.ledger.actions import seal_all
from govdata.security.ledger.schemas import CountersignOut, PeerHeadIn
from govdata.security.ledger.tree import H, fetch_nodes


class TreeHeadAnchor(Protocol):
    def countersigned_size(self, node_id: str) -> int:
        """The size of this node's last head the anchor countersigned (0: none)."""
        ...

    def submit(self, head: PeerHeadIn) -> CountersignOut:
        """Have the anchor check and countersign ``head``."""
        ...


class HttpAnchor:
    """A higher node reached over its API with an app token holding ``ledger.anchor``."""

    def __init__(self, client: httpx.Client, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def _check(self, response: httpx.Response) -> httpx.Response:
        if response.status_code >= 400:
            error = response.json().get("error", {})
            raise GovDataError(
                f"上级节点拒绝：{error.get('message', response.text)}",
                f"The higher node refused: {error.get('message', response.text)}",
                code=error.get("code", "ledger_anchor_failed"),
                details=error.get("details"),
            )
        return response

    def countersigned_size(self, node_id: str) -> int:
        r = self.client.get(
            f"/api/v1/audit/peers/{node_id}/countersigned-size", headers=self.headers
        )
        return int(self._check(r).json()["tree_size"])

    def submit(self, head: PeerHeadIn) -> CountersignOut:
        r = self.client.post(
            "/api/v1/audit/peer-heads", json=head.model_dump(mode="json"), headers=self.headers
        )
        return CountersignOut.model_validate(self._check(r).json())


def anchor_latest(db: Database, settings: Settings, anchor: TreeHeadAnchor) -> CountersignOut:
    """Seal, sign a head now, prove it extends what the anchor holds, and have it countersigned."""
    node = signing.node_id(settings)
    since = anchor.countersigned_size(node)
    with db.transaction(immediate=True) as s:
        seal_all(s)
        head = heads.issue_if_due(s, settings, on_demand=True)
        proof: list[bytes] = []
        if 0 < since < head.tree_size:
            plan = merkle.consistency_plan(since, head.tree_size)
            proof = merkle.resolve(H, plan, fetch_nodes(s, merkle.plan_nodes(plan)))
        payload = PeerHeadIn(
            node_id=head.node_id,
            tree_size=head.tree_size,
            root_hash=bytes(head.root_hash).hex(),
            issued_at=head.issued_at,
            algorithm=head.algorithm,
            key_id=head.key_id,
            signature=bytes(head.signature).hex(),
            consistency=[p.hex() for p in proof],
        )
    return anchor.submit(payload)
