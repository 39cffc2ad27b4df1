"""``govdata baselib ...``: build and browse the base libraries (基础库), check duplicates.

The CLI acts on the node's own store and lake as the actor ``cli`` (whoever runs it already
holds both, so values are shown as stored); builds and checks run in the call with a
progress bar, and every change is audited.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from govdata.core.cli_shell import CLI_ACTOR, DataDirOpt, fail, open_store
from govdata.core.clock import now
from govdata.core.errors import GovDataError
from govdata.governance import baselib, baselib_catalog, baselib_dupes, linkage
from govdata.governance.baselib_models import DuplicateCheck
from govdata.governance.baselib_schemas import AttachIn, BuildIn, BuildOut, DuplicateCheckIn
from govdata.security.context import Caller

baselib_app = typer.Typer(
    help="基础库 Base libraries: build (population | legal_entity), show, search, duplicates",
    no_args_is_help=True,
)
console = Console()

LibraryArg = Annotated[str, typer.Argument(help="population | legal_entity")]


def print_build(b: BuildOut) -> None:
    console.print(
        f"build {b.id} · {b.status} · {b.mode_label or '—'} · entities={b.entities} "
        f"records={b.records} lake version={b.lake_version}"
    )
    if b.error:
        console.print(f"[red]{b.error}[/red]")
    table = Table("source", "label", "lake table", "version", "rows")
    for src in b.sources:
        table.add_row(
            str(src.get("id")),
            str(src.get("label")),
            str(src.get("lake_table")),
            str(src.get("version", "—")),
            str(src.get("rows", "—")),
        )
    console.print(table)
    if b.stats:
        seconds = b.stats.get("seconds", {})
        console.print(
            "scored records: "
            f"{b.stats.get('scored_records', '—')} · changed: {b.stats.get('changed', '—')}"
            f" · pairs kept: {b.stats.get('edges', '—')} · seconds: {json.dumps(seconds)}"
        )


@baselib_app.command("build")
def build(
    library: LibraryArg,
    retrain: Annotated[bool, typer.Option(help="train the model afresh (a full build)")] = False,
    data_dir: DataDirOpt = None,
) -> None:
    """构建基础库 Build a library now: link its sources, write golden records to the lake."""
    settings, db = open_store(data_dir)
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task(library, total=100)

            def step(fraction: float, message: str) -> None:
                bar.update(task, completed=fraction * 100, description=f"{library}: {message}")

            out = baselib.build_here(
                Caller(db, settings, CLI_ACTOR), library, BuildIn(retrain=retrain), progress=step
            )
            bar.update(task, completed=100)
    except GovDataError as exc:
        raise fail(exc, settings) from exc
    finally:
        db.dispose()
    print_build(out)


@baselib_app.command("show")
def show(library: LibraryArg, data_dir: DataDirOpt = None) -> None:
    """基础库概况 A library: sources, authority order, last builds, cluster sizes."""
    settings, db = open_store(data_dir)
    try:
        with Caller(db, settings, CLI_ACTOR).act() as ctx:
            lib = baselib.get_library(ctx, library)
    except GovDataError as exc:
        raise fail(exc, settings) from exc
    finally:
        db.dispose()
    console.print(
        f"{lib.name} ({lib.code}) · table {lib.lake_table} · entities={lib.entities} "
        f"records={lib.records} · last built {lib.last_built_at or '—'}"
        f" · catalog entry {lib.resource_code or '—'}{' (mounted)' if lib.mounted else ''}"
    )
    for problem in lib.problems:
        console.print(f"[yellow]{problem}[/yellow]")
    fields = Table("field", "label", "authority order")
    for f in lib.fields:
        fields.add_row(f.code, f.label, " > ".join(f.authority) or "—")
    console.print(fields)
    sources = Table("source", "label", "lake table", "key", "columns")
    for src in lib.sources:
        sources.add_row(
            src.id, src.label, src.lake_table or "—", ",".join(src.key), json.dumps(src.columns)
        )
    console.print(sources)
    if lib.cluster_sizes:
        sizes = Table("records per entity", "entities")
        for c in lib.cluster_sizes:
            sizes.add_row(str(c.size), str(c.entities))
        console.print(sizes)
    builds = Table("build", "status", "mode", "entities", "started", "finished")
    for b in lib.builds:
        builds.add_row(
            b.id,
            b.status,
            b.mode or "—",
            str(b.entities or "—"),
            f"{b.started_at:%Y-%m-%d %H:%M:%S}" if b.started_at else "—",
            f"{b.finished_at:%Y-%m-%d %H:%M:%S}" if b.finished_at else "—",
        )
    console.print(builds)


@baselib_app.command("search")
def search(library: LibraryArg, q: str, data_dir: DataDirOpt = None) -> None:
    """查找黄金记录 Golden records by key, entity id or name."""
    settings, db = open_store(data_dir)
    try:
        with Caller(db, settings, CLI_ACTOR).act() as ctx:
            page = baselib.search_records(ctx, library, q)
    except GovDataError as exc:
        raise fail(exc, settings) from exc
    finally:
        db.dispose()
    table = Table("entity", "key", "name", "records", "sources")
    for r in page.items:
        table.add_row(
            r.entity_id, r.key or "", r.name or "", str(r.record_count), str(r.source_count)
        )
    console.print(table)


@baselib_app.command("record")
def record(library: LibraryArg, entity_id: str, data_dir: DataDirOpt = None) -> None:
    """黄金记录 One golden record: fields with provenance, and its linked source records."""
    settings, db = open_store(data_dir)
    try:
        with Caller(db, settings, CLI_ACTOR).act() as ctx:
            rec = baselib.get_record(ctx, library, entity_id)
    except GovDataError as exc:
        raise fail(exc, settings) from exc
    finally:
        db.dispose()
    table = Table("field", "value", "source", "source record", "rule")
    for f in rec.fields:
        table.add_row(
            f.label, f.value or "", f.source_label or f.source or "", f.key or "", f.rule_label
        )
    console.print(table)
    subject = linkage.SUBJECTS[library]
    linked = Table("source", "key", *(f.label for f in subject.fields))
    for r in rec.linked:
        linked.add_row(r.source_label, r.key, *(r.values.get(f.name) or "" for f in subject.fields))
    console.print(linked)


@baselib_app.command("attach")
def attach(library: LibraryArg, entry: str, data_dir: DataDirOpt = None) -> None:
    """编目基础库 Catalog the library with a published entry (mounted on its table)."""
    settings, db = open_store(data_dir)
    try:
        with Caller(db, settings, CLI_ACTOR).act() as ctx:
            lib = baselib_catalog.attach_entry(ctx, library, AttachIn(entry=entry))
    except GovDataError as exc:
        raise fail(exc, settings) from exc
    finally:
        db.dispose()
    console.print(
        f"{lib.name}: catalog entry {lib.resource_code} · "
        f"{'mounted on ' + lib.lake_table if lib.mounted else 'mounted after the first build'}"
    )


@baselib_app.command("dedupe")
def dedupe(
    entry: Annotated[str, typer.Argument(help="entry id or resource code")],
    subject: Annotated[str, typer.Option(help="population | legal_entity")] = "population",
    data_dir: DataDirOpt = None,
) -> None:
    """重复数据检测 Duplicates inside one entry's lake table, checked now."""
    settings, db = open_store(data_dir)
    try:
        with Caller(db, settings, CLI_ACTOR).act() as ctx:
            queued = baselib_dupes.start_check(ctx, DuplicateCheckIn(entry=entry, subject=subject))
        with console.status("checking…"):
            found = baselib_dupes.compute(
                settings, subject, str(queued.lake_table), dict(queued.columns)
            )
        with Caller(db, settings, CLI_ACTOR).act() as ctx:
            check = ctx.session.get(DuplicateCheck, queued.id)
            assert check is not None
            check.started_at = check.started_at or now()
            baselib_dupes.record_check(ctx, check, found)
            out = baselib_dupes.check_out(ctx, check)
    except GovDataError as exc:
        raise fail(exc, settings) from exc
    finally:
        db.dispose()
    console.print(
        f"{out.entry_name} ({out.resource_code}): {out.records} records, "
        f"{out.clusters} duplicate clusters, {out.duplicate_records} records in them"
    )
    table = Table("size", "record keys")
    for cluster in out.sample[:50]:
        table.add_row(str(cluster["size"]), ", ".join(cluster["keys"]))
    console.print(table)
