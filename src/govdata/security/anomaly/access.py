"""Who sees what of anomaly detection (三员分立).

The security administrator (``security.manage``) sees and disposes of alerts and edits the
rules. The auditor (``audit.read``) sees alerts, their evidence and the rules, and changes
nothing. The platform operator (``security.read``) sees the posture page only: alerts carry
audit-trail evidence, which the system administrator may not read.
"""

from __future__ import annotations

from govdata.security.context import ActionContext
from govdata.security.context_types import Actor
from govdata.security.permissions import Perm


def can_view_alerts(actor: Actor) -> bool:
    return actor.can(Perm.SECURITY_MANAGE) or actor.can(Perm.AUDIT_READ)


def can_view_posture(actor: Actor) -> bool:
    return can_view_alerts(actor) or actor.can(Perm.SECURITY_READ)


def require_alerts_view(ctx: ActionContext) -> None:
    if not ctx.actor.can(Perm.SECURITY_MANAGE):
        ctx.require(Perm.AUDIT_READ)


def require_posture_view(ctx: ActionContext) -> None:
    if not can_view_alerts(ctx.actor):
        ctx.require(Perm.SECURITY_READ)
