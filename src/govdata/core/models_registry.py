"""Imports every domain's tables so the metadata (and Alembic) sees the whole schema."""

from __future__ import annotations

import importlib

MODEL_MODULES = (
    "govdata.security.models",
    "govdata.security.ledger.models",
    "govdata.identity.models",
    "govdata.core.jobs.models",
    "govdata.catalog.models",
    "govdata.notifications.models",
    "govdata.sources.models",
    "govdata.exchange.models",
    "govdata.core.sequences",
    "govdata.sharing.models",
    "govdata.governance.models",
    "govdata.governance.quality_models",
    "govdata.governance.crosscheck_models",
    "govdata.governance.baselib_models",
    "govdata.opendata.models",
    "govdata.opendata.account_models",
    "govdata.opendata.reuse_models",
    "govdata.security.crypto.models",
    "govdata.security.destruction_models",
    "govdata.security.classification_models",
    "govdata.security.anomaly.models",
)


def import_all_models() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)
