"""schema.org Dataset JSON-LD for the dataset pages (search engines). Stub until filled in."""

from __future__ import annotations

from typing import Any

from govdata.opendata.views import DatasetDetail


def dataset_jsonld(detail: DatasetDetail, base_url: str) -> dict[str, Any]:
    return {}
