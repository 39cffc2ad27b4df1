"""HTTP sources against a real local HTTP server serving paged JSON."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pyarrow as pa
import pytest

from govdata.core.errors import GovDataError
from govdata.sources import HttpConnector

TOKEN = "s3cret-token"
N = 23
PEOPLE = [
    {
        "id": i,
        "name": f"居民{i}",
        "addr": {"city": "西宁" if i % 2 else "海东", "zip": f"81{i:04d}"},
        "tags": ["a"] * (i % 3),
        "score": i * 1.5,
    }
    for i in range(1, N + 1)
]


class Api(BaseHTTPRequestHandler):
    counts: ClassVar[Counter[str]] = Counter()
    seen_auth: ClassVar[list[str | None]] = []
    lock = threading.Lock()

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        path = url.path
        with self.lock:
            self.counts[path] += 1
            count = self.counts[path]
        if path == "/page":
            page, size = int(q["page"]), int(q["size"])
            items = PEOPLE[(page - 1) * size : page * size]
            body: dict[str, Any] = {"data": {"items": items}}
            if q.get("with_total"):
                body["data"]["total"] = N
            self._send(200, body)
        elif path == "/offset":
            # The server caps the page at 4 records whatever the client asks for.
            offset, limit = int(q["offset"]), min(int(q["limit"]), 4)
            self._send(200, {"items": PEOPLE[offset : offset + limit]})
        elif path == "/cursor":
            start = int(q.get("cursor", "0"))
            nxt = start + 6
            self._send(
                200,
                {"result": PEOPLE[start:nxt], "paging": {"next": str(nxt) if nxt < N else None}},
            )
        elif path == "/list":
            self._send(200, PEOPLE[:3])
        elif path == "/secure":
            self.seen_auth.append(self.headers.get("Authorization"))
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._send(401, {"error": "unauthorized"})
            else:
                self._send(200, {"items": PEOPLE[:2]})
        elif path == "/forbidden":
            self._send(403, {"error": "forbidden"})
        elif path == "/flaky":
            if count == 1:
                self._send(503, {"error": "busy"}, {"Retry-After": "1"})
            else:
                self._send(200, {"items": PEOPLE[:2]})
        elif path == "/down":
            self._send(503, {"error": "down"}, {"Retry-After": "0"})
        elif path == "/html":
            data = b"<html><body>maintenance</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif path == "/slow":
            time.sleep(1.5)
            self._send(200, {"items": []})
        elif path == "/drift":
            page = int(q["page"])
            items: list[dict[str, Any]] = [{"id": page * 10 + i, "n": i} for i in range(3)]
            if page == 2:
                items[1]["n"] = "two"
            self._send(200, {"items": items if page <= 3 else []})
        elif path == "/breaks":
            page = int(q["page"])
            if page >= 3:
                self._send(500, {"error": "database gone"})
            else:
                self._send(200, {"items": [{"id": page * 10 + i} for i in range(5)]})
        elif path == "/loop":
            self._send(200, {"items": [{"id": 1}], "next": "same"})
        else:
            self._send(404, {"error": "no such path"})


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def _reset() -> None:
    Api.counts.clear()
    Api.seen_auth.clear()


def _page(**paging: Any) -> dict[str, Any]:
    return {
        "name": "people",
        "path": "/page",
        "items_path": "data.items",
        "key": ["id"],
        "paging": {"type": "page", "page_param": "page", "size_param": "size", **paging},
    }


def _ids(conn: HttpConnector, table: str, **kwargs: Any) -> list[int]:
    return [i for b in conn.read_batches(table, **kwargs) for i in b.column("id").to_pylist()]


def _error(fn: Any, *args: Any, **kwargs: Any) -> GovDataError:
    with pytest.raises(GovDataError) as caught:
        result = fn(*args, **kwargs)
        if hasattr(result, "__next__"):
            list(result)
    return caught.value


def test_discover_flattens_nested_objects(server: str) -> None:
    conn = HttpConnector(server, [_page(page_size=5, total_path="data.total")])
    (info,) = HttpConnector(
        server,
        [{**_page(page_size=5, total_path="data.total"), "params": {"with_total": 1}}],
    ).discover()
    assert info.name == "people"
    assert info.primary_key == ("id",)
    assert info.row_estimate == N
    assert {c.name: c.arrow_type for c in info.columns} == {
        "id": pa.int64(),
        "name": pa.string(),
        "addr.city": pa.string(),
        "addr.zip": pa.string(),
        "tags": pa.string(),
        "score": pa.float64(),
    }
    assert info.column("id").is_key
    preview = conn.preview("people", limit=2).to_pylist()
    assert preview[1] == {
        "id": 2,
        "name": "居民2",
        "addr.city": "海东",
        "addr.zip": "810002",
        "tags": '["a", "a"]',
        "score": 3.0,
    }


def test_page_paging_reads_every_row_once(server: str) -> None:
    conn = HttpConnector(server, [_page(page_size=5)])
    conn.discover()
    Api.counts.clear()
    batches = list(conn.read_batches("people", batch_rows=10))
    assert [b.num_rows for b in batches] == [10, 10, 3]
    assert [i for b in batches for i in b.column("id").to_pylist()] == list(range(1, N + 1))
    # Five pages of records, then the empty page that says there is no more.
    assert Api.counts["/page"] == 6
    # Read without discovering first: the page the schema came from is the stream's first.
    Api.counts.clear()
    assert _ids(HttpConnector(server, [_page(page_size=5)]), "people") == list(range(1, N + 1))
    assert Api.counts["/page"] == 6


def test_total_stops_paging_without_the_empty_page(server: str) -> None:
    endpoint = {**_page(page_size=5, total_path="data.total"), "params": {"with_total": "1"}}
    conn = HttpConnector(server, [endpoint])
    conn.discover()
    Api.counts.clear()
    assert _ids(conn, "people") == list(range(1, N + 1))
    assert Api.counts["/page"] == 5


def test_offset_paging_advances_by_what_the_server_returned(server: str) -> None:
    endpoint = {
        "name": "people",
        "path": "/offset",
        "items_path": "items",
        "paging": {"type": "offset", "page_size": 10},
    }
    conn = HttpConnector(server, [endpoint])
    assert _ids(conn, "people") == list(range(1, N + 1))
    # 6 capped pages of at most 4 records (the first also gave the schema), and an empty one.
    assert Api.counts["/offset"] == 6 + 1


def test_cursor_paging(server: str) -> None:
    endpoint = {
        "name": "people",
        "path": "/cursor",
        "items_path": "result",
        "paging": {"type": "cursor", "cursor_param": "cursor", "cursor_path": "paging.next"},
    }
    conn = HttpConnector(server, [endpoint])
    conn.discover()
    Api.counts.clear()
    assert _ids(conn, "people", batch_rows=7) == list(range(1, N + 1))
    assert Api.counts["/cursor"] == 4  # 6 + 6 + 6 + 5, the last without a next cursor


def test_a_repeating_cursor_is_refused(server: str) -> None:
    endpoint = {
        "name": "loop",
        "path": "/loop",
        "items_path": "items",
        "paging": {"type": "cursor", "cursor_path": "next"},
    }
    err = _error(HttpConnector(server, [endpoint]).read_batches, "loop")
    assert err.code == "source_response_invalid"
    assert Api.counts["/loop"] <= 3


def test_unpaged_body_that_is_a_list(server: str) -> None:
    conn = HttpConnector(server, [{"name": "few", "path": "/list"}])
    (info,) = conn.discover()
    assert info.row_estimate == 3
    assert _ids(conn, "few") == [1, 2, 3]


def test_preview_of_an_undiscovered_endpoint_asks_once(server: str) -> None:
    conn = HttpConnector(server, [_page(page_size=5)])
    assert conn.preview("people", limit=3).column("id").to_pylist() == [1, 2, 3]
    assert Api.counts["/page"] == 1


def test_limit_stops_paging_at_the_page_that_satisfies_it(server: str) -> None:
    conn = HttpConnector(server, [_page(page_size=5)])
    conn.discover()
    Api.counts.clear()
    assert _ids(conn, "people", limit=7) == list(range(1, 8))
    assert Api.counts["/page"] == 2
    Api.counts.clear()
    assert _ids(conn, "people", limit=5) == list(range(1, 6))
    assert Api.counts["/page"] == 1


def test_projection_and_filters(server: str) -> None:
    conn = HttpConnector(server, [_page(page_size=5)])
    rows = pa.Table.from_batches(
        list(
            conn.read_batches(
                "people",
                columns=["name"],
                where=[("addr.city", "=", "西宁"), ("id", ">", 10), ("score", "<=", 30)],
            )
        )
    ).to_pylist()
    assert rows == [{"name": f"居民{i}"} for i in (11, 13, 15, 17, 19)]
    rows = list(conn.read_batches("people", columns=["id"], where=[("id", "IN", [2, 22])]))
    assert [i for b in rows for i in b.column("id").to_pylist()] == [2, 22]
    with pytest.raises(GovDataError) as caught:
        conn.read_batches("people", columns=["nope"])
    assert caught.value.code == "source_column_unknown"


def test_later_page_value_that_does_not_fit(server: str) -> None:
    endpoint = {"name": "d", "path": "/drift", "items_path": "items", "paging": {"type": "page"}}
    conn = HttpConnector(server, [endpoint])
    assert conn.table("d").column("n").arrow_type == pa.int64()
    err = _error(conn.read_batches, "d")
    assert err.code == "source_value_invalid"
    # Page 1 holds rows 1-3; the bad value is the second record of page 2.
    assert (err.details["column"], err.details["row"]) == ("n", 5)


def test_source_failing_mid_load_is_unreachable_after_the_rows_it_gave(server: str) -> None:
    endpoint = {"name": "b", "path": "/breaks", "items_path": "items", "paging": {"type": "page"}}
    batches = HttpConnector(server, [endpoint]).read_batches("b", batch_rows=5)
    assert next(batches).column("id").to_pylist() == [10, 11, 12, 13, 14]
    assert next(batches).column("id").to_pylist() == [20, 21, 22, 23, 24]
    err = _error(next, batches)
    assert err.code == "source_unreachable"
    assert "500" in err.details["reason"]


def test_token_is_sent_as_bearer_and_refusal_is_auth_failed(server: str) -> None:
    endpoint = {"name": "s", "path": "/secure", "items_path": "items"}
    err = _error(HttpConnector(server, [endpoint]).test_connection)
    assert err.code == "source_auth_failed"
    assert "401" in err.message_en
    err = _error(HttpConnector(server, [endpoint], token="wrong").test_connection)
    assert err.code == "source_auth_failed"
    conn = HttpConnector(server, [endpoint], token=TOKEN)
    conn.test_connection()
    assert _ids(conn, "s") == [1, 2]
    assert Api.seen_auth[-1] == f"Bearer {TOKEN}"
    forbidden = {"name": "f", "path": "/forbidden"}
    assert _error(HttpConnector(server, [forbidden]).discover).code == "source_auth_failed"


def test_headers_are_sent(server: str) -> None:
    endpoint = {"name": "s", "path": "/secure", "items_path": "items"}
    auth = {"Authorization": f"Bearer {TOKEN}"}
    HttpConnector(server, [endpoint], headers=auth).test_connection()


def test_unreachable_host(server: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conn = HttpConnector(f"http://127.0.0.1:{port}", [{"name": "x", "path": "/x"}])
    started = time.monotonic()
    err = _error(conn.test_connection)
    assert err.code == "source_unreachable"
    assert err.status == 503
    assert time.monotonic() - started < 5


def test_timeout_is_unreachable(server: str) -> None:
    conn = HttpConnector(server, [{"name": "slow", "path": "/slow"}], timeout=0.3)
    err = _error(conn.test_connection)
    assert err.code == "source_unreachable"
    assert "0.3" in err.details["reason"]


def test_503_then_success_is_retried_after_retry_after(server: str) -> None:
    conn = HttpConnector(server, [{"name": "f", "path": "/flaky", "items_path": "items"}])
    started = time.monotonic()
    conn.test_connection()
    assert time.monotonic() - started >= 1.0  # the server asked for one second
    assert Api.counts["/flaky"] == 2


def test_a_source_that_stays_down_fails_after_bounded_retries(server: str) -> None:
    conn = HttpConnector(server, [{"name": "d", "path": "/down"}], retries=2)
    err = _error(conn.test_connection)
    assert err.code == "source_unreachable"
    assert "503" in err.details["reason"]
    assert Api.counts["/down"] == 3


def test_non_json_and_wrong_shape_are_response_invalid(server: str) -> None:
    err = _error(HttpConnector(server, [{"name": "h", "path": "/html"}]).test_connection)
    assert err.code == "source_response_invalid"
    assert "text/html" in err.details["reason"]
    wrong = {"name": "p", "path": "/page", "items_path": "data.rows", "paging": {"type": "page"}}
    err = _error(HttpConnector(server, [wrong]).discover)
    assert err.code == "source_response_invalid"
    assert "data.rows" in err.details["reason"]
    err = _error(HttpConnector(server, [{"name": "m", "path": "/missing"}]).discover)
    assert err.code == "source_response_invalid"
    assert "404" in err.details["reason"]


def test_unknown_endpoint(server: str) -> None:
    conn = HttpConnector(server, [_page()])
    assert _error(conn.read_batches, "other").code == "source_table_unknown"


@pytest.mark.parametrize(
    ("base_url", "endpoints"),
    [
        ("ftp://example", [{"name": "a", "path": "/a"}]),
        ("http://h", [{"name": "a"}]),
        ("http://h", [{"name": "a", "path": "/a", "paging": {"type": "scroll"}}]),
        ("http://h", [{"name": "a", "path": "/a", "paging": {"type": "cursor"}}]),
        ("http://h", [{"name": "a", "path": "/a", "paging": {"type": "page", "page_size": 0}}]),
        ("http://h", [{"name": "a", "path": "/a"}, {"name": "a", "path": "/b"}]),
    ],
)
def test_bad_configuration_is_refused(base_url: str, endpoints: list[dict[str, Any]]) -> None:
    with pytest.raises(GovDataError) as caught:
        HttpConnector(base_url, endpoints)
    assert caught.value.code == "source_config_invalid"
