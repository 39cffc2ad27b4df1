"""``govdata keys ...`` and ``govdata destroy ...``: envelope keys and secure destruction.

The CLI acts on the node's own store as the actor ``cli`` (whoever runs it already holds the
store and the key files); ``--as USER`` acts as that platform user instead, which is how a
request and its approval stay with two different people. Every change goes through the
actions and is audited. Jobs (rewrap, destruction) run here with a progress bar unless
``--background`` leaves them to the workers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy import select

from govdata.core.cli_shell import CLI_ACTOR, DataDirOpt, open_store
from govdata.core.clock import local
from govdata.core.db import Database
from govdata.core.errors import GovDataError
from govdata.core.jobs import inline
from govdata.security import destruction
from govdata.security.context import ActionContext, Caller
from govdata.security.context_types import Actor
from govdata.security.crypto import actions as keys
from govdata.security.destruction_schemas import DecisionIn, DestructionIn, DestructionStatus

keys_app = typer.Typer(
    help="密钥管理 Envelope keys: status, rotation, rewrap", no_args_is_help=True
)
destroy_app = typer.Typer(
    help="数据安全销毁 Secure destruction: request, approve, certificate", no_args_is_help=True
)
console = Console()

AsOpt = Annotated[str | None, typer.Option("--as", help="act as this platform user")]
BackgroundOpt = Annotated[bool, typer.Option("--background", help="leave the job to the workers")]


def _actor(db: Database, username: str | None) -> Actor:
    if username is None:
        return CLI_ACTOR
    from govdata.identity import auth
    from govdata.identity.models import User

    with db.transaction() as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is None:
            console.print(f"[red]没有用户 / no user {username}[/red]")
            raise typer.Exit(1)
        return auth.actor_for_user(user)


@contextmanager
def _act(data_dir: Path | None, username: str | None = None) -> Iterator[ActionContext]:
    settings, db = open_store(data_dir)
    try:
        with Caller(db, settings, _actor(db, username)).act() as ctx:
            yield ctx
    except GovDataError as exc:
        console.print(f"[red]{exc.message(settings.default_locale)}[/red] ({exc.code})")
        raise typer.Exit(1) from exc
    finally:
        db.dispose()


def _run_here(data_dir: Path | None, job_id: str, label: str) -> None:
    settings, db = open_store(data_dir)
    try:
        with Progress(
            TextColumn(label), BarColumn(), TextColumn("{task.description}"), console=console
        ) as bar:
            task = bar.add_task("", total=None)

            def on_progress(done: int, total: int | None, message: str | None) -> None:
                bar.update(task, completed=done, total=total, description=message or "")

            status = inline.run_job_here(db, settings, job_id, on_progress=on_progress)
    finally:
        db.dispose()
    if status is None:
        console.print(f"任务已由工作进程执行 / job {job_id} is running on a worker")
    elif status != "succeeded":
        console.print(f"[red]任务 {job_id}：{status}[/red]（govdata jobs show {job_id}）")
        raise typer.Exit(1)


# -- keys -------------------------------------------------------------------------------------


@keys_app.command("status")
def status(data_dir: DataDirOpt = None) -> None:
    """主密钥与封装情况 Master keys and what each wraps (ids only)."""
    with _act(data_dir) as ctx:
        out = keys.key_status(ctx)
    table = Table("master key", "origin", "active", "data keys", "secrets")
    for m in out.master_keys:
        table.add_row(m.id, m.origin, "*" if m.active else "", str(m.data_keys), str(m.secrets))
    console.print(table)
    console.print(
        f"待重新封装 pending rewrap: {out.pending_rewrap}"
        f"（旧格式凭据 legacy secrets: {out.legacy_secrets}）"
    )


@keys_app.command("data-keys")
def data_keys(
    owner: Annotated[str | None, typer.Option(help="e.g. lake:pop.entry_x")] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """数据密钥 Data keys: owner, generation, state, wrapping master key."""
    with _act(data_dir) as ctx:
        rows = keys.list_data_keys(ctx, owner=owner)
    table = Table("owner", "gen", "key id", "state", "master", "created")
    for k in rows:
        table.add_row(
            k.owner,
            str(k.generation),
            k.key_id,
            k.state,
            k.master_key_id or "",
            local(k.created_at),
        )
    console.print(table)


@keys_app.command("rotate-master")
def rotate_master(background: BackgroundOpt = False, data_dir: DataDirOpt = None) -> None:
    """轮换主密钥 Install a new master key and rewrap everything under it (no downtime)."""
    with _act(data_dir) as ctx:
        out = keys.rotate_master_key(ctx)
    console.print(f"主密钥 {out.old_master_key_id} → {out.new_master_key_id}")
    if not background:
        _run_here(data_dir, out.rewrap_job_id, "重新封装 rewrap")
    console.print(
        f"完成后可删除旧主密钥 / when done: govdata keys forget-master {out.old_master_key_id}"
    )


@keys_app.command("rewrap")
def rewrap(background: BackgroundOpt = False, data_dir: DataDirOpt = None) -> None:
    """重新封装 Rewrap what is still under an older master key (after changing the setting)."""
    with _act(data_dir) as ctx:
        out = keys.start_rewrap(ctx)
    console.print(f"待重新封装 pending: {out.pending}（job {out.job_id}）")
    if not background:
        _run_here(data_dir, out.job_id, "重新封装 rewrap")


@keys_app.command("forget-master")
def forget_master(master_key_id: str, data_dir: DataDirOpt = None) -> None:
    """删除旧主密钥 Delete a retired master key file once nothing is wrapped under it."""
    with _act(data_dir) as ctx:
        keys.forget_master_key(ctx, master_key_id)
    console.print(f"[green]已删除主密钥 {master_key_id}[/green]")


@keys_app.command("rotate-table")
def rotate_table(table: str, data_dir: DataDirOpt = None) -> None:
    """轮换湖表数据密钥 A new data key for a lake table; old data stays readable."""
    with _act(data_dir) as ctx:
        out = keys.rotate_table_key(ctx, table)
    console.print(f"{out.owner}: {out.old_key_id} → {out.new_key_id}（第 {out.generation} 代）")


# -- destruction ------------------------------------------------------------------------------


@destroy_app.command("request")
def request(
    entry: Annotated[str, typer.Argument(help="entry id or resource code")],
    reason: Annotated[str, typer.Option(help="why the data must be destroyed")],
    as_user: AsOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """申请销毁 Ask for an entry's collected data to be destroyed."""
    with _act(data_dir, as_user) as ctx:
        out = destruction.request_destruction(ctx, DestructionIn(entry=entry, reason=reason))
    console.print(f"销毁申请 {out.code}（{out.id}）：{out.status_label}；湖表 {out.lake_table}")


@destroy_app.command("list")
def list_cmd(
    status: Annotated[DestructionStatus | None, typer.Option(help="only this status")] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """销毁申请 Destruction requests, newest first."""
    with _act(data_dir) as ctx:
        page = destruction.list_destructions(ctx, status=status, limit=200)
    table = Table("id", "code", "entry", "status", "requested by", "decided by", "files")
    for d in page.items:
        table.add_row(
            d.id,
            d.code,
            f"{d.resource_code} {d.entry_name}",
            d.status_label,
            d.requested_by_name,
            d.decided_by_name or "",
            str(d.file_count),
        )
    console.print(table)


def _decide(
    request_id: str,
    approve: bool,
    note: str | None,
    as_user: str | None,
    background: bool,
    data_dir: Path | None,
) -> None:
    with _act(data_dir, as_user) as ctx:
        out = destruction.decide_destruction(
            ctx, request_id, DecisionIn(approve=approve, note=note)
        )
    console.print(f"销毁申请 {out.code}：{out.status_label}")
    if approve and out.job_id and not background:
        _run_here(data_dir, out.job_id, "销毁 destroying")
        with _act(data_dir) as ctx:
            done = destruction.get_destruction(ctx, request_id)
        console.print(
            f"[green]{done.status_label}[/green]：{done.file_count} 个文件，{done.bytes_removed} "
            f"字节；销毁密钥 {', '.join(done.key_ids) or '—'}；清单 SM3 {done.manifest_sm3}"
        )


@destroy_app.command("approve")
def approve(
    request_id: str,
    note: Annotated[str | None, typer.Option(help="decision note")] = None,
    as_user: AsOpt = None,
    background: BackgroundOpt = False,
    data_dir: DataDirOpt = None,
) -> None:
    """批准销毁 Approve (the security administrator) and carry the destruction out."""
    _decide(request_id, True, note, as_user, background, data_dir)


@destroy_app.command("reject")
def reject(
    request_id: str,
    note: Annotated[str | None, typer.Option(help="why")] = None,
    as_user: AsOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """驳回销毁 Reject a destruction request."""
    _decide(request_id, False, note, as_user, True, data_dir)


@destroy_app.command("certificate")
def certificate(
    request_id: str,
    out: Annotated[Path | None, typer.Option("--out", help="write to this file")] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """销毁证明 The destruction certificate (JSON)."""
    with _act(data_dir) as ctx:
        cert = destruction.certificate(ctx, request_id)
    text = json.dumps(cert, ensure_ascii=False, indent=2)
    if out is None:
        console.print_json(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        console.print(f"已写入 {out}")
