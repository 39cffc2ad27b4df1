"""Secure destruction (数据安全销毁): request with a reason, approval by the security
administrator only (never one's own request), a resumable job that deletes every version of
the lake table and shreds its data keys — so a copy of the files taken before can no longer
be decrypted — ends the entry's grants, and certifies all of it in the audit ledger."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from govdata.app import create_app
from govdata.catalog.models import CatalogEntry
from govdata.core.db import Database
from govdata.core.errors import GovDataError
from govdata.core.jobs.worker import Worker
from govdata.exchange.models import Pipeline
from govdata.identity.schemas import RoleAssignmentIn
from govdata.lake.tables import Lake
from govdata.security import destruction, destruction_jobs
from govdata.security.crypto import sm3
from govdata.security.crypto.models import DataKey
from govdata.security.destruction_schemas import DecisionIn, DestructionIn, DestructionOut
from govdata.security.permissions import Role
from govdata.sharing import dataapi
from govdata.sharing.models import Grant
from tests.catalog.conftest import org, settings
from tests.identity.conftest import PASSWORD, Org, audit_rows
from tests.security import lake_fixtures as lf
from tests.sharing.conftest import World
from tests.web.conftest import login

__all__ = ["org", "settings"]

SQLITE_ONLY = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
IDS = lf.plaintexts(0)
PHONES = lf.plaintexts(2)
REASON = "该数据已超过保存期限，按规定销毁"


def code_of(org: Org, user: str, fn: Any) -> str:
    with pytest.raises(GovDataError) as err, org.as_(user).act() as ctx:
        fn(ctx)
    return err.value.code


def ask(org: Org, user: str, entry: str) -> DestructionOut:
    with org.as_(user).act() as ctx:
        return destruction.request_destruction(ctx, DestructionIn(entry=entry, reason=REASON))


def decide(org: Org, user: str, request_id: str, approve: bool = True) -> DestructionOut:
    with org.as_(user).act() as ctx:
        return destruction.decide_destruction(
            ctx, request_id, DecisionIn(approve=approve, note="同意销毁")
        )


def manifest_of(lake_dir: Path, folder: Path, relative_to: Path) -> list[dict[str, Any]]:
    """The manifest recomputed independently from a copy of the files."""
    return [
        {
            "path": str((relative_to / p.relative_to(folder)).as_posix()),
            "bytes": p.stat().st_size,
            "sm3": sm3.hexdigest(p.read_bytes()),
        }
        for p in sorted(q for q in folder.rglob("*") if q.is_file())
    ]


def test_approved_destruction_removes_everything_and_shreds_the_copies(
    org: Org, db: Database, tmp_path: Path
) -> None:
    c = lf.collected(org, tmp_path)
    lake = Lake.from_settings(org.settings)
    world = World(org, tmp_path)
    with db.transaction() as s:
        entry = s.get(CatalogEntry, c.entry_id)
        assert entry is not None
        s.expunge(entry)
    app = world.apply(
        entry,
        items=["公民身份号码", "姓名", "手机号码"],
        clear_items=["公民身份号码", "手机号码"],
    )
    # Grade 3: the approval chain has operator and provider steps.
    for _ in range(4):
        if app.grant_id is not None:
            break
        user = "xn_officer" if app.current_step == "provider" else "operator"
        app = world.decide(app.id, user)
    assert app.grant_id, app
    # The consumer reads plaintext through the data-service API, by the encrypted key.
    page = dataapi.read_data(org.as_("hx_officer"), c.resource_code, key=IDS[3])
    assert [(r["resident_id"], r["phone"]) for r in page.rows] == [(IDS[3], PHONES[3])]

    org.add_user(
        "dual",
        RoleAssignmentIn(role=Role.DEPT_OFFICER, department_id=org.dept["xn_stats"]),
        RoleAssignmentIn(role=Role.SECADMIN),
        department="xn_stats",
    )
    # Only those who manage the entry's data may ask.
    for user in ("hx_officer", "xn_clerk", "secadmin", "auditor"):
        assert (
            code_of(
                org,
                user,
                lambda ctx: destruction.request_destruction(
                    ctx, DestructionIn(entry=c.resource_code, reason=REASON)
                ),
            )
            == "permission_denied"
        )
    req = ask(org, "dual", c.resource_code)
    assert (req.status, req.lake_table, req.requested_by_name) == ("pending", c.table, "dual")
    assert (
        code_of(
            org,
            "xn_officer",
            lambda ctx: destruction.request_destruction(
                ctx, DestructionIn(entry=c.entry_id, reason=REASON)
            ),
        )
        == "destruction_open"
    )
    # Separation of duties: only the security administrator decides, never on their own ask.
    for user in ("xn_officer", "operator", "auditor"):
        assert (
            code_of(
                org,
                user,
                lambda ctx: destruction.decide_destruction(ctx, req.id, DecisionIn(approve=True)),
            )
            == "permission_denied"
        )
    assert (
        code_of(
            org,
            "dual",
            lambda ctx: destruction.decide_destruction(ctx, req.id, DecisionIn(approve=True)),
        )
        == "destruction_self_approval"
    )

    # Someone kept a copy of the table's files (a backup) before the destruction.
    folder = lake.path(c.table)
    backup = tmp_path / "backup"
    shutil.copytree(folder, backup)
    relative = folder.relative_to(org.settings.lake_dir)
    expected = manifest_of(org.settings.lake_dir, backup, relative)
    with db.transaction() as s:
        key_ids = [
            k.key_id for k in s.scalars(select(DataKey).where(DataKey.owner == f"lake:{c.table}"))
        ]
    assert len(key_ids) == 1

    approved = decide(org, "secadmin", req.id)
    assert approved.status == "approved" and approved.job_id
    Worker(db, org.settings).run_until_idle()

    with org.as_("secadmin").act() as ctx:
        done = destruction.get_destruction(ctx, req.id)
    assert done.status == "completed", done.error
    assert done.steps == list(destruction_jobs.STEPS)
    # Every version and the Delta log are gone.
    assert not folder.exists() and not lake.exists(c.table)
    assert c.table not in lake.list_tables()
    # The certificate says what, when, who, how much, and vouches for the manifest.
    cert = done.certificate
    assert cert is not None
    assert cert["certificate_no"] == req.code
    assert (cert["requested_by"], cert["approved_by"]) == ("dual", "secadmin")
    assert cert["resource_code"] == c.resource_code and cert["lake_table"] == c.table
    assert cert["files_removed"] == len(expected) >= 3
    assert cert["bytes_removed"] == sum(e["bytes"] for e in expected)
    assert cert["manifest_sm3"] == destruction_jobs.manifest_digest(expected)
    assert any("_delta_log" in e["path"] for e in expected)
    assert cert["data_keys_destroyed"] == key_ids
    assert cert["encrypted_columns"] == ["phone", "resident_id"]
    assert cert["grants_ended"] == [app.grant_id]
    # ... and is a record of the (tamper-evident) audit trail.
    certified = audit_rows(db, "security.destruction.certified")
    assert [r["details"] for r in certified] == [cert]
    # The auditor and the provider department read it; a department user does not.
    with org.as_("auditor").act() as ctx:
        assert destruction.certificate(ctx, req.id) == cert
    with org.as_("xn_officer").act() as ctx:
        assert destruction.get_destruction(ctx, req.id).code == req.code
    assert code_of(org, "xn_clerk", lambda ctx: destruction.certificate(ctx, req.id)) == (
        "permission_denied"
    )

    # The keys are shredded: their wraps are gone from the store.
    with db.transaction() as s:
        rows = list(s.scalars(select(DataKey).where(DataKey.owner == f"lake:{c.table}")))
        assert [(k.state, k.wrapped, k.master_key_id) for k in rows] == [("destroyed", None, None)]
        grant = s.get(Grant, app.grant_id)
        assert grant is not None and grant.status == "revoked"
        paused = s.scalars(select(Pipeline.state).where(Pipeline.id == c.pipeline_id)).one()
        assert paused == "paused"
    # The grant is over: the next request is refused.
    with pytest.raises(GovDataError) as err:
        dataapi.read_data(org.as_("hx_officer"), c.resource_code, key=IDS[3])
    assert err.value.code == "sharing_grant_revoked"

    # Crypto-shredding: the copy, put back where it was, cannot be decrypted any more.
    shutil.copytree(backup, folder)
    with pytest.raises(GovDataError) as err:
        lake.read(c.table)
    assert (err.value.code, err.value.status) == ("data_key_destroyed", 410)
    stored = lf.raw_cells(folder, "resident_id") + lf.raw_cells(folder, "phone")
    assert len(stored) == 2 * len(IDS) and not set(stored) & set(IDS + PHONES)


@SQLITE_ONLY
def test_a_destruction_stopped_half_way_resumes_and_a_rejected_one_changes_nothing(
    org: Org, db: Database, tmp_path: Path
) -> None:
    c = lf.collected(org, tmp_path)
    lake = Lake.from_settings(org.settings)
    first = ask(org, "xn_officer", c.resource_code)
    rejected = decide(org, "secadmin", first.id, approve=False)
    assert rejected.status == "rejected" and rejected.job_id is None
    assert (
        code_of(
            org,
            "secadmin",
            lambda ctx: destruction.decide_destruction(ctx, first.id, DecisionIn(approve=True)),
        )
        == "destruction_decided"
    )
    assert lake.exists(c.table) and len(lake.read(c.table)) == len(IDS)

    again = ask(org, "xn_officer", c.resource_code)
    decide(org, "secadmin", again.id)
    # A worker did the first three steps and died (no job ran them: the steps are the job's).
    run = destruction_jobs._Run(db, org.settings, again.id)
    run.pipelines()
    run.manifest()
    run.keys()
    with org.as_("secadmin").act() as ctx:
        half = destruction.get_destruction(ctx, again.id)
    assert half.steps == ["pipelines", "manifest", "keys"] and half.certificate is None
    # Already unreadable, though the files are still there.
    with pytest.raises(GovDataError) as err:
        lake.read(c.table)
    assert err.value.code == "data_key_destroyed"

    Worker(db, org.settings).run_until_idle()
    with org.as_("secadmin").act() as ctx:
        done = destruction.get_destruction(ctx, again.id)
    assert done.status == "completed" and done.steps == list(destruction_jobs.STEPS)
    # The manifest recorded before the crash is the one certified; keys shredded once.
    assert done.manifest_sm3 == half.manifest_sm3 and done.file_count == half.file_count
    assert len(audit_rows(db, "security.data_key.destroy")) == 1
    assert not lake.exists(c.table)
    with org.as_("xn_officer").act() as ctx:
        listed = destruction.list_destructions(ctx)
    assert [d.status for d in listed.items] == ["completed", "rejected"]
    with org.as_("hx_officer").act() as ctx:
        assert destruction.list_destructions(ctx).items == []


@SQLITE_ONLY
def test_the_portal_pages_request_approve_and_show_the_certificate(
    org: Org, db: Database, tmp_path: Path
) -> None:
    c = lf.collected(org, tmp_path)
    settings = org.settings.model_copy(update={"demo_mode": True})
    with TestClient(create_app(settings, migrate=False), follow_redirects=False) as client:
        token = login(client, "xn_officer", PASSWORD)
        page = client.get("/security/destructions")
        assert page.status_code == 200 and 'id="request-destruction"' in page.text
        assert "数据安全销毁" in page.text  # Chinese by default
        sent = client.post(
            "/security/destructions",
            data={"entry": c.resource_code, "reason": REASON, "csrf_token": token},
        )
        assert sent.status_code == 303, sent.text
        detail_url = sent.headers["location"].split("?")[0]
        assert 'id="approve"' not in client.get(detail_url).text

        client.cookies.clear()
        token = login(client, "secadmin", PASSWORD)
        detail = client.get(detail_url)
        assert 'id="approve"' in detail.text and "待审批" in detail.text
        decided = client.post(
            f"{detail_url}/decision",
            data={"decision": "approve", "note": "同意", "csrf_token": token},
        )
        assert decided.status_code == 303, decided.text
        Worker(db, settings).run_until_idle()
        done = client.get(detail_url)
        assert "销毁证明" in done.text and 'id="manifest-sm3"' in done.text
        cert = client.get(f"{detail_url}/certificate.json")
        assert cert.status_code == 200
        assert cert.json()["lake_table"] == c.table
        assert "attachment" in cert.headers["content-disposition"]
        keys_page = client.get("/security/keys")
        assert keys_page.status_code == 200 and 'data-state="destroyed"' in keys_page.text
