"""Key management for the security administrator: status, master key rotation, rewrapping,
data key rotation per lake table, retiring an old master key.

Only ``security.manage`` (the security administrator, 三员分立) manages keys. Every change is
audited with key ids only; key material never reaches an audit record, a log or a response.
"""

from __future__ import annotations

from sqlalchemy import select

from govdata.core.errors import Conflict, NotFound
from govdata.core.jobs import queue as jobqueue
from govdata.core.jobs.models import QUEUED, RUNNING, Job
from govdata.security.context import ActionContext
from govdata.security.crypto import envelope
from govdata.security.crypto.keyring import Keyring
from govdata.security.crypto.models import DataKey
from govdata.security.crypto.schemas import (
    DataKeyOut,
    DataKeyRotationOut,
    KeyStatusOut,
    MasterKeyOut,
    MasterRotationOut,
    RewrapOut,
)
from govdata.security.permissions import Perm
from govdata.sources import secrets as sealing

REWRAP_JOB = "security.keys.rewrap"


def _rewrap_job(ctx: ActionContext) -> Job | None:
    return ctx.session.scalar(
        select(Job)
        .where(Job.kind == REWRAP_JOB, Job.status.in_((QUEUED, RUNNING)))
        .order_by(Job.created_at.desc())
        .limit(1)
    )


def key_status(ctx: ActionContext) -> KeyStatusOut:
    """The active master key, every master key something is wrapped under (with how many data
    keys and source secrets each wraps), and how much still awaits a rewrap."""
    ctx.require(Perm.SECURITY_MANAGE)
    keyring = Keyring(ctx.settings)
    active = keyring.active()
    known = keyring.known()
    data = envelope.by_master(ctx.session)
    sealed = sealing.sealed_by_master(ctx.session)
    legacy = sealed.pop(sealing.LEGACY_FORMAT, 0)
    ids = sorted(set(known) | set(data) | set(sealed), key=lambda k: (k != active.id, k))
    masters = [
        MasterKeyOut(
            id=kid,
            origin=known[kid].origin if kid in known else "missing",
            active=kid == active.id,
            data_keys=data.get(kid, 0),
            secrets=sealed.get(kid, 0),
        )
        for kid in ids
    ]
    pending = sum(m.data_keys + m.secrets for m in masters if not m.active) + legacy
    job = _rewrap_job(ctx)
    return KeyStatusOut(
        active_master_key_id=active.id,
        from_settings=keyring.from_settings(),
        master_keys=masters,
        pending_rewrap=pending,
        legacy_secrets=legacy,
        rewrap_job_id=job.id if job is not None else None,
    )


def list_data_keys(
    ctx: ActionContext, *, owner: str | None = None, entry_id: str | None = None
) -> list[DataKeyOut]:
    """Data keys (ids, owners, generations, states, which master wraps them; never the key)."""
    ctx.require(Perm.SECURITY_MANAGE)
    stmt = select(DataKey).order_by(DataKey.owner, DataKey.generation)
    if owner:
        stmt = stmt.where(DataKey.owner == owner)
    if entry_id:
        stmt = stmt.where(DataKey.entry_id == entry_id)
    return [DataKeyOut.model_validate(k) for k in ctx.session.scalars(stmt.limit(1000))]


def _start_rewrap(ctx: ActionContext, master_id: str) -> Job:
    running = _rewrap_job(ctx)
    if running is not None:
        return running
    job, _ = jobqueue.enqueue(
        ctx.session,
        REWRAP_JOB,
        {"master_key_id": master_id},
        max_attempts=ctx.settings.job_max_attempts,
        created_by=ctx.actor.id,
    )
    return job


def rotate_master_key(ctx: ActionContext) -> MasterRotationOut:
    """Install a new master key (key file mode) and start rewrapping every data key and source
    secret under it. Nothing stops meanwhile: wraps under the old key keep opening until the
    job reaches them. With ``GOVDATA_MASTER_KEY`` set the new key must come from the settings
    (``master_key_from_settings``); then ``start_rewrap`` does the rest."""
    ctx.require(Perm.SECURITY_MANAGE)
    old, new = Keyring(ctx.settings).install_new()
    job = _start_rewrap(ctx, new.id)
    ctx.audit(
        "security.master_key.rotate",
        target_type="master_key",
        target_id=new.id,
        details={"old_master_key_id": old.id, "new_master_key_id": new.id, "job_id": job.id},
    )
    return MasterRotationOut(
        old_master_key_id=old.id, new_master_key_id=new.id, rewrap_job_id=job.id
    )


def start_rewrap(ctx: ActionContext) -> RewrapOut:
    """Rewrap everything not yet under the active master key (a job, resumable; one at a time)."""
    ctx.require(Perm.SECURITY_MANAGE)
    active = Keyring(ctx.settings).active()
    status = key_status(ctx)
    job = _start_rewrap(ctx, active.id)
    ctx.audit(
        "security.keys.rewrap.start",
        target_type="master_key",
        target_id=active.id,
        details={"job_id": job.id, "pending": status.pending_rewrap},
    )
    return RewrapOut(job_id=job.id, pending=status.pending_rewrap)


def rotate_table_key(ctx: ActionContext, table: str) -> DataKeyRotationOut:
    """A new data key for lake table ``table``: new data is encrypted with it; what the old key
    encrypted stays readable (every ciphertext names its key), the old key is ``retired``."""
    ctx.require(Perm.SECURITY_MANAGE)
    owner = envelope.lake_owner(table)
    exists = ctx.session.scalar(
        select(DataKey.id).where(DataKey.owner == owner, DataKey.state.in_(envelope.LIVE))
    )
    if exists is None:
        raise NotFound(
            f"湖表 {table} 没有可轮换的数据密钥",
            f"Lake table {table} has no data key to rotate",
            code="data_key_not_found",
            details={"table": table},
        )
    old, new = envelope.rotate(ctx.session, Keyring(ctx.settings), owner)
    ctx.audit(
        "security.data_key.rotate",
        target_type="data_key",
        target_id=new.id,
        details={
            "owner": owner,
            "old_key_id": old.key_id if old else None,
            "new_key_id": new.key_id,
            "generation": new.generation,
            "master_key_id": new.master_key_id,
        },
    )
    return DataKeyRotationOut(
        owner=owner,
        old_key_id=old.key_id if old else None,
        new_key_id=new.key_id,
        generation=new.generation,
    )


def forget_master_key(ctx: ActionContext, master_key_id: str) -> None:
    """Delete a retired master key's file once nothing is wrapped under it any more (after the
    rewrap): from then on a stolen copy of the store's old wraps is useless."""
    ctx.require(Perm.SECURITY_MANAGE)
    status = key_status(ctx)
    found = next((m for m in status.master_keys if m.id == master_key_id), None)
    if found is None or found.origin != "file":
        raise NotFound(
            f"密钥目录中没有主密钥 {master_key_id}",
            f"No master key {master_key_id} in the key folder",
            code="master_key_not_found",
            details={"master_key_id": master_key_id},
        )
    if found.active or found.data_keys or found.secrets:
        raise Conflict(
            f"主密钥 {master_key_id} 仍在使用（当前主密钥，或仍封装着密钥）：请先完成重新封装",
            f"Master key {master_key_id} is still in use (active, or still wrapping keys): "
            "finish the rewrap first",
            code="master_key_in_use",
            details=found.model_dump(),
        )
    Keyring(ctx.settings).forget(master_key_id)
    ctx.audit("security.master_key.forget", target_type="master_key", target_id=master_key_id)
