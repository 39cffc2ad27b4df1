"""What a pipeline runner gets: the run's identity, snapshots of its pipeline and mount, and
ways to report back (log, progress, counts) and to tag its lake commits with its position.

The runner never trusts ``Pipeline.position``: ``committed()`` reads the newest lake commit
of this pipeline, whose metadata carries the source position written in the same atomic
commit as the data (brief contract 4).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from govdata.config import Settings
from govdata.core.clock import now
from govdata.core.db import Database
from govdata.core.errors import NotFound
from govdata.exchange.models import Mount, Pipeline, PipelineRun, PipelineRunLog
from govdata.exchange.vocab import PipelineState
from govdata.lake.tables import Lake

if TYPE_CHECKING:
    from govdata.core.jobs.worker import JobRun
    from govdata.sources.base import SourceConnector
    from govdata.sources.registry import SourceFacts

# Commit metadata keys (contract 4): every pipeline write to the lake carries all three.
META_PIPELINE = "govdata.pipeline_id"
META_RUN = "govdata.run_id"
META_POSITION = "govdata.position"

# ``should_stop`` reads the pipeline's state from the store at most this often.
STATE_CHECK_SECONDS = 1.0
LOG_MESSAGE_MAX = 4000


@dataclass(frozen=True)
class MountFacts:
    """A mount as it was when the run started (the mapping the run applies)."""

    id: str
    entry_id: str
    department_id: str
    source_id: str
    mode: str
    target_kind: str
    target: str
    # [{"item", "column", "field", "type"}] in lake column order (contract 2).
    columns: tuple[dict[str, Any], ...]
    key_columns: tuple[str, ...]  # field names
    watermark_column: str | None  # a source column
    lake_table: str | None
    row_cap: int
    timeout_seconds: int
    drift: tuple[dict[str, Any], ...] = ()
    # The source's columns when the mapping was made (mapped or deliberately left out).
    known_columns: tuple[str, ...] = ()

    @classmethod
    def of(cls, mount: Mount) -> MountFacts:
        return cls(
            id=mount.id,
            entry_id=mount.entry_id,
            department_id=mount.department_id,
            source_id=mount.source_id,
            mode=mount.mode,
            target_kind=mount.target_kind,
            target=mount.target,
            columns=tuple(dict(c) for c in mount.columns or ()),
            key_columns=tuple(mount.key_columns or ()),
            watermark_column=mount.watermark_column,
            lake_table=mount.lake_table,
            row_cap=mount.row_cap,
            timeout_seconds=mount.timeout_seconds,
            drift=tuple(dict(d) for d in mount.drift or ()),
            known_columns=tuple(mount.source_columns or ()),
        )

    @property
    def fields(self) -> list[str]:
        return [str(c["field"]) for c in self.columns]

    @property
    def source_columns(self) -> list[str]:
        return [str(c["column"]) for c in self.columns]

    def column_of(self, field_name: str) -> str:
        """The source column mapped to lake field ``field_name``."""
        for c in self.columns:
            if c["field"] == field_name:
                return str(c["column"])
        raise KeyError(field_name)

    def field_of(self, column: str) -> str:
        """The lake field the source ``column`` is mapped to."""
        for c in self.columns:
            if c["column"] == column:
                return str(c["field"])
        raise KeyError(column)

    @property
    def key_source_columns(self) -> list[str]:
        return [self.column_of(f) for f in self.key_columns]


@dataclass(frozen=True)
class PipelineFacts:
    """A pipeline as it was when the run started."""

    id: str
    mount_id: str
    department_id: str
    name: str
    kind: str
    options: dict[str, Any]
    schedule: str | None
    state: str
    position: dict[str, Any] | None  # the display mirror; never used to resume

    @classmethod
    def of(cls, pipeline: Pipeline) -> PipelineFacts:
        return cls(
            id=pipeline.id,
            mount_id=pipeline.mount_id,
            department_id=pipeline.department_id,
            name=pipeline.name,
            kind=pipeline.kind,
            options=dict(pipeline.options or {}),
            schedule=pipeline.schedule,
            state=pipeline.state,
            position=dict(pipeline.position) if pipeline.position is not None else None,
        )

    def option(self, name: str, default: Any) -> Any:
        value = self.options.get(name)
        return default if value is None else value


@dataclass(frozen=True)
class Committed:
    """The newest lake commit of a pipeline: its version, run and source position."""

    version: int
    run_id: str | None
    position: dict[str, Any] | None
    timestamp_ms: int | None = None


@dataclass
class RunCounts:
    read: int = 0
    written: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0


@dataclass
class RunContext:
    """One run of one pipeline, as its runner sees it."""

    db: Database
    settings: Settings
    lake: Lake
    pipeline_id: str
    run_id: str
    pipeline: PipelineFacts
    mount: MountFacts
    job: JobRun | None = None
    counts: RunCounts = field(default_factory=RunCounts)
    # Set by runners after each lake commit; the handler records them on the run.
    position_after: dict[str, Any] | None = None
    lake_version_after: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _state_checked_at: float = field(default=0.0, repr=False)
    _paused: bool = field(default=False, repr=False)
    _source: SourceFacts | None = field(default=None, repr=False)

    @classmethod
    def load(
        cls,
        db: Database,
        settings: Settings,
        pipeline_id: str,
        run_id: str,
        job: JobRun | None = None,
        lake: Lake | None = None,
    ) -> RunContext:
        """Snapshot the pipeline and its mount for a run."""
        with db.transaction() as session:
            pipeline = session.get(Pipeline, pipeline_id)
            if pipeline is None:
                raise NotFound(
                    "数据管道不存在",
                    "Pipeline not found",
                    code="pipeline_not_found",
                    details={"pipeline_id": pipeline_id},
                )
            mount = session.get(Mount, pipeline.mount_id)
            if mount is None:
                raise NotFound(
                    "挂载不存在",
                    "Mount not found",
                    code="mount_not_found",
                    details={"mount_id": pipeline.mount_id},
                )
            pf, mf = PipelineFacts.of(pipeline), MountFacts.of(mount)
        return cls(
            db=db,
            settings=settings,
            lake=lake or Lake.from_settings(settings),
            pipeline_id=pipeline_id,
            run_id=run_id,
            pipeline=pf,
            mount=mf,
            job=job,
        )

    # -- reporting ---------------------------------------------------------------------

    def log(self, level: str, message: str) -> None:
        """Append a line to the run log, in its own short transaction (visible at once)."""
        with self.db.transaction(immediate=True) as session:
            session.add(
                PipelineRunLog(
                    run_id=self.run_id, at=now(), level=level, message=message[:LOG_MESSAGE_MAX]
                )
            )

    def progress(self, done: int, total: int | None = None, message: str | None = None) -> None:
        """Show how far the run is on its job (the portal's live progress bar)."""
        if self.job is not None:
            self.job.progress(done, total, message)

    def add_counts(
        self,
        *,
        read: int = 0,
        written: int = 0,
        inserted: int = 0,
        updated: int = 0,
        deleted: int = 0,
    ) -> None:
        # Chunk readers of a full load report from several threads.
        with self._lock:
            c = self.counts
            c.read += read
            c.written += written
            c.inserted += inserted
            c.updated += updated
            c.deleted += deleted

    def save_run_state(self) -> None:
        """Write the counts so far and the last committed position to the run row and the
        pipeline's display mirror; long runs (CDC) call it now and then."""
        with self.db.transaction(immediate=True) as session:
            run = session.get(PipelineRun, self.run_id)
            if run is not None:
                c = self.counts
                run.rows_read, run.rows_written = c.read, c.written
                run.rows_inserted, run.rows_updated, run.rows_deleted = (
                    c.inserted,
                    c.updated,
                    c.deleted,
                )
                if self.lake_version_after is not None:
                    run.lake_version_after = self.lake_version_after
                if self.position_after is not None:
                    run.position_after = self.position_after
            if self.position_after is not None:
                pipeline = session.get(Pipeline, self.pipeline_id)
                if pipeline is not None:
                    pipeline.position = self.position_after

    # -- positions ---------------------------------------------------------------------

    def commit_metadata(self, position: dict[str, Any]) -> dict[str, str]:
        """The metadata every pipeline commit carries: pipeline, run and source position."""
        return {
            META_PIPELINE: self.pipeline_id,
            META_RUN: self.run_id,
            META_POSITION: json.dumps(position, ensure_ascii=False, sort_keys=True, default=str),
        }

    def record_commit(self, version: int, position: dict[str, Any]) -> None:
        """Note a lake commit this run made (with ``commit_metadata(position)``)."""
        self.lake_version_after = version
        self.position_after = position

    def committed(self) -> Committed | None:
        """The newest commit of this pipeline in its lake table, or None if it has none."""
        table = self.mount.lake_table
        if table is None or not self.lake.exists(table):
            return None
        found = self.lake.last_commit(table, {META_PIPELINE: self.pipeline_id})
        if found is None:
            return None
        raw = found.get(META_POSITION)
        position = json.loads(raw) if isinstance(raw, str) and raw else None
        run_id = found.get(META_RUN)
        return Committed(
            version=int(found["version"]),
            run_id=str(run_id) if run_id is not None else None,
            position=position,
            timestamp_ms=found.get("timestamp"),
        )

    def encrypted_fields(self) -> dict[str, str]:
        """The lake fields the entry's grade and sensitive items require encrypted at rest,
        with their mode (docs/security/crypto.md); read afresh, the grade may have changed."""
        from govdata.security.crypto.policy import encrypted_fields

        with self.db.transaction() as session:
            return encrypted_fields(
                session, self.mount.entry_id, self.mount.columns, self.mount.key_columns
            )

    def lake_version(self) -> int | None:
        table = self.mount.lake_table
        if table is None or not self.lake.exists(table):
            return None
        return self.lake.table(table).version()

    # -- the source --------------------------------------------------------------------

    def source(self) -> SourceFacts:
        """The mount's source system, read once per run."""
        if self._source is None:
            from govdata.sources.registry import source_facts

            with self.db.transaction() as session:
                facts = source_facts(session, self.mount.source_id)
            if facts is None:
                raise NotFound(
                    "挂载的数据源已不存在",
                    "The mount's source no longer exists",
                    code="mount_source_invalid",
                    details={"source_id": self.mount.source_id},
                )
            self._source = facts
        return self._source

    def source_kind(self) -> str:
        """The mount's source kind: mariadb, postgresql, sqlite, file or http."""
        return self.source().kind

    def connector(self) -> SourceConnector:
        """A connector to the mount's source system (credentials opened in memory)."""
        from govdata.sources.registry import connector_for

        return connector_for(self.settings, self.source())

    def connection_params(self) -> dict[str, Any]:
        """host, port, database, user, password (+ schema) of a database source."""
        from govdata.sources.registry import connection_params

        return connection_params(self.settings, self.source())

    # -- stopping ----------------------------------------------------------------------

    def should_stop(self) -> bool:
        """True when the pipeline was paused, the job cancelled, or the worker is stopping."""
        job = self.job
        if job is not None and (job.cancelled() or job.lost or job.stopping()):
            return True
        t = time.monotonic()
        if t - self._state_checked_at >= STATE_CHECK_SECONDS:
            self._state_checked_at = t
            with self.db.transaction() as session:
                state = session.scalar(
                    select(Pipeline.state).where(Pipeline.id == self.pipeline_id)
                )
            self._paused = state == PipelineState.PAUSED
        return self._paused
