"""``govdata crosscheck ...``: subjects, the authority order, checks run now, conflicts.

The CLI acts on the node's own store as the actor ``cli`` (whoever runs it already holds the
store and the lake, so conflict values are shown as stored); every change is audited.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from govdata.core.cli_shell import CLI_ACTOR, DataDirOpt, fail, open_store
from govdata.core.errors import GovDataError
from govdata.governance import authority, crosscheck, crosscheck_runs
from govdata.governance.crosscheck_schemas import AuthorityIn, RunOut
from govdata.security.context import Caller

crosscheck_app = typer.Typer(
    help="多源校核 Cross-source checks: subjects, authoritative sources, runs, conflicts",
    no_args_is_help=True,
)
console = Console()


def _rate(compared: int, agreed: int) -> str:
    return f"{agreed / compared:.2%}" if compared else "—"


def print_run(run: RunOut) -> None:
    labels = {str(s["id"]): str(s["label"]) for s in run.sources}
    console.print(
        f"run {run.id} · {run.status} · keys={run.key_count} shared={run.shared_keys}"
        f" conflicts={run.conflict_count} (stored {run.conflicts_stored})"
    )
    if run.error:
        console.print(f"[red]{run.error}[/red]")
    table = Table("field", "sources", "compared", "agreed", "conflicts", "rate")
    for a in run.agreements:
        pair = (
            "all"
            if a.source_a is None
            else f"{labels.get(a.source_a, a.source_a)} / {labels.get(a.source_b or '', '')}"
        )
        table.add_row(
            a.field_label,
            pair,
            str(a.compared),
            str(a.agreed),
            str(a.conflicts),
            _rate(a.compared, a.agreed),
        )
    console.print(table)


@crosscheck_app.command("subjects")
def subjects(data_dir: DataDirOpt = None) -> None:
    """校核主题 Subjects with their sources and latest run."""
    settings, db = open_store(data_dir)
    try:
        with Caller(db, settings, CLI_ACTOR).act() as ctx:
            found = crosscheck.list_subjects(ctx)
    finally:
        db.dispose()
    table = Table("code", "name", "key", "sources", "last run", "conflicts")
    for s in found:
        last = s.last_run
        table.add_row(
            s.code,
            s.name,
            s.key_field,
            ", ".join(f"{src.label} ({src.resource_code})" for src in s.sources) or "—",
            f"{last.status} {last.created_at:%Y-%m-%d %H:%M}" if last else "—",
            str(last.conflict_count) if last else "—",
        )
    console.print(table)


@crosscheck_app.command("authority")
def set_order(
    subject: Annotated[str, typer.Argument(help="subject code: population, legal_entity, ...")],
    field: Annotated[str | None, typer.Option(help="the field whose order to set")] = None,
    order: Annotated[
        str | None,
        typer.Option(help="sources by label or id, comma-separated, authoritative first"),
    ] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """权威数据源 Show the authority order per field, or set one field's (--field, --order)."""
    settings, db = open_store(data_dir)
    try:
        with Caller(db, settings, CLI_ACTOR).act() as ctx:
            out = crosscheck.get_subject(ctx, subject)
            by_label = {src.label: src.id for src in out.sources}
            by_label.update({src.id: src.id for src in out.sources})
            orders = out.authority
            if field is not None:
                names = [n.strip() for n in (order or "").split(",") if n.strip()]
                unknown = [n for n in names if n not in by_label]
                if unknown:
                    console.print(f"[red]unknown sources: {', '.join(unknown)}[/red]")
                    raise typer.Exit(1)
                orders = authority.set_authority(
                    ctx, subject, field, AuthorityIn(sources=[by_label[n] for n in names])
                )
    except GovDataError as exc:
        raise fail(exc, settings) from exc
    finally:
        db.dispose()
    labels = {src.id: src.label for src in out.sources}
    table = Table("field", "order (authoritative first)", "set by the operator")
    for a in orders:
        table.add_row(a.field, " > ".join(labels.get(i, i) for i in a.order) or "—", str(a.ranked))
    console.print(table)


@crosscheck_app.command("run")
def run(
    subject: Annotated[str, typer.Argument(help="subject code: population, legal_entity, ...")],
    data_dir: DataDirOpt = None,
) -> None:
    """多源校核 Check the subject now and print the agreement per field."""
    settings, db = open_store(data_dir)
    try:
        with Caller(db, settings, CLI_ACTOR).act() as ctx:
            out = crosscheck_runs.run_check(ctx, subject)
    except GovDataError as exc:
        raise fail(exc, settings) from exc
    finally:
        db.dispose()
    print_run(out)


@crosscheck_app.command("conflicts")
def conflicts(
    run_id: Annotated[str, typer.Argument(help="the run's id")],
    field: Annotated[str | None, typer.Option(help="one field only")] = None,
    page: Annotated[int, typer.Option(min=1)] = 1,
    size: Annotated[int, typer.Option(min=1, max=200)] = 50,
    data_dir: DataDirOpt = None,
) -> None:
    """冲突清单 A run's conflicts, each source's value and the authority's winner (*)."""
    settings, db = open_store(data_dir)
    try:
        with Caller(db, settings, CLI_ACTOR).act() as ctx:
            found = crosscheck_runs.list_conflicts(ctx, run_id, field=field, page=page, size=size)
    except GovDataError as exc:
        raise fail(exc, settings) from exc
    finally:
        db.dispose()
    table = Table("key", "field", "values")
    for c in found.items:
        values = "; ".join(
            f"{'*' if v.winner else ''}{v.label}={v.value if v.value is not None else '∅'}"
            for v in c.values
        )
        table.add_row(c.key, c.field_label, values)
    console.print(table)
    capped = " (list capped; counts exact on the run)" if found.capped else ""
    console.print(f"page {found.page}/{found.pages} · {found.total} conflicts{capped}")
