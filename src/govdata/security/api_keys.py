"""REST API of key management and secure destruction (under /api/v1); thin shells over the
actions in ``security.crypto.actions`` and ``security.destruction``."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Response

from govdata.security import destruction
from govdata.security.crypto import actions as keys
from govdata.security.crypto.schemas import (
    DataKeyOut,
    DataKeyRotationOut,
    KeyStatusOut,
    MasterRotationOut,
    RewrapOut,
)
from govdata.security.destruction_schemas import (
    DecisionIn,
    DestructionIn,
    DestructionOut,
    DestructionPage,
    DestructionStatus,
)
from govdata.web.deps import CallerDep

router = APIRouter(tags=["keys"])


@router.get("/keys/status", response_model=KeyStatusOut)
def key_status(caller: CallerDep) -> KeyStatusOut:
    """The active master key and what each master key wraps (security administrator)."""
    with caller.act() as ctx:
        return keys.key_status(ctx)


@router.get("/keys/data-keys", response_model=list[DataKeyOut])
def list_data_keys(
    caller: CallerDep, owner: str | None = None, entry_id: str | None = None
) -> list[DataKeyOut]:
    """Data keys: ids, owners, generations, states; never key material."""
    with caller.act() as ctx:
        return keys.list_data_keys(ctx, owner=owner, entry_id=entry_id)


@router.post("/keys/master/rotate", response_model=MasterRotationOut)
def rotate_master_key(caller: CallerDep) -> MasterRotationOut:
    """Install a new master key and start rewrapping under it (no downtime)."""
    with caller.act() as ctx:
        return keys.rotate_master_key(ctx)


@router.post("/keys/rewrap", response_model=RewrapOut)
def start_rewrap(caller: CallerDep) -> RewrapOut:
    """Rewrap everything not yet under the active master key (a job)."""
    with caller.act() as ctx:
        return keys.start_rewrap(ctx)


@router.post("/keys/master/{master_key_id}/forget", status_code=204)
def forget_master_key(caller: CallerDep, master_key_id: str) -> Response:
    """Delete a retired master key once nothing is wrapped under it."""
    with caller.act() as ctx:
        keys.forget_master_key(ctx, master_key_id)
    return Response(status_code=204)


@router.post("/keys/tables/{table}/rotate", response_model=DataKeyRotationOut)
def rotate_table_key(caller: CallerDep, table: str) -> DataKeyRotationOut:
    """A new data key for a lake table; what the old one encrypted stays readable."""
    with caller.act() as ctx:
        return keys.rotate_table_key(ctx, table)


@router.get("/destructions", response_model=DestructionPage)
def list_destructions(
    caller: CallerDep,
    status: DestructionStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> DestructionPage:
    """Destruction requests the caller sees, newest first."""
    with caller.act() as ctx:
        return destruction.list_destructions(ctx, status=status, limit=limit, cursor=cursor)


@router.post("/destructions", response_model=DestructionOut, status_code=201)
def request_destruction(caller: CallerDep, data: DestructionIn) -> DestructionOut:
    """Ask for an entry's collected data to be destroyed (department officer or operator)."""
    with caller.act() as ctx:
        return destruction.request_destruction(ctx, data)


@router.get("/destructions/{destruction_id}", response_model=DestructionOut)
def get_destruction(caller: CallerDep, destruction_id: str) -> DestructionOut:
    with caller.act() as ctx:
        return destruction.get_destruction(ctx, destruction_id)


@router.post("/destructions/{destruction_id}/decision", response_model=DestructionOut)
def decide_destruction(caller: CallerDep, destruction_id: str, data: DecisionIn) -> DestructionOut:
    """Approve (starts the destruction) or reject; the security administrator, never the
    requester."""
    with caller.act() as ctx:
        return destruction.decide_destruction(ctx, destruction_id, data)


@router.get("/destructions/{destruction_id}/certificate")
def destruction_certificate(caller: CallerDep, destruction_id: str) -> Response:
    """The destruction certificate as a JSON download."""
    with caller.act() as ctx:
        cert = destruction.certificate(ctx, destruction_id)
    code = cert.get("certificate_no", destruction_id)
    body = json.dumps(cert, ensure_ascii=False, indent=2)
    return Response(
        body,
        media_type="application/json",
        headers={"content-disposition": f'attachment; filename="destruction-{code}.json"'},
    )
