"""``govdata quality ...``: run an entry's quality rules now, list and suggest rules.

The CLI acts on the node's own store as the actor ``cli`` (whoever runs it already holds
the store); runs and rule changes are audited like any other.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from govdata.core.cli_shell import CLI_ACTOR, DataDirOpt, fail, open_store
from govdata.core.errors import GovDataError
from govdata.governance import quality_rules, quality_runs
from govdata.security.context import Caller

quality_app = typer.Typer(
    help="数据质量 Data quality: run rules, list and suggest rules", no_args_is_help=True
)
console = Console()


def _rate(rate: float | None) -> str:
    return "—" if rate is None else f"{100 * rate:.2f}%"


@quality_app.command("run")
def run(
    resource_code: Annotated[str, typer.Argument(help="The entry's resource code (or id)")],
    data_dir: DataDirOpt = None,
) -> None:
    """Run the entry's enabled rules now and print each rule's result. Exits 1 when the
    run could not read the data; 0 otherwise, failing rules included."""
    settings, db = open_store(data_dir)
    try:
        with Caller(db, settings, CLI_ACTOR).act() as ctx:
            out = quality_runs.run_entry(ctx, resource_code, trigger="cli")
    except GovDataError as exc:
        raise fail(exc, settings) from exc
    finally:
        db.dispose()
    if out.status != "succeeded":
        console.print(f"[red]{out.error_message}[/red] ({out.error_code})")
        raise typer.Exit(1)
    table = Table(title=f"{out.entry_name} {out.resource_code}")
    for col in (
        "规则 Rule",
        "类型 Kind",
        "维度 Dimension",
        "检查 Checked",
        "不合格 Failed",
        "通过率 Pass",
    ):
        table.add_column(col)
    for r in out.results:
        table.add_row(
            r.name,
            r.kind,
            r.dimension,
            str(r.checked),
            str(r.failed),
            r.error or _rate(r.pass_rate),
        )
    console.print(table)
    capped = "（逻辑接入，已按行数上限截取 capped at the row cap）" if out.source_capped else ""
    score = "—" if out.score is None else f"{out.score:.2f}"
    console.print(f"rows={out.rows_total}{capped} score={score} run={out.id}")


@quality_app.command("rules")
def rules(
    resource_code: Annotated[str, typer.Argument(help="The entry's resource code (or id)")],
    data_dir: DataDirOpt = None,
) -> None:
    """List the entry's rules."""
    settings, db = open_store(data_dir)
    try:
        with Caller(db, settings, CLI_ACTOR).act() as ctx:
            found = quality_rules.list_rules(ctx, resource_code)
    except GovDataError as exc:
        raise fail(exc, settings) from exc
    finally:
        db.dispose()
    table = Table()
    for col in ("id", "规则 Rule", "类型 Kind", "参数 Params", "启用 Enabled"):
        table.add_column(col)
    for r in found:
        table.add_row(r.id, r.name, r.kind, str(r.params), "是" if r.enabled else "否")
    console.print(table)


@quality_app.command("suggest")
def suggest(
    resource_code: Annotated[str, typer.Argument(help="The entry's resource code (or id)")],
    apply: Annotated[bool, typer.Option("--apply", help="Attach the new suggestions")] = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Show the rules the entry's items call for; ``--apply`` attaches those not attached."""
    settings, db = open_store(data_dir)
    try:
        with Caller(db, settings, CLI_ACTOR).act() as ctx:
            found = quality_rules.suggest_rules(ctx, resource_code)
            added = quality_rules.apply_suggestions(ctx, resource_code) if apply else []
    except GovDataError as exc:
        raise fail(exc, settings) from exc
    finally:
        db.dispose()
    for sug in found:
        mark = "✓" if sug.exists else "+"
        console.print(f"{mark} {sug.rule.name}  {sug.rule.params or ''}  — {sug.reason}")
    if apply:
        console.print(f"attached {len(added)} rule(s)")
