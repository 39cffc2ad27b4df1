"""Tickets opened from failed quality rules (filled in by the tickets increment)."""

from __future__ import annotations

from typing import Any

from govdata.security.context import ActionContext


def open_from_run(ctx: ActionContext, run: Any, failed: list[tuple[Any, Any]]) -> None:
    """One ticket per entry and failing rule; see the tickets increment."""
    del ctx, run, failed
