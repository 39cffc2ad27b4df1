"""Seed the demo catalogue through the catalog actions, as the people who would do it.

Each department's data officer (``<code>_officer``) registers and submits its
entries; the platform operator reviews the provincial ones and each
prefecture's region operator those of its bureaus. So the audit trail, the
entries' timelines and the notifications look as they would in real use.

One department is one transaction (the officer's and the reviewer's actions
share it), so an interrupted build leaves every department either fully
catalogued or untouched; a rerun skips departments that already have entries.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from govdata.catalog import actions
from govdata.catalog.schemas import NewVersion, PublishRequest, ReturnRequest, WithdrawRequest
from govdata.catalog.synonyms import seed_default_synonyms
from govdata.config import Settings
from govdata.core.db import Database
from govdata.demo.catalog_plan import REVISION_NOTE, Planned, plan_catalog, revision
from govdata.demo.departments import all_departments
from govdata.demo.divisions import PREFECTURES
from govdata.identity import queries as org
from govdata.security.context import ActionContext, Caller
from govdata.security.context_types import SYSTEM, Actor

# (departments done, departments in all)
CatalogProgress = Callable[[int, int], None]
PUBLISH_COMMENT = "符合编目要求，同意发布。"


def _actor(ctx: ActionContext, username: str) -> Actor:
    actor = org.actor_for_username(ctx.session, username)
    if actor is None:
        raise LookupError(f"demo user {username} is missing")
    return actor


def _reviewer_names() -> dict[str, str]:
    """Department code → the username of whoever reviews its entries."""
    region_operator = {p.code: f"{p.slug}_operator" for p in PREFECTURES}
    return {d.code: region_operator.get(d.region_code, "operator") for d in all_departments()}


def _seed_department(officer: ActionContext, reviewer: ActionContext, plan: list[Planned]) -> int:
    ids = [actions.create_entry(officer, p.content).id for p in plan]
    for p, entry_id in zip(plan, ids, strict=True):
        if p.fate != "draft":
            actions.submit_entry(officer, entry_id)
    for p, entry_id in zip(plan, ids, strict=True):
        if p.fate in ("draft", "submitted"):
            continue
        if p.fate == "returned":
            request = ReturnRequest(reasons=p.reasons, comment=p.comment)
            actions.return_entry(reviewer, entry_id, request)
            continue
        actions.publish_entry(reviewer, entry_id, PublishRequest(comment=PUBLISH_COMMENT))
    for p, entry_id in zip(plan, ids, strict=True):
        if p.fate == "withdrawn":
            actions.withdraw_entry(reviewer, entry_id, WithdrawRequest(reason=p.comment or ""))
        elif p.fate in ("revised", "revising"):
            actions.new_version(officer, entry_id, NewVersion(change_note=REVISION_NOTE))
            actions.update_entry(officer, entry_id, revision(p.content))
            actions.submit_entry(officer, entry_id)
            if p.fate == "revised":
                actions.publish_entry(reviewer, entry_id, PublishRequest(comment=PUBLISH_COMMENT))
    return len(ids)


def seed_catalog(
    db: Database,
    settings: Settings,
    *,
    progress: CatalogProgress | None = None,
    departments: Collection[str] | None = None,
) -> int:
    """Catalogue the demo departments' resources; return how many demo entries the store holds.

    Needs the demo province (departments and users) seeded first. Also adds the
    starter search synonyms. Departments that already have entries are left
    alone, so running it again adds nothing. ``departments`` limits the seeding to
    those department codes.
    """
    by_department: dict[str, list[Planned]] = {}
    for planned in plan_catalog():
        if departments is not None and planned.department not in departments:
            continue
        by_department.setdefault(planned.department, []).append(planned)
    reviewer_of = _reviewer_names()
    with Caller(db, settings, SYSTEM, "demo").act() as ctx:
        seed_default_synonyms(ctx.session)
        people = {reviewer_of[code]: _actor(ctx, reviewer_of[code]) for code in by_department}
        for code in by_department:
            people[f"{code}_officer"] = _actor(ctx, f"{code}_officer")
    total = 0
    for done, (code, plan) in enumerate(by_department.items(), start=1):
        officer = people[f"{code}_officer"]
        with Caller(db, settings, officer, "demo").act() as ctx:
            existing = actions.list_department_entries(ctx, limit=1).total
            if existing:
                total += existing
            else:
                # The reviewer acts in the officer's transaction: the department is all or nothing.
                reviewer = ActionContext(ctx.session, people[reviewer_of[code]], settings, "demo")
                total += _seed_department(ctx, reviewer, plan)
        if progress is not None:
            progress(done, len(by_department))
    return total
