"""How a governance job whose work failed outside the store ends: its row (a library build,
a duplicate check, a cross-source run) is marked ``failed`` with the reason and the failure
audited by the system, in one transaction; the job then fails for good (start a new one)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from govdata.config import Settings
from govdata.core.clock import now
from govdata.core.db import Database
from govdata.core.errors import GovDataError
from govdata.core.jobs.worker import JobFailed
from govdata.security.audit import FAILURE, write_audit
from govdata.security.context_types import SYSTEM


def fail_row(
    db: Database,
    settings: Settings,
    model: type[Any],
    row_id: str,
    exc: Exception,
    *,
    action: str,
    target: Callable[[Any], tuple[str, str]],
    details: Callable[[Any], dict[str, Any]],
) -> JobFailed:
    """Record ``exc`` on the row and return the ``JobFailed`` to raise. ``target`` gives the
    audit record's (target type, target id) of the row, ``details`` its details."""
    message = exc.message(settings.default_locale) if isinstance(exc, GovDataError) else str(exc)
    with db.transaction(immediate=True) as s:
        row = s.get(model, row_id)
        assert row is not None
        row.status = "failed"
        row.finished_at = now()
        row.error = message[:2000]
        target_type, target_id = target(row)
        write_audit(
            s,
            SYSTEM,
            action,
            target_type=target_type,
            target_id=target_id,
            outcome=FAILURE,
            details={**details(row), "error": row.error},
        )
    return JobFailed(message)
