"""The annual open list: who proposes and decides, the lock, and progress read from real
opened datasets and the clock."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from govdata.core import clock
from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from govdata.opendata import datasets, openlist
from govdata.opendata.openlist import ItemIn, ItemReviewIn, LinkEntryIn
from govdata.opendata.reuse_models import OpenListItem
from govdata.opendata.schemas import WithdrawIn
from govdata.security.audit import AuditRecord
from tests.catalog.conftest import published_entry
from tests.identity.conftest import Org
from tests.opendata.fixtures import opened_schools, school_content

YEAR = 2026


def _entry(org: Org, user: str, name: str, **kw: object) -> str:
    return published_entry(org, user, **school_content(name=name, **kw)).id  # type: ignore[arg-type]


def _propose(org: Org, user: str, **kw: object) -> openlist.ItemOut:
    kw.setdefault("planned_date", date(YEAR, 6, 30))
    with org.as_(user).act() as ctx:
        return openlist.propose_item(ctx, YEAR, ItemIn(**kw))  # type: ignore[arg-type]


def _items(org: Org) -> int:
    with org.db.sessions() as s:
        return len(s.scalars(select(OpenListItem)).all())


def test_list_lifecycle_by_role(org: Org) -> None:
    mine = _entry(org, "xn_officer", "西宁市图书馆名录")
    theirs = _entry(org, "hx_officer", "海西州景区名录")
    # An officer proposes their department's entry and a planned dataset; the draft list
    # starts with the first proposal.
    a = _propose(org, "xn_officer", entry=mine)
    assert (a.status, a.department_name, a.progress) == ("proposed", "西宁市统计局", None)
    b = _propose(org, "xn_officer", name="公交线路", description="全市公交线路与站点")
    assert b.entry_id is None and b.open_type == "open"
    # Another department's officer can add neither to xn_stats' entries nor in its name;
    # a department user cannot propose at all.
    with pytest.raises(PermissionDenied), org.as_("hx_officer").act() as ctx:
        openlist.propose_item(ctx, YEAR, ItemIn(entry=mine, planned_date=date(YEAR, 5, 1)))
    with pytest.raises(PermissionDenied), org.as_("hx_officer").act() as ctx:
        openlist.propose_item(
            ctx,
            YEAR,
            ItemIn(name="x", planned_date=date(YEAR, 5, 1), department_id=org.dept["xn_stats"]),
        )
    with pytest.raises(PermissionDenied), org.as_("xn_clerk").act() as ctx:
        openlist.propose_item(ctx, YEAR, ItemIn(name="x", planned_date=date(YEAR, 5, 1)))
    c = _propose(org, "hx_officer", entry=theirs)
    # The same entry twice, a date outside the year: refused, nothing stored.
    with pytest.raises(Conflict) as dup:
        _propose(org, "xn_officer", entry=mine)
    assert dup.value.code == "openlist_item_duplicate"
    with pytest.raises(InvalidInput) as late:
        _propose(org, "xn_officer", name="y", planned_date=date(YEAR + 1, 1, 2))
    assert late.value.code == "openlist_date_outside_year"
    assert _items(org) == 3
    # The officer sees only their department's items; the figures count the whole list.
    with org.as_("hx_officer").act() as ctx:
        seen = openlist.get_list(ctx, YEAR)
    assert [i.id for i in seen.items] == [c.id] and seen.pending == 3
    # Only the operator reviews; a rejection needs a reason; approval needs every item
    # reviewed.
    with pytest.raises(PermissionDenied), org.as_("xn_officer").act() as ctx:
        openlist.review_item(ctx, a.id, ItemReviewIn(accept=True))
    with pytest.raises(PermissionDenied), org.as_("xn_officer").act() as ctx:
        openlist.approve_list(ctx, YEAR)
    with pytest.raises(InvalidInput) as no_reason, org.as_("operator").act() as ctx:
        openlist.review_item(ctx, c.id, ItemReviewIn(accept=False))
    assert no_reason.value.code == "openlist_reason_required"
    with org.as_("operator").act() as ctx:
        openlist.review_item(ctx, a.id, ItemReviewIn(accept=True))
        openlist.review_item(ctx, c.id, ItemReviewIn(accept=False, reason="不属于重点领域"))
    with pytest.raises(Conflict) as pending, org.as_("operator").act() as ctx:
        openlist.approve_list(ctx, YEAR)
    assert (pending.value.code, pending.value.details) == ("openlist_pending_items", {"pending": 1})
    # The department may take back its item while not accepted.
    with org.as_("xn_officer").act() as ctx:
        openlist.withdraw_item(ctx, b.id)
    with org.db.sessions() as s:
        assert openlist.public_years(s) == []
        with pytest.raises(NotFound):
            openlist.public_list(s, YEAR)
    with org.as_("operator").act() as ctx:
        approved = openlist.approve_list(ctx, YEAR)
    assert approved.status == "approved" and approved.total == 1
    # Approval locks the list: officers add nothing more, the operator still may.
    with pytest.raises(Conflict) as locked:
        _propose(org, "xn_officer", name="新增数据")
    assert locked.value.code == "openlist_locked"
    with pytest.raises(Conflict), org.as_("xn_officer").act() as ctx:
        openlist.withdraw_item(ctx, a.id)
    added = _propose(org, "operator", name="新增数据", department_id=org.dept["xn_stats"])
    assert added.status == "accepted"
    with org.db.sessions() as s:
        public = openlist.public_list(s)
        actions = [
            x
            for (x,) in s.execute(
                select(AuditRecord.action).where(
                    AuditRecord.action.startswith("opendata.openlist.")
                )
            )
        ]
    assert public.year == YEAR and {i.name for i in public.items} == {
        "西宁市图书馆名录",
        "新增数据",
    }
    assert public.items[0].status == "accepted" and all(
        i.status == "accepted" for i in public.items
    )
    assert sorted(set(actions)) == sorted(
        {
            "opendata.openlist." + x
            for x in ("create", "propose", "accept", "reject", "withdraw", "approve", "add")
        }
    )


@pytest.mark.parametrize(
    ("overrides", "reason"), [({"grade": 3}, "grade"), ({"open_type": "closed"}, "closed")]
)
def test_entries_that_cannot_be_listed(org: Org, overrides: dict[str, object], reason: str) -> None:
    entry = _entry(org, "xn_officer", "不可开放目录", **overrides)
    with pytest.raises(InvalidInput) as exc:
        _propose(org, "xn_officer", entry=entry)
    assert exc.value.code == "opendata_not_openable"
    assert _items(org) == 0


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 4, 0, tzinfo=UTC)


def test_progress_from_opened_datasets_and_the_clock(
    org: Org, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = opened_schools(org, tmp_path)  # xn_stats, open on the portal
    waiting = _entry(org, "xn_officer", "西宁市公园名录")
    haixi = _entry(org, "hx_officer", "海西州学校名录")
    monkeypatch.setattr(clock, "now", lambda: _at(date(YEAR, 3, 1)))
    ids = [
        _propose(org, "operator", entry=opened.entry_id, planned_date=date(YEAR, 4, 1)).id,
        _propose(org, "operator", entry=waiting, planned_date=date(YEAR, 4, 1)).id,
        _propose(org, "operator", entry=haixi, planned_date=date(YEAR, 9, 1)).id,
        _propose(
            org,
            "operator",
            name="公交线路",
            planned_date=date(YEAR, 4, 1),
            department_id=org.dept["hx_stats"],
        ).id,
    ]
    with org.as_("operator").act() as ctx:
        openlist.approve_list(ctx, YEAR)

    def progress() -> openlist.OpenListOut:
        with org.db.sessions() as s:
            return openlist.public_list(s, YEAR)

    now = progress()
    by_id = {i.id: i for i in now.items}
    assert [by_id[i].progress for i in ids] == ["opened", "planned", "planned", "planned"]
    assert by_id[ids[0]].dataset_name == opened.name
    assert (now.total, now.opened, now.overdue, now.percent) == (4, 1, 0, 25.0)
    depts = {d.department_name: (d.total, d.opened, d.overdue, d.percent) for d in now.departments}
    assert depts == {"西宁市统计局": (2, 1, 0, 50.0), "海西州统计局": (2, 0, 0, 0.0)}
    # The clock moves past April 1st: the unopened April items are overdue, September's not.
    monkeypatch.setattr(clock, "now", lambda: _at(date(YEAR, 5, 2)))
    later = progress()
    assert [{i.id: i for i in later.items}[x].progress for x in ids] == [
        "opened",
        "overdue",
        "planned",
        "overdue",
    ]
    assert (later.opened, later.overdue) == (1, 2)
    # The opened dataset is withdrawn: the item is no longer counted as opened, and late.
    with org.as_("xn_officer").act() as ctx:
        datasets.withdraw_dataset(ctx, opened.dataset_id, WithdrawIn(reason="停止更新"))
    gone = progress()
    first = {i.id: i for i in gone.items}[ids[0]]
    assert (first.progress, first.dataset_name) == ("overdue", None)
    assert (gone.opened, gone.overdue, gone.percent) == (0, 3, 0.0)


def test_a_planned_item_is_linked_once_catalogued(org: Org, tmp_path: Path) -> None:
    item = _propose(org, "xn_officer", name="全省中小学校名录")
    with org.as_("operator").act() as ctx:
        openlist.review_item(ctx, item.id, ItemReviewIn(accept=True))
        openlist.approve_list(ctx, YEAR)
    opened = opened_schools(org, tmp_path)
    # Another department cannot link it; nor may an entry of another department be linked.
    other = _entry(org, "hx_officer", "海西州学校名录")
    with pytest.raises(PermissionDenied), org.as_("hx_officer").act() as ctx:
        openlist.link_entry(ctx, item.id, LinkEntryIn(entry=opened.entry_id))
    with pytest.raises(InvalidInput) as exc, org.as_("xn_officer").act() as ctx:
        openlist.link_entry(ctx, item.id, LinkEntryIn(entry=other))
    assert exc.value.code == "openlist_department_mismatch"
    with org.as_("xn_officer").act() as ctx:
        linked = openlist.link_entry(ctx, item.id, LinkEntryIn(entry=opened.resource_code))
    assert (linked.entry_id, linked.progress, linked.dataset_name) == (
        opened.entry_id,
        "opened",
        opened.name,
    )


def test_the_operator_may_remove_an_accepted_item_from_a_draft(org: Org) -> None:
    item = _propose(org, "xn_officer", name="公交线路")
    with org.as_("operator").act() as ctx:
        openlist.review_item(ctx, item.id, ItemReviewIn(accept=True))
    with pytest.raises(Conflict), org.as_("xn_officer").act() as ctx:
        openlist.withdraw_item(ctx, item.id)
    with org.as_("operator").act() as ctx:
        openlist.withdraw_item(ctx, item.id)
    assert _items(org) == 0


def test_proposals_and_reviews_notify_the_other_side(org: Org) -> None:
    from govdata.notifications.models import Notification

    def kinds(user: str) -> list[tuple[str, str | None]]:
        with org.db.sessions() as s:
            rows = s.execute(
                select(Notification.kind, Notification.target_id).where(
                    Notification.user_id == org.users[user],
                    Notification.kind.startswith("opendata.openlist."),
                )
            )
            return [(k, t) for k, t in rows]

    item = _propose(org, "xn_officer", name="公交线路")
    assert kinds("operator") == [("opendata.openlist.proposed", item.id)]
    assert kinds("hx_officer") == []
    with org.as_("operator").act() as ctx:
        openlist.review_item(ctx, item.id, ItemReviewIn(accept=False, reason="已在其他清单"))
    assert kinds("xn_officer") == [("opendata.openlist.reviewed", item.id)]
    assert kinds("hx_officer") == []
