"""The CKAN-compatible Action API's actions: open datasets in CKAN 2.10's shapes.

Organizations are the publishers (departments with open datasets; ``name`` is the
department code made CKAN-safe), groups are the topics (``views.topic_code``), tags are
the published version's keywords. Every action selects datasets only through the public
gate (``access.public_datasets``), so a hidden dataset is missing from lists and counts
and answers "Not found" exactly as an id that never existed.

Each action takes a ``CkanCall`` and returns the ``result`` of CKAN's envelope; its
docstring is what ``help_show`` returns. Errors are the platform's own (NotFound,
``CkanValidation``, ``CkanSearchError``, PermissionDenied); the router renders them as
CKAN does.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata import __version__
from govdata.catalog.models import CatalogClass, CatalogEntry, EntryVersion
from govdata.core.errors import InvalidInput, NotFound
from govdata.opendata import usage, views
from govdata.opendata.access import not_found, public_clause, public_dataset, public_datasets
from govdata.opendata.datasets import dataset_name
from govdata.opendata.grants import PublicIdentity
from govdata.opendata.models import OpenDataset
from govdata.opendata.vocab import LICENSES, UsageKind
from govdata.security.context import Caller

CKAN_VERSION = "2.10.4"
# Groups and tags have no rows of their own: their ids are derived from their names.
_ID_NS = uuid.UUID("0b7d2f8e-4a61-4c3e-9d0f-5c2a8e1b7f43")
LIST_MAX = 1000


@dataclass(frozen=True)
class CkanCall:
    """One call of an action: who calls, its parameters, and where the node answers."""

    caller: Caller
    who: PublicIdentity
    params: Mapping[str, Any]
    base: str  # the node's base URL, no trailing slash
    locale: str
    query_string: str = ""


class CkanValidation(InvalidInput):
    """CKAN's "Validation Error": ``details`` maps each field to its messages."""

    code = "ckan_validation"


class CkanSearchError(InvalidInput):
    """CKAN's "Search Query Error" (HTTP 400): a q, fq, sort or facet it cannot parse."""

    code = "ckan_search_query"
    status = 400


def invalid(field: str, message: str) -> CkanValidation:
    return CkanValidation(f"参数 {field} 不合法：{message}", message, details={field: [message]})


def missing(field: str) -> CkanValidation:
    return invalid(field, "Missing value")


# -- parameters --------------------------------------------------------------------------


def param_str(params: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    value = params.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise missing(name)
        return None
    if not isinstance(value, str | int):
        raise invalid(name, "Must be a string")
    return str(value).strip()


def param_int(
    params: Mapping[str, Any], name: str, default: int, *, minimum: int = 0, cap: int | None = None
) -> int:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise invalid(name, "Invalid integer") from None
    if number < minimum:
        raise invalid(name, f"Must be a natural number >= {minimum}")
    # CKAN caps over-large limits at the configured maximum instead of refusing them.
    return min(number, cap) if cap is not None else number


def param_bool(params: Mapping[str, Any], name: str, default: bool) -> bool:
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes", "on"}:
        return True
    if text in {"false", "0", "no", "off"}:
        return False
    raise invalid(name, "Value must be one of ['true', 'false']")


def param_list(params: Mapping[str, Any], name: str) -> list[str]:
    """A list given as a JSON list, a JSON-encoded list (GET) or a comma-separated string."""
    value = params.get(name)
    if value is None or value == "":
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                raise invalid(name, "Invalid JSON list") from None
        else:
            value = [v for v in (p.strip() for p in text.split(",")) if v]
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise invalid(name, "Must be a list of strings")
    return [str(v) for v in value]


# -- shapes --------------------------------------------------------------------------------


def ckan_time(value: datetime | None) -> str | None:
    """CKAN's timestamp: naive UTC with microseconds, e.g. ``2024-05-01T08:12:33.123456``."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")


def org_name(department_code: str) -> str:
    return dataset_name(department_code)


def group_id(topic: str) -> str:
    return str(uuid.uuid5(_ID_NS, f"group:{topic}"))


def tag_dict(name: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid5(_ID_NS, f"tag:{name}")),
        "name": name,
        "display_name": name,
        "state": "active",
        "vocabulary_id": None,
    }


def organization_dict(
    dept_id: str,
    code: str,
    title: str,
    created: datetime | None,
    base: str,
    package_count: int | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": dept_id,
        "name": org_name(code),
        "title": title,
        "display_name": title,
        "type": "organization",
        "description": "",
        "image_url": "",
        "image_display_url": "",
        "created": ckan_time(created),
        "is_organization": True,
        "approval_status": "approved",
        "state": "active",
    }
    if package_count is not None:
        out["package_count"] = package_count
        out["num_followers"] = 0
    return out


def group_dict(code: str, title: str, package_count: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": group_id(code),
        "name": code,
        "title": title,
        "display_name": title or code,
        "type": "group",
        "description": "",
        "image_url": "",
        "image_display_url": "",
        "created": None,
        "is_organization": False,
        "approval_status": "approved",
        "state": "active",
    }
    if package_count is not None:
        out["package_count"] = package_count
        out["num_followers"] = 0
    return out


def resource_dicts(summary: views.DatasetSummary, base: str, locale: str) -> list[dict[str, Any]]:
    zh = locale.startswith("zh")
    out = []
    for position, fmt in enumerate(views.RESOURCE_FORMATS):
        rid = views.resource_id(summary.id, fmt)
        if fmt == "API":
            name = "开放接口" if zh else "Open API"
            url = views.api_path(rid)
            description = (
                "数据集记录的查询接口（datastore_search）"
                if zh
                else "Query the dataset's records (datastore_search)"
            )
        else:
            name = f"{summary.title}（{fmt}）" if zh else f"{summary.title} ({fmt})"
            url = views.download_path(summary.name, fmt)
            description = (
                f"按最新数据版本生成的 {fmt} 文件"
                if zh
                else f"{fmt} file made from the latest data version"
            )
        out.append(
            {
                "id": rid,
                "package_id": summary.id,
                "name": name,
                "description": description,
                "format": fmt,
                "url": base + url,
                "mimetype": views.MEDIA_TYPES[fmt],
                "mimetype_inner": None,
                "created": ckan_time(summary.created),
                "last_modified": ckan_time(summary.modified),
                "metadata_modified": ckan_time(summary.modified),
                "position": position,
                "state": "active",
                # Every resource of a dataset reads the same lake table through datastore_search.
                "datastore_active": True,
                "url_type": "datastore" if fmt == "API" else None,
                "resource_type": "api" if fmt == "API" else "file",
                "size": None,
                "hash": "",
                "cache_url": None,
                "cache_last_updated": None,
            }
        )
    return out


@dataclass(frozen=True)
class _Facts:
    version_no: int
    contact_name: str | None
    contact_email: str | None
    open_condition: str | None


def _facts(s: Session, summaries: Sequence[views.DatasetSummary]) -> dict[str, _Facts]:
    """What a package shows beyond the summary, for a page of datasets in one query."""
    ids = [d.id for d in summaries]
    rows = s.execute(
        select(
            OpenDataset.id,
            EntryVersion.version_no,
            EntryVersion.contact_name,
            EntryVersion.contact_email,
            EntryVersion.open_condition,
        )
        .join(CatalogEntry, CatalogEntry.id == OpenDataset.entry_id)
        .join(EntryVersion, EntryVersion.id == CatalogEntry.published_version_id)
        .where(OpenDataset.id.in_(ids))
    ).all()
    return {ds_id: _Facts(no, name, email, cond) for ds_id, no, name, email, cond in rows}


def package_dicts(
    s: Session, summaries: Sequence[views.DatasetSummary], base: str, locale: str
) -> list[dict[str, Any]]:
    """CKAN package dicts of a page of datasets (a few batched queries, no lake access)."""
    if not summaries:
        return []
    facts = _facts(s, summaries)
    out = []
    for d in summaries:
        f = facts[d.id]
        tags = [tag_dict(t) for t in d.tags]
        extras = {
            "resource_code": d.resource_code,
            "publisher_region": d.region.name,
            "publisher_region_code": d.region.code,
            "update_cycle": d.update_cycle,
            "open_type": d.open_type,
        }
        if f.open_condition:
            extras["open_condition"] = f.open_condition
        out.append(
            {
                "id": d.id,
                "name": d.name,
                "title": d.title,
                "notes": d.notes,
                "author": d.publisher.name,
                "author_email": None,
                "maintainer": f.contact_name,
                "maintainer_email": f.contact_email,
                "license_id": d.license.id,
                "license_title": d.license.title,
                "license_url": d.license.url,
                "isopen": d.license.id in LICENSES,
                "metadata_created": ckan_time(d.created),
                "metadata_modified": ckan_time(d.modified),
                "creator_user_id": None,
                "state": "active",
                "private": False,
                "type": "dataset",
                "url": f"{base}/open/datasets/{d.name}",
                "version": str(f.version_no),
                "owner_org": d.publisher.id,
                # The organization's ``created`` is an aggregate over its datasets: shown
                # by organization_show/list, left out (null) here, where it would cost a
                # query as long as the search itself on every page.
                "organization": organization_dict(
                    d.publisher.id, d.publisher.code, d.publisher.name, None, base
                ),
                "groups": [
                    {
                        k: v
                        for k, v in group_dict(d.topic.code, d.topic.name).items()
                        if k in {"id", "name", "title", "display_name", "description"}
                    }
                    | {"image_display_url": ""}
                ],
                "tags": tags,
                "num_tags": len(tags),
                "resources": resource_dicts(d, base, locale),
                "num_resources": len(views.RESOURCE_FORMATS),
                "extras": [{"key": k, "value": v} for k, v in extras.items()],
                "relationships_as_object": [],
                "relationships_as_subject": [],
            }
        )
    return out


# -- actions ---------------------------------------------------------------------------------


def status_show(call: CkanCall) -> dict[str, Any]:
    """Return a dictionary with information about the site's configuration.

    :rtype: dictionary
    """
    zh = call.locale.startswith("zh")
    return {
        "site_title": "公共数据开放平台" if zh else "Public Data Open Platform",
        "site_description": "政务公共数据开放" if zh else "Government open data",
        "site_url": call.base,
        "ckan_version": CKAN_VERSION,
        "error_emails_to": None,
        "locale_default": "zh_Hans_CN",
        "extensions": ["datastore"],
        "govdata_version": __version__,
    }


def package_list(call: CkanCall) -> list[str]:
    """Return a list of the names of the site's datasets (packages), ordered by name.

    :param limit: if given, the list of datasets will be broken into pages of at most
        ``limit`` datasets per page (optional)
    :type limit: int
    :param offset: when ``limit`` is given, the offset to start returning packages from
    :type offset: int
    :rtype: list of strings
    """
    limit = param_int(call.params, "limit", -1, minimum=0) if "limit" in call.params else None
    offset = param_int(call.params, "offset", 0)
    stmt = (
        select(OpenDataset.name)
        .join(CatalogEntry, public_clause())
        .order_by(OpenDataset.name)
        .offset(offset)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    with call.caller.db.sessions() as s:
        return list(s.scalars(stmt))


def package_show(call: CkanCall) -> dict[str, Any]:
    """Return the metadata of a dataset (package) and its resources.

    :param id: the id or name of the dataset
    :type id: string
    :rtype: dictionary
    """
    ref = param_str(call.params, "id") or param_str(call.params, "name_or_id")
    if ref is None:
        raise missing("name_or_id")
    with call.caller.act() as ctx:
        ds, entry = public_dataset(ctx.session, ref)
        (summary,) = views.summaries(ctx.session, [(ds, entry)], call.locale)
        (out,) = package_dicts(ctx.session, [summary], call.base, call.locale)
        # Shown through the API is seen: counted and audited as the dataset page is.
        usage.record_usage(ctx.session, ds.id, entry.provider_department_id, UsageKind.VIEW)
        ctx.audit(
            "opendata.dataset.view",
            target_type="open_dataset",
            target_id=ds.id,
            details={"via": "ckan.package_show"},
        )
    return out


def resource_show(call: CkanCall) -> dict[str, Any]:
    """Return the metadata of a resource.

    :param id: the id of the resource
    :type id: string
    :rtype: dictionary
    """
    rid = param_str(call.params, "id", required=True) or ""
    with call.caller.db.sessions() as s:
        try:
            ds, entry, fmt = views.find_resource(s, rid)
        except NotFound:
            raise NotFound("资源不存在", "Resource was not found.", code="ckan_not_found") from None
        (summary,) = views.summaries(s, [(ds, entry)], call.locale)
    resources = resource_dicts(summary, call.base, call.locale)
    return next(r for r in resources if r["format"] == fmt)


@dataclass(frozen=True)
class _Publisher:
    id: str
    code: str
    title: str
    count: int
    created: datetime | None


def publishers(s: Session) -> list[_Publisher]:
    """Departments with public datasets and how many each has."""
    rows = s.execute(
        select(
            CatalogEntry.provider_department_id,
            func.max(CatalogEntry.provider_code),
            func.max(CatalogEntry.provider_name),
            func.count(),
            func.min(func.coalesce(OpenDataset.opened_at, OpenDataset.created_at)),
        )
        .select_from(OpenDataset)
        .join(CatalogEntry, public_clause())
        .group_by(CatalogEntry.provider_department_id)
    )
    return [_Publisher(i, code, title, n, created) for i, code, title, n, created in rows]


def topics(s: Session) -> list[tuple[str, str, int]]:
    """(topic code, class name, public dataset count) of every topic with public datasets."""
    topic = func.substr(CatalogEntry.class_code, 1, 3)
    counts = s.execute(
        select(topic, func.count())
        .select_from(OpenDataset)
        .join(CatalogEntry, public_clause())
        .group_by(topic)
    ).all()
    codes = [str(c) for c, _ in counts]
    names: dict[str, str] = {
        code: name
        for code, name in s.execute(
            select(CatalogClass.code, CatalogClass.name).where(CatalogClass.code.in_(codes))
        )
    }
    return [(str(code), names.get(str(code), ""), int(n)) for code, n in counts]


_LIST_SORTS: dict[str, tuple[str, bool]] = {
    "name asc": ("name", False),
    "name desc": ("name", True),
    "title asc": ("title", False),
    "title desc": ("title", True),
    "package_count asc": ("package_count", False),
    "package_count desc": ("package_count", True),
}


def _listing(call: CkanCall, dicts: list[dict[str, Any]], only_key: str) -> list[Any]:
    """Filter, sort and page organization_list / group_list as CKAN does."""
    q = (param_str(call.params, "q") or "").lower()
    wanted = set(param_list(call.params, only_key))
    sort = " ".join((param_str(call.params, "sort") or "title asc").lower().split())
    if sort not in _LIST_SORTS:
        raise invalid("sort", f"Cannot sort by {sort}")
    key, reverse = _LIST_SORTS[sort]
    rows = [
        d
        for d in dicts
        if (not wanted or d["name"] in wanted or d["id"] in wanted)
        and (not q or q in d["name"].lower() or q in d["title"].lower())
    ]
    rows.sort(key=lambda d: (d[key], d["name"]), reverse=reverse)
    offset = param_int(call.params, "offset", 0)
    limit = param_int(call.params, "limit", LIST_MAX, cap=LIST_MAX)
    page = rows[offset : offset + limit]
    if param_bool(call.params, "all_fields", False):
        if not param_bool(call.params, "include_dataset_count", True):
            return [{k: v for k, v in d.items() if k != "package_count"} for d in page]
        return page
    return [d["name"] for d in page]


def organization_list(call: CkanCall) -> list[Any]:
    """Return the organizations (publishers with open datasets): names, or dicts.

    :param all_fields: return dicts instead of names (default false)
    :param sort: ``name asc``, ``title asc`` (default), ``package_count desc``, ...
    :param limit: at most this many (default and maximum 1000)
    :param offset: skip this many
    :param q: only names or titles containing this text
    :param organizations: only these names
    """
    with call.caller.db.sessions() as s:
        dicts = [
            organization_dict(p.id, p.code, p.title, p.created, call.base, p.count)
            for p in publishers(s)
        ]
    return _listing(call, dicts, "organizations")


def group_list(call: CkanCall) -> list[Any]:
    """Return the groups (topics of open datasets): names, or dicts with ``all_fields``.

    :param all_fields: return dicts instead of names (default false)
    :param sort: ``name asc``, ``title asc`` (default), ``package_count desc``, ...
    :param limit: at most this many (default and maximum 1000)
    :param offset: skip this many
    :param q: only names or titles containing this text
    :param groups: only these names
    """
    with call.caller.db.sessions() as s:
        dicts = [group_dict(code, title, n) for code, title, n in topics(s)]
    return _listing(call, dicts, "groups")


def _with_datasets(
    call: CkanCall, s: Session, out: dict[str, Any], where: Any, max_rows: int = LIST_MAX
) -> dict[str, Any]:
    out.update({"users": [], "extras": [], "groups": [], "tags": []})
    if param_bool(call.params, "include_datasets", False):
        rows = s.execute(public_datasets().where(where).order_by(OpenDataset.name).limit(max_rows))
        pairs = [(ds, entry) for ds, entry in rows]
        out["packages"] = package_dicts(
            s, views.summaries(s, pairs, call.locale), call.base, call.locale
        )
    return out


def organization_show(call: CkanCall) -> dict[str, Any]:
    """Return an organization (a publisher) by id or name.

    :param id: the id or name of the organization
    :param include_datasets: include its datasets (at most 1000; default false)
    """
    ref = (param_str(call.params, "id", required=True) or "").lower()
    with call.caller.db.sessions() as s:
        for p in publishers(s):
            if ref in {p.id.lower(), org_name(p.code), p.code.lower()}:
                out = organization_dict(p.id, p.code, p.title, p.created, call.base, p.count)
                return _with_datasets(call, s, out, CatalogEntry.provider_department_id == p.id)
    raise NotFound("组织不存在", "Organization not found", code="ckan_not_found")


def group_show(call: CkanCall) -> dict[str, Any]:
    """Return a group (a topic) by id or name.

    :param id: the id or name of the group
    :param include_datasets: include its datasets (at most 1000; default false)
    """
    ref = (param_str(call.params, "id", required=True) or "").lower()
    with call.caller.db.sessions() as s:
        for code, title, n in topics(s):
            if ref in {code.lower(), group_id(code)}:
                out = group_dict(code, title, n)
                return _with_datasets(
                    call, s, out, func.substr(CatalogEntry.class_code, 1, 3) == code
                )
    raise NotFound("分组不存在", "Group not found", code="ckan_not_found")


def tag_list(call: CkanCall) -> list[Any]:
    """Return the tags (keywords) of the open datasets.

    :param query: only tags containing this text
    :param vocabulary_id: tags of a vocabulary (there are none: an empty list)
    :param all_fields: return tag dicts instead of names (default false)
    """
    if param_str(call.params, "vocabulary_id"):
        return []
    query = (param_str(call.params, "query") or "").lower()
    with call.caller.db.sessions() as s:
        keywords = s.scalars(
            select(EntryVersion.keywords)
            .select_from(OpenDataset)
            .join(CatalogEntry, public_clause())
            .join(EntryVersion, EntryVersion.id == CatalogEntry.published_version_id)
        )
        names = sorted({str(k) for ks in keywords for k in (ks or []) if str(k).strip()})
    names = [n for n in names if query in n.lower()]
    if param_bool(call.params, "all_fields", False):
        return [tag_dict(n) for n in names]
    return names


def help_show(call: CkanCall) -> str:
    """Return the help string of an API action.

    :param name: the action's name
    :type name: string
    :rtype: string
    """
    name = param_str(call.params, "name", required=True) or ""
    action = actions().get(name)
    if action is None or not action.__doc__:
        raise NotFound("操作不存在", "Action function not found", code="ckan_not_found")
    return action.__doc__


def actions() -> dict[str, Callable[[CkanCall], Any]]:
    # Imported here: the search and datastore actions import this module's shapes.
    from govdata.opendata.ckan_search import package_search
    from govdata.opendata.datastore import datastore_search

    return {
        f.__name__: f
        for f in (
            status_show,
            package_list,
            package_search,
            package_show,
            resource_show,
            organization_list,
            organization_show,
            group_list,
            group_show,
            tag_list,
            datastore_search,
            help_show,
        )
    }


__all__ = ["CkanCall", "CkanSearchError", "CkanValidation", "actions", "not_found"]
