"""``govdata sharing applications|grants|revoke|sweep`` against a real store."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from govdata.cli import app
from govdata.core.clock import now
from govdata.sharing.models import ApplicationStep
from tests.identity.conftest import audit_rows
from tests.sharing.conftest import World

runner = CliRunner()


@pytest.fixture
def cli_world(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    s = world.org.settings
    monkeypatch.setenv("GOVDATA_DATABASE_URL", s.database_url or "")
    monkeypatch.setenv("GOVDATA_DATA_DIR", str(s.data_dir))
    monkeypatch.setenv("GOVDATA_SECRET_KEY", s.secret_key)
    monkeypatch.setenv("COLUMNS", "250")
    return world


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["sharing", *args])
    return result.exit_code, result.output


def test_list_sweep_and_revoke(cli_world: World) -> None:
    world = cli_world
    granted = world.apply(world.entry())
    pending = world.apply(
        world.entry(name="婚姻登记信息", share_type="conditional", share_condition="须同意")
    )
    code, out = cli("applications")
    assert code == 0 and granted.code in out and pending.code in out and "审批中" in out
    with world.org.db.transaction() as s:
        s.execute(
            update(ApplicationStep)
            .where(ApplicationStep.application_id == pending.id)
            .values(due_at=now() - timedelta(hours=1))
        )
    code, out = cli("sweep")
    assert code == 0 and "steps=1" in out
    code, out = cli("grants", "--status", "active")
    assert code == 0 and (granted.grant_id or "") in out
    code, out = cli("revoke", granted.grant_id or "", "--reason", "停止使用")
    assert code == 0 and "已撤销" in out
    code, out = cli("revoke", granted.grant_id or "", "--reason", "再次撤销")
    assert code == 1 and "sharing_grant_revoked" in out
    assert [r["actor_name"] for r in audit_rows(world.org.db, "sharing.grant.revoke")] == ["cli"]
