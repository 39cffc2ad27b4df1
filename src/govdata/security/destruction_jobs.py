"""Job handler: carry out an approved destruction, step by step, and certify it.

``security.destruction`` (payload ``{"destruction_id"}``) runs the steps below in order.
Each step records itself on the request in the same transaction as its effect on the store
(file deletion, which no transaction covers, is idempotent and recorded right after), so a
job stopped anywhere resumes at the first step not recorded:

1. ``pipelines``: pause the entry's pipelines, so nothing collects into the table again;
   wait (retry later) while one of them is still running;
2. ``manifest``: list every file of the table (data files, deletion vectors, change-data
   files, the whole ``_delta_log``) and the pipelines' staging folders, with size and SM3;
3. ``keys``: shred the table's data keys (crypto-shredding) — first, so that from here on
   no copy of its encrypted columns anywhere opens again;
4. ``files``: delete the table's folder (every version) and the staging folders;
5. ``sharing``: revoke the entry's grants (which ends their subscriptions);
6. ``certified``: issue the certificate and write it as the audit record
   ``security.destruction.certified`` — a leaf of the tamper-evident ledger.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.config import Settings
from govdata.core.clock import now
from govdata.core.db import Database
from govdata.core.errors import GovDataError
from govdata.core.jobs.registry import job_handler
from govdata.core.jobs.worker import JobFailed, JobRun
from govdata.exchange import pipelines as exchange_pipelines
from govdata.exchange.models import Mount, Pipeline, PipelineRun
from govdata.exchange.vocab import PipelineState, RunStatus
from govdata.lake.tables import Lake
from govdata.notifications.actions import Message, notify
from govdata.security.audit import write_audit
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM
from govdata.security.crypto import envelope, sm3
from govdata.security.destruction import JOB_KIND
from govdata.security.destruction_models import DestructionRequest
from govdata.security.destruction_schemas import DestructionStatus
from govdata.sharing import grants as sharing_grants
from govdata.sharing.models import Grant
from govdata.sharing.schemas import ReasonIn
from govdata.sharing.vocab import GrantStatus

STEPS = ("pipelines", "manifest", "keys", "files", "sharing", "certified")
STAGING = "_staging"
CHUNK = 1 << 20


class PipelineBusy(GovDataError):
    code = "destruction_pipeline_running"
    status = 409
    message_zh = "该目录的数据管道仍在运行，稍后重试销毁"
    message_en = "A pipeline of the entry is still running; the destruction retries later"


def _file_sm3(path: Path) -> str:
    h = sm3.Hasher()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def manifest_digest(manifest: list[dict[str, Any]]) -> str:
    """SM3 of the manifest's canonical JSON: what the certificate vouches for."""
    text = json.dumps(manifest, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return sm3.hexdigest(text.encode())


def _folders(settings: Settings, req: DestructionRequest) -> list[Path]:
    lake = Lake.from_settings(settings)
    folders = []
    if req.lake_table:
        folders.append(lake.path(req.lake_table))
    for pid in (req.facts or {}).get("pipelines", []):
        folders.append(settings.lake_dir / STAGING / pid)
    return folders


class _Run:
    def __init__(self, db: Database, settings: Settings, request_id: str) -> None:
        self.db = db
        self.settings = settings
        self.id = request_id

    def request(self, s: Session) -> DestructionRequest:
        req = s.get(DestructionRequest, self.id)
        if req is None:
            raise JobFailed(f"destruction {self.id} not found")
        return req

    def done(self, req: DestructionRequest, step: str) -> None:
        req.steps = [*(req.steps or []), step]

    # -- steps ----------------------------------------------------------------------------

    def pipelines(self) -> None:
        with Caller(self.db, self.settings, SYSTEM).act() as ctx:
            req = self.request(ctx.session)
            found = ctx.session.execute(
                select(Pipeline.id, Pipeline.state)
                .join(Mount, Mount.id == Pipeline.mount_id)
                .where(Mount.entry_id == req.entry_id)
                .order_by(Pipeline.id)
            ).all()
            ids = [pid for pid, _state in found]
            for pid, state in found:
                if state != PipelineState.PAUSED:
                    exchange_pipelines.pause_pipeline(ctx, pid)
            req.facts = {**(req.facts or {}), "pipelines": ids}
        with self.db.transaction(immediate=True) as s:
            running = s.scalar(
                select(PipelineRun.id).where(
                    PipelineRun.pipeline_id.in_(ids), PipelineRun.status == RunStatus.RUNNING
                )
            )
            if running is None:
                self.done(self.request(s), "pipelines")
        if running is not None:
            # Paused, but a run is still finishing: destroying now could race its commit.
            raise PipelineBusy(details={"run_id": running})

    def manifest(self) -> None:
        with self.db.transaction() as s:
            req = self.request(s)
            folders = _folders(self.settings, req)
        encrypted: dict[str, str] = {}
        lake = Lake.from_settings(self.settings)
        if req.lake_table and lake.exists(req.lake_table):
            encrypted = lake.encrypted_columns(req.lake_table)
        root = self.settings.lake_dir
        entries: list[dict[str, Any]] = []
        for folder in folders:
            if not folder.exists():
                continue
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                entries.append(
                    {
                        "path": str(path.relative_to(root)),
                        "bytes": path.stat().st_size,
                        "sm3": _file_sm3(path),
                    }
                )
        with self.db.transaction(immediate=True) as s:
            req = self.request(s)
            req.manifest = entries
            req.manifest_sm3 = manifest_digest(entries)
            req.file_count = len(entries)
            req.bytes_removed = sum(int(e["bytes"]) for e in entries)
            req.facts = {**(req.facts or {}), "encrypted_columns": sorted(encrypted)}
            self.done(req, "manifest")

    def keys(self) -> None:
        with self.db.transaction(immediate=True) as s:
            req = self.request(s)
            shredded: list[str] = []
            if req.lake_table:
                owner = envelope.lake_owner(req.lake_table)
                shredded = envelope.destroy(s, owner, req.id)
                write_audit(
                    s,
                    SYSTEM,
                    "security.data_key.destroy",
                    target_type="data_keys",
                    target_id=owner,
                    details={"owner": owner, "key_ids": shredded, "destruction": req.code},
                )
            req.key_ids = [*(req.key_ids or []), *shredded]
            self.done(req, "keys")

    def files(self) -> None:
        with self.db.transaction() as s:
            folders = _folders(self.settings, self.request(s))
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
        left = [str(f) for f in folders if f.exists()]
        if left:
            raise GovDataError(
                "部分文件未能删除，稍后重试",
                "Some files could not be deleted; retrying later",
                code="destruction_files_left",
                details={"folders": left},
            )
        with self.db.transaction(immediate=True) as s:
            req = self.request(s)
            write_audit(
                s,
                SYSTEM,
                "security.destruction.files",
                target_type="destruction",
                target_id=req.id,
                row_count=req.file_count,
                details={"lake_table": req.lake_table, "bytes": req.bytes_removed},
            )
            self.done(req, "files")

    def sharing(self) -> None:
        with Caller(self.db, self.settings, SYSTEM).act() as ctx:
            req = self.request(ctx.session)
            ended = []
            grant_ids = ctx.session.scalars(
                select(Grant.id)
                .where(Grant.entry_id == req.entry_id, Grant.status != GrantStatus.REVOKED)
                .order_by(Grant.id)
            ).all()
            reason = ReasonIn(reason=f"数据已安全销毁（{req.code}） / data destroyed ({req.code})")
            for gid in grant_ids:
                sharing_grants.revoke_grant(ctx, gid, reason)
                ended.append(gid)
            req.grants_ended = [*(req.grants_ended or []), *ended]
            self.done(req, "sharing")

    def certified(self) -> None:
        with Caller(self.db, self.settings, SYSTEM).act() as ctx:
            req = self.request(ctx.session)
            at = now()
            facts = req.facts or {}
            cert = {
                "certificate_no": req.code,
                "destruction_id": req.id,
                "entry_id": req.entry_id,
                "resource_code": req.resource_code,
                "entry_name": req.entry_name,
                "department_id": req.department_id,
                "lake_table": req.lake_table,
                "reason": req.reason,
                "requested_by": req.requested_by_name,
                "requested_at": req.created_at.isoformat(),
                "approved_by": req.decided_by_name,
                "approved_at": req.decided_at.isoformat() if req.decided_at else None,
                "completed_at": at.isoformat(),
                "files_removed": req.file_count,
                "bytes_removed": req.bytes_removed,
                "manifest_sm3": req.manifest_sm3,
                "digest_algorithm": sm3.ALGORITHM,
                "data_keys_destroyed": list(req.key_ids or []),
                "encrypted_columns": list(facts.get("encrypted_columns", [])),
                "pipelines_paused": list(facts.get("pipelines", [])),
                "grants_ended": list(req.grants_ended or []),
            }
            req.certificate = cert
            req.completed_at = at
            req.status = DestructionStatus.COMPLETED.value
            req.error = None
            self.done(req, "certified")
            ctx.audit(
                "security.destruction.certified",
                target_type="destruction",
                target_id=req.id,
                row_count=req.file_count,
                details=cert,
            )
            notify(
                ctx.session,
                [u for u in (req.requested_by, req.decided_by) if u],
                Message(
                    kind="security.destruction.completed",
                    title_zh=f"数据已安全销毁：{req.entry_name}",
                    title_en=f"Data securely destroyed: {req.entry_name}",
                    link=f"/security/destructions/{req.id}",
                    target_type="destruction",
                    target_id=req.id,
                ),
            )


def carry_out(db: Database, settings: Settings, request_id: str, job: JobRun | None = None) -> str:
    """Run the destruction's remaining steps; returns its final status."""
    run = _Run(db, settings, request_id)
    with db.transaction(immediate=True) as s:
        req = run.request(s)
        if req.status == DestructionStatus.COMPLETED:
            return req.status
        if req.status not in (
            DestructionStatus.APPROVED,
            DestructionStatus.DESTROYING,
            DestructionStatus.FAILED,
        ):
            raise JobFailed(f"destruction {req.code} is {req.status}, not approved")
        req.status = DestructionStatus.DESTROYING.value
        done = list(req.steps or [])
    try:
        for i, step in enumerate(STEPS):
            if step in done:
                continue
            if job is not None:
                job.progress(i, len(STEPS), step)
            getattr(run, step)()
    except Exception as exc:
        with db.transaction(immediate=True) as s:
            req = run.request(s)
            req.status = DestructionStatus.FAILED.value
            req.error = str(exc)[:2000]
        raise
    if job is not None:
        job.progress(len(STEPS), len(STEPS), "certified")
    return DestructionStatus.COMPLETED.value


@job_handler(JOB_KIND)
def destroy(job: JobRun) -> dict[str, Any] | None:
    request_id = str(job.payload.get("destruction_id", ""))
    status = carry_out(job.db, job.settings, request_id, job)
    return {"destruction_id": request_id, "status": status}
