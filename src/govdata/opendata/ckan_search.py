"""CKAN's ``package_search`` on top of the platform's own dataset search.

Solr's query language is not re-implemented: the ``q``/``fq`` forms CKAN clients and
harvesters actually send (``field:value``, ``field:"quoted"``, ``field:(a OR b)``,
``+field:value``, ``metadata_modified:[X TO Y]`` with ``*`` and ``NOW``) are translated
into a ``search.DatasetQuery`` and answered by ``search.search_datasets``; anything else
in ``fq`` is refused as a "Search Query Error" rather than silently ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from govdata.identity import queries as org_queries
from govdata.opendata import search
from govdata.opendata.ckan import (
    LIST_MAX,
    CkanCall,
    CkanSearchError,
    org_name,
    package_dicts,
    param_int,
    param_list,
    param_str,
)
from govdata.opendata.views import RESOURCE_FORMATS

DEFAULT_SORT = "score desc, metadata_modified desc"
# CKAN facet field -> the platform's facet. res_format is answered here: every open
# dataset has the same four resources (CSV, XLSX, JSON, API).
FACETS = {
    "organization": "publisher",
    "groups": "topic",
    "tags": "tags",
    "license_id": "license",
    "region": "region",
    "update_cycle": "update_cycle",
    "open_type": "open_type",
}
_SORTS: dict[str, str] = {
    "metadata_modified desc": "modified_desc",
    "metadata_modified asc": "modified_asc",
    "metadata_created desc": "created_desc",
    "name asc": "name_asc",
    "name desc": "name_desc",
    "title_string asc": "name_asc",
    "title_string desc": "name_desc",
    "id asc": "id_asc",
    "id desc": "id_desc",
    "views_recent desc": "popular",
    "views_total desc": "popular",
}
_TERM = re.compile(
    r"""\s*(?P<sign>[+]?)(?P<field>[A-Za-z_][A-Za-z0-9_.]*):
        (?P<value>\[[^\]]*\]|"(?:[^"\\]|\\.)*"|\([^)]*\)|[^\s()\[\]"]+)""",
    re.VERBOSE,
)
_NOW = re.compile(r"^NOW(?:(?P<sign>[+-])(?P<n>\d+)(?P<unit>[A-Z]+?)S?)?(?:/(?P<round>[A-Z]+))?$")
_UNITS = {"MINUTE": timedelta(minutes=1), "HOUR": timedelta(hours=1), "DAY": timedelta(days=1)}
# Fields every open dataset has with one value: a match keeps all, another value none.
_CONSTANT = {
    "dataset_type": {"dataset"},
    "type": {"dataset"},
    "state": {"active"},
    "capacity": {"public"},
    "private": {"false"},
}

# fq field -> the _Filters list it adds to.
_TARGETS = {
    "groups": "topic",
    "tags": "tags",
    "license_id": "license",
    "region": "region",
    "update_cycle": "update_cycle",
    "open_type": "open_type",
    "text": "q_text",
}


@dataclass
class _Filters:
    q_text: list[str] = field(default_factory=list)
    publisher: list[str] = field(default_factory=list)
    topic: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    license: list[str] = field(default_factory=list)
    region: list[str] = field(default_factory=list)
    update_cycle: list[str] = field(default_factory=list)
    open_type: list[str] = field(default_factory=list)
    modified_from: datetime | None = None
    modified_to: datetime | None = None
    empty: bool = False  # a term no dataset can match


def _error(message: str) -> CkanSearchError:
    return CkanSearchError(f"无法解析的查询：{message}", message, details={"query": message})


def _values(raw: str) -> list[str]:
    if raw.startswith('"'):
        return [raw[1:-1].replace('\\"', '"')]
    if raw.startswith("("):
        parts = re.split(r"\s+OR\s+", raw[1:-1].strip())
        return [p.strip().strip('"') for p in parts if p.strip()]
    return [raw]


def parse_time(text: str, now: datetime, *, end: bool = False) -> datetime | None:
    """A Solr range bound: ``*``, ``NOW`` (±N units, /DAY), an ISO time or a date."""
    text = text.strip()
    if text == "*":
        return None
    m = _NOW.match(text.upper())
    if m:
        value = now
        if m["n"]:
            unit = _UNITS.get(m["unit"])
            if unit is None:
                raise _error(f"unknown date unit in {text}")
            value = value + int(m["n"]) * unit * (1 if m["sign"] == "+" else -1)
        if m["round"] == "DAY":
            value = value.replace(hour=0, minute=0, second=0, microsecond=0)
        return value
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _error(f"invalid date {text}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if end and len(text) == 10:  # a bare date ends at the end of that day
        value += timedelta(days=1) - timedelta(microseconds=1)
    return value


def _apply(filters: _Filters, name: str, raw: str, publishers: dict[str, str]) -> None:
    if name == "metadata_modified":
        if not raw.startswith("["):
            raise _error("metadata_modified takes a range [X TO Y]")
        low, sep, high = raw[1:-1].partition(" TO ")
        if not sep:
            raise _error(f"invalid range {raw}")
        now = datetime.now(UTC)
        lo, hi = parse_time(low, now), parse_time(high, now, end=True)
        if lo is not None:
            filters.modified_from = max(filters.modified_from or lo, lo)
        if hi is not None:
            filters.modified_to = min(filters.modified_to or hi, hi)
        return
    values = _values(raw)
    if name in _CONSTANT:
        if not {v.lower() for v in values} & _CONSTANT[name]:
            filters.empty = True
        return
    if name == "res_format":
        if not {v.upper() for v in values} & set(RESOURCE_FORMATS):
            filters.empty = True
        return
    if name == "organization":
        codes = [publishers.get(v.lower()) for v in values]
        known = [c for c in codes if c]
        if not known:
            filters.empty = True
        filters.publisher.extend(known)
        return
    target = _TARGETS.get(name)
    if target is None:
        raise _error(f"undefined field {name}")
    getattr(filters, target).extend(values)


def parse_terms(text: str, filters: _Filters, publishers: dict[str, str]) -> bool:
    """Apply ``text`` as a list of field terms; False (nothing applied) if it is not one."""
    pos, terms = 0, []
    text = text.strip()
    while pos < len(text):
        m = _TERM.match(text, pos)
        if m is None:
            rest = text[pos:].lstrip()
            if rest.startswith("AND ") or rest.startswith("&& "):
                pos = len(text) - len(rest) + 3
                continue
            return False
        terms.append(m)
        pos = m.end()
    for m in terms:
        _apply(filters, m["field"], m["value"], publishers)
    return bool(terms)


def _fielded(text: str) -> bool:
    """Whether ``text`` names only fields we filter on (else it is plain search text, e.g. a
    URL or "12:30")."""
    known = {*_CONSTANT, "metadata_modified", "res_format", "organization", *_TARGETS}
    return all(m["field"] in known for m in _TERM.finditer(text))


def _sort(raw: str | None, has_q: bool) -> tuple[str, search.Sort | None]:
    text = ", ".join(" ".join(p.lower().split()) for p in (raw or DEFAULT_SORT).split(","))
    parts = [p.strip() for p in text.split(",") if p.strip()]
    for part in parts:
        if part.startswith("score"):
            if has_q:
                return text, "relevance"
            continue
        if part not in _SORTS:
            raise _error(f"cannot sort by {part}")
        return text, _SORTS[part]  # type: ignore[return-value]
    return text, "relevance" if has_q else "modified_desc"


def _publisher_codes(call: CkanCall, names: set[str]) -> dict[str, str]:
    """Organization name -> department code, for the names an fq mentions.

    Department codes are normally already CKAN-safe (lowercase slugs): one key lookup
    each; only a name no code spells the same way costs a pass over the publishers.
    """
    if not names:
        return {}
    from govdata.opendata.ckan import publishers

    out: dict[str, str] = {}
    with call.caller.db.sessions() as s:
        for name in names:
            dept = org_queries.department_by_code(s, name)
            if dept is not None and org_name(dept.code) == name:
                out[name] = dept.code
        if len(out) < len(names):
            out.update(
                {org_name(p.code): p.code for p in publishers(s) if org_name(p.code) in names}
            )
    return out


def package_search(call: CkanCall) -> dict[str, Any]:
    """Search for datasets (packages).

    :param q: the search text (Chinese is segmented); ``*:*`` or empty matches all;
        field terms such as ``tags:教育`` are filters
    :param fq: filter terms, all of which must match: ``organization:<name>``,
        ``groups:<name>``, ``tags:<tag>``, ``res_format:CSV``, ``license_id:<id>``,
        ``metadata_modified:[2024-01-01T00:00:00Z TO NOW]``; values may be quoted or
        ``(a OR b)``
    :param rows: datasets per page (default 10, at most 1000)
    :param start: offset of the first dataset (default 0)
    :param sort: ``score desc, metadata_modified desc`` (default), ``metadata_modified desc``,
        ``id asc`` (stable paging), ``name asc``, ``title_string asc``, ...
    :param facet.field: JSON list of fields to count (``organization``, ``groups``, ``tags``,
        ``res_format``, ``license_id``)
    :param facet.limit: values per facet (default 50; -1 for all)
    :rtype: dict with ``count``, ``results``, ``facets``, ``search_facets``, ``sort``
    """
    params = call.params
    q_raw = param_str(params, "q") or ""
    fq_raw = param_str(params, "fq") or ""
    for extra in param_list(params, "fq_list"):
        fq_raw += " " + extra
    rows = param_int(params, "rows", 10, cap=LIST_MAX)
    start = param_int(params, "start", 0)
    facet_fields = param_list(params, "facet.field")
    facet_limit_raw = params.get("facet.limit")
    try:
        facet_limit = 50 if facet_limit_raw in (None, "") else int(facet_limit_raw)
    except (TypeError, ValueError):
        raise _error("facet.limit must be an integer") from None
    for f in facet_fields:
        if f not in FACETS and f != "res_format":
            raise _error(f"undefined facet field {f}")

    org_names: set[str] = set()
    for text in (q_raw, fq_raw):
        for m in _TERM.finditer(text):
            if m["field"] == "organization":
                org_names.update(v.lower() for v in _values(m["value"]))
    publishers = _publisher_codes(call, org_names)
    filters = _Filters()
    if fq_raw.strip() and not parse_terms(fq_raw, filters, publishers):
        raise _error(f"cannot parse fq {fq_raw}")
    q_text = q_raw.strip()
    if q_text in {"*:*", "*"} or (
        q_text and _fielded(q_text) and parse_terms(q_text, filters, publishers)
    ):
        q_text = ""
    q_text = " ".join([q_text, *filters.q_text]).strip()
    sort_text, sort = _sort(params.get("sort") if params.get("sort") else None, bool(q_text))

    if filters.empty:
        return _answer(call, 0, [], {f: [] for f in facet_fields}, sort_text)
    wanted = sorted({FACETS[f] for f in facet_fields if f in FACETS})
    query = search.DatasetQuery(
        q=q_text or None,
        topic=filters.topic,
        publisher=filters.publisher,
        region=filters.region,
        update_cycle=filters.update_cycle,
        open_type=filters.open_type,
        tags=filters.tags,
        license=filters.license,
        modified_from=filters.modified_from,
        modified_to=filters.modified_to,
        sort=sort,
        start=start,
        rows=rows,
        facets=wanted,
        facet_limit=facet_limit,
    )
    with call.caller.db.sessions() as s:
        result = search.search_datasets(s, query, call.locale)
        count = result.count
        packages = package_dicts(s, result.results, call.base, call.locale)
    facets: dict[str, list[tuple[str, str, int]]] = {}
    for f in facet_fields:
        if f == "res_format":
            facets[f] = [(fmt, fmt, count) for fmt in RESOURCE_FORMATS] if count else []
            continue
        items = result.facets.get(FACETS[f], [])
        if f == "organization":
            facets[f] = [(org_name(i.value), i.label, i.count) for i in items]
        else:
            facets[f] = [(i.value, i.label or i.value, i.count) for i in items]
    return _answer(call, count, packages, facets, sort_text)


def _answer(
    call: CkanCall,
    count: int,
    packages: list[dict[str, Any]],
    facets: dict[str, list[tuple[str, str, int]]],
    sort_text: str,
) -> dict[str, Any]:
    return {
        "count": count,
        "sort": sort_text,
        "facets": {f: {name: n for name, _, n in items} for f, items in facets.items()},
        "results": packages,
        "search_facets": {
            f: {
                "title": f,
                "items": [
                    {"name": name, "display_name": label, "count": n} for name, label, n in items
                ],
            }
            for f, items in facets.items()
        },
    }
