"""Subscription lag: a row committed at the provider's MariaDB → that row in the consumer's table.

The provider's table is catalogued, mounted physically and collected by a CDC pipeline (a
``govdata worker --queue cdc`` process reading the binary log into the lake table); the
consumer department's grant includes subscriptions, and it subscribes in table mode into a
table of its own MariaDB database. Each lake commit queues a change-triggered delivery (a
``sharing.subscription`` job), which a ``govdata worker`` process on the default queue runs:
the lake's change feed since the last delivered version is upserted into the consumer's
table. Both workers run with the platform's default settings (job poll every 1 s when idle).

After the initial copy has reached the consumer and one probe row has gone all the way
through, a writer commits single-row INSERTs at ``rate`` per second for ``duration``
seconds (each row carries the time it was written in ``updated_at``; lag is measured from
the wall-clock time each COMMIT returned), a poller reads the consumer's table every
``POLL_SECONDS`` for new keys, and a watcher notes when each new lake version appears (as in
``bench/collect.py``), so the lag splits into source → lake and lake → consumer. Rows not
in the consumer's table ``DRAIN_SECONDS`` after the last commit count as infinitely late.

The change source needs MariaDB's binary log in ROW format. When the service on 3306 has
it (``make services``) it is used; otherwise a throw-away MariaDB server with the binary
log is started on a free port for this part (the service is not restarted: other people's
work may be using it), with both databases on it, and removed afterwards.
"""

from __future__ import annotations

import importlib.util
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pymysql
from deltalake import DeltaTable

import collect_source as source
from collect_cdc import Watcher
from data_api_setup import Node
from govdata.core.jobs.models import DEFAULT_QUEUE
from govdata.exchange.models import Mount
from govdata.exchange.pipelines import CDC_QUEUE
from govdata.exchange.vocab import PipelineKind
from govdata.lake.tables import Lake

SOURCE_DB = "govdata_bench_data_api_cdc"
SINK_DB = "govdata_bench_data_api_sink"
STORE_DB = "govdata_bench_data_api_lag"
TABLE = "person"
SINK_TABLE = "person_copy"
SEED_ROWS = 10_000
POLL_SECONDS = 0.005
DRAIN_SECONDS = 60.0
READY_SECONDS = 120.0
WORKER = [sys.executable, "-c", "from govdata.cli import main; main()", "worker"]
SUBSCRIPTION_MODULES = ("govdata.sharing.subscriptions", "govdata.sharing.jobs")


def _cut(x: float, digits: int = 1) -> str:
    if not math.isfinite(x):
        return str(x)
    cut = Decimal(repr(x)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_FLOOR)
    return f"{cut:.{digits}f}"


def _rank(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    return values[min(len(values) - 1, max(0, math.ceil(q / 100 * len(values)) - 1))]


# -- the MariaDB server ---------------------------------------------------------------------


def _connect(port: int, database: str | None = None) -> Any:
    return pymysql.connect(
        host=source.HOST,
        port=port,
        user=source.USER,
        database=database,
        charset="utf8mb4",
        autocommit=True,
    )


def _binlog_on(port: int) -> bool:
    conn = _connect(port)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT @@GLOBAL.log_bin, @@GLOBAL.binlog_format")
            log_bin, fmt = cur.fetchone()
            return bool(int(log_bin)) and str(fmt).upper() == "ROW"
    finally:
        conn.close()


@contextmanager
def _server_port(workdir: Path) -> Iterator[tuple[int, str]]:
    """The port of a MariaDB server with a ROW binary log, and where it comes from."""
    if _binlog_on(source.PORT):
        yield source.PORT, f"the MariaDB service on {source.PORT}"
        return
    installer, daemon = shutil.which("mariadb-install-db"), "/usr/sbin/mariadbd"
    if installer is None or not os.access(daemon, os.X_OK):
        raise _Skip(
            "the MariaDB service has no ROW binary log (run `make services`) and no"
            " MariaDB server binaries are here to start one"
        )
    folder = workdir / "mariadb-binlog"
    data = folder / "data"
    folder.mkdir()
    subprocess.run(
        [
            installer,
            "--no-defaults",
            f"--datadir={data}",
            "--user=root",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    port = _free_port()
    log = folder / "server.log"
    proc = subprocess.Popen(
        [
            daemon,
            "--no-defaults",
            f"--datadir={data}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            f"--socket={folder / 'mysqld.sock'}",
            f"--pid-file={folder / 'mysqld.pid'}",
            "--user=root",
            "--skip-name-resolve",
            "--character-set-server=utf8mb4",
            "--server-id=1",
            f"--log-bin={data / 'binlog'}",
            "--binlog-format=ROW",
            "--binlog-row-image=FULL",
            "--binlog-row-metadata=FULL",
            "--innodb-buffer-pool-size=128M",
            "--max-connections=300",
            f"--log-error={log}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _connect(port).close()
                break
            except pymysql.err.OperationalError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                    raise SystemExit(f"the binlog MariaDB server did not start:\n{tail}") from None
                time.sleep(0.2)
        yield port, f"a throw-away MariaDB server with a ROW binary log on {port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _on_port(port: int) -> Iterator[None]:
    """``collect_source`` (table generation) against the server on ``port``."""
    before = source.PORT
    source.PORT = port
    try:
        yield
    finally:
        source.PORT = before


class _Skip(Exception):
    pass


# -- the run ------------------------------------------------------------------------------------


def _story(node: Node) -> str:
    """The node's jobs and subscription runs, for a report when something never happened."""
    from sqlalchemy import select

    from govdata.core.jobs.models import Job
    from govdata.sharing.models import SubscriptionRun

    with node.db.transaction() as s:
        jobs = [
            f"job {j.kind} [{j.queue}] {j.status} attempt {j.attempts}:"
            f" {(j.last_error or '-')[-400:]}"
            for j in s.scalars(select(Job).order_by(Job.created_at))
        ]
        runs = [
            f"delivery {r.status} {getattr(r, 'error_code', '') or ''}"
            f" {getattr(r, 'error_message', '') or ''}"
            for r in s.scalars(select(SubscriptionRun).order_by(SubscriptionRun.started_at))
        ]
    return "\n".join(jobs + runs)


def _wait(
    what: str, check: Callable[[], bool], timeout: float, logs: list[Path], node: Node
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            tails = "\n".join(
                f"--- {p.name}\n{p.read_text(errors='replace')[-2500:]}" for p in logs if p.exists()
            )
            raise SystemExit(f"timed out waiting for {what}\n{tails}\n--- store\n{_story(node)}")
        time.sleep(0.2)


def _sink_count(port: int) -> int:
    conn = _connect(port, SINK_DB)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT COUNT(*) FROM information_schema.TABLES"
                " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
                (SINK_DB, SINK_TABLE),
            )
            if not cur.fetchone()[0]:
                return 0
            cur.execute(f"SELECT COUNT(*) FROM `{SINK_TABLE}`")
            return int(cur.fetchone()[0])
    finally:
        conn.close()


def _sink_has(port: int, key: int) -> bool:
    conn = _connect(port, SINK_DB)
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT COUNT(*) FROM `{SINK_TABLE}` WHERE id = %s", (key,))
            return bool(cur.fetchone()[0])
    finally:
        conn.close()


_COLUMNS = ", ".join(f"`{c}`" for c, *_ in source.SHAPE)
_INSERT = f"INSERT INTO `{TABLE}` ({_COLUMNS}) VALUES ({', '.join(['%s'] * len(source.SHAPE))})"


def _row(key: int) -> tuple[Any, ...]:
    stamp = datetime.now(UTC).replace(tzinfo=None)
    return (
        key,
        "马海" if key % 2 else "李秀英",
        f"630102199{key % 10}0101{key % 1000:03d}X",
        key % 2,
        "1990-01-01",
        stamp.replace(microsecond=0),
        Decimal(key % 100000) / 100,
        1 + key % 5,
        f"青海省西宁市城东区八一路{key % 997 + 1}号",
        36.6 + (key % 1000) / 10000,
        "active",
        stamp,  # updated_at: when the row was written, to the microsecond
    )


def _write(port: int, first: int, rate: float, duration: float) -> tuple[dict[int, float], float]:
    """Single-row INSERTs, each its own transaction, at ``rate``; key → COMMIT returned."""
    total = int(rate * duration)
    commits: dict[int, float] = {}
    conn = pymysql.connect(
        host=source.HOST,
        port=port,
        user=source.USER,
        database=SOURCE_DB,
        charset="utf8mb4",
        autocommit=False,
    )
    try:
        cur = conn.cursor()
        start = time.perf_counter()
        for k in range(total):
            wait = start + k / rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            key = first + k
            cur.execute(_INSERT, _row(key))
            conn.commit()
            commits[key] = time.time()
        seconds = time.perf_counter() - start
    finally:
        conn.close()
    return commits, seconds


class _Poller(threading.Thread):
    """Notes the wall-clock time each new key is first seen in the consumer's table."""

    def __init__(self, port: int, after: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.last = after
        self.seen: dict[int, float] = {}
        self._stop_flag = threading.Event()

    def run(self) -> None:
        conn = _connect(self.port, SINK_DB)
        try:
            with conn.cursor() as cur:
                while not self._stop_flag.is_set():
                    cur.execute(
                        f"SELECT id FROM `{SINK_TABLE}` WHERE id > %s ORDER BY id", (self.last,)
                    )
                    rows = cur.fetchall()
                    at = time.time()
                    for (key,) in rows:
                        self.seen.setdefault(int(key), at)
                    if rows:
                        self.last = int(rows[-1][0])
                    time.sleep(POLL_SECONDS)
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop_flag.set()
        self.join()


def _lake_visible(path: Path, seen: dict[int, float], keys: set[int]) -> dict[int, float]:
    """When each inserted key became visible in the lake: the first version that inserted it."""
    if not seen:
        return {}
    cdf = pa.RecordBatchReader.from_stream(
        DeltaTable(str(path)).load_cdf(starting_version=min(seen), ending_version=max(seen))
    ).read_all()
    out: dict[int, float] = {}
    for key, kind, version in zip(
        cdf.column("id").to_pylist(),
        cdf.column("_change_type").to_pylist(),
        cdf.column("_commit_version").to_pylist(),
        strict=True,
    ):
        if kind == "insert" and key in keys and version in seen:
            out[key] = min(out.get(key, math.inf), seen[version])
    return out


def _start_worker(node: Node, queue: str, log: Path) -> subprocess.Popen[bytes]:
    # Each worker on its queue: a worker of every queue could sit on the CDC stream.
    cmd = [*WORKER, "--queue", queue]
    with log.open("ab") as out:
        return subprocess.Popen(cmd, env=node.env(), stdout=out, stderr=subprocess.STDOUT)


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _deliveries(node: Node, since: datetime) -> dict[str, int]:
    from sqlalchemy import func, select

    from govdata.sharing.models import SubscriptionRun

    with node.db.transaction() as s:
        rows = s.execute(
            select(SubscriptionRun.status, func.count())
            .where(SubscriptionRun.started_at >= since)
            .group_by(SubscriptionRun.status)
        ).all()
    return {str(status): int(n) for status, n in rows}


def measure(workdir: Path, *, rate: float, duration: float, sqlite: bool = False) -> dict[str, Any]:
    """Lag from source commit to the consumer's table; ``{"skipped": reason}`` when the
    subscription modules or a binary log are missing."""
    missing = [m for m in SUBSCRIPTION_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        return {"skipped": f"the subscription modules are not there: {', '.join(missing)}"}
    try:
        with _server_port(workdir) as (port, server):
            print(f"  change source and consumer database: {server}", flush=True)
            return _measure(workdir, port, server, rate=rate, duration=duration, sqlite=sqlite)
    except _Skip as exc:
        return {"skipped": str(exc)}


def _measure(
    workdir: Path, port: int, server: str, *, rate: float, duration: float, sqlite: bool
) -> dict[str, Any]:
    folder = workdir / "lag"
    folder.mkdir()
    with _on_port(port):
        # Fresh databases: a consumer table left by an interrupted run would not be a copy.
        for database in (SOURCE_DB, SINK_DB):
            source.drop_database(database)
            source.create_database(database)
        source.generate(SOURCE_DB, TABLE, SEED_ROWS)
    node = Node.create(folder, sqlite=sqlite, store_db=STORE_DB)
    logs = [folder / "worker-cdc.log", folder / "worker-default.log"]
    workers: list[subprocess.Popen[bytes]] = []
    lake = Lake.from_settings(node.settings)
    try:
        res = node.resource("lake", SOURCE_DB, TABLE, port=port)
        with node.db.transaction() as s:
            mount = s.get(Mount, res.mount_id)
            assert mount is not None and mount.lake_table
            lake_table = mount.lake_table
        pipeline_id = node.pipeline(res.mount_id, PipelineKind.CDC, {})
        workers.append(_start_worker(node, CDC_QUEUE, logs[0]))
        workers.append(_start_worker(node, DEFAULT_QUEUE, logs[1]))
        node.run_now(pipeline_id)
        _wait(
            "the CDC pipeline's initial load",
            lambda: lake.exists(lake_table) and lake.dataset(lake_table).count_rows() == SEED_ROWS,
            READY_SECONDS,
            logs,
            node,
        )
        sink_source = node.source(SINK_DB, port=port, user="hx_officer")
        node.subscribe(res.grant_id, sink_source, SINK_TABLE)
        _wait(
            "the subscription's first copy",
            lambda: _sink_count(port) == SEED_ROWS,
            READY_SECONDS,
            logs,
            node,
        )
        # One row all the way through: the stream and the change-triggered delivery are live.
        probe = SEED_ROWS + 1
        _write(port, probe, 1.0, 1.0)
        _wait(
            "the probe row in the consumer's table", lambda: _sink_has(port, probe), 120, logs, node
        )
        print("  pipeline and subscription live; writing", flush=True)
        watcher = Watcher(lake.path(lake_table))
        watcher.start()
        poller = _Poller(port, probe)
        poller.start()
        since = datetime.now(UTC)
        load_before = os.getloadavg()
        commits, seconds = _write(port, probe + 1, rate, duration)
        deadline = time.time() + DRAIN_SECONDS
        while not commits.keys() <= poller.seen.keys() and time.time() < deadline:
            time.sleep(0.1)
        poller.stop()
        watcher.stop()
        deliveries = _deliveries(node, since)
        node.pause(pipeline_id)
    finally:
        _stop(workers)
        node.close()
        with _on_port(port):
            source.drop_database(SOURCE_DB)
            source.drop_database(SINK_DB)
    # The lake table stays on disk until the work folder goes.
    lake_at = _lake_visible(lake.path(lake_table), watcher.seen, set(commits))
    to_sink = sorted(
        (poller.seen[k] - c) * 1000 if k in poller.seen else math.inf for k, c in commits.items()
    )
    to_lake = sorted((lake_at[k] - c) * 1000 for k, c in commits.items() if k in lake_at)
    lake_to_sink = sorted(
        (poller.seen[k] - lake_at[k]) * 1000 for k in commits if k in lake_at and k in poller.seen
    )
    return {
        "server": server,
        "rate": rate,
        "achieved_rate": len(commits) / seconds if seconds else 0.0,
        "rows": len(commits),
        "not_delivered": sum(1 for k in commits if k not in poller.seen),
        "lake_versions": len(watcher.seen),
        "deliveries": deliveries,
        "p50_ms": _rank(to_sink, 50),
        "p99_ms": _rank(to_sink, 99),
        "max_ms": _rank(to_sink, 100),
        "lake_p50_ms": _rank(to_lake, 50),
        "lake_p99_ms": _rank(to_lake, 99),
        "lake_to_consumer_p50_ms": _rank(lake_to_sink, 50),
        "lake_to_consumer_p99_ms": _rank(lake_to_sink, 99),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "store": "sqlite" if sqlite else "postgresql",
    }


def print_lag(lag: dict[str, Any]) -> None:
    if "skipped" in lag:
        print(f"  skipped: {lag['skipped']}")
        return
    print(
        f"  {lag['rows']:,} rows at {_cut(lag['achieved_rate'])}/s, {lag['lake_versions']:,}"
        f" lake versions, deliveries {lag['deliveries']}, not delivered {lag['not_delivered']}"
    )
    print(f"  {'segment':<34} {'p50 ms':>8} {'p99 ms':>8}")
    print(
        f"  {'source commit → lake (CDC)':<34} {_cut(lag['lake_p50_ms']):>8}"
        f" {_cut(lag['lake_p99_ms']):>8}"
    )
    print(
        f"  {'lake → consumer table (delivery)':<34} {_cut(lag['lake_to_consumer_p50_ms']):>8}"
        f" {_cut(lag['lake_to_consumer_p99_ms']):>8}"
    )
    print(
        f"  {'source commit → consumer table':<34} {_cut(lag['p50_ms']):>8}"
        f" {_cut(lag['p99_ms']):>8}   (max {_cut(lag['max_ms'])})"
    )
