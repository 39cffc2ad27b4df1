"""Who may see and do what with an entry: the rule every catalog read and write applies.

Published entries are visible to everyone holding ``catalog.read``; drafts,
submitted, returned and withdrawn entries only to their provider department
and to the reviewers whose scope covers the provider.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, true

from govdata.catalog.models import CatalogEntry
from govdata.catalog.vocab import EntryStatus
from govdata.security.context_types import Actor
from govdata.security.permissions import ROLE_PERMISSIONS, Perm, Scope


def entry_scope(entry: CatalogEntry) -> Scope:
    return Scope(region_path=entry.region_path, department_id=entry.provider_department_id)


def is_visible(actor: Actor, entry: CatalogEntry) -> bool:
    # The catalog is province-wide: catalog.read held anywhere opens every published entry.
    if not actor.can(Perm.CATALOG_READ):
        return False
    if entry.status == EntryStatus.PUBLISHED:
        return True
    return (
        actor.kind == "system"
        or actor.department_id == entry.provider_department_id
        or actor.can(Perm.CATALOG_REVIEW, entry_scope(entry))
    )


def review_clause(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause over ``CatalogEntry``: what the actor's review grants cover."""
    if actor.kind == "system":
        return true()
    if actor.token_scopes is not None and Perm.CATALOG_REVIEW.value not in actor.token_scopes:
        return false()
    clauses: list[ColumnElement[bool]] = []
    for grant in actor.grants:
        if Perm.CATALOG_REVIEW not in ROLE_PERMISSIONS[grant.role]:
            continue
        if grant.department_id is not None:
            clauses.append(CatalogEntry.provider_department_id == grant.department_id)
        elif grant.region_path is not None:
            clauses.append(
                or_(
                    CatalogEntry.region_path == grant.region_path,
                    CatalogEntry.region_path.startswith(grant.region_path + "/"),
                )
            )
        else:
            return true()
    return or_(*clauses) if clauses else false()


def visibility_clause(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause over ``CatalogEntry`` that keeps exactly what ``is_visible`` allows.

    Callers must already have checked ``catalog.read``.
    """
    if actor.kind == "system":
        return true()
    clauses: list[ColumnElement[bool]] = [CatalogEntry.status == EntryStatus.PUBLISHED]
    if actor.department_id is not None:
        clauses.append(CatalogEntry.provider_department_id == actor.department_id)
    clauses.append(review_clause(actor))
    return or_(*clauses)
