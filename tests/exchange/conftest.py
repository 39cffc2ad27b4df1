"""Exchange fixtures: the catalog's test organisation (officers, operator, reviewers)."""

from __future__ import annotations

from tests.catalog.conftest import org, settings

__all__ = ["org", "settings"]
