"""The data-service API: ``/api/v1/data/{resource_code}`` for every granted entry.

A resource code is ``<class code>/<sequence>``, so the route has two path segments.
Filters are query parameters named after granted fields: ``name=张三`` (equality),
``age__gte=18`` (``gt``, ``gte``, ``lt``, ``lte``), ``region__in=630100,630200``,
``phone__null=true``. ``fields``, ``limit`` and ``cursor`` are reserved.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from govdata.core.errors import InvalidInput
from govdata.sharing import dataapi
from govdata.sharing.schemas import DataPage, VerifyIn, VerifyOut
from govdata.sources.base import Filter
from govdata.web.deps import CallerDep

router = APIRouter(tags=["data-service"])
RESERVED = frozenset({"fields", "limit", "cursor"})
OPS = {"": "=", "eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "in": "IN"}


def parse_filters(params: list[tuple[str, str]]) -> list[Filter]:
    out: list[Filter] = []
    for name, value in params:
        if name in RESERVED:
            continue
        field, _, op = name.partition("__")
        if op == "null":
            if value not in ("true", "false"):
                raise InvalidInput(
                    f"{name} 须为 true 或 false",
                    f"{name} must be true or false",
                    code="source_filter_invalid",
                )
            out.append((field, "IS NULL" if value == "true" else "IS NOT NULL", None))
            continue
        if op not in OPS:
            raise InvalidInput(
                f"不支持的过滤写法 {name}",
                f"Unsupported filter {name}; use field, field__gt/gte/lt/lte/in/null",
                code="source_filter_invalid",
            )
        parsed: Any = [v for v in value.split(",") if v != ""] if op == "in" else value
        if op == "in" and not parsed:
            raise InvalidInput(
                "in 需要至少一个值", "in needs at least one value", code="source_filter_invalid"
            )
        out.append((field, OPS[op], parsed))
    return out


def _fields(raw: str | None) -> list[str] | None:
    return [f.strip() for f in raw.split(",") if f.strip()] if raw else None


@router.get("/data/{class_code}/{sequence}", response_model=DataPage)
def read_data(
    request: Request,
    caller: CallerDep,
    class_code: str,
    sequence: str,
    fields: Annotated[str | None, Query(description="comma-separated granted fields")] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 100,
    cursor: str | None = None,
) -> DataPage:
    """Granted rows of entry ``{class_code}/{sequence}`` in key order, masked as granted.

    Filter with ``field=value``, ``field__gt|gte|lt|lte=value``, ``field__in=a,b``,
    ``field__null=true|false`` on granted fields; follow ``next_cursor`` for the next page.
    Needs an app token (or a consumer user) holding ``data.read`` and an active grant.
    """
    filters = parse_filters(list(request.query_params.multi_items()))
    return dataapi.read_data(
        caller,
        f"{class_code}/{sequence}",
        fields=_fields(fields),
        filters=filters,
        limit=limit,
        cursor=cursor,
    )


@router.get("/data/{class_code}/{sequence}/records/{key}", response_model=DataPage)
def lookup(
    caller: CallerDep,
    class_code: str,
    sequence: str,
    key: str,
    fields: Annotated[str | None, Query(description="comma-separated granted fields")] = None,
) -> DataPage:
    """The record with this key (entries with a single-field key): 0 or 1 rows."""
    return dataapi.lookup(caller, f"{class_code}/{sequence}", key, fields=_fields(fields))


@router.post("/data/{class_code}/{sequence}/verify", response_model=VerifyOut)
def verify(caller: CallerDep, class_code: str, sequence: str, data: VerifyIn) -> VerifyOut:
    """Batch verification (核验): match / no match per key and field, no data returned."""
    return dataapi.verify(caller, f"{class_code}/{sequence}", data)
