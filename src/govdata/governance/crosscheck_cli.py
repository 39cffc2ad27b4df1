"""`govdata` sub-commands of governance."""

from __future__ import annotations

import typer

crosscheck_app = typer.Typer(no_args_is_help=True)
