"""Paged HTTP JSON APIs as a source, over httpx.

Each configured endpoint is a table::

    {"name": "people", "path": "/api/people", "params": {"status": "active"},
     "items_path": "data.items",          # dotted path to the list of records ("" = the body)
     "key": ["id"],                       # optional: the records' primary key
     "paging": {"type": "page" | "offset" | "cursor" | "none",
                "page_param": "page",     # page number (page), offset (offset)
                "size_param": "size",     # page size parameter; "" sends none
                "page_size": 100,
                "start": 1,               # first page number / first offset / first cursor
                "cursor_param": "cursor", # cursor paging: the parameter that carries it
                "cursor_path": "data.next",  # cursor paging: where the next cursor is
                "total_path": "data.total"}} # optional: the record count, stops paging early

Paging stops at the first empty page, when no next cursor comes back, or once ``total_path``
records were read; pages are fetched lazily, so a ``limit`` (or a consumer that stops) ends
the requests at the page that satisfied it. Offset paging advances by the records actually
returned, so a server that caps the page size loses nothing.

Records are typed by the JSON rules in ``records.py``, from the first page (discovery reads
one page per endpoint): nested objects are flattened into ``parent.child`` columns, arrays
are kept as JSON text, fields first seen on later pages are left out, and a later value that
does not fit its column fails with ``source_value_invalid``. HTTP 429, 502, 503 and 504 are
retried (``retries`` times, honouring Retry-After up to ``max_retry_wait`` seconds); 401/403
fail with ``source_auth_failed``; other failures with ``source_unreachable``; a body that is
not the JSON described with ``source_response_invalid``.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pyarrow as pa

from govdata.core.errors import InvalidInput
from govdata.sources.base import (
    ColumnInfo,
    Filter,
    SourceConnector,
    TableInfo,
    check_limit,
    table_unknown,
    unreachable,
)
from govdata.sources.records import (
    RowFilter,
    finish,
    flatten,
    infer_record_types,
    needed_columns,
    records_to_batch,
)

PAGING_TYPES = ("page", "offset", "cursor", "none")
RETRY_STATUSES = frozenset({429, 502, 503, 504})
_DEFAULT_PARAM = {"page": "page", "offset": "offset", "cursor": "cursor", "none": ""}
_DEFAULT_SIZE_PARAM = {"page": "size", "offset": "limit", "cursor": "", "none": ""}
_DEFAULT_START: dict[str, Any] = {"page": 1, "offset": 0, "cursor": None, "none": None}


def config_invalid(reason_zh: str, reason_en: str, where: str) -> InvalidInput:
    return InvalidInput(
        f"接口数据源配置不合法（{where}）：{reason_zh}",
        f"Invalid HTTP source configuration ({where}): {reason_en}",
        code="source_config_invalid",
        details={"where": where, "reason": reason_en},
    )


def response_invalid(target: str, reason: str) -> InvalidInput:
    return InvalidInput(
        f"接口 {target} 的响应不符合配置：{reason}",
        f"The API {target} answered with something unexpected: {reason}",
        code="source_response_invalid",
        details={"target": target, "reason": reason},
    )


def http_auth_failed(target: str, status: int) -> InvalidInput:
    return InvalidInput(
        f"接口 {target} 拒绝了访问（HTTP {status}）：令牌或请求头中的凭据无效",
        f"The API {target} refused access (HTTP {status}): the token or header credentials "
        "are not valid",
        code="source_auth_failed",
        details={"target": target, "status": status},
    )


@dataclass(frozen=True)
class Paging:
    type: str = "none"
    page_param: str = ""
    size_param: str = ""
    page_size: int = 100
    start: Any = None
    cursor_param: str = "cursor"
    cursor_path: str = ""
    total_path: str = ""


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    params: Mapping[str, Any] = field(default_factory=dict)
    items_path: str = ""
    key: tuple[str, ...] = ()
    paging: Paging = field(default_factory=Paging)


def parse_endpoint(raw: Mapping[str, Any] | Endpoint) -> Endpoint:
    """One endpoint from its configuration, with the paging defaults filled in."""
    if isinstance(raw, Endpoint):
        return raw
    if not isinstance(raw, Mapping):
        raise config_invalid("接口须为对象", "an endpoint must be an object", "endpoints")
    name, path = raw.get("name"), raw.get("path")
    if not isinstance(name, str) or not name.strip():
        raise config_invalid("接口缺少名称", "an endpoint needs a name", "endpoints")
    where = f"endpoint {name}"
    if not isinstance(path, str):
        raise config_invalid("缺少路径 path", "path is required", where)
    params = raw.get("params") or {}
    if not isinstance(params, Mapping):
        raise config_invalid("params 须为对象", "params must be an object", where)
    items_path = raw.get("items_path") or ""
    key = raw.get("key") or ()
    if not isinstance(items_path, str) or not isinstance(key, (list, tuple)):
        raise config_invalid("items_path 或 key 不合法", "invalid items_path or key", where)
    paging = raw.get("paging") or {}
    if not isinstance(paging, Mapping):
        raise config_invalid("paging 须为对象", "paging must be an object", where)
    kind = paging.get("type") or "none"
    if kind not in PAGING_TYPES:
        raise config_invalid(f"不支持的分页方式 {kind}", f"unsupported paging type {kind!r}", where)
    size = paging.get("page_size", 100)
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 100_000:
        raise config_invalid(
            "page_size 须为 1 到 100000 的整数", "page_size must be 1..100000", where
        )
    cursor_path = paging.get("cursor_path") or ""
    if kind == "cursor" and not cursor_path:
        raise config_invalid("游标分页须指定 cursor_path", "cursor paging needs cursor_path", where)
    start = paging.get("start", _DEFAULT_START[kind])
    if kind in ("page", "offset") and (not isinstance(start, int) or isinstance(start, bool)):
        raise config_invalid("start 须为整数", "start must be an integer", where)
    return Endpoint(
        name=name,
        path=path,
        params=dict(params),
        items_path=items_path,
        key=tuple(str(k) for k in key),
        paging=Paging(
            type=kind,
            page_param=paging.get("page_param") or _DEFAULT_PARAM[kind],
            size_param=paging.get("size_param", _DEFAULT_SIZE_PARAM[kind]) or "",
            page_size=size,
            start=start,
            cursor_param=paging.get("cursor_param") or "cursor",
            cursor_path=cursor_path,
            total_path=paging.get("total_path") or "",
        ),
    )


def dig(body: Any, path: str) -> Any:
    """The value at a dotted path (``data.items``; a number indexes a list); None if absent."""
    value = body
    for part in path.split(".") if path else ():
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    if raw is None:
        return None
    raw = raw.strip()
    if raw.isdigit():
        return float(raw)
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class HttpConnector(SourceConnector):
    """A department's HTTP API that answers JSON, one table per configured endpoint."""

    def __init__(
        self,
        base_url: str,
        endpoints: Sequence[Mapping[str, Any] | Endpoint],
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
        timeout: float = 10.0,
        *,
        retries: int = 2,
        backoff: float = 0.5,
        max_retry_wait: float = 10.0,
    ) -> None:
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise config_invalid(
                "base_url 须以 http:// 或 https:// 开头",
                "base_url must start with http:// or https://",
                "base_url",
            )
        parsed = [parse_endpoint(e) for e in endpoints]
        names = [e.name for e in parsed]
        if len(set(names)) != len(names):
            raise config_invalid("接口名称重复", "endpoint names must be unique", "endpoints")
        self.base_url = base_url.rstrip("/")
        self.endpoints = {e.name: e for e in parsed}
        self.headers = dict(headers or {})
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout
        self.retries, self.backoff, self.max_retry_wait = retries, backoff, max_retry_wait
        self.target = self.base_url
        self._tables: dict[str, TableInfo] = {}

    # -- the interface ---------------------------------------------------------------------

    def test_connection(self) -> None:
        if not self.endpoints:
            raise config_invalid("至少配置一个接口", "configure at least one endpoint", "endpoints")
        endpoint = next(iter(self.endpoints.values()))
        with self._client() as client:
            self._items(endpoint, self._first_page(client, endpoint))

    def discover(self) -> list[TableInfo]:
        with self._client() as client:
            for endpoint in self.endpoints.values():
                body = self._first_page(client, endpoint)
                self._tables[endpoint.name] = self._describe(endpoint, body)
        return [self._tables[name] for name in self.endpoints]

    def table(self, table: str) -> TableInfo:
        return self._table(table)[0]

    def preview(self, table: str, limit: int = 20) -> pa.Table:
        check_limit(limit)
        batches = list(self.read_batches(table, batch_rows=limit, limit=limit))
        # read_batches has described the table by now (from the page it read first).
        return pa.Table.from_batches(batches, self.table(table).arrow_schema())

    def read_batches(
        self,
        table: str,
        columns: Sequence[str] | None = None,
        where: Sequence[Filter] | None = None,
        batch_rows: int = 50_000,
        limit: int | None = None,
    ) -> Iterator[pa.RecordBatch]:
        # Validate now, not at the first next(): a bad request fails where it is made.
        info, first = self._table(table)
        check_limit(batch_rows, maximum=1_000_000)
        if limit is not None:
            check_limit(limit, maximum=100_000_000)
        rows = RowFilter(info, where)
        needed = needed_columns(info, columns, rows)
        projection = needed[: len(columns) if columns is not None else len(info.columns)]
        schema = info.arrow_schema(needed)
        return finish(
            self._batches(self._endpoint(table), schema, first), projection, rows, batch_rows, limit
        )

    # -- internals -------------------------------------------------------------------------

    def _endpoint(self, name: str) -> Endpoint:
        endpoint = self.endpoints.get(name)
        if endpoint is None:
            raise table_unknown(name)
        return endpoint

    def _client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers=self.headers,
            timeout=self.timeout,
            follow_redirects=True,
        )

    def _table(self, table: str) -> tuple[TableInfo, Any]:
        """The table's description and, when it took a request to learn it, that first page.

        A read of a table not discovered yet starts from the page its schema came from,
        rather than asking the API for it twice.
        """
        info = self._tables.get(table)
        if info is not None:
            return info, None
        endpoint = self._endpoint(table)
        with self._client() as client:
            body = self._first_page(client, endpoint)
        info = self._tables[table] = self._describe(endpoint, body)
        return info, body

    def _describe(self, endpoint: Endpoint, body: Any) -> TableInfo:
        records = [flatten(item) for item in self._items(endpoint, body)]
        types = infer_record_types(records)
        # A declared key absent from the first page (an empty one, say) still names a column.
        for key in endpoint.key:
            types.setdefault(key, pa.string())
        total = dig(body, endpoint.paging.total_path) if endpoint.paging.total_path else None
        if isinstance(total, int) and not isinstance(total, bool):
            estimate: int | None = total
        elif endpoint.paging.type == "none":
            estimate = len(records)
        else:
            estimate = None
        return TableInfo(
            schema="http",
            name=endpoint.name,
            columns=tuple(
                ColumnInfo(
                    name=name,
                    type="json",
                    arrow_type=type_,
                    nullable=True,
                    is_key=name in endpoint.key,
                )
                for name, type_ in types.items()
            ),
            primary_key=endpoint.key,
            row_estimate=estimate,
        )

    def _first_page(self, client: httpx.Client, endpoint: Endpoint) -> Any:
        return self._get(client, endpoint.path, self._params(endpoint, endpoint.paging.start))

    def _params(self, endpoint: Endpoint, position: Any) -> dict[str, Any]:
        """The query of the page at ``position`` (page number, offset or cursor)."""
        paging = endpoint.paging
        params = dict(endpoint.params)
        if paging.type != "none" and paging.size_param:
            params[paging.size_param] = paging.page_size
        if paging.type in ("page", "offset"):
            params[paging.page_param] = position
        elif paging.type == "cursor" and position is not None:
            params[paging.cursor_param] = position
        return params

    def _items(self, endpoint: Endpoint, body: Any) -> list[dict[str, Any]]:
        items = dig(body, endpoint.items_path)
        where = f"{self.target}{endpoint.path}"
        if not isinstance(items, list):
            place = endpoint.items_path or "the body"
            raise response_invalid(where, f"no list of records at {place}")
        for n, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                raise response_invalid(where, f"record {n} is not a JSON object")
        return items

    def _pages(
        self, client: httpx.Client, endpoint: Endpoint, first: Any
    ) -> Iterator[list[dict[str, Any]]]:
        """The records page by page, each page requested only when the previous one is used."""
        paging = endpoint.paging
        position = paging.start
        seen = 0
        cursors: set[Any] = set()
        while True:
            if first is not None:
                body, first = first, None
            else:
                body = self._get(client, endpoint.path, self._params(endpoint, position))
            items = self._items(endpoint, body)
            if not items:
                return
            yield items
            seen += len(items)
            if paging.type == "none":
                return
            total = dig(body, paging.total_path) if paging.total_path else None
            if isinstance(total, (int, float)) and not isinstance(total, bool) and seen >= total:
                return
            if paging.type == "page":
                position += 1
            elif paging.type == "offset":
                position += len(items)
            else:
                position = dig(body, paging.cursor_path)
                if position in (None, ""):
                    return
                if not isinstance(position, (str, int)) or position in cursors:
                    raise response_invalid(
                        f"{self.target}{endpoint.path}",
                        f"the next cursor {position!r} at {paging.cursor_path} repeats or is "
                        "not a string or number",
                    )
                cursors.add(position)

    def _batches(
        self, endpoint: Endpoint, schema: pa.Schema, first: Any
    ) -> Iterator[pa.RecordBatch]:
        row = 1
        with self._client() as client:
            for items in self._pages(client, endpoint, first):
                records = [flatten(item) for item in items]
                yield records_to_batch(records, schema, endpoint.name, row)
                row += len(records)

    def _get(self, client: httpx.Client, path: str, params: Mapping[str, Any]) -> Any:
        target = f"{self.target}{path}"
        attempt = 0
        while True:
            try:
                response = client.get(path, params=dict(params))
            except httpx.TimeoutException as exc:
                raise unreachable(target, f"no answer within {self.timeout:g} s") from exc
            except httpx.HTTPError as exc:
                raise unreachable(target, str(exc) or type(exc).__name__) from exc
            status = response.status_code
            if status in RETRY_STATUSES and attempt < self.retries:
                wait = _retry_after(response)
                if wait is None:
                    wait = self.backoff * 2**attempt
                time.sleep(min(wait, self.max_retry_wait))
                attempt += 1
                continue
            if status in (401, 403):
                raise http_auth_failed(target, status)
            if status >= 500 or status == 429:
                raise unreachable(target, f"HTTP {status}")
            if status >= 400:
                raise response_invalid(target, f"HTTP {status}")
            try:
                return response.json()
            except ValueError as exc:
                kind = response.headers.get("Content-Type", "unknown")
                raise response_invalid(target, f"the body is not JSON ({kind})") from exc
