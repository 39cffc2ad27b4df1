"""Portal pages of mounts, pipelines, runs, lake tables, lineage and collection reports.

``mounts``: list, "mount data" with its mapping editor, one mount; ``pipelines``: list,
new, one pipeline with its live run, runs; ``lake``: lake tables; ``lineage``: an entry's
flow; ``report``: the collection report and its export.
"""

from __future__ import annotations

from govdata.exchange.pages import lake, lineage, mounts, pipelines, report
from govdata.web.portal import PortalRouter

router = PortalRouter()
for module in (mounts, pipelines, lake, lineage, report):
    router.include_router(module.router)

__all__ = ["router"]
