"""An entry of grade 3 with two sensitive items, collected from a real SQLite source into the
lake by a real full-load pipeline (mount, pipeline and run through their actions, the run
through a worker): the table whose columns are encrypted at rest."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from govdata.core.jobs.worker import Worker
from govdata.exchange import mounts, pipelines
from govdata.exchange.schemas import MountCreate, PipelineCreate
from govdata.exchange.vocab import PipelineKind
from tests.catalog.conftest import published_entry
from tests.identity.conftest import Org
from tests.sharing.conftest import ITEMS, MAPPING, PEOPLE, add_sqlite_source, people_file

# 公民身份号码 (the key) and 手机号码 are sensitive; grade 3 requires them encrypted at rest.
SENSITIVE_ITEMS: list[dict[str, Any]] = [
    dict(i, is_sensitive=True, grade=3) if i["name"] == "手机号码" else dict(i) for i in ITEMS
]


@dataclass(frozen=True)
class Collected:
    entry_id: str
    resource_code: str
    mount_id: str
    pipeline_id: str
    table: str
    source: Path


def collected(org: Org, tmp: Path, *, grade: int = 3, name: str = "户籍人口基本信息") -> Collected:
    items = [dict(i, grade=min(int(i["grade"]), grade)) for i in SENSITIVE_ITEMS]
    entry = published_entry(
        org,
        "xn_officer",
        name=name,
        grade=grade,
        share_type="unconditional",
        share_condition=None,
        share_modes=["api", "table", "file"],
        items=items,
    )
    path = people_file(tmp / f"people-{entry.id[-8:]}.db")
    source_id = add_sqlite_source(org, "xn_stats", path)
    with org.as_("xn_officer").act() as ctx:
        mount = mounts.create_mount(
            ctx,
            MountCreate(
                entry_id=entry.id,
                source_id=source_id,
                target="people",
                mode="physical",
                columns=MAPPING,
                key_columns=["resident_id"],
            ),
        )
        pipeline = pipelines.create_pipeline(
            ctx, PipelineCreate(mount_id=mount.id, name="全量采集", kind=PipelineKind.FULL)
        )
    out = Collected(
        entry.id, entry.resource_code, mount.id, pipeline.id, str(mount.lake_table), path
    )
    run(org, out)
    return out


def run(org: Org, c: Collected) -> None:
    """One run of the pipeline, through a worker; it must succeed."""
    with org.as_("xn_officer").act() as ctx:
        queued = pipelines.run_now(ctx, c.pipeline_id)
    Worker(org.db, org.settings).run_until_idle()
    with org.as_("xn_officer").act() as ctx:
        done = pipelines.get_run(ctx, queued.id)
    assert done.status == "succeeded", done.error_message


def raw_cells(folder: Path, column: str) -> list[str]:
    """The column's values as stored in every Parquet file under ``folder`` (no decryption)."""
    values: list[str] = []
    for path in sorted(folder.rglob("*.parquet")):
        table = pq.read_table(path)
        if column in table.column_names:
            values.extend(v for v in table.column(column).to_pylist() if v is not None)
    return values


def plaintexts(column: int) -> list[str]:
    return [str(r[column]) for r in PEOPLE]


def as_rows(table: pa.Table, key: str = "resident_id") -> list[dict[str, Any]]:
    return sorted(table.to_pylist(), key=lambda r: r[key])
