"""The review workflow: every transition, allowed and forbidden, by role; versions and diffs."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from govdata.catalog import actions
from govdata.catalog.schemas import (
    EntryUpdate,
    NewVersion,
    PublishRequest,
    ReturnRequest,
    WithdrawRequest,
)
from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from govdata.notifications import actions as notes
from tests.catalog.conftest import CLASS_CODE, content, new_entry, published_entry
from tests.identity.conftest import Org, audit_rows

CODE_RE = re.compile(r"^101001/\d{6}$")


def _notes(org: Org, user: str) -> list[str]:
    with org.as_(user).act() as ctx:
        return [n.kind for n in notes.list_notifications(ctx).items]


def test_create_assigns_code_and_draft(org: Org) -> None:
    first = new_entry(org, "xn_officer")
    second = new_entry(org, "xn_officer", name="流动人口信息")
    assert CODE_RE.match(first.resource_code)
    assert int(second.resource_code[-6:]) == int(first.resource_code[-6:]) + 1
    assert first.status == "draft" and first.working_status == "draft"
    assert first.provider.code == "xn_stats" and first.provider.region_code == "630100"
    assert [i.name for i in first.current.items] == ["公民身份号码", "姓名", "性别代码"]
    assert first.allowed == ["edit", "submit"]
    assert audit_rows(org.db, "catalog.entry.create")[0]["target_id"] == first.id


def test_create_forbidden_and_bad_input(org: Org) -> None:
    with pytest.raises(PermissionDenied), org.as_("xn_clerk").act() as ctx:
        actions.create_entry(ctx, _create())
    # An officer registers only for their own department.
    with pytest.raises(PermissionDenied), org.as_("xn_officer").act() as ctx:
        actions.create_entry(ctx, _create(provider_code="hx_stats"))
    with pytest.raises(InvalidInput) as err, org.as_("xn_officer").act() as ctx:
        actions.create_entry(ctx, _create(classification_code="999"))
    assert err.value.code == "unknown_classification"
    with pytest.raises(InvalidInput) as err, org.as_("xn_officer").act() as ctx:
        actions.create_entry(ctx, _create(classification_code="101"))
    assert err.value.code == "classification_too_broad"
    with pytest.raises(InvalidInput) as err, org.as_("operator").act() as ctx:
        actions.create_entry(ctx, _create())
    assert err.value.code == "provider_required"
    assert _count(org, "catalog_entries") == 0


def _create(**overrides: object) -> object:
    from govdata.catalog.schemas import EntryCreate

    data = {"classification_code": CLASS_CODE, **content()}
    data.update(overrides)
    return EntryCreate.model_validate(data)


def _count(org: Org, table: str) -> int:
    with org.db.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_full_cycle_with_return_and_resubmit(org: Org) -> None:
    entry = new_entry(org, "xn_officer")
    # Reviewers may not publish what was never submitted.
    with pytest.raises(Conflict), org.as_("operator").act() as ctx:
        actions.publish_entry(ctx, entry.id, PublishRequest())

    with org.as_("xn_officer").act() as ctx:
        submitted = actions.submit_entry(ctx, entry.id)
    assert submitted.status == "submitted" and submitted.allowed == []
    assert "catalog.review_requested" in _notes(org, "operator")
    assert "catalog.review_requested" in _notes(org, "xn_admin")
    assert _notes(org, "hx_admin") == []  # Haixi's reviewer does not cover Xining

    with org.as_("xn_admin").act() as ctx:
        queue = actions.review_queue(ctx)
    assert [e.id for e in queue.items] == [entry.id]
    with org.as_("hx_admin").act() as ctx:
        assert actions.review_queue(ctx).total == 0

    # Editing is closed while under review; Haixi's reviewer cannot review Xining.
    with pytest.raises(Conflict), org.as_("xn_officer").act() as ctx:
        actions.update_entry(ctx, entry.id, EntryUpdate(**content(name="改名")))
    with pytest.raises(NotFound), org.as_("hx_admin").act() as ctx:
        actions.return_entry(ctx, entry.id, ReturnRequest(reasons={"name": "x"}))

    reasons = {"share_condition": "请写明具体用途范围", "items[2].length": "姓名长度应为 50"}
    with org.as_("xn_admin").act() as ctx:
        returned = actions.return_entry(
            ctx, entry.id, ReturnRequest(reasons=reasons, comment="请修改")
        )
    assert returned.status == "returned"
    assert returned.working is not None and returned.working.review_reasons == reasons
    assert "catalog.returned" in _notes(org, "xn_officer")
    assert audit_rows(org.db, "catalog.entry.return")[0]["details"]["reasons"] == reasons

    with org.as_("xn_officer").act() as ctx:
        fixed = actions.update_entry(
            ctx, entry.id, EntryUpdate(**content(share_condition="仅用于户籍业务核验"))
        )
        assert fixed.working is not None and fixed.working.share_condition == "仅用于户籍业务核验"
        resubmitted = actions.submit_entry(ctx, entry.id)
    assert resubmitted.status == "submitted"
    with org.as_("operator").act() as ctx:
        published = actions.publish_entry(ctx, entry.id, PublishRequest(comment="同意"))
    assert published.status == "published" and published.working is None
    assert published.current.status == "published" and published.current.publish_date
    assert "catalog.published" in _notes(org, "xn_officer")
    actions_seen = [e.action for e in reversed(published.events)]
    assert actions_seen == ["create", "submit", "return", "update", "resubmit", "publish"]
    for verb in ("create", "submit", "return", "update", "resubmit", "publish"):
        assert audit_rows(org.db, f"catalog.entry.{verb}"), verb


def test_return_needs_known_fields(org: Org) -> None:
    entry = new_entry(org, "xn_officer")
    with org.as_("xn_officer").act() as ctx:
        actions.submit_entry(ctx, entry.id)
    for reasons, code in (
        ({"nonsense": "x"}, "unknown_field"),
        ({"items[9]": "x"}, "unknown_field"),
        ({"name": " "}, "empty_reason"),
    ):
        with pytest.raises(InvalidInput) as err, org.as_("operator").act() as ctx:
            actions.return_entry(ctx, entry.id, ReturnRequest(reasons=reasons))
        assert err.value.code == code
    with pytest.raises(PermissionDenied), org.as_("xn_officer").act() as ctx:
        actions.return_entry(ctx, entry.id, ReturnRequest(reasons={"name": "x"}))


def test_submit_blocked_by_conformance_errors(org: Org) -> None:
    # Core data (grade 4) cannot be open: an error, so the submit is refused and nothing changes.
    entry = new_entry(org, "xn_officer", grade=4, open_type="open")
    with pytest.raises(InvalidInput) as err, org.as_("xn_officer").act() as ctx:
        actions.submit_entry(ctx, entry.id)
    assert err.value.code == "conformance_failed"
    findings = err.value.details["findings"]
    assert any(f["severity"] == "error" and f["field"] == "open_type" for f in findings)
    with org.as_("xn_officer").act() as ctx:
        assert actions.get_entry(ctx, entry.id).status == "draft"
        assert any(f.severity == "error" for f in actions.check_entry(ctx, entry.id))


def test_published_versions_are_immutable_and_diffed(org: Org) -> None:
    entry = published_entry(org)
    with pytest.raises(Conflict) as err, org.as_("xn_officer").act() as ctx:
        actions.update_entry(ctx, entry.id, EntryUpdate(**content(name="新名称")))
    assert err.value.code == "entry_not_editable"

    with org.as_("xn_officer").act() as ctx:
        v2 = actions.new_version(ctx, entry.id, NewVersion(change_note="增加民族"))
        assert v2.working is not None and v2.working.version_no == 2
        assert v2.status == "published" and v2.working_status == "draft"
        changed = content(
            update_cycle="weekly",
            items=[
                *content()["items"][:2],
                {
                    "name": "民族代码",
                    "name_en": "ethnicity_code",
                    "data_type": "string",
                    "length": 2,
                    "grade": 1,
                    "data_element": "DE00005",
                },
            ],
        )
        actions.update_entry(ctx, entry.id, EntryUpdate(**changed))
        # Only one version under work at a time.
        with pytest.raises(Conflict):
            actions.new_version(ctx, entry.id, NewVersion())
        actions.submit_entry(ctx, entry.id)
    # Readers outside the department still see version 1 while version 2 is under review.
    with org.as_("hx_officer").act() as ctx:
        seen = actions.get_entry(ctx, entry.resource_code)
        assert seen.current.version_no == 1 and seen.working is None
        assert [v.version_no for v in seen.versions] == [1]
        with pytest.raises(NotFound):
            actions.get_version(ctx, entry.id, 2)
    with org.as_("operator").act() as ctx:
        done = actions.publish_entry(ctx, entry.id, PublishRequest())
        diff = actions.diff_versions(ctx, entry.id, 1, 2)
        v1 = actions.get_version(ctx, entry.id, 1)
    assert done.current.version_no == 2 and done.update_cycle == "weekly"
    assert v1.status == "superseded" and v1.update_cycle == "daily"
    assert [(f.field, f.before, f.after) for f in diff.fields] == [("update_cycle", "每日", "每周")]
    assert {(i.name, i.change) for i in diff.items} == {
        ("性别代码", "removed"),
        ("民族代码", "added"),
    }


def test_withdraw(org: Org) -> None:
    entry = published_entry(org)
    with pytest.raises(PermissionDenied), org.as_("xn_clerk").act() as ctx:
        actions.withdraw_entry(ctx, entry.id, WithdrawRequest(reason="x"))
    with pytest.raises(PermissionDenied), org.as_("hx_officer").act() as ctx:
        # Visible (published) but not theirs: refused as a permission matter.
        actions.withdraw_entry(ctx, entry.id, WithdrawRequest(reason="x"))
    with org.as_("xn_officer").act() as ctx:
        out = actions.withdraw_entry(ctx, entry.id, WithdrawRequest(reason="数据已停止采集"))
    assert out.status == "withdrawn" and out.withdrawn_reason == "数据已停止采集"
    with pytest.raises(Conflict), org.as_("xn_officer").act() as ctx:
        actions.withdraw_entry(ctx, entry.id, WithdrawRequest(reason="again"))
    # Withdrawn entries disappear for other departments.
    with pytest.raises(NotFound), org.as_("hx_officer").act() as ctx:
        actions.get_entry(ctx, entry.id)
    assert "catalog.withdrawn" in _notes(org, "xn_admin")
    # Back through a new version and review.
    with org.as_("xn_officer").act() as ctx:
        actions.new_version(ctx, entry.id, NewVersion(change_note="恢复"))
        actions.submit_entry(ctx, entry.id)
    with org.as_("xn_admin").act() as ctx:
        assert actions.publish_entry(ctx, entry.id, PublishRequest()).status == "published"


def test_visibility_of_drafts(org: Org) -> None:
    entry = new_entry(org, "xn_officer")
    for user in ("xn_officer", "xn_clerk", "operator", "xn_admin"):
        with org.as_(user).act() as ctx:
            assert actions.get_entry(ctx, entry.resource_code).id == entry.id
    for user in ("hx_officer", "cd_clerk", "hx_admin"):
        with pytest.raises(NotFound), org.as_(user).act() as ctx:
            actions.get_entry(ctx, entry.id)
    with pytest.raises(PermissionDenied), org.as_("secadmin").act() as ctx:
        actions.get_entry(ctx, entry.id)


def test_mine_and_classification_change_retires_code(org: Org) -> None:
    entry = new_entry(org, "xn_officer")
    other = new_entry(org, "hx_officer")
    with org.as_("xn_officer").act() as ctx:
        mine = actions.list_department_entries(ctx)
        assert [e.id for e in mine.items] == [entry.id] and mine.total == 1
        assert actions.list_department_entries(ctx, status="published").total == 0
        moved = actions.update_entry(
            ctx, entry.id, EntryUpdate(classification_code="101002", **content())
        )
    assert moved.resource_code.startswith("101002/") and other.id != entry.id
    # The retired code is never handed out again under its prefix.
    again = new_entry(org, "xn_officer")
    assert again.resource_code != entry.resource_code
    assert int(again.resource_code[-6:]) > int(entry.resource_code[-6:])


def test_classification_tree_is_seeded_and_editable(org: Org) -> None:
    with org.as_("xn_clerk").act() as ctx:
        tree = actions.class_tree(ctx)
    tops = {n.code: n.name for n in tree.items}
    assert tops == {"1": "基础", "2": "主题", "3": "部门"}
    base = next(n for n in tree.items if n.code == "1")
    assert {c.name for c in base.children} >= {"人口", "法人单位", "电子证照"}
    from govdata.catalog.schemas import ClassCreate, ClassUpdate

    with pytest.raises(PermissionDenied), org.as_("xn_officer").act() as ctx:
        actions.create_class(ctx, ClassCreate(parent_code="101", segment="901", name="测试"))
    with org.as_("operator").act() as ctx:
        node = actions.create_class(ctx, ClassCreate(parent_code="101", segment="901", name="测试"))
        assert node.code == "101901" and node.level == 3
        with pytest.raises(InvalidInput):
            actions.create_class(ctx, ClassCreate(parent_code="101", segment="9", name="x"))
        with pytest.raises(Conflict):
            actions.create_class(ctx, ClassCreate(parent_code="101", segment="901", name="x"))
        actions.update_class(ctx, "101901", ClassUpdate(is_active=False))
    with pytest.raises(InvalidInput), org.as_("xn_officer").act() as ctx:
        actions.create_entry(ctx, _create(classification_code="101901"))


# Who may make each transition, from the state it starts in: "ok", "denied" (403) or
# "hidden" (404: the entry is not theirs to see in that state). Without the permission at all
# (auditor, a reviewer asked to edit) the refusal comes before the entry is looked up.
USERS = ("xn_officer", "hx_officer", "xn_clerk", "operator", "xn_admin", "hx_admin", "auditor")
TRANSITIONS: dict[str, dict[str, str]] = {
    "update": {
        "xn_officer": "ok", "hx_officer": "hidden", "xn_clerk": "denied", "operator": "ok",
        "xn_admin": "denied", "hx_admin": "denied", "auditor": "denied",
    },
    "submit": {
        "xn_officer": "ok", "hx_officer": "hidden", "xn_clerk": "denied", "operator": "ok",
        "xn_admin": "denied", "hx_admin": "denied", "auditor": "denied",
    },
    "return": {
        "xn_officer": "denied", "hx_officer": "hidden", "xn_clerk": "denied", "operator": "ok",
        "xn_admin": "ok", "hx_admin": "hidden", "auditor": "hidden",
    },
    "publish": {
        "xn_officer": "denied", "hx_officer": "hidden", "xn_clerk": "denied", "operator": "ok",
        "xn_admin": "ok", "hx_admin": "hidden", "auditor": "hidden",
    },
    "withdraw": {
        "xn_officer": "ok", "hx_officer": "denied", "xn_clerk": "denied", "operator": "ok",
        "xn_admin": "ok", "hx_admin": "denied", "auditor": "denied",
    },
    "new_version": {
        "xn_officer": "ok", "hx_officer": "denied", "xn_clerk": "denied", "operator": "ok",
        "xn_admin": "denied", "hx_admin": "denied", "auditor": "denied",
    },
}  # fmt: skip


def _in_state(org: Org, state: str) -> str:
    entry = new_entry(org, "xn_officer")
    if state in ("submitted", "published"):
        with org.as_("xn_officer").act() as ctx:
            actions.submit_entry(ctx, entry.id)
    if state == "published":
        with org.as_("operator").act() as ctx:
            actions.publish_entry(ctx, entry.id, PublishRequest())
    return entry.id


STARTS = {
    "update": "draft",
    "submit": "draft",
    "return": "submitted",
    "publish": "submitted",
    "withdraw": "published",
    "new_version": "published",
}


def _do(org: Org, user: str, transition: str, entry_id: str) -> None:
    with org.as_(user).act() as ctx:
        if transition == "update":
            actions.update_entry(ctx, entry_id, EntryUpdate(**content(name="改")))
        elif transition == "submit":
            actions.submit_entry(ctx, entry_id)
        elif transition == "return":
            actions.return_entry(ctx, entry_id, ReturnRequest(reasons={"name": "请改"}))
        elif transition == "publish":
            actions.publish_entry(ctx, entry_id, PublishRequest())
        elif transition == "withdraw":
            actions.withdraw_entry(ctx, entry_id, WithdrawRequest(reason="停用"))
        else:
            actions.new_version(ctx, entry_id, NewVersion())


@pytest.mark.parametrize("transition", sorted(TRANSITIONS))
def test_transition_by_role(org: Org, transition: str) -> None:
    outcomes = {}
    for user in USERS:
        entry_id = _in_state(org, STARTS[transition])
        try:
            _do(org, user, transition, entry_id)
            outcomes[user] = "ok"
        except PermissionDenied:
            outcomes[user] = "denied"
        except NotFound:
            outcomes[user] = "hidden"
    assert outcomes == TRANSITIONS[transition]
    # Every refusal is itself audited.
    denials = audit_rows(org.db, "catalog.edit") + audit_rows(org.db, "catalog.review")
    refused = sum(1 for o in outcomes.values() if o == "denied")
    assert len(denials) == refused and all(r["outcome"] == "denied" for r in denials)
