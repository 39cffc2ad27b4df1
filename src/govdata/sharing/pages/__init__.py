"""Portal pages of sharing: applications and review queues, grants with the data API's
documentation and try-it box, subscriptions, demands, objections, and the operator's sharing
rules."""

from __future__ import annotations

from govdata.sharing.pages import (
    applications,
    demands,
    grants,
    objections,
    policy,
    subscriptions,
)
from govdata.web.portal import PortalRouter

router = PortalRouter()
for module in (applications, grants, subscriptions, demands, objections, policy):
    router.include_router(module.router)

__all__ = ["router"]
