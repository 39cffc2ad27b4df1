"""Portal pages of mounts, pipelines, runs, lake tables, lineage and collection reports."""

from __future__ import annotations

from govdata.web.portal import PortalRouter

router = PortalRouter()

__all__ = ["router"]
