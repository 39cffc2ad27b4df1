"""Search synonyms: the actions, their permissions and audit, the REST routes, the default seed."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from govdata.catalog import synonyms
from govdata.catalog.synonyms import DEFAULT_SYNONYMS, SynonymIn
from govdata.core.errors import InvalidInput, NotFound, PermissionDenied
from tests.catalog.test_search import _app
from tests.identity.conftest import PASSWORD, Org, audit_rows


def test_set_replace_list_delete(org: Org) -> None:
    with org.as_("operator").act() as ctx:
        out = synonyms.set_synonyms(
            ctx, SynonymIn(term=" 低保 ", synonyms=["最低生活保障", " 最低生活保障", "低保"])
        )
    # Trimmed, de-duplicated, and the term itself dropped from its own list.
    assert (out.term, out.synonyms) == ("低保", ["最低生活保障"])
    with org.as_("operator").act() as ctx:
        synonyms.set_synonyms(ctx, SynonymIn(term="低保", synonyms=["低保障", "最低生活保障"]))
        synonyms.set_synonyms(ctx, SynonymIn(term="户籍", synonyms=["户口"]))
    with org.as_("xn_clerk").act() as ctx:
        listed = synonyms.list_synonyms(ctx)
    assert [(s.term, s.synonyms) for s in listed.items] == [
        ("低保", ["低保障", "最低生活保障"]),
        ("户籍", ["户口"]),
    ]
    with org.as_("operator").act() as ctx:
        synonyms.delete_synonym(ctx, "户籍")
    with org.as_("xn_clerk").act() as ctx:
        assert [s.term for s in synonyms.list_synonyms(ctx).items] == ["低保"]

    audit = audit_rows(org.db, "catalog.synonym_set")
    assert [r["details"]["term"] for r in audit] == ["低保", "低保", "户籍"]
    assert audit[1]["details"]["before"] == ["最低生活保障"]
    assert audit[1]["details"]["synonyms"] == ["低保障", "最低生活保障"]
    deleted = audit_rows(org.db, "catalog.synonym_delete")
    assert [(r["actor_name"], r["details"]["term"]) for r in deleted] == [("operator", "户籍")]


def test_refusals(org: Org) -> None:
    with pytest.raises(PermissionDenied), org.as_("xn_officer").act() as ctx:
        synonyms.set_synonyms(ctx, SynonymIn(term="社保", synonyms=["社会保险"]))
    with pytest.raises(PermissionDenied), org.as_("secadmin").act() as ctx:
        synonyms.list_synonyms(ctx)
    with pytest.raises(InvalidInput) as exc, org.as_("operator").act() as ctx:
        synonyms.set_synonyms(ctx, SynonymIn(term="社保", synonyms=["社保", " 社保 "]))
    assert exc.value.code == "synonyms_empty"
    with pytest.raises(NotFound) as nf, org.as_("operator").act() as ctx:
        synonyms.delete_synonym(ctx, "社保")
    assert nf.value.code == "synonym_not_found"
    assert audit_rows(org.db, "catalog.synonym_set") == []
    # The refused change was audited as a denial.
    assert [r["outcome"] for r in audit_rows(org.db, "catalog.manage")] == ["denied"]


def test_rest_routes(org: Org) -> None:
    settings = org.settings.model_copy(update={"demo_mode": True})
    with TestClient(_app(settings)) as client:

        def login(user: str) -> dict[str, str]:
            r = client.post("/api/v1/auth/token", json={"username": user, "password": PASSWORD})
            assert r.status_code == 200, r.text
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        op, clerk = login("operator"), login("xn_clerk")
        url = "/api/v1/catalog/synonyms"
        r = client.put(f"{url}/社保", json={"synonyms": ["社会保险"]}, headers=op)
        assert r.status_code == 200 and r.json() == {"term": "社保", "synonyms": ["社会保险"]}
        r = client.get(url, headers=clerk)
        assert r.status_code == 200
        assert r.json() == {"items": [{"term": "社保", "synonyms": ["社会保险"]}]}
        assert client.put(f"{url}/医保", json={"synonyms": ["x"]}, headers=clerk).status_code == 403
        assert client.delete(f"{url}/社保", headers=clerk).status_code == 403
        r = client.put(f"{url}/医保", json={"synonyms": []}, headers=op)
        assert r.status_code == 422
        r = client.put(f"{url}/医保", json={"synonyms": ["医保"]}, headers=op)
        assert r.status_code == 422 and r.json()["error"]["code"] == "synonyms_empty"
        r = client.put(f"{url}/{'长' * 65}", json={"synonyms": ["x"]}, headers=op)
        assert r.status_code == 422
        assert client.delete(f"{url}/社保", headers=op).status_code == 204
        r = client.delete(f"{url}/社保", headers=op)
        assert r.status_code == 404 and r.json()["error"]["code"] == "synonym_not_found"
        assert client.get(url).status_code == 401


def test_default_seed_is_idempotent_and_keeps_operator_lists(org: Org) -> None:
    with org.as_("operator").act() as ctx:
        synonyms.set_synonyms(ctx, SynonymIn(term="低保", synonyms=["低保障"]))
    with org.db.transaction() as s:
        assert synonyms.seed_default_synonyms(s) == len(DEFAULT_SYNONYMS) - 1
    with org.db.transaction() as s:
        assert synonyms.seed_default_synonyms(s) == 0
    with org.as_("xn_clerk").act() as ctx:
        listed = {s.term: s.synonyms for s in synonyms.list_synonyms(ctx).items}
    assert listed["低保"] == ["低保障"]
    assert listed["社保"] == ["社会保险"]
    assert set(listed) == set(DEFAULT_SYNONYMS)
