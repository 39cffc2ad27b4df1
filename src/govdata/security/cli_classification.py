"""``govdata classification ...``: the grade → controls table, the retention report, and
sensitive-data discovery scans.

The CLI acts on the node's own store as the actor ``cli`` (whoever runs it already holds the
store); every change goes through the actions and is audited. ``scan`` queues the scan and
runs its job here, with a progress bar, unless ``--queue-only`` leaves it to the workers.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from govdata.core.cli_shell import CLI_ACTOR, DataDirOpt, fail, open_store
from govdata.core.clock import local
from govdata.core.errors import GovDataError
from govdata.core.jobs import inline
from govdata.security import classification, discovery, discovery_actions, retention
from govdata.security.classification_schemas import (
    ControlsUpdate,
    ScanCreate,
    ScanOut,
)
from govdata.security.context import Caller

classification_app = typer.Typer(
    help="分类分级 Classification policy and sensitive-data discovery", no_args_is_help=True
)
console = Console()


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


@classification_app.command("show")
def show_cmd(data_dir: DataDirOpt = None) -> None:
    """The controls of every grade."""
    settings, db = open_store(data_dir)
    with Caller(db, settings, CLI_ACTOR).act() as ctx:
        controls = classification.get_controls(ctx)
    table = Table(
        "grade", "approval", "download", "default mask", "encrypt", "watermark", "retention"
    )
    for c in controls:
        table.add_row(
            c.label,
            "+".join(c.approval_chain) or "provider",
            _yes(c.allow_download),
            _yes(c.default_mask),
            _yes(c.encrypt_at_rest),
            _yes(c.watermark),
            f"{c.retention_days} d" if c.retention_days else "-",
        )
    console.print(table)


@classification_app.command("set")
def set_cmd(
    grade: Annotated[int, typer.Argument(min=1, max=4)],
    download: Annotated[bool | None, typer.Option("--download/--no-download")] = None,
    mask: Annotated[bool | None, typer.Option("--mask/--no-mask")] = None,
    encrypt: Annotated[bool | None, typer.Option("--encrypt/--no-encrypt")] = None,
    watermark: Annotated[bool | None, typer.Option("--watermark/--no-watermark")] = None,
    retention_days: Annotated[
        int | None, typer.Option(min=0, max=36_500, help="0 removes the limit")
    ] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Change the controls of one grade (the table must keep its rules)."""
    settings, db = open_store(data_dir)
    given = {
        "allow_download": download,
        "default_mask": mask,
        "encrypt_at_rest": encrypt,
        "watermark": watermark,
        "retention_days": retention_days,
    }
    data = ControlsUpdate.model_validate(
        {"grades": {str(grade): {k: v for k, v in given.items() if v is not None}}}
    )
    try:
        with Caller(db, settings, CLI_ACTOR).act() as ctx:
            classification.update_controls(ctx, data)
    except GovDataError as exc:
        raise fail(exc, settings) from exc
    show_cmd(data_dir)


@classification_app.command("retention")
def retention_cmd(data_dir: DataDirOpt = None) -> None:
    """Delivered files kept longer than their grade allows (a report; nothing is deleted)."""
    settings, db = open_store(data_dir)
    with Caller(db, settings, CLI_ACTOR).act() as ctx:
        report = retention.retention_report(ctx)
    if not report:
        console.print("No delivered copy is kept past its retention.")
        return
    table = Table("consumer", "grant", "entry", "grade", "file", "age", "retention")
    for r in report:
        table.add_row(
            r.consumer_department_name,
            r.grant_code,
            r.resource_code,
            str(r.grade),
            r.file,
            f"{r.age_days} d",
            f"{r.retention_days} d",
        )
    console.print(table)


def _print_scan(scan: ScanOut) -> None:
    title = scan.resource_code or scan.table_name or scan.id
    console.print(f"scan {scan.id}: {scan.target_kind} {title} — {scan.status}")
    if scan.status == "failed":
        console.print(f"[red]{scan.error_message}[/red] ({scan.error_code})")
        return
    console.print(f"rows sampled {scan.rows_sampled}, started {local(scan.created_at)}")
    table = Table("column", "item", "found", "hit rate", "examples", "suggestion", "state")
    for c in scan.columns:
        suggestion = ""
        if c.suggest_grade:
            sensitive = " sensitive" if c.suggest_sensitive else ""
            suggestion = f"grade {c.suggest_grade}{sensitive} mask {c.suggest_mask or '-'}"
        table.add_row(
            c.column,
            c.item or "",
            discovery.label(c.kind, "en"),
            f"{c.hit_rate:.1%} ({c.hits}/{c.non_empty})",
            " ".join(c.examples),
            suggestion,
            c.state,
        )
    console.print(table)
    if scan.suggested_grade:
        console.print(
            f"entry grade {scan.entry_grade or '-'}, suggested {scan.suggested_grade}"
            f" ({scan.grade_state or 'no entry'})"
        )


@classification_app.command("scan")
def scan_cmd(
    entry: Annotated[str | None, typer.Option(help="catalog entry (resource code or id)")] = None,
    lake_table: Annotated[str | None, typer.Option(help="lake table (schema.name)")] = None,
    source: Annotated[str | None, typer.Option(help="source system id (with --table)")] = None,
    table: Annotated[str | None, typer.Option(help="table of the source")] = None,
    rows: Annotated[int, typer.Option(min=10, max=100_000, help="sample rows")] = 1000,
    queue_only: Annotated[bool, typer.Option(help="leave the scan to the workers")] = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Scan a sample for personal data and print the findings and suggestions."""
    settings, db = open_store(data_dir)
    try:
        data = ScanCreate(
            entry=entry, lake_table=lake_table, source_id=source, table=table, sample_rows=rows
        )
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    caller = Caller(db, settings, CLI_ACTOR)
    try:
        with caller.act() as ctx:
            scan = discovery_actions.start_scan(ctx, data)
    except GovDataError as exc:
        raise fail(exc, settings) from exc
    if queue_only or scan.job_id is None:
        console.print(f"scan {scan.id} queued (job {scan.job_id})")
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), console=console) as bar:
        task = bar.add_task("sampling", total=3)

        def on_progress(done: int, total: int | None, message: str | None) -> None:
            bar.update(task, completed=done, total=total, description=message or "")

        inline.run_job_here(db, settings, scan.job_id, on_progress=on_progress)
    with caller.act() as ctx:
        _print_scan(discovery_actions.get_scan(ctx, scan.id))


@classification_app.command("scan-show")
def scan_show_cmd(scan_id: str, data_dir: DataDirOpt = None) -> None:
    """One scan's findings and suggestions."""
    settings, db = open_store(data_dir)
    try:
        with Caller(db, settings, CLI_ACTOR).act() as ctx:
            _print_scan(discovery_actions.get_scan(ctx, scan_id))
    except GovDataError as exc:
        raise fail(exc, settings) from exc
