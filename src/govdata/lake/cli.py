"""``govdata lake ...``: look at lake tables and query them, read-only.

Operator tooling on the node's own files (like ``govdata init``): it reads the lake folder
directly and changes nothing. Each query is still written to the audit trail (actor
``cli``), since it reads data.
"""

from __future__ import annotations

import enum
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import pyarrow.csv as pacsv
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from govdata.core.cli_shell import load_settings, open_db
from govdata.core.db import Database
from govdata.core.errors import GovDataError, InvalidInput
from govdata.lake.query import run_select
from govdata.lake.tables import Lake
from govdata.security.audit import DENIED, SUCCESS, write_audit
from govdata.security.context_types import Actor

lake_app = typer.Typer(help="数据湖 Data lake", no_args_is_help=True)
# Whoever runs the CLI on the node already holds the store; audit records name them "cli".
CLI_ACTOR = Actor(kind="system", id=None, name="cli")
console = Console()
err_console = Console(stderr=True)

DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (default: $GOVDATA_DATA_DIR or ./data)"),
]


class OutputFormat(enum.StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


@contextmanager
def _errors_to_exit() -> Iterator[None]:
    try:
        yield
    except GovDataError as exc:
        err_console.print(f"[red]{exc.message_zh}[/red] ({exc.code}) {exc.message_en}")
        # 2 = the request itself was refused (like a usage error); 1 = it failed otherwise.
        raise typer.Exit(2 if isinstance(exc, InvalidInput) else 1) from exc


def _lake(data_dir: Path | None) -> Lake:
    return Lake.from_settings(load_settings(data_dir))


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


@lake_app.command("tables")
def tables(data_dir: DataDirOpt = None) -> None:
    """List lake tables with their catalog entry, version, row count and size."""
    with _errors_to_exit():
        lake = _lake(data_dir)
        infos = [lake.info(name) for name in lake.list_tables()]
        entries = _entry_names(data_dir, {i.entry_id for i in infos if i.entry_id})
        out = Table("table", "entry", "version", "rows", "size", "on disk")
        for info in infos:
            out.add_row(
                info.name,
                entries.get(info.entry_id or "", info.entry_id or ""),
                str(info.version),
                str(info.num_rows),
                _human_size(info.size_bytes),
                _human_size(info.disk_bytes),
            )
        console.print(out)


def _entry_names(data_dir: Path | None, entry_ids: set[str]) -> dict[str, str]:
    """Entry id → "resource code name" from the node's store (ids alone without one)."""
    if not entry_ids:
        return {}
    from govdata.catalog.models import CatalogEntry

    settings = load_settings(data_dir)
    if not settings.database_url and not (settings.data_dir / "govdata.db").exists():
        return {}
    db = Database(settings.db_url)
    try:
        if not db.is_migrated():
            return {}
        with db.transaction() as session:
            rows = session.execute(
                select(CatalogEntry.id, CatalogEntry.resource_code, CatalogEntry.name).where(
                    CatalogEntry.id.in_(entry_ids)
                )
            )
            return {id_: f"{code} {name}" for id_, code, name in rows}
    finally:
        db.dispose()


def _audit(data_dir: Path | None, sql: str, outcome: str, rows: int | None) -> None:
    settings = load_settings(data_dir)
    db = open_db(settings)
    try:
        with db.transaction() as session:
            write_audit(
                session,
                CLI_ACTOR,
                "lake.query",
                target_type="lake",
                outcome=outcome,
                row_count=rows,
                details={"sql": sql[:2000]},
            )
    finally:
        db.dispose()


def _json_default(value: object) -> str:
    # Dates, decimals and bytes have no JSON type; their string form is unambiguous.
    return value.hex() if isinstance(value, bytes) else str(value)


@lake_app.command("query")
def query(
    sql: Annotated[str, typer.Argument(help="One read-only SELECT; tables as `lake tables` lists")],
    fmt: Annotated[OutputFormat, typer.Option("--format", help="Output format")] = (
        OutputFormat.table
    ),
    data_dir: DataDirOpt = None,
) -> None:
    """Run one read-only SELECT over lake tables and print the result."""
    with _errors_to_exit():
        try:
            result = run_select(_lake(data_dir), sql)
        except InvalidInput:
            _audit(data_dir, sql, DENIED, None)
            raise
        _audit(data_dir, sql, SUCCESS, result.num_rows)
    if fmt is OutputFormat.csv:
        buf = io.BytesIO()
        pacsv.write_csv(result, buf)
        typer.echo(buf.getvalue().decode("utf-8"), nl=False)
    elif fmt is OutputFormat.json:
        typer.echo(
            json.dumps(result.to_pylist(), ensure_ascii=False, default=_json_default, indent=2)
        )
    else:
        console.print(_rich_table(result))


def _rich_table(result: pa.Table) -> Table:
    out = Table(*result.column_names)
    for batch in result.to_batches():
        columns = [col.to_pylist() for col in batch.columns]
        for row in zip(*columns, strict=True):
            out.add_row(*("" if v is None else str(v) for v in row))
    out.caption = f"{result.num_rows} rows"
    return out
