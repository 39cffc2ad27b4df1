"""Subscription delivery (订阅交付): one run puts a grant's data into the consumer's table or
into a file the consumer downloads.

What a run delivers is decided afresh at its start from the grant, never from the
subscription: only the granted items (named by the mount's field names), only rows inside
the grant's row filter, each item masked as the grant says. A row-filter item the mount
does not map fails the run (``sharing_grant_unenforceable``): a limit we cannot apply means
no rows, never all rows. A revoked or expired grant fails the run
(``sharing_grant_revoked`` / ``sharing_grant_expired``) and ends the subscription.

Physically aggregated entries (a lake table):

- table mode: the first run copies the lake table as it is at one version; later runs apply
  the lake's change feed since the version last delivered, upserting by the mount's key and
  deleting by key. An update that moves a row out of the row filter becomes a delete of its
  key; one that moves a row in becomes an upsert. A commit that replaced the lake table
  (or a change feed vacuumed away) is delivered as a fresh copy. The delivered version
  lives in the TARGET database (``govdata_delivery``, the subscription id as pipeline id),
  written in the same transaction as the rows, exactly as return flow keeps it: a crash
  rolls both back together, and the next run resumes from the version the target names,
  neither losing nor repeating a change. The key must be granted and unmasked (a masked
  key would merge different people's rows).
- file mode: each run writes one file under ``<delivery_dir>/<subscription id>/``:
  ``full-v12.csv`` (the table at version 12) or ``changes-v13-v15.csv`` (versions 13 to 15,
  with ``_op`` = upsert/delete and ``_version``; a delete carries only the key). Files are
  written to a temporary name and renamed, so a file that exists is complete. The delivered
  version is the newest of the store's mirror and the files' names: a crash after the
  rename never repeats a file. Without a granted, unmasked key every run writes a full file.

Logically accessed entries (read at the source) have no versions and no change feed: each
run reads the source through ``logical.fetch`` up to the mount's row cap and upserts it by
key (table mode) or writes ``full-<UTC time>.csv`` (file mode). Deletes at the source are
NOT detected for logical entries: a row deleted there stays in the consumer's table.

Rows stream through in Arrow batches; a table is never turned into Python lists whole.
CSV files are UTF-8 with a byte-order mark, which spreadsheet programs need for Chinese.

The entry's grade decides, through the classification policy (``security.classification``),
whether files may be delivered at all (``classification_forbidden`` fails the run) and
whether each file carries a watermark naming the consumer, the grant and the time
(``security.watermark``: a last column ``_watermark``, and Parquet metadata).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as pads
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.config import Settings
from govdata.core.clock import now
from govdata.core.db import Database
from govdata.core.errors import Conflict, GovDataError, InvalidInput, ServiceUnavailable
from govdata.exchange import logical
from govdata.exchange.engine.full import Stopped
from govdata.exchange.engine.returnflow import (
    ChangesGone,
    Step,
    Target,
    delivery_steps,
    open_target,
    version_changes,
)
from govdata.exchange.models import Mount
from govdata.exchange.vocab import MountMode, RunStatus
from govdata.identity import queries as org
from govdata.lake.tables import Lake
from govdata.security import classification
from govdata.security.watermark import watermark_batch, watermark_text, watermarked_schema
from govdata.sharing.masking import CLEAR, mask_batch
from govdata.sharing.models import Grant, Subscription
from govdata.sharing.vocab import GrantStatus, SubscriptionMode
from govdata.sources.base import Filter
from govdata.sources.registry import SourceFacts, connection_params, server_path, source_facts

BATCH_ROWS = 5_000
# A target transaction is committed at the first lake version boundary past this many rows.
COMMIT_ROWS = 100_000
ACTIVE_RUNS = (RunStatus.QUEUED.value, RunStatus.RUNNING.value)
FINISHED_RUNS = (RunStatus.SUCCEEDED.value, RunStatus.FAILED.value, RunStatus.CANCELLED.value)
BOM = b"\xef\xbb\xbf"
UPSERTS = pa.array(["insert", "update_postimage"])
OP, VERSION = "_op", "_version"
# What a delivered file may be called; anything else in the folder is not a delivery.
FILE_RE = re.compile(
    r"^(?P<kind>full|changes)-(?:v(?P<a>\d+)(?:-v(?P<b>\d+))?|\d{8}T\d{6}Z(?:-[0-9a-f]{8})?)"
    r"\.(?P<ext>csv|parquet)$"
)

Progress = Callable[[int, "int | None", "str | None"], None]


# -- what the grant allows ------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What one run may deliver, fixed from the grant inside the transaction that checked it."""

    subscription_id: str
    grant_id: str
    grant_code: str
    mode: str  # SubscriptionMode
    items: list[str]  # granted items the mount maps: what the consumer receives
    fields: list[str]  # their field names, in mount order
    masks: dict[str, str]  # field -> mask kind (clear fields left out)
    row_filter: list[Filter]  # on fields, values typed as the fields
    keys: list[str]  # the mount's key fields
    mount: Mount  # a detached snapshot, for logical reads
    physical: bool
    lake_table: str | None  # None until the mount has one
    target: SourceFacts | None  # table mode
    target_table: str | None
    file_format: str | None  # file mode
    # Written into every delivered file when the entry's grade asks for it (file mode).
    watermark: str | None = None

    @property
    def clear_keys(self) -> bool:
        """The key is delivered as it is, so the consumer can apply changes by it."""
        return bool(self.keys) and all(k in self.fields and k not in self.masks for k in self.keys)


def _unenforceable(zh: str, en: str, **details: Any) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"授权无法执行：{zh}，已拒绝交付",
        f"The grant cannot be enforced: {en}; nothing is delivered",
        code="sharing_grant_unenforceable",
        details=details,
    )


def grant_refusal(status: GrantStatus) -> GovDataError:
    if status == GrantStatus.REVOKED:
        return Conflict("授权已撤销", "The grant was revoked", code="sharing_grant_revoked")
    return Conflict("授权已过期", "The grant has expired", code="sharing_grant_expired")


def build_plan(s: Session, sub: Subscription, grant: Grant) -> Plan:
    """Translate the grant's items, row filter and masks onto the entry's mount.

    Raises when the grant cannot be applied as written (an unmapped row-filter item) or the
    subscription cannot work (table mode without a granted, clear key; a target that is
    not the consumer's MariaDB/PostgreSQL source).
    """
    mount = s.scalars(select(Mount).where(Mount.entry_id == grant.entry_id)).one_or_none()
    if mount is None:
        raise ServiceUnavailable(
            "该目录尚未挂载数据",
            "No data is mounted on this entry yet",
            code="sharing_no_data",
            details={"resource_code": grant.resource_code},
        )
    granted = set(grant.items)
    mapped = [c for c in mount.columns if c.get("item") in granted]
    if not mapped:
        raise _unenforceable("授权的信息项均未挂载", "no granted item is mounted")
    by_item = {str(c["item"]): str(c["field"]) for c in mount.columns if c.get("item")}
    conditions: list[Filter] = []
    for cond in grant.row_filter or []:
        item = str(cond[0])
        if item not in by_item:
            raise _unenforceable(
                f"行范围中的信息项“{item}”未挂载", f"row-scope item {item!r} is unmapped", item=item
            )
        conditions.append((by_item[item], *cond[1:]))
    fields = [str(c["field"]) for c in mapped]
    masks = {
        by_item[item]: kind
        for item, kind in (grant.masks or {}).items()
        if item in by_item and by_item[item] in fields and kind != CLEAR
    }
    keys = [str(k) for k in mount.key_columns or []]
    target = None
    if sub.mode == SubscriptionMode.TABLE:
        _check_keys(keys, fields, masks)
        target = source_facts(s, sub.target_source_id or "")
        if target is None or target.department_id != sub.consumer_department_id:
            raise InvalidInput(
                "订阅目标须为使用部门自己登记的数据源",
                "The subscription target must be a source of the consumer department",
                code="sharing_target_invalid",
                details={"source_id": sub.target_source_id},
            )
        if target.kind not in ("mariadb", "postgresql", "sqlite"):
            raise InvalidInput(
                "订阅目标须为 MariaDB、PostgreSQL 或 SQLite 数据源",
                "The subscription target must be a MariaDB, PostgreSQL or SQLite source",
                code="sharing_target_invalid",
                details={"source_id": target.id, "kind": target.kind},
            )
    physical = mount.mode == MountMode.PHYSICAL
    watermark = _file_controls(s, grant) if sub.mode == SubscriptionMode.FILE else None
    return Plan(
        subscription_id=sub.id,
        grant_id=grant.id,
        grant_code=grant.code,
        mode=sub.mode,
        items=[str(c["item"]) for c in mapped],
        fields=fields,
        masks=masks,
        row_filter=logical.typed_filters(mount, conditions),
        keys=keys,
        mount=mount,
        physical=physical,
        lake_table=mount.lake_table if physical else None,
        target=target,
        target_table=sub.target_table,
        file_format=sub.file_format,
        watermark=watermark,
    )


def _file_controls(s: Session, grant: Grant) -> str | None:
    """Refuse file delivery the entry's grade forbids (``classification_forbidden``); the
    watermark text when its grade asks for one."""
    grade = classification.entry_grade(s, grant.entry_id)
    controls = classification.check(s, grade, classification.Operation.FILE)
    if not controls.watermark:
        return None
    names = org.department_names(s, {grant.consumer_department_id})
    consumer = names.get(grant.consumer_department_id, grant.consumer_department_id)
    return watermark_text(consumer, grant.code, now())


def _check_keys(keys: list[str], fields: list[str], masks: dict[str, str]) -> None:
    if not keys:
        raise InvalidInput(
            "库表订阅按主键写入，该目录的挂载未设置主键",
            "Table delivery writes by key; the entry's mount has no key",
            code="sharing_key_missing",
        )
    outside = [k for k in keys if k not in fields]
    if outside:
        raise InvalidInput(
            "库表订阅须授权主键信息项",
            "Table delivery needs the key items among the granted items",
            code="sharing_key_not_granted",
            details={"keys": outside},
        )
    masked = [k for k in keys if k in masks]
    if masked:
        raise InvalidInput(
            "主键信息项被脱敏，无法按主键写入库表（请改用文件订阅或申请明文）",
            "A key item is masked, so rows cannot be written by key (use file delivery, or "
            "ask for the key unmasked)",
            code="sharing_key_masked",
            details={"keys": masked},
        )


class _Shape:
    """Lake or source rows -> delivered rows: inside the row filter, granted fields, masked."""

    def __init__(self, plan: Plan, schema: pa.Schema) -> None:
        missing = [f for f in plan.fields if f not in schema.names]
        if missing:
            raise _unenforceable(
                "授权的字段不在数据中", "granted fields are missing", fields=missing
            )
        self.plan = plan
        self.predicate = logical.lake_filter(schema, plan.row_filter) if plan.row_filter else None
        self.read_columns = list(dict.fromkeys([*plan.fields, *(c[0] for c in plan.row_filter)]))
        empty = pa.RecordBatch.from_pylist(
            [], schema=pa.schema([schema.field(f) for f in plan.fields])
        )
        self.schema = mask_batch(empty, plan.masks).schema

    def inside(self, batch: pa.RecordBatch) -> pa.Array:
        """True for rows inside the row filter; a filter that cannot be decided (null) is out."""
        if self.predicate is None:
            return pa.repeat(pa.scalar(True), batch.num_rows)
        table = pa.Table.from_batches([batch])
        decided = pads.dataset(table).to_table(columns={"_in": self.predicate}).column("_in")
        return pc.fill_null(decided.combine_chunks(), False)

    def out(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        return mask_batch(batch.select(self.plan.fields), self.plan.masks)

    def split(self, changes: pa.RecordBatch) -> tuple[pa.RecordBatch, pa.RecordBatch]:
        """A change-feed batch as the rows to upsert (shaped for delivery) and the rows whose
        key leaves the consumer (as read): deletes, and updates that moved out of the row
        filter."""
        kind = changes.column("_change_type")
        inside = self.inside(changes)
        keep = pc.and_(pc.is_in(kind, value_set=UPSERTS), inside)
        gone = pc.or_(
            pc.equal(kind, "delete"),
            pc.and_(pc.equal(kind, "update_postimage"), pc.invert(inside)),
        )
        return self.out(changes.filter(keep)), changes.filter(gone)

    def rows_at(self, lake: Lake, table: str, version: int) -> Iterator[pa.RecordBatch]:
        """The delivered rows of the lake table at ``version``, batch by batch."""
        # A row the filter cannot decide (null) is dropped by the scan, as ``inside`` drops it.
        for batch in lake.scan(
            table,
            columns=self.read_columns,
            filter=self.predicate,
            version=version,
            batch_size=BATCH_ROWS,
        ):
            yield self.out(batch)


# -- one run's result ------------------------------------------------------------------------


@dataclass
class Outcome:
    """What reached the consumer; counts only what was committed there."""

    version_from: int | None = None  # the lake version the consumer held before the run
    version_to: int | None = None  # ... and after it
    upserted: int = 0
    deleted: int = 0
    files: list[str] = field(default_factory=list)
    # Something new reached the consumer: its commit time says how fresh the consumer is.
    delivered: bool = False
    source_time: datetime | None = None


def _commit_time(lake: Lake, table: str, version: int) -> datetime | None:
    latest = lake.table(table).version()
    for commit in lake.history(table, latest - version + 1):
        if commit.get("version") == version and commit.get("timestamp") is not None:
            return datetime.fromtimestamp(int(commit["timestamp"]) / 1000, tz=UTC)
    return None


def _stop_check(should_stop: Callable[[], bool], last: bool) -> None:
    if not last and should_stop():
        raise Stopped()


# -- table mode ---------------------------------------------------------------------------------


class _TableDelivery:
    """Changes or copies of the lake table into the target, version after version."""

    def __init__(
        self,
        plan: Plan,
        lake: Lake,
        target: Target,
        shape: _Shape,
        outcome: Outcome,
        progress: Progress,
        should_stop: Callable[[], bool],
    ) -> None:
        assert plan.lake_table is not None
        self.plan = plan
        self.table = plan.lake_table
        self.lake = lake
        self.target = target
        self.shape = shape
        self.outcome = outcome
        self.progress = progress
        self.should_stop = should_stop
        self.committed: int | None = None
        self.open = False
        self.pending_rows = 0
        self.pending = (0, 0)  # upserted, deleted since the last commit

    def run(self, delivered: int | None, version: int, *, new_table: bool) -> None:
        self.committed = delivered
        steps = (
            [Step(version, copy=True)]
            if new_table
            else delivery_steps(self.lake, self.table, delivered, version)
        )
        try:
            self._deliver(steps)
        except ChangesGone:
            self.target.rollback()
            self.open = False
            self.pending_rows, self.pending = 0, (0, 0)
            self._deliver([Step(version, copy=True)])

    def _deliver(self, steps: list[Step]) -> None:
        for i, step in enumerate(steps, start=1):
            if not self.open:
                self._begin()
            if step.copy:
                self._copy(step.version)
            else:
                for batch in version_changes(self.lake, self.table, step.version):
                    for offset in range(0, batch.num_rows, BATCH_ROWS):
                        self._apply(batch.slice(offset, BATCH_ROWS))
            last = i == len(steps)
            if last or self.pending_rows >= COMMIT_ROWS:
                self._commit(step.version)
                self.progress(i, len(steps), f"lake version {step.version}")
                _stop_check(self.should_stop, last)

    def _begin(self) -> None:
        # Holding the delivery row: a second run of the subscription waits, then finds the
        # version moved and writes nothing.
        found = self.target.delivered(self.plan.subscription_id, lock=True)
        if found != self.committed:
            raise Conflict(
                "订阅目标已被其他运行更新，本次未写入",
                "The subscription target was advanced by another run; nothing was written",
                code="sharing_delivery_moved",
                details={"expected": self.committed, "found": found},
            )
        self.open = True

    def _commit(self, version: int) -> None:
        self.target.set_delivered(self.plan.subscription_id, version)
        self.target.commit()
        self.open = False
        self.committed = version
        up, down = self.pending
        self.outcome.upserted += up
        self.outcome.deleted += down
        self.outcome.version_to = version
        self.outcome.delivered = True
        self.pending_rows, self.pending = 0, (0, 0)

    def _copy(self, version: int) -> None:
        cleared = self.target.delete_all()
        upserted = 0
        for batch in self.shape.rows_at(self.lake, self.table, version):
            self.target.upsert(batch, self.plan.keys)
            upserted += batch.num_rows
        self.pending_rows += upserted
        up, down = self.pending
        self.pending = (up + upserted, down + cleared)

    def _apply(self, batch: pa.RecordBatch) -> None:
        upserts, gone = self.shape.split(batch)
        removed = self.target.delete(gone.select(self.plan.keys))
        self.target.upsert(upserts, self.plan.keys)
        self.pending_rows += batch.num_rows
        up, down = self.pending
        self.pending = (up + upserts.num_rows, down + removed)


def _deliver_table(
    plan: Plan,
    settings: Settings,
    db: Database,
    outcome: Outcome,
    progress: Progress,
    should_stop: Callable[[], bool],
) -> None:
    assert plan.target is not None and plan.target_table is not None
    params = (
        {"path": str(server_path(settings, str(plan.target.config["path"])))}
        if plan.target.kind == "sqlite"
        else connection_params(settings, plan.target)
    )
    if not plan.physical:
        table = _read_logical(plan, settings, db)
        shape = _Shape(plan, table.schema)
        target = open_target(plan.target, params, plan.target_table)
        try:
            target.prepare(shape.schema, plan.keys, create=True)
            for batch in table.to_batches(max_chunksize=BATCH_ROWS):
                target.upsert(shape.out(batch), plan.keys)
            target.commit()
        except BaseException:
            target.rollback()
            raise
        finally:
            target.close()
        outcome.upserted = table.num_rows
        outcome.delivered = True
        outcome.source_time = now()
        return
    lake = Lake.from_settings(settings)
    if plan.lake_table is None or not lake.exists(plan.lake_table):
        return  # nothing collected yet
    pinned = lake.table(plan.lake_table)
    version = pinned.version()
    shape = _Shape(plan, pa.schema(pinned.schema().to_arrow()))
    target = open_target(plan.target, params, plan.target_table)
    try:
        new_table = target.prepare(shape.schema, plan.keys, create=True)
        delivered = target.delivered(plan.subscription_id)
        target.commit()
        outcome.version_from = outcome.version_to = delivered
        if delivered == version and not new_table:
            return
        delivery = _TableDelivery(plan, lake, target, shape, outcome, progress, should_stop)
        try:
            delivery.run(delivered, version, new_table=new_table)
        except BaseException:
            target.rollback()
            raise
    finally:
        target.close()
        if outcome.delivered and outcome.version_to is not None:
            outcome.source_time = _commit_time(lake, plan.lake_table, outcome.version_to)


# -- file mode ------------------------------------------------------------------------------------


def delivery_folder(settings: Settings, subscription_id: str) -> Path:
    return settings.delivery_dir / subscription_id


def delivered_files(folder: Path) -> list[Path]:
    """The complete delivery files in a subscription's folder (temporary files excluded)."""
    if not folder.is_dir():
        return []
    return [p for p in folder.iterdir() if p.is_file() and FILE_RE.fullmatch(p.name)]


@dataclass(frozen=True)
class DeliveredCopy:
    """A complete file delivered to a consumer, as the retention report sees it."""

    subscription_id: str
    grant_code: str
    consumer_department_id: str
    entry_id: str
    resource_code: str
    name: str
    modified_at: datetime


def delivered_copies(s: Session, settings: Settings) -> Iterator[DeliveredCopy]:
    """Every delivered file still in the folders of file subscriptions (any state)."""
    rows = s.execute(
        select(
            Subscription.id,
            Grant.code,
            Grant.consumer_department_id,
            Grant.entry_id,
            Grant.resource_code,
        )
        .join(Grant, Grant.id == Subscription.grant_id)
        .where(Subscription.mode == SubscriptionMode.FILE.value)
        .order_by(Subscription.id)
    )
    for sub_id, code, consumer, entry_id, resource_code in rows:
        for path in delivered_files(delivery_folder(settings, sub_id)):
            modified = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
            yield DeliveredCopy(
                sub_id, code, consumer, entry_id, resource_code, path.name, modified
            )


def _version_in_files(folder: Path) -> int | None:
    found: int | None = None
    for path in delivered_files(folder):
        m = FILE_RE.fullmatch(path.name)
        assert m is not None
        end = m.group("b") or m.group("a")
        if end is not None:
            found = max(found or 0, int(end))
    return found


class _FileWriter:
    """One delivery file, written under a temporary name and renamed when complete."""

    def __init__(
        self,
        folder: Path,
        name: str,
        schema: pa.Schema,
        fmt: str,
        run_id: str,
        watermark: str | None = None,
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / name
        self.temp = folder / f".{name}.{run_id}.tmp"
        self.rows = 0
        self.watermark = watermark
        if watermark is not None:
            schema = watermarked_schema(schema, watermark)
        self.schema = schema
        self.handle: IO[bytes] = self.temp.open("wb")
        self.writer: Any
        if fmt == "csv":
            self.handle.write(BOM)
            self.writer = pacsv.CSVWriter(self.handle, schema)
        else:
            self.writer = pq.ParquetWriter(self.handle, schema)

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows:
            if self.watermark is not None:
                batch = watermark_batch(batch, self.schema, self.watermark)
            self.writer.write_batch(batch)
            self.rows += batch.num_rows

    def commit(self) -> None:
        self.writer.close()
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        os.replace(self.temp, self.path)

    def abort(self) -> None:
        try:
            self.writer.close()
        finally:
            self.handle.close()
            self.temp.unlink(missing_ok=True)


def _write_file(
    folder: Path,
    name: str,
    schema: pa.Schema,
    plan: Plan,
    run_id: str,
    batches: Iterable[pa.RecordBatch],
) -> int:
    assert plan.file_format is not None
    writer = _FileWriter(folder, name, schema, plan.file_format, run_id, plan.watermark)
    try:
        for batch in batches:
            writer.write(batch)
    except BaseException:
        writer.abort()
        raise
    writer.commit()
    return writer.rows


def _change_rows(
    plan: Plan, shape: _Shape, lake: Lake, table: str, steps: list[Step]
) -> Iterator[pa.RecordBatch]:
    out_schema = _changes_schema(shape)
    for step in steps:
        for big in version_changes(lake, table, step.version):
            for offset in range(0, big.num_rows, BATCH_ROWS):
                upserts, deletes = shape.split(big.slice(offset, BATCH_ROWS))
                if upserts.num_rows:
                    yield _tagged(out_schema, upserts, "upsert", step.version)
                if deletes.num_rows:
                    # A delete names its key and nothing else: the row may be outside the grant.
                    columns = [
                        deletes.column(f).cast(shape.schema.field(f).type)
                        if f in plan.keys
                        else pa.nulls(deletes.num_rows, shape.schema.field(f).type)
                        for f in plan.fields
                    ]
                    keys_only = pa.RecordBatch.from_arrays(columns, schema=shape.schema)
                    yield _tagged(out_schema, keys_only, "delete", step.version)


def _changes_schema(shape: _Shape) -> pa.Schema:
    return pa.schema([pa.field(OP, pa.string()), pa.field(VERSION, pa.int64()), *shape.schema])


def _tagged(schema: pa.Schema, batch: pa.RecordBatch, op: str, version: int) -> pa.RecordBatch:
    n = batch.num_rows
    return pa.RecordBatch.from_arrays(
        [pa.repeat(pa.scalar(op), n), pa.repeat(pa.scalar(version, pa.int64()), n), *batch.columns],
        schema=schema,
    )


def _file_name(kind: str, fmt: str, *versions: int) -> str:
    return f"{kind}-" + "-".join(f"v{v}" for v in versions) + f".{fmt}"


def _deliver_file(
    plan: Plan,
    settings: Settings,
    db: Database,
    run_id: str,
    mirrored: int | None,
    outcome: Outcome,
    progress: Progress,
) -> None:
    assert plan.file_format is not None
    folder = delivery_folder(settings, plan.subscription_id)
    # Left by a run that died mid-file; one run at a time writes here.
    if folder.is_dir():
        for stale in folder.glob(".*.tmp"):
            stale.unlink(missing_ok=True)
    if not plan.physical:
        table = _read_logical(plan, settings, db)
        shape = _Shape(plan, table.schema)
        at = now()
        name = f"full-{at:%Y%m%dT%H%M%SZ}.{plan.file_format}"
        if (folder / name).exists():
            name = f"full-{at:%Y%m%dT%H%M%SZ}-{run_id[-8:]}.{plan.file_format}"
        batches = (shape.out(b) for b in table.to_batches(max_chunksize=BATCH_ROWS))
        outcome.upserted = _write_file(folder, name, shape.schema, plan, run_id, batches)
        outcome.files.append(name)
        outcome.delivered = True
        outcome.source_time = at
        return
    lake = Lake.from_settings(settings)
    if plan.lake_table is None or not lake.exists(plan.lake_table):
        return
    table_name = plan.lake_table
    pinned = lake.table(table_name)
    version = pinned.version()
    shape = _Shape(plan, pa.schema(pinned.schema().to_arrow()))
    in_files = _version_in_files(folder)
    known = [v for v in (mirrored, in_files) if v is not None]
    delivered = max(known) if known else None
    outcome.version_from = outcome.version_to = delivered
    if delivered == version:
        return
    steps = delivery_steps(lake, table_name, delivered, version)
    if delivered is not None and plan.clear_keys and not any(s.copy for s in steps):
        name = _file_name("changes", plan.file_format, delivered + 1, version)
        changes = _change_rows(plan, shape, lake, table_name, steps)
        try:
            rows = _write_file(folder, name, _changes_schema(shape), plan, run_id, changes)
        except ChangesGone:
            pass  # vacuumed away: a whole file instead
        else:
            _wrote(outcome, lake, table_name, version, name, rows)
            progress(1, 1, name)
            return
    name = _file_name("full", plan.file_format, version)
    rows = _write_file(
        folder, name, shape.schema, plan, run_id, shape.rows_at(lake, table_name, version)
    )
    _wrote(outcome, lake, table_name, version, name, rows)
    progress(1, 1, name)


def _wrote(outcome: Outcome, lake: Lake, table: str, version: int, name: str, rows: int) -> None:
    outcome.upserted, outcome.files = rows, [name]
    outcome.version_to, outcome.delivered = version, True
    outcome.source_time = _commit_time(lake, table, version)


def _read_logical(plan: Plan, settings: Settings, db: Database) -> pa.Table:
    """The source's rows inside the row filter, up to the mount's row cap (one read)."""
    with db.transaction() as s:
        return logical.fetch(
            s,
            settings,
            plan.mount,
            fields=list(dict.fromkeys([*plan.fields, *(c[0] for c in plan.row_filter)])),
            filters=plan.row_filter,
            limit=plan.mount.row_cap,
        )


# -- the engine's entry ---------------------------------------------------------------------


def deliver(
    plan: Plan,
    db: Database,
    settings: Settings,
    outcome: Outcome,
    *,
    run_id: str,
    mirrored: int | None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> None:
    """Deliver what ``plan`` allows (see the module docstring), filling ``outcome`` with what
    reached the consumer as it goes, so a run that fails halfway records what it committed.
    ``mirrored`` is the store's delivered version (file mode). Raises ``Stopped`` at a
    version boundary when ``should_stop`` says so."""
    report: Progress = progress or (lambda _done, _total, _message: None)
    stop = should_stop or (lambda: False)
    if plan.mode == SubscriptionMode.TABLE:
        _deliver_table(plan, settings, db, outcome, report, stop)
    else:
        _deliver_file(plan, settings, db, run_id, mirrored, outcome, report)
