"""App credentials: shown once, stored hashed, limited to scopes, revocable, expiring."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from govdata.core.clock import now
from govdata.core.errors import InvalidInput, NotAuthenticated, PermissionDenied
from govdata.identity import actions, auth
from govdata.identity.schemas import CredentialCreate
from govdata.security.context import Caller
from govdata.security.permissions import Perm
from tests.identity.conftest import Org, audit_rows, count


def make(org: Org, username: str, dept: str = "xn_stats", scopes: list[Perm] | None = None):  # type: ignore[no-untyped-def]
    with org.as_(username).act() as ctx:
        return actions.create_credential(
            ctx,
            CredentialCreate(
                name="统计报送系统",
                department_code=dept,
                scopes=scopes or [Perm.DEPARTMENT_READ],
                days=30,
            ),
        )


def test_token_is_shown_once_and_stored_hashed(org: Org) -> None:
    created = make(org, "xn_officer")
    token = created.token
    assert token.startswith("gdt_") and len(token) >= 4 + 43
    assert created.credential.token_prefix == token[:12]
    assert created.credential.status == "active"
    with org.db.engine.connect() as conn:
        row = dict(conn.execute(text("SELECT * FROM app_credentials")).one()._mapping)
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {str(v) for v in row.values()}
    with org.as_("xn_officer").act() as ctx:
        listed = actions.list_credentials(ctx)
    assert listed.total == 1 and "token" not in listed.items[0].model_dump()
    assert audit_rows(org.db, "credential.create")[-1]["target_id"] == created.credential.id


def test_app_acts_as_its_department_within_its_scopes(org: Org) -> None:
    token = make(org, "xn_officer").token
    actor = auth.actor_from_bearer(org.db, org.settings, token)
    assert actor.kind == "app" and actor.department_id == org.dept["xn_stats"]
    app = Caller(org.db, org.settings, actor)
    with app.act() as ctx:
        page = actions.list_departments(ctx)
    assert [d.code for d in page.items] == ["xn_stats"]
    # region.read is a dept_user permission, but not one of this credential's scopes.
    with pytest.raises(PermissionDenied), app.act() as ctx:
        actions.list_regions(ctx)
    with pytest.raises(NotAuthenticated), app.act() as ctx:
        actions.get_me(ctx)
    with org.db.engine.connect() as conn:
        assert conn.execute(text("SELECT last_used_at FROM app_credentials")).scalar_one()


def test_scopes_cannot_exceed_the_creator(org: Org) -> None:
    with pytest.raises(PermissionDenied) as exc:
        make(org, "xn_officer", scopes=[Perm.DEPARTMENT_READ, Perm.USER_MANAGE])
    assert exc.value.code == "scope_not_held"
    assert exc.value.details == {"scopes": ["user.manage"]}
    assert count(org.db, "app_credentials") == 0


def test_who_may_create_credentials(org: Org) -> None:
    with pytest.raises(PermissionDenied):
        make(org, "xn_officer", dept="hx_stats")
    with pytest.raises(PermissionDenied):
        make(org, "xn_admin")  # region operators read credentials but do not make them
    with pytest.raises(PermissionDenied):
        make(org, "xn_clerk")
    make(org, "operator", dept="hx_stats")
    make(org, "xn_officer")
    with org.as_("xn_admin").act() as ctx:
        seen = actions.list_credentials(ctx)
    assert [c.department_code for c in seen.items] == ["xn_stats"]


def test_revoked_and_expired_credentials_stop_working(org: Org) -> None:
    revoked = make(org, "xn_officer")
    expiring = make(org, "xn_officer")
    with org.as_("xn_officer").act() as ctx:
        out = actions.revoke_credential(ctx, revoked.credential.id)
    assert out.status == "revoked"
    with pytest.raises(NotAuthenticated) as exc:
        auth.actor_from_bearer(org.db, org.settings, revoked.token)
    assert exc.value.code == "credential_revoked"
    with org.db.engine.begin() as conn:
        conn.execute(
            text("UPDATE app_credentials SET expires_at = :t WHERE id = :i"),
            {"t": now() - timedelta(seconds=1), "i": expiring.credential.id},
        )
    with pytest.raises(NotAuthenticated) as exc:
        auth.actor_from_bearer(org.db, org.settings, expiring.token)
    assert exc.value.code == "credential_expired"
    with pytest.raises(NotAuthenticated, match="invalid_token"):
        auth.actor_from_bearer(org.db, org.settings, "gdt_" + "x" * 43)
    assert [r["target_id"] for r in audit_rows(org.db, "credential.revoke")] == [
        revoked.credential.id
    ]
    with pytest.raises(PermissionDenied), org.as_("hx_officer").act() as ctx:
        actions.revoke_credential(ctx, expiring.credential.id)


def test_expiry_is_required_and_bounded(org: Org) -> None:
    with pytest.raises(ValidationError):
        CredentialCreate(name="x", department_code="xn_stats", scopes=[Perm.DEPARTMENT_READ])
    with pytest.raises(ValidationError):
        CredentialCreate(
            name="x", department_code="xn_stats", scopes=[Perm.DEPARTMENT_READ], days=366
        )
    for when in (now() + timedelta(days=400), now() - timedelta(days=1)):
        with pytest.raises(InvalidInput) as exc, org.system.act() as ctx:
            actions.create_credential(
                ctx,
                CredentialCreate(
                    name="x",
                    department_code="xn_stats",
                    scopes=[Perm.DEPARTMENT_READ],
                    expires_at=when,
                ),
            )
        assert exc.value.code == "invalid_expiry"
