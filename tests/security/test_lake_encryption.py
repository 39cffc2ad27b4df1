"""Sensitive columns of a grade-3 entry are SM4-encrypted at rest in the lake by a real
pipeline run; every reader through the lake gets plaintext back; lookups by the encrypted
key still work (and run inside the scan); table key rotation keeps old data readable."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from govdata.catalog.models import CatalogEntry
from govdata.core.db import Database
from govdata.core.errors import GovDataError
from govdata.exchange import logical
from govdata.lake.tables import Lake
from govdata.security import classification
from govdata.security.classification_schemas import ControlsUpdate
from govdata.security.crypto import actions as key_actions
from govdata.security.crypto.columns import DETERMINISTIC, PREFIX, RANDOM
from govdata.security.crypto.policy import encryption_required
from tests.catalog.conftest import org, settings
from tests.identity.conftest import Org, audit_rows
from tests.security import lake_fixtures as lf
from tests.sharing.conftest import PEOPLE

__all__ = ["org", "settings"]

# Tests about the lake, not the store, run on SQLite only.
SQLITE_ONLY = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)

IDS = lf.plaintexts(0)
PHONES = lf.plaintexts(2)


def read_mount(org: Org, mount_id: str, filters: list[list[object]]) -> list[dict[str, object]]:
    with org.as_("xn_officer").act() as ctx:
        return lf.as_rows(logical.read_mount(ctx, mount_id, filters=filters))


def test_pipeline_encrypts_sensitive_columns_and_readers_get_plaintext(
    org: Org, db: Database, tmp_path: Path
) -> None:
    c = lf.collected(org, tmp_path)
    lake = Lake.from_settings(org.settings)
    assert lake.encrypted_columns(c.table) == {"resident_id": DETERMINISTIC, "phone": RANDOM}
    folder = lake.path(c.table)

    # At rest: no plaintext of either sensitive column, in the data files or the log.
    for column, clear in (("resident_id", IDS), ("phone", PHONES)):
        cells = lf.raw_cells(folder, column)
        assert len(cells) == len(PEOPLE)
        assert all(v.startswith(PREFIX) for v in cells)
        assert not set(cells) & set(clear)
    on_disk = b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())
    for clear in IDS + PHONES:
        assert clear.encode() not in on_disk
    # The other columns are stored as they are.
    assert sorted(lf.raw_cells(folder, "name")) == sorted(r[1] for r in PEOPLE)

    # Through the lake: plaintext.
    rows = lf.as_rows(lake.read(c.table))
    assert [(r["resident_id"], r["phone"], r["age"]) for r in rows] == sorted(
        (r[0], r[2], r[4]) for r in PEOPLE
    )

    # Lookups by the encrypted key (= and IN), by an encrypted random column, and ranges.
    one = read_mount(org, c.mount_id, [["resident_id", "=", IDS[2]]])
    assert [(r["resident_id"], r["name"], r["phone"]) for r in one] == [(IDS[2], "王五", PHONES[2])]
    two = read_mount(org, c.mount_id, [["resident_id", "IN", [IDS[0], IDS[4], "nobody"]]])
    assert [r["resident_id"] for r in two] == sorted([IDS[0], IDS[4]])
    by_phone = read_mount(org, c.mount_id, [["phone", "=", PHONES[3]]])
    assert [r["resident_id"] for r in by_phone] == [IDS[3]]
    ranged = read_mount(org, c.mount_id, [["resident_id", ">=", "632801"]])
    assert [r["resident_id"] for r in ranged] == sorted(i for i in IDS if i >= "632801")
    assert read_mount(org, c.mount_id, [["resident_id", "=", "000000000000000000"]]) == []

    # The equality lookup ran inside the scan: the ciphertext of the key picks the row.
    sealed = lake.scan(
        c.table,
        columns=["resident_id"],
        filter=pa.compute.field("resident_id") == IDS[1],
        lookups=[["resident_id", "=", IDS[1]]],
    ).read_all()
    assert sealed.column("resident_id").to_pylist() == [IDS[1]]

    # A lake opened without the node's keys sees only ciphertext, and cannot write.
    bare = Lake(org.settings.lake_dir)
    assert set(bare.read(c.table).column("resident_id").to_pylist()) == {
        v for v in lf.raw_cells(folder, "resident_id")
    }
    with pytest.raises(GovDataError) as err:
        bare.append(c.table, lake.read(c.table))
    assert err.value.code == "lake_keys_unavailable"

    # The data key was created for the table by the run, audited without key material.
    created = audit_rows(db, "security.data_key.create")
    assert [r["details"]["owner"] for r in created] == [f"lake:{c.table}"]
    assert set(created[0]["details"]) == {"owner", "key_id", "generation", "master_key_id"}


@SQLITE_ONLY
def test_merges_by_the_encrypted_key_update_in_place(
    org: Org, db: Database, tmp_path: Path
) -> None:
    c = lf.collected(org, tmp_path)
    lake = Lake.from_settings(org.settings)
    schema = lake.dataset(c.table).schema
    change = pa.Table.from_pylist(
        [
            {
                "resident_id": IDS[0],
                "name": "张三丰",
                "phone": "13811112222",
                "region_code": "630102",
                "age": 37,
            },
            {
                "resident_id": "630102201001019999",
                "name": "新人",
                "phone": "13000000000",
                "region_code": "630102",
                "age": 16,
            },
        ],
        schema=pa.schema([f.remove_metadata() for f in schema]),
    )
    lake.merge(c.table, change, ["resident_id"])
    rows = {r["resident_id"]: r for r in lake.read(c.table).to_pylist()}
    assert len(rows) == len(PEOPLE) + 1
    assert (rows[IDS[0]]["name"], rows[IDS[0]]["phone"]) == ("张三丰", "13811112222")
    assert rows["630102201001019999"]["phone"] == "13000000000"
    assert "13811112222" not in lf.raw_cells(lake.path(c.table), "phone")
    # The change feed (what subscriptions deliver from) is decrypted too.
    changes = lake.changes(c.table, lake.table(c.table).version()).read_all().to_pylist()
    assert {r["resident_id"] for r in changes} == {IDS[0], "630102201001019999"}


@SQLITE_ONLY
def test_table_key_rotation_new_rows_use_the_new_key_old_rows_stay_readable(
    org: Org, db: Database, tmp_path: Path
) -> None:
    c = lf.collected(org, tmp_path)
    lake = Lake.from_settings(org.settings)
    before = lake.table(c.table).version()
    old_kids = {v.split(":")[1] for v in lf.raw_cells(lake.path(c.table), "phone")}
    assert len(old_kids) == 1
    # Only the security administrator rotates keys.
    for user in ("xn_officer", "operator", "auditor"):
        with pytest.raises(GovDataError) as err, org.as_(user).act() as ctx:
            key_actions.rotate_table_key(ctx, c.table)
        assert err.value.code == "permission_denied"
    with org.as_("secadmin").act() as ctx:
        rotated = key_actions.rotate_table_key(ctx, c.table)
    assert rotated.old_key_id == next(iter(old_kids)) != rotated.new_key_id
    assert rotated.generation == 2

    newcomer = dict(zip(["resident_id", "name", "phone", "region_code", "age"], PEOPLE[0]))
    newcomer.update(resident_id="630102202001010001", phone="13322223333")
    schema = pa.schema([f.remove_metadata() for f in lake.dataset(c.table).schema])
    lake.append(c.table, pa.Table.from_pylist([newcomer], schema=schema))

    cells = dict(
        zip(
            lf.raw_cells(lake.path(c.table), "resident_id"),
            lf.raw_cells(lake.path(c.table), "phone"),
        )
    )
    kids = {v.split(":")[1] for v in cells.values()}
    assert kids == {rotated.old_key_id, rotated.new_key_id}
    rows = {r["resident_id"]: r["phone"] for r in lake.read(c.table).to_pylist()}
    assert rows["630102202001010001"] == "13322223333"
    assert rows[IDS[1]] == PHONES[1]
    # The key column keeps the table's first key: lookups find old and new rows alike.
    assert [r["phone"] for r in read_mount(org, c.mount_id, [["resident_id", "=", IDS[1]]])] == [
        PHONES[1]
    ]
    # Time travel to the version before the rotation still decrypts.
    past = lake.read(c.table, version=before)
    assert sorted(past.column("phone").to_pylist()) == sorted(PHONES)
    rotations = audit_rows(db, "security.data_key.rotate")
    assert [r["actor_name"] for r in rotations] == ["secadmin"]


@SQLITE_ONLY
def test_low_grades_and_insensitive_items_are_not_encrypted(
    org: Org, db: Database, tmp_path: Path
) -> None:
    c = lf.collected(org, tmp_path, grade=2, name="低等级人口信息")
    lake = Lake.from_settings(org.settings)
    assert lake.encrypted_columns(c.table) == {}
    assert sorted(lf.raw_cells(lake.path(c.table), "resident_id")) == sorted(IDS)
    with db.transaction() as s:
        entry = s.get(CatalogEntry, c.entry_id)
        assert entry is not None
        assert encryption_required(s, entry) == []
        entry.grade = 3
        assert encryption_required(s, entry) == ["公民身份号码", "手机号码"]


def test_the_classification_policy_decides_which_grades_are_encrypted(
    org: Org, db: Database, tmp_path: Path
) -> None:
    """Encryption at rest follows the grade's controls: switched on for grade 2 by the
    security administrator's table, a grade-2 entry's sensitive items are encrypted."""
    with org.system.act() as ctx:
        classification.update_controls(
            ctx, ControlsUpdate.model_validate({"grades": {"2": {"encrypt_at_rest": True}}})
        )
    c = lf.collected(org, tmp_path, grade=2, name="二级人口信息")
    lake = Lake.from_settings(org.settings)
    assert set(lake.encrypted_columns(c.table)) >= {"resident_id"}
    assert not set(lf.raw_cells(lake.path(c.table), "resident_id")) & set(IDS)
