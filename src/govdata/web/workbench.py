"""What the workbench (工作台) shows each role: counts, charts, shortcuts, and a panel per duty.

Every figure comes from the domains' actions, asked only when the actor holds
the permission (asking without it would be refused and audited as a denial).
The auditor's panel lists the audit trail through the security layer's action.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from govdata.core.clock import now
from govdata.core.jobs import actions as job_actions
from govdata.identity import actions as identity_actions
from govdata.security import actions as security_actions
from govdata.security.audit import DENIED
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm, Role, Scope
from govdata.security.schemas import AuditFilter
from govdata.web.portal import Page
from govdata.web.templating import N_, role_label

RECENT_AUDIT_ROWS = 8


@dataclass(frozen=True)
class Stat:
    label: str
    value: int
    icon: str
    href: str | None = None
    tone: str = ""


@dataclass(frozen=True)
class Shortcut:
    label: str
    href: str
    icon: str


def audit_summary(ctx: ActionContext) -> dict[str, Any]:
    """The auditor's view through the security layer's own (itself audited) listing."""
    latest = security_actions.list_audit_records(ctx, AuditFilter(), limit=RECENT_AUDIT_ROWS)
    denied = security_actions.list_audit_records(
        ctx, AuditFilter(outcome=DENIED, since=now() - timedelta(hours=24)), limit=1
    )
    return {"total": latest.total, "denied": denied.total, "recent": latest.items}


def _org_panel(ctx: ActionContext, page: Page) -> tuple[list[Stat], dict[str, Any] | None]:
    actor = page.actor
    stats: list[Stat] = []
    chart = None
    regions = identity_actions.list_regions(ctx, tree=True) if actor.can(Perm.REGION_READ) else []
    if actor.can(Perm.REGION_READ):
        stats.append(Stat(N_("Region count"), _count_nodes(regions), "map", "/admin/regions"))
    departments = identity_actions.list_departments(ctx, limit=1)
    stats.append(Stat(N_("Department count"), departments.total, "building", "/admin/departments"))
    if actor.can(Perm.USER_READ):
        users = identity_actions.list_users(ctx, limit=1)
        stats.append(Stat(N_("User count"), users.total, "users", "/admin/users", "tone-green"))
    if actor.can(Perm.JOB_READ):
        running = job_actions.list_jobs(ctx, status="running", limit=1)
        stats.append(Stat(N_("Running jobs"), running.total, "activity", "/jobs", "tone-amber"))
    # Departments per prefecture: the second level below each province the actor sees.
    prefectures = [child for root in regions for child in root.children]
    if prefectures:
        counts = [
            identity_actions.list_departments(ctx, region_code=p.code, limit=1).total
            for p in prefectures
        ]
        chart = {"labels": [p.name for p in prefectures], "values": counts}
    return stats, chart


def _count_nodes(nodes: list[Any]) -> int:
    return sum(1 + _count_nodes(n.children) for n in nodes)


def _users_per_role(ctx: ActionContext) -> dict[str, Any]:
    labels, values = [], []
    for role in Role:
        total = identity_actions.list_users(ctx, role=role, limit=1).total
        if total:
            labels.append(role_label(role))
            values.append(total)
    return {"labels": labels, "values": values}


def workbench_context(page: Page) -> dict[str, Any]:
    actor = page.actor
    context: dict[str, Any] = {
        "stats": [],
        "shortcuts": [],
        "dept_chart": None,
        "role_chart": None,
        "department": None,
        "audit": None,
        "security": None,
    }
    me = page.me
    assert me is not None
    context["me"] = me
    with page.act() as ctx:
        if actor.can(Perm.DEPARTMENT_MANAGE) or actor.can(Perm.USER_MANAGE):
            context["stats"], context["dept_chart"] = _org_panel(ctx, page)
            if actor.can(Perm.USER_READ):
                context["role_chart"] = _users_per_role(ctx)
        if me.department is not None and actor.can(Perm.DEPARTMENT_READ):
            context["department"] = _department_panel(ctx, page, me.department.id)
        if actor.can(Perm.AUDIT_READ, Scope()):
            context["audit"] = audit_summary(ctx)
    if actor.can(Perm.SECURITY_MANAGE):
        settings = page.caller.settings
        context["security"] = {
            "idle_minutes": settings.session_idle_minutes,
            "max_failures": settings.login_max_failures,
            "lockout_minutes": settings.login_lockout_minutes,
            "password_min_length": settings.password_min_length,
            "totp_required": not settings.demo_mode,
            "cookie_secure": settings.cookie_secure,
        }
    context["shortcuts"] = _shortcuts(page)
    return context


def _department_panel(ctx: ActionContext, page: Page, department_id: str) -> dict[str, Any]:
    actor = page.actor
    panel: dict[str, Any] = {
        "department": identity_actions.get_department(ctx, department_id),
        "users": None,
        "credentials": None,
    }
    if actor.can(Perm.USER_READ):
        panel["users"] = identity_actions.list_users(
            ctx, department_id=department_id, limit=1
        ).total
    if actor.can(Perm.CREDENTIAL_READ):
        panel["credentials"] = identity_actions.list_credentials(
            ctx, department_id=department_id, limit=1
        ).total
    return panel


def _shortcuts(page: Page) -> list[Shortcut]:
    actor = page.actor
    items = []
    if actor.can(Perm.DEPARTMENT_MANAGE):
        items.append(
            Shortcut(N_("Register a department"), "/admin/departments#new-department", "building")
        )
    if actor.can(Perm.USER_MANAGE):
        items.append(Shortcut(N_("Create a user"), "/admin/users#new-user", "users"))
    if actor.can(Perm.CREDENTIAL_MANAGE):
        items.append(
            Shortcut(N_("Issue an app credential"), "/admin/credentials#new-credential", "key")
        )
    if actor.can(Perm.JOB_READ):
        items.append(Shortcut(N_("Watch jobs"), "/jobs", "activity"))
    if actor.can(Perm.USER_READ):
        items.append(Shortcut(N_("Role definitions"), "/roles", "shield"))
    items.append(Shortcut(N_("My account"), "/me", "user"))
    return items
