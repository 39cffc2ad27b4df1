"""The ledger through the API (auditor, operator, peer node) and the ``govdata audit`` CLI."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from govdata.app import create_app
from govdata.cli import app as cli_app
from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.jobs.inline import run_job_here
from govdata.identity import actions as identity_actions
from govdata.identity.schemas import CredentialCreate
from govdata.security.audit import write_audit
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM
from govdata.security.ledger import anchors, bundle, heads, signing, tree
from govdata.security.ledger.models import LedgerLeaf
from govdata.security.permissions import Perm
from tests.web.conftest import PASSWORD, Seed, seed


@pytest.fixture
def portal(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"argon2_time_cost": 1, "argon2_memory_kib": 8192, "demo_mode": True}
    )


@pytest.fixture
def people(portal: Settings) -> Seed:
    return seed(portal)


@pytest.fixture
def client(portal: Settings, people: Seed) -> Iterator[TestClient]:
    with TestClient(create_app(portal, migrate=False)) as c:
        yield c


def bearer(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_auditor_gets_signed_heads_and_proofs_with_content(
    client: TestClient, portal: Settings
) -> None:
    auditor = bearer(client, "auditor1")
    head = client.get("/api/v1/audit/tree-head", headers=auditor).json()
    # Seeding the people wrote audit records; the head covers them all.
    assert head["tree_size"] > 5 and head["hash_algorithm"] == "SM3"
    assert head["algorithm"] == "SM2-SM3"
    assert head["public_key"] == signing.node_key(portal).public
    assert bundle.check_head(head, head["tree_size"], bytes.fromhex(head["root_hash"])) == []

    records = client.get("/api/v1/audit/records?limit=3", headers=auditor).json()["items"]
    rid = records[-1]["id"]
    proof = client.get(f"/api/v1/audit/proof/inclusion?record={rid}", headers=auditor).json()
    assert proof["leaf"]["id"] == rid and proof["tree_head"] is not None
    assert bundle.check_inclusion(proof) == []

    second = proof["tree_size"]
    r = client.get(
        f"/api/v1/audit/proof/consistency?first={head['tree_size']}&second={second}",
        headers=auditor,
    )
    assert r.status_code == 200
    assert r.json()["first_root"] == head["root_hash"]
    assert bundle.check_consistency(r.json()) == []

    bad = client.get(f"/api/v1/audit/proof/consistency?first=1&second={10**9}", headers=auditor)
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "ledger_size_invalid")
    unknown = client.get("/api/v1/audit/proof/inclusion?record=nope", headers=auditor)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (
        404,
        "ledger_record_unknown",
    )


def test_operator_gets_hashes_but_never_the_content(client: TestClient) -> None:
    operator = bearer(client, "operator1")
    head = client.get("/api/v1/audit/tree-head", headers=operator)
    assert head.status_code == 200
    # The operator cannot list audit records (三员分立) ...
    assert client.get("/api/v1/audit/records", headers=operator).status_code == 403
    # ... and a proof for a record it knows the id of carries no content.
    auditor = bearer(client, "auditor1")
    rid = client.get("/api/v1/audit/records?limit=1", headers=auditor).json()["items"][0]["id"]
    proof = client.get(f"/api/v1/audit/proof/inclusion?record={rid}", headers=operator).json()
    assert proof["leaf"] is None and proof["audit_path"]
    assert bundle.check_inclusion(proof) == []
    assert client.get("/api/v1/audit/verification", headers=operator).status_code == 403


def test_auditor_runs_a_verification_and_sees_its_outcome(
    client: TestClient, portal: Settings
) -> None:
    auditor = bearer(client, "auditor1")
    client.get("/api/v1/audit/tree-head", headers=auditor)
    before = client.get("/api/v1/audit/verification", headers=auditor).json()
    assert before["ok"] is None and before["checked_at"] is None
    started = client.post("/api/v1/audit/verification", headers=auditor)
    assert started.status_code == 202
    db = Database(portal.db_url)
    try:
        assert run_job_here(db, portal, started.json()["job_id"]) == "succeeded"
    finally:
        db.dispose()
    after = client.get("/api/v1/audit/verification", headers=auditor).json()
    assert after["ok"] is True and after["tree_size"] >= before["sealed_size"]
    assert after["problem"] is None


def _city(tmp_path: Path, name: str = "city") -> tuple[Database, Settings]:
    settings = Settings(
        data_dir=tmp_path / name, node_id="xining", embedded_worker=False, ledger_seal_seconds=0
    )
    db = Database(settings.db_url)
    db.migrate()
    return db, settings


def _city_writes(db: Database, n: int, tag: str = "x") -> None:
    with db.transaction() as s:
        for i in range(n):
            write_audit(s, SYSTEM, f"city.{tag}", target_id=str(i))


def test_city_node_heads_are_countersigned_and_rewrites_refused(
    client: TestClient, portal: Settings, people: Seed, tmp_path: Path
) -> None:
    city_db, city = _city(tmp_path)
    db = Database(portal.db_url)
    try:
        with Caller(db, portal, SYSTEM).act() as ctx:
            token = identity_actions.create_credential(
                ctx,
                CredentialCreate(
                    name="西宁市节点",
                    department_id=people.department_id,
                    scopes=[Perm.LEDGER_ANCHOR],
                    days=30,
                ),
            ).token
        anchor = anchors.HttpAnchor(client, token)
        _city_writes(city_db, 5)
        # Not yet registered by the security administrator: refused.
        with pytest.raises(Exception, match="ledger_peer_unknown"):
            anchors.anchor_latest(city_db, city, anchor)
        key = signing.node_key(city)
        secadmin = bearer(client, "secadmin1")
        r = client.post(
            "/api/v1/audit/peers",
            headers=secadmin,
            json={
                "node_id": "xining",
                "name": "西宁市",
                "algorithm": key.algorithm,
                "public_key": key.public,
            },
        )
        assert r.status_code == 201, r.text

        first = anchors.anchor_latest(city_db, city, anchor)
        assert first.tree_size == 5 and first.node_id == "xining"
        province = signing.node_key(portal)
        with city_db.sessions() as s:
            head = heads.latest(s)
            assert head is not None
            message = signing.head_message("xining", 5, bytes(head.root_hash), head.issued_at)
            counter = signing.countersign_message(
                first.countersigner, message, bytes(head.signature)
            )
        assert signing.verify(
            province.algorithm, province.public, counter, bytes.fromhex(first.countersignature)
        )
        _city_writes(city_db, 4, "y")
        second = anchors.anchor_latest(city_db, city, anchor)  # consistency proof 5 -> 9
        assert second.tree_size == 9

        # The city rebuilds its ledger with other history, signing with its own key:
        # the province refuses both a longer rewritten ledger and a shorter one.
        forged_db, forged = _city(tmp_path, "forged")
        shutil.copy(signing.key_path(city), signing.key_path(forged))
        _city_writes(forged_db, 12, "rewritten")
        with pytest.raises(Exception, match="ledger_peer_inconsistent"):
            anchors.anchor_latest(forged_db, forged, anchor)
        short_db, short = _city(tmp_path, "short")
        shutil.copy(signing.key_path(city), signing.key_path(short))
        _city_writes(short_db, 3)
        with pytest.raises(Exception, match="ledger_peer_rollback"):
            anchors.anchor_latest(short_db, short, anchor)
        # A head signed by another key is refused whatever it says.
        stranger_db, stranger = _city(tmp_path, "stranger")
        _city_writes(stranger_db, 10)
        with pytest.raises(Exception, match="ledger_peer_signature"):
            anchors.anchor_latest(stranger_db, stranger, anchor)
        forged_db.dispose()
        short_db.dispose()
        stranger_db.dispose()
    finally:
        db.dispose()
        city_db.dispose()


def test_cli_verify_prove_and_check(tmp_path: Path) -> None:
    data = tmp_path / "node"
    runner = CliRunner()
    settings = Settings(data_dir=data, ledger_seal_seconds=0)
    db = Database(settings.db_url)
    db.migrate()
    _city_writes(db, 9)
    assert runner.invoke(cli_app, ["audit", "head", "--data-dir", str(data)]).exit_code == 0
    ok = runner.invoke(cli_app, ["audit", "verify", "--data-dir", str(data)])
    assert ok.exit_code == 0, ok.output
    with db.sessions() as s:
        rid = s.scalar(text("SELECT record_id FROM ledger_leaves WHERE seq = 4"))
        size = s.scalar(text("SELECT tree_size FROM ledger_state"))
        root = s.scalar(text("SELECT root_hash FROM ledger_heads ORDER BY tree_size DESC"))
    assert f"tree size: {size}" in ok.output and bytes(root).hex() in ok.output

    proved = runner.invoke(cli_app, ["audit", "prove", rid, "--data-dir", str(data)])
    assert proved.exit_code == 0, proved.output
    proof_file = tmp_path / "proof.json"
    proof_file.write_text(proved.output)
    assert json.loads(proved.output)["leaf_index"] == 4
    checked = runner.invoke(cli_app, ["audit", "check", str(proof_file)])
    assert checked.exit_code == 0 and "1" in checked.output
    doc = json.loads(proved.output)
    doc["audit_path"][0] = "00" * 32
    proof_file.write_text(json.dumps(doc))
    assert runner.invoke(cli_app, ["audit", "check", str(proof_file)]).exit_code == 1

    with db.transaction() as s:
        s.execute(text("DROP TRIGGER audit_records_no_update"))
        s.execute(text("UPDATE audit_records SET action = 'rewritten' WHERE id = :id"), {"id": rid})
    bad = runner.invoke(cli_app, ["audit", "verify", "--data-dir", str(data)])
    assert bad.exit_code == 1
    assert rid in bad.output and "#4" in bad.output
    with db.sessions() as s:
        assert s.get(LedgerLeaf, 4) is not None
    db.dispose()


def test_a_serving_node_seals_and_signs_on_its_own(portal: Settings, people: Seed) -> None:
    fast = portal.model_copy(update={"ledger_seal_seconds": 0.2, "ledger_head_seconds": 0.5})
    db = Database(fast.db_url)
    try:
        with db.sessions() as s:
            assert tree.pending_count(s) > 0  # seeding the people queued records
        with TestClient(create_app(fast, migrate=False)):
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                with db.sessions() as s:
                    head = heads.latest(s)
                    if tree.pending_count(s) == 0 and head is not None:
                        break
                time.sleep(0.1)
        with db.sessions() as s:
            assert tree.pending_count(s) == 0
            assert head is not None and head.tree_size == tree.state(s).tree_size
    finally:
        db.dispose()
