"""ActionContext: what every action receives — the session, the actor, and where the call came from.

Every action starts with ``ctx.require(permission, target)`` and ends with
``ctx.audit(...)`` inside the same transaction. A refusal is itself audited,
in a transaction of its own, because the action's transaction rolls back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.errors import NotAuthenticated, PermissionDenied
from govdata.security.audit import DENIED, SUCCESS, write_audit
from govdata.security.context_types import Actor
from govdata.security.permissions import Perm, Scope


@dataclass
class ActionContext:
    db: Database
    session: Session
    actor: Actor
    settings: Settings
    client_addr: str | None = None

    @property
    def locale(self) -> str:
        return self.actor.locale

    def require(
        self, perm: Perm, target: Scope | None = None, *, target_id: str | None = None
    ) -> None:
        if self.actor.kind == "anonymous":
            raise NotAuthenticated()
        if self.actor.can(perm, target):
            return
        with self.db.transaction() as s:
            write_audit(
                s,
                self.actor,
                perm.value,
                target_type="scope" if target else None,
                target_id=target_id,
                outcome=DENIED,
                client_addr=self.client_addr,
            )
        raise PermissionDenied(details={"permission": perm.value})

    def audit(
        self,
        action: str,
        *,
        target_type: str | None = None,
        target_id: str | None = None,
        outcome: str = SUCCESS,
        fields: list[str] | None = None,
        row_count: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        write_audit(
            self.session,
            self.actor,
            action,
            target_type=target_type,
            target_id=target_id,
            outcome=outcome,
            client_addr=self.client_addr,
            fields=fields,
            row_count=row_count,
            details=details,
        )


@dataclass(frozen=True)
class Caller:
    """A resolved caller (from a request, a CLI invocation or a job) that can open actions."""

    db: Database
    settings: Settings
    actor: Actor
    client_addr: str | None = None

    @contextmanager
    def act(self) -> Iterator[ActionContext]:
        """One action = one transaction: commit when the block ends, roll back on error."""
        with self.db.transaction() as session:
            yield ActionContext(self.db, session, self.actor, self.settings, self.client_addr)
