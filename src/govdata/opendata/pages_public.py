"""The public open-data portal: home, dataset search, dataset pages, publishers, API guide.

No sign-in is needed. Everything shown comes through the public gate (``access``) and the
public shapes (``views``); searching is ``search.search_datasets``. A dataset page counts a
view and audits it in the same transaction. An unknown dataset and one that is not public
get the same 404 page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pyarrow as pa
import pyarrow.compute as pc
from fastapi import Response
from pydantic import BaseModel

from govdata.core.errors import GovDataError, InvalidInput, NotFound
from govdata.lake.tables import Lake
from govdata.opendata import access, schemaorg, usage, views
from govdata.opendata.public_web import PublicPage, render
from govdata.opendata.search import (
    DatasetQuery,
    DatasetSearchResult,
    featured_datasets,
    portal_totals,
    search_datasets,
)
from govdata.opendata.vocab import LICENSES, UsageKind
from govdata.web.portal import Page, PortalRouter
from govdata.web.templating import N_

router = PortalRouter()

PAGE_ROWS = 20
MAX_PAGE_ROWS = 100
# The facets the search page offers, in the order shown, with their headings.
PAGE_FACETS: tuple[tuple[str, str], ...] = (
    ("topic", N_("Topic")),
    ("publisher", N_("Publisher")),
    ("region", N_("Region")),
    ("format", N_("Format")),
    ("update_cycle", N_("Update cycle")),
    ("open_type", N_("Open type")),
)
SORTS: tuple[tuple[str, str], ...] = (
    ("relevance", N_("Best match")),
    ("modified_desc", N_("Recently updated")),
    ("created_desc", N_("Newly opened")),
    ("popular", N_("Most used")),
    ("name_asc", N_("Dataset code")),
)
HISTORY_LIMIT = 10


def base_url(page: Page) -> str:
    return str(page.request.base_url).rstrip("/")


def _not_found(page: Page, error: GovDataError) -> Response:
    return render(page, "opendata/not_found.html", status=404, error=error)


# Home ----------------------------------------------------------------------------------------


@router.get("/open")
def home(page: PublicPage) -> Response:
    """The portal's front page: figures, featured, newest, most used, topics and publishers."""
    with page.caller.db.sessions() as s:
        locale = page.locale
        totals = portal_totals(s)
        featured = featured_datasets(s, 6, locale)
        newest = search_datasets(s, DatasetQuery(sort="created_desc", rows=6), locale)
        popular = search_datasets(s, DatasetQuery(sort="popular", rows=6), locale)
        browse = search_datasets(
            s, DatasetQuery(rows=0, facets=["topic", "publisher"], facet_limit=12), locale
        )
    return render(
        page,
        "opendata/home.html",
        totals=totals,
        featured=featured,
        newest=newest.results,
        popular=popular.results,
        topics=browse.facets["topic"],
        publishers=browse.facets["publisher"],
    )


# Search --------------------------------------------------------------------------------------


class FacetLink(BaseModel):
    value: str
    label: str
    count: int
    selected: bool
    href: str


class FacetGroup(BaseModel):
    name: str
    title: str
    values: list[FacetLink]


def _chosen(page: Page) -> dict[str, Any]:
    """The search as the query string gives it (facets may repeat)."""
    params = page.request.query_params
    chosen: dict[str, Any] = {name: params.getlist(name) for name, _ in PAGE_FACETS}
    chosen["tags"] = params.getlist("tags")
    chosen["q"] = (params.get("q") or "").strip()
    chosen["sort"] = params.get("sort") or ""
    chosen["start"] = params.get("start") or "0"
    chosen["rows"] = params.get("rows") or str(PAGE_ROWS)
    return chosen


def _query_string(chosen: dict[str, Any], **change: Any) -> str:
    """The search's query string with ``change`` applied (the page restarts at 0)."""
    values = {**chosen, "start": "0", **change}
    pairs: list[tuple[str, str]] = []
    if values["q"]:
        pairs.append(("q", values["q"]))
    for name in [n for n, _ in PAGE_FACETS] + ["tags"]:
        pairs.extend((name, v) for v in values[name])
    if values["sort"]:
        pairs.append(("sort", values["sort"]))
    if str(values["rows"]) != str(PAGE_ROWS):
        pairs.append(("rows", str(values["rows"])))
    if str(values["start"]) != "0":
        pairs.append(("start", str(values["start"])))
    return urlencode(pairs)


def _toggle(chosen: dict[str, Any], name: str, value: str) -> str:
    current = list(chosen[name])
    current = [v for v in current if v != value] if value in current else [*current, value]
    return "/open/datasets?" + _query_string(chosen, **{name: current})


def _groups(chosen: dict[str, Any], result: DatasetSearchResult) -> list[FacetGroup]:
    groups = []
    for name, title in PAGE_FACETS:
        counted = {f.value: f for f in result.facets.get(name, [])}
        links = [
            FacetLink(
                value=f.value,
                label=f.label,
                count=f.count,
                selected=f.value in chosen[name],
                href=_toggle(chosen, name, f.value),
            )
            for f in counted.values()
        ]
        # A chosen value that no longer counts stays listed, so it can be cleared.
        for value in chosen[name]:
            if value not in counted:
                links.append(
                    FacetLink(
                        value=value,
                        label=value,
                        count=0,
                        selected=True,
                        href=_toggle(chosen, name, value),
                    )
                )
        if links:
            groups.append(FacetGroup(name=name, title=title, values=links))
    return groups


def _int(text: str, default: int) -> int:
    try:
        return int(text)
    except ValueError:
        return default


@router.get("/open/datasets")
def dataset_search(page: PublicPage) -> Response:
    """Search the open datasets: text, facets, order, pages. A plain GET form; no JS needed."""
    chosen = _chosen(page)
    error = None
    start = max(_int(chosen["start"], 0), 0)
    rows = min(max(_int(chosen["rows"], PAGE_ROWS), 1), MAX_PAGE_ROWS)
    try:
        query = DatasetQuery(
            q=chosen["q"] or None,
            tags=chosen["tags"],
            sort=chosen["sort"] or None,
            start=start,
            rows=rows,
            facets=[name for name, _ in PAGE_FACETS],
            facet_limit=30,
            **{name: chosen[name] for name, _ in PAGE_FACETS},
        )
    except InvalidInput as exc:
        error = page.message(exc)
        query = DatasetQuery(rows=rows, facets=[name for name, _ in PAGE_FACETS], facet_limit=30)
        chosen = {**chosen, **{name: [] for name, _ in PAGE_FACETS}, "tags": [], "sort": ""}
    with page.caller.db.sessions() as s:
        result = search_datasets(s, query, page.locale)
    sort = query.sort or ("relevance" if query.q else "modified_desc")
    pages = (result.count + rows - 1) // rows
    return render(
        page,
        "opendata/search.html",
        status=422 if error else 200,
        error=error,
        chosen=chosen,
        result=result,
        groups=_groups(chosen, result),
        sorts=[(v, t) for v, t in SORTS if v != "relevance" or query.q],
        sort=sort,
        start=start,
        rows=rows,
        page_no=start // rows + 1,
        pages=pages,
        prev_href=(
            "/open/datasets?" + _query_string(chosen, start=max(start - rows, 0), rows=rows)
            if start > 0
            else None
        ),
        next_href=(
            "/open/datasets?" + _query_string(chosen, start=start + rows, rows=rows)
            if start + rows < result.count
            else None
        ),
        clear_href="/open/datasets" + (f"?{urlencode({'q': chosen['q']})}" if chosen["q"] else ""),
        filtered=any(chosen[name] for name, _ in PAGE_FACETS) or bool(chosen["tags"]),
        tag_links=[(tag, _toggle(chosen, "tags", tag)) for tag in chosen["tags"]],
    )


# One dataset ---------------------------------------------------------------------------------


class Commit(BaseModel):
    version: int
    time: datetime | None
    operation: str
    rows: int | None


def _rows_at(lake: Lake, table: str, version: int) -> int | None:
    """The table's rows as of ``version``, from the log's file statistics (no data read)."""
    try:
        actions = pa.table(lake.table(table, version).get_add_actions(flatten=True))
    except Exception:  # a version vacuumed away or unreadable: the row shows no count
        return None
    if "num_records" not in actions.column_names or actions["num_records"].null_count:
        return None
    return int(pc.sum(actions["num_records"]).as_py() or 0)


def update_history(lake: Lake, table: str) -> list[Commit]:
    """The lake table's last commits, newest first, each with the rows it left."""
    if not lake.exists(table):
        return []
    out = []
    for commit in lake.history(table, HISTORY_LIMIT):
        stamp = commit.get("timestamp")
        version = int(commit.get("version", 0))
        out.append(
            Commit(
                version=version,
                time=datetime.fromtimestamp(stamp / 1000, UTC) if stamp else None,
                operation=str(commit.get("operation") or ""),
                rows=_rows_at(lake, table, version),
            )
        )
    return out


@router.get("/open/datasets/{name}")
def dataset_page(page: PublicPage, name: str) -> Response:
    """One open dataset: its description, fields, resources, quality, history and use.

    Counts a view (``opendata_usage``) and audits it (``opendata.dataset.view``) together.
    """
    settings = page.caller.settings
    try:
        # The view is counted and audited in one short write; the page itself (and its lake
        # reads) comes after, so no write lock is held while the Delta log is read.
        with page.act() as ctx:
            ds, entry = access.public_dataset(ctx.session, name)
            usage.record_usage(ctx.session, ds.id, entry.provider_department_id, UsageKind.VIEW)
            ctx.audit(
                "opendata.dataset.view",
                target_type="open_dataset",
                target_id=ds.id,
                details={"name": ds.name},
            )
        with page.caller.db.sessions() as s:
            ds, entry = access.public_dataset(s, name)
            detail = views.detail(s, settings, ds, entry, page.locale)
            mount = access.lake_mount(s, entry.id)
        history = (
            update_history(Lake.from_settings(settings), mount.lake_table)
            if mount is not None and mount.lake_table
            else []
        )
    except NotFound as exc:
        return _not_found(page, exc)
    url = base_url(page)
    api = next(r for r in detail.resources if r.format == "API")
    return render(
        page,
        "opendata/dataset.html",
        d=detail,
        history=history,
        files=[r for r in detail.resources if r.format != "API"],
        api=api,
        base_url=url,
        jsonld_text=schemaorg.script_text(schemaorg.dataset_jsonld(detail, url)),
        conditional=detail.open_type == "conditional",
    )


# Publishers ----------------------------------------------------------------------------------


@router.get("/open/publishers")
def publishers(page: PublicPage) -> Response:
    """The departments that publish open datasets, with how many each."""
    with page.caller.db.sessions() as s:
        result = search_datasets(
            s, DatasetQuery(rows=0, facets=["publisher"], facet_limit=-1), page.locale
        )
    return render(page, "opendata/publishers.html", publishers=result.facets["publisher"])


@router.get("/open/publishers/{code}")
def publisher(page: PublicPage, code: str) -> Response:
    """One publisher's open datasets, newest change first, in pages."""
    params = page.request.query_params
    start = max(_int(params.get("start") or "0", 0), 0)
    try:
        query = DatasetQuery(
            publisher=[code], start=start, rows=PAGE_ROWS, facets=["publisher", "topic"]
        )
    except InvalidInput:
        query = None
    result = None
    if query is not None:
        with page.caller.db.sessions() as s:
            result = search_datasets(s, query, page.locale)
    if result is None or result.count == 0:
        return _not_found(
            page,
            NotFound(
                "该部门没有开放数据集",
                "This publisher has no open datasets",
                code="opendata_publisher_not_found",
                details={"code": code},
            ),
        )
    facet = {f.value: f for f in result.facets["publisher"]}
    return render(
        page,
        "opendata/publisher.html",
        code=code,
        name=facet[code].label if code in facet else code,
        result=result,
        topics=result.facets["topic"],
        prev_href=f"?start={max(start - PAGE_ROWS, 0)}" if start > 0 else None,
        next_href=f"?start={start + PAGE_ROWS}" if start + PAGE_ROWS < result.count else None,
    )


# API guide -----------------------------------------------------------------------------------


@router.get("/open/api-guide")
def api_guide(page: PublicPage) -> Response:
    """How to use the CKAN-compatible API, the DCAT-AP export, keys, quotas and licences."""
    with page.caller.db.sessions() as s:
        sample = search_datasets(s, DatasetQuery(rows=1), page.locale).results
    zh = page.locale.startswith("zh")
    return render(
        page,
        "opendata/api_guide.html",
        base_url=base_url(page),
        # The examples name a real dataset when there is one, so they can be pasted and run.
        ds_name=sample[0].name if sample else "example-dataset",
        rid=views.resource_id(sample[0].id, "API") if sample else "RESOURCE-ID",
        licenses=[(key, zh_t if zh else en_t, url) for key, (zh_t, en_t, url) in LICENSES.items()],
    )
