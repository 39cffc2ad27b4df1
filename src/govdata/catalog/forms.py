"""The entry editor's form: posted fields ↔ ``EntryContent``, and validation errors by field.

Items travel as indexed fields (``items-0-name``, ``items-0-data_type``, ...).
Indices may have gaps after rows were removed in the browser; rows keep their
order and wholly blank rows are dropped. Error keys follow the review reasons'
convention: ``name``, ``items[2].length`` (items counted from 1), so one lookup
shows a validation error or a reviewer's reason next to the same input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from govdata.catalog.schemas import VersionOut
from govdata.core import i18n
from govdata.core.errors import InvalidInput
from govdata.web.templating import N_

M = TypeVar("M", bound=BaseModel)

TEXT_FIELDS = (
    "name",
    "summary",
    "format",
    "share_type",
    "share_condition",
    "not_shared_basis",
    "open_type",
    "open_condition",
    "update_cycle",
    "publish_date",
    "grade",
    "contact_name",
    "contact_phone",
    "contact_email",
)
# Optional text that is stored as null when left empty.
NULLABLE = frozenset(
    {
        "share_condition",
        "not_shared_basis",
        "open_condition",
        "publish_date",
        "contact_name",
        "contact_phone",
        "contact_email",
    }
)
ITEM_FIELDS = (
    "name",
    "name_en",
    "data_type",
    "length",
    "is_key",
    "is_sensitive",
    "grade",
    "share_type",
    "data_element",
    "description",
)
ITEM_FLAGS = ("is_key", "is_sensitive")
# A row with none of these filled is an unused row of the grid, not an item.
ITEM_CONTENT = ("name", "name_en", "length", "data_element", "description")
ITEM_KEY = re.compile(r"^items-(\d+)-(\w+)$")
LIST_SPLIT = re.compile(r"[\s,，、;；]+")

# Readable messages for pydantic's error types; the rest fall back to a generic one.
ERROR_MESSAGES = {
    "missing": N_("Required."),
    "string_too_short": N_("Required."),
    "string_too_long": N_("At most %(n)s characters."),
    "too_long": N_("Too many values (at most %(n)s)."),
    "int_parsing": N_("Enter a whole number."),
    "int_type": N_("Enter a whole number."),
    "greater_than_equal": N_("Must be at least %(n)s."),
    "less_than_equal": N_("Must be at most %(n)s."),
    "enum": N_("Choose one of the listed values."),
    "literal_error": N_("Choose one of the listed values."),
    "date_from_datetime_parsing": N_("Enter a date such as 2025-06-30."),
    "date_parsing": N_("Enter a date such as 2025-06-30."),
    "date_type": N_("Enter a date such as 2025-06-30."),
}
ERROR_LIMIT = {
    "string_too_long": "max_length",
    "too_long": "max_length",
    "greater_than_equal": "ge",
    "less_than_equal": "le",
}


@dataclass
class EntryForm:
    """What the editor shows: every value as the user typed it."""

    values: dict[str, str] = field(default_factory=dict)
    share_modes: list[str] = field(default_factory=list)
    related_codes: str = ""
    keywords: str = ""
    items: list[dict[str, Any]] = field(default_factory=list)
    classification_code: str = ""
    provider_code: str = ""
    change_note: str = ""

    def get(self, name: str) -> str:
        return self.values.get(name, "")


def blank_item() -> dict[str, Any]:
    return {
        "name": "",
        "name_en": "",
        "data_type": "string",
        "length": "",
        "is_key": False,
        "is_sensitive": False,
        "grade": "1",
        "share_type": "",
        "data_element": "",
        "description": "",
    }


def blank_form() -> EntryForm:
    values = dict.fromkeys(TEXT_FIELDS, "")
    values.update(grade="1", format="database", update_cycle="", share_type="", open_type="")
    return EntryForm(values=values, items=[blank_item()])


def _text(value: object) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def form_from_version(version: VersionOut, classification_code: str) -> EntryForm:
    """The editor prefilled with a stored version."""
    values = {name: _text(getattr(version, name)) for name in TEXT_FIELDS}
    items = [
        {
            name: getattr(item, name) if name in ITEM_FLAGS else _text(getattr(item, name))
            for name in ITEM_FIELDS
        }
        for item in version.items
    ]
    # An item that shares exactly like its entry was left on "same as the entry".
    for row in items:
        if row["share_type"] == version.share_type:
            row["share_type"] = ""
    return EntryForm(
        values=values,
        share_modes=list(version.share_modes),
        related_codes="\n".join(version.related_codes),
        keywords="、".join(version.keywords),
        items=items or [blank_item()],
        classification_code=classification_code,
        change_note=version.change_note or "",
    )


def _str(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def form_from_post(form: FormData) -> EntryForm:
    """The editor's state from a posted form, rows in their on-screen order."""
    rows: dict[int, dict[str, Any]] = {}
    for key in form:
        match = ITEM_KEY.match(key)
        if match and match.group(2) in ITEM_FIELDS:
            rows.setdefault(int(match.group(1)), {})
    items = []
    for index in sorted(rows):
        row: dict[str, Any] = {name: _str(form, f"items-{index}-{name}") for name in ITEM_FIELDS}
        for flag in ITEM_FLAGS:
            row[flag] = bool(row[flag])
        if any(row[name] for name in ITEM_CONTENT):
            items.append(row)
    return EntryForm(
        values={name: _str(form, name) for name in TEXT_FIELDS},
        share_modes=[v for v in form.getlist("share_modes") if isinstance(v, str) and v],
        related_codes=_str(form, "related_codes"),
        keywords=_str(form, "keywords"),
        items=items,
        classification_code=_str(form, "classification_code"),
        provider_code=_str(form, "provider_code"),
        change_note=_str(form, "change_note"),
    )


def _number(text: str) -> int | str | None:
    if not text:
        return None
    return int(text) if text.isdigit() else text


def content_data(f: EntryForm) -> dict[str, Any]:
    """The form as ``EntryContent`` input; pydantic does the validating."""
    data: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        value: Any = f.get(name)
        if name in NULLABLE and not value:
            value = None
        data[name] = value
    data["grade"] = _number(f.get("grade"))
    data["share_modes"] = list(dict.fromkeys(f.share_modes))
    data["related_codes"] = [c for c in LIST_SPLIT.split(f.related_codes) if c]
    data["keywords"] = [k for k in LIST_SPLIT.split(f.keywords) if k]
    data["items"] = [
        {
            "name": row["name"],
            "name_en": row["name_en"] or None,
            "data_type": row["data_type"],
            "length": _number(row["length"]),
            "is_key": row["is_key"],
            "is_sensitive": row["is_sensitive"],
            "grade": _number(row["grade"]) or 1,
            "share_type": row["share_type"] or None,
            "data_element": row["data_element"] or None,
            "description": row["description"] or None,
        }
        for row in f.items
    ]
    return data


def error_key(loc: tuple[int | str, ...]) -> str:
    """``("items", 0, "length")`` → ``items[1].length``; list positions of plain fields drop."""
    if not loc:
        return ""
    if loc[0] == "items" and len(loc) >= 2 and isinstance(loc[1], int):
        key = f"items[{loc[1] + 1}]"
        return key + (f".{loc[2]}" if len(loc) > 2 else "")
    return str(loc[0])


def _message(error: Mapping[str, Any], locale: str) -> str:
    tr = i18n.translations(locale)
    kind = str(error.get("type", ""))
    template = ERROR_MESSAGES.get(kind)
    if template is None:
        return tr.gettext("Check this value.")
    limit = ERROR_LIMIT.get(kind)
    ctx = error.get("ctx") or {}
    return tr.gettext(template) % {"n": ctx.get(limit, "") if limit else ""}


def field_errors(exc: ValidationError, locale: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        key = error_key(tuple(error["loc"]))
        errors.setdefault(key, _message(error, locale))
    return errors


def parse_entry(model: type[M], f: EntryForm, extra: dict[str, Any], locale: str) -> M:
    """Validate the form as ``model`` (``EntryCreate`` / ``EntryUpdate``).

    Raises ``InvalidInput`` ``invalid_input`` with ``details.fields`` mapping
    error keys to messages in ``locale``.
    """
    try:
        return model.model_validate({**content_data(f), **extra})
    except ValidationError as exc:
        fields = field_errors(exc, locale)
        raise InvalidInput(
            f"请检查表单中标出的 {len(fields)} 处问题",
            f"Please correct the {len(fields)} marked fields",
            code="invalid_input",
            details={"fields": fields},
        ) from exc
