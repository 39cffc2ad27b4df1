"""The peers of the quality benchmark, each run in its own process from the peers' virtual
environment (``.venv-peers``: Great Expectations and Soda Core do not install next to the
platform's pinned packages). Never imported by the platform or by ``bench/quality.py``.

    .venv-peers/bin/python bench/quality_peers.py PEER SPEC OUT

PEER: ``great_expectations``, ``soda_core`` or ``soda_core_parquet``.

SPEC (written by ``bench/quality.py``): the DuckDB database file holding one view of the
lake table's Parquet files, the rules, and the hand-written failing SQL conditions of the
rules neither peer has a built-in check for. OUT receives the wall and CPU seconds the work
took (imports excluded), the tool's version and, per rule, ``[checked, failed]`` as the tool
reports them (``checked`` is null where the tool does not say).

- Great Expectations 1.x, pandas execution engine, the table read from the same Parquet
  files into a DataFrame (inside the timing). Its SQL engine does not run on DuckDB: with
  ``duckdb_engine`` every metric query comes back empty once GE returns the connection to
  its pool (great_expectations issues 10738 and 11579), and it has no regex dialect for
  DuckDB. Built-in expectations where they exist (not null, unique, regex, value lengths,
  between, in set, strftime format); the GB 11643 and GB 32100 checks as custom column-map
  expectations calling a Python validator per value, the custom condition as a custom
  multicolumn-map expectation in pandas. ``result_format="BASIC"``.
- Soda Core 4 (``soda-duckdb``), over DuckDB reading the table's Parquet files either as
  a pyarrow dataset registered in an existing connection (``soda_core``, as the limit
  reads them) or through a database file whose view reads them with DuckDB's own Parquet
  reader (``soda_core_parquet``): one data contract with ``missing``, ``duplicate``, ``invalid``
  (``valid_format`` regex, ``valid_min_length``/``valid_max_length``, ``valid_min``/
  ``valid_max``, ``valid_values``) and ``failed_rows`` expressions (the hand-written SQL
  conditions of the limit) for the rest.
"""

from __future__ import annotations

import json
import os
import re
import resource
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

# Neither tool may phone home (there is no network here, and it would cost time).
os.environ["GX_ANALYTICS_ENABLED"] = "false"
os.environ["SODA_CORE_TELEMETRY_ENABLED"] = "false"


def _anchored(regex: str) -> str:
    # GE on DuckDB matches with ``~`` (a search), Soda with regexp_matches: anchor both.
    return f"^(?:{regex})$"


MOBILE = "1[3-9][0-9]{9}"


def _peak_memory_mib() -> float:
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the forking parent.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# GB 11643 / GB 32100 as plain Python, value by value (as ``govdata.governance.validators``,
# which is not installed here): what a Great Expectations user plugs into a custom
# column-map expectation when the engine has no SQL to run them in.
_PROVINCES: set[str] = set()  # filled from the spec (GovData's list)
_ID_WEIGHTS = tuple(pow(2, 17 - j, 11) for j in range(17))
_ID_SHAPE = re.compile(r"[0-9]{17}[0-9Xx]")
_CC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CC_VALUE = {c: i for i, c in enumerate(_CC_ALPHABET)}
_CC_WEIGHTS = tuple(pow(3, j, 31) for j in range(17))
_CC_SHAPE = re.compile(f"[{_CC_ALPHABET}]{{18}}")
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_BEIJING = timezone(timedelta(hours=8))


def resident_id(value: object) -> bool:
    if not isinstance(value, str) or not _ID_SHAPE.fullmatch(value):
        return False
    if value[:2] not in _PROVINCES:
        return False
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if born < date(1800, 1, 1) or born > datetime.now(_BEIJING).date():
        return False
    total = sum(int(c) * w for c, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == value[17].upper()


def credit_code(value: object) -> bool:
    if not isinstance(value, str) or not _CC_SHAPE.fullmatch(value):
        return False
    total = sum(_CC_VALUE[c] * w for c, w in zip(value[:17], _CC_WEIGHTS, strict=True))
    if _CC_ALPHABET[(31 - total % 31) % 31] != value[17]:
        return False
    org = sum(int(c, 36) * w for c, w in zip(value[8:16], _ORG_WEIGHTS, strict=True))
    check = (11 - org % 11) % 11
    return ("X" if check == 10 else str(check)) == value[16]


def _custom_expectations() -> dict[str, Any]:
    """Custom expectations for the rules Great Expectations has no built-in for."""
    from great_expectations.execution_engine import PandasExecutionEngine
    from great_expectations.expectations.expectation import (
        ColumnMapExpectation,
        MulticolumnMapExpectation,
    )
    from great_expectations.expectations.metrics.map_metric_provider import (
        ColumnMapMetricProvider,
        MulticolumnMapMetricProvider,
        column_condition_partial,
    )
    from great_expectations.expectations.metrics.map_metric_provider.multicolumn_condition_partial import (  # noqa: E501
        multicolumn_condition_partial,
    )

    class ColumnValuesValidResidentId(ColumnMapMetricProvider):
        condition_metric_name = "column_values.valid_resident_id"

        @column_condition_partial(engine=PandasExecutionEngine)
        def _pandas(cls, column: Any, **kwargs: Any) -> Any:
            return column.map(resident_id)

    class ColumnValuesValidCreditCode(ColumnMapMetricProvider):
        condition_metric_name = "column_values.valid_credit_code"

        @column_condition_partial(engine=PandasExecutionEngine)
        def _pandas(cls, column: Any, **kwargs: Any) -> Any:
            return column.map(credit_code)

    class StatusAmountConsistent(MulticolumnMapMetricProvider):
        # gender IN ('1', '2') AND (status <> '09' OR amount = 0), NULL counting as false.
        condition_metric_name = "multicolumn_values.status_amount_consistent"
        condition_domain_keys = (
            "batch_id",
            "table",
            "column_list",
            "row_condition",
            "condition_parser",
            "ignore_row_if",
        )

        @multicolumn_condition_partial(engine=PandasExecutionEngine)
        def _pandas(cls, column_list: Any, **kwargs: Any) -> Any:
            df = column_list
            status_ok = df["status"].notna() & (df["status"] != "09")
            amount_zero = df["amount"].notna() & (df["amount"] == 0)
            return df["gender"].isin(["1", "2"]) & (status_ok | amount_zero)

    class ExpectColumnValuesToBeValidResidentId(ColumnMapExpectation):
        map_metric = "column_values.valid_resident_id"

    class ExpectColumnValuesToBeValidCreditCode(ColumnMapExpectation):
        map_metric = "column_values.valid_credit_code"

    class ExpectStatusAmountConsistent(MulticolumnMapExpectation):
        map_metric = "multicolumn_values.status_amount_consistent"

    return {
        "resident_id": ExpectColumnValuesToBeValidResidentId,
        "credit_code": ExpectColumnValuesToBeValidCreditCode,
        "custom": ExpectStatusAmountConsistent,
    }


def run_great_expectations(
    spec: dict[str, Any],
) -> tuple[tuple[float, float], dict[str, list[Any]], str]:
    import great_expectations as gx
    import great_expectations.expectations as gxe
    import pyarrow.parquet as pq

    custom = _custom_expectations()
    t0, c0 = time.perf_counter(), _cpu()
    frame = pq.ParquetDataset(spec["files"]).read().to_pandas()
    context = gx.get_context(mode="ephemeral")
    asset = context.data_sources.add_pandas("bench").add_dataframe_asset(spec["table"])
    batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(
        batch_parameters={"dataframe": frame}
    )
    suite = gx.ExpectationSuite(name="quality")
    for rule in spec["rules"]:
        kind, col, p = rule["kind"], rule["field"], rule["params"]
        if kind == "not_null":
            e: Any = gxe.ExpectColumnValuesToNotBeNull(column=col)
        elif kind == "unique":
            e = gxe.ExpectColumnValuesToBeUnique(column=col)
        elif kind == "pattern":
            e = gxe.ExpectColumnValuesToMatchRegex(column=col, regex=_anchored(p["regex"]))
        elif kind == "mobile":
            e = gxe.ExpectColumnValuesToMatchRegex(column=col, regex=_anchored(MOBILE))
        elif kind == "length":
            e = gxe.ExpectColumnValueLengthsToBeBetween(
                column=col, min_value=p["min"], max_value=p["max"]
            )
        elif kind == "range":
            e = gxe.ExpectColumnValuesToBeBetween(
                column=col, min_value=p["min"], max_value=p["max"]
            )
        elif kind == "allowed":
            e = gxe.ExpectColumnValuesToBeInSet(column=col, value_set=p["values"])
        elif kind == "date_valid":
            e = gxe.ExpectColumnValuesToMatchStrftimeFormat(
                column=col, strftime_format=p.get("format", "%Y-%m-%d")
            )
        elif kind == "custom":
            e = custom["custom"](column_list=["gender", "status", "amount"])
        else:
            e = custom[kind](column=col)
        e.meta = {"rule": rule["id"]}
        suite.add_expectation(e)
    result = batch.validate(suite, result_format="BASIC")
    elapsed = (time.perf_counter() - t0, _cpu() - c0)
    counts: dict[str, list[Any]] = {}
    for r in result.results:
        rule_id = r.expectation_config.meta["rule"]
        if r.exception_info and r.exception_info.get("raised_exception"):
            raise RuntimeError(f"{rule_id}: {r.exception_info['exception_message']}")
        res = r.result
        checked = res["element_count"] - res.get("missing_count", 0)
        counts[rule_id] = [checked, res["unexpected_count"]]
    return elapsed, counts, str(gx.__version__)


def _soda_contract(spec: dict[str, Any]) -> str:
    """The contract as YAML (JSON is YAML): one entry per column, checks in rule order."""
    fails = spec["fails"]
    columns: dict[str, list[dict[str, Any]]] = {}
    table_checks: list[dict[str, Any]] = []
    for rule in spec["rules"]:
        kind, col, p, q = rule["kind"], rule["field"], rule["params"], rule["id"]
        if kind == "not_null":
            check: dict[str, Any] = {"missing": {"qualifier": q}}
        elif kind == "unique":
            check = {"duplicate": {"qualifier": q}}
        elif kind in ("pattern", "mobile"):
            regex = p["regex"] if kind == "pattern" else MOBILE
            check = {
                "invalid": {"qualifier": q, "valid_format": {"regex": _anchored(regex), "name": q}}
            }
        elif kind == "length":
            check = {
                "invalid": {
                    "qualifier": q,
                    "valid_min_length": p["min"],
                    "valid_max_length": p["max"],
                }
            }
        elif kind == "range":
            check = {"invalid": {"qualifier": q, "valid_min": p["min"], "valid_max": p["max"]}}
        elif kind == "allowed":
            check = {"invalid": {"qualifier": q, "valid_values": p["values"]}}
        else:
            where = fails[q]
            if col is not None:
                where = f'"{col}" IS NOT NULL AND ({where})'
            check = {"failed_rows": {"qualifier": q, "expression": where}}
        if col is None:
            table_checks.append(check)
        else:
            columns.setdefault(col, []).append(check)
    contract = {
        "dataset": f"bench/main/{spec['table']}",
        "columns": [{"name": c, "checks": checks} for c, checks in columns.items()],
        "checks": table_checks,
    }
    return json.dumps(contract, ensure_ascii=False)


def run_soda_core(
    spec: dict[str, Any], reader: str = "arrow"
) -> tuple[tuple[float, float], dict[str, list[Any]], str]:
    """``reader``: ``arrow`` registers a pyarrow dataset of the table's files in DuckDB, as
    the limit reads them; ``parquet`` points Soda at a database file whose view reads them
    with DuckDB's own Parquet reader."""
    from importlib.metadata import version

    from soda_core.contracts.api.verify_api import verify_contract_locally

    with tempfile.TemporaryDirectory(prefix="soda-") as tmp:
        contract = Path(tmp) / "contract.yml"
        contract.write_text(_soda_contract(spec))
        source = Path(tmp) / "datasource.yml"
        source.write_text(
            json.dumps(
                {
                    "type": "duckdb",
                    "name": "bench",
                    "connection": {"database": spec["database"], "read_only": True},
                }
            )
        )
        t0, c0 = time.perf_counter(), _cpu()
        if reader == "arrow":
            import duckdb
            import pyarrow.dataset as ds
            from soda_duckdb.common.data_sources.duckdb_data_source import DuckDBDataSourceImpl

            con = duckdb.connect()
            con.register("persons_files", ds.dataset(spec["files"], format="parquet"))
            con.execute(f"CREATE VIEW {spec['table']} AS SELECT * FROM persons_files")
            result = verify_contract_locally(
                data_sources=[DuckDBDataSourceImpl.from_existing_cursor(con, "bench")],
                contract_file_path=str(contract),
            )
        else:
            result = verify_contract_locally(
                data_source_file_path=str(source), contract_file_path=str(contract)
            )
        elapsed = (time.perf_counter() - t0, _cpu() - c0)
    counts: dict[str, list[Any]] = {}
    for verification in result.contract_verification_results:
        for r in verification.check_results:
            d = r.diagnostic_metric_values or {}
            tested = d.get("check_rows_tested")
            if r.check.type in ("invalid", "duplicate") and tested is not None:
                tested -= d.get("missing_count", 0)
            elif r.check.type == "failed_rows":
                tested = None  # every row of the dataset, whatever the condition's column
            counts[r.check.qualifier or ""] = [tested, r.threshold_value]
    if result.has_errors if hasattr(result, "has_errors") else False:
        raise RuntimeError(f"Soda reported errors: {result.get_errors_str()}")
    return elapsed, counts, version("soda-core")


def main() -> None:
    peer, spec_path, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    spec = json.loads(spec_path.read_text())
    _PROVINCES.update(spec["provinces"])
    runner = {
        "great_expectations": run_great_expectations,
        "soda_core": run_soda_core,
        "soda_core_parquet": lambda spec: run_soda_core(spec, reader="parquet"),
    }[peer]
    (seconds, cpu), counts, version = runner(spec)
    out.write_text(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": cpu,
                "max_rss_mib": _peak_memory_mib(),
                "counts": counts,
                "version": version,
            }
        )
    )


if __name__ == "__main__":
    main()
