"""ActionContext: what every action receives — the session, the actor, and where the call came from.

Every action starts with ``ctx.require(permission, target)`` and ends with
``ctx.audit(...)`` inside the same transaction. A refusal is itself audited,
in a transaction of its own once the action's transaction has ended.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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
    session: Session
    actor: Actor
    settings: Settings
    client_addr: str | None = None
    # Refusals are audited after the action's transaction ends (it usually rolls back);
    # writing them from a second connection meanwhile would wait on SQLite's write lock.
    denials: list[tuple[str, str | None]] = field(default_factory=list)

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
        self.denials.append((perm.value, target_id))
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
        """One action = one transaction: commit when the block ends, roll back on error.

        On SQLite the write lock is taken at BEGIN: a deferred transaction that reads
        and then writes fails at once (no busy wait) if another process wrote in
        between, which the embedded worker makes likely.
        """
        ctx: ActionContext | None = None
        try:
            with self.db.transaction(immediate=True) as session:
                ctx = ActionContext(session, self.actor, self.settings, self.client_addr)
                yield ctx
        finally:
            if ctx is not None and ctx.denials:
                self._audit_denials(ctx.denials)

    def _audit_denials(self, denials: list[tuple[str, str | None]]) -> None:
        with self.db.transaction() as session:
            for perm, target_id in denials:
                write_audit(
                    session,
                    self.actor,
                    perm,
                    target_type="permission" if target_id is None else "object",
                    target_id=target_id,
                    outcome=DENIED,
                    client_addr=self.client_addr,
                )
