"""REST API of catalog search synonyms (mounted under /api/v1); the search itself is
``GET /catalog/entries`` in the catalog API, built on ``search.search_params``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import ValidationError

from govdata.catalog import synonyms
from govdata.catalog.synonyms import SynonymIn, SynonymList, SynonymOut, SynonymsBody
from govdata.core.errors import InvalidInput
from govdata.web.deps import CallerDep

router = APIRouter(tags=["catalog"])

Term = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/catalog/synonyms", response_model=SynonymList)
def list_synonyms(caller: CallerDep) -> SynonymList:
    """Every search synonym set (catalog.read)."""
    with caller.act() as ctx:
        return synonyms.list_synonyms(ctx)


@router.put("/catalog/synonyms/{term}", response_model=SynonymOut)
def set_synonyms(term: Term, data: SynonymsBody, caller: CallerDep) -> SynonymOut:
    """Create or replace the synonyms of ``term`` (catalog.manage)."""
    try:
        payload = SynonymIn(term=term, synonyms=data.synonyms)
    except ValidationError as exc:
        raise InvalidInput(
            details=[{"loc": list(map(str, e["loc"])), "msg": e["msg"]} for e in exc.errors()]
        ) from None
    with caller.act() as ctx:
        return synonyms.set_synonyms(ctx, payload)


@router.delete("/catalog/synonyms/{term}", status_code=204)
def delete_synonym(term: Term, caller: CallerDep) -> Response:
    """Remove the synonyms of ``term`` (catalog.manage)."""
    with caller.act() as ctx:
        synonyms.delete_synonym(ctx, term)
    return Response(status_code=204)
