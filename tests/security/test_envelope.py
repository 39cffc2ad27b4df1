"""Envelope encryption: master keys (files or settings), data keys wrapped under them, master
key rotation without downtime (old wraps open until the rewrap job reaches them), table key
rotation, and who may manage keys. Key material never reaches an audit record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.errors import GovDataError
from govdata.core.jobs.worker import Worker
from govdata.lake.tables import Lake
from govdata.security.crypto import actions, envelope
from govdata.security.crypto.keyring import Keyring
from govdata.security.crypto.models import DataKey
from govdata.security.models import AuditRecord
from govdata.sources import secrets as sealing
from govdata.sources.models import SourceSystem
from tests.catalog.conftest import org, settings
from tests.identity.conftest import Org
from tests.security import lake_fixtures as lf
from tests.sources.test_secrets import seal_gd1

__all__ = ["org", "settings"]

SQLITE_ONLY = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
OLD_MASTER = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
NEW_MASTER = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
SOURCE_KEY = "00112233445566778899aabbccddeeff"


def denied(org: Org, user: str, fn: object) -> str:
    with pytest.raises(GovDataError) as err, org.as_(user).act() as ctx:
        fn(ctx)  # type: ignore[operator]
    return err.value.code


def keys(db: Database) -> list[DataKey]:
    with db.transaction() as s:
        rows = list(s.scalars(select(DataKey).order_by(DataKey.owner, DataKey.generation)))
        s.expunge_all()
        return rows


def no_key_material(db: Database, settings: Settings) -> None:
    """No audit record holds a master key, a data key or a wrap."""
    with db.transaction() as s:
        text = json.dumps(
            [(a.action, a.details) for a in s.scalars(select(AuditRecord))], default=str
        )
        wraps = [k.wrapped for k in s.scalars(select(DataKey)) if k.wrapped]
    materials = [m.material.hex() for m in Keyring(settings).known().values()]
    for secret in materials + wraps:
        assert secret not in text


def test_keyring_file_mode_rotation_keeps_old_keys_until_forgotten(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path / "data", embedded_worker=False)
    ring = Keyring(s)
    first = ring.active()
    assert first.origin == "file" and ring.active() == first
    master_id, wrapped = ring.wrap(b"k" * 16, "lake:x#1")
    assert master_id == first.id
    old, new = ring.install_new()
    assert old == first and new != first and Keyring(s).active() == new
    # The old key still opens its wraps; the context is bound into the wrap.
    assert ring.unwrap(first.id, wrapped, "lake:x#1") == b"k" * 16
    with pytest.raises(GovDataError) as err:
        ring.unwrap(first.id, wrapped, "lake:y#1")
    assert err.value.code == "data_key_unwrap_failed"
    assert not ring.forget(new.id)  # the active key stays
    assert ring.forget(first.id)
    with pytest.raises(GovDataError) as err:
        ring.unwrap(first.id, wrapped, "lake:x#1")
    assert err.value.code == "master_key_unknown"


def test_keyring_settings_mode_lists_retired_keys_and_refuses_to_rotate(tmp_path: Path) -> None:
    old = Settings(data_dir=tmp_path / "d", master_key=OLD_MASTER, embedded_worker=False)
    master_id, wrapped = Keyring(old).wrap(b"d" * 16, "c")
    new = old.model_copy(update={"master_key": NEW_MASTER, "master_keys_retired": OLD_MASTER})
    ring = Keyring(new)
    assert ring.active().material == bytes.fromhex(NEW_MASTER)
    assert set(ring.known()) == {master_id, ring.active().id}
    assert ring.unwrap(master_id, wrapped, "c") == b"d" * 16
    with pytest.raises(GovDataError) as err:
        ring.install_new()
    assert err.value.code == "master_key_from_settings"
    assert not (tmp_path / "d" / "keys").exists()


def test_master_rotation_rewraps_everything_while_data_stays_readable(
    org: Org, db: Database, tmp_path: Path
) -> None:
    c = lf.collected(org, tmp_path)
    lake = Lake.from_settings(org.settings)
    before = lf.as_rows(lake.read(c.table))
    with db.transaction(immediate=True) as s:
        sources = list(s.scalars(select(SourceSystem)))
        sources[0].secret = sealing.seal(org.settings, {"password": "pw-gd2"})
        legacy = SourceSystem(
            department_id=sources[0].department_id,
            name="legacy",
            kind="sqlite",
            config={"path": "/nonexistent"},
            secret=seal_gd1(sealing.source_key(org.settings).hex(), {"password": "pw-gd1"}),
        )
        s.add(legacy)
        s.flush()
        ids = [sources[0].id, legacy.id]
    old_master = Keyring(org.settings).active().id

    # Only the security administrator manages keys.
    for user in ("operator", "auditor", "xn_officer"):
        assert denied(org, user, actions.rotate_master_key) == "permission_denied"
        assert denied(org, user, actions.key_status) == "permission_denied"
    with org.as_("secadmin").act() as ctx:
        status = actions.key_status(ctx)
    assert status.active_master_key_id == old_master and status.pending_rewrap == 1
    assert status.legacy_secrets == 1

    with org.as_("secadmin").act() as ctx:
        rotated = actions.rotate_master_key(ctx)
    assert rotated.old_master_key_id == old_master
    new_master = rotated.new_master_key_id
    # No downtime: before the job ran, everything still opens under the old master key.
    assert lf.as_rows(lake.read(c.table)) == before
    with org.as_("secadmin").act() as ctx:
        status = actions.key_status(ctx)
    assert status.active_master_key_id == new_master
    assert status.rewrap_job_id == rotated.rewrap_job_id
    assert status.pending_rewrap == 3  # the table's key, one gd2 and one gd1 secret
    # The old key cannot be forgotten while it still wraps something.
    assert (
        denied(org, "secadmin", lambda ctx: actions.forget_master_key(ctx, old_master))
        == "master_key_in_use"
    )
    # New keys are wrapped under the new master key at once.
    d = lf.collected(org, tmp_path, name="另一目录")
    assert {k.master_key_id for k in keys(db) if k.owner == f"lake:{d.table}"} == {new_master}

    Worker(db, org.settings).run_until_idle()
    assert {k.master_key_id for k in keys(db)} == {new_master}
    with db.transaction() as s:
        tokens = [s.get(SourceSystem, i).secret for i in ids]  # type: ignore[union-attr]
    assert [sealing.master_of(t or "") for t in tokens] == [new_master, new_master]
    with org.as_("secadmin").act() as ctx:
        assert actions.key_status(ctx).pending_rewrap == 0
        actions.forget_master_key(ctx, old_master)
    assert old_master not in Keyring(org.settings).known()
    # Without the old master key: old data and both secrets open.
    assert lf.as_rows(lake.read(c.table)) == before
    assert [sealing.open_(org.settings, t or "") for t in tokens] == [
        {"password": "pw-gd2"},
        {"password": "pw-gd1"},
    ]
    with db.transaction() as s:
        audited = [a.action for a in s.scalars(select(AuditRecord))]
    for action in (
        "security.master_key.rotate",
        "security.keys.rewrap",
        "security.master_key.forget",
    ):
        assert action in audited
    no_key_material(db, org.settings)


@SQLITE_ONLY
def test_settings_master_key_rotation_is_a_settings_change_and_a_rewrap(
    org: Org, db: Database, tmp_path: Path
) -> None:
    first = org.settings.model_copy(update={"master_key": OLD_MASTER})
    with db.transaction(immediate=True) as s:
        row = envelope.ensure(s, Keyring(first), "lake:pop.t", None)
        assert row is not None
    mine = Org(db, first, org.dept, org.users)
    assert denied(mine, "secadmin", actions.rotate_master_key) == "master_key_from_settings"
    second = first.model_copy(update={"master_key": NEW_MASTER, "master_keys_retired": OLD_MASTER})
    mine = Org(db, second, org.dept, org.users)
    with mine.as_("secadmin").act() as ctx:
        started = actions.start_rewrap(ctx)
    assert started.pending == 1
    Worker(db, second).run_until_idle()
    new_id = Keyring(second).active().id
    assert [k.master_key_id for k in keys(db)] == [new_id]
    # The retired key can now leave the settings.
    third = second.model_copy(update={"master_keys_retired": ""})
    with db.transaction() as s:
        loaded = envelope.load(s, Keyring(third), "lake:pop.t")
    assert loaded.current == row.key_id and len(loaded.keys[row.key_id]) == 16


@SQLITE_ONLY
def test_data_keys_rotate_and_shred_per_owner(org: Org, db: Database) -> None:
    ring = Keyring(org.settings)
    with db.transaction(immediate=True) as s:
        first = envelope.ensure(s, ring, "lake:pop.a", "e1")
        assert first is not None
        assert envelope.ensure(s, ring, "lake:pop.a", "e1") is None
        envelope.ensure(s, ring, "lake:pop.b", "e2")
        old, new = envelope.rotate(s, ring, "lake:pop.a")
        assert old is not None and old.id == first.id
        loaded = envelope.load(s, ring, "lake:pop.a")
    assert (loaded.index, loaded.current) == (first.key_id, new.key_id)
    assert [k.state for k in keys(db) if k.owner == "lake:pop.a"] == ["retired", "active"]
    with db.transaction(immediate=True) as s:
        shredded = envelope.destroy(s, "lake:pop.a", None)
        assert envelope.destroy(s, "lake:pop.a", None) == []
    assert shredded == [first.key_id, new.key_id]
    with db.transaction() as s:
        gone = envelope.load(s, ring, "lake:pop.a")
        other = envelope.load(s, ring, "lake:pop.b")
    assert gone.keys == {} and gone.destroyed == {first.key_id, new.key_id}
    with pytest.raises(GovDataError) as err:
        gone.key(first.key_id)
    assert (err.value.code, err.value.status) == ("data_key_destroyed", 410)
    assert len(other.keys) == 1
    rows = [k for k in keys(db) if k.owner == "lake:pop.a"]
    assert all(k.wrapped is None and k.master_key_id is None for k in rows)
