from __future__ import annotations

import typer

jobs_app = typer.Typer(help="后台任务 Jobs")


def worker() -> None:
    """Run a job worker (being built)."""
