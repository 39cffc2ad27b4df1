"""``govdata pipeline ...``: list, run and watch pipelines."""

from __future__ import annotations

import typer

pipeline_app = typer.Typer(help="归集管道 Collection pipelines", no_args_is_help=True)
