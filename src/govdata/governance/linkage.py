"""Entity resolution for the base libraries (基础库): Splink on DuckDB, then golden records.

One model per subject (population, legal entity), written once as SQL:

1. **Records.** Every source's rows are read as an Arrow stream and normalised in DuckDB
   into one table ``records``: the department's columns mapped onto the library's fields,
   full-width characters made half-width, spaces and middle dots removed, traditional and
   variant characters (异体字) folded for comparison, IDs upper-cased and checked
   (GB 11643 / GB 32100 as SQL, ``sql_checks``), dates parsed from the usual formats,
   gender codes unified (GB/T 2261.1). Each record keeps a display value per field (what
   the golden record may show) and a content hash (what incremental rebuilds compare).
2. **Model.** A Splink model over ``records`` (``dedupe_only`` over the union, so links
   across departments and duplicates inside one are found by the same pass): blocking
   rules, comparisons for Chinese names (exact, one character different — a homophone
   同音字 —, same surname and similar given name, Jaro-Winkler on the characters; no
   pinyin), ID numbers (exact; Damerau-Levenshtein ≤ 1 when at least one side fails its
   checksum, i.e. a typo; two valid IDs one character apart are different people),
   birth dates (exact, day and month swapped, same year and month, one digit off),
   gender, addresses (exact, Jaro-Winkler, character Jaccard) and phones. Trained with
   Splink's procedure: λ from deterministic rules, u by random sampling, m by
   expectation maximisation over two blocking rules.
3. **Prediction and clusters.** Pairs scored by the model, kept at or above the library's
   threshold, clustered by connected components (``splink.clustering``).
4. **Golden records.** One row per cluster, each field from the first source in the
   field's authority order that has a value (rule ``authority``), else from any other
   member (``fallback``), else — birth date and gender of a person — read from the
   golden ID number (``derived``); each field's provenance (source, source record key,
   rule) travels in the ``provenance`` JSON column.

Rebuilds reuse the trained model and re-predict only the records whose content hash
changed (or that are new) against everyone else; pairs between unchanged records are kept
from the last build. Clustering and golden assembly then run over everything (they are
cheap next to scoring pairs). Entity ids stay stable: a cluster keeps the id of the old
entity it shares most records with.

Nothing here touches the metadata store; ``baselib`` wraps it into actions.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import duckdb
import pyarrow as pa
from sqlglot import exp

from govdata.core.errors import InvalidInput
from govdata.governance import sql_checks
from govdata.governance.linkage_model import (
    ADDRESS,
    COMPOUND_SURNAMES,
    CREDIT,
    DATE,
    GENDER,
    ID,
    LEGAL_ENTITY,
    MIN_TRAIN_RECORDS,
    NAME,
    PHONE,
    POPULATION,
    PRIORS,
    SUBJECTS,
    TEXT,
    VARIANTS,
    D,
    FieldSpec,
    Subject,
    comparable_sql,
    display_sql,
    literal,
    model_columns,
    parse_expr,
    quote,
    settings,
    subject,
)

__all__ = [
    "ADDRESS",
    "COMPOUND_SURNAMES",
    "CREDIT",
    "DATE",
    "EDGES_SCHEMA",
    "GENDER",
    "ID",
    "LEGAL_ENTITY",
    "LINKS_SCHEMA",
    "MIN_TRAIN_RECORDS",
    "NAME",
    "PHONE",
    "POPULATION",
    "PRIORS",
    "SUBJECTS",
    "TEXT",
    "VARIANTS",
    "FieldSpec",
    "LibrarySpec",
    "LinkSource",
    "Outcome",
    "Previous",
    "Subject",
    "find_duplicates",
    "golden_schema",
    "link",
    "provenance",
    "settings",
    "subject",
]

ArrowSource: TypeAlias = "pa.Table | pa.RecordBatchReader | Callable[[], pa.RecordBatchReader]"
Progress: TypeAlias = Callable[[float, str], None]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkSource:
    """One department's records: where they are and which column holds which field.

    ``id`` is the stable name of the source inside the library (a resource code): it
    prefixes every record's unique id, so it must not change between builds.
    """

    id: str
    data: ArrowSource
    columns: Mapping[str, str]  # library field → source column
    key: Sequence[str]  # source record key column(s)
    label: str = ""
    entry_id: str | None = None
    version: int | None = None  # lake version read, for "unchanged since last build"


@dataclass(frozen=True)
class LibrarySpec:
    subject: Subject
    sources: Sequence[LinkSource]
    # field → source ids in authority order (first with a value wins).
    authority: Mapping[str, Sequence[str]] = field(default_factory=dict)
    threshold: float = 0.95
    seed: int = 42
    # Pairs sampled for u estimation; the default suits a few million records.
    u_pairs: float = 2e6


@dataclass
class Previous:
    """What the last build left: its model and its state tables (Arrow)."""

    model: dict[str, Any]
    links: ArrowSource  # unique_id, rec_hash, entity_id
    edges: ArrowSource  # unique_id_l, unique_id_r, match_probability


@dataclass
class Outcome:
    """A finished linkage; its tables live in ``con`` until the caller closes it."""

    con: duckdb.DuckDBPyConnection
    subject: Subject
    model: dict[str, Any]
    mode: str  # full | incremental | unchanged
    stats: dict[str, Any]

    def _stream(self, sql: str) -> pa.RecordBatchReader:
        # A cursor of its own, so several streams can be open at once.
        return self.con.cursor().sql(sql).to_arrow_reader(batch_size=100_000)

    def golden(self) -> pa.RecordBatchReader:
        return self._stream("SELECT * FROM golden ORDER BY entity_id")

    def links(self) -> pa.RecordBatchReader:
        return self._stream(
            "SELECT entity_id, unique_id, source_id, rec_key, rec_hash FROM links "
            "ORDER BY entity_id, unique_id"
        )

    def edges(self) -> pa.RecordBatchReader:
        return self._stream("SELECT unique_id_l, unique_id_r, match_probability FROM edges")


def _reader(data: ArrowSource) -> pa.RecordBatchReader:
    if callable(data):
        return data()
    if isinstance(data, pa.Table):
        return pa.RecordBatchReader.from_batches(data.schema, data.to_batches())
    return data


def _check_spec(spec: LibrarySpec) -> None:
    if not spec.sources:
        raise InvalidInput(
            "基础库至少需要一个数据源",
            "A base library needs at least one source",
            code="baselib_no_sources",
        )
    ids = [s.id for s in spec.sources]
    if len(set(ids)) != len(ids):
        raise InvalidInput(
            "基础库的数据源标识重复",
            "Base library source ids repeat",
            code="baselib_source_duplicate",
            details={"sources": ids},
        )
    for source in spec.sources:
        unknown = [f for f in source.columns if f not in spec.subject.field_names]
        if unknown or not source.key:
            raise InvalidInput(
                f"数据源 {source.id} 的字段映射无效：{unknown or '缺少记录主键'}",
                f"Source {source.id} maps unknown fields {unknown} or has no record key",
                code="baselib_mapping_invalid",
                details={"source": source.id, "fields": unknown},
            )


def load_records(con: duckdb.DuckDBPyConnection, spec: LibrarySpec) -> int:
    """Read every source into the normalised table ``records``; returns the row count."""
    _check_spec(spec)
    subject = spec.subject
    con.register(
        "source_names",
        pa.table(
            {
                "source_no": pa.array(range(len(spec.sources)), pa.int32()),
                "source_id": [s.id for s in spec.sources],
                "label": [s.label or s.id for s in spec.sources],
                "entry_id": pa.array([s.entry_id for s in spec.sources], pa.string()),
            }
        ),
    )
    display_cols = ", ".join(
        quote("v_" + f.name) + (" DATE" if f.kind == DATE else " VARCHAR") for f in subject.fields
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE raw_records (source_no INTEGER, rec_key VARCHAR,
            {display_cols})"""
    )
    for no, source in enumerate(spec.sources):
        reader = _reader(source.data)
        schema = reader.schema
        missing = [c for c in [*source.columns.values(), *source.key] if c not in schema.names]
        if missing:
            raise InvalidInput(
                f"数据源 {source.id} 缺少列：{missing}",
                f"Source {source.id} lacks columns {missing}",
                code="baselib_mapping_invalid",
                details={"source": source.id, "columns": missing},
            )
        con.register("source_rows", reader)
        keys = ", ".join(f"CAST({quote(k)} AS VARCHAR)" for k in source.key)
        key = parse_expr(f"concat_ws('|', {keys})").sql(dialect=D)
        # A record without its key cannot be referred to: it is left out. So is one without
        # the entity's identifier and name (of those mapped), which says nothing of any entity
        # (an insured person's employer columns on a record of someone without an employer).
        present = " AND ".join(f"{quote(k)} IS NOT NULL" for k in source.key)
        naming = [
            source.columns[f]
            for f in (subject.key_field, subject.name_field)
            if f in source.columns
        ]
        if naming:
            present += f" AND ({' OR '.join(f'{quote(c)} IS NOT NULL' for c in naming)})"
        values = []
        for f in subject.fields:
            column = source.columns.get(f.name)
            if column is None:
                values.append("CAST(NULL AS DATE)" if f.kind == DATE else "CAST(NULL AS VARCHAR)")
            else:
                values.append(
                    parse_expr(display_sql(f, quote(column), schema.field(column).type)).sql(
                        dialect=D
                    )
                )
        con.execute(
            f"INSERT INTO raw_records SELECT {int(no)}, {key}, {', '.join(values)} "  # noqa: S608
            f"FROM source_rows WHERE {present}"
        )
        con.unregister("source_rows")
    fields = ", ".join(
        f"coalesce(CAST({quote('v_' + f.name)} AS VARCHAR), '')" for f in subject.fields
    )
    rec_hash = parse_expr(f"md5(concat_ws(chr(31), {fields}))").sql(dialect=D)
    first, second = comparable_sql(subject)
    level1 = ", ".join(parse_expr(c).sql(dialect=D) for c in first)
    level2 = ", ".join(parse_expr(c).sql(dialect=D) for c in second)
    con.execute(
        f"""CREATE OR REPLACE TABLE records AS
            WITH base AS (
                SELECT n.source_id || '|' || r.rec_key AS unique_id, n.source_id, r.*,
                       {rec_hash} AS rec_hash
                FROM raw_records r JOIN source_names n USING (source_no)
            ),
            named AS (SELECT *, {level1} FROM base)
            SELECT *, {level2} FROM named"""  # noqa: S608
    )
    con.execute("DROP TABLE raw_records")
    dupes = con.execute(
        "SELECT unique_id FROM records GROUP BY unique_id HAVING count(*) > 1 LIMIT 3"
    ).fetchall()
    if dupes:
        raise InvalidInput(
            f"数据源的记录主键不唯一：{[d[0] for d in dupes]}",
            f"Source record keys are not unique: {[d[0] for d in dupes]}",
            code="baselib_key_not_unique",
            details={"examples": [d[0] for d in dupes]},
        )
    return _count(con, "records")


def _model_view(con: duckdb.DuckDBPyConnection, subject: Subject, table: str, view: str) -> None:
    """A view of ``table`` with only the columns the model reads."""
    columns = ", ".join(quote(c) for c in model_columns(subject))
    con.execute(f"CREATE OR REPLACE VIEW {quote(view)} AS SELECT {columns} FROM {quote(table)}")  # noqa: S608


def _linker(con: duckdb.DuckDBPyConnection, subject: Subject, model: dict[str, Any]) -> Any:
    from splink import DuckDBAPI, Linker

    _model_view(con, subject, "records", "records_model")
    db_api = DuckDBAPI(con)
    frame = db_api.register("records_model")
    return Linker(frame, model, log_level=None), db_api


def train(linker: Any, spec: LibrarySpec, *, full: bool = True) -> dict[str, Any]:
    """λ, u and m of the model; returns the trained model as a settings dict.

    Not ``full`` (too few records for sampled u values and EM to mean anything): λ only,
    m and u stay at their priors.
    """
    subject = spec.subject
    linker.training.estimate_probability_two_random_records_match(
        [subject.deterministic], recall=0.8
    )
    settings_obj = linker._settings_obj
    if not settings_obj._probability_two_random_records_match:
        # No pair passes the deterministic rule (a source without duplicates): λ cannot be
        # 0 (its log is taken), so one match in a million pairs.
        settings_obj._probability_two_random_records_match = 1e-6
    if not full:
        return dict(linker.misc.save_model_to_json())
    linker.training.estimate_u_using_random_sampling(max_pairs=spec.u_pairs, seed=spec.seed)
    from splink.internals.exceptions import EMTrainingException

    for rule in subject.training:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=True
            )
        except EMTrainingException:
            # Too few records for this rule to yield pairs (a small library): the levels
            # it would have trained keep their defaults.
            log.info("EM rule %s found no pairs; skipped", rule)
    return dict(linker.misc.save_model_to_json())


# -- build ---------------------------------------------------------------------------------


def _silence_splink() -> None:
    for name in ("splink", "splink.internals"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _load_arrow(con: duckdb.DuckDBPyConnection, table: str, data: ArrowSource) -> None:
    con.register("arrow_in", _reader(data))
    con.execute(f"CREATE OR REPLACE TABLE {quote(table)} AS SELECT * FROM arrow_in")  # noqa: S608
    con.unregister("arrow_in")


def link(
    spec: LibrarySpec,
    *,
    previous: Previous | None = None,
    progress: Progress | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    threads: int | None = None,
) -> Outcome:
    """Link the spec's sources and assemble golden records; see the module docstring.

    With ``previous`` (the last build's model, links and edges) only records whose content
    changed are scored again (``Outcome.mode`` says ``incremental``, or ``unchanged`` when
    nothing changed); past half the records changed, everything is re-scored with the
    previous model (``full``). Without it the model is trained first.
    """
    _silence_splink()
    report = progress or (lambda _f, _m: None)
    con = con or duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    subject = spec.subject
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    report(0.02, "reading sources")
    total = load_records(con, spec)
    timings["read"] = time.perf_counter() - t0
    stats: dict[str, Any] = {"records": total, "sources": len(spec.sources)}

    mode = "full"
    changed = total
    if previous is not None:
        _load_arrow(con, "prev_links", previous.links)
        _load_arrow(con, "prev_edges", previous.edges)
        con.execute(
            """CREATE OR REPLACE TABLE changed AS
               SELECT r.unique_id FROM records r
               LEFT JOIN prev_links p ON p.unique_id = r.unique_id AND p.rec_hash = r.rec_hash
               WHERE p.unique_id IS NULL"""
        )
        con.execute(
            """CREATE OR REPLACE TABLE removed AS
               SELECT p.unique_id FROM prev_links p ANTI JOIN records r USING (unique_id)"""
        )
        changed = _count(con, "changed")
        removed = _count(con, "removed")
        stats.update(changed=changed, removed=removed)
        if changed == 0 and removed == 0:
            mode = "unchanged"
        elif changed <= total // 2:
            mode = "incremental"

    threshold = float(spec.threshold)
    t1 = time.perf_counter()
    if mode == "full":
        model = dict(previous.model) if previous is not None else settings(subject)
        linker, _db_api = _linker(con, subject, model)
        if previous is None:
            report(0.1, "training the model")
            model = train(linker, spec, full=total >= MIN_TRAIN_RECORDS)
            timings["train"] = time.perf_counter() - t1
            stats["trained"] = total >= MIN_TRAIN_RECORDS
        t2 = time.perf_counter()
        report(0.4, "scoring candidate pairs")
        predictions = linker.inference.predict(
            threshold_match_probability=threshold, warning_mode="never"
        )
        con.execute(
            f"""CREATE OR REPLACE TABLE edges AS
                SELECT unique_id_l, unique_id_r, match_probability
                FROM {quote(predictions.physical_name)}"""  # noqa: S608
        )
        predictions.drop_table_from_database_and_remove_from_cache()
        timings["predict"] = time.perf_counter() - t2
        stats["scored_records"] = total
    elif mode == "incremental":
        assert previous is not None
        model = dict(previous.model)
        report(0.3, "scoring changed records")
        con.execute(
            "CREATE OR REPLACE TABLE recs_changed AS "
            "SELECT * FROM records SEMI JOIN changed USING (unique_id)"
        )
        con.execute(
            "CREATE OR REPLACE TABLE recs_kept AS "
            "SELECT * FROM records ANTI JOIN changed USING (unique_id)"
        )
        linker, db_api = _linker(con, subject, model)
        _model_view(con, subject, "recs_changed", "recs_changed_model")
        _model_view(con, subject, "recs_kept", "recs_kept_model")
        left = db_api.register("recs_changed_model")
        right = db_api.register("recs_kept_model")
        between = linker.inference.predict_between(
            left, right, threshold_match_probability=threshold, warning_mode="never"
        )
        within = linker.inference.predict_within(
            left, threshold_match_probability=threshold, warning_mode="never"
        )
        con.execute(
            f"""CREATE OR REPLACE TABLE edges AS
                SELECT unique_id_l, unique_id_r, match_probability FROM prev_edges e
                WHERE e.unique_id_l NOT IN (SELECT unique_id FROM changed)
                  AND e.unique_id_r NOT IN (SELECT unique_id FROM changed)
                  AND e.unique_id_l NOT IN (SELECT unique_id FROM removed)
                  AND e.unique_id_r NOT IN (SELECT unique_id FROM removed)
                UNION ALL
                SELECT unique_id_l, unique_id_r, match_probability
                FROM {quote(between.physical_name)}
                UNION ALL
                SELECT unique_id_l, unique_id_r, match_probability
                FROM {quote(within.physical_name)}"""  # noqa: S608
        )
        timings["predict"] = time.perf_counter() - t1
        stats["scored_records"] = changed
    else:
        assert previous is not None
        model = dict(previous.model)
        con.execute("CREATE OR REPLACE TABLE edges AS SELECT * FROM prev_edges")
        stats["scored_records"] = 0

    t3 = time.perf_counter()
    report(0.75, "clustering")
    _cluster(con, subject, has_previous=previous is not None, threshold=threshold)
    timings["cluster"] = time.perf_counter() - t3
    t4 = time.perf_counter()
    report(0.85, "assembling golden records")
    assemble_golden(con, spec)
    timings["golden"] = time.perf_counter() - t4
    timings["total"] = time.perf_counter() - t0
    stats["edges"] = _count(con, "edges")
    stats["entities"] = _count(con, "golden")
    row = con.execute(
        "SELECT count(*) FILTER (WHERE n > 1), max(n) FROM "
        "(SELECT count(*) AS n FROM links GROUP BY entity_id)"
    ).fetchall()[0]
    stats["multi_record_entities"] = int(row[0] or 0)
    stats["largest_cluster"] = int(row[1] or 0)
    stats["seconds"] = {k: round(v, 3) for k, v in timings.items()}
    report(0.95, "done")
    return Outcome(con=con, subject=subject, model=model, mode=mode, stats=stats)


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    # fetchall: DuckDB refuses further work on a connection with a result left open.
    rows = con.execute(f"SELECT count(*) FROM {quote(table)}").fetchall()  # noqa: S608
    return int(rows[0][0]) if rows else 0


def _cluster(
    con: duckdb.DuckDBPyConnection, subject: Subject, *, has_previous: bool, threshold: float
) -> None:
    """Connected components over the edges, then stable entity ids into ``links``."""
    from splink import DuckDBAPI
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    con.execute("CREATE OR REPLACE VIEW cluster_nodes AS SELECT unique_id FROM records")
    con.execute(
        "CREATE OR REPLACE VIEW cluster_edges AS "
        "SELECT unique_id_l, unique_id_r, match_probability FROM edges"
    )
    db_api = DuckDBAPI(con)
    clusters = cluster_pairwise_predictions_at_threshold(
        "cluster_nodes",
        "cluster_edges",
        db_api,
        node_id_column_name="unique_id",
        threshold_match_probability=threshold,
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE clusters AS
            SELECT unique_id, cluster_id FROM {quote(clusters.physical_name)}"""  # noqa: S608
    )
    clusters.drop_table_from_database_and_remove_from_cache()
    new_id = parse_expr(
        f"{literal(subject.prefix)} || upper(substr(md5(min(c.unique_id)), 1, 15))"
    ).sql(dialect=D)
    if has_previous:
        con.execute(
            f"""CREATE OR REPLACE TABLE cluster_ids AS
            WITH overlap AS (
                SELECT c.cluster_id, p.entity_id, count(*) AS n
                FROM clusters c JOIN prev_links p USING (unique_id)
                GROUP BY ALL
            ), best_cluster AS (
                SELECT * FROM overlap
                QUALIFY row_number() OVER (PARTITION BY entity_id
                                           ORDER BY n DESC, cluster_id) = 1
            ), kept AS (
                SELECT cluster_id, entity_id FROM best_cluster
                QUALIFY row_number() OVER (PARTITION BY cluster_id
                                           ORDER BY n DESC, entity_id) = 1
            )
            SELECT c.cluster_id, coalesce(any_value(k.entity_id), {new_id}) AS entity_id
            FROM clusters c LEFT JOIN kept k USING (cluster_id)
            GROUP BY c.cluster_id"""  # noqa: S608
        )
    else:
        con.execute(
            f"""CREATE OR REPLACE TABLE cluster_ids AS
                SELECT c.cluster_id, {new_id} AS entity_id FROM clusters c GROUP BY c.cluster_id"""  # noqa: S608
        )
    con.execute(
        """CREATE OR REPLACE TABLE links AS
           SELECT i.entity_id, r.unique_id, r.source_id, r.source_no, r.rec_key, r.rec_hash
           FROM records r JOIN clusters c USING (unique_id) JOIN cluster_ids i USING (cluster_id)"""
    )


def assemble_golden(con: duckdb.DuckDBPyConnection, spec: LibrarySpec) -> None:
    """One row per entity: each field from its authority order, with provenance.

    Within a field, members are ranked by the field's authority order, then members of
    sources not in the order (in the spec's source order) — a fallback —, then by record
    key, so a duplicate inside the authoritative source resolves the same way every time.
    """
    subject = spec.subject
    rows: dict[str, list[Any]] = {"field": [], "source_id": [], "rank": []}
    for f in subject.fields:
        for rank, source_id in enumerate(spec.authority.get(f.name, ())):
            rows["field"].append(f.name)
            rows["source_id"].append(source_id)
            rows["rank"].append(rank)
    con.register(
        "authority",
        pa.table(
            {
                "field": pa.array(rows["field"], pa.string()),
                "source_id": pa.array(rows["source_id"], pa.string()),
                "rank": pa.array(rows["rank"], pa.int32()),
            }
        ),
    )
    picks = []
    for f in subject.fields:
        v = quote("v_" + f.name)
        name = exp.Literal.string(f.name).sql(dialect=D)
        pick = quote("p_" + f.name)
        picks.append(
            f"""{pick} AS (
                SELECT l.entity_id,
                       arg_min({{'v': r.{v}, 's': r.source_id, 'k': r.rec_key,
                                'rule': CASE WHEN a.rank IS NULL THEN 'fallback'
                                             ELSE 'authority' END}},
                               (coalesce(a.rank, 1000000 + r.source_no), r.rec_key)) AS pick
                FROM links l JOIN records r USING (unique_id)
                LEFT JOIN authority a ON a.field = {name} AND a.source_id = r.source_id
                WHERE r.{v} IS NOT NULL
                GROUP BY l.entity_id)"""  # noqa: S608
        )
    joins = " ".join(f"LEFT JOIN {quote('p_' + f.name)} USING (entity_id)" for f in subject.fields)
    picked = ", ".join(
        f"{quote('p_' + f.name)}.pick AS {quote('pick_' + f.name)}" for f in subject.fields
    )
    gid = "p_resident_id.pick['v'] AS gid" if subject is POPULATION else "NULL AS gid"
    value_cols: list[str] = []
    prov_parts: list[str] = []
    for f in subject.fields:
        pick = quote("pick_" + f.name)
        value, source, key, rule = (f"{pick}['{x}']" for x in ("v", "s", "k", "rule"))
        if subject is POPULATION and f.name in ("birth_date", "gender"):
            # A person's birth date and gender are written in a valid ID number.
            ok = sql_checks.to_duckdb(sql_checks.resident_id("gid"))
            derived = (
                "CAST(strptime(substr(gid, 7, 8), '%Y%m%d') AS DATE)"
                if f.name == "birth_date"
                else "CASE WHEN CAST(substr(gid, 17, 1) AS INTEGER) % 2 = 1 THEN '1' ELSE '2' END"
            )
            can = f"({value} IS NULL AND {ok})"
            value = f"CASE WHEN {can} THEN {derived} ELSE {value} END"
            source = f"CASE WHEN {can} THEN pick_resident_id['s'] ELSE {source} END"
            key = f"CASE WHEN {can} THEN pick_resident_id['k'] ELSE {key} END"
            rule = f"CASE WHEN {can} THEN 'derived' ELSE {rule} END"
        value_cols.append(parse_expr(f"{value} AS {quote(f.name)}").sql(dialect=D))
        prov_parts.append(
            f"{literal(f.name)}, CASE WHEN ({value}) IS NULL THEN NULL ELSE "
            f"json_object('source', {source}, 'key', {key}, 'rule', {rule}) END"
        )
    prov = parse_expr("CAST(json_object(" + ", ".join(prov_parts) + ") AS VARCHAR)").sql(dialect=D)
    ctes = ", ".join(picks)
    con.execute(
        f"""CREATE OR REPLACE TABLE golden AS
        WITH {ctes},
        members AS (
            SELECT entity_id, count(*) AS record_count,
                   count(DISTINCT source_id) AS source_count
            FROM links GROUP BY entity_id
        ),
        base AS (SELECT m.*, {gid}, {picked} FROM members m {joins})
        SELECT entity_id, {", ".join(value_cols)}, record_count, source_count,
               {prov} AS provenance
        FROM base"""  # noqa: S608
    )
    con.unregister("authority")


def golden_schema(subject: Subject) -> pa.Schema:
    """The lake schema of a library's golden records."""
    return pa.schema(
        [pa.field("entity_id", pa.string(), nullable=False)]
        + [pa.field(f.name, f.arrow_type) for f in subject.fields]
        + [
            pa.field("record_count", pa.int64()),
            pa.field("source_count", pa.int64()),
            pa.field("provenance", pa.string()),
        ]
    )


LINKS_SCHEMA = pa.schema(
    [
        pa.field("entity_id", pa.string()),
        pa.field("unique_id", pa.string()),
        pa.field("source_id", pa.string()),
        pa.field("rec_key", pa.string()),
        pa.field("rec_hash", pa.string()),
    ]
)
EDGES_SCHEMA = pa.schema(
    [
        pa.field("unique_id_l", pa.string()),
        pa.field("unique_id_r", pa.string()),
        pa.field("match_probability", pa.float64()),
    ]
)


# -- duplicates inside one source ----------------------------------------------------------


def find_duplicates(
    source: LinkSource,
    subject: Subject,
    *,
    threshold: float = 0.95,
    seed: int = 42,
    u_pairs: float = 2e5,
    con: duckdb.DuckDBPyConnection | None = None,
) -> Outcome:
    """The same model over one source alone: clusters of records that are one entity.

    ``Outcome.con`` holds ``duplicates`` (entity_id, rec_key, cluster size) for clusters
    of two or more records, besides the usual tables.
    """
    spec = LibrarySpec(
        subject=subject,
        sources=[source],
        authority={f: [source.id] for f in subject.field_names},
        threshold=threshold,
        seed=seed,
        u_pairs=u_pairs,
    )
    outcome = link(spec, con=con)
    outcome.con.execute(
        """CREATE OR REPLACE TABLE duplicates AS
           SELECT entity_id, rec_key, count(*) OVER (PARTITION BY entity_id) AS size
           FROM links QUALIFY size > 1 ORDER BY entity_id, rec_key"""
    )
    outcome.stats["duplicate_clusters"] = int(
        outcome.con.execute("SELECT count(DISTINCT entity_id) FROM duplicates").fetchall()[0][0]
    )
    outcome.stats["duplicate_records"] = _count(outcome.con, "duplicates")
    return outcome


def provenance(text: str | None) -> dict[str, dict[str, str]]:
    """The ``provenance`` column of a golden row as a dict."""
    if not text:
        return {}
    data = json.loads(text)
    return {k: v for k, v in data.items() if v is not None}
