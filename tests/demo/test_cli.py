"""``govdata demo`` end to end: build once, print the logins, keep an existing demo, rebuild."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from govdata.cli import app
from govdata.config import Settings
from govdata.core.db import Database
from govdata.demo.province import logins
from govdata.identity import actions, auth
from govdata.identity.schemas import RegionCreate
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM

# An empty database URL means the embedded store in the data directory, whatever the shell says.
ENV = {"GOVDATA_DATABASE_URL": "", "GOVDATA_DEMO_PASSWORD": "Demo@Qinghai2026"}


def test_demo_builds_prints_logins_and_keeps_an_existing_demo(tmp_path: Path) -> None:
    runner = CliRunner()
    data = tmp_path / "demo"
    first = runner.invoke(
        app, ["demo", "--no-serve", "--size", "small", "--data-dir", str(data)], env=ENV
    )
    assert first.exit_code == 0, first.output
    for username in ("operator", "secadmin", "auditor", "xn_operator", "police_officer"):
        assert username in first.output
    assert "Demo@Qinghai2026" in first.output

    marker = json.loads((data / "demo.json").read_text())
    assert marker["status"] == "ready"
    assert marker["size"] == "small"
    assert marker["persons"] >= 10_000
    assert marker["users"] == len(logins())
    assert marker["catalog_entries"] >= 300
    manifest = json.loads((data / "sources" / "manifest.json").read_text())
    assert {s["code"] for s in manifest["systems"]} == {
        "police",
        "market",
        "hrss",
        "civil",
        "medins",
    }
    assert all((data / "sources" / s["path"]).exists() for s in manifest["systems"])

    settings = Settings(data_dir=data, database_url="", demo_mode=True)
    db = Database(settings.db_url)
    try:
        result = auth.authenticate(db, settings, "operator", "Demo@Qinghai2026", None, None)
        assert result.username == "operator" and not result.mfa_enrollment_required
    finally:
        db.dispose()

    again = runner.invoke(
        app, ["demo", "--no-serve", "--size", "medium", "--data-dir", str(data)], env=ENV
    )
    assert again.exit_code == 0, again.output
    assert "Existing demo" in again.output
    assert "differs" in again.output
    assert "operator" in again.output
    # Nothing was rebuilt.
    assert json.loads((data / "sources" / "manifest.json").read_text()) == manifest

    rebuilt = runner.invoke(
        app,
        ["demo", "--no-serve", "--rebuild", "--persons", "300", "--data-dir", str(data)],
        env=ENV,
    )
    assert rebuilt.exit_code == 0, rebuilt.output
    marker = json.loads((data / "demo.json").read_text())
    assert marker["status"] == "ready"
    assert 300 <= marker["persons"] < 400


def test_a_weak_demo_password_fails_clearly(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["demo", "--no-serve", "--persons", "50", "--data-dir", str(tmp_path)],
        env={**ENV, "GOVDATA_DEMO_PASSWORD": "short"},
    )
    assert result.exit_code == 1
    assert "weak_password" in result.output
    # Refused before anything was written.
    assert not (tmp_path / "demo.json").exists()
    assert not (tmp_path / "sources").exists()


def test_rebuild_never_touches_a_store_that_is_not_a_demo(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="", embedded_worker=False)
    db = Database(settings.db_url)
    db.migrate()
    with Caller(db, settings, SYSTEM, "test").act() as ctx:
        actions.create_region(ctx, RegionCreate(code="110000", name="北京市"))
    db.dispose()

    result = CliRunner().invoke(
        app, ["demo", "--no-serve", "--rebuild", "--data-dir", str(tmp_path)], env=ENV
    )
    assert result.exit_code == 1
    assert "not_a_demo_store" in result.output
    db = Database(settings.db_url)
    try:
        with Caller(db, settings, SYSTEM, "test").act() as ctx:
            assert [r.code for r in actions.list_regions(ctx)] == ["110000"]
    finally:
        db.dispose()
    assert not (tmp_path / "demo.json").exists()
