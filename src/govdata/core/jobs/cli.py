"""`govdata worker` and `govdata jobs ...`: thin shells over the worker and the job actions."""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from govdata.core.cli_shell import CLI_ACTOR, DataDirOpt, open_store
from govdata.core.clock import local
from govdata.core.errors import GovDataError
from govdata.core.jobs import actions
from govdata.core.jobs.models import FINISHED
from govdata.core.jobs.schedules import ensure_standing
from govdata.core.jobs.schemas import JobEnqueue, JobOut
from govdata.core.jobs.worker import Worker
from govdata.security.context import ActionContext, Caller

jobs_app = typer.Typer(help="后台任务 Jobs", no_args_is_help=True)
console = Console()
# Whoever runs the CLI on the node already holds the store; audit records name them "cli".

STATUS_STYLE = {
    "queued": "cyan",
    "running": "yellow",
    "succeeded": "green",
    "failed": "red",
    "dead": "bold red",
    "cancelled": "dim",
}


@contextmanager
def _action(data_dir: Path | None) -> Iterator[ActionContext]:
    settings, db = open_store(data_dir)
    try:
        with Caller(db, settings, CLI_ACTOR).act() as ctx:
            yield ctx
    except GovDataError as exc:
        console.print(f"[red]{exc.message(settings.default_locale)}[/red] ({exc.code})")
        raise typer.Exit(1) from exc
    finally:
        db.dispose()


def worker(
    queue: Annotated[
        list[str] | None, typer.Option("--queue", "-q", help="Only these queues (repeatable)")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Jobs run at once (threads)")] = 1,
    once: Annotated[
        bool, typer.Option("--once", help="Run until no job is runnable, then exit")
    ] = False,
    grace: Annotated[
        float, typer.Option(min=0, help="On SIGTERM, seconds running jobs get before hand-back")
    ] = 30.0,
    data_dir: DataDirOpt = None,
) -> None:
    """Run a job worker until SIGTERM / Ctrl-C (then finish or hand back running jobs)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings, db = open_store(data_dir)
    w = Worker(db, settings, queues=queue, concurrency=concurrency)
    ensure_standing(db)
    console.print(
        f"[bold]worker[/bold] {w.name} pid={os.getpid()} queues={queue or 'all'} "
        f"kinds={len(w.kinds)} concurrency={w.concurrency} ({db.dialect})"
    )

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if w.stopping.is_set():
            # A second signal means: do not wait for running jobs.
            os._exit(128 + signum)
        console.print(f"[yellow]stopping[/yellow] (signal {signum}), grace {grace:g}s")
        w.stopping.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        w.start(drain=once)
        while not w.wait(timeout=0.5) and not w.stopping.is_set():
            pass
        w.stop(grace)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        db.dispose()
    console.print(f"worker {w.name}: ran {w.executed} job(s)")


@jobs_app.command("list")
def list_cmd(
    status: Annotated[str | None, typer.Option(help="queued, running, succeeded, ...")] = None,
    queue: Annotated[str | None, typer.Option(help="Queue name")] = None,
    kind: Annotated[str | None, typer.Option(help="Job kind")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    data_dir: DataDirOpt = None,
) -> None:
    """List jobs, newest first."""
    with _action(data_dir) as ctx:
        page = actions.list_jobs(ctx, status=status, queue=queue, kind=kind, limit=limit)
    table = Table(title=f"任务 Jobs ({len(page.items)}/{page.total})")
    for col in ("ID", "Kind", "Queue", "Status", "Attempts", "Progress", "Created", "Error"):
        table.add_column(col, overflow="fold" if col == "ID" else "ellipsis")
    for job in page.items:
        table.add_row(
            job.id,
            job.kind,
            job.queue,
            f"[{STATUS_STYLE[job.status]}]{job.status}[/]",
            f"{job.attempts}/{job.max_attempts}",
            _progress_text(job),
            local(job.created_at),
            (job.last_error or "").strip().splitlines()[-1:][0] if job.last_error else "",
        )
    console.print(table)


@jobs_app.command("show")
def show_cmd(
    job_id: str,
    wait: Annotated[
        bool, typer.Option("--wait", help="Follow progress until the job ends")
    ] = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Show one job; with --wait, a progress bar until it finishes."""
    with _action(data_dir) as ctx:
        job = actions.get_job(ctx, job_id)
    if wait and job.status not in FINISHED:
        job = _follow(data_dir, job)
    _print_job(job)
    if job.status in ("failed", "dead"):
        raise typer.Exit(1)


@jobs_app.command("cancel")
def cancel_cmd(job_id: str, data_dir: DataDirOpt = None) -> None:
    """Cancel a queued job, or ask a running one to stop."""
    with _action(data_dir) as ctx:
        job = actions.cancel_job(ctx, job_id)
    console.print(
        f"{job.id}: {job.status}" + (" (cancel requested)" if job.status == "running" else "")
    )


@jobs_app.command("retry")
def retry_cmd(job_id: str, data_dir: DataDirOpt = None) -> None:
    """Queue a dead, failed or cancelled job again."""
    with _action(data_dir) as ctx:
        job = actions.retry_job(ctx, job_id)
    console.print(f"{job.id}: {job.status}")


@jobs_app.command("enqueue")
def enqueue_cmd(
    kind: str,
    payload: Annotated[str, typer.Option(help="JSON object")] = "{}",
    queue: Annotated[str, typer.Option(help="Queue name")] = "default",
    key: Annotated[str | None, typer.Option("--key", help="Idempotency key")] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Queue a job of a registered kind and print its id."""
    try:
        body = json.loads(payload)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"payload is not JSON: {exc}") from exc
    with _action(data_dir) as ctx:
        job = actions.enqueue_job(
            ctx, JobEnqueue(kind=kind, payload=body, queue=queue, idempotency_key=key)
        )
    console.print(job.id)


def _progress_text(job: JobOut) -> str:
    p = job.progress
    if p.total:
        return f"{p.done}/{p.total} ({p.percent:g}%)"
    return str(p.done) if p.done else ""


def _follow(data_dir: Path | None, job: JobOut) -> JobOut:
    settings, db = open_store(data_dir)
    caller = Caller(db, settings, CLI_ACTOR)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[message]}"),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=console) as bar:
            task = bar.add_task(job.kind, total=None, message="")
            while job.status not in FINISHED:
                time.sleep(settings.job_poll_seconds)
                with caller.act() as ctx:
                    job = actions.get_job(ctx, job.id)
                p = job.progress
                bar.update(task, completed=p.done, total=p.total, message=p.message or job.status)
    finally:
        db.dispose()
    return job


def _print_job(job: JobOut) -> None:
    style = STATUS_STYLE[job.status]
    console.print(f"[bold]{job.id}[/bold] {job.kind} queue={job.queue} [{style}]{job.status}[/]")
    console.print(f"  attempts {job.attempts}/{job.max_attempts}  progress {_progress_text(job)}")
    if job.progress.message:
        console.print(f"  {job.progress.message}")
    console.print(f"  created {local(job.created_at)}  finished {local(job.finished_at)}")
    if job.result is not None:
        console.print(f"  result {json.dumps(job.result, ensure_ascii=False)}")
    if job.last_error:
        console.print(f"  [red]{job.last_error.strip()}[/red]")
