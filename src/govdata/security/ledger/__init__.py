"""The tamper-evident audit ledger: every audit record a leaf of an SM3 Merkle tree (RFC 6962),
with signed tree heads, proofs and verification (docs/security/ledger.md)."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # ``health`` for dashboards, without importing the actions (and the security context,
    # which imports this package's models) when only the models are wanted.
    if name in ("health", "LedgerHealth"):
        from govdata.security.ledger import actions

        return getattr(actions, name)
    raise AttributeError(name)
