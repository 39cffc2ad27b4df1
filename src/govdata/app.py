"""create_app(settings): the web process — API under /api/v1, the portal, health probes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from govdata import __version__
from govdata.catalog import api as catalog_api
from govdata.catalog import api_search as catalog_search_api
from govdata.catalog import api_transfer as catalog_transfer_api
from govdata.catalog import pages as catalog_pages
from govdata.catalog.standards import api as standards_api
from govdata.catalog.standards import pages as standards_pages
from govdata.config import Settings
from govdata.core import logredact
from govdata.core.db import Database
from govdata.core.jobs import api as jobs_api
from govdata.core.jobs import pages as jobs_pages
from govdata.core.jobs.embedded import EmbeddedWorker
from govdata.core.jobs.registry import load_handlers
from govdata.core.jobs.schedules import ensure_standing
from govdata.exchange import api as exchange_api
from govdata.exchange import pages as exchange_pages
from govdata.governance import (
    baselib_api,
    crosscheck_api,
    lineage_api,
    pages_baselib,
    pages_crosscheck,
    pages_lineage,
    pages_quality,
    pages_tickets,
    quality_api,
    tickets_api,
)
from govdata.identity import api as identity_api
from govdata.identity import pages as identity_pages
from govdata.lake import api as lake_api
from govdata.notifications import api as notifications_api
from govdata.notifications import pages as notifications_pages
from govdata.opendata import (
    account_api,
    ckan_api,
    dcat_api,
    pages_account,
    pages_files,
    pages_manage,
    pages_public,
    pages_showcase,
    pages_stats,
    reuse_api,
)
from govdata.opendata import api as opendata_api
from govdata.security import api as security_api
from govdata.security import (
    api_alerts,
    api_classification,
    api_keys,
    pages_alerts,
    pages_audit,
    pages_classification,
    pages_destruction,
)
from govdata.security.ledger import api as ledger_api
from govdata.security.ledger.jobs import Sealer
from govdata.sharing import api as sharing_api
from govdata.sharing import api_data as data_api
from govdata.sharing import pages as sharing_pages
from govdata.sources import api as sources_api
from govdata.sources import pages as sources_pages
from govdata.web import errors, health, middleware
from govdata.web import pages as web_pages

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parent / "web" / "static"


def create_app(settings: Settings | None = None, *, migrate: bool = True) -> FastAPI:
    settings = settings or Settings()
    logredact.install()
    db = Database(settings.db_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            db.migrate()
            # The platform's own schedules, on a store this process has just made ready.
            load_handlers(settings.job_handler_modules)
            ensure_standing(db)
        worker = EmbeddedWorker(db, settings) if settings.embedded_worker else None
        if worker:
            worker.start()
        sealer = Sealer(db, settings) if settings.ledger_seal_seconds > 0 else None
        if sealer:
            sealer.start()
        try:
            yield
        finally:
            if sealer:
                sealer.stop()
            if worker:
                worker.stop()
            db.dispose()

    app = FastAPI(
        title="GovData API",
        version=__version__,
        description="一体化政务大数据平台 API",
        lifespan=lifespan,
        docs_url="/api/docs",
        openapi_url="/api/v1/openapi.json",
    )
    app.state.settings = settings
    app.state.db = db
    errors.install(app)
    middleware.install(app, settings)

    app.include_router(health.router)
    for api in (
        identity_api,
        jobs_api,
        security_api,
        ledger_api,
        api_alerts,
        api_classification,
        api_keys,
        catalog_api,
        catalog_search_api,
        catalog_transfer_api,
        standards_api,
        notifications_api,
        sources_api,
        exchange_api,
        lake_api,
        sharing_api,
        data_api,
        quality_api,
        tickets_api,
        crosscheck_api,
        baselib_api,
        lineage_api,
        opendata_api,
        account_api,
        reuse_api,
    ):
        app.include_router(api.router, prefix="/api/v1")
    # The CKAN-compatible Action API (/api/3/action/…, /api/action/…) and the DCAT-AP
    # export (/catalog.ttl, /dataset/{id}.ttl, …) live where existing tools look for them.
    app.include_router(ckan_api.router)
    app.include_router(dcat_api.router)
    for pages in (
        web_pages,
        identity_pages,
        jobs_pages,
        catalog_pages,
        standards_pages,
        notifications_pages,
        sources_pages,
        exchange_pages,
        sharing_pages,
        pages_alerts,
        pages_classification,
        pages_audit,
        pages_destruction,
        pages_quality,
        pages_tickets,
        pages_crosscheck,
        pages_baselib,
        pages_lineage,
        pages_public,
        pages_files,
        pages_manage,
        pages_account,
        pages_showcase,
        pages_stats,
    ):
        app.include_router(pages.router, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")
    return app
