"""``govdata pipeline ...``: list, run and watch pipelines.

Like ``govdata jobs``, the CLI acts on the node's own store as the actor ``cli`` (whoever
runs it already holds the store); every change goes through the pipeline actions and is
audited. ``govdata pipeline run <id>`` queues a run exactly as the portal's "run now" does,
then takes that very job and runs it in this process with a progress bar; ``--follow``
leaves it to the server's workers and shows their progress instead.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from govdata.config import Settings
from govdata.core.cli_shell import CLI_ACTOR, DataDirOpt, fail, open_store
from govdata.core.clock import local
from govdata.core.db import Database
from govdata.core.errors import GovDataError
from govdata.core.jobs import inline, queue
from govdata.exchange import pipelines
from govdata.exchange.schemas import RunDetail, RunOut
from govdata.exchange.vocab import PipelineKind, PipelineState
from govdata.security.context import ActionContext, Caller

log = logging.getLogger(__name__)
pipeline_app = typer.Typer(help="归集管道 Collection pipelines", no_args_is_help=True)
console = Console()
# Whoever runs the CLI on the node already holds the store; audit records name them "cli".
FINISHED = frozenset({"succeeded", "failed", "cancelled"})
STATUS_STYLE = {
    "queued": "cyan",
    "running": "yellow",
    "succeeded": "green",
    "failed": "red",
    "cancelled": "dim",
    "active": "green",
    "paused": "yellow",
}


@contextmanager
def _action(data_dir: Path | None) -> Iterator[ActionContext]:
    settings, db = open_store(data_dir)
    try:
        with Caller(db, settings, CLI_ACTOR).act() as ctx:
            yield ctx
    except GovDataError as exc:
        raise fail(exc, settings) from exc
    finally:
        db.dispose()


def _styled(value: str) -> str:
    style = STATUS_STYLE.get(value)
    return f"[{style}]{value}[/]" if style else value


@pipeline_app.command("list")
def list_cmd(
    mount: Annotated[str | None, typer.Option(help="Only this mount's pipelines")] = None,
    kind: Annotated[PipelineKind | None, typer.Option(help="full, incremental, cdc, return")] = (
        None
    ),
    state: Annotated[PipelineState | None, typer.Option(help="active or paused")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    data_dir: DataDirOpt = None,
) -> None:
    """List pipelines, newest first, with their last run."""
    with _action(data_dir) as ctx:
        page = pipelines.list_pipelines(ctx, mount_id=mount, kind=kind, state=state, limit=limit)
    table = Table(title=f"归集管道 Pipelines ({len(page.items)}/{page.total})")
    for col in ("ID", "Name", "Kind", "State", "Schedule", "Last run", "Rows", "Finished"):
        table.add_column(col, overflow="fold" if col == "ID" else "ellipsis")
    for p in page.items:
        last = p.last_run
        table.add_row(
            p.id,
            p.name,
            p.kind.value,
            _styled(p.state),
            p.schedule or "",
            _styled(last.status) if last else "",
            str(last.rows_written) if last else "",
            local(last.finished_at) if last else "",
        )
    console.print(table)


@pipeline_app.command("runs")
def runs_cmd(
    pipeline_id: str,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 20,
    data_dir: DataDirOpt = None,
) -> None:
    """A pipeline's runs, newest first."""
    with _action(data_dir) as ctx:
        page = pipelines.list_runs(ctx, pipeline_id, limit=limit)
    table = Table(title=f"运行记录 Runs of {pipeline_id}")
    for col in ("Run", "Trigger", "Status", "Started", "Finished", "Read", "Written", "Error"):
        table.add_column(col, overflow="fold" if col == "Run" else "ellipsis")
    for r in page.items:
        table.add_row(
            r.id,
            r.trigger,
            _styled(r.status),
            local(r.started_at),
            local(r.finished_at),
            str(r.rows_read),
            str(r.rows_written),
            f"{r.error_code}: {r.error_message}" if r.error_code else "",
        )
    console.print(table)


@pipeline_app.command("pause")
def pause_cmd(pipeline_id: str, data_dir: DataDirOpt = None) -> None:
    """Pause a pipeline: no scheduled runs, queued runs cancelled, a CDC stream stops."""
    with _action(data_dir) as ctx:
        p = pipelines.pause_pipeline(ctx, pipeline_id)
    console.print(f"{p.id} {p.name}: {_styled(p.state)}")


@pipeline_app.command("resume")
def resume_cmd(pipeline_id: str, data_dir: DataDirOpt = None) -> None:
    """Resume a pipeline: the schedule fires again, a CDC stream starts again."""
    with _action(data_dir) as ctx:
        p = pipelines.resume_pipeline(ctx, pipeline_id)
    console.print(f"{p.id} {p.name}: {_styled(p.state)}")


@pipeline_app.command("log")
def log_cmd(run_id: str, data_dir: DataDirOpt = None) -> None:
    """One run: counts, positions, error and its log lines."""
    with _action(data_dir) as ctx:
        run = pipelines.get_run(ctx, run_id)
    _print_run(run)
    for line in run.logs:
        style = {"error": "red", "warning": "yellow"}.get(line.level, "")
        text = f"{local(line.at)} {line.level:<7} {line.message}"
        console.print(f"[{style}]{text}[/]" if style else text, highlight=False)


class RateColumn(ProgressColumn):
    """Rows per second, from Rich's running speed estimate."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} rows/s", style="cyan")


def _bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[message]}"),
        console=console,
    )


def _execute(db: Database, settings: Settings, job: queue.ClaimedJob, bar: Progress) -> None:
    """Run the claimed job here with the bar following its progress; Ctrl-C hands it back."""
    task = bar.add_task(job.kind, total=None, message="")

    def on_progress(done: int, total: int | None, message: str | None) -> None:
        bar.update(task, completed=done, total=total, message=message or "")

    stopping = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        # First Ctrl-C: stop at the next checkpoint and hand the job back to the workers.
        console.print("[yellow]stopping at the next checkpoint[/yellow]")
        stopping.set()

    # Signal handlers can only be set from the main thread (not so under some test runners).
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, on_signal) if main else None
    try:
        inline.execute(db, settings, job, on_progress=on_progress, stopping=stopping)
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)


def _follow(caller: Caller, run: RunOut, bar: Progress, poll: float) -> None:
    task = bar.add_task(run.kind, total=None, message=run.status)
    while run.status not in FINISHED:
        time.sleep(poll)
        with caller.act() as ctx:
            run = pipelines.get_run(ctx, run.id)
        p = run.progress
        if p is not None:
            bar.update(task, completed=p.done, total=p.total, message=p.message or run.status)
        else:
            bar.update(task, message=run.status)


@pipeline_app.command("run")
def run_cmd(
    pipeline_id: str,
    follow: Annotated[
        bool, typer.Option("--follow", help="Leave the run to the server's workers and watch")
    ] = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Run a pipeline now, in this process, with a progress bar (rows, rate, ETA)."""
    settings, db = open_store(data_dir)
    caller = Caller(db, settings, CLI_ACTOR)
    try:
        with caller.act() as ctx:
            run = pipelines.run_now(ctx, pipeline_id)
        console.print(f"run {run.id} queued (job {run.job_id})")
        with _bar() as bar:
            job = None
            if not follow and run.job_id is not None:
                job = inline.claim_here(db, settings, run.job_id)
                if job is None:
                    console.print("a worker took the run first; following it")
            if job is not None:
                _execute(db, settings, job, bar)
            else:
                _follow(caller, run, bar, max(0.2, settings.job_poll_seconds))
        with caller.act() as ctx:
            detail = pipelines.get_run(ctx, run.id)
    except GovDataError as exc:
        raise fail(exc, settings) from exc
    finally:
        db.dispose()
    _print_run(detail)
    if detail.status != "succeeded":
        raise typer.Exit(1)


def _print_run(run: RunDetail) -> None:
    console.print(
        f"[bold]{run.id}[/bold] {run.kind} trigger={run.trigger} {_styled(run.status)}",
        highlight=False,
    )
    console.print(
        f"  rows read {run.rows_read}  written {run.rows_written}  inserted "
        f"{run.rows_inserted}  updated {run.rows_updated}  deleted {run.rows_deleted}",
        highlight=False,
    )
    console.print(f"  started {local(run.started_at)}  finished {local(run.finished_at)}")
    if run.lake_version_after is not None:
        before = "new" if run.lake_version_before is None else run.lake_version_before
        console.print(f"  lake version {before} → {run.lake_version_after}")
    if run.error_code:
        console.print(f"  [red]{run.error_code}: {run.error_message}[/red]")
