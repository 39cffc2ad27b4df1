"""``govdata user`` and ``govdata token`` against a real store."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from govdata.cli import app
from govdata.config import Settings
from govdata.core.db import Database
from govdata.identity import auth
from tests.identity.conftest import PASSWORD, audit_rows, build_org


@pytest.fixture
def run(settings: Settings, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GOVDATA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("GOVDATA_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("GOVDATA_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("GOVDATA_ARGON2_MEMORY_KIB", "1024")
    runner = CliRunner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, [*args, "--data-dir", str(settings.data_dir)])

    return invoke


def test_user_commands(run, db: Database, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    build_org(db, settings)
    r = run("user", "create", "Hx_Clerk", "--password", PASSWORD, "--display-name", "海西职员",
            "--department", "hx_stats", "--role", "dept_user")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert auth.authenticate(db, settings, "hx_clerk", PASSWORD, None, None).username == "hx_clerk"
    r = run("user", "create", "region_boss", "--password", PASSWORD,
            "--role", "region_operator", "--region", "632800")  # fmt: skip
    assert r.exit_code == 0, r.output
    r = run("user", "create", "hx_clerk", "--password", PASSWORD)
    assert r.exit_code == 1 and "username_taken" in r.output
    assert run("user", "disable", "hx_clerk").exit_code == 0
    with pytest.raises(Exception, match="account_disabled"):
        auth.authenticate(db, settings, "hx_clerk", PASSWORD, None, None)
    assert run("user", "enable", "HX_CLERK").exit_code == 0
    auth.authenticate(db, settings, "hx_clerk", PASSWORD, None, None)
    assert audit_rows(db, "user.disable")[-1]["actor_name"] == "system"


def test_token_commands(run, db: Database, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    build_org(db, settings)
    r = run("token", "create", "--department", "xn_stats", "--name", "报送",
            "--scope", "department.read", "--scope", "region.read", "--days", "10")  # fmt: skip
    assert r.exit_code == 0, r.output
    token = next(line for line in r.output.splitlines() if line.startswith("gdt_"))
    actor = auth.actor_from_bearer(db, settings, token)
    assert actor.token_scopes == frozenset({"department.read", "region.read"})
    listed = run("token", "list")
    assert listed.exit_code == 0 and token[:12] in listed.output and token not in listed.output
    assert run("token", "revoke", actor.id or "").exit_code == 0
    with pytest.raises(Exception, match="credential_revoked"):
        auth.actor_from_bearer(db, settings, token)
    bad = run("token", "create", "--department", "xn_stats", "--name", "x",
              "--scope", "department.read", "--days", "400")  # fmt: skip
    assert bad.exit_code == 1
