"""schema.org Dataset JSON-LD: what Google's Dataset guidelines require and recommend, with
absolute URLs, from a real opened dataset."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from govdata.opendata import schemaorg, views
from tests.identity.conftest import Org
from tests.opendata.fixtures import opened_schools

# The JSON-LD is built from the public shape alone; the store plays no part in it.
sqlite_only = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
BASE = "https://data.example.gov.cn/"


def _urls(value: Any) -> list[str]:
    """Every value under a key that names a link."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in ("url", "contentUrl", "license", "@id") and isinstance(inner, str):
                found.append(inner)
            found += _urls(inner)
    elif isinstance(value, list):
        for inner in value:
            found += _urls(inner)
    return found


@sqlite_only
def test_an_open_dataset(org: Org, tmp_path: Path) -> None:
    opened = opened_schools(org, tmp_path)
    with org.db.sessions() as s:
        detail = views.public_detail(s, org.settings, opened.name)
    doc = schemaorg.dataset_jsonld(detail, BASE)
    # Serialisable as it is, and unchanged by the round trip.
    assert json.loads(json.dumps(doc, ensure_ascii=False)) == doc
    assert doc["@context"] == "https://schema.org" and doc["@type"] == "Dataset"
    # Required by the guidelines: a name and a 50–5000 character description.
    assert doc["name"] == "全省中小学校名录"
    assert 50 <= len(doc["description"]) <= 5000
    assert doc["description"].startswith("全省中小学校的代码")
    # Recommended properties.
    assert doc["url"] == f"https://data.example.gov.cn/open/datasets/{opened.name}"
    assert doc["@id"] == f"https://data.example.gov.cn/dataset/{opened.dataset_id}"
    assert doc["identifier"] == [opened.resource_code, opened.dataset_id]
    assert doc["license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert doc["creator"]["@type"] == "GovernmentOrganization"
    assert doc["creator"]["name"] == detail.publisher.name == doc["publisher"]["name"]
    assert doc["isAccessibleForFree"] is True and doc["inLanguage"] == "zh-CN"
    assert doc["dateCreated"] == detail.created.isoformat()
    assert doc["dateModified"] == detail.modified.isoformat()
    assert doc["spatialCoverage"] == {"@type": "Place", "name": detail.region.name}
    assert set(detail.tags) <= set(doc["keywords"])
    assert [v["alternateName"] for v in doc["variableMeasured"]] == [
        "school_code",
        "school_name",
        "county",
        "students",
    ]
    # The three files, not the API; the sensitive item appears nowhere.
    assert [(d["@type"], d["encodingFormat"]) for d in doc["distribution"]] == [
        ("DataDownload", "text/csv"),
        ("DataDownload", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("DataDownload", "application/json"),
    ]
    assert [d["contentUrl"] for d in doc["distribution"]] == [
        f"https://data.example.gov.cn/open/datasets/{opened.name}/download.{ext}"
        for ext in ("csv", "xlsx", "json")
    ]
    assert "head_mobile" not in json.dumps(doc) and "校长手机号码" not in json.dumps(doc)
    assert "conditionsOfAccess" not in doc
    for url in _urls(doc):
        assert url.startswith(("https://", "http://")), url
    # The same with a base URL given without the trailing slash.
    assert schemaorg.dataset_jsonld(detail, BASE.rstrip("/")) == doc


@sqlite_only
def test_a_conditional_dataset_and_a_short_summary(org: Org, tmp_path: Path) -> None:
    opened = opened_schools(org, tmp_path, open_type="conditional", summary="学校名录。")
    with org.db.sessions() as s:
        detail = views.public_detail(s, org.settings, opened.name)
    doc = schemaorg.dataset_jsonld(detail, BASE)
    assert doc["conditionsOfAccess"] == "仅限科研用途"
    assert doc["isAccessibleForFree"] is True
    # Too short for the guidelines on its own: completed with the dataset's facts.
    assert doc["description"].startswith("学校名录。")
    assert len(doc["description"]) >= 50 and detail.publisher.name in doc["description"]


def test_script_text_cannot_close_the_element() -> None:
    text = schemaorg.script_text({"name": "</script><b>&", "n": "中文"})
    assert "<" not in text and ">" not in text and "&" not in text and "中文" in text
    assert json.loads(text) == {"name": "</script><b>&", "n": "中文"}
