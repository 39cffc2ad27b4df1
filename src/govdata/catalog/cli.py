"""`govdata catalog ...`: thin shells over catalog actions for operators on the node."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from govdata.catalog import national, search
from govdata.core.cli_shell import load_settings, open_db
from govdata.core.clock import DISPLAY_TZ
from govdata.core.errors import GovDataError
from govdata.security.context import ActionContext, Caller
from govdata.security.context_types import Actor

catalog_app = typer.Typer(help="政务数据目录 Catalog", no_args_is_help=True)
console = Console()
# Whoever runs the CLI on the node already holds the store; audit records name them "cli".
CLI_ACTOR = Actor(kind="system", id=None, name="cli")

DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (default: $GOVDATA_DATA_DIR or ./data)"),
]


@contextmanager
def _action(data_dir: Path | None) -> Iterator[ActionContext]:
    settings = load_settings(data_dir)
    db = open_db(settings)
    try:
        with Caller(db, settings, CLI_ACTOR).act() as ctx:
            yield ctx
    except GovDataError as exc:
        console.print(f"[red]{exc.message(settings.default_locale)}[/red] ({exc.code})")
        raise typer.Exit(1) from exc
    finally:
        db.dispose()


@catalog_app.command()
def reindex(data_dir: DataDirOpt = None) -> None:
    """Rebuild the search text of every entry (after a change of the segmentation dictionary)."""
    with console.status("重建检索索引 Rebuilding the search index…"), _action(data_dir) as ctx:
        count = search.rebuild_search_index(ctx)
    console.print(f"[green]完成 Done[/green]: {count} entries indexed")


@catalog_app.command("export-national")
def export_national(
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write the JSON to")],
    since: Annotated[
        datetime | None, typer.Option(help="Only entries published or withdrawn since (ISO time)")
    ] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Write the published catalog in the national exchange form (docs/catalog-exchange.md)."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=DISPLAY_TZ)  # people type local (Beijing) time
    with _action(data_dir) as ctx:
        payload = national.export_national(ctx, since=since)
    out.write_text(json.dumps(payload, ensure_ascii=False, indent=2, default=str), "utf-8")
    console.print(f"[green]完成 Done[/green]: {len(payload['entries'])} entries → {out}")
