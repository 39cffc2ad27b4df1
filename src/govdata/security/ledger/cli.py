"""``govdata audit ...``: verify the whole ledger, make and check proofs, sign a head now.

Run on the node itself (whoever runs it holds the store and the key file), as the actor
``cli``; proofs made here are audited like those asked for through the API.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from govdata.config import Settings
from govdata.core.cli_shell import CLI_ACTOR, DataDirOpt, open_store
from govdata.core.errors import GovDataError
from govdata.security.context import Caller
from govdata.security.ledger import actions, bundle
from govdata.security.ledger.jobs import seal_pass
from govdata.security.ledger.verify import verify_ledger

audit_app = typer.Typer(help="审计账本 Audit ledger: verify, prove, sign", no_args_is_help=True)
console = Console()


def _zh(settings: Settings) -> bool:
    return not settings.default_locale.startswith("en")


@audit_app.command("verify")
def verify(data_dir: DataDirOpt = None) -> None:
    """Re-check every record against the ledger; exit 1 naming the first bad record."""
    settings, db = open_store(data_dir)
    try:
        with db.transaction() as s:
            report = verify_ledger(s, settings)
        with db.transaction(immediate=True) as s:
            actions.record_verification(s, report)
    finally:
        db.dispose()
    if report.problem is not None:
        p = report.problem
        console.print(f"[red]账本校验失败 FAILED[/red] ({p.kind})")
        console.print(p.message_zh if _zh(settings) else p.message_en)
        if p.record_id:
            console.print(f"first bad record: {p.record_id} (#{p.seq})")
        elif p.seq is not None:
            console.print(f"first bad position: #{p.seq}")
        raise typer.Exit(1)
    console.print("[green]账本完整 ledger intact[/green]")
    console.print(f"tree size: {report.tree_size}")
    console.print(f"root (SM3): {report.root_hash}")
    console.print(
        f"signed heads checked: {report.heads_checked}; queued, not yet sealed: {report.pending}"
    )


@audit_app.command("head")
def head(data_dir: DataDirOpt = None) -> None:
    """Seal what is queued and print the latest signed tree head (signing a new one if due)."""
    settings, db = open_store(data_dir)
    try:
        with Caller(db, settings, CLI_ACTOR).act() as ctx:
            out = actions.tree_head(ctx)
    finally:
        db.dispose()
    console.print_json(out.model_dump_json())


@audit_app.command("prove")
def prove(
    record: Annotated[str | None, typer.Argument(help="Audit record id")] = None,
    tree_size: Annotated[int | None, typer.Option("--tree-size")] = None,
    first: Annotated[int | None, typer.Option("--first", help="Consistency: older size")] = None,
    second: Annotated[int | None, typer.Option("--second", help="Consistency: newer size")] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Print an inclusion proof for RECORD, or a consistency proof for --first/--second."""
    if (record is None) == (first is None or second is None):
        console.print(
            "[red]给出记录 id，或同时给出 --first 与 --second[/red] "
            "(give a record id, or both --first and --second)"
        )
        raise typer.Exit(2)
    settings, db = open_store(data_dir)
    try:
        with Caller(db, settings, CLI_ACTOR).act() as ctx:
            if record is not None:
                out = actions.prove_inclusion(ctx, record, tree_size).model_dump_json()
            else:
                assert first is not None and second is not None
                out = actions.prove_consistency(ctx, first, second).model_dump_json()
    except GovDataError as exc:
        console.print(f"[red]{exc.message(settings.default_locale)}[/red] ({exc.code})")
        raise typer.Exit(1) from exc
    finally:
        db.dispose()
    typer.echo(out)


@audit_app.command("check")
def check(
    proof: Annotated[Path, typer.Argument(help="A proof JSON file (from prove or an export)")],
) -> None:
    """Check a proof document offline: leaf content, audit path, signed head."""
    doc = json.loads(proof.read_text(encoding="utf-8"))
    # An export's bundle names its signed head once for all its proofs.
    docs = (
        [{"tree_head": doc.get("tree_head"), **p} for p in doc["proofs"]]
        if "proofs" in doc
        else [doc]
    )
    bad = 0
    for d in docs:
        problems = bundle.check_consistency(d) if "first_root" in d else bundle.check_inclusion(d)
        if problems:
            bad += 1
            console.print(
                f"[red]✗[/red] {d.get('record_id', d.get('first'))}: {'; '.join(problems)}"
            )
    if bad:
        raise typer.Exit(1)
    console.print(f"[green]✓ {len(docs)} 个证明有效 proofs hold[/green]")


@audit_app.command("seal")
def seal(data_dir: DataDirOpt = None) -> None:
    """Seal queued audit records now (the server does it every few seconds)."""
    settings, db = open_store(data_dir)
    try:
        n = seal_pass(db, settings)
    finally:
        db.dispose()
    console.print(f"sealed {n}")
