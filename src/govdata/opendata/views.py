"""What the public sees of an open dataset: one shape for the portal, the CKAN-compatible
API and the DCAT export, built only from public facts.

Resources are not stored: every open dataset has the same four (CSV, XLSX, JSON files and
the open API), with ids derived from the dataset's id so they stay stable.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog import vocab as catalog_vocab
from govdata.catalog.models import CatalogClass, CatalogEntry, EntryVersion
from govdata.catalog.vocab import OpenType
from govdata.config import Settings
from govdata.governance.quality_runs import latest_runs
from govdata.identity import queries as org
from govdata.lake.tables import Lake
from govdata.opendata.access import (
    lake_mount,
    not_found,
    open_fields,
    public_dataset,
    public_datasets,
)
from govdata.opendata.models import OpenDataset
from govdata.opendata.vocab import LICENSES

ResourceFormat = Literal["CSV", "XLSX", "JSON", "API"]
RESOURCE_FORMATS: tuple[ResourceFormat, ...] = ("CSV", "XLSX", "JSON", "API")
MEDIA_TYPES: dict[str, str] = {
    "CSV": "text/csv",
    "XLSX": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "JSON": "application/json",
    "API": "application/json",
}
_RESOURCE_NS = uuid.UUID("6f1d3c52-8f0e-4c7a-9a57-3f2b0c7e5d11")
# A resource id is its dataset's id XOR a mask of its format: stable, UUID-shaped as CKAN
# clients expect, and reversible, so finding a resource is four key lookups, not a scan.
_MASKS = {fmt: uuid.uuid5(_RESOURCE_NS, fmt).int for fmt in ("CSV", "XLSX", "JSON", "API")}


def resource_id(dataset_id: str, fmt: str) -> str:
    return str(uuid.UUID(int=uuid.UUID(dataset_id).int ^ _MASKS[fmt.upper()]))


def download_path(name: str, fmt: str) -> str:
    """Where a file of the dataset is downloaded (relative to the node's base URL)."""
    return f"/open/datasets/{name}/download.{fmt.lower()}"


def api_path(resource: str) -> str:
    return f"/api/3/action/datastore_search?resource_id={resource}"


class Named(BaseModel):
    code: str
    name: str


class Publisher(BaseModel):
    id: str
    code: str
    name: str


class License(BaseModel):
    id: str
    title: str
    url: str


class FieldOut(BaseModel):
    name: str  # the column name in files and the API
    title: str  # the catalog item's name
    title_en: str | None
    type: str  # the catalog data type (string, integer, decimal, date, datetime, ...)
    description: str | None


class ResourceOut(BaseModel):
    id: str
    name: str
    format: ResourceFormat
    media_type: str
    url: str  # path on this node; prefix with the node's base URL for an absolute link


class DatasetSummary(BaseModel):
    """A dataset in a list (search results, home page); no lake access needed."""

    id: str
    name: str
    title: str
    notes: str
    resource_code: str
    tags: list[str]
    publisher: Publisher
    topic: Named
    region: Named
    open_type: str  # open | conditional
    open_type_label: str
    update_cycle: str
    update_cycle_label: str
    license: License
    featured: bool
    views: int
    downloads: int
    calls: int
    created: datetime  # opened on the portal
    modified: datetime  # the later of the entry's and the dataset's last change


class DatasetDetail(DatasetSummary):
    """A dataset's page: adds its fields, resources, quality and data facts."""

    fields: list[FieldOut]
    resources: list[ResourceOut]
    quality_score: float | None
    rows: int | None
    lake_version: int | None
    data_modified: datetime | None
    contact_name: str | None
    contact_email: str | None
    open_condition: str | None


def _version(s: Session, entry: CatalogEntry) -> EntryVersion:
    version = s.get(EntryVersion, entry.published_version_id)
    assert version is not None
    return version


def _topics(s: Session, codes: set[str]) -> dict[str, str]:
    rows = s.execute(
        select(CatalogClass.code, CatalogClass.name).where(CatalogClass.code.in_(codes))
    )
    return {code: name for code, name in rows}


def topic_code(entry: CatalogEntry) -> str:
    """The dataset's topic (CKAN group): the entry's classification at level 2 (类 + 项)."""
    return entry.class_code[:3]


def summaries(
    s: Session, rows: Sequence[tuple[OpenDataset, CatalogEntry]], locale: str = "zh_CN"
) -> list[DatasetSummary]:
    """List shapes of many datasets with a few batched lookups (versions, names)."""
    if not rows:
        return []
    versions = {
        v.id: v
        for v in s.scalars(
            select(EntryVersion).where(
                EntryVersion.id.in_([e.published_version_id for _, e in rows])
            )
        )
    }
    topics = _topics(s, {topic_code(e) for _, e in rows})
    regions = org.region_names(s, list({e.region_code for _, e in rows}))
    depts = {e.provider_department_id: e.provider_code for _, e in rows}
    out = []
    for ds, entry in rows:
        version = versions[entry.published_version_id or ""]
        lic = LICENSES.get(ds.license_id, (ds.license_id, ds.license_id, ""))
        zh = locale.startswith("zh")
        out.append(
            DatasetSummary(
                id=ds.id,
                name=ds.name,
                title=entry.name,
                notes=version.summary or "",
                resource_code=entry.resource_code,
                tags=list(version.keywords or []),
                publisher=Publisher(
                    id=entry.provider_department_id,
                    code=depts[entry.provider_department_id],
                    name=entry.provider_name,
                ),
                topic=Named(code=topic_code(entry), name=topics.get(topic_code(entry), "")),
                region=Named(code=entry.region_code, name=regions.get(entry.region_code, "")),
                open_type=entry.open_type,
                open_type_label=catalog_vocab.label("open_type", entry.open_type, locale),
                update_cycle=entry.update_cycle,
                update_cycle_label=catalog_vocab.label("update_cycle", entry.update_cycle, locale),
                license=License(id=ds.license_id, title=lic[0] if zh else lic[1], url=lic[2]),
                featured=ds.featured,
                views=ds.views,
                downloads=ds.downloads,
                calls=ds.calls,
                created=ds.opened_at or ds.created_at,
                modified=max(entry.updated_at, ds.updated_at),
            )
        )
    return out


def resources(ds: OpenDataset, entry: CatalogEntry, locale: str = "zh_CN") -> list[ResourceOut]:
    zh = locale.startswith("zh")
    out = []
    for fmt in RESOURCE_FORMATS:
        rid = resource_id(ds.id, fmt)
        if fmt == "API":
            name = "开放接口" if zh else "Open API"
            url = api_path(rid)
        else:
            name = f"{entry.name}（{fmt}）" if zh else f"{entry.name} ({fmt})"
            url = download_path(ds.name, fmt)
        out.append(ResourceOut(id=rid, name=name, format=fmt, media_type=MEDIA_TYPES[fmt], url=url))
    return out


def detail(
    s: Session,
    settings: Settings,
    ds: OpenDataset,
    entry: CatalogEntry,
    locale: str = "zh_CN",
) -> DatasetDetail:
    (summary,) = summaries(s, [(ds, entry)], locale)
    version = _version(s, entry)
    run = latest_runs(s, [entry.id]).get(entry.id)
    rows = lake_version = data_modified = None
    mount = lake_mount(s, entry.id)
    if mount is not None and mount.lake_table:
        lake = Lake.from_settings(settings)
        if lake.exists(mount.lake_table):
            info = lake.info(mount.lake_table)
            rows, lake_version = info.num_rows, info.version
            last = lake.history(mount.lake_table, 1)
            if last and last[0].get("timestamp"):
                data_modified = datetime.fromtimestamp(last[0]["timestamp"] / 1000).astimezone()
    return DatasetDetail(
        **summary.model_dump(),
        fields=[
            FieldOut(
                name=f.field,
                title=f.item,
                title_en=f.name_en,
                type=f.data_type,
                description=f.description,
            )
            for f in open_fields(s, ds, entry)
        ],
        resources=resources(ds, entry, locale),
        quality_score=run.score if run else None,
        rows=rows,
        lake_version=lake_version,
        data_modified=data_modified,
        contact_name=version.contact_name,
        contact_email=version.contact_email,
        open_condition=version.open_condition if entry.open_type == OpenType.CONDITIONAL else None,
    )


def public_detail(s: Session, settings: Settings, ref: str, locale: str = "zh_CN") -> DatasetDetail:
    """The public page of an open dataset by id or name; ``opendata_dataset_not_found``."""
    ds, entry = public_dataset(s, ref)
    return detail(s, settings, ds, entry, locale)


def find_resource(s: Session, rid: str) -> tuple[OpenDataset, CatalogEntry, ResourceFormat]:
    """The open dataset and format a resource id names (only public datasets match)."""
    try:
        value = uuid.UUID(rid.strip()).int
    except (ValueError, AttributeError):
        raise not_found(rid) from None
    for fmt in RESOURCE_FORMATS:
        candidate = str(uuid.UUID(int=value ^ _MASKS[fmt]))
        row = s.execute(public_datasets().where(OpenDataset.id == candidate)).first()
        if row is not None:
            return row[0], row[1], fmt
    raise not_found(rid)
