"""schema.org Dataset JSON-LD for the dataset pages, so search engines (Google Dataset Search,
Baidu) list open datasets with their publisher, licence and downloads.

Follows Google's Dataset structured-data guidelines: ``name`` and a ``description`` of 50 to
5000 characters are required; creator, licence, keywords, spatial coverage, variables and
``DataDownload`` distributions are recommended. Every URL is absolute (from the node's base
URL), and ``@id`` is the dataset's DCAT URI, so the two descriptions name the same thing.
"""

from __future__ import annotations

import json
from typing import Any

from govdata.catalog.vocab import OpenType
from govdata.opendata.views import DatasetDetail

DESCRIPTION_MIN = 50
DESCRIPTION_MAX = 5000
PORTAL_NAME = "公共数据开放平台"


def _description(d: DatasetDetail) -> str:
    """The dataset's summary; a short one gets a sentence of facts so it reaches 50 characters."""
    text = (d.notes or "").strip()
    if len(text) < DESCRIPTION_MIN:
        facts = (
            f"“{d.title}”是{d.publisher.name}在{PORTAL_NAME}发布的"
            f"{d.topic.name or d.topic.code}类公共数据（{d.open_type_label}），"
            f"覆盖{d.region.name or d.region.code}，更新周期：{d.update_cycle_label}，"
            f"包含{len(d.fields)}个数据项，提供 CSV、XLSX、JSON 下载和开放接口。"
        )
        text = f"{text} {facts}".strip()
    return text[:DESCRIPTION_MAX]


def dataset_jsonld(detail: DatasetDetail, base_url: str) -> dict[str, Any]:
    """The dataset as a schema.org ``Dataset`` (a JSON-serialisable dict)."""
    base = base_url.rstrip("/")
    d = detail
    publisher = {
        "@type": "GovernmentOrganization",
        "name": d.publisher.name,
        "url": f"{base}/open/publishers/{d.publisher.code}",
    }
    out: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Dataset",
        "@id": f"{base}/dataset/{d.id}",
        "name": d.title,
        "description": _description(d),
        "url": f"{base}/open/datasets/{d.name}",
        "identifier": [d.resource_code, d.id],
        "keywords": [*d.tags, *([d.topic.name] if d.topic.name else [])],
        "creator": publisher,
        "publisher": publisher,
        "dateCreated": d.created.isoformat(),
        "dateModified": d.modified.isoformat(),
        "spatialCoverage": {"@type": "Place", "name": d.region.name or d.region.code},
        "isAccessibleForFree": True,
        "inLanguage": "zh-CN",
        "includedInDataCatalog": {
            "@type": "DataCatalog",
            "name": PORTAL_NAME,
            "url": f"{base}/open",
        },
        "variableMeasured": [
            {
                "@type": "PropertyValue",
                "name": f.title,
                "alternateName": f.name,
                **({"description": f.description} if f.description else {}),
            }
            for f in d.fields
        ],
        "distribution": [
            {
                "@type": "DataDownload",
                "name": r.name,
                "encodingFormat": r.media_type,
                "contentUrl": f"{base}{r.url}",
            }
            for r in d.resources
            if r.format != "API"
        ],
    }
    if d.license.url:
        out["license"] = d.license.url
    if d.open_type == OpenType.CONDITIONAL.value and d.open_condition:
        # Free of charge, but the data itself needs an approved application first.
        out["conditionsOfAccess"] = d.open_condition
    if d.lake_version is not None:
        out["version"] = str(d.lake_version)
    return out


def script_text(data: dict[str, Any]) -> str:
    """The JSON for a ``<script type="application/ld+json">`` element: ``<``, ``>`` and ``&``
    escaped so no value can close the element early."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
