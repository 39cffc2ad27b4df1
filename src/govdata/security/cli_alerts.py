"""``govdata alerts ...``: run the detection scan now, list alerts, show the rules.

The CLI acts on the node's own store as the actor ``cli`` (whoever runs it already holds
the store); the scan and every change are audited.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from govdata.core.cli_shell import CLI_ACTOR, DataDirOpt, fail, open_store
from govdata.core.clock import local
from govdata.core.errors import GovDataError
from govdata.security.anomaly import alerts, detect, rule_settings
from govdata.security.anomaly.vocab import Severity
from govdata.security.context import Caller

alerts_app = typer.Typer(
    help="安全告警 Security alerts: anomaly detection scan, alerts, rules", no_args_is_help=True
)
console = Console()


@alerts_app.command("scan")
def scan(data_dir: DataDirOpt = None) -> None:
    """Scan the audit records written since the last scan now (the server does it every
    minute); prints what it read and raised."""
    settings, db = open_store(data_dir)
    try:
        result = detect.scan_now(Caller(db, settings, CLI_ACTOR))
    finally:
        db.dispose()
    until = local(result.scanned_until) if result.scanned_until else "—"
    console.print(
        f"records={result.records} raised={result.raised} repeated={result.repeated}"
        f" scanned_until={until}"
    )


@alerts_app.command("list")
def list_alerts(
    status: Annotated[
        str, typer.Option(help="active, open, assigned, disposing, closed, false_positive, all")
    ] = "active",
    severity: Annotated[Severity | None, typer.Option(help="only this severity")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    data_dir: DataDirOpt = None,
) -> None:
    """安全告警 Alerts, newest first (active ones by default)."""
    settings, db = open_store(data_dir)
    try:
        with Caller(db, settings, CLI_ACTOR).act() as ctx:
            page = alerts.list_alerts(
                ctx,
                status=None if status == "all" else status,
                severity=severity,
                limit=limit,
            )
    except GovDataError as exc:
        raise fail(exc, settings) from exc
    finally:
        db.dispose()
    table = Table("code", "rule", "severity", "subject", "observed", "threshold", "seen", "status")
    for a in page.items:
        table.add_row(
            a.code,
            a.rule_label,
            a.severity_label,
            a.subject_name,
            f"{a.observed:g}",
            f"{a.threshold:g}",
            f"{a.occurrences}× {local(a.last_event_at)}",
            a.status_label,
        )
    console.print(table)
    console.print(f"{page.total}")


@alerts_app.command("rules")
def list_rules(data_dir: DataDirOpt = None) -> None:
    """告警规则 The alert rules with their current settings."""
    settings, db = open_store(data_dir)
    try:
        with Caller(db, settings, CLI_ACTOR).act() as ctx:
            rules = rule_settings.list_rules(ctx)
    finally:
        db.dispose()
    table = Table("code", "rule", "enabled", "severity", "settings")
    for r in rules:
        settings_text = " ".join(f"{k}={v}" for k, v in r.params.items())
        table.add_row(
            r.code, r.label, "yes" if r.enabled else "no", r.severity_label, settings_text
        )
    console.print(table)
