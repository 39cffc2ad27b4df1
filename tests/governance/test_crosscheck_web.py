"""Cross-source checks through the portal, the REST API and the CLI, on the hand-built case of
tests/governance/test_crosscheck.py: the operator orders the sources and starts a check that
runs as a job; the run page shows the agreement per field and the conflicts, masked for the
operator and clear for the officer of the source's department."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from govdata.app import create_app
from govdata.cli import app as cli_app
from govdata.core.jobs.worker import Worker
from govdata.governance.crosscheck_models import CrosscheckRun
from govdata.identity import auth
from govdata.identity.models import User
from tests.governance.test_crosscheck import World, world
from tests.identity.conftest import PASSWORD
from tests.web.conftest import csrf_from

__all__ = ["world"]


@pytest.fixture(scope="module")
def portal(world: World) -> Iterator[TestClient]:
    # Demo mode lets the operator in without a second factor.
    settings = world.org.settings.model_copy(update={"demo_mode": True})
    with TestClient(create_app(settings, migrate=False), follow_redirects=False) as client:
        yield client


def sign_in(client: TestClient, username: str) -> str:
    client.cookies.clear()
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    assert r.status_code == 303, r.text
    return csrf_from(client.get("/workbench").text)


def _cell(html: str, attr: str, value: str) -> str:
    match = re.search(rf'{attr}="{value}">([^<]*)<', html)
    assert match, (attr, value)
    return match.group(1)


def test_the_operator_orders_sources_runs_a_check_and_sees_masked_conflicts(
    world: World, portal: TestClient
) -> None:
    token = sign_in(portal, "operator")
    home = portal.get("/governance/crosscheck")
    assert home.status_code == 200
    assert 'data-subject="population"' in home.text and 'data-subject="legal_entity"' in home.text
    assert 'href="/governance/crosscheck"' in home.text  # the nav item
    subject = portal.get("/governance/crosscheck/subjects/population")
    assert subject.status_code == 200 and subject.text.count("data-source=") == 3
    # The operator edits a subject: the legal-entity subject loses its status field.
    legal = portal.get("/governance/crosscheck/subjects/legal_entity").text
    fields = re.search(r'id="f-subject-fields"[^>]*>([^<]*)<', legal)
    assert fields and "status|登记状态|code" in fields.group(1)
    r = portal.post(
        "/governance/crosscheck/subjects/legal_entity",
        data={
            "csrf_token": token,
            "name": "法人单位",
            "key_field": "credit_code",
            "description": "",
            "fields": fields.group(1).replace("status|登记状态|code", "").strip(),
        },
    )
    assert r.status_code == 303, r.text
    legal = portal.get("/governance/crosscheck/subjects/legal_entity").text
    assert "<h1>法人单位</h1>" in legal and 'data-field="status"' not in legal
    # Gender: 民政 first, then 户籍 (社保 is left to the fallback).
    r = portal.post(
        "/governance/crosscheck/subjects/population/authority",
        data={
            "csrf_token": token,
            "field": "gender",
            "order": [world.sid("MZ"), world.sid("HJ"), ""],
        },
    )
    assert r.status_code == 303, r.text
    r = portal.post("/governance/crosscheck/subjects/population/runs", data={"csrf_token": token})
    assert r.status_code == 303, r.text
    url = r.headers["location"]
    run_id = url.rsplit("/", 1)[1]
    queued = portal.get(url)
    assert 'data-run-status="queued"' in queued.text and "hx-get" in queued.text
    Worker(world.org.db, world.org.settings).run_until_idle()
    progress = portal.get(f"{url}/progress", headers={"HX-Request": "true"})
    assert progress.headers.get("HX-Refresh") == "true"
    page = portal.get(url)
    assert page.status_code == 200
    assert _cell(page.text, "data-rate", "name") == "77.78%"
    assert _cell(page.text, "data-rate", "gender") == "88.89%"
    assert _cell(page.text, "data-stat", "conflicts") == "5"
    assert 'data-source="agreement-chart-data"' in page.text
    # The operator never sees a value or a key as stored.
    assert "赵陆" not in page.text and "630102198804041111" not in page.text
    assert "630102********1111" in page.text
    gender = portal.get(url, params={"field": "gender"})
    assert gender.text.count('data-conflict="gender"') == 1
    assert gender.text.count('data-conflict="name"') == 0
    with world.org.db.transaction() as s:
        run = s.get(CrosscheckRun, run_id)
        assert run is not None and run.authority["gender"][:2] == [world.sid("MZ"), world.sid("HJ")]


def test_an_officer_reads_the_results_with_their_own_values_and_changes_nothing(
    world: World, portal: TestClient
) -> None:
    with world.org.db.transaction() as s:
        run_id = s.query(CrosscheckRun.id).order_by(CrosscheckRun.created_at.desc()).first()
    assert run_id is not None, "runs after the operator's check"
    token = sign_in(portal, "xn_officer")
    page = portal.get(f"/governance/crosscheck/runs/{run_id[0]}")
    assert page.status_code == 200
    assert "赵陆" in page.text  # 社保 is the officer's department
    assert "630102198804041111" in page.text
    subject = portal.get("/governance/crosscheck/subjects/population")
    assert 'id="start-run"' not in subject.text and 'id="add-source"' not in subject.text
    r = portal.post("/governance/crosscheck/subjects/population/runs", data={"csrf_token": token})
    assert r.status_code == 403


def test_the_api_and_the_cli(
    world: World, portal: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    with world.org.db.transaction() as s:
        user = s.query(User).filter(User.username == "hx_officer").one()
        bearer = auth.issue_access_token(world.org.settings, user)[0]
        run_id = s.query(CrosscheckRun.id).order_by(CrosscheckRun.created_at.desc()).first()
    assert run_id is not None
    portal.cookies.clear()
    r = portal.get(
        f"/api/v1/governance/crosscheck/runs/{run_id[0]}/conflicts",
        params={"field": "name"},
        headers={"authorization": f"Bearer {bearer}"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 2
    zhao = next(c for c in body["items"] if c["key"] == "630102198804041111")
    values = {v["label"]: (v["value"], v["masked"]) for v in zhao["values"]}
    assert values == {"户籍": ("赵*", True), "社保": ("赵*", True), "民政": ("赵六", False)}

    monkeypatch.setenv("GOVDATA_DATABASE_URL", world.org.settings.database_url or "")
    data_dir = str(world.org.settings.data_dir)
    result = CliRunner().invoke(
        cli_app, ["crosscheck", "run", "population", "--data-dir", data_dir]
    )
    assert result.exit_code == 0, result.output
    assert "conflicts=5" in result.output and "77.78%" in result.output
    result = CliRunner().invoke(
        cli_app,
        ["crosscheck", "authority", "population", "--field", "address", "--order", "户籍,社保",
         "--data-dir", data_dir],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "户籍 > 社保 > 民政" in result.output
