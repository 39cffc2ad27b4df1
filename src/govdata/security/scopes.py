"""Scope clauses: the rows of a department- or region-owned table an actor's grants cover."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, or_, true

from govdata.security.context_types import Actor
from govdata.security.permissions import ROLE_PERMISSIONS, Perm


def scope_clause(
    actor: Actor, perm: Perm, department: Any, region_path: Any
) -> ColumnElement[bool]:
    """A WHERE clause keeping rows whose department / region the actor's ``perm`` grants cover."""
    if actor.kind == "system":
        return true()
    if actor.token_scopes is not None and perm.value not in actor.token_scopes:
        return false()
    clauses: list[ColumnElement[bool]] = []
    for grant in actor.grants:
        if perm not in ROLE_PERMISSIONS[grant.role]:
            continue
        if grant.department_id is not None:
            clauses.append(department == grant.department_id)
        elif grant.region_path is not None:
            clauses.append(
                or_(
                    region_path == grant.region_path,
                    region_path.startswith(grant.region_path + "/"),
                )
            )
        else:
            return true()
    return or_(*clauses) if clauses else false()
