"""What the exchange pages share: vocabulary labels, badge tones, refusals, scopes."""

from __future__ import annotations

from typing import Any

from govdata.core.errors import GovDataError
from govdata.exchange import vocab
from govdata.identity import queries as org
from govdata.security.permissions import Perm, Scope
from govdata.web.portal import Page

PAGE_SIZE = 25
PREVIEW_ROWS = 20
# How often the live progress of a running pipeline asks for fresh figures.
POLL_SECONDS = 1
ACTIVE = ("queued", "running")

RUN_TONE = {
    "queued": "gray",
    "running": "blue",
    "succeeded": "green",
    "failed": "red",
    "cancelled": "gray",
}
STATE_TONE = {"active": "green", "paused": "amber"}

_LABELS: dict[str, dict[Any, tuple[str, str]]] = {
    "mode": dict(vocab.MODE_LABELS),
    "target": dict(vocab.TARGET_LABELS),
    "pipeline": dict(vocab.PIPELINE_LABELS),
    "state": dict(vocab.STATE_LABELS),
    "run": dict(vocab.RUN_LABELS),
}


def refusal(exc: GovDataError) -> bool:
    """Refusals and missing targets get the error page; other errors show in the page."""
    return exc.status in (401, 403, 404)


def label(kind: str, value: Any, locale: str) -> str:
    pair = _LABELS[kind].get(str(value)) if value is not None else None
    if pair is None:
        return "—" if value is None else str(value)
    return pair[1] if locale == "en" else pair[0]


def choices(kind: str, locale: str) -> list[tuple[str, str]]:
    return [(str(k), v[1] if locale == "en" else v[0]) for k, v in _LABELS[kind].items()]


def department_can(page: Page, perm: Perm, department_id: str) -> bool:
    """Whether the actor holds ``perm`` over a department (its region path looked up)."""
    with page.act() as ctx:
        dept = org.department_by_id(ctx.session, department_id)
    if dept is None:
        return False
    return page.actor.can(perm, Scope(dept.region_path, dept.id))


def fmt_bytes(n: int | None) -> str:
    if n is None:
        return "—"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def context(page: Page) -> dict[str, Any]:
    locale = page.locale
    return {
        "xl": lambda kind, value: label(kind, value, locale),
        "xchoices": lambda kind: choices(kind, locale),
        "run_tone": lambda status: RUN_TONE.get(str(status), "gray"),
        "state_tone": lambda state: STATE_TONE.get(str(state), "gray"),
        "fmt_bytes": fmt_bytes,
        "active_runs": ACTIVE,
        "poll_seconds": POLL_SECONDS,
        "locale": locale,
    }
