"""Which job kinds exist and which function runs each.

Domains register handlers in their own ``jobs.py`` with ``@job_handler("kind")``
and add that module to ``HANDLER_MODULES``, so every worker process knows
every kind. Extra modules (plugins, tests) come from the
``GOVDATA_JOB_HANDLER_MODULES`` setting.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from govdata.core.jobs.worker import JobRun

Handler = Callable[["JobRun"], "dict[str, Any] | None"]

HANDLER_MODULES = (
    "govdata.core.jobs.handlers",
    "govdata.exchange.jobs",
    "govdata.exchange.report_jobs",
    "govdata.sharing.deadlines",
    "govdata.sharing.jobs",
    "govdata.security.ledger.jobs",
    "govdata.security.crypto.jobs",
    "govdata.security.destruction_jobs",
    "govdata.security.discovery_jobs",
    "govdata.security.anomaly.jobs",
    "govdata.governance.quality_jobs",
    "govdata.governance.ticket_jobs",
    "govdata.governance.baselib_jobs",
    "govdata.governance.crosscheck_jobs",
    "govdata.opendata.jobs",
)

_HANDLERS: dict[str, Handler] = {}


@dataclass(frozen=True)
class StandingSchedule:
    """A schedule every node runs (e.g. the sharing deadline sweep), created when a server or
    worker starts if it is missing; an operator's later changes to it are kept."""

    name: str
    cron: str
    kind: str


_STANDING: dict[str, StandingSchedule] = {}


def standing_schedule(name: str, cron: str, kind: str) -> None:
    _STANDING[name] = StandingSchedule(name, cron, kind)


def standing_schedules() -> list[StandingSchedule]:
    return list(_STANDING.values())


def job_handler(kind: str) -> Callable[[Handler], Handler]:
    """Register ``fn`` as the handler of ``kind``; its return value becomes the job's result."""

    def register(fn: Handler) -> Handler:
        existing = _HANDLERS.get(kind)
        if existing is not None and existing is not fn:
            raise ValueError(f"job kind {kind!r} already has a handler")
        _HANDLERS[kind] = fn
        return fn

    return register


def handler_for(kind: str) -> Handler | None:
    return _HANDLERS.get(kind)


def known_kinds() -> list[str]:
    return sorted(_HANDLERS)


def load_handlers(extra: str = "") -> list[str]:
    """Import the built-in handler modules and the comma-separated ``extra`` ones."""
    names = [*HANDLER_MODULES, *(m.strip() for m in extra.split(",") if m.strip())]
    for name in names:
        importlib.import_module(name)
    return known_kinds()
