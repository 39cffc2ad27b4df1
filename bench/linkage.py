"""The population base library (人口基础库) from three departments' lake tables: precision,
recall and F1 against the generated truth, and time as a ratio to a limit measured in the
same run.

1. Data: ``--persons`` (1M) people per source. The universe is ``persons / coverage``
   people; the police household register, social insurance and civil affairs each hold
   about 90 % of them, in their own column names and formats, with the defects of
   ``govdata.governance.baselib_synth`` (missing values, one-digit ID typos and swapped
   digits, lowercase x and full-width digits, homophones and traditional characters in
   names, spaces, swapped day and month, moved people, duplicates inside a source), from
   fixed seeds. Each source is written to its own Delta table in a temporary lake.
2. Build: what ``govdata baselib build population`` does — every source streamed from the
   lake (``Lake.scan``) into DuckDB and normalised, the Splink model trained (λ from
   deterministic rules, u by random sampling, m by EM over two blocking rules), pairs
   predicted over six blocking rules, clustered at the library's threshold, golden records
   assembled field by field from the authority order with provenance, and the golden
   records, links and edges written to the lake. Timed end to end.
3. Quality: pairwise precision, recall and F1 of the clusters against the truth (a pair of
   records is predicted when both fall in one entity, true when both are one person).
4. Limit: the least any linkage of these tables must do — read the three tables from the
   lake and join them on the ID number (trimmed and upper-cased) with DuckDB, one full
   outer join, counting the groups. The build is reported as a ratio to it. The exact-key
   join's own precision, recall and F1 are reported too: what linkage adds over it.
5. Rebuild: 1 % of one source's rows changed (``Lake.merge``) and the library rebuilt
   from the previous model, links and edges: only changed records are scored again.

    python bench/linkage.py --json data/bench-linkage.json
    python bench/linkage.py --persons 20000        # for development
"""

from __future__ import annotations

import argparse
import json
import math
import platform as py_platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from govdata.governance import baselib_synth as synth
from govdata.governance import linkage
from govdata.lake.tables import Lake

AUTHORITY = {
    "resident_id": ["police", "social", "civil"],
    "name": ["police", "civil", "social"],
    "gender": ["police", "social", "civil"],
    "birth_date": ["police", "social", "civil"],
    "address": ["civil", "police", "social"],
    "phone": ["social", "civil"],
}


def _write_sources(con: duckdb.DuckDBPyConnection, lake: Lake, pop: synth.Population) -> None:
    for name in pop.sources:
        table = f"dept.{name}"
        reader = con.sql(f"SELECT * EXCLUDE (pid, copy) FROM {pop.sources[name]}").to_arrow_reader(
            batch_size=200_000
        )
        lake.create(table, reader.schema)
        lake.overwrite(table, reader)


def _spec(lake: Lake) -> linkage.LibrarySpec:
    sources = []
    for name, label, _cols in synth.SOURCES:
        table = f"dept.{name}"
        sources.append(
            linkage.LinkSource(
                id=name,
                label=label,
                data=lambda t=table: lake.scan(t),  # type: ignore[misc]
                columns=synth.COLUMN_MAPS[name],
                key=[synth.KEY_COLUMN],
                version=lake.table(table).version(),
            )
        )
    return linkage.LibrarySpec(
        subject=linkage.POPULATION,
        sources=sources,
        authority=AUTHORITY,
        threshold=0.95,
        u_pairs=2e6,
    )


def _write_library(lake: Lake, outcome: linkage.Outcome, first: bool) -> None:
    for table, schema, reader in (
        ("baselib.population", linkage.golden_schema(linkage.POPULATION), outcome.golden()),
        ("baselib.population_links", linkage.LINKS_SCHEMA, outcome.links()),
        ("baselib.population_edges", linkage.EDGES_SCHEMA, outcome.edges()),
    ):
        if first:
            lake.create(table, schema)
        lake.overwrite(table, reader)


def _limit(lake: Lake) -> tuple[float, int]:
    """Read the three tables from the lake and full-outer-join them on the ID number."""
    t0 = time.perf_counter()
    con = duckdb.connect()
    for name, _label, cols in synth.SOURCES:
        con.register(f"l_{name}", lake.scan(f"dept.{name}", columns=[cols[0], synth.KEY_COLUMN]))
    row = con.execute(
        """
        WITH p AS (SELECT upper(trim(gmsfhm)) AS k, rec_id FROM l_police),
             s AS (SELECT upper(trim(sfzh)) AS k, rec_id FROM l_social),
             c AS (SELECT upper(trim(zjhm)) AS k, rec_id FROM l_civil),
             ps AS (SELECT coalesce(p.k, s.k) AS k FROM p FULL OUTER JOIN s ON p.k = s.k),
             psc AS (SELECT coalesce(ps.k, c.k) AS k FROM ps FULL OUTER JOIN c ON ps.k = c.k)
        SELECT count(DISTINCT k) FROM psc
        """
    ).fetchall()[0]
    con.close()
    return time.perf_counter() - t0, int(row[0])


def _exact_key_scores(con: duckdb.DuckDBPyConnection, pop: synth.Population) -> dict[str, float]:
    """What the exact-key join alone would link: records grouped by their cleaned ID."""
    parts = []
    for name, _label, cols in synth.SOURCES:
        parts.append(
            f"SELECT '{name}' AS source, rec_id, "
            f"coalesce(upper(trim({cols[0]})), '{name}|' || rec_id) AS entity_id "
            f"FROM {pop.sources[name]}"
        )
    con.execute("CREATE OR REPLACE TABLE exact_links AS " + " UNION ALL ".join(parts))
    return synth.pairwise_scores(con, "exact_links", pop.truth)


def _scores(
    con: duckdb.DuckDBPyConnection, outcome: linkage.Outcome, pop: synth.Population
) -> dict[str, float]:
    con.register("built_links", outcome.links())
    con.execute(
        "CREATE OR REPLACE TABLE built AS "
        "SELECT entity_id, source_id AS source, rec_key AS rec_id FROM built_links"
    )
    con.unregister("built_links")
    return synth.pairwise_scores(con, "built", pop.truth)


def _change_one_percent(lake: Lake, con: duckdb.DuckDBPyConnection, pop: synth.Population) -> int:
    """Rewrite the address of 1 % of the social-insurance rows (people who moved)."""
    changed = con.sql(
        f"""SELECT * EXCLUDE (pid, copy) REPLACE (lxdz || '附1号' AS lxdz)
            FROM {pop.sources["social"]} WHERE hash(rec_id, 'move') % 100 = 0"""
    ).to_arrow_table()
    lake.merge("dept.social", changed, [synth.KEY_COLUMN])
    return changed.num_rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--persons", type=int, default=1_000_000, help="records per source (about)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--lake", type=Path, default=None, help="lake folder (a temporary one)")
    args = ap.parse_args()

    universe = math.ceil(args.persons / synth.RATES["coverage"])
    tmp = tempfile.TemporaryDirectory(prefix="bench-linkage-")
    lake = Lake(args.lake or Path(tmp.name))
    gen = duckdb.connect()
    t0 = time.perf_counter()
    pop = synth.generate(gen, universe, seed=args.seed)
    _write_sources(gen, lake, pop)
    setup = time.perf_counter() - t0
    counts = {
        name: int(gen.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])
        for name, table in pop.sources.items()
    }
    print(f"generated {universe} people, sources {counts} in {setup:.1f}s", flush=True)

    limit_s, keys = _limit(lake)
    print(f"limit (exact-key join of the three tables): {limit_s:.2f}s, {keys} keys", flush=True)
    exact = _exact_key_scores(gen, pop)

    t1 = time.perf_counter()
    outcome = linkage.link(
        _spec(lake),
        threads=args.threads,
        progress=lambda f, m: print(
            f"  {f:4.0%} {m} ({time.perf_counter() - t1:.1f}s)", flush=True
        ),
    )
    _write_library(lake, outcome, first=True)
    build_s = time.perf_counter() - t1
    scores = _scores(gen, outcome, pop)
    print(
        f"build: {build_s:.1f}s ({build_s / limit_s:.1f}x the limit); precision "
        f"{scores['precision']:.4f} recall {scores['recall']:.4f} F1 {scores['f1']:.4f}",
        flush=True,
    )
    previous = linkage.Previous(
        model=outcome.model,
        links=lake.scan("baselib.population_links"),
        edges=lake.scan("baselib.population_edges"),
    )
    build_stats = outcome.stats
    outcome.con.close()

    moved = _change_one_percent(lake, gen, pop)
    t2 = time.perf_counter()
    again = linkage.link(_spec(lake), previous=previous, threads=args.threads)
    _write_library(lake, again, first=False)
    rebuild_s = time.perf_counter() - t2
    rescores = _scores(gen, again, pop)
    print(
        f"rebuild after {moved} changed rows: {rebuild_s:.1f}s, mode {again.mode}, "
        f"{again.stats['scored_records']} records scored; F1 {rescores['f1']:.4f}",
        flush=True,
    )
    result: dict[str, Any] = {
        "benchmark": "linkage",
        "persons_per_source": args.persons,
        "universe": universe,
        "records": counts,
        "seed": args.seed,
        "machine": {"python": sys.version.split()[0], "platform": py_platform.platform()},
        "duckdb": duckdb.__version__,
        "pyarrow": pa.__version__,
        "setup_seconds": round(setup, 2),
        "limit": {"seconds": round(limit_s, 3), "keys": keys, "exact_key_scores": exact},
        "build": {
            "seconds": round(build_s, 2),
            "ratio_to_limit": round(build_s / limit_s, 2),
            "scores": scores,
            "stats": build_stats,
        },
        "rebuild": {
            "changed_rows": moved,
            "seconds": round(rebuild_s, 2),
            "ratio_to_build": round(rebuild_s / build_s, 3),
            "mode": again.mode,
            "scores": rescores,
            "stats": again.stats,
        },
        "goal": {"f1": 0.98, "met": scores["f1"] >= 0.98},
    }
    again.con.close()
    print(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
