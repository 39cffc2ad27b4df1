"""What every catalog page shares: value labels, field labels, choices, badges."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from govdata.catalog import vocab
from govdata.catalog.actions.versions import FIELD_LABELS
from govdata.core import i18n
from govdata.core.errors import GovDataError
from govdata.web.portal import Page
from govdata.web.templating import N_

PAGE_SIZE = 20
MIN_ENTRY_CLASS_LEVEL = 3

OTHER_FIELD_LABELS: dict[str, tuple[str, str]] = {
    "classification": ("资源分类", "Classification"),
    "classification_code": ("资源分类", "Classification"),
    "provider": ("资源提供方", "Provider"),
    "provider_code": ("资源提供方", "Provider"),
    "items": ("信息项", "Items"),
    "change_note": ("变更说明", "Change note"),
}
ITEM_REF = re.compile(r"^items\[(\d+)\](?:\.(\w+))?$")

STATUS_TONE = {
    "draft": "gray",
    "submitted": "amber",
    "returned": "red",
    "published": "green",
    "withdrawn": "gray",
    "superseded": "gray",
}
SHARE_TONE = {"unconditional": "green", "conditional": "blue", "none": "gray"}

EVENT_LABELS = {
    "create": N_("Entry created"),
    "update": N_("Edited"),
    "submit": N_("Submitted for review"),
    "resubmit": N_("Resubmitted"),
    "return": N_("Returned for correction"),
    "publish": N_("Published"),
    "withdraw": N_("Withdrawn"),
    "new_version": N_("New version opened"),
    # Put on the timeline by a collection run that found new source columns.
    "source_drift": N_("New source columns found"),
}

# Main content fields a reviewer may attach a reason to, in the editor's order.
REVIEW_FIELDS = (
    "name",
    "classification",
    "summary",
    "format",
    "share_type",
    "share_condition",
    "not_shared_basis",
    "share_modes",
    "open_type",
    "open_condition",
    "update_cycle",
    "grade",
    "keywords",
    "related_codes",
    "contact_name",
    "contact_phone",
    "contact_email",
    "items",
)


def refusal(exc: GovDataError) -> bool:
    """Refusals and missing targets get the error page; other errors show in the page."""
    return exc.status in (401, 403, 404)


def field_label(field: str, locale: str) -> str:
    """A content field, ``items[N]`` or ``items[N].field`` as people read it."""
    zh = locale.startswith("zh")
    match = ITEM_REF.match(field)
    if match:
        head = f"信息项 {match.group(1)}" if zh else f"Item {match.group(1)}"
        if match.group(2):
            return f"{head} · {field_label(match.group(2), locale)}"
        return head
    pair = FIELD_LABELS.get(field) or OTHER_FIELD_LABELS.get(field)
    if pair is None:
        return field
    return pair[0] if zh else pair[1]


def choices(kind: str, locale: str) -> list[tuple[str, str]]:
    zh = locale.startswith("zh")
    return [(str(value), pair[0] if zh else pair[1]) for value, pair in vocab.LABELS[kind].items()]


def query(params: dict[str, Any]) -> str:
    """A query string of the non-empty parameters; list values repeat the key."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        values = value if isinstance(value, list | tuple) else [value]
        pairs.extend((key, str(v)) for v in values if v not in (None, ""))
    return urlencode(pairs)


def context(page: Page) -> dict[str, Any]:
    """Template helpers bound to the page's locale."""
    locale = page.locale

    def vl(kind: str, value: object) -> str:
        return vocab.label(kind, value, locale)

    def fl(field: str) -> str:
        return field_label(field, locale)

    def event_label(action: str) -> str:
        message = EVENT_LABELS.get(action)
        return i18n.translations(locale).gettext(message) if message else action

    def pick(kind: str) -> list[tuple[str, str]]:
        return choices(kind, locale)

    return {
        "vl": vl,
        "fl": fl,
        "event_label": event_label,
        "choices": pick,
        "tone": lambda status: STATUS_TONE.get(status or "", "gray"),
        "share_tone": lambda share: SHARE_TONE.get(share or "", "gray"),
    }
