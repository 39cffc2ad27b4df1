"""What the sharing pages share: labels and badge tones, scopes of the two sides, refusals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from pydantic import ValidationError

from govdata.catalog import vocab as catalog_vocab
from govdata.core import i18n
from govdata.core.errors import GovDataError, InvalidInput
from govdata.governance.vocab import status_label as ticket_status_label
from govdata.security.permissions import Perm, Scope
from govdata.sharing import vocab
from govdata.sharing.common import department_scope
from govdata.web.portal import Page
from govdata.web.templating import N_

PAGE_SIZE = 25

APPLICATION_TONE = {
    "pending": "amber",
    "approved": "green",
    "rejected": "red",
    "contested": "blue",
    "withdrawn": "gray",
}
STEP_TONE = {
    "waiting": "gray",
    "pending": "amber",
    "approved": "green",
    "rejected": "red",
    "cancelled": "gray",
}
GRANT_TONE = {"active": "green", "revoked": "red", "expired": "gray"}
DEMAND_TONE = {
    "open": "amber",
    "routed": "blue",
    "answered": "blue",
    "fulfilled": "green",
    "closed": "gray",
}
TICKET_TONE = {"open": "amber", "rectifying": "blue", "disputed": "red", "closed": "gray"}
TONES = {
    "application": APPLICATION_TONE,
    "step": STEP_TONE,
    "grant": GRANT_TONE,
    "demand": DEMAND_TONE,
    "ticket": TICKET_TONE,
}

# How a ticket's timeline names what happened (governance.tickets writes these actions).
TICKET_EVENTS = {
    "open": N_("Reported"),
    "accept": N_("Accepted for rectification"),
    "dispute": N_("Disputed"),
    "close": N_("Closed"),
}

MASK_LABELS = {
    "resident_id": N_("Resident ID mask"),
    "phone": N_("Phone number mask"),
    "name": N_("Name mask"),
    "address": N_("Address mask"),
    "bank_card": N_("Bank card mask"),
    "email": N_("E-mail mask"),
    "generic": N_("Partial mask"),
    "clear": N_("Unmasked"),
}


def refusal(exc: GovDataError) -> bool:
    """Refusals and missing targets get the error page; other errors show in the page."""
    return exc.status in (401, 403, 404)


def failure(exc: GovDataError | ValidationError) -> GovDataError:
    """A schema error raised outside ``parse`` (an action's own input model) as a message."""
    if isinstance(exc, GovDataError):
        return exc
    return InvalidInput(
        "输入内容过长或格式不正确",
        "The input is too long or malformed",
        code="invalid_input",
        details={"errors": exc.errors(include_url=False, include_context=False)},
    )


def scopes(page: Page, *department_ids: str) -> list[Scope]:
    """The scopes of departments, to ask what the actor may do on either side of a record."""
    with page.act() as ctx:
        return [department_scope(ctx.session, d) for d in department_ids]


def done_notice(page: Page, notices: dict[str, str]) -> str | None:
    """The notice of ``?done=`` on the page a form redirected to.

    The flash keys of ``web.portal`` belong to the portal shell; each sharing page names
    its own outcomes here instead.
    """
    message = notices.get(page.request.query_params.get("done", ""))
    return i18n.translations(page.locale).gettext(message) if message else None


def is_htmx(request: Request) -> bool:
    return bool(request.headers.get("HX-Request"))


def values_of(page: Page, *names: str) -> dict[str, str]:
    """What was typed into single-value fields, to show again next to an error."""
    return {name: page.field(name) for name in names}


def context(page: Page) -> dict[str, Any]:
    """Template helpers bound to the page's locale."""
    locale = page.locale

    def sl(group: str, value: object) -> str:
        return vocab.label(group, str(value), locale)

    def cl(kind: str, value: object) -> str:
        return catalog_vocab.label(kind, value, locale)

    def tone(kind: str) -> Callable[[object], str]:
        return lambda value: TONES[kind].get(str(value), "gray")

    return {
        "sl": sl,
        "cl": cl,
        "app_tone": tone("application"),
        "step_tone": tone("step"),
        "grant_tone": tone("grant"),
        "demand_tone": tone("demand"),
        "ticket_tone": tone("ticket"),
        "ticket_status": lambda value: ticket_status_label(str(value), locale),
        "ticket_event": lambda action: TICKET_EVENTS.get(action, action),
        "mask_label": lambda kind: MASK_LABELS.get(kind, kind),
        "locale": locale,
        "Perm": Perm,
    }


def side_tabs(page: Page, side: str, mine: str, incoming: str) -> tuple[list[str], str]:
    """The list tabs the viewer has (its own side if it applies, the incoming side if it
    decides, and all it sees) and the one chosen (the first when ``side`` is not one)."""
    sides = (
        ([mine] if page.can(Perm.SHARING_APPLY) else [])
        + ([incoming] if page.can(Perm.SHARING_DECIDE) else [])
        + ["all"]
    )
    return sides, side if side in sides else sides[0]


def list_query(**params: str) -> str:
    """The query string that keeps a list's tab and filters across its pages."""
    return urlencode({k: v for k, v in params.items() if v})
