"""``govdata user ...`` and ``govdata token ...``: identity administration as the system actor."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from govdata.core.cli_shell import load_settings, open_db
from govdata.core.clock import local
from govdata.core.errors import GovDataError
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm, Role

user_app = typer.Typer(help="用户管理 Users", no_args_is_help=True)
token_app = typer.Typer(help="应用凭证 App credentials", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)

T = TypeVar("T")

DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (default: $GOVDATA_DATA_DIR or ./data)"),
]


@contextmanager
def _errors_to_exit() -> Iterator[None]:
    try:
        yield
    except GovDataError as exc:
        err_console.print(f"[red]{exc.message_zh}[/red] ({exc.code}) {exc.message_en}")
        if exc.details:
            err_console.print(exc.details)
        raise typer.Exit(1) from exc
    except ValidationError as exc:
        for err in exc.errors():
            err_console.print(f"[red]{'.'.join(map(str, err['loc']))}[/red]: {err['msg']}")
        raise typer.Exit(1) from exc


def _run(data_dir: Path | None, action: Callable[[ActionContext], T]) -> T:
    """Run one action as the system actor in one transaction."""
    from govdata.security.context import Caller
    from govdata.security.context_types import SYSTEM

    settings = load_settings(data_dir)
    db = open_db(settings)
    try:
        with _errors_to_exit(), Caller(db, settings, SYSTEM, "cli").act() as ctx:
            return action(ctx)
    finally:
        db.dispose()


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="Login name, e.g. police_officer")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    display_name: Annotated[str | None, typer.Option("--display-name")] = None,
    department: Annotated[str | None, typer.Option(help="Department code")] = None,
    role: Annotated[list[Role] | None, typer.Option(help="Role to grant (repeatable)")] = None,
    region: Annotated[str | None, typer.Option(help="Region code for region_operator")] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Create a user, optionally with roles."""
    from govdata.identity import actions
    from govdata.identity.schemas import RoleAssignmentIn, UserCreate

    def act(ctx: ActionContext) -> str:
        roles = [
            RoleAssignmentIn(role=r, region_code=region if r == Role.REGION_OPERATOR else None)
            for r in role or []
        ]
        user = actions.create_user(
            ctx,
            UserCreate(
                username=username,
                display_name=display_name or username,
                password=password,
                department_code=department,
                roles=roles,
            ),
        )
        return user.id

    user_id = _run(data_dir, act)
    console.print(f"[green]已创建用户[/green] {username.lower()} ({user_id})")


def _set_active(username: str, data_dir: Path | None, active: bool) -> None:
    from govdata.identity import actions

    def act(ctx: ActionContext) -> None:
        user = actions.get_user_by_username(ctx, username)
        if active:
            actions.enable_user(ctx, user.id)
        else:
            actions.disable_user(ctx, user.id)

    _run(data_dir, act)
    console.print(f"[green]{'已启用' if active else '已停用'}[/green] {username.lower()}")


@user_app.command("disable")
def user_disable(username: str, data_dir: DataDirOpt = None) -> None:
    """Disable a user; their sessions and tokens stop working at once."""
    _set_active(username, data_dir, False)


@user_app.command("enable")
def user_enable(username: str, data_dir: DataDirOpt = None) -> None:
    """Enable a disabled user."""
    _set_active(username, data_dir, True)


@user_app.command("unlock")
def user_unlock(username: str, data_dir: DataDirOpt = None) -> None:
    """Lift a lockout after too many failed logins."""
    from govdata.identity import actions

    def act(ctx: ActionContext) -> None:
        actions.unlock_user(ctx, actions.get_user_by_username(ctx, username).id)

    _run(data_dir, act)
    console.print(f"[green]已解锁[/green] {username.lower()}")


@token_app.command("create")
def token_create(
    department: Annotated[str, typer.Option(help="Department code")],
    name: Annotated[str, typer.Option(help="What the app is")],
    scope: Annotated[list[Perm], typer.Option(help="Permission (repeatable)")],
    days: Annotated[int, typer.Option(help="Days until it expires (max 365)")] = 90,
    data_dir: DataDirOpt = None,
) -> None:
    """Create an app credential; the token is printed this once."""
    from govdata.identity import actions
    from govdata.identity.schemas import CredentialCreate, CredentialCreated

    def act(ctx: ActionContext) -> CredentialCreated:
        return actions.create_credential(
            ctx, CredentialCreate(name=name, department_code=department, scopes=scope, days=days)
        )

    created = _run(data_dir, act)
    cred = created.credential
    console.print(f"[green]已创建应用凭证[/green] {cred.id}  过期 {local(cred.expires_at)}")
    console.print("令牌只显示这一次，请妥善保存 (shown once):")
    print(created.token)


@token_app.command("revoke")
def token_revoke(credential_id: str, data_dir: DataDirOpt = None) -> None:
    """Revoke an app credential."""
    from govdata.identity import actions

    _run(data_dir, lambda ctx: actions.revoke_credential(ctx, credential_id))
    console.print(f"[green]已吊销[/green] {credential_id}")


@token_app.command("list")
def token_list(
    department: Annotated[str | None, typer.Option(help="Department code")] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """List app credentials (never their tokens)."""
    from govdata.identity import actions
    from govdata.identity.schemas import CredentialOut

    def act(ctx: ActionContext) -> list[CredentialOut]:
        dept_id = actions.get_department_by_code(ctx, department).id if department else None
        items: list[CredentialOut] = []
        cursor: str | None = None
        while True:
            page = actions.list_credentials(ctx, department_id=dept_id, limit=200, cursor=cursor)
            items.extend(page.items)
            if page.next_cursor is None:
                return items
            cursor = page.next_cursor

    table = Table("name", "department", "scopes", "expires", "status")
    # Ids and prefixes are copied into other commands, so they must never wrap.
    table.add_column("prefix", no_wrap=True)
    table.add_column("id", no_wrap=True)
    for c in _run(data_dir, act):
        table.add_row(
            c.name,
            c.department_code,
            ",".join(c.scopes),
            local(c.expires_at),
            c.status,
            c.token_prefix + "…",
            c.id,
        )
    console.print(table)
