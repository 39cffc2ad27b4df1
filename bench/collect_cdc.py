"""CDC latency harness: a paced writer, a lake-version watcher, and the matching of the two.

The writer commits changes to the source table at a target rate (inserts, updates and
deletes, 6:3:1), each change carrying its sequence number in ``change_seq`` (deletes are
known by key), and records the wall-clock time at which each commit returned. The watcher
polls the lake table's transaction log for the next version file: a Delta commit becomes
visible to every reader at the moment that file appears, so the time it is first seen is the
moment its changes became visible. Afterwards the change data feed of each version says
which changes it carried: a change is visible at the first version showing that row with
this or a later ``change_seq`` (a pipeline may coalesce several changes of one key into one
commit), or, for a delete, the version deleting the key.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
from deltalake import DeltaTable

from collect_source import SHAPE, connect

INSERT, UPDATE, DELETE = "i", "u", "d"
POLL_SECONDS = 0.002
MAX_STATEMENT_CHANGES = 1000


def seed_rows_needed(rate: float, duration: float) -> int:
    """Pre-existing rows the writer needs: deletes take keys from the upper half, once each."""
    return max(10_000, 2 * math.ceil(rate * duration / 10) + 1_000)


def _op(k: int) -> str:
    slot = k % 10
    return INSERT if slot < 6 else UPDATE if slot < 9 else DELETE


def _new_row(key: int, seq: int) -> tuple[Any, ...]:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    return (
        key,
        "马海" if key % 2 else "李秀英",
        f"630102199{key % 10}0101{key % 1000:03d}X",
        key % 2,
        "1990-01-01",
        stamp,
        Decimal(key % 100000) / 100,
        1 + key % 5,
        f"青海省西宁市城东区八一路{key % 997 + 1}号",
        36.6 + (key % 1000) / 10000,
        "active",
        stamp,
        seq,
    )


def _changed_row(key: int, seq: int, k: int) -> tuple[Any, ...]:
    row = list(_new_row(key, seq))
    row[6], row[10] = Decimal(k % 100000) / 100, f"upd{k % 7}"
    return tuple(row)


def write_changes(
    database: str, table: str, rate: float, duration: float, seed: int
) -> dict[str, Any]:
    """Commit ``rate * duration`` changes at ``rate`` per second; returns the commit log.

    Changes due at the same moment share one transaction, which is what a busy source
    does; the commit time of a change is when its COMMIT returned to the writer.
    """
    total = int(rate * duration)
    cols = ", ".join(f"`{c}`" for c, *_ in SHAPE) + ", `change_seq`"
    marks = ", ".join(["%s"] * (len(SHAPE) + 1))
    insert = f"INSERT INTO `{table}` ({cols}) VALUES ({marks})"
    # One statement per kind and transaction (PyMySQL sends executemany of an INSERT as one
    # multi-row statement), so the writer keeps its pace on a loaded machine. The rows an
    # update names exist, so the server logs them as row updates, in statement order.
    update = (
        f"{insert} ON DUPLICATE KEY UPDATE monthly_income = VALUES(monthly_income),"
        " status = VALUES(status), updated_at = NOW(6), change_seq = VALUES(change_seq)"
    )
    half = seed // 2
    inserted = deleted = 0
    log: list[tuple[int, str, int, float]] = []
    commits = 0
    conn = connect(database, autocommit=False)
    try:
        cur = conn.cursor()
        start = time.perf_counter()
        done = 0
        while done < total:
            elapsed = time.perf_counter() - start
            due = min(total, int(elapsed * rate) + 1, done + MAX_STATEMENT_CHANGES)
            if due <= done:
                time.sleep(max(0.0, done / rate - elapsed))
                continue
            inserts, updates, deletes, batch = [], [], [], []
            for k in range(done, due):
                seq = k + 1
                op = _op(k)
                if op == INSERT:
                    inserted += 1
                    key = seed + inserted
                    inserts.append(_new_row(key, seq))
                elif op == UPDATE:
                    key = 1 + (k * 7919) % half
                    updates.append(_changed_row(key, seq, k))
                else:
                    deleted += 1
                    key = half + deleted
                    deletes.append(key)
                batch.append((seq, op, key))
            # Different keys in each list, and updates keep their order: same end state.
            if inserts:
                cur.executemany(insert, inserts)
            if updates:
                cur.executemany(update, updates)
            if deletes:
                marks_in = ", ".join(["%s"] * len(deletes))
                cur.execute(f"DELETE FROM `{table}` WHERE id IN ({marks_in})", deletes)
            conn.commit()
            committed = time.time()
            commits += 1
            log.extend((seq, op, key, committed) for seq, op, key in batch)
            done = due
        elapsed = time.perf_counter() - start
    finally:
        conn.close()
    return {"changes": log, "commits": commits, "seconds": elapsed, "total": total}


class Watcher(threading.Thread):
    """Records the wall-clock time each new version of a Delta table is first seen."""

    def __init__(self, table_path: Path) -> None:
        super().__init__(daemon=True)
        self.log_dir = table_path / "_delta_log"
        self.seen: dict[int, float] = {}
        self.last_new = time.time()
        self._stop_flag = threading.Event()
        self.next_version = self._current() + 1

    def _current(self) -> int:
        if not self.log_dir.is_dir():
            return -1
        return DeltaTable(str(self.log_dir.parent)).version()

    def run(self) -> None:
        while not self._stop_flag.is_set():
            if (self.log_dir / f"{self.next_version:020d}.json").exists():
                now = time.time()
                self.seen[self.next_version] = now
                self.last_new = now
                self.next_version += 1
                continue
            time.sleep(POLL_SECONDS)

    def stop(self) -> None:
        self._stop_flag.set()
        self.join()


@dataclass
class Latencies:
    changes: int
    commits: int
    writer_seconds: float
    visible_ms: list[float] = field(default_factory=list)
    # (seconds since the first commit, latency ms) of each visible change.
    timeline: list[tuple[float, float]] = field(default_factory=list)
    unseen: int = 0
    versions: int = 0

    @property
    def achieved_rate(self) -> float:
        return self.changes / self.writer_seconds if self.writer_seconds else 0.0

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile; changes never seen count as infinitely late."""
        return _rank(sorted(self.visible_ms) + [math.inf] * self.unseen, q)

    def p99_by_slice(self, seconds: float) -> list[float]:
        """p99 of the changes committed in each ``seconds``-long slice of the run: whether
        latency drifts as the lake table grows."""
        slices: dict[int, list[float]] = defaultdict(list)
        for at, ms in self.timeline:
            slices[int(at // seconds)].append(ms)
        return [_rank(sorted(slices[i]), 99) for i in sorted(slices)]


def _rank(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    return values[min(len(values) - 1, max(0, math.ceil(q / 100 * len(values)) - 1))]


def match(
    table_path: Path, seen: dict[int, float], written: dict[str, Any], key: str = "id"
) -> Latencies:
    """Which version made each written change visible, and how long after its commit."""
    pending: dict[int, list[tuple[int, str, float]]] = defaultdict(list)
    first = min((c[3] for c in written["changes"]), default=0.0)
    for seq, op, k, committed in written["changes"]:
        pending[k].append((seq, op, committed))
    result = Latencies(
        changes=len(written["changes"]),
        commits=written["commits"],
        writer_seconds=written["seconds"],
        versions=len(seen),
    )
    if seen:
        dt = DeltaTable(str(table_path))
        cdf = pa.RecordBatchReader.from_stream(
            dt.load_cdf(starting_version=min(seen), ending_version=max(seen))
        ).read_all()
        cdf = cdf.select([key, "change_seq", "_change_type", "_commit_version"])
        rows = sorted(
            zip(*(cdf.column(i).to_pylist() for i in range(4)), strict=True),
            key=lambda r: r[3],
        )
        for k, change_seq, change_type, version in rows:
            waiting = pending.get(k)
            if not waiting or change_type == "update_preimage":
                continue
            visible_at = seen[version]
            if change_type == "delete":
                reached = [w for w in waiting if w[1] == DELETE]
                upto = reached[0][0] if reached else -1
            else:
                upto = change_seq
            still = []
            for seq, op, committed in waiting:
                if seq <= upto:
                    ms = (visible_at - committed) * 1000
                    result.visible_ms.append(ms)
                    result.timeline.append((committed - first, ms))
                else:
                    still.append((seq, op, committed))
            pending[k] = still
    result.unseen = sum(len(w) for w in pending.values())
    return result


def writer_main(args: dict[str, Any]) -> dict[str, Any]:
    """Child entry point: write, then hand the commit log back through a file."""
    written = write_changes(
        args["database"], args["table"], args["rate"], args["duration"], args["seed"]
    )
    Path(args["log"]).write_text(json.dumps(written))
    return {
        "changes": written["total"],
        "commits": written["commits"],
        "seconds": written["seconds"],
    }
