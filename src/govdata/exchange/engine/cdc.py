"""Change-data-capture pipelines: stream a source table's changes into its lake table.

A run resumes from the source position in the newest lake commit of its pipeline (never
from ``Pipeline.position``). Without one — a new pipeline, or one that polled watermarks
before — it takes the stream's current position FIRST, then runs a full load committed
with that position: changes made during the load are replayed on top of it afterwards,
which is harmless because every batch is an idempotent upsert/delete by key.

Then, until the pipeline is paused, the job cancelled or the worker stopping: read a batch
(a window of ``batch_window_ms``, or ``batch_rows`` changes), collapse it to the last change
per key, and apply it to the lake as ONE commit — a merge whose deletes ride along as flagged rows,
with the batch's position in the commit metadata — and only then acknowledge the position
to the source (PostgreSQL recycles WAL up to it). A crash between the commit and the
acknowledgement only makes the source resend what the reader then skips.

If the source's log no longer reaches back to the committed position (binary logs expired,
a slot dropped by hand), the run logs it and loads the table again from a new position.

Where CDC cannot work (binary log off, ``wal_level`` not logical, a query mount, a file
source, a missing privilege) the run logs why and polls by watermark instead, when the
mount has a watermark column and the pipeline's ``fallback`` option is not off.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

import pyarrow as pa

from govdata.config import Settings
from govdata.core.errors import GovDataError, InvalidInput
from govdata.exchange import mapping
from govdata.exchange.cdc.base import (
    POSITION_LOST,
    CdcUnavailable,
    ChangeBatch,
    ChangeStream,
    Position,
    cdc_unavailable,
    collapse,
    merge_frame,
)
from govdata.exchange.engine.context import RunContext
from govdata.exchange.vocab import TargetKind
from govdata.sources.base import TableInfo
from govdata.sources.registry import SourceLike

DEFAULT_WINDOW_MS = 200
DEFAULT_MAX_CHANGES = 20_000
DEFAULT_POLL_SECONDS = 5.0
# How often a stream saves its run state and checkpoint (lease, display mirror).
SAVE_SECONDS = 5.0
CHECKPOINT_KEY = "cdc"
# Not a lake column: marks the rows of a merge that delete their key.
DELETE_FLAG = "_govdata_deleted"


def stream_name(pipeline_id: str) -> str:
    """``govdata_<pipeline short id>``: the PostgreSQL slot/publication name (and the seed of
    the MariaDB replica id). The tail of a UUIDv7 is its random part."""
    return "govdata_" + pipeline_id.replace("-", "")[-16:].lower()


def open_stream(rc: RunContext, info: TableInfo) -> ChangeStream:
    """The change reader for the mount's source table; ``CdcUnavailable`` if there is none."""
    kind = rc.source_kind()
    if rc.mount.target_kind != TargetKind.TABLE:
        raise cdc_unavailable(
            rc.mount.target,
            "the mount reads a query, not a table",
            "挂载的是只读查询而不是数据表",
        )
    if kind not in ("mariadb", "postgresql"):
        raise cdc_unavailable(
            rc.mount.target, f"{kind} sources have no change log", f"{kind} 类数据源没有变更日志"
        )
    params = rc.connection_params()
    name = stream_name(rc.pipeline_id)
    if kind == "mariadb":
        from govdata.exchange.cdc.mysql import MariaDBChangeStream

        return MariaDBChangeStream(
            host=params["host"],
            port=int(params["port"]),
            database=params["database"],
            user=params["user"],
            password=params.get("password") or "",
            table=info.name,
            name=name,
        )
    from govdata.exchange.cdc.postgres import PostgresChangeStream

    return PostgresChangeStream(
        host=params["host"],
        port=int(params["port"]),
        database=params["database"],
        user=params["user"],
        password=params.get("password") or None,
        schema=info.schema,
        table=info.name,
        name=name,
    )


def _is_stream_position(position: Position | None) -> bool:
    return bool(position) and (
        {"log_file", "log_pos"} <= set(position or ()) or "lsn" in (position or {})
    )


def _connect(rc: RunContext) -> tuple[Any, TableInfo]:
    from govdata.exchange.engine.full import target_info

    connector = rc.connector()
    return connector, target_info(rc, connector)


def run_cdc(rc: RunContext) -> None:
    """Stream the source's changes into the lake table until asked to stop."""
    from govdata.exchange.engine.full import ensure_table

    table = ensure_table(rc)
    connector, info = _connect(rc)
    try:
        stream = open_stream(rc, info)
        stream.check()
    except CdcUnavailable as exc:
        _poll_instead(rc, exc)
        return
    try:
        committed = rc.committed()
        position = committed.position if committed is not None else None
        if not _is_stream_position(position):
            position = _initial_load(rc, stream, connector, info, table)
        else:
            rc.log("info", f"从位点 {position} 继续 / resuming at {position}")
        assert position is not None
        try:
            _stream(rc, stream, info, table, position)
        except GovDataError as exc:
            if exc.code != POSITION_LOST:
                raise
            # The log no longer reaches back to the lake's position (binary logs expired,
            # slot dropped): the changes in between are unknowable, so load the table again.
            rc.log(
                "warning",
                f"源日志中已无位点 {position}，重新全量加载 / the source log no longer holds "
                f"position {position}: loading the table again ({exc.message_en})",
            )
            stream.close()
            position = _initial_load(rc, stream, connector, info, table, fresh=True)
            _stream(rc, stream, info, table, position)
    finally:
        stream.close()
        rc.save_run_state()


def _initial_load(
    rc: RunContext,
    stream: ChangeStream,
    connector: Any,
    info: TableInfo,
    table: str,
    *,
    fresh: bool = False,
) -> Position:
    """Full load committed with the stream position taken before it began (``fresh``: a new
    position even if this run had taken one)."""
    from govdata.exchange.engine.full import overwrite_from, remove_staging, stage_source

    saved = (rc.job.checkpoint or {}).get(CHECKPOINT_KEY) if rc.job is not None else None
    if (
        not fresh
        and isinstance(saved, dict)
        and saved.get("run_id") == rc.run_id
        and saved.get("start")
    ):
        # The same run, interrupted during its load: staged chunks were read after this
        # position was taken, so it still covers them.
        start: Position = dict(saved["start"])
    else:
        start = stream.start_position()
        if rc.job is not None:
            rc.job.save_checkpoint(
                {**(rc.job.checkpoint or {}), CHECKPOINT_KEY: {"run_id": rc.run_id, "start": start}}
            )
    rc.log(
        "info",
        f"首次全量加载，变更起点 {start} / initial full load, changes from {start}",
    )
    files = stage_source(rc, connector, info)
    overwrite_from(rc, table, files, start)
    remove_staging(rc)
    return start


def _stream(
    rc: RunContext, stream: ChangeStream, info: TableInfo, table: str, position: Position
) -> None:
    window = max(10, int(rc.pipeline.option("batch_window_ms", DEFAULT_WINDOW_MS))) / 1000
    max_changes = max(1, int(rc.pipeline.option("batch_rows", DEFAULT_MAX_CHANGES)))
    columns = mapping.source_columns(rc.mount)
    # Changes become the source's Arrow types first, exactly as a full load reads them, then
    # go through the mount's mapping: both paths give the lake the same values.
    source_schema = info.arrow_schema(columns)
    keys = rc.mount.key_source_columns
    if not keys:
        raise InvalidInput(
            "实时变更捕获须在挂载上指定主键列",
            "Change data capture needs key columns on the mount",
            code="cdc_keys_missing",
            details={"mount_id": rc.mount.id},
        )
    lake_schema = mapping.mount_schema(rc.mount)
    key_schema = pa.schema([lake_schema.field(f) for f in rc.mount.key_columns])
    merged = 0
    saved_at = time.monotonic()
    started = time.monotonic()
    rc.log("info", f"开始读取变更 / streaming changes from {position}")
    reader = Prefetch(stream, position, max_rows=max_changes, window=window)
    try:
        while not rc.should_stop():
            batch = reader.next(timeout=window)
            if batch is None:
                continue
            if batch.changes:
                _check_columns(batch, columns)
                _apply(rc, table, batch, keys, source_schema, key_schema)
                merged += len(batch)
            if batch.position != position:
                # Only now that the lake holds everything up to it.
                stream.acknowledge(batch.position)
                position = batch.position
            t = time.monotonic()
            if t - saved_at >= SAVE_SECONDS:
                saved_at = t
                rate = merged / max(t - started, 1e-9)
                rc.save_run_state()
                rc.progress(merged, None, f"{merged} 条变更 / changes, {rate:.0f}/s")
                if rc.job is not None:
                    rc.job.save_checkpoint(
                        {
                            **(rc.job.checkpoint or {}),
                            CHECKPOINT_KEY: {"run_id": rc.run_id, "position": position},
                        }
                    )
    finally:
        reader.close()
    rc.log("info", f"已停止，位点 {position} / stopped at {position}")
    _hand_back(rc, {"run_id": rc.run_id, "position": position})


def _hand_back(rc: RunContext, state: dict[str, Any]) -> None:
    """End a stream that was asked to stop. A stopping worker hands the job back (saving the
    checkpoint raises ``WorkerStopping``) so another worker resumes the stream; a cancelled
    job ends its run as cancelled; a paused pipeline's run simply ends."""
    if rc.job is None:
        return
    rc.job.save_checkpoint({**(rc.job.checkpoint or {}), CHECKPOINT_KEY: state})
    if rc.job.cancelled():
        from govdata.exchange.engine.full import Stopped

        raise Stopped()


class Prefetch:
    """Reads the stream in a thread of its own, so decoding the next batch (Python) overlaps
    merging the current one (delta-rs, outside the GIL). Batches that pile up while a merge
    runs are handed over together as one, so a busy source gets fewer, larger commits."""

    def __init__(
        self, stream: ChangeStream, position: Position, *, max_rows: int, window: float
    ) -> None:
        self.stream = stream
        self.max_rows = max_rows
        self.window = window
        self._queue: queue.Queue[ChangeBatch | BaseException] = queue.Queue(maxsize=4)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(dict(position),), name="govdata-cdc-reader", daemon=True
        )
        self._thread.start()

    def _run(self, position: Position) -> None:
        try:
            while not self._stop.is_set():
                batch = self.stream.read(
                    position, max_rows=self.max_rows, max_wait_seconds=self.window
                )
                if batch.changes or batch.position != position:
                    self._put(batch)
                position = batch.position
        except BaseException as exc:  # handed to the committing thread, which raises it
            self._put(exc)

    def _put(self, item: ChangeBatch | BaseException) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def next(self, timeout: float) -> ChangeBatch | None:
        """The batches read so far, as one (up to ``max_rows`` changes); None if none came."""
        try:
            first = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if isinstance(first, BaseException):
            raise first
        parts = [first]
        size = len(first)
        while size < self.max_rows:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, BaseException):
                # Apply what was read before the failure; the error surfaces next time.
                self._queue.put(item)
                break
            parts.append(item)
            size += len(item)
        if len(parts) == 1:
            return first
        last = parts[-1]
        return ChangeBatch(
            [c for p in parts for c in p.changes],
            last.position,
            sum(p.transactions for p in parts),
            last.committed_at,
        )

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def _check_columns(batch: ChangeBatch, columns: list[str]) -> None:
    """A mapped column missing from changed rows was dropped (or renamed) at the source."""
    for change in batch.changes:
        if change.op in ("insert", "update"):
            missing = [c for c in columns if c not in change.row]
            if missing:
                raise InvalidInput(
                    f"源表已删除或改名映射的列：{missing}",
                    f"Mapped source columns were dropped or renamed: {missing}",
                    code="source_schema_drift",
                    details={"columns": missing},
                )


def _apply(
    rc: RunContext,
    table: str,
    batch: ChangeBatch,
    keys: list[str],
    source_schema: pa.Schema,
    key_schema: pa.Schema,
) -> None:
    result = collapse(batch, keys, source_schema)
    upserts = pa.Table.from_batches([mapping.conform(result.upserts, rc.mount)])
    metadata = rc.commit_metadata(batch.position)
    if result.truncated:
        written = rc.lake.overwrite(table, upserts, commit_metadata=metadata)
        rc.log(
            "warning",
            f"源表被清空（TRUNCATE），湖表已按其后的 {upserts.num_rows} 行重建 / the source "
            f"table was truncated; the lake table now holds the {upserts.num_rows} rows after it",
        )
        rc.add_counts(read=len(batch), written=upserts.num_rows, inserted=upserts.num_rows)
    else:
        deletes = pa.Table.from_arrays(
            [
                result.deletes.column(column).cast(key_schema.field(i).type)
                for i, column in enumerate(keys)
            ],
            schema=key_schema,
        )
        written = rc.lake.merge(
            table,
            merge_frame(upserts, deletes, DELETE_FLAG),
            rc.mount.key_columns,
            delete_column=DELETE_FLAG,
            commit_metadata=metadata,
        )
        m = written.metrics
        rc.add_counts(
            read=len(batch),
            written=upserts.num_rows + deletes.num_rows,
            inserted=int(m.get("num_target_rows_inserted", 0)),
            updated=int(m.get("num_target_rows_updated", 0)),
            deleted=int(m.get("num_target_rows_deleted", 0)),
        )
    rc.record_commit(written.version, batch.position)
    # A stream's run never succeeds: its subscriptions are told of each commit (never raises).
    from govdata.sharing.subscriptions import notify_lake_commit

    notify_lake_commit(rc.db, table)


def _poll_instead(rc: RunContext, exc: CdcUnavailable) -> None:
    """Watermark polling in place of a change log, until asked to stop."""
    reason = (exc.details or {}).get("reason", exc.message_en)
    if not rc.pipeline.option("fallback", True):
        raise exc
    if not rc.mount.watermark_column:
        rc.log(
            "error",
            f"无法实时变更捕获，且挂载没有水位列可供轮询 / CDC unavailable and the mount has "
            f"no watermark column to poll by: {reason}",
        )
        raise exc
    rc.log(
        "warning",
        f"实时变更捕获不可用，改为按水位轮询：{exc.message_zh} / CDC unavailable, polling by "
        f"watermark instead: {reason}",
    )
    from govdata.exchange.engine.incremental import incremental_pass, run_incremental

    poll = max(0.2, float(rc.pipeline.option("poll_seconds", DEFAULT_POLL_SECONDS)))
    # The first pass is a whole incremental run (it also finishes a killed attempt's
    # staged rows); each later one merges what changed since the previous commit.
    run_incremental(rc)
    rc.save_run_state()
    while not rc.should_stop():
        until = time.monotonic() + poll
        while time.monotonic() < until and not rc.should_stop():
            time.sleep(min(0.2, poll))
        if rc.should_stop():
            break
        incremental_pass(rc)
        rc.save_run_state()
    _hand_back(rc, {"run_id": rc.run_id, "polling": True})


def release_source(settings: Settings, source: SourceLike, pipeline_id: str) -> None:
    """Remove what a CDC pipeline keeps on its source — a PostgreSQL replication slot and
    publication — when the pipeline is deleted: a slot nobody reads makes the server keep
    WAL for ever. A binlog reader leaves nothing behind."""
    if source.kind != "postgresql":
        return
    from govdata.exchange.cdc.postgres import PostgresChangeStream
    from govdata.sources.registry import connection_params

    params = connection_params(settings, source)
    PostgresChangeStream(
        host=params["host"],
        port=int(params["port"]),
        database=params["database"],
        user=params["user"],
        password=params.get("password") or None,
        schema=params.get("schema") or "public",
        table="",
        name=stream_name(pipeline_id),
    ).drop()
