"""Portal pages of source systems (templates under ``web/templates/sources``)."""

from __future__ import annotations

from govdata.web.portal import PortalRouter

router = PortalRouter()
