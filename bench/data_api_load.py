"""The load client of ``bench/data_api.py``: key lookups from CONCURRENCY clients at once.

A fresh process (so its CPU is not the server's and its GIL not the orchestrator's) with one
asyncio event loop (uvloop when installed) and CONCURRENCY keep-alive HTTP/1.1 connections,
each a client sending its next request as soon as the previous answer is in. Requests are
written and answers parsed by hand on the raw stream: the client should cost the shared CPUs
as little as possible, and cost both endpoints the same. Every answer is checked: status
200, one row, the key asked for, and — where the endpoint masks — every masked field masked
and listed. Each key is drawn at random (fixed seed per connection) from 1..rows.

The first ``warmup`` seconds are not counted; then every request that completes within the
next ``duration`` seconds is: its latency (write of the request → last byte of the answer) is
recorded, and throughput is completed good answers ÷ ``duration``. The line ``start`` on
stdout marks the moment the clock starts.

    python bench/data_api_load.py ARGS_JSON RESULT_PATH
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ERROR_SAMPLES = 5


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    good: int = 0
    statuses: dict[str, int] = field(default_factory=dict)  # non-200, counted in the window
    bad_content: int = 0
    samples: list[str] = field(default_factory=list)
    reconnects: int = 0
    issued: int = 0


def _check(body: bytes, key: int, masked: list[str]) -> str | None:
    """Why the answer is wrong, or None."""
    try:
        page = json.loads(body)
        rows = page["rows"]
    except (ValueError, KeyError, TypeError):
        return "not a page of rows"
    if len(rows) != 1 or rows[0].get("id") != key:
        return f"expected the row of key {key}, got {rows!r:.200}"
    if masked:
        if sorted(page.get("masked") or []) != masked:
            return f"masked fields {page.get('masked')!r}, expected {masked!r}"
        row = rows[0]
        for name in masked:
            if "*" not in str(row.get(name)):
                return f"field {name} not masked: {row.get(name)!r}"
    return None


async def _client(
    n: int, args: dict[str, Any], start: float, counted_from: float, stop: float, tally: Tally
) -> None:
    host, port = args["host"], int(args["port"])
    prefix = args["path_prefix"]
    rows = int(args["rows"])
    masked = sorted(args.get("masked") or [])
    extra = "".join(f"{k}: {v}\r\n" for k, v in (args.get("headers") or {}).items())
    rng = random.Random(args.get("seed", 1) * 1000 + n)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < stop:
            key = rng.randint(1, rows)
            request = f"GET {prefix}{key} HTTP/1.1\r\nHost: {host}:{port}\r\n{extra}\r\n"
            sent = time.perf_counter()
            tally.issued += 1
            try:
                writer.write(request.encode())
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                status = int(lines[0].split(" ", 2)[1])
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                if "content-length" not in headers:
                    raise ValueError(f"answer without content-length: {headers}")
                body = await reader.readexactly(int(headers["content-length"]))
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                # The server dropped the connection: count it, open a new one.
                done = time.perf_counter()
                if counted_from <= done <= stop:
                    tally.statuses["connection"] = tally.statuses.get("connection", 0) + 1
                    if len(tally.samples) < ERROR_SAMPLES:
                        tally.samples.append(f"{type(exc).__name__}: {exc}")
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                tally.reconnects += 1
                continue
            done = time.perf_counter()
            if headers.get("connection", "").lower() == "close":
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                tally.reconnects += 1
            if not counted_from <= done <= stop:
                continue
            if status != 200:
                tally.statuses[str(status)] = tally.statuses.get(str(status), 0) + 1
                if len(tally.samples) < ERROR_SAMPLES:
                    tally.samples.append(f"{status}: {body[:300].decode(errors='replace')}")
                continue
            wrong = _check(body, key, masked)
            if wrong is not None:
                tally.bad_content += 1
                if len(tally.samples) < ERROR_SAMPLES:
                    tally.samples.append(wrong)
                continue
            tally.good += 1
            tally.latencies_ms.append((done - sent) * 1000)
    finally:
        writer.close()


async def _run(args: dict[str, Any]) -> dict[str, Any]:
    tally = Tally()
    # The caller times the server's CPU over the counted window from this line.
    print("start", flush=True)
    start = time.perf_counter()
    counted_from = start + float(args["warmup"])
    stop = counted_from + float(args["duration"])
    await asyncio.gather(
        *(
            _client(n, args, start, counted_from, stop, tally)
            for n in range(int(args["concurrency"]))
        )
    )
    return {
        "duration": float(args["duration"]),
        "good": tally.good,
        "issued": tally.issued,
        "errors": tally.statuses,
        "bad_content": tally.bad_content,
        "samples": tally.samples,
        "reconnects": tally.reconnects,
        "latencies_ms": tally.latencies_ms,
    }


def main() -> None:
    args = json.loads(sys.argv[1])
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(_run(args))
    else:
        result = uvloop.run(_run(args))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["client_cpu_seconds"] = usage.ru_utime + usage.ru_stime
    Path(sys.argv[2]).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
