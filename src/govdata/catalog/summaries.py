"""An entry as lists and search results show it, read from its own denormalised columns."""

from __future__ import annotations

from govdata.catalog.models import CatalogEntry
from govdata.catalog.schemas import EntrySummary, ProviderRef


def summary_out(entry: CatalogEntry) -> EntrySummary:
    """An entry as lists show it, from its own (denormalised) columns."""
    return EntrySummary(
        id=entry.id,
        resource_code=entry.resource_code,
        name=entry.name,
        provider=ProviderRef(
            id=entry.provider_department_id,
            code=entry.provider_code,
            name=entry.provider_name,
            credit_code=entry.provider_credit_code,
            region_code=entry.region_code,
        ),
        class_code=entry.class_code,
        category=entry.category,
        share_type=entry.share_type,
        open_type=entry.open_type,
        grade=entry.grade,
        format=entry.format,
        update_cycle=entry.update_cycle,
        status=entry.status,
        working_status=entry.working_status,
        origin=entry.origin,
        item_count=entry.item_count,
        published_at=entry.published_at,
        updated_at=entry.updated_at,
    )
