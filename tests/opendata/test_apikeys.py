"""API keys end to end, through the real download gate: a key issued on approval reads
that dataset only, in any of the header forms CKAN clients use; quotas give 429; revoking,
rotating and an ended approval stop the key at once; keys are stored hashed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from govdata.app import create_app
from govdata.core.clock import now
from govdata.core.errors import GovDataError
from govdata.opendata import accounts, apikeys, grants, views
from govdata.opendata.account_models import OpenApiKey, OpenApplication
from govdata.opendata.apikeys import QuotaIn
from tests.identity.conftest import Org, audit_rows
from tests.opendata.conftest import org, settings
from tests.opendata.fixtures import Opened, opened_schools
from tests.opendata.test_accounts import public_caller, verified_account
from tests.opendata.test_applications import decide, submit

__all__ = ["org", "settings"]


@pytest.fixture
def client(org: Org) -> Iterator[TestClient]:
    with TestClient(create_app(org.settings, migrate=False), follow_redirects=False) as c:
        yield c


def csv(client: TestClient, name: str, **headers: str) -> int:
    r = client.get(f"/open/datasets/{name}/download.csv?format=json", headers=headers)
    return r.status_code


def datastore(client: TestClient, dataset_id: str, **headers: str) -> int:
    rid = views.resource_id(dataset_id, "API")
    r = client.get("/api/3/action/datastore_search", params={"resource_id": rid}, headers=headers)
    if r.status_code == 200:
        assert r.json()["success"] is True and r.json()["result"]["records"]
    return r.status_code


def approved_key(
    org: Org, ds: Opened, caplog: pytest.LogCaptureFixture, address: str = "zhang@example.cn"
) -> tuple[str, str, str]:
    """(account id, key id, the key) after an approved application for ``ds``."""
    acc = verified_account(org, caplog, address)
    app = submit(org, acc.id, ds.name)
    out = decide(org, "xn_officer", app.id, approve=True)
    assert out.key_id is not None
    with public_caller(org, acc.id).act() as ctx:
        secret = apikeys.reveal(ctx, out.key_id)
    return acc.id, out.key_id, secret.key


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_key_limited_to_its_datasets_quota_revoke(
    org: Org, tmp_path: Path, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    mine = opened_schools(org, tmp_path, open_type="conditional")
    other = opened_schools(org, tmp_path, name="全省特殊教育学校名录", open_type="conditional")
    public = opened_schools(org, tmp_path, name="全省幼儿园名录", open_type="open")
    account_id, key_id, key = approved_key(org, mine, caplog)
    assert key.startswith("gdo_") and len(key) > 40
    with org.db.transaction() as s:
        row = s.get(OpenApiKey, key_id)
        assert row is not None and row.key_hash == apikeys.key_hash(key)
        assert row.prefix == key[:12] and key not in (row.key_hash or "")
    # Anonymous: open data yes, conditional data no.
    assert csv(client, public.name) == 200
    assert csv(client, mine.name) == 403
    # The key, in the three header forms CKAN clients send.
    assert csv(client, mine.name, Authorization=key) == 200
    assert csv(client, mine.name, Authorization=f"Bearer {key}") == 200
    assert csv(client, mine.name, **{"X-CKAN-API-Key": key}) == 200
    assert csv(client, public.name, Authorization=key) == 200
    # Only the datasets of its approved applications.
    assert csv(client, other.name, Authorization=key) == 403
    # The CKAN datastore gate reads the same key.
    assert datastore(client, mine.dataset_id) == 403
    assert datastore(client, mine.dataset_id, Authorization=key) == 200
    assert datastore(client, other.dataset_id, Authorization=key) == 403
    # Unknown keys with our prefix are refused; a foreign bearer token is not ours to judge.
    assert csv(client, mine.name, Authorization="gdo_not-a-key") == 401
    assert csv(client, public.name, Authorization="Bearer eyJhbGciOi.not.ours") == 200
    assert csv(client, mine.name, Authorization="Bearer eyJhbGciOi.not.ours") == 403
    # The operator's quota: one more call today, then 429 with when to come back.
    with org.as_("operator").act() as ctx:
        out = apikeys.set_quota(ctx, key_id, QuotaIn(per_day=6))
    assert out.custom_quota and out.per_day == 6 and out.used_today == 5
    assert csv(client, mine.name, Authorization=key) == 200
    over = client.get(
        f"/open/datasets/{mine.name}/download.csv?format=json", headers={"Authorization": key}
    )
    assert over.status_code == 429
    body = over.json()["error"]
    assert body["code"] == "quota_exceeded" and body["details"]["retry_after"] > 0
    with org.db.transaction() as s:
        assert apikeys.used_today(s, key_id) == 6  # the refused call is not counted
    with org.as_("xn_officer").act() as ctx, pytest.raises(GovDataError) as info:
        apikeys.set_quota(ctx, key_id, QuotaIn(per_day=10))
    assert info.value.code == "permission_denied"
    with org.as_("operator").act() as ctx:
        apikeys.set_quota(ctx, key_id, QuotaIn(per_minute=1, per_day=None))
    # Per minute: the next call in this minute is refused as rate_limited.
    codes = [csv(client, mine.name, Authorization=key) for _ in range(2)]
    assert 429 in codes
    with org.as_("operator").act() as ctx:
        apikeys.set_quota(ctx, key_id, QuotaIn())
    # Rotation: the old secret stops, the new works, the key (and its usage) stays.
    with public_caller(org, account_id).act() as ctx:
        rotated = apikeys.rotate(ctx, key_id)
    assert rotated.info.id == key_id and rotated.key != key
    assert csv(client, mine.name, Authorization=key) == 401
    assert csv(client, mine.name, Authorization=rotated.key) == 200
    # Revocation: 401 at once.
    with public_caller(org, account_id).act() as ctx:
        apikeys.revoke(ctx, key_id)
    assert csv(client, mine.name, Authorization=rotated.key) == 401
    for action in ("reveal", "rotate", "revoke", "quota"):
        assert audit_rows(org.db, f"opendata.key.{action}"), action
    # A new key after a revocation, for an account still holding an approval.
    with public_caller(org, account_id).act() as ctx:
        fresh = apikeys.issue(ctx)
    assert csv(client, mine.name, Authorization=fresh.key) == 200
    # A disabled account's keys stop at once, and work again when it is enabled.
    with org.as_("operator").act() as ctx:
        accounts.set_disabled(ctx, account_id, True)
    assert csv(client, mine.name, Authorization=fresh.key) == 401
    with org.as_("operator").act() as ctx:
        accounts.set_disabled(ctx, account_id, False)
    assert csv(client, mine.name, Authorization=fresh.key) == 200
    # An approval that ended stops the key at once.
    with org.db.transaction() as s:
        s.execute(
            update(OpenApplication)
            .where(OpenApplication.account_id == account_id)
            .values(valid_until=now() - timedelta(seconds=1))
        )
    assert csv(client, mine.name, Authorization=fresh.key) == 403


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_owner_only_and_once_only(
    org: Org, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ds = opened_schools(org, tmp_path, open_type="conditional")
    _, key_id, _ = approved_key(org, ds, caplog)
    stranger = verified_account(org, caplog, "13900000002")
    with public_caller(org, stranger.id).act() as ctx:
        with pytest.raises(GovDataError) as info:
            apikeys.rotate(ctx, key_id)
        assert info.value.code == "opendata_key_not_found"
        with pytest.raises(GovDataError) as info:
            apikeys.issue(ctx)
        assert info.value.code == "opendata_key_not_eligible"
    with org.db.transaction() as s:
        owner = s.scalars(select(OpenApiKey.account_id)).one()
    with public_caller(org, owner).act() as ctx:
        with pytest.raises(GovDataError) as info:
            apikeys.reveal(ctx, key_id)
        assert info.value.code == "opendata_key_revealed"
        with pytest.raises(GovDataError) as info:
            apikeys.issue(ctx)
        assert info.value.code == "opendata_key_exists"


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_callers_without_a_key_have_a_per_address_limit(org: Org) -> None:
    settings = org.settings.model_copy(update={"opendata_anonymous_per_minute": 2})
    with org.db.transaction() as s:
        for _ in range(2):
            grants.consume(s, settings, grants.ANONYMOUS_IDENTITY, "10.9.9.9")
        with pytest.raises(GovDataError) as info:
            grants.consume(s, settings, grants.ANONYMOUS_IDENTITY, "10.9.9.9")
        assert info.value.code == "rate_limited" and info.value.status == 429
        assert info.value.details["retry_after"] >= 1
        # Another address has its own window.
        grants.consume(s, settings, grants.ANONYMOUS_IDENTITY, "10.9.9.10")
