"""A small lake with two related tables, shared by the query and CLI tests."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from govdata.lake import Lake


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    lake = Lake(root / "lake")
    people = pa.schema([("id", pa.int64()), ("name", pa.string()), ("county", pa.string())])
    lake.create("pop.people", people, entry_id="entry-people")
    lake.append(
        "pop.people",
        pa.table(
            {
                "id": [1, 2, 3, 4],
                "name": ["张三", "李四", "王五", "赵六"],
                "county": ["630102", "630102", "630103", "630104"],
            },
            schema=people,
        ),
    )
    counties = pa.schema([("code", pa.string()), ("title", pa.string())])
    lake.create("geo.counties", counties)
    lake.append(
        "geo.counties",
        pa.table({"code": ["630102", "630103"], "title": ["城东区", "城中区"]}, schema=counties),
    )
    return root


@pytest.fixture(scope="module")
def lake(data_dir: Path) -> Lake:
    return Lake(data_dir / "lake")
