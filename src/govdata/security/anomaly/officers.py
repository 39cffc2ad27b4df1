"""The security administrators an alert may be assigned to.

Identity exports the ids of the users holding a role (``users_covering``) but not their names;
this one read of the users table fills them in.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.identity.models import User
from govdata.identity.queries import users_covering
from govdata.security.permissions import Role, Scope


@dataclass(frozen=True)
class Officer:
    id: str
    username: str
    display_name: str


def security_officers(s: Session) -> list[Officer]:
    """Active users holding the security administrator role, by username."""
    ids = users_covering(s, {Role.SECADMIN}, Scope())
    if not ids:
        return []
    rows = s.execute(
        select(User.id, User.username, User.display_name)
        .where(User.id.in_(ids))
        .order_by(User.username)
    )
    return [Officer(*row) for row in rows]


def find_officer(s: Session, ref: str) -> Officer | None:
    """The security administrator with this user id or username."""
    ref = ref.strip()
    return next(
        (o for o in security_officers(s) if ref in (o.id, o.username) or ref.lower() == o.username),
        None,
    )
