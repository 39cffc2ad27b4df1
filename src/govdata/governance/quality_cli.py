"""`govdata` sub-commands of governance."""

from __future__ import annotations

import typer

quality_app = typer.Typer(no_args_is_help=True)
