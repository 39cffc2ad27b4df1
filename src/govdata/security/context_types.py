"""Who is acting."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from govdata.security.permissions import Perm, Role, RoleGrant, Scope, allows

# "public": a registered member of the public on the open-data portal; it holds no role.
ActorKind = Literal["user", "app", "system", "anonymous", "public"]


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: str | None
    name: str
    grants: tuple[RoleGrant, ...] = ()
    department_id: str | None = None
    region_path: str | None = None
    locale: str = "zh_CN"
    # App credentials carry scopes (permission names); None means the holder's role decides.
    token_scopes: frozenset[str] | None = field(default=None)

    def can(self, perm: Perm, target: Scope | None = None) -> bool:
        if self.kind == "system":
            return True
        if self.token_scopes is not None and perm.value not in self.token_scopes:
            return False
        return allows(list(self.grants), perm, target)

    def has_role(self, role: Role) -> bool:
        return any(g.role == role for g in self.grants)


SYSTEM = Actor(kind="system", id=None, name="system")
ANONYMOUS = Actor(kind="anonymous", id=None, name="anonymous")
