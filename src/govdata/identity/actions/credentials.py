"""App credentials: department-bound bearer tokens for machine clients."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute

from govdata.core.clock import as_utc, now
from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from govdata.core.pagination import paginate
from govdata.identity.actions._common import (
    _count,
    _input_department,
    _visible_departments,
    department_scope,
)
from govdata.identity.models import AppCredential, Department
from govdata.identity.schemas import (
    MAX_CREDENTIAL_DAYS,
    CredentialCreate,
    CredentialCreated,
    CredentialOut,
    CredentialPage,
)
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm

TOKEN_PREFIX = "gdt_"  # noqa: S105 - a marker, not a secret


def credential_status(c: AppCredential) -> str:
    if c.revoked_at is not None:
        return "revoked"
    if as_utc(c.expires_at) <= now():
        return "expired"
    return "active"


def _credential_out(c: AppCredential) -> CredentialOut:
    return CredentialOut(
        id=c.id,
        name=c.name,
        department_id=c.department_id,
        department_code=c.department.code,
        department_name=c.department.name,
        scopes=list(c.scopes),
        token_prefix=c.token_prefix,
        expires_at=c.expires_at,
        revoked_at=c.revoked_at,
        last_used_at=c.last_used_at,
        created_by=c.created_by,
        created_by_name=c.created_by_name,
        created_at=c.created_at,
        status=credential_status(c),  # type: ignore[arg-type]
    )


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _expiry(data: CredentialCreate) -> datetime:
    at = now()
    expires = at + timedelta(days=data.days) if data.days else as_utc(data.expires_at or at)
    if data.expires_at is not None and data.expires_at.tzinfo is None:
        raise InvalidInput(
            "过期时间须带时区", "expires_at needs a time zone", code="invalid_expiry"
        )
    if expires <= at or expires > at + timedelta(days=MAX_CREDENTIAL_DAYS, minutes=1):
        raise InvalidInput(
            f"过期时间须在未来 {MAX_CREDENTIAL_DAYS} 天之内",
            f"expires_at must lie within the next {MAX_CREDENTIAL_DAYS} days",
            code="invalid_expiry",
        )
    return expires


def create_credential(ctx: ActionContext, data: CredentialCreate) -> CredentialCreated:
    """Create an app credential for a department; the token is returned this once.

    The app acts as a department user of that department, further limited to
    ``scopes``, which must be permissions the creator holds there (403
    ``scope_not_held``). Errors: 422 ``unknown_department``, ``invalid_expiry``;
    409 ``department_inactive``.
    """
    ctx.require(Perm.CREDENTIAL_MANAGE)
    s = ctx.session
    dept = _input_department(s, data.department_id, data.department_code)
    scope = department_scope(dept)
    ctx.require(Perm.CREDENTIAL_MANAGE, scope, target_id=dept.id)
    not_held = sorted(p.value for p in set(data.scopes) if not ctx.actor.can(p, scope))
    if not_held:
        raise PermissionDenied(
            "凭证权限不能超出创建者自身的权限",
            "A credential cannot have permissions its creator lacks",
            code="scope_not_held",
            details={"scopes": not_held},
        )
    if not dept.is_active:
        raise Conflict("部门已停用", "The department is inactive", code="department_inactive")
    expires_at = _expiry(data)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    cred = AppCredential(
        name=data.name,
        department_id=dept.id,
        scopes=sorted({p.value for p in data.scopes}),
        token_hash=hash_token(token),
        token_prefix=token[:12],
        expires_at=expires_at,
        created_by=ctx.actor.id,
        created_by_name=ctx.actor.name,
    )
    cred.department = dept
    s.add(cred)
    s.flush()
    ctx.audit(
        "credential.create",
        target_type="credential",
        target_id=cred.id,
        details={
            "name": cred.name,
            "department_id": dept.id,
            "scopes": cred.scopes,
            "expires_at": expires_at.isoformat(),
        },
    )
    return CredentialCreated(credential=_credential_out(cred), token=token)


def list_credentials(
    ctx: ActionContext,
    *,
    department_id: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> CredentialPage:
    """App credentials of the departments the actor may see, newest first."""
    ctx.require(Perm.CREDENTIAL_READ)
    s = ctx.session
    stmt = select(AppCredential)
    visible = _visible_departments(ctx, Perm.CREDENTIAL_READ)
    if visible is not None:
        stmt = stmt.where(AppCredential.department_id.in_(select(Department.id).where(visible)))
    if department_id:
        stmt = stmt.where(AppCredential.department_id == department_id)
    keys: list[InstrumentedAttribute[Any]] = [AppCredential.created_at, AppCredential.id]
    page = paginate(s, stmt, keys, limit=limit, cursor=cursor, descending=True)
    return CredentialPage(
        items=[_credential_out(c) for c in page.items],
        total=_count(s, stmt),
        next_cursor=page.next_cursor,
    )


def revoke_credential(ctx: ActionContext, credential_id: str) -> CredentialOut:
    """Revoke an app credential at once; revoking twice changes nothing.
    404 ``credential_not_found``."""
    ctx.require(Perm.CREDENTIAL_MANAGE)
    s = ctx.session
    cred = s.get(AppCredential, credential_id)
    if cred is None:
        raise NotFound("凭证不存在", "Credential not found", code="credential_not_found")
    ctx.require(Perm.CREDENTIAL_MANAGE, department_scope(cred.department), target_id=cred.id)
    if cred.revoked_at is None:
        cred.revoked_at = now()
        s.flush()
        ctx.audit("credential.revoke", target_type="credential", target_id=cred.id)
    return _credential_out(cred)
