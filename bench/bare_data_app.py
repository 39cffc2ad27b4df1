"""The bare endpoint ``bench/data_api.py`` measures the data-service API against.

A FastAPI app with one route, ``GET /bare/{class_code}/{sequence}/records/{key}``, that makes
the very store read the data-service API's key lookup makes — the same mount, the same
``govdata.exchange.logical.fetch`` call (every granted field, the key filter, a limit of 2 in
key order, in a metadata-store session) — and returns the row as ``logical.rows_out`` shapes
it. Nothing else: no token, no grant check, no rate count, no masking, no audit, no
middleware. The mounts are loaded once, at start.

Run by uvicorn with the node's ``GOVDATA_*`` settings in the environment and
``BENCH_DATA_API_MOUNTS`` = ``{"<resource code>": "<mount id>", ...}``:

    uvicorn --app-dir bench bare_data_app:create_app --factory
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException

from govdata.config import Settings
from govdata.core.db import Database
from govdata.exchange import logical
from govdata.exchange.models import Mount

MOUNTS_ENV = "BENCH_DATA_API_MOUNTS"


def create_app() -> FastAPI:
    settings = Settings()
    db = Database(settings.db_url)
    mounts: dict[str, Mount] = {}
    with db.transaction() as s:
        for code, mount_id in json.loads(os.environ[MOUNTS_ENV]).items():
            mount = s.get(Mount, mount_id)
            if mount is None:
                raise SystemExit(f"no mount {mount_id}")
            s.expunge(mount)
            mounts[code] = mount

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        db.dispose()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/bare/{class_code}/{sequence}/records/{key}")
    def lookup(class_code: str, sequence: str, key: str) -> dict[str, Any]:
        mount = mounts.get(f"{class_code}/{sequence}")
        if mount is None:
            raise HTTPException(404)
        key_field = (mount.key_columns or [])[0]
        with db.sessions() as s:
            table = logical.fetch(
                s,
                settings,
                mount,
                fields=[c["field"] for c in mount.columns],
                filters=[(key_field, "=", key)],
                limit=min(2, mount.row_cap),
                order_by=[key_field],
            )
        return logical.rows_out(table.slice(0, 1)).model_dump()

    return app
