"""Data-service API key lookups as a ratio to a bare endpoint reading the same rows, same run.

1. Key lookups through the data-service API (``GET /api/v1/data/{class}/{seq}/records/{key}``:
   app-token authentication, grant check, rate count, masking, audit record) against a
   bare FastAPI endpoint (``bench/bare_data_app.py``) that makes the same store read — same
   mount, same ``logical.fetch`` call — and nothing else. Two stores: a 1M-row lake table
   (physical mount; the full load's file layout) and a live 1M-row MariaDB table with a
   primary key (logical mount). Both apps run as uvicorn processes with 1 and then 2
   workers; a load process (``bench/data_api_load.py``) keeps ``--clients`` (32) requests
   in flight for ``--duration`` seconds after a warm-up, random keys, every answer checked
   (200, the key asked for, masked where the grant masks). Reported: requests/s, p50 and
   p99 latency of each, the platform's requests/s as a ratio to the bare endpoint's
   (goal: at least 0.60), and the web processes' CPU per lookup (bare ÷ platform: the
   throughput ratio's limit when the web process's CPU is what runs out). Bare and
   platform runs alternate, so both see the same load from the rest of the machine.
2. Subscription lag, source commit → the consumer's table (``bench/data_api_lag.py``):
   p50 and p99, split at the lake, and as a ratio to the source → lake lag of the same
   run (the consumer cannot have a change before the lake has it). Skipped, saying why,
   when the subscription modules are missing.

The metadata store is a PostgreSQL database ``govdata_bench_data_api`` (production
profile), then a SQLite file (embedded profile) unless ``--metadata`` says otherwise.
MariaDB database ``govdata_bench_data_api_src`` is created and dropped.

    python bench/data_api.py                       # both metadata stores, 1 and 2 workers
    python bench/data_api.py --quick               # 100k rows, 4 s runs: for development
    python bench/data_api.py --metadata postgresql --json data/bench-data-api.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform as py_platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import collect_source as source
import data_api_lag
from bare_data_app import MOUNTS_ENV
from data_api_setup import Node, Resource

BENCH = Path(__file__).resolve().parent
SOURCE_DB = "govdata_bench_data_api_src"
TABLE = "person"
STORE_DB = "govdata_bench_data_api"
GOAL = 0.60
SERVER_START_TIMEOUT = 120.0
STARTED = "Application startup complete."


def t(x: float, digits: int = 3, *, comma: bool = False) -> str:
    """``x`` cut, not rounded, to ``digits`` decimals: a printed figure is never rounded up."""
    if not math.isfinite(x):
        return str(x)
    cut = Decimal(repr(x)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_FLOOR)
    return f"{cut:,.{digits}f}" if comma else f"{cut:.{digits}f}"


def load_average() -> float:
    return os.getloadavg()[0]


# -- servers -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A uvicorn process (and its workers) serving the platform or the bare app."""

    name: str
    workers: int
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, name: str, workers: int, env: dict[str, str], workdir: Path) -> Server:
        port = free_port()
        if name == "platform":
            target = ["govdata.app:create_app"]
        else:
            target = ["--app-dir", str(BENCH), "bare_data_app:create_app"]
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            *target,
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            # The same for both apps: a line per request would cost both the same CPU.
            "--no-access-log",
            "--log-level",
            "info",
        ]
        log = workdir / f"server-{name}-{workers}w-{port}.log"
        with log.open("wb") as out:
            # A session of its own, so stopping it reaches its worker processes too.
            proc = subprocess.Popen(
                cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        server = cls(name, workers, port, proc, log)
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while log.read_text(errors="replace").count(STARTED) < workers:
            if proc.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise SystemExit(
                    f"{name} server did not start:\n{log.read_text(errors='replace')[-3000:]}"
                )
            time.sleep(0.1)
        return server

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of ``pid`` and its descendants, living and reaped."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            # utime, stime, cutime, cstime: fields 14-17 of stat(5), counted after the name.
            total += sum(int(x) for x in fields[11:15])
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


# -- load --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    kind: str  # "bare" or "platform"
    server: Server
    prefix: str
    headers: dict[str, str]
    masked: tuple[str, ...]


def endpoint(kind: str, server: Server, resource: Resource, token: str) -> Endpoint:
    if kind == "bare":
        return Endpoint(kind, server, f"/bare/{resource.resource_code}/records/", {}, ())
    return Endpoint(
        kind,
        server,
        f"/api/v1/data/{resource.resource_code}/records/",
        {"Authorization": f"Bearer {token}"},
        resource.masked_fields,
    )


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    if not sorted_values:
        return math.nan
    i = min(len(sorted_values) - 1, max(0, math.ceil(q / 100 * len(sorted_values)) - 1))
    return sorted_values[i]


def run_load(
    ep: Endpoint, rows: int, args: argparse.Namespace, workdir: Path, seed: int
) -> dict[str, Any]:
    out = workdir / f"load-{time.monotonic_ns()}.json"
    spec = {
        "host": "127.0.0.1",
        "port": ep.server.port,
        "path_prefix": ep.prefix,
        "headers": ep.headers,
        "masked": list(ep.masked),
        "rows": rows,
        "concurrency": args.clients,
        "warmup": args.warmup,
        "duration": args.duration,
        "seed": seed,
    }
    load_before = load_average()
    client = subprocess.Popen(
        [sys.executable, str(BENCH / "data_api_load.py"), json.dumps(spec), str(out)],
        stdout=subprocess.PIPE,
    )
    assert client.stdout is not None
    client.stdout.readline()
    # The server's CPU over the counted window (its clock started at "start").
    time.sleep(args.warmup)
    cpu_before = tree_cpu_seconds(ep.server.proc.pid)
    time.sleep(args.duration)
    cpu = tree_cpu_seconds(ep.server.proc.pid) - cpu_before
    client.stdout.read()
    if client.wait() != 0:
        raise SystemExit(f"the load client failed (exit code {client.returncode})")
    raw = json.loads(out.read_text())
    out.unlink()
    lat = sorted(raw["latencies_ms"])
    errors = sum(raw["errors"].values()) + raw["bad_content"]
    return {
        "requests_per_s": raw["good"] / raw["duration"],
        "server_cpu_ms_per_request": cpu * 1000 / raw["good"] if raw["good"] else math.nan,
        "server_cpu_cores": cpu / raw["duration"],
        "good": raw["good"],
        "errors": raw["errors"],
        "bad_content": raw["bad_content"],
        "error_count": errors,
        "error_samples": raw["samples"],
        "p50_ms": percentile(lat, 50),
        "p99_ms": percentile(lat, 99),
        "max_ms": lat[-1] if lat else math.nan,
        "client_cpu_seconds": raw["client_cpu_seconds"],
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "latencies_ms": raw["latencies_ms"],
    }


def check_once(ep: Endpoint, key: int) -> None:
    """One request before the runs: a setup mistake shows as its answer, not as 0 req/s."""
    import httpx

    got = httpx.get(
        f"http://127.0.0.1:{ep.server.port}{ep.prefix}{key}", headers=ep.headers, timeout=60
    )
    if got.status_code != 200:
        raise SystemExit(f"{ep.kind} endpoint answered {got.status_code}: {got.text[:2000]}")


def measure_profile(
    meta: str, args: argparse.Namespace, workdir: Path, rows: int
) -> list[dict[str, Any]]:
    """Every (store, workers) pair on one metadata store: bare and platform runs, alternating."""
    folder = workdir / meta
    folder.mkdir()
    started = time.perf_counter()
    node = Node.create(folder, sqlite=meta == "sqlite", store_db=STORE_DB)
    results: list[dict[str, Any]] = []
    try:
        resources = {
            "lake": node.resource("lake", SOURCE_DB, TABLE),
            "mariadb": node.resource("mariadb", SOURCE_DB, TABLE),
        }
        written = node.fill_lake(resources["lake"], SOURCE_DB, TABLE, rows)
        if written != rows:
            raise SystemExit(f"the lake table got {written:,} rows, expected {rows:,}")
        token = node.app_token()
        print(
            f"\nmetadata store {meta}: node set up, lake table filled"
            f" in {t(time.perf_counter() - started, 1)} s",
            flush=True,
        )
        env = node.env()
        bare_env = {
            **env,
            MOUNTS_ENV: json.dumps({r.resource_code: r.mount_id for r in resources.values()}),
        }
        for workers in args.workers:
            bare = Server.start("bare", workers, bare_env, folder)
            try:
                plat = Server.start("platform", workers, env, folder)
                try:
                    for store in args.stores:
                        resource = resources[store]
                        eps = {
                            kind: endpoint(kind, server, resource, token)
                            for kind, server in (("bare", bare), ("platform", plat))
                        }
                        for ep in eps.values():
                            check_once(ep, rows // 2)
                        runs: dict[str, list[dict[str, Any]]] = {"bare": [], "platform": []}
                        for run in range(args.runs):
                            # Alternate who goes first, so drift in the machine's load is shared.
                            order = ("bare", "platform") if run % 2 == 0 else ("platform", "bare")
                            for kind in order:
                                got = run_load(eps[kind], rows, args, folder, seed=run + 1)
                                runs[kind].append(got)
                                print(
                                    f"  {meta:<10} {store:<7} {workers} worker(s) {kind:<8}"
                                    f" run {run + 1}: {t(got['requests_per_s'], 1):>8} req/s"
                                    f"  p50 {t(got['p50_ms'], 1):>7} ms"
                                    f"  p99 {t(got['p99_ms'], 1):>7} ms"
                                    f"  server CPU {t(got['server_cpu_ms_per_request'], 1):>6}"
                                    " ms/request"
                                    f"  errors {got['error_count']}"
                                    f"  load {t(got['load_average_before'], 2)}",
                                    flush=True,
                                )
                                for sample in got["error_samples"]:
                                    print(f"      {sample}", flush=True)
                        results.append(summarise(meta, store, workers, runs))
                finally:
                    plat.stop()
            finally:
                bare.stop()
    finally:
        node.close()
    return results


def summarise(
    meta: str, store: str, workers: int, runs: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    def med(kind: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[kind])

    ratios = [
        p["requests_per_s"] / b["requests_per_s"] if b["requests_per_s"] else math.nan
        for b, p in zip(runs["bare"], runs["platform"], strict=True)
    ]
    return {
        "metadata": meta,
        "store": store,
        "workers": workers,
        "bare": {
            "requests_per_s": med("bare", "requests_per_s"),
            "p50_ms": med("bare", "p50_ms"),
            "p99_ms": med("bare", "p99_ms"),
            "server_cpu_ms_per_request": med("bare", "server_cpu_ms_per_request"),
            "errors": sum(r["error_count"] for r in runs["bare"]),
        },
        "platform": {
            "requests_per_s": med("platform", "requests_per_s"),
            "p50_ms": med("platform", "p50_ms"),
            "p99_ms": med("platform", "p99_ms"),
            "server_cpu_ms_per_request": med("platform", "server_cpu_ms_per_request"),
            "errors": sum(r["error_count"] for r in runs["platform"]),
        },
        "ratio_requests_per_s": statistics.median(ratios),
        "ratio_p50": med("platform", "p50_ms") / med("bare", "p50_ms"),
        "ratio_p99": med("platform", "p99_ms") / med("bare", "p99_ms"),
        # The web process's CPU per lookup, bare ÷ platform: what the throughput ratio tends
        # to when the server's CPU is the limit, whatever else the machine is doing.
        "ratio_server_cpu": med("bare", "server_cpu_ms_per_request")
        / med("platform", "server_cpu_ms_per_request"),
        "runs": runs,
    }


def print_lookups(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(
        f"\nKey lookups, {args.clients} concurrent clients, {t(args.duration, 0)} s after"
        f" {t(args.warmup, 0)} s warm-up, median of {args.runs} run(s)"
        f" (goal: platform ÷ bare ≥ {t(GOAL, 2)}):"
    )
    print(
        f"  {'metadata':<10} {'store':<7} {'workers':>7}"
        f" {'bare req/s':>10} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'API req/s':>10} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'÷ bare':>7} {'p50 ×':>6} {'p99 ×':>6} {'errors':>7}"
    )
    cpu_lines = []
    for r in results:
        b, p = r["bare"], r["platform"]
        print(
            f"  {r['metadata']:<10} {r['store']:<7} {r['workers']:>7}"
            f" {t(b['requests_per_s'], 1):>10} {t(b['p50_ms'], 1):>7} {t(b['p99_ms'], 1):>7}"
            f" {t(p['requests_per_s'], 1):>10} {t(p['p50_ms'], 1):>7} {t(p['p99_ms'], 1):>7}"
            f" {t(r['ratio_requests_per_s'], 3):>7} {t(r['ratio_p50'], 2):>6}"
            f" {t(r['ratio_p99'], 2):>6} {b['errors'] + p['errors']:>7}"
        )
        bare_ms, api_ms = b["server_cpu_ms_per_request"], p["server_cpu_ms_per_request"]
        cpu_lines.append(
            f"  {r['metadata']:<10} {r['store']:<7} {r['workers']:>7}"
            f" {t(bare_ms, 1):>10} {t(api_ms, 1):>10} {t(r['ratio_server_cpu'], 3):>7}"
        )
    print("\nWeb process CPU per lookup (uvicorn and its workers; not the stores' servers):")
    print(f"  {'metadata':<10} {'store':<7} {'workers':>7} {'bare ms':>10} {'API ms':>10} {'÷':>7}")
    for line in cpu_lines:
        print(line)


def ratios(report: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for r in report.get("lookups", []):
        name = f"lookup_{r['metadata']}_{r['store']}_{r['workers']}w"
        out[f"{name}_rps_vs_bare"] = r["ratio_requests_per_s"]
        out[f"{name}_rps_vs_bare_vs_goal"] = r["ratio_requests_per_s"] / GOAL
        out[f"{name}_p50_vs_bare"] = r["ratio_p50"]
        out[f"{name}_p99_vs_bare"] = r["ratio_p99"]
        out[f"{name}_cpu_bare_vs_api"] = r["ratio_server_cpu"]
    lag = report.get("lag") or {}
    if "p99_ms" in lag:
        # The consumer cannot have a change before the lake has it: the CDC lag measured in
        # the same run is the limit.
        out["subscription_lag_p50_vs_lake_p50"] = lag["p50_ms"] / lag["lake_p50_ms"]
        out["subscription_lag_p99_vs_lake_p99"] = lag["p99_ms"] / lag["lake_p99_ms"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of each store's table")
    parser.add_argument("--clients", type=int, default=32, help="requests in flight")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--runs", type=int, default=2, help="runs per endpoint (median)")
    parser.add_argument("--workers", default="1,2", help="uvicorn worker counts, comma-separated")
    parser.add_argument("--stores", default="lake,mariadb", help="lake, mariadb or both")
    parser.add_argument(
        "--metadata", default="postgresql,sqlite", help="metadata stores: postgresql, sqlite"
    )
    parser.add_argument("--lag-rate", type=float, default=50.0, help="source changes/s (lag)")
    parser.add_argument("--lag-duration", type=float, default=20.0, help="seconds of changes")
    parser.add_argument("--skip-lookups", action="store_true", help="no lookup throughput")
    parser.add_argument("--skip-lag", action="store_true", help="no subscription lag")
    parser.add_argument("--quick", action="store_true", help="100k rows, 1 s + 4 s runs")
    parser.add_argument("--keep-source", action="store_true", help="keep and reuse the table")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args()
    if args.quick:
        parser.set_defaults(rows=100_000, duration=4.0, warmup=1.0, lag_duration=8.0)
        args = parser.parse_args()
    args.workers = [int(w) for w in args.workers.split(",") if w.strip()]
    args.stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    metas = [m.strip() for m in args.metadata.split(",") if m.strip()]
    for m in metas:
        if m not in ("postgresql", "sqlite"):
            parser.error(f"unknown metadata store {m}")
    for s in args.stores:
        if s not in ("lake", "mariadb"):
            parser.error(f"unknown store {s}")

    report: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_at_start": os.getloadavg(),
            "python": py_platform.python_version(),
            "mariadb": source.server_version(),
        },
        "options": {
            "rows": args.rows,
            "clients": args.clients,
            "duration": args.duration,
            "warmup": args.warmup,
            "runs": args.runs,
            "workers": args.workers,
            "stores": args.stores,
            "metadata": metas,
            "lag_rate": args.lag_rate,
            "lag_duration": args.lag_duration,
        },
    }
    print(
        f"{report['machine']['cpus']} CPUs, MariaDB {report['machine']['mariadb']},"
        f" Python {report['machine']['python']}, load average {t(load_average(), 2)}",
        flush=True,
    )
    begun = time.perf_counter()
    source.create_database(SOURCE_DB)
    try:
        with tempfile.TemporaryDirectory(prefix="govdata-bench-data-api-") as tmp:
            workdir = Path(tmp)
            if not args.skip_lookups:
                if args.keep_source and source.row_count(SOURCE_DB, TABLE) == args.rows:
                    print(f"source {SOURCE_DB}.{TABLE}: {args.rows:,} rows kept", flush=True)
                else:
                    seconds = source.generate(SOURCE_DB, TABLE, args.rows)
                    print(
                        f"source {SOURCE_DB}.{TABLE}: {args.rows:,} rows generated"
                        f" in {t(seconds, 1)} s",
                        flush=True,
                    )
                report["lookups"] = []
                for meta in metas:
                    report["lookups"].extend(measure_profile(meta, args, workdir, args.rows))
                print_lookups(report["lookups"], args)
            if not args.skip_lag:
                print(
                    f"\nSubscription lag, {t(args.lag_rate, 0)} changes/s"
                    f" for {t(args.lag_duration, 0)} s:",
                    flush=True,
                )
                report["lag"] = data_api_lag.measure(
                    workdir,
                    rate=args.lag_rate,
                    duration=args.lag_duration,
                    sqlite="postgresql" not in metas,
                )
                data_api_lag.print_lag(report["lag"])
    finally:
        if not args.keep_source:
            source.drop_database(SOURCE_DB)
    report["seconds"] = time.perf_counter() - begun
    report["machine"]["load_average_at_end"] = os.getloadavg()
    report["ratios"] = ratios(report)
    print(
        f"\nSummary (ratios measured in this run; {t(report['seconds'], 0)} s, load average"
        f" {t(report['machine']['load_average_at_start'][0], 2)} at the start,"
        f" {t(report['machine']['load_average_at_end'][0], 2)} at the end):"
    )
    for name, value in report["ratios"].items():
        print(f"  {name:<58} {t(value, 3):>8}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))
        print(f"\nJSON written to {args.json}")


if __name__ == "__main__":
    main()
