"""The conformance check (符合性审查): one table row per rule, against the seeded registry."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import update

from govdata.catalog.conformance import check_content, has_errors
from govdata.catalog.models import CatalogClass, DataElement
from govdata.catalog.schemas import EntryContent
from govdata.core.db import Database
from govdata.standards import uscc
from tests.conftest import STORES, fresh_store

PROVIDER = uscc.make("1", "1", "630000", "MB000001")
RETIRED = "TEST-RETIRED"
INACTIVE_CLASS = "216004"


@pytest.fixture(scope="module", params=STORES)
def registry(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """One migrated store per kind for the whole module: the check only reads it."""
    stores = fresh_store(request.param, tmp_path_factory.mktemp("conformance"), request)
    db = Database(next(stores))
    with db.transaction() as s:
        s.add(
            DataElement(
                identifier=RETIRED, name="旧姓名", definition="", data_type="string",
                max_length=50, status="retired",
            )
        )  # fmt: skip
        s.execute(
            update(CatalogClass).where(CatalogClass.code == INACTIVE_CLASS).values(is_active=False)
        )
    yield db
    db.dispose()
    next(stores, None)


def valid() -> dict[str, Any]:
    return {
        "name": "户籍人口基本信息",
        "summary": "全省户籍人口的公民身份号码、姓名、出生日期等登记信息。",
        "format": "database",
        "share_type": "conditional",
        "share_condition": "用于政务服务身份核验",
        "share_modes": ["api", "table"],
        "open_type": "closed",
        "update_cycle": "daily",
        "publish_date": date(2026, 11, 1),
        "related_codes": ["102001/000003"],
        "grade": 3,
        "contact_name": "王建国",
        "contact_phone": "0971-8181234",
        "items": [
            {
                "name": "公民身份号码", "name_en": "resident_id", "data_type": "string",
                "length": 18, "is_key": True, "is_sensitive": True, "grade": 3,
                "data_element": "DE00001",
            },
            {
                "name": "姓名", "name_en": "name", "data_type": "string", "length": 50,
                "grade": 2, "data_element": "DE00002",
            },
            {
                "name": "出生日期", "name_en": "birth_date", "data_type": "date", "grade": 1,
                "share_type": "none", "data_element": "DE00004",
            },
        ],
    }  # fmt: skip


def _item(data: dict[str, Any], i: int, **changes: Any) -> dict[str, Any]:
    data["items"][i].update(changes)
    return data


# (case id, change to the valid content, keyword arguments, expected (severity, code, field)s)
CASES: list[tuple[str, Any, dict[str, Any], set[tuple[str, str, str]]]] = [
    ("summary", lambda d: d | {"summary": "  "}, {}, {("error", "summary_required", "summary")}),
    ("no items", lambda d: d | {"items": []}, {}, {("error", "items_required", "items")}),
    (
        "contact name",
        lambda d: d | {"contact_name": None},
        {},
        {("error", "contact_required", "contact_name")},
    ),
    (
        "contact phone or email",
        lambda d: d | {"contact_phone": None, "contact_email": None},
        {},
        {("error", "contact_required", "contact_phone")},
    ),
    (
        "share modes",
        lambda d: d | {"share_modes": []},
        {},
        {("error", "share_modes_required", "share_modes")},
    ),
    (
        "publish date",
        lambda d: d | {"publish_date": None},
        {},
        {("warning", "publish_date_missing", "publish_date")},
    ),
    (
        "related code format",
        lambda d: d | {"related_codes": ["101001/000001", "101001-1"]},
        {},
        {("error", "related_code_invalid", "related_codes[1]")},
    ),
    (
        "item names unique",
        lambda d: _item(d, 1, name="公民身份号码"),
        {},
        {("error", "item_name_duplicate", "items[2].name")},
    ),
    (
        "english name format",
        lambda d: _item(d, 0, name_en="resident-id"),
        {},
        {("error", "item_name_en_invalid", "items[1].name_en")},
    ),
    (
        "english names unique",
        lambda d: _item(d, 1, name_en="Resident_ID"),
        {},
        {("error", "item_name_en_duplicate", "items[2].name_en")},
    ),
    (
        "not shared needs basis",
        lambda d: d | {"share_type": "none", "share_modes": []},
        {},
        {("error", "not_shared_basis_required", "not_shared_basis")},
    ),
    (
        "conditional share needs condition",
        lambda d: d | {"share_condition": ""},
        {},
        {("error", "share_condition_required", "share_condition")},
    ),
    (
        "conditional open needs condition",
        lambda d: d | {"open_type": "conditional"},
        {},
        {("error", "open_condition_required", "open_condition")},
    ),
    (
        "core data cannot be open",
        lambda d: d | {"grade": 4, "open_type": "open"},
        {},
        {("error", "core_data_open", "open_type")},
    ),
    (
        "not shared cannot be open",
        lambda d: (
            d
            | {
                "share_type": "none",
                "not_shared_basis": "《居民身份证法》第六条",
                "share_modes": [],
                "open_type": "open",
            }
        ),
        {},
        {("error", "not_shared_open", "open_type")},
    ),
    (
        "item share never looser",
        lambda d: _item(d, 1, share_type="unconditional"),
        {},
        {("error", "item_share_looser", "items[2].share_type")},
    ),
    (
        "entry graded upward",
        lambda d: _item(d, 0, grade=4),
        {},
        {("error", "item_grade_above_entry", "items[1].grade")},
    ),
    (
        "sensitive item low grade",
        lambda d: _item(d, 1, is_sensitive=True),
        {},
        {("warning", "sensitive_low_grade", "items[2].grade")},
    ),
    (
        "unknown data element",
        lambda d: _item(d, 1, data_element="DE99999"),
        {},
        {("error", "data_element_unknown", "items[2].data_element")},
    ),
    (
        "retired data element",
        lambda d: _item(d, 1, data_element=RETIRED),
        {},
        {("warning", "data_element_retired", "items[2].data_element")},
    ),
    (
        "data type agrees with element",
        lambda d: _item(d, 2, data_type="string", length=8),
        {},
        {("error", "data_type_mismatch", "items[3].data_type")},
    ),
    (
        "length within element",
        lambda d: _item(d, 1, length=60),
        {},
        {("error", "length_exceeds_element", "items[2].length")},
    ),
    (
        "string length missing",
        lambda d: _item(d, 1, length=None),
        {},
        {("warning", "length_missing", "items[2].length")},
    ),
    (
        "item without data element",
        lambda d: _item(d, 1, data_element=None),
        {},
        {("warning", "data_element_missing", "items[2].data_element")},
    ),
    (
        "database needs a key item",
        lambda d: _item(d, 0, is_key=False),
        {},
        {("warning", "key_item_missing", "items")},
    ),
    (
        "unknown classification",
        lambda d: d,
        {"classification_code": "999001"},
        {("error", "class_unknown", "classification_code")},
    ),
    (
        "inactive classification",
        lambda d: d,
        {"classification_code": INACTIVE_CLASS},
        {("error", "class_inactive", "classification_code")},
    ),
    (
        "classification too coarse",
        lambda d: d,
        {"classification_code": "101"},
        {("warning", "class_too_coarse", "classification_code")},
    ),
    (
        "provider credit code",
        lambda d: d,
        {"provider_credit_code": PROVIDER[:-1] + ("0" if PROVIDER[-1] != "0" else "1")},
        {("error", "provider_code_invalid", "provider_code")},
    ),
]


def _check(db: Database, data: dict[str, Any], **kwargs: Any) -> list[Any]:
    options = {"classification_code": "101001", "provider_credit_code": PROVIDER} | kwargs
    with db.transaction() as s:
        return check_content(s, EntryContent(**data), **options)


def test_valid_entry_has_no_findings(registry: Database) -> None:
    assert _check(registry, valid()) == []
    # The keyword checks are optional: without them only the content is checked.
    with registry.transaction() as s:
        assert check_content(s, EntryContent(**valid())) == []


@pytest.mark.parametrize(("change", "kwargs", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_rule(
    registry: Database,
    change: Any,
    kwargs: dict[str, Any],
    expected: set[tuple[str, str, str]],
) -> None:
    findings = _check(registry, change(copy.deepcopy(valid())), **kwargs)
    assert {(f.severity, f.code, f.field) for f in findings} == expected
    assert has_errors(findings) == any(sev == "error" for sev, _, _ in expected)
    for f in findings:
        assert f.message and f.message_en and f.message != f.message_en


def test_every_item_is_checked(registry: Database) -> None:
    data = valid()
    data["items"] = [
        {"name": f"项{i}", "name_en": f"item_{i}", "data_type": "string", "length": 99,
         "grade": 1, "data_element": "DE00002", "is_key": i == 0}
        for i in range(3)
    ]  # fmt: skip
    fields = {f.field for f in _check(registry, data)}
    assert fields == {f"items[{i}].length" for i in range(1, 4)}
