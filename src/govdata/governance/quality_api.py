"""Quality API: rules per entry (suggest, add, change, delete), runs and their results,
scores by entry, department and region, and an entry's trend.

``{entry}`` is an entry id or its resource code (URL-encode the ``/``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from govdata.governance import quality_rules, quality_runs
from govdata.governance.quality_schemas import (
    RuleIn,
    RuleOut,
    RuleUpdate,
    RunOut,
    RunPage,
    RunStarted,
    ScoreRow,
    SuggestionOut,
    TrendPoint,
)
from govdata.web.deps import CallerDep

router = APIRouter(prefix="/governance/quality", tags=["governance"])


@router.get("/entries/{entry}/rules", response_model=list[RuleOut])
def list_rules(caller: CallerDep, entry: str) -> list[RuleOut]:
    """The entry's rules (``quality.read``)."""
    with caller.act() as ctx:
        return quality_rules.list_rules(ctx, entry)


@router.post("/entries/{entry}/rules", response_model=RuleOut, status_code=201)
def create_rule(caller: CallerDep, entry: str, data: RuleIn) -> RuleOut:
    """Attach a rule (``quality.manage`` over the provider department)."""
    with caller.act() as ctx:
        return quality_rules.create_rule(ctx, entry, data)


@router.get("/entries/{entry}/suggestions", response_model=list[SuggestionOut])
def suggestions(caller: CallerDep, entry: str) -> list[SuggestionOut]:
    """Rules the entry's item types and data elements call for; nothing is saved."""
    with caller.act() as ctx:
        return quality_rules.suggest_rules(ctx, entry)


@router.post("/entries/{entry}/suggestions/apply", response_model=list[RuleOut])
def apply_suggestions(
    caller: CallerDep,
    entry: str,
    kind: Annotated[list[str] | None, Query(description="only these kinds")] = None,
) -> list[RuleOut]:
    """Attach every suggestion not attached yet (or only those of ``kind``)."""
    with caller.act() as ctx:
        return quality_rules.apply_suggestions(ctx, entry, kind)


@router.put("/rules/{rule_id}", response_model=RuleOut)
def update_rule(caller: CallerDep, rule_id: str, data: RuleUpdate) -> RuleOut:
    """Change a rule's parameters, dimension, severity, name or switch it on or off."""
    with caller.act() as ctx:
        return quality_rules.update_rule(ctx, rule_id, data)


@router.delete("/rules/{rule_id}", status_code=204)
def delete_rule(caller: CallerDep, rule_id: str) -> Response:
    """Remove a rule; past runs keep its results."""
    with caller.act() as ctx:
        quality_rules.delete_rule(ctx, rule_id)
    return Response(status_code=204)


@router.post("/entries/{entry}/runs", response_model=RunStarted, status_code=202)
def start_run(caller: CallerDep, entry: str) -> RunStarted:
    """Queue a run of the entry's enabled rules as a job; follow it under /jobs."""
    with caller.act() as ctx:
        return quality_runs.start_run(ctx, entry)


@router.get("/runs", response_model=RunPage)
def list_runs(
    caller: CallerDep,
    entry: str | None = None,
    department_id: str | None = None,
    status: Annotated[str | None, Query(description="succeeded or failed")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> RunPage:
    """Runs in the caller's scope, newest first, without per-rule results."""
    with caller.act() as ctx:
        return quality_runs.list_runs(
            ctx,
            entry_ref=entry,
            department_id=department_id,
            status=status,
            limit=limit,
            cursor=cursor,
        )


@router.get("/runs/{run_id}", response_model=RunOut)
def get_run(caller: CallerDep, run_id: str) -> RunOut:
    """One run with every rule's result; sample rows only for who may preview the data."""
    with caller.act() as ctx:
        return quality_runs.get_run(ctx, run_id)


@router.get("/scores", response_model=list[ScoreRow])
def scores(
    caller: CallerDep,
    by: Annotated[str, Query(description="entry, department or region")] = "department",
) -> list[ScoreRow]:
    """Latest quality scores (0–100) in the caller's scope, overall and per dimension."""
    with caller.act() as ctx:
        return quality_runs.scores(ctx, by)


@router.get("/entries/{entry}/trend", response_model=list[TrendPoint])
def trend(
    caller: CallerDep, entry: str, limit: Annotated[int, Query(ge=1, le=365)] = 30
) -> list[TrendPoint]:
    """The entry's scores over its last runs, oldest first."""
    with caller.act() as ctx:
        return quality_runs.trend(ctx, entry, limit=limit)
