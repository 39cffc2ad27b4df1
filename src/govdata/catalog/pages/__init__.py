"""Portal pages of the catalog (templates under ``web/templates/catalog``).

``browse``: home, search, export; ``work``: my department, review queue, import;
``editor``: new and edit; ``admin``: the operator's classification tree and search
synonyms; ``entry``: detail, versions, diff and the workflow
buttons. The entry module goes last: its detail route takes the rest of the path.
"""

from __future__ import annotations

from govdata.catalog.pages import admin, browse, editor, entry, work
from govdata.web.portal import PortalRouter

router = PortalRouter()
for module in (browse, work, editor, admin, entry):
    router.include_router(module.router)

__all__ = ["router"]
