"""How the annual open list reads: each accepted item's progress, computed at every request
from the public gate (``access.public_clause``) and the clock, and the figures overall and
per department."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog import vocab as catalog_vocab
from govdata.catalog.models import CatalogEntry
from govdata.core import clock
from govdata.core.errors import NotFound
from govdata.identity import queries as org
from govdata.opendata.access import public_clause
from govdata.opendata.models import OpenDataset
from govdata.opendata.reuse_models import OpenList, OpenListItem
from govdata.opendata.reuse_schemas import DepartmentProgress, ItemOut, OpenListOut, YearOut
from govdata.opendata.vocab import label


class ListStatus(StrEnum):
    DRAFT = "draft"  # departments propose, the operator reviews
    APPROVED = "approved"  # public and locked


class ItemStatus(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Progress(StrEnum):
    OPENED = "opened"
    OVERDUE = "overdue"
    PLANNED = "planned"


LABELS: dict[str, tuple[str, str]] = {
    ListStatus.DRAFT: ("编制中", "Draft"),
    ListStatus.APPROVED: ("已批准", "Approved"),
    ItemStatus.PROPOSED: ("待审核", "Proposed"),
    ItemStatus.ACCEPTED: ("已纳入", "Accepted"),
    ItemStatus.REJECTED: ("未纳入", "Rejected"),
    Progress.OPENED: ("已开放", "Opened"),
    Progress.OVERDUE: ("已逾期", "Overdue"),
    Progress.PLANNED: ("计划中", "Planned"),
}


def today() -> date:
    """The day in Asia/Shanghai (read through ``clock.now`` so tests can move it)."""
    return clock.now().astimezone(clock.DISPLAY_TZ).date()


def _percent(part: int, whole: int) -> float:
    return round(part * 100.0 / whole, 1) if whole else 0.0


def list_not_found(year: int | str) -> NotFound:
    return NotFound(
        "该年度开放清单不存在",
        "No open list for that year",
        code="openlist_not_found",
        details={"year": year},
    )


def _opened(s: Session, entry_ids: list[str]) -> dict[str, tuple[str, datetime | None]]:
    """entry id -> (dataset name, opened at) for the entries with a public dataset now."""
    if not entry_ids:
        return {}
    rows = s.execute(
        select(OpenDataset.entry_id, OpenDataset.name, OpenDataset.opened_at)
        .join(CatalogEntry, public_clause())
        .where(OpenDataset.entry_id.in_(entry_ids))
    )
    return {e: (n, at) for e, n, at in rows}


def items_out(
    s: Session, items: list[OpenListItem], lists: dict[str, OpenList], locale: str = "zh_CN"
) -> list[ItemOut]:
    entries = {
        e.id: e
        for e in s.scalars(
            select(CatalogEntry).where(
                CatalogEntry.id.in_([i.entry_id for i in items if i.entry_id])
            )
        )
    }
    opened = _opened(s, list(entries))
    names = org.department_names(s, {i.department_id for i in items})
    day = today()
    out = []
    for i in items:
        progress: str | None = None
        found = opened.get(i.entry_id or "")
        if i.status == ItemStatus.ACCEPTED:
            if found:
                progress = Progress.OPENED
            elif i.planned_date < day:
                progress = Progress.OVERDUE
            else:
                progress = Progress.PLANNED
        entry = entries.get(i.entry_id or "")
        out.append(
            ItemOut(
                id=i.id,
                year=lists[i.list_id].year,
                department_id=i.department_id,
                department_name=names.get(i.department_id, ""),
                entry_id=i.entry_id,
                resource_code=entry.resource_code if entry else None,
                name=i.name,
                description=i.description,
                planned_date=i.planned_date,
                open_type=i.open_type,
                open_type_label=catalog_vocab.label("open_type", i.open_type, locale),
                status=i.status,
                status_label=label(LABELS, i.status, locale),
                review_reason=i.review_reason,
                progress=progress,
                progress_label=label(LABELS, progress, locale),
                dataset_name=found[0] if found and progress == Progress.OPENED else None,
                opened_at=found[1] if found else None,
            )
        )
    return out


def list_out(
    s: Session, lst: OpenList, departments: set[str] | None, locale: str = "zh_CN"
) -> OpenListOut:
    """The list with its progress; ``departments`` limits the items shown (not the figures).

    The figures count accepted items of the whole list.
    """
    rows = s.scalars(
        select(OpenListItem)
        .where(OpenListItem.list_id == lst.id)
        .order_by(OpenListItem.planned_date, OpenListItem.name, OpenListItem.id)
    ).all()
    items = items_out(s, list(rows), {lst.id: lst}, locale)
    accepted = [i for i in items if i.status == ItemStatus.ACCEPTED]
    per: dict[str, list[ItemOut]] = {}
    for i in accepted:
        per.setdefault(i.department_id, []).append(i)
    depts = sorted(
        (
            DepartmentProgress(
                department_id=d,
                department_name=its[0].department_name,
                total=len(its),
                opened=sum(1 for i in its if i.progress == Progress.OPENED),
                overdue=sum(1 for i in its if i.progress == Progress.OVERDUE),
                percent=_percent(sum(1 for i in its if i.progress == Progress.OPENED), len(its)),
            )
            for d, its in per.items()
        ),
        key=lambda d: (-d.percent, d.department_name),
    )
    opened = sum(1 for i in accepted if i.progress == Progress.OPENED)
    shown = items if departments is None else [i for i in items if i.department_id in departments]
    return OpenListOut(
        id=lst.id,
        year=lst.year,
        status=lst.status,
        status_label=label(LABELS, lst.status, locale),
        approved_at=lst.approved_at,
        items=shown,
        departments=depts,
        total=len(accepted),
        opened=opened,
        overdue=sum(1 for i in accepted if i.progress == Progress.OVERDUE),
        percent=_percent(opened, len(accepted)),
        pending=sum(1 for i in items if i.status == ItemStatus.PROPOSED),
    )


def years(s: Session, status: str | None, locale: str) -> list[YearOut]:
    stmt = select(OpenList.year, OpenList.status).order_by(OpenList.year.desc())
    if status:
        stmt = stmt.where(OpenList.status == status)
    return [
        YearOut(year=y, status=st, status_label=label(LABELS, st, locale))
        for y, st in s.execute(stmt)
    ]


def public_years(s: Session, locale: str = "zh_CN") -> list[YearOut]:
    return years(s, ListStatus.APPROVED, locale)


def public_list(s: Session, year: int | None = None, locale: str = "zh_CN") -> OpenListOut:
    """An approved list as the public sees it (accepted items only); the latest approved
    year when ``year`` is None. Drafts answer ``openlist_not_found``."""
    stmt = select(OpenList).where(OpenList.status == ListStatus.APPROVED)
    stmt = (
        stmt.where(OpenList.year == year)
        if year is not None
        else stmt.order_by(OpenList.year.desc())
    )
    lst = s.scalars(stmt.limit(1)).first()
    if lst is None:
        raise list_not_found(year if year is not None else "latest")
    out = list_out(s, lst, None, locale)
    out.items = [i for i in out.items if i.status == ItemStatus.ACCEPTED]
    out.pending = 0
    return out
