"""The public gate: which datasets the public may see, and which of their fields.

Every public path — portal pages, search, downloads, the CKAN-compatible API, the DCAT
export, the open data API — selects datasets through ``public_clause`` and columns through
``open_fields``. Both read the catalog entry as it is now, so a dataset whose entry was
withdrawn, re-graded above 2 or closed vanishes everywhere at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session

from govdata.catalog.models import CatalogEntry, EntryItem
from govdata.catalog.vocab import EntryStatus, OpenType
from govdata.core.errors import NotFound
from govdata.exchange.models import Mount
from govdata.opendata.models import OpenDataset
from govdata.opendata.vocab import OPENABLE_GRADE, DatasetStatus

OPENABLE_TYPES = (OpenType.OPEN.value, OpenType.CONDITIONAL.value)


def entry_openable() -> ColumnElement[bool]:
    """The entry itself may be open: published, grade ≤ 2, open type open or conditional."""
    return and_(
        CatalogEntry.status == EntryStatus.PUBLISHED.value,
        CatalogEntry.published_version_id.is_not(None),
        CatalogEntry.grade <= OPENABLE_GRADE,
        CatalogEntry.open_type.in_(OPENABLE_TYPES),
    )


def public_clause() -> ColumnElement[bool]:
    """Join condition and filter in one: the dataset is open and its entry qualifies."""
    return and_(
        OpenDataset.status == DatasetStatus.OPEN.value,
        CatalogEntry.id == OpenDataset.entry_id,
        entry_openable(),
    )


def public_datasets() -> Select[OpenDataset, CatalogEntry]:
    """``SELECT dataset, entry`` of every dataset the public may see (add order and page)."""
    return select(OpenDataset, CatalogEntry).join(CatalogEntry, public_clause())


def not_found(ref: str) -> NotFound:
    # The same answer for "never existed" and "not public": the public learns nothing of
    # closed data, not even that it exists.
    return NotFound(
        "数据集不存在或未开放",
        "The dataset does not exist or is not open",
        code="opendata_dataset_not_found",
        details={"id": ref},
    )


def public_dataset(s: Session, ref: str) -> tuple[OpenDataset, CatalogEntry]:
    """An open dataset by id or name (or its entry's resource code), else ``not_found``."""
    ref = (ref or "").strip()
    row = s.execute(
        public_datasets().where(
            or_(
                OpenDataset.id == ref,
                OpenDataset.name == ref.lower(),
                CatalogEntry.resource_code == ref,
            )
        )
    ).first()
    if row is None:
        raise not_found(ref)
    return row[0], row[1]


@dataclass(frozen=True)
class OpenField:
    """One column the public gets: its lake name, the item it carries, and the item's facts."""

    field: str
    item: str
    name_en: str | None
    data_type: str
    description: str | None
    arrow_type: str


def openable_items(s: Session, entry: CatalogEntry) -> dict[str, EntryItem]:
    """Items of the published version that may ever open: grade ≤ 2 and not sensitive."""
    items = s.scalars(
        select(EntryItem)
        .where(EntryItem.version_id == entry.published_version_id)
        .order_by(EntryItem.position)
    ).all()
    return {i.name: i for i in items if i.grade <= OPENABLE_GRADE and not i.is_sensitive}


def lake_mount(s: Session, entry_id: str) -> Mount | None:
    """The entry's physical mount (the lake table open files are made from), if any."""
    mount = s.scalars(select(Mount).where(Mount.entry_id == entry_id)).one_or_none()
    return mount if mount is not None and mount.lake_table else None


def open_fields(s: Session, dataset: OpenDataset, entry: CatalogEntry) -> list[OpenField]:
    """The dataset's public columns, in mount order: chosen at opening and still openable."""
    mount = lake_mount(s, entry.id)
    if mount is None:
        return []
    items = openable_items(s, entry)
    chosen = set(dataset.fields)
    out = []
    for col in mount.columns:
        item = items.get(str(col.get("item") or ""))
        if item is None or col["field"] not in chosen:
            continue
        out.append(
            OpenField(
                field=col["field"],
                item=item.name,
                name_en=item.name_en,
                data_type=item.data_type,
                description=item.description,
                arrow_type=str(col.get("type") or "string"),
            )
        )
    return out
