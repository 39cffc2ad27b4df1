"""The opening review and the public gate: what opens, who decides, and what never shows."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from govdata.catalog import actions as catalog_actions
from govdata.catalog.schemas import EntryUpdate, NewVersion, PublishRequest
from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from govdata.opendata import access, datasets, usage, views
from govdata.opendata.models import OpenDataset, OpenUsage
from govdata.opendata.schemas import FeatureIn, ProposeIn, ReviewIn, WithdrawIn
from govdata.opendata.vocab import UsageKind
from govdata.security.audit import AuditRecord
from tests.identity.conftest import Org
from tests.opendata.fixtures import OPEN_FIELDS, collected_schools, opened_schools, school_content


def _public_names(org: Org) -> list[str]:
    with org.db.sessions() as s:
        return [ds.name for ds, _ in s.execute(access.public_datasets())]


def test_proposal_review_and_the_public_view(org: Org, tmp_path: Path) -> None:
    entry_id, code, _ = collected_schools(org, tmp_path)
    with org.as_("xn_officer").act() as ctx:
        ds = datasets.propose_opening(ctx, entry_id, ProposeIn())
    # Proposed is not public, and the sensitive item is not among the openable fields.
    assert ds.status == "proposed" and not ds.public
    assert ds.fields == OPEN_FIELDS
    assert _public_names(org) == []
    with org.as_("operator").act() as ctx:
        out = datasets.review_opening(ctx, ds.id, ReviewIn(approve=True, comment="同意"))
    assert out.status == "open" and out.public and out.name == datasets.dataset_name(code)
    assert _public_names(org) == [out.name]
    with org.db.sessions() as s:
        d = views.public_detail(s, org.settings, out.name)
        assert [f.name for f in d.fields] == OPEN_FIELDS
        assert d.rows == 5 and d.lake_version is not None
        assert [r.format for r in d.resources] == ["CSV", "XLSX", "JSON", "API"]
        # Resource ids are stable and lead back to the dataset and format.
        for r in d.resources:
            ds_row, _entry, fmt = views.find_resource(s, r.id)
            assert ds_row.id == out.id and fmt == r.format
        actions = [
            a
            for (a,) in s.execute(select(AuditRecord.action).where(AuditRecord.target_id == out.id))
        ]
    assert actions == ["opendata.dataset.propose", "opendata.dataset.approve"]


def test_who_may_propose_and_review(org: Org, tmp_path: Path) -> None:
    entry_id, _, _ = collected_schools(org, tmp_path)
    # A department user and an officer of another department may not propose.
    for user in ("xn_clerk", "hx_officer"):
        with pytest.raises(PermissionDenied), org.as_(user).act() as ctx:
            datasets.propose_opening(ctx, entry_id, ProposeIn())
    with org.as_("xn_officer").act() as ctx:
        ds = datasets.propose_opening(ctx, entry_id, ProposeIn())
    # The provider cannot approve its own proposal; only the operator reviews.
    with pytest.raises(PermissionDenied), org.as_("xn_officer").act() as ctx:
        datasets.review_opening(ctx, ds.id, ReviewIn(approve=True))
    with pytest.raises(InvalidInput) as exc, org.as_("operator").act() as ctx:
        datasets.review_opening(ctx, ds.id, ReviewIn(approve=False))
    assert exc.value.code == "opendata_reason_required"
    with org.as_("operator").act() as ctx:
        assert (
            datasets.review_opening(
                ctx, ds.id, ReviewIn(approve=False, comment="字段说明不全")
            ).status
            == "rejected"
        )
    with pytest.raises(Conflict), org.as_("operator").act() as ctx:
        datasets.feature_dataset(ctx, ds.id, FeatureIn(featured=True))


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"grade": 3}, "grade"),
        ({"open_type": "closed"}, "open_type"),
    ],
)
def test_entries_that_never_open(
    org: Org, tmp_path: Path, overrides: dict[str, object], reason: str
) -> None:
    entry_id, _, _ = collected_schools(org, tmp_path, **overrides)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as exc, org.as_("xn_officer").act() as ctx:
        datasets.propose_opening(ctx, entry_id, ProposeIn())
    assert exc.value.code == "opendata_not_openable" and reason in exc.value.details
    with org.db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(OpenDataset)) == 0


def test_sensitive_fields_cannot_be_chosen(org: Org, tmp_path: Path) -> None:
    entry_id, _, _ = collected_schools(org, tmp_path)
    with pytest.raises(InvalidInput) as exc, org.as_("xn_officer").act() as ctx:
        datasets.propose_opening(ctx, entry_id, ProposeIn(fields=["school_name", "head_mobile"]))
    assert exc.value.code == "opendata_field_not_openable"
    assert exc.value.details["fields"] == ["head_mobile"]


def test_a_regraded_entry_leaves_every_public_path_at_once(org: Org, tmp_path: Path) -> None:
    opened = opened_schools(org, tmp_path)
    assert _public_names(org) == [opened.name]
    # The provider publishes a new version graded 3: the dataset drops off with no sync step.
    body = school_content(grade=3)
    with org.as_("xn_officer").act() as ctx:
        catalog_actions.new_version(ctx, opened.entry_id, NewVersion(change_note="调整分级"))
        catalog_actions.update_entry(ctx, opened.entry_id, EntryUpdate(**body))
        catalog_actions.submit_entry(ctx, opened.entry_id)
    with org.as_("operator").act() as ctx:
        catalog_actions.publish_entry(ctx, opened.entry_id, PublishRequest())
    assert _public_names(org) == []
    with org.db.sessions() as s:
        with pytest.raises(NotFound):
            views.public_detail(s, org.settings, opened.name)
        with pytest.raises(NotFound):
            views.find_resource(s, views.resource_id(opened.dataset_id, "CSV"))
    with org.as_("operator").act() as ctx:
        assert not datasets.get_dataset_admin(ctx, opened.dataset_id).public


def test_withdrawn_datasets_are_not_public(org: Org, tmp_path: Path) -> None:
    opened = opened_schools(org, tmp_path)
    with pytest.raises(PermissionDenied), org.as_("hx_officer").act() as ctx:
        datasets.withdraw_dataset(ctx, opened.dataset_id, WithdrawIn(reason="x"))
    with org.as_("xn_officer").act() as ctx:
        assert (
            datasets.withdraw_dataset(
                ctx, opened.dataset_id, WithdrawIn(reason="数据停止更新")
            ).status
            == "withdrawn"
        )
    assert _public_names(org) == []
    with org.db.sessions() as s, pytest.raises(NotFound) as exc:
        views.public_detail(s, org.settings, opened.name)
    assert exc.value.code == "opendata_dataset_not_found"


def test_counting_use_does_not_change_the_dataset(org: Org, tmp_path: Path) -> None:
    opened = opened_schools(org, tmp_path)
    with org.db.sessions() as s:
        before = s.get(OpenDataset, opened.dataset_id)
        assert before is not None
        stamp = before.updated_at
    with org.db.transaction() as s:
        usage.record_usage(s, opened.dataset_id, "dept", UsageKind.DOWNLOAD, 3)
        usage.record_usage(s, opened.dataset_id, "dept", UsageKind.VIEW)
    with org.db.sessions() as s:
        after = s.get(OpenDataset, opened.dataset_id)
        assert after is not None
        assert (after.downloads, after.views, after.updated_at) == (3, 1, stamp)
        rows = s.execute(select(OpenUsage.downloads, OpenUsage.views)).all()
    assert [tuple(r) for r in rows] == [(3, 1)]
