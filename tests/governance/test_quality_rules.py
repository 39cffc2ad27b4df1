"""Quality rules: suggestions from item types and data elements, validation of what an
author writes, who may manage them, and the plausibility bounds of date rules."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from govdata.core.errors import GovDataError
from govdata.governance import quality_rules, rules_sql
from govdata.governance.quality_schemas import RuleIn, RuleUpdate
from tests.catalog.conftest import org, settings
from tests.governance import quality_fixtures as qf
from tests.identity.conftest import Org, audit_rows

__all__ = ["org", "settings"]

SQLITE = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


@SQLITE
def test_suggestions_follow_item_types_keys_and_data_elements(org: Org, tmp_path: Path) -> None:
    e = qf.people(org, tmp_path)
    with org.as_("xn_officer").act() as ctx:
        found = {
            (s.rule.kind.value, s.rule.item): s for s in quality_rules.suggest_rules(ctx, e.id)
        }
    # 公民身份号码 is the key and carries data element DE00001 (GB 11643).
    assert {("not_null", "公民身份号码"), ("unique", "公民身份号码")} <= set(found)
    assert ("resident_id", "公民身份号码") in found
    # A checksum rule makes a length rule on the same item redundant.
    assert ("length", "公民身份号码") not in found
    assert ("mobile", "手机号码") in found
    assert found[("length", "姓名")].rule.params == {"min": 0, "max": 50}
    assert found[("length", "户籍地区划")].rule.params == {"min": 0, "max": 6}
    # Table rules: the entry's update cycle and the row count.
    assert ("row_count", None) in found
    assert not any(s.exists for s in found.values())
    with org.as_("xn_officer").act() as ctx:
        added = quality_rules.apply_suggestions(ctx, e.id)
        again = quality_rules.apply_suggestions(ctx, e.id)
        listed = quality_rules.list_rules(ctx, e.id)
    assert len(added) == len(found) and again == []
    assert {r.origin for r in listed} == {"suggested"} and len(listed) == len(found)
    with org.as_("xn_officer").act() as ctx:
        assert all(s.exists for s in quality_rules.suggest_rules(ctx, e.id))
    assert audit_rows(org.db, "governance.quality.rule.suggest")


@SQLITE
@pytest.mark.parametrize(
    ("rule", "code"),
    [
        ({"kind": "not_null", "item": "不存在的项"}, "quality_rule_invalid"),
        ({"kind": "range", "item": "年龄", "params": {"min": 0}}, "quality_rule_invalid"),
        (
            {"kind": "allowed", "item": "户籍地区划", "params": {"values": []}},
            "quality_rule_invalid",
        ),
        (
            {"kind": "custom", "params": {"predicate": "age > 1; DROP TABLE x"}},
            "quality_predicate_invalid",
        ),
        ({"kind": "custom", "params": {"predicate": "salary > 1"}}, "quality_predicate_invalid"),
        ({"kind": "freshness", "item": "姓名"}, "quality_rule_invalid"),
        ({"kind": "row_count", "params": {"max_change": -1}}, "quality_rule_invalid"),
        (
            {"kind": "referential", "item": "姓名", "params": {"entry": "1/404"}},
            "quality_rule_invalid",
        ),
    ],
)
def test_a_rule_that_could_not_run_is_refused_and_nothing_saved(
    org: Org, tmp_path: Path, rule: dict[str, object], code: str
) -> None:
    e = qf.people(org, tmp_path)
    with pytest.raises(GovDataError) as err, org.as_("xn_officer").act() as ctx:
        quality_rules.create_rule(ctx, e.id, RuleIn.model_validate(rule))
    assert err.value.code == code and err.value.message_zh
    with org.as_("xn_officer").act() as ctx:
        assert quality_rules.list_rules(ctx, e.id) == []


@SQLITE
def test_only_the_provider_and_the_operator_manage_rules(org: Org, tmp_path: Path) -> None:
    e = qf.people(org, tmp_path)
    rule = qf.add_rule(org, e, kind="not_null", item="姓名")
    for user in ("hx_officer", "xn_clerk", "auditor"):
        with pytest.raises(GovDataError), org.as_(user).act() as ctx:
            quality_rules.create_rule(ctx, e.id, RuleIn(kind="not_null", item="姓名"))
        with pytest.raises(GovDataError), org.as_(user).act() as ctx:
            quality_rules.delete_rule(ctx, rule)
    with org.as_("xn_clerk").act() as ctx:
        assert [r.id for r in quality_rules.list_rules(ctx, e.id)] == [rule]
    with org.as_("operator").act() as ctx:
        out = quality_rules.update_rule(ctx, rule, RuleUpdate(enabled=False, severity=5))
    assert (out.enabled, out.severity) == (False, 5)
    pattern = qf.add_rule(org, e, kind="pattern", item="户籍地区划", params={"regex": r"\d{6}"})
    with pytest.raises(GovDataError) as err, org.as_("xn_officer").act() as ctx:
        quality_rules.update_rule(ctx, pattern, RuleUpdate(params={"regex": "("}))
    assert err.value.code == "quality_rule_invalid"
    with org.as_("xn_officer").act() as ctx:
        quality_rules.delete_rule(ctx, pattern)
    with org.as_("xn_officer").act() as ctx:
        quality_rules.delete_rule(ctx, rule)
        assert quality_rules.list_rules(ctx, e.id) == []


def test_date_rules_refuse_impossible_and_implausible_dates() -> None:
    days = pa.table({"d": ["2024-02-29", "2023-02-29", "1850-06-01", "2999-01-01", None, "x"]})
    rule = rules_sql.RuleSpec(
        "r", "date_valid", "d", {"format": "%Y-%m-%d", "min": "1900-01-01", "max": "2026-12-31"}
    )
    plain = rules_sql.RuleSpec("p", "date_valid", "d", {"format": "%Y-%m-%d"})
    counts = rules_sql.run_rules(
        pa.RecordBatchReader.from_batches(days.schema, days.to_batches()), [rule, plain]
    )
    # Leap day 2024 passes; 2023-02-29 and "x" are no dates; 1850 and 2999 are implausible.
    assert [(c.checked, c.failed) for c in counts] == [(5, 4), (5, 2)]
