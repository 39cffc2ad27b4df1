"""Placeholder until the identity work lands: nobody authenticates."""

from __future__ import annotations

from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.errors import NotAuthenticated
from govdata.security.context_types import Actor


def actor_from_bearer(db: Database, settings: Settings, token: str) -> Actor:
    raise NotAuthenticated()


def actor_from_session(db: Database, settings: Settings, token: str) -> Actor | None:
    return None
