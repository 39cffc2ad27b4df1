"""The platform's own dataset search: text, facet filters and counts, orders, paging, and
the public gate (datasets that are not public are never counted or returned)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from govdata.core.clock import now
from govdata.core.errors import InvalidInput
from govdata.opendata import datasets, search
from govdata.opendata.models import OpenDataset
from govdata.opendata.schemas import ProposeIn, WithdrawIn
from govdata.opendata.search import DatasetQuery, search_datasets
from tests.identity.conftest import Org
from tests.opendata.fixtures import (
    Opened,
    collected_schools,
    opened_schools,
    opened_schools_by,
    republish_schools,
)


def _three(org: Org, tmp: Path) -> dict[str, Opened]:
    """Two Xining datasets (education, health — the latter conditional) and one of Haixi."""
    return {
        "schools": opened_schools(
            org,
            tmp,
            name="全省中小学校名录",
            classification_code="213002",
            keywords=["教育", "学校"],
            update_cycle="yearly",
        ),
        "clinics": opened_schools(
            org,
            tmp,
            name="西宁市医疗机构名录",
            summary="西宁市医院和诊所的名称与地址。",
            classification_code="202002",
            keywords=["卫生"],
            format="spreadsheet",
            update_cycle="monthly",
            open_type="conditional",
        ),
        "haixi": opened_schools_by(
            org,
            tmp,
            "hx_officer",
            "hx_stats",
            name="海西州学校分布",
            summary="海西州各县市学校的分布情况。",
            classification_code="213002",
            keywords=["教育"],
            update_cycle="yearly",
        ),
    }


def _search(org: Org, **kw: Any) -> search.DatasetSearchResult:
    with org.db.sessions() as s:
        return search_datasets(s, DatasetQuery(**kw))


def _names(result: search.DatasetSearchResult) -> set[str]:
    return {r.name for r in result.results}


def _facet(result: search.DatasetSearchResult, name: str) -> dict[str, tuple[str, int]]:
    return {f.value: (f.label, f.count) for f in result.facets[name]}


def test_keywords_facets_and_their_counts(org: Org, tmp_path: Path) -> None:
    d = _three(org, tmp_path)
    everything = _search(org, facets=list(search.FACETS))
    assert everything.count == 3 and _names(everything) == {o.name for o in d.values()}
    assert _facet(everything, "topic") == {"213": ("教育文化", 2), "202": ("健康保障", 1)}
    assert _facet(everything, "publisher") == {
        "xn_stats": ("西宁市统计局", 2),
        "hx_stats": ("海西州统计局", 1),
    }
    assert _facet(everything, "open_type") == {
        "open": ("无条件开放", 2),
        "conditional": ("有条件开放", 1),
    }
    assert _facet(everything, "format") == {
        "database": ("数据库", 2),
        "spreadsheet": ("电子表格", 1),
    }
    assert _facet(everything, "update_cycle") == {"yearly": ("每年", 2), "monthly": ("每月", 1)}
    assert _facet(everything, "tags") == {
        "教育": ("教育", 2),
        "学校": ("学校", 1),
        "卫生": ("卫生", 1),
    }
    assert _facet(everything, "license") == {"cc-by-4.0": ("知识共享署名 4.0", 3)}
    assert _facet(everything, "region") == {
        "630100": ("西宁市", 2),
        "632800": ("海西蒙古族藏族自治州", 1),
    }

    # Chinese free text, segmented: the title words find their dataset.
    assert _names(_search(org, q="医疗机构")) == {d["clinics"].name}
    assert _names(_search(org, q="海西 学校")) == {d["haixi"].name}
    assert _search(org, q="不存在的词语组合").count == 0
    # Relevance: the exact title first.
    ranked = _search(org, q="海西州学校分布")
    assert ranked.results[0].name == d["haixi"].name

    # Each filter, and each facet counted without its own filter but under the others.
    education = _search(org, topic=["213"], facets=["topic", "publisher", "update_cycle"])
    assert _names(education) == {d["schools"].name, d["haixi"].name}
    assert _facet(education, "topic") == {"213": ("教育文化", 2), "202": ("健康保障", 1)}
    assert _facet(education, "update_cycle") == {"yearly": ("每年", 2)}
    assert _names(_search(org, publisher=["hx_stats"])) == {d["haixi"].name}
    assert _search(org, publisher=["xn_stats", "hx_stats"]).count == 3
    assert _names(_search(org, open_type=["conditional"])) == {d["clinics"].name}
    # Labels are accepted for the catalog vocabularies.
    assert _names(_search(org, open_type=["有条件开放"])) == {d["clinics"].name}
    assert _names(_search(org, format=["spreadsheet"])) == {d["clinics"].name}
    assert _names(_search(org, update_cycle=["yearly"])) == {d["schools"].name, d["haixi"].name}
    assert _names(_search(org, license=["cc-by-4.0"])) == {o.name for o in d.values()}
    assert _search(org, license=["odc-by"]).count == 0
    # Tags AND: both must be keywords; the tag facet counts under its own filter.
    assert _names(_search(org, tags=["教育"])) == {d["schools"].name, d["haixi"].name}
    both = _search(org, tags=["教育", "学校"], facets=["tags"])
    assert _names(both) == {d["schools"].name}
    assert _facet(both, "tags") == {"教育": ("教育", 1), "学校": ("学校", 1)}
    # Region: a code matches its subtree (the province holds both cities' datasets).
    assert _search(org, region=["630000"]).count == 3
    assert _names(_search(org, region=["632800"])) == {d["haixi"].name}
    assert _search(org, region=["630100"]).count == 2
    assert _search(org, region=["630102"]).count == 0
    # Two facets AND; two values of one facet OR.
    assert _search(org, topic=["213"], open_type=["conditional"]).count == 0
    assert _search(org, topic=["213", "202"]).count == 3
    # rows=0: count and facets only; facet_limit keeps the most frequent values.
    counted = _search(org, rows=0, facets=["topic"], facet_limit=1)
    assert counted.count == 3 and counted.results == []
    assert _facet(counted, "topic") == {"213": ("教育文化", 2)}
    # English labels in the English locale.
    with org.db.sessions() as s:
        en = search_datasets(s, DatasetQuery(facets=["open_type"]), "en")
    assert {f.label for f in en.facets["open_type"]} == {"Open", "Conditionally open"}
    assert {r.open_type_label for r in en.results} == {"Open", "Conditionally open"}


def test_orders_paging_and_the_modified_range(org: Org, tmp_path: Path) -> None:
    d = _three(org, tmp_path)
    base = now().replace(microsecond=0)
    stamps = {
        "schools": base - timedelta(days=30),
        "clinics": base,
        "haixi": base - timedelta(days=5),
    }
    with org.db.transaction() as s:
        for key, when in stamps.items():
            s.execute(
                update(OpenDataset)
                .where(OpenDataset.id == d[key].dataset_id)
                .values(updated_at=when, views=len(key), downloads=0, calls=0)
            )
        # The entries' own change times are older, so the dataset's stamp is "modified".
        from govdata.catalog.models import CatalogEntry

        s.execute(
            update(CatalogEntry)
            .where(CatalogEntry.id.in_([o.entry_id for o in d.values()]))
            .values(updated_at=base - timedelta(days=60))
        )

    def order(**kw: Any) -> list[str]:
        return [r.name for r in _search(org, **kw).results]

    newest = [d[k].name for k in ("clinics", "haixi", "schools")]
    assert order() == newest  # no q: modified_desc
    assert order(sort="modified_desc") == newest
    assert order(sort="modified_asc") == newest[::-1]
    assert order(sort="name_asc") == sorted(o.name for o in d.values())
    assert order(sort="name_desc") == sorted((o.name for o in d.values()), reverse=True)
    assert order(sort="id_asc") == [o.name for o in sorted(d.values(), key=lambda o: o.dataset_id)]
    assert order(sort="id_desc") == order(sort="id_asc")[::-1]
    # popular: views+downloads+calls, here len(key): schools 7, clinics 7, haixi 5; ties by id.
    tied = sorted((d["schools"], d["clinics"]), key=lambda o: o.dataset_id)
    assert order(sort="popular") == [tied[0].name, tied[1].name, d["haixi"].name]
    assert len(order(sort="created_desc")) == 3
    # Paging by id: every dataset exactly once, pages of one and of two.
    for rows in (1, 2):
        seen: list[str] = []
        for start in range(0, 4, rows):
            page = _search(org, sort="id_asc", start=start, rows=rows)
            assert page.count == 3
            seen.extend(r.id for r in page.results)
        assert seen == sorted(o.dataset_id for o in d.values())
    assert _search(org, start=10).results == []
    # The modified range is inclusive at both ends.
    got = _search(org, modified_from=base - timedelta(days=5), modified_to=base)
    assert _names(got) == {d["clinics"].name, d["haixi"].name}
    assert _names(_search(org, modified_to=base - timedelta(days=30))) == {d["schools"].name}
    assert _search(org, modified_from=base + timedelta(seconds=1)).count == 0
    summary = {r.name: r for r in _search(org).results}
    assert summary[d["haixi"].name].modified == stamps["haixi"]


def test_datasets_that_are_not_public_are_never_counted(org: Org, tmp_path: Path) -> None:
    shown = opened_schools(org, tmp_path, name="公开的学校名录", keywords=["学校"])
    regraded = opened_schools(org, tmp_path, name="调为三级的学校名录", keywords=["学校"])
    republish_schools(org, regraded, name="调为三级的学校名录", grade=3, keywords=["学校"])
    closed = opened_schools(org, tmp_path, name="改为不开放的学校名录", keywords=["学校"])
    republish_schools(org, closed, name="改为不开放的学校名录", open_type="closed")
    withdrawn = opened_schools(org, tmp_path, name="已撤下的学校名录", keywords=["学校"])
    with org.as_("xn_officer").act() as ctx:
        datasets.withdraw_dataset(ctx, withdrawn.dataset_id, WithdrawIn(reason="停止更新"))
    entry_id, _, _ = collected_schools(org, tmp_path, name="待审核的学校名录", keywords=["学校"])
    with org.as_("xn_officer").act() as ctx:
        datasets.propose_opening(ctx, entry_id, ProposeIn())
    for kw in (
        {},
        {"q": "学校"},
        {"tags": ["学校"]},
        {"sort": "id_asc", "rows": 1000},
        {"open_type": ["open", "conditional"]},
    ):
        result = _search(org, facets=list(search.FACETS), **kw)
        assert result.count == 1 and [r.name for r in result.results] == [shown.name], kw
        for facet, values in result.facets.items():
            assert sum(v.count for v in values) == 1, facet


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"sort": "newest"}, "sort"),
        ({"facets": ["grade"]}, "facets"),
        ({"rows": 1001}, "rows"),
        ({"start": -1}, "start"),
        ({"facet_limit": -2}, "facet_limit"),
        ({"open_type": ["closed-ish"]}, "open_type"),
        ({"colour": "red"}, "colour"),
        ({"modified_from": "2026-01-01T00:00:00"}, "modified_from"),
    ],
)
def test_bad_input_is_refused_with_its_code(kw: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        DatasetQuery(**kw)
    assert exc.value.code == "opendata_search_invalid"
    assert exc.value.details["field"] == field
