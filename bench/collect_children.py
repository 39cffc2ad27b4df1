"""What ``bench/collect.py`` runs in child processes, one contender per fresh interpreter.

Kept apart from collect.py so a child imports only what it measures: its peak memory is
its own, not GovData's modules.

    python bench/collect_children.py NAME ARGS_JSON RESULT_PATH
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import collect_source as source


def child_connectorx(args: dict[str, Any]) -> dict[str, Any]:
    import connectorx as cx

    options: dict[str, Any] = {}
    if args["partitions"] > 1:
        options = {"partition_on": "id", "partition_num": args["partitions"]}
    start = time.perf_counter()
    table = cx.read_sql(
        source.url(args["database"]),
        f"SELECT * FROM `{args['table']}`",
        return_type="arrow",
        **options,
    )
    return {"seconds": time.perf_counter() - start, "rows": table.num_rows}


def child_pymysql(args: dict[str, Any]) -> dict[str, Any]:
    import pyarrow as pa
    import pymysql.cursors

    start = time.perf_counter()
    conn = source.connect(args["database"])
    rows = 0
    try:
        cur = conn.cursor(pymysql.cursors.SSCursor)
        cur.execute(f"SELECT * FROM `{args['table']}`")
        names = [d[0] for d in cur.description]
        while chunk := cur.fetchmany(args["batch_rows"]):
            batch = pa.RecordBatch.from_arrays(
                [pa.array(c) for c in zip(*chunk, strict=True)], names=names
            )
            rows += batch.num_rows
        cur.close()
    finally:
        conn.close()
    return {"seconds": time.perf_counter() - start, "rows": rows}


def child_dlt(args: dict[str, Any]) -> dict[str, Any]:
    # No network here, and nothing to report to dlt's servers.
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    os.environ["RUNTIME__LOG_LEVEL"] = "ERROR"
    import dlt
    from dlt.sources.sql_database import sql_table

    root = Path(args["dir"])
    start = time.perf_counter()
    resource = sql_table(
        credentials=f"mysql+pymysql://{source.USER}@{source.HOST}:{source.PORT}/{args['database']}",
        table=args["table"],
        backend="connectorx",
        reflection_level="full_with_precision",
    )
    if args["destination"] == "duckdb":
        destination: Any = dlt.destinations.duckdb(str(root / "peer.duckdb"))
        run_options: dict[str, Any] = {}
    else:
        destination = dlt.destinations.filesystem(bucket_url=(root / "parquet").as_uri())
        run_options = {"loader_file_format": "parquet"}
    pipeline = dlt.pipeline(
        "govdata_bench",
        destination=destination,
        dataset_name="bench",
        pipelines_dir=str(root / "pipelines"),
    )
    pipeline.run(resource, write_disposition="replace", **run_options)
    seconds = time.perf_counter() - start
    trace = pipeline.last_trace
    assert trace is not None and trace.last_normalize_info is not None
    counts = trace.last_normalize_info.row_counts
    return {"seconds": seconds, "rows": int(counts.get(args["table"], 0))}


def child_cdc_writer(args: dict[str, Any]) -> dict[str, Any]:
    import collect_cdc

    return collect_cdc.writer_main(args)


def child_govdata_worker(args: dict[str, Any]) -> dict[str, Any]:
    """``govdata worker ARGV…``, in this process so its memory high-water mark is read here."""
    from govdata.cli import main as govdata

    sys.argv = ["govdata", "worker", *args["argv"]]
    try:
        govdata()
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    return {}


def vm_hwm() -> int:
    """This process's peak resident memory in bytes (per address space, so reset by exec:
    unlike ``ru_maxrss``, it does not inherit the parent's size through fork + exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


CHILDREN: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "connectorx": child_connectorx,
    "pymysql": child_pymysql,
    "dlt": child_dlt,
    "cdc-writer": child_cdc_writer,
    "govdata-worker": child_govdata_worker,
}


def main() -> None:
    name, raw_args, out = sys.argv[1:4]
    result = CHILDREN[name](json.loads(raw_args))
    Path(out).write_text(json.dumps({"result": result, "vm_hwm": vm_hwm()}))


if __name__ == "__main__":
    main()
