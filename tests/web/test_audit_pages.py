"""The auditor's pages: search, a record with its verified proof, export with a proof bundle,
the ledger's verification; nobody else sees them, and tampering shows on screen."""

from __future__ import annotations

import io
import json
import zipfile

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select, text

from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.jobs.inline import run_job_here
from govdata.core.jobs.models import Job
from govdata.security.ledger import bundle
from govdata.security.models import AuditRecord
from tests.web.conftest import Seed, csrf_from, login


def _records(settings: Settings) -> list[AuditRecord]:
    db = Database(settings.db_url)
    try:
        with db.sessions() as s:
            rows = list(s.scalars(select(AuditRecord).order_by(AuditRecord.at)))
            for r in rows:
                s.expunge(r)
            return rows
    finally:
        db.dispose()


def test_only_the_auditor_sees_the_audit_pages(client: TestClient, seeded: Seed) -> None:
    for user in ("operator1", "secadmin1", "officer1"):
        login(client, user)
        for path in ("/audit", "/audit/trace", "/audit/ledger", "/audit/export.zip"):
            assert client.get(path).status_code == 403, (user, path)
        assert "/audit/ledger" not in client.get("/workbench").text
        client.cookies.clear()


def test_auditor_searches_and_sees_a_verified_proof(
    client: TestClient, portal_settings: Settings, seeded: Seed
) -> None:
    token = csrf_from(client.get("/login").text)
    failed = client.post(
        "/login", data={"username": "officer1", "password": "wrong", "csrf_token": token}
    )
    assert failed.status_code == 401  # the form again, with the error
    login(client, "auditor1")
    page = client.get("/audit")
    assert page.status_code == 200 and "审计" in page.text
    denied = client.get("/audit?outcome=failure")
    assert "officer1" in denied.text and "/audit/records/" in denied.text
    by_dept = client.get(f"/audit?department_id={seeded.department_id}")
    assert by_dept.status_code == 200
    bad_time = client.get("/audit?since=yesterday")
    assert "无法识别" in bad_time.text
    record = _records(portal_settings)[0]
    detail = client.get(f"/audit/records/{record.id}")
    assert 'id="proof-status"' in detail.text and "alert-success" in detail.text
    proof = client.get(f"/audit/records/{record.id}/proof.json").json()
    assert bundle.check_inclusion(proof) == []


def test_tampering_shows_on_the_record_and_in_verification(
    client: TestClient, portal_settings: Settings, seeded: Seed
) -> None:
    csrf = login(client, "auditor1")
    victim = _records(portal_settings)[1]
    assert "alert-success" in client.get(f"/audit/records/{victim.id}").text  # sealed now
    db = Database(portal_settings.db_url)
    try:
        with db.transaction() as s:
            if db.dialect == "postgresql":
                s.execute(text("ALTER TABLE audit_records DISABLE TRIGGER USER"))
            else:
                s.execute(text("DROP TRIGGER audit_records_no_update"))
            s.execute(
                text("UPDATE audit_records SET outcome = 'success', action = 'x' WHERE id = :id"),
                {"id": victim.id},
            )
        shown = client.get(f"/audit/records/{victim.id}")
        assert "alert-error" in shown.text
        assert client.post("/audit/ledger/verify").status_code == 403  # no CSRF token
        r = client.post("/audit/ledger/verify", data={"csrf_token": csrf})
        assert r.status_code == 303
        with db.sessions() as s:
            job = s.scalars(select(Job).where(Job.kind == "ledger.verify")).one()
        assert run_job_here(db, portal_settings, job.id) == "succeeded"
    finally:
        db.dispose()
    ledger = client.get("/audit/ledger")
    assert "alert-error" in ledger.text and victim.id in ledger.text


def test_export_carries_a_bundle_that_proves_every_row(
    client: TestClient, portal_settings: Settings, seeded: Seed
) -> None:
    login(client, "auditor1")
    r = client.get("/audit/export.zip?action=user.")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        doc = json.loads(zf.read("proof-bundle.json"))
        wb = load_workbook(io.BytesIO(zf.read("audit-records.xlsx")))
    rows = list(wb["审计记录"].iter_rows(min_row=2, values_only=True))
    expected = [x for x in _records(portal_settings) if x.action.startswith("user.")]
    assert len(rows) == len(expected) == len(doc["proofs"]) > 0
    assert {row[-1] for row in rows} == {p["record_id"] for p in doc["proofs"]}
    head = doc["tree_head"]
    for proof in doc["proofs"]:
        assert bundle.check_inclusion({**proof, "tree_head": head}) == []
    # A row edited after export no longer matches its proof.
    forged = {**doc["proofs"][0], "tree_head": head}
    forged["leaf"] = {**forged["leaf"], "actor_name": "someone else"}
    assert bundle.check_inclusion(forged) == ["leaf content does not hash to leaf_hash"]
