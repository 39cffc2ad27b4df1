"""Lake tables on real Delta tables in a temporary folder: writes, versions, change feed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from govdata.config import Settings
from govdata.core.errors import Conflict, InvalidInput, NotFound
from govdata.lake import Lake, entry_table_name, parse_table_name

SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string()), ("score", pa.float64())])
T = "pop.people"


def rows(table: pa.Table) -> list[dict[str, object]]:
    return sorted(table.to_pylist(), key=lambda r: r["id"])  # type: ignore[arg-type,return-value]


def data(*items: tuple[int, str, float]) -> pa.Table:
    ids, names, scores = zip(*items, strict=True) if items else ((), (), ())
    return pa.table({"id": ids, "name": names, "score": scores}, schema=SCHEMA)


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    lake = Lake(tmp_path / "lake")
    assert lake.create(T, SCHEMA, entry_id="entry-1", description="people") == 0
    lake.append(T, data((1, "a", 1.0), (2, "b", 2.0), (3, "c", 3.0)))
    return lake


def test_lake_dir_defaults_under_data_dir(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).lake_dir == tmp_path / "lake"
    assert Settings(data_dir=tmp_path, lake_root=tmp_path / "big").lake_dir == tmp_path / "big"
    assert Lake.from_settings(Settings(data_dir=tmp_path)).root == tmp_path / "lake"


@pytest.mark.parametrize(
    "name",
    [
        "pop",
        "pop.",
        ".x",
        "Pop.x",
        "pop.X",
        "pop.1x",
        "pop.x-y",
        "a.b.c",
        "pop.x y",
        "main.x",
        "information_schema.x",
        "pop." + "x" * 64,
        "../etc.passwd",
    ],
)
def test_invalid_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidInput) as err:
        Lake(tmp_path).create(name, SCHEMA)
    assert err.value.code == "lake_table_name_invalid"
    assert not any(tmp_path.iterdir())


def test_names_map_to_folders(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    assert lake.path("pop.x_1") == tmp_path / "pop" / "x_1"
    assert str(parse_table_name("pop." + "x" * 63)) == "pop." + "x" * 63
    assert str(entry_table_name("pop", "370100-GA/00012")) == "pop.entry_370100_ga_00012"


def test_create_sets_change_feed_and_entry(lake: Lake) -> None:
    info = lake.info(T)
    assert info.configuration["delta.enableChangeDataFeed"] == "true"
    assert info.entry_id == "entry-1"
    assert info.description == "people"
    assert (info.version, info.num_rows) == (1, 3)
    assert info.schema.names == ["id", "name", "score"]
    assert 0 < info.size_bytes < info.disk_bytes
    with pytest.raises(Conflict) as err:
        lake.create(T, SCHEMA)
    assert err.value.code == "lake_table_exists"


def test_list_tables(lake: Lake, tmp_path: Path) -> None:
    lake.create("geo.zones", pa.schema([("code", pa.string())]))
    (lake.root / "pop" / "not_a_table").mkdir()
    (lake.root / "Bad-Name").mkdir()
    assert lake.list_tables() == ["geo.zones", "pop.people"]
    assert Lake(tmp_path / "missing").list_tables() == []


def test_overwrite_append_merge_delete_exact_content(lake: Lake) -> None:
    result = lake.overwrite(T, data((10, "x", 0.5), (11, "y", 1.5)))
    assert result.version == 2
    assert rows(lake.read(T)) == [
        {"id": 10, "name": "x", "score": 0.5},
        {"id": 11, "name": "y", "score": 1.5},
    ]
    assert lake.append(T, data((12, "z", 2.5))).version == 3
    merged = lake.merge(T, data((11, "Y", 9.0), (13, "w", 3.5)), keys=["id"])
    assert merged.version == 4
    assert merged.metrics["num_target_rows_updated"] == 1
    assert merged.metrics["num_target_rows_inserted"] == 1
    assert rows(lake.read(T)) == [
        {"id": 10, "name": "x", "score": 0.5},
        {"id": 11, "name": "Y", "score": 9.0},
        {"id": 12, "name": "z", "score": 2.5},
        {"id": 13, "name": "w", "score": 3.5},
    ]
    deleted = lake.delete(T, "score > 3")
    assert (deleted.version, deleted.metrics["num_deleted_rows"]) == (5, 2)
    assert [r["id"] for r in rows(lake.read(T))] == [10, 12]


def test_string_filters_work_on_files_a_merge_rewrote(lake: Lake) -> None:
    # delta-rs may write merged files with string *view* columns, which pyarrow's compare
    # kernels reject; filtered scans must still answer, on old and rewritten files alike.
    lake.merge(T, data((2, "bb", 2.5), (4, "d", 4.0)), keys=["id"])
    for expr, expected in [
        (pc.field("name") == "bb", [2]),
        (pc.field("name") >= "c", [3, 4]),
        (pc.field("name").isin(["a", "d"]), [1, 4]),
        ((pc.field("score") > 2.0) & (pc.field("name") != "c"), [2, 4]),
    ]:
        got = lake.read(T, columns=["id", "name"], filter=expr)
        assert sorted(got.column("id").to_pylist()) == expected, expr
        assert got.schema.field("name").type == pa.string()


def test_merge_with_deletes_and_composite_key(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    schema = pa.schema([("region", pa.string()), ("id", pa.int32()), ("v", pa.string())])
    lake.create("geo.pairs", schema)
    lake.append(
        "geo.pairs",
        pa.table(
            {"region": ["a", "a", "b"], "id": [1, 2, 1], "v": ["a1", "a2", "b1"]}, schema=schema
        ),
    )
    changes = pa.table(
        {
            "region": ["a", "b", "b"],
            "id": [1, 1, 2],
            "v": ["A1", None, "b2"],
            "_deleted": [False, True, False],
        }
    )
    lake.merge("geo.pairs", changes, keys=["region", "id"], delete_column="_deleted")
    got = sorted(lake.read("geo.pairs").to_pylist(), key=lambda r: (r["region"], r["id"]))
    assert got == [
        {"region": "a", "id": 1, "v": "A1"},
        {"region": "a", "id": 2, "v": "a2"},
        {"region": "b", "id": 2, "v": "b2"},
    ]
    with pytest.raises(InvalidInput) as err:
        lake.merge("geo.pairs", changes.drop_columns(["_deleted"]), keys=["nope"])
    assert err.value.code == "lake_merge_keys_unknown"
    with pytest.raises(InvalidInput) as err:
        lake.merge("geo.pairs", changes, keys=["id"], delete_column="v")
    assert err.value.code == "lake_schema_mismatch"


def test_read_with_projection_and_filter(lake: Lake) -> None:
    got = lake.read(T, columns=["id", "name"], filter=pc.field("score") >= 2.0)
    assert got.column_names == ["id", "name"]
    assert rows(got) == [{"id": 2, "name": "b"}, {"id": 3, "name": "c"}]
    with pytest.raises(InvalidInput) as err:
        lake.read(T, columns=["nope"])
    assert err.value.code == "lake_column_unknown"


def test_time_travel(lake: Lake) -> None:
    lake.merge(T, data((1, "A", 1.0)), keys=["id"])
    lake.delete(T, "id = 2")
    assert lake.read(T, version=0).num_rows == 0
    assert rows(lake.read(T, version=1))[0]["name"] == "a"
    assert rows(lake.read(T, version=2))[0]["name"] == "A"
    assert [r["id"] for r in rows(lake.read(T, version=2))] == [1, 2, 3]
    assert [r["id"] for r in rows(lake.read(T))] == [1, 3]
    with pytest.raises(NotFound) as err:
        lake.read(T, version=9)
    assert err.value.code == "lake_version_not_found"


def test_change_data_feed(lake: Lake) -> None:
    lake.merge(T, data((2, "B", 2.0), (4, "d", 4.0)), keys=["id"])  # v2
    lake.delete(T, "id = 1")  # v3
    feed = lake.changes(T, 1).read_all()
    got = sorted(
        (r["_commit_version"], r["_change_type"], r["id"], r["name"])
        for r in feed.select(["_commit_version", "_change_type", "id", "name"]).to_pylist()
    )
    assert got == [
        (1, "insert", 1, "a"),
        (1, "insert", 2, "b"),
        (1, "insert", 3, "c"),
        (2, "insert", 4, "d"),
        (2, "update_postimage", 2, "B"),
        (2, "update_preimage", 2, "b"),
        (3, "delete", 1, "a"),
    ]
    assert feed.schema.field("name").type == pa.string()  # not string_view
    only_v3 = lake.changes(T, 3, 3).read_all()
    assert only_v3.column("_change_type").to_pylist() == ["delete"]
    with pytest.raises(NotFound):
        lake.changes(T, 2, 7)


def test_reader_pinned_to_a_version_survives_overwrite(lake: Lake) -> None:
    pinned = lake.table(T, version=1)
    lake.overwrite(T, data((99, "new", 0.0)))
    assert rows(pinned.to_pyarrow_table())[0] == {"id": 1, "name": "a", "score": 1.0}
    assert pinned.to_pyarrow_table().num_rows == 3
    assert rows(lake.read(T)) == [{"id": 99, "name": "new", "score": 0.0}]


def test_failed_write_leaves_last_version(lake: Lake) -> None:
    before = lake.read(T)
    bad_type = pa.table({"id": ["x"], "name": ["q"], "score": [1.0]})
    with pytest.raises(InvalidInput) as err:
        lake.overwrite(T, bad_type)
    assert err.value.code == "lake_schema_mismatch"
    with pytest.raises(InvalidInput) as err:
        lake.append(T, pa.table({"id": [5], "extra": [1]}))
    assert err.value.code == "lake_schema_mismatch"
    assert "extra" in err.value.message_en

    # A stream whose 50th batch is bad: earlier batches were already handed to the writer.
    def batches() -> object:
        for i in range(50):
            yield data((100 + i, "ok", 1.0)).to_batches()[0]
        yield pa.record_batch({"id": ["bad"], "name": ["x"], "score": [1.0]})

    stream_schema = pa.schema([("id", pa.string()), ("name", pa.string()), ("score", pa.float64())])
    good = (b.cast(stream_schema) for b in batches())  # type: ignore[attr-defined]
    reader = pa.RecordBatchReader.from_batches(stream_schema, good)
    with pytest.raises(InvalidInput) as err:
        lake.overwrite(T, reader)
    assert err.value.code == "lake_schema_mismatch"
    assert lake.info(T).version == 1
    assert lake.read(T).equals(before)


def test_streaming_write_of_many_batches(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    lake.create("pop.big", SCHEMA)
    produced = 0

    def batches() -> object:
        nonlocal produced
        for start in range(0, 200_000, 5_000):
            produced += 1
            ids = pa.array(range(start, start + 5_000), pa.int64())
            yield pa.record_batch(
                [ids, pc.cast(ids, pa.string()), pc.cast(ids, pa.float64())], schema=SCHEMA
            )

    reader = pa.RecordBatchReader.from_batches(SCHEMA, batches())  # type: ignore[arg-type]
    result = lake.overwrite("pop.big", reader, commit_metadata={"govdata.run_id": "run-1"})
    assert produced == 40
    assert result.version == 1
    assert result.metrics["num_added_rows"] == 200_000
    info = lake.info("pop.big")
    assert info.num_rows == 200_000
    assert lake.history("pop.big", 1)[0]["govdata.run_id"] == "run-1"
    total = pc.sum(lake.read("pop.big", columns=["id"])["id"]).as_py()
    assert total == sum(range(200_000))
    streamed = lake.scan("pop.big", columns=["id"], batch_size=10_000)
    assert sum(b.num_rows for b in streamed) == 200_000


def test_vacuum_policy(lake: Lake) -> None:
    lake.overwrite(T, data((7, "g", 7.0)))
    for retention in (timedelta(hours=23), timedelta(0), timedelta(days=-1)):
        with pytest.raises(InvalidInput) as err:
            lake.vacuum(T, retention)
        assert err.value.code == "lake_vacuum_retention_too_short"
    # Default (7 days) keeps the just-replaced files: version 1 stays readable.
    assert lake.vacuum(T) == []
    assert lake.read(T, version=1).num_rows == 3
    # One day is allowed without the flag (delta-rs's own 7-day floor is ours to lift).
    assert lake.vacuum(T, timedelta(days=1)) == []
    removed = lake.vacuum(T, timedelta(0), allow_short_retention=True)
    assert len(removed) == 1
    assert rows(lake.read(T)) == [{"id": 7, "name": "g", "score": 7.0}]


def test_missing_table(tmp_path: Path) -> None:
    with pytest.raises(NotFound) as err:
        Lake(tmp_path).read("pop.nothing")
    assert err.value.code == "lake_table_not_found"
