"""Collection (归集) throughput, memory and CDC latency, each as a ratio measured in the same run.

1. Full load of a ``--rows`` (1M) 12-column MariaDB table into the lake through GovData's
   pipeline engine (a ``govdata worker --once`` process running the ``exchange.pipeline`` job
   of a full pipeline, set up through the actions a department officer uses; timed by the
   job's claim and finish stamps, checked by counting the lake table's rows), in rows/s, as
   a ratio to
   * ``dlt`` loading the same table with its ``sql_table`` source on the connectorx backend
     (its fastest installed) into a local Parquet folder and into a DuckDB file, and
   * the raw limit: the fastest reader of the table into Arrow without writing anything —
     connectorx (one and two partitions) and the PyMySQL driver (server-side cursor,
     batches built column by column).
   Each contender runs in its own process, ``--runs`` times, interleaved so all see the same
   machine load; the summary takes medians. Timings leave out interpreter start and imports.
2. Peak resident memory of the full load of ``--big-rows`` (5M) rows against the 1M load:
   the worker's peak RSS (its own high-water mark, and the sampled sum over its process tree
   if it forks) — the ratio must stay near 1, memory must not grow with the table.
3. CDC latency from source commit to visibility in the lake at each of ``--rates`` changes/s
   for ``--duration`` seconds: a writer process commits inserts, updates and deletes at the
   rate; the CDC pipeline runs as a long ``exchange.pipeline`` job in a ``govdata worker``
   process; a watcher in this process polls the lake table's log for new versions
   (``POLL_SECONDS``); the change feed says which version carried each change. p50 and p99
   as a ratio to the 1 s goal.

MariaDB databases ``govdata_bench_collect_*`` are created and dropped; the metadata store is a
PostgreSQL database ``govdata_bench_collect`` (or a SQLite file with ``--sqlite``).

    python bench/collect.py                    # 1M / 5M rows, CDC at 200 and 2000 changes/s
    python bench/collect.py --quick            # 50k / 200k rows, short CDC: for development
    python bench/collect.py --json out.json --skip-memory
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

import collect_cdc
import collect_source as source
from collect_govdata import Platform
from govdata.core.jobs.models import DEFAULT_QUEUE
from govdata.exchange.models import Mount
from govdata.exchange.pipelines import CDC_QUEUE
from govdata.exchange.vocab import PipelineKind
from govdata.lake.tables import Lake

BENCH = Path(__file__).resolve().parent
SOURCE_DB = "govdata_bench_collect_src"
CDC_DB = "govdata_bench_collect_cdc"
STORE_DB = "govdata_bench_collect"
MIB = 1024 * 1024
RSS_SAMPLE_SECONDS = 0.02
CDC_GOAL_MS = 1000.0
CDC_QUIET_SECONDS = 5.0
CDC_DRAIN_MAX_SECONDS = 60.0
GOVDATA_ATTEMPTS = 3
SETTLE_SECONDS = 180.0


def t(x: float, digits: int = 3, *, comma: bool = False) -> str:
    """``x`` cut, not rounded, to ``digits`` decimals: a printed figure is never rounded up."""
    if not math.isfinite(x):
        return str(x)
    cut = Decimal(repr(x)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_FLOOR)
    return f"{cut:,.{digits}f}" if comma else f"{cut:.{digits}f}"


# -- child processes ---------------------------------------------------------------------------


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and every descendant, now (0 once it has exited)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return total


@dataclass
class ChildResult:
    result: dict[str, Any]
    # Bytes: the larger of the child's own high-water mark (VmHWM, read by the child as it
    # ends) and the largest sampled sum of resident memory over its process tree.
    peak_rss: int
    own_hwm: int


def python_child(
    name: str, args: dict[str, Any], workdir: Path, env: dict[str, str] | None = None
) -> ChildResult:
    """Run one of ``collect_children.CHILDREN`` in a fresh interpreter, sampling the memory
    of its process tree; returns what it reported."""
    out = workdir / f"{name}-{time.monotonic_ns()}.json"
    cmd = [sys.executable, str(BENCH / "collect_children.py"), name, json.dumps(args), str(out)]
    log = workdir / f"{name}.log"
    peak = 0
    done = threading.Event()
    with log.open("ab") as sink:
        proc = subprocess.Popen(cmd, env=env, stdout=sink, stderr=subprocess.STDOUT)

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _tree_rss(proc.pid))
                time.sleep(RSS_SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = proc.wait()
        done.set()
        sampler.join()
    if code != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"child {name} failed (exit code {code}):\n{tail}")
    reported = json.loads(out.read_text())
    own = int(reported["vm_hwm"])
    return ChildResult(reported["result"], max(peak, own), own)


# -- full load ---------------------------------------------------------------------------------


@dataclass
class Contender:
    name: str
    label: str
    kind: str  # "govdata", "peer" or "limit"
    run: Callable[[], tuple[float, int, int]]  # -> seconds, rows, peak RSS bytes
    seconds: list[float] = field(default_factory=list)
    peaks: list[int] = field(default_factory=list)
    # Runs that did not count (e.g. a pipeline run that needed a second attempt).
    incidents: list[str] = field(default_factory=list)

    @property
    def median_seconds(self) -> float:
        return statistics.median(self.seconds)

    def rows_per_second(self, rows: int) -> float:
        return rows / self.median_seconds


def peer_contenders(table: str, workdir: Path) -> list[Contender]:
    def make(name: str, child: str, args: dict[str, Any]) -> Callable[[], tuple[float, int, int]]:
        def run() -> tuple[float, int, int]:
            extra = {}
            if child == "dlt":
                folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=workdir))
                extra = {"dir": str(folder)}
            got = python_child(child, {**args, **extra}, workdir)
            return got.result["seconds"], got.result["rows"], got.peak_rss

        return run

    base = {"database": SOURCE_DB, "table": table}
    return [
        Contender(
            "dlt_parquet",
            "dlt → Parquet folder (connectorx backend)",
            "peer",
            make("dlt_parquet", "dlt", {**base, "destination": "parquet"}),
        ),
        Contender(
            "dlt_duckdb",
            "dlt → DuckDB file (connectorx backend)",
            "peer",
            make("dlt_duckdb", "dlt", {**base, "destination": "duckdb"}),
        ),
        Contender(
            "connectorx",
            "connectorx → Arrow, 1 partition (no write)",
            "limit",
            make("connectorx", "connectorx", {**base, "partitions": 1}),
        ),
        Contender(
            "connectorx_2",
            "connectorx → Arrow, 2 partitions (no write)",
            "limit",
            make("connectorx_2", "connectorx", {**base, "partitions": 2}),
        ),
        Contender(
            "pymysql",
            "PyMySQL → Arrow batches (no write)",
            "limit",
            make("pymysql", "pymysql", {**base, "batch_rows": 50_000}),
        ),
    ]


def measure_full(contenders: list[Contender], rows: int, runs: int) -> None:
    for run in range(1, runs + 1):
        for c in contenders:
            seconds, got, peak = c.run()
            if got != rows:
                raise SystemExit(f"{c.name} read {got} rows, expected {rows}")
            c.seconds.append(seconds)
            c.peaks.append(peak)
            print(
                f"  run {run}: {c.name:<14} {t(seconds, 2):>8} s"
                f" {t(rows / seconds, 0, comma=True):>12} rows/s"
                f"  peak RSS {t(peak / MIB, 1):>8} MiB",
                flush=True,
            )


def full_report(contenders: list[Contender], rows: int) -> dict[str, Any]:
    limits = [c for c in contenders if c.kind == "limit"]
    limit = max(limits, key=lambda c: c.rows_per_second(rows)) if limits else None
    govdata = next(c for c in contenders if c.kind == "govdata")
    out: dict[str, Any] = {
        "rows": rows,
        "runs": len(govdata.seconds),
        "limit": limit.name if limit is not None else None,
        "contenders": {
            c.name: {
                "label": c.label,
                "kind": c.kind,
                "seconds": c.seconds,
                "median_seconds": c.median_seconds,
                "rows_per_second": c.rows_per_second(rows),
                "peak_rss_mib": [p / MIB for p in c.peaks],
                "median_peak_rss_mib": statistics.median(c.peaks) / MIB,
                "incidents": c.incidents,
                "ratio_to_limit": (
                    c.rows_per_second(rows) / limit.rows_per_second(rows)
                    if limit is not None
                    else None
                ),
            }
            for c in contenders
        },
        "govdata_ratio": {
            c.name: govdata.rows_per_second(rows) / c.rows_per_second(rows)
            for c in contenders
            if c is not govdata
        },
    }
    return out


def print_full(report: dict[str, Any]) -> None:
    rows = report["rows"]
    print(f"\nFull load, {rows:,} rows × 12 columns, median of {report['runs']} run(s):")
    print(f"  {'contender':<46} {'s':>8} {'rows/s':>12} {'÷ limit':>8} {'peak MiB':>9}")
    for c in report["contenders"].values():
        ratio = c["ratio_to_limit"]
        print(
            f"  {c['label']:<46} {t(c['median_seconds'], 2):>8}"
            f" {t(c['rows_per_second'], 0, comma=True):>12}"
            f" {'-' if ratio is None else t(ratio, 3):>8} {t(c['median_peak_rss_mib'], 1):>9}"
        )
    if report["limit"] is not None:
        print(f"  limit = {report['limit']} (the fastest reader without writing)")
    for name, ratio in report["govdata_ratio"].items():
        print(f"  GovData rows/s ÷ {name:<14} {t(ratio, 3):>6}")


def lake_rows(platform: Platform, mount: Mount) -> int:
    assert mount.lake_table is not None
    return int(Lake.from_settings(platform.settings).dataset(mount.lake_table).count_rows())


def govdata_worker_pass(platform: Platform, workdir: Path) -> int:
    """One ``govdata worker --once`` process over the default queue; its peak RSS."""
    worker = python_child(
        "govdata-worker",
        {"argv": platform.worker_args(DEFAULT_QUEUE, once=True)},
        workdir,
        platform.env(),
    )
    return worker.peak_rss


def settle(platform: Platform, run_id: str, workdir: Path) -> None:
    """Let workers finish a job that one pass left unfinished, so the pipeline is idle."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while not (got := platform.outcome(run_id)).job_finished:
        if time.monotonic() > deadline:
            raise SystemExit(f"GovData run left unfinished: {got.story}")
        if got.job_due:
            govdata_worker_pass(platform, workdir)
        else:
            time.sleep(1.0)


def govdata_load(
    platform: Platform, pipeline_id: str, mount: Mount, workdir: Path, incidents: list[str]
) -> tuple[float, int, int]:
    """One full-load run: "run now", then a worker process that exits when the queue is empty.

    A run that does not succeed in that one pass (its job handed back, its lease lost, a
    retryable error) is not a measurement: it is reported, its job is let finish, and the
    load is measured again with a new run.
    """
    for _ in range(GOVDATA_ATTEMPTS):
        run_id = platform.run_now(pipeline_id)
        peak = govdata_worker_pass(platform, workdir)
        got = platform.outcome(run_id)
        if got.seconds is not None:
            # What counts is what a reader of the lake table sees, not what the run says.
            return got.seconds, lake_rows(platform, mount), peak
        incidents.append(got.story)
        print(f"  GovData run did not succeed in one worker pass: {got.story}", flush=True)
        settle(platform, run_id, workdir)
    raise SystemExit(f"GovData full load failed {GOVDATA_ATTEMPTS} times; see above")


def govdata_contender(platform: Platform, table: str, workdir: Path) -> Contender:
    mount = platform.mount(SOURCE_DB, table)
    pipeline_id = platform.pipeline(mount, PipelineKind.FULL, {})
    incidents: list[str] = []
    return Contender(
        "govdata",
        "GovData full-load pipeline → lake (Delta)",
        "govdata",
        lambda: govdata_load(platform, pipeline_id, mount, workdir, incidents),
        incidents=incidents,
    )


def measure_memory(
    platform: Platform, small: Contender, rows: int, big_rows: int, workdir: Path, keep: bool
) -> dict[str, Any]:
    table = f"person_{big_rows}"
    prepare_table(table, big_rows, keep)
    big = govdata_contender(platform, table, workdir)
    seconds, got, peak = big.run()
    if got != big_rows:
        raise SystemExit(f"the {big_rows:,}-row load left {got:,} rows in the lake")
    small_peak = statistics.median(small.peaks)
    print(
        f"  {big_rows:,} rows: {t(seconds, 2)} s, {t(big_rows / seconds, 0, comma=True)} rows/s,"
        f" peak RSS {t(peak / MIB, 1)} MiB",
        flush=True,
    )
    return {
        "rows": rows,
        "big_rows": big_rows,
        "peak_rss_mib": small_peak / MIB,
        "big_peak_rss_mib": peak / MIB,
        "ratio": peak / small_peak,
        "load_average": os.getloadavg(),
        "big_seconds": seconds,
        "big_rows_per_second": big_rows / seconds,
        "incidents": big.incidents,
    }


def print_memory(m: dict[str, Any]) -> None:
    print("\nPeak resident memory of the GovData full load (worker process tree):")
    print(f"  {m['rows']:>10,} rows: {t(m['peak_rss_mib'], 1):>9} MiB (median of the runs above)")
    print(f"  {m['big_rows']:>10,} rows: {t(m['big_peak_rss_mib'], 1):>9} MiB")
    print(f"  ratio {m['big_rows']:,} / {m['rows']:,}: {t(m['ratio'], 3)} (goal ≈ 1)")


def wait_for(what: str, check: Callable[[], bool], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise SystemExit(f"timed out waiting for {what}\n{tail}")
        time.sleep(0.1)


def probe_visible(platform: Platform, mount: Mount) -> bool:
    """Whether the probe change (row 1 with change_seq -1) has reached the lake table."""
    lake = Lake.from_settings(platform.settings)
    assert mount.lake_table is not None
    if not lake.exists(mount.lake_table):
        return False
    found = lake.read(
        mount.lake_table,
        columns=["change_seq"],
        filter=(pc.field("id") == 1) & (pc.field("change_seq") == -1),
    )
    return bool(found.num_rows == 1)


def measure_cdc(
    platform: Platform, rate: float, duration: float, options: dict[str, Any], workdir: Path
) -> dict[str, Any]:
    table = f"person_cdc_{int(rate)}"
    seed = collect_cdc.seed_rows_needed(rate, duration)
    source.generate(CDC_DB, table, seed, cdc=True)
    mount = platform.mount(CDC_DB, table, cdc=True)
    assert mount.lake_table is not None
    pipeline_id = platform.pipeline(mount, PipelineKind.CDC, options)
    log = workdir / f"cdc-worker-{int(rate)}.log"
    with log.open("ab") as out:
        worker = subprocess.Popen(
            platform.worker_command(CDC_QUEUE),
            env=platform.env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        platform.run_now(pipeline_id)
        # The stream is live once a change committed now shows up in the lake.
        conn = source.connect(CDC_DB)
        try:
            with conn.cursor() as cur:
                cur.execute(f"UPDATE `{table}` SET change_seq = -1 WHERE id = 1")
        finally:
            conn.close()
        wait_for("the CDC pipeline to go live", lambda: probe_visible(platform, mount), 180, log)
        lake_path = Lake.from_settings(platform.settings).path(mount.lake_table)
        watcher = collect_cdc.Watcher(lake_path)
        watcher.start()
        commit_log = workdir / f"cdc-commits-{int(rate)}.json"
        python_child(
            "cdc-writer",
            {
                "database": CDC_DB,
                "table": table,
                "rate": rate,
                "duration": duration,
                "seed": seed,
                "log": str(commit_log),
            },
            workdir,
        )
        drain_until = time.time() + CDC_DRAIN_MAX_SECONDS
        while time.time() - watcher.last_new < CDC_QUIET_SECONDS and time.time() < drain_until:
            time.sleep(0.1)
        watcher.stop()
        platform.pause(pipeline_id)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    got = collect_cdc.match(lake_path, watcher.seen, json.loads(commit_log.read_text()))
    p50, p99 = got.percentile(50), got.percentile(99)
    result: dict[str, Any] = {
        "rate": rate,
        "achieved_rate": got.achieved_rate,
        "changes": got.changes,
        "source_commits": got.commits,
        "lake_versions": got.versions,
        "not_visible": got.unseen,
        "p50_ms": p50,
        "p99_ms": p99,
        "max_ms": got.percentile(100),
        "p99_to_goal": p99 / CDC_GOAL_MS,
        "p99_ms_by_5s": got.p99_by_slice(5.0),
        "load_average": os.getloadavg(),
    }
    print(
        f"  {t(rate, 0, comma=True):>6}/s: {got.changes:,} changes"
        f" in {got.commits:,} source commits"
        f" ({t(got.achieved_rate, 0, comma=True)}/s achieved), {got.versions:,} lake versions,"
        f" p50 {t(p50, 0)} ms, p99 {t(p99, 0)} ms",
        flush=True,
    )
    return result


def print_cdc(results: list[dict[str, Any]]) -> None:
    print("\nCDC latency, source commit → visible in the lake table (goal: p99 < 1 s):")
    print(
        f"  {'changes/s':>10} {'achieved':>9} {'changes':>8} {'unseen':>7}"
        f" {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'p99 ÷ 1 s':>10}"
    )
    for r in results:
        print(
            f"  {t(r['rate'], 0, comma=True):>10} {t(r['achieved_rate'], 0, comma=True):>9}"
            f" {r['changes']:>8,}"
            f" {r['not_visible']:>7,} {t(r['p50_ms'], 1):>8} {t(r['p99_ms'], 1):>8}"
            f" {t(r['max_ms'], 1):>8} {t(r['p99_to_goal'], 3):>10}"
        )
    for r in results:
        slices = " ".join(t(ms, 0) for ms in r["p99_ms_by_5s"])
        print(f"  p99 ms per 5 s of the run at {t(r['rate'], 0, comma=True)}/s: {slices}")


def ratios(report: dict[str, Any]) -> dict[str, float]:
    """The headline figures, each a ratio to a peer or a limit measured in this run."""
    out: dict[str, float] = {}
    full = report.get("full_load", {})
    for name, ratio in full.get("govdata_ratio", {}).items():
        if name.startswith("dlt_"):
            out[f"full_load_rows_per_s_vs_{name}"] = ratio
        elif name == full["limit"]:
            out["full_load_rows_per_s_vs_limit"] = ratio
    if "memory" in report:
        out["peak_rss_big_vs_small"] = report["memory"]["ratio"]
    for r in report.get("cdc", []):
        rate = f"{r['rate']:g}"
        out[f"cdc_{rate}_per_s_p50_vs_1s"] = r["p50_ms"] / CDC_GOAL_MS
        out[f"cdc_{rate}_per_s_p99_vs_1s"] = r["p99_to_goal"]
    return out


def print_ratios(figures: dict[str, float]) -> None:
    if not figures:
        return
    print("\nSummary (ratios measured in this run):")
    for name, value in figures.items():
        print(f"  {name:<44} {t(value, 3):>8}")


# -- main --------------------------------------------------------------------------------------


def prepare_table(table: str, rows: int, keep: bool) -> None:
    if keep and source.row_count(SOURCE_DB, table) == rows:
        print(f"source {SOURCE_DB}.{table}: {rows:,} rows kept from an earlier run", flush=True)
        return
    seconds = source.generate(SOURCE_DB, table, rows)
    print(f"source {SOURCE_DB}.{table}: {rows:,} rows generated in {t(seconds, 1)} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="full-load table rows")
    parser.add_argument("--big-rows", type=int, default=5_000_000, help="memory-test rows")
    parser.add_argument(
        "--rates", default="200,2000", help="CDC changes per second, comma-separated"
    )
    parser.add_argument("--duration", type=float, default=30.0, help="CDC seconds per rate")
    parser.add_argument("--runs", type=int, default=3, help="full-load runs (median)")
    parser.add_argument(
        "--quick", action="store_true", help="defaults of 50k/200k rows, 8 s CDC, 1 run"
    )
    parser.add_argument("--skip-full", action="store_true", help="no full-load throughput")
    parser.add_argument("--skip-peers", action="store_true", help="no dlt and raw readers")
    parser.add_argument("--skip-memory", action="store_true", help="no big-table memory test")
    parser.add_argument("--skip-cdc", action="store_true", help="no CDC latency")
    parser.add_argument(
        "--cdc-options",
        type=json.loads,
        default={},
        help="CDC pipeline options as JSON, e.g. '{\"batch_window_ms\": 200}'",
    )
    parser.add_argument("--sqlite", action="store_true", help="SQLite metadata store")
    parser.add_argument(
        "--keep-source", action="store_true", help="keep (and reuse) the generated tables"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args()
    if args.quick:
        # Smaller defaults; sizes given explicitly still win.
        parser.set_defaults(rows=50_000, big_rows=200_000, duration=8.0, runs=1)
        args = parser.parse_args()
    if args.skip_full and not args.skip_memory:
        parser.error("the memory test compares with the full load: drop --skip-full")
    rates = [float(r) for r in args.rates.split(",") if r.strip()]

    report: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            # Other processes share the machine: read the figures in the light of this.
            "load_average_at_start": os.getloadavg(),
            "python": platform.python_version(),
            "mariadb": source.server_version(),
        },
        "options": {
            "rows": args.rows,
            "big_rows": args.big_rows,
            "rates": rates,
            "duration": args.duration,
            "runs": args.runs,
            "cdc_options": args.cdc_options,
            "store": "sqlite" if args.sqlite else "postgresql",
        },
    }
    print(
        f"{report['machine']['cpus']} CPUs, MariaDB {report['machine']['mariadb']},"
        f" Python {report['machine']['python']}, metadata store {report['options']['store']},"
        f" load average {t(os.getloadavg()[0], 1)}",
        flush=True,
    )
    source.create_database(SOURCE_DB)
    source.create_database(CDC_DB)
    try:
        with tempfile.TemporaryDirectory(prefix="govdata-bench-collect-") as tmp:
            workdir = Path(tmp)
            node = Platform.create(workdir, sqlite=args.sqlite, store_db=STORE_DB)
            try:
                if not args.skip_full:
                    table = f"person_{args.rows}"
                    prepare_table(table, args.rows, args.keep_source)
                    govdata = govdata_contender(node, table, workdir)
                    peers = [] if args.skip_peers else peer_contenders(table, workdir)
                    print(f"full load of {args.rows:,} rows:", flush=True)
                    measure_full([govdata, *peers], args.rows, args.runs)
                    report["full_load"] = full_report([govdata, *peers], args.rows)
                    report["full_load"]["load_average"] = os.getloadavg()
                    print_full(report["full_load"])
                    if not args.skip_memory:
                        print(f"\nfull load of {args.big_rows:,} rows (memory):", flush=True)
                        report["memory"] = measure_memory(
                            node, govdata, args.rows, args.big_rows, workdir, args.keep_source
                        )
                        print_memory(report["memory"])
                if not args.skip_cdc:
                    print(f"\nCDC for {args.duration:g} s per rate:", flush=True)
                    report["cdc"] = [
                        measure_cdc(node, rate, args.duration, args.cdc_options, workdir)
                        for rate in rates
                    ]
                    print_cdc(report["cdc"])
            finally:
                node.close()
    finally:
        source.drop_database(CDC_DB)
        if not args.keep_source:
            source.drop_database(SOURCE_DB)
    report["ratios"] = ratios(report)
    print_ratios(report["ratios"])
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))
        print(f"\nJSON written to {args.json}")


if __name__ == "__main__":
    main()
