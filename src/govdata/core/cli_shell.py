"""What every ``govdata`` sub-command shares: the ``--data-dir`` option, opening the node's
own store, the actor a command acts as, and how an action's refusal is printed.

The CLI acts on the node's own store as the actor ``cli``: whoever runs it already holds the
store. Its actions are audited like any other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.errors import GovDataError
from govdata.security.context_types import Actor

CLI_ACTOR = Actor(kind="system", id=None, name="cli")
console = Console()

DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (default: $GOVDATA_DATA_DIR or ./data)"),
]


def load_settings(data_dir: Path | None = None, **overrides: object) -> Settings:
    """Settings from the environment, with command-line options on top."""
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    return Settings(**overrides)  # type: ignore[arg-type]


def open_db(settings: Settings) -> Database:
    """Open the store and bring it to the newest migration."""
    db = Database(settings.db_url)
    db.migrate()
    return db


def open_store(data_dir: Path | None) -> tuple[Settings, Database]:
    settings = load_settings(data_dir)
    return settings, open_db(settings)


def fail(exc: GovDataError, settings: Settings) -> typer.Exit:
    """Print the refusal in the node's language with its code; the command exits 1."""
    console.print(f"[red]{exc.message(settings.default_locale)}[/red] ({exc.code})")
    return typer.Exit(1)
