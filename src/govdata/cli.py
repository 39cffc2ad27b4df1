"""The ``govdata`` command: each domain contributes a sub-app, all thin shells over actions."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from govdata.catalog import cli as catalog_cli
from govdata.config import Settings
from govdata.core import logredact
from govdata.core.cli_shell import DataDirOpt, load_settings, open_db
from govdata.core.jobs import cli as jobs_cli
from govdata.demo import cli as demo_cli
from govdata.exchange import cli as exchange_cli
from govdata.governance import baselib_cli, crosscheck_cli, quality_cli
from govdata.identity import cli as identity_cli
from govdata.lake import cli as lake_cli
from govdata.security import cli_alerts, cli_classification, cli_keys
from govdata.security.ledger import cli as ledger_cli
from govdata.sharing import cli as sharing_cli

app = typer.Typer(help="GovData 一体化政务大数据平台", no_args_is_help=True)
console = Console()


@app.command()
def init(data_dir: DataDirOpt = None) -> None:
    """Create the data directory and apply all migrations."""
    settings = load_settings(data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.resolved_secret_key()
    db = open_db(settings)
    db.dispose()
    console.print(f"[green]已初始化[/green] {settings.data_dir.resolve()} ({db.dialect})")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    data_dir: DataDirOpt = None,
) -> None:
    """Serve the portal and the API."""
    run_server(load_settings(data_dir), host, port)


def run_server(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from govdata.app import create_app

    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


app.command("worker")(jobs_cli.worker)
app.command("demo")(demo_cli.demo)
app.add_typer(identity_cli.user_app, name="user")
app.add_typer(identity_cli.token_app, name="token")
app.add_typer(jobs_cli.jobs_app, name="jobs")
app.add_typer(lake_cli.lake_app, name="lake")
app.add_typer(catalog_cli.catalog_app, name="catalog")
app.add_typer(exchange_cli.pipeline_app, name="pipeline")
app.add_typer(sharing_cli.sharing_app, name="sharing")
app.add_typer(ledger_cli.audit_app, name="audit")
app.add_typer(cli_alerts.alerts_app, name="alerts")
app.add_typer(cli_classification.classification_app, name="classification")
app.add_typer(cli_keys.keys_app, name="keys")
app.add_typer(cli_keys.destroy_app, name="destroy")
app.add_typer(quality_cli.quality_app, name="quality")
app.add_typer(crosscheck_cli.crosscheck_app, name="crosscheck")
app.add_typer(baselib_cli.baselib_app, name="baselib")


def main() -> None:
    logredact.install()
    app()


if __name__ == "__main__":
    main()
