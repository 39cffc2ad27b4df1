"""Stub: filled in by its owner."""

from __future__ import annotations

from govdata.web.portal import PortalRouter

router = PortalRouter()
