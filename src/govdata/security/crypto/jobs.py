"""Job handler: rewrap data keys and source secrets under the active master key.

``security.keys.rewrap`` walks the data keys wrapped under any other master key, a batch per
transaction (each batch audited in that transaction), then the source secrets in id order.
A batch is idempotent and the secrets' position is checkpointed, so a stopped job resumes
where it was; meanwhile every wrap opens, under whichever master key it is still under.
"""

from __future__ import annotations

from typing import Any

from govdata.core.jobs.registry import job_handler
from govdata.core.jobs.worker import JobRun
from govdata.security.audit import write_audit
from govdata.security.context_types import SYSTEM
from govdata.security.crypto import envelope
from govdata.security.crypto.actions import REWRAP_JOB
from govdata.security.crypto.keyring import Keyring
from govdata.sources import secrets as sealing

BATCH = 200


@job_handler(REWRAP_JOB)
def rewrap(job: JobRun) -> dict[str, Any] | None:
    keyring = Keyring(job.settings)
    state: dict[str, Any] = {"phase": "keys", "data_keys": 0, "secrets": 0, "after": ""}
    state.update(job.checkpoint or {})
    failed: list[str] = list(state.get("failed", []))
    with job.db.transaction() as s:
        total = int(state["data_keys"]) + envelope.pending_rewrap(s, keyring.active().id)
    while state["phase"] == "keys":
        with job.db.transaction(immediate=True) as s:
            master = keyring.active().id
            ids = envelope.rewrap_batch(s, keyring, BATCH)
            if ids:
                write_audit(
                    s,
                    SYSTEM,
                    "security.keys.rewrap",
                    target_type="data_keys",
                    target_id=master,
                    row_count=len(ids),
                    details={"master_key_id": master, "first": ids[0], "last": ids[-1]},
                )
        state["data_keys"] = int(state["data_keys"]) + len(ids)
        if not ids:
            state["phase"] = "secrets"
        job.save_checkpoint(state)
        done = int(state["data_keys"])
        job.progress(done, max(total, done), "重新封装数据密钥 / rewrapping data keys")
        if job.cancelled():
            return {**state, "cancelled": True}
    while state["phase"] == "secrets":
        with job.db.transaction(immediate=True) as s:
            master = keyring.active().id
            last, changed, bad = sealing.rewrap_batch(s, job.settings, state["after"], BATCH)
            if changed or bad:
                write_audit(
                    s,
                    SYSTEM,
                    "security.keys.rewrap",
                    target_type="source_secrets",
                    target_id=master,
                    row_count=changed,
                    details={"master_key_id": master, "unreadable_sources": bad},
                )
        failed.extend(bad)
        state.update(secrets=int(state["secrets"]) + changed, failed=failed)
        if last is None:
            state["phase"] = "done"
        else:
            state["after"] = last
        job.save_checkpoint(state)
        if job.cancelled():
            return {**state, "cancelled": True}
    return {
        "data_keys": state["data_keys"],
        "secrets": state["secrets"],
        "unreadable_sources": failed,
    }
