"""``govdata demo``: build the Qinghai demo province (once) and serve it."""

from __future__ import annotations

import hmac
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from govdata.config import Settings
from govdata.core.cli_shell import load_settings, open_db
from govdata.core.db import Database
from govdata.core.errors import GovDataError
from govdata.demo import builder
from govdata.demo.opendata_public import PUBLIC_ADDRESS
from govdata.demo.province import logins
from govdata.demo.sources.build import Engine, generators

console = Console()
err_console = Console(stderr=True)


class Size(StrEnum):
    small = "small"
    medium = "medium"
    large = "large"


class SourceEngine(StrEnum):
    sqlite = "sqlite"
    mariadb = "mariadb"


def demo(
    size: Annotated[
        Size, typer.Option(help="Persons in the sources: small ≈10k, medium ≈200k, large ≈2M")
    ] = Size.small,
    sources: Annotated[
        SourceEngine,
        typer.Option(
            help="Where the department source systems live (MariaDB: GOVDATA_DEMO_MARIADB_*)"
        ),
    ] = SourceEngine.sqlite,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Build only; do not serve")] = False,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Throw away an existing demo and build it again")
    ] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Data directory (default: $GOVDATA_DATA_DIR or ./data)"),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    persons: Annotated[int | None, typer.Option(hidden=True, min=1)] = None,
) -> None:
    """构建青海演示省份并启动服务 Build the Qinghai demo province and serve it."""
    # govdata.cli imports this module; import its server once both are loaded.
    from govdata.cli import run_server

    settings = load_settings(data_dir, demo_mode=True)
    engine: Engine = "mariadb" if sources is SourceEngine.mariadb else "sqlite"
    plan = builder.plan(size.value, engine, persons)
    try:
        if rebuild:
            builder.check_password(settings)
            builder.wipe(settings)
        if builder.is_ready(settings.data_dir):
            _report_existing(settings, plan)
        else:
            db = open_db(settings)
            try:
                _build(settings, db, plan)
            finally:
                db.dispose()
    except GovDataError as exc:
        err_console.print(f"[red]{exc.message_zh}[/red] ({exc.code}) {exc.message_en}")
        raise typer.Exit(1) from exc
    except ValidationError as exc:
        for err in exc.errors():
            err_console.print(f"[red]{'.'.join(map(str, err['loc']))}[/red]: {err['msg']}")
        raise typer.Exit(1) from exc
    print_logins(settings)
    if not no_serve:
        console.print(f"演示门户 Demo portal: [bold]http://{host}:{port}/[/bold]")
        console.print(f"公共数据开放平台 Open data portal: [bold]http://{host}:{port}/open[/bold]")
        run_server(settings, host, port)


def _build(settings: Settings, db: Database, plan: builder.DemoPlan) -> None:
    console.print(
        f"构建演示省份 Building the demo: {plan.size} ({plan.persons:,} persons), "
        f"sources in {plan.engine}, into {settings.data_dir.resolve()}"
    )
    names = {g.system.code: g.system.name for g in generators(plan.seed)}
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    started = time.perf_counter()
    with Progress(*columns, console=console) as bar:
        tasks: dict[str, TaskID] = {}

        def stage(name: str) -> None:
            if name == "seed":
                tasks[name] = bar.add_task(
                    "区划、部门、用户 regions, departments, users", total=None
                )
            elif name == "sources":
                bar.update(tasks["seed"], total=1, completed=1)
            elif name == "catalog":
                tasks[name] = bar.add_task("政务数据目录 catalog", total=None)
            elif name == "exchange":
                tasks[name] = bar.add_task("挂载与首次归集 mounts and first loads", total=None)
            elif name == "quality":
                tasks[name] = bar.add_task("质量规则与首次检查 quality rules and runs", total=None)
            elif name == "governance":
                tasks[name] = bar.add_task(
                    "多源校核与基础库 cross-source checks, base libraries", total=None
                )
            elif name == "sharing":
                tasks[name] = bar.add_task("共享申请、授权、订阅 sharing", total=None)
            elif name == "opendata":
                tasks[name] = bar.add_task("开放数据集与使用统计 open data", total=None)

        def catalog_progress(done: int, total: int) -> None:
            bar.update(tasks["catalog"], completed=done, total=total)

        def exchange_progress(done: int, total: int, table: str) -> None:
            bar.update(tasks["exchange"], completed=done, total=total)

        def quality_progress(done: int, total: int, table: str) -> None:
            bar.update(tasks["quality"], completed=done, total=total)

        def governance_progress(done: int, total: int, step: str) -> None:
            bar.update(tasks["governance"], completed=done, total=total)

        def opendata_progress(done: int, total: int, step: str) -> None:
            bar.update(tasks["opendata"], completed=done, total=total)

        def progress(kind: str, name: str, amount: int, total: int | None) -> None:
            if name not in tasks:
                label = "人口 persons" if kind == "persons" else f"{names[name]} {name}"
                tasks[name] = bar.add_task(label, total=total)
            task = tasks[name]
            bar.update(task, advance=amount)
            # Row totals are estimates from the first batch; never show more than 100%.
            if total is not None and bar.tasks[task].completed > total:
                bar.update(task, total=bar.tasks[task].completed)

        seeded, manifest = builder.build(
            settings,
            db,
            plan,
            progress=progress,
            on_stage=stage,
            catalog_progress=catalog_progress,
            exchange_progress=exchange_progress,
            quality_progress=quality_progress,
            governance_progress=governance_progress,
            opendata_progress=opendata_progress,
        )
        for task in tasks.values():
            bar.update(task, total=bar.tasks[task].completed)
    elapsed = time.perf_counter() - started
    marker = builder.read_marker(settings.data_dir) or {}
    entries = marker.get("catalog_entries", 0)
    opened = (marker.get("opendata") or {}).get("open", 0)
    rows = sum(t["rows"] for s in manifest["systems"] for t in s["tables"])
    console.print(
        f"[green]完成 Done[/green] in {elapsed:.1f}s: {seeded.regions} regions, "
        f"{seeded.departments} departments, {seeded.users} users; {manifest['persons']:,} persons, "
        f"{rows:,} source rows in {len(manifest['systems'])} systems ({plan.engine}); "
        f"{entries} catalog entries; {opened} open datasets"
    )
    print_mounts(manifest, marker.get("mounts", []))


def _report_existing(settings: Settings, plan: builder.DemoPlan) -> None:
    marker = builder.read_marker(settings.data_dir) or {}
    console.print(
        f"演示数据已存在 Existing demo in {settings.data_dir.resolve()}: "
        f"size {marker.get('size')}, {marker.get('persons', 0):,} persons, "
        f"sources in {marker.get('sources')}, built {marker.get('built_at')}. "
        "重建请加 --rebuild (to rebuild, add --rebuild)."
    )
    if (marker.get("size"), marker.get("sources")) != (plan.size, plan.engine):
        console.print(
            f"[yellow]注意[/yellow]: requested {plan.size}/{plan.engine} differs from the built "
            "demo; it is kept as it is."
        )
    built_with = str(marker.get("password_fingerprint", "")).encode()
    fingerprint = builder.password_fingerprint(settings.demo_password).encode()
    if not hmac.compare_digest(built_with, fingerprint):
        console.print(
            "[yellow]注意[/yellow]: GOVDATA_DEMO_PASSWORD differs from the one the demo was built "
            "with; the existing users keep the old password."
        )


def print_mounts(manifest: dict[str, Any], mounts: list[dict[str, Any]]) -> None:
    """Which source table feeds which entry, and how: the names to use with SQL and the CLI."""
    where = {s["code"]: s.get("database") or s.get("path", "") for s in manifest.get("systems", [])}
    table = Table(title="挂载 Mounts")
    table.add_column("源表 source table", no_wrap=True)
    table.add_column("方式 mode")
    table.add_column("湖表 lake table", no_wrap=True)
    table.add_column("管道 pipeline")
    for m in mounts:
        table.add_row(
            f"{where.get(m['system'], m['system'])}.{m['table']}",
            "物理汇聚 physical" if m["mode"] == "physical" else "逻辑接入 logical",
            m.get("lake_table") or "—",
            m.get("pipeline") or "—",
        )
    console.print(table)


def print_logins(settings: Settings) -> None:
    table = Table(title="演示账号 Demo logins", show_lines=False)
    table.add_column("用户名 username", style="bold", no_wrap=True, min_width=22)
    table.add_column("角色 role")
    table.add_column("部门 department")
    for login in logins():
        table.add_row(login.username, login.role_label, login.department_short)
    # Signs in on the open-data portal (/open/login), not the government portal; a demo
    # built before the open-data stage existed has no such account.
    if (builder.read_marker(settings.data_dir) or {}).get("opendata"):
        table.add_row(
            PUBLIC_ADDRESS, "开放平台公众用户 public open-data account", "—（/open/login）"
        )
    console.print(table)
    console.print(
        "所有演示账号共用密码 All demo accounts share the password "
        f"[bold]{settings.demo_password}[/bold] (GOVDATA_DEMO_PASSWORD); "
        "演示模式下特权账号无需动态口令 (demo mode: no second factor for privileged roles)."
    )
