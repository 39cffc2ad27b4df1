"""``govdata sharing ...``: look at applications and grants, revoke, run the deadline sweep.

The CLI acts on the node's own store as the actor ``cli`` (whoever runs it already holds
the store); every change goes through the sharing actions and is audited.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from govdata.core.cli_shell import CLI_ACTOR, DataDirOpt, fail, open_store
from govdata.core.clock import local
from govdata.core.errors import GovDataError
from govdata.security.context import Caller
from govdata.sharing import application_views, deadlines, grants
from govdata.sharing.schemas import ReasonIn
from govdata.sharing.vocab import ApplicationStatus, GrantStatus

sharing_app = typer.Typer(
    help="数据共享 Sharing: applications, grants, deadlines", no_args_is_help=True
)
console = Console()


@sharing_app.command("applications")
def list_applications(
    status: Annotated[ApplicationStatus | None, typer.Option(help="only this status")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    data_dir: DataDirOpt = None,
) -> None:
    """共享申请 Applications, newest first, with their countdown."""
    settings, db = open_store(data_dir)
    try:
        with Caller(db, settings, CLI_ACTOR).act() as ctx:
            page = application_views.list_applications(ctx, status=status, limit=limit)
    except GovDataError as exc:
        raise fail(exc, settings) from exc
    table = Table("code", "entry", "consumer", "provider", "status", "step", "days left")
    for a in page.items:
        left = "" if a.days_left is None else str(a.days_left)
        if a.overdue:
            left = f"[red]{left} overdue[/red]"
        table.add_row(
            a.code,
            f"{a.resource_code} {a.entry_name}",
            a.consumer_department_name,
            a.provider_department_name,
            a.status_label,
            a.current_step or "",
            left,
        )
    console.print(table)


@sharing_app.command("grants")
def list_grants(
    status: Annotated[GrantStatus | None, typer.Option(help="only this status")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    data_dir: DataDirOpt = None,
) -> None:
    """授权 Grants, newest first."""
    settings, db = open_store(data_dir)
    try:
        with Caller(db, settings, CLI_ACTOR).act() as ctx:
            page = grants.list_grants(ctx, status=status, limit=limit)
    except GovDataError as exc:
        raise fail(exc, settings) from exc
    table = Table("id", "code", "entry", "consumer", "items", "expires", "status")
    for g in page.items:
        table.add_row(
            g.id,
            g.code,
            f"{g.resource_code} {g.entry_name}",
            g.consumer_department_name,
            str(len(g.items)),
            local(g.expires_at),
            g.status_label,
        )
    console.print(table)


@sharing_app.command("revoke")
def revoke(
    grant_id: str,
    reason: Annotated[str, typer.Option(help="why (shown to the consumer)")],
    data_dir: DataDirOpt = None,
) -> None:
    """撤销授权 Revoke a grant; its next request is refused."""
    settings, db = open_store(data_dir)
    try:
        with Caller(db, settings, CLI_ACTOR).act() as ctx:
            out = grants.revoke_grant(ctx, grant_id, ReasonIn(reason=reason))
    except GovDataError as exc:
        raise fail(exc, settings) from exc
    console.print(f"{out.code}: {out.status_label}")


@sharing_app.command("sweep")
def sweep(data_dir: DataDirOpt = None) -> None:
    """Escalate overdue steps, demands and tickets now (the server does it every 5 minutes)."""
    settings, db = open_store(data_dir)
    counts = deadlines.sweep(db, settings)
    console.print(" ".join(f"{k}={v}" for k, v in counts.items()))
