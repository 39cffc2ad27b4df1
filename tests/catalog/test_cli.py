"""`govdata catalog reindex` and `export-national` on a real store in a data directory."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text, update
from typer.testing import CliRunner

from govdata.catalog.models import SearchDoc
from govdata.cli import app, load_settings
from govdata.core.db import Database
from tests.catalog.conftest import published_entry
from tests.identity.conftest import build_org, count

runner = CliRunner()


def test_reindex_and_national_export(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, argon2_time_cost=1, argon2_memory_kib=1024)
    db = Database(settings.db_url)
    db.migrate()
    org = build_org(db, settings)
    entry = published_entry(org, name="户籍人口基本信息")
    # Lose the segmented text, as an old dictionary would have left it wrong.
    with db.transaction() as s:
        s.execute(update(SearchDoc).values(name_tokens="", body_tokens=""))

    result = runner.invoke(app, ["catalog", "reindex", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "1 entries indexed" in result.output
    with db.engine.connect() as conn:
        tokens = conn.execute(text("SELECT name_tokens FROM catalog_search")).scalar_one()
    assert "户籍" in tokens.split()
    assert count(db, "audit_records WHERE action = 'catalog.reindex'") == 1

    out = tmp_path / "national.json"
    result = runner.invoke(
        app, ["catalog", "export-national", "--out", str(out), "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text("utf-8"))
    assert [e["resource_code"] for e in payload["entries"]] == [entry.resource_code]
    # Nothing was published after 2099: an incremental export is empty.
    result = runner.invoke(
        app,
        ["catalog", "export-national", "--out", str(out), "--since", "2099-01-01T00:00:00",
         "--data-dir", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text("utf-8"))["entries"] == []
    db.dispose()
