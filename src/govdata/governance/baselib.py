"""Base libraries (基础库): the population and legal-entity libraries as lake tables.

A library is built from the sources of the cross-source subject of the same code
(``authority``: which entries hold the entity, which lake column holds which field, and the
operator's authority order per field) by ``linkage`` (Splink on DuckDB): every source's
lake table streamed in, records linked and clustered, one golden record per entity with
each field's provenance. A build writes three lake tables — ``baselib.<code>`` (golden
records, what the catalog entry's mount shares), ``baselib.<code>_links`` (which source
record belongs to which entity, with a content hash) and ``baselib.<code>_edges`` (the
scored pairs kept) — each overwritten in one commit.

What is incremental: a build first compares the lake version of every source with the
versions the last build read; when none changed the build ends ``unchanged`` without
reading anything. Otherwise it reads all sources and reuses the trained model: records
whose content hash is new or changed are scored against everyone (Splink
``predict_between`` / ``predict_within``), pairs among unchanged records are kept from
the last build's edges, and only then clustering and golden assembly run over all records
(cheap next to scoring) and the three tables are rewritten. ``retrain`` (or more than half
the records changed, or no earlier model) makes a full build.

Who: building, attaching the catalog entry and checking duplicates of any entry is the
operator's (``governance.manage``); an officer checks duplicates in their department's
entries (``quality.manage``); ``quality.read`` sees libraries, builds and cluster sizes.
Row values — golden fields, linked source records, duplicate keys — are shown as stored
only with ``data.preview`` on the department owning them, masked otherwise (operators
never hold it).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.config import Settings
from govdata.core.clock import now
from govdata.core.errors import Conflict, InvalidInput, NotFound
from govdata.core.jobs import queue as jobqueue
from govdata.core.sqlident import quote_identifier
from govdata.exchange import queries as exchange_queries
from govdata.exchange.models import Mount
from govdata.governance import authority, linkage
from govdata.governance.baselib_models import BaseLibrary, LibraryBuild
from govdata.governance.baselib_schemas import (
    MODE_LABELS,
    RULE_LABELS,
    STATUS_LABELS,
    BuildIn,
    BuildOut,
    BuildStatus,
    ClusterSize,
    FieldOut,
    FieldValueOut,
    GoldenRecordOut,
    LibraryOut,
    LinkedRecordOut,
    RecordPage,
    RecordSummary,
    SourceOut,
)
from govdata.governance.vocab import label
from govdata.lake.tables import Lake
from govdata.security.context import ActionContext, Caller
from govdata.security.permissions import Perm, Scope
from govdata.sharing.masking import MaskKind, mask_value

JOB_KIND = "governance.baselib_build"
SEARCH_LIMIT = 50
ACTIVE = (BuildStatus.QUEUED.value, BuildStatus.RUNNING.value)

_MASKS: dict[str, MaskKind] = {
    linkage.ID: MaskKind.RESIDENT_ID,
    linkage.CREDIT: MaskKind.GENERIC,
    linkage.NAME: MaskKind.NAME,
    linkage.ADDRESS: MaskKind.ADDRESS,
    linkage.PHONE: MaskKind.PHONE,
    linkage.TEXT: MaskKind.GENERIC,
}


def mask(kind: str, value: str | None) -> str | None:
    """A field value as shown to an actor without ``data.preview`` on its owner."""
    if value is None:
        return None
    if kind == linkage.DATE:
        return value[:4] + "-**-**" if len(value) >= 4 else "*" * len(value)
    if kind == linkage.GENDER:
        return "*"
    return mask_value(_MASKS.get(kind, MaskKind.GENERIC), value)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# -- libraries ------------------------------------------------------------------------------


def tables_of(code: str) -> tuple[str, str, str]:
    """The golden, links and edges lake tables of a library."""
    return f"baselib.{code}", f"baselib.{code}_links", f"baselib.{code}_edges"


def library_not_found(code: str) -> NotFound:
    return NotFound(
        "基础库不存在",
        "Base library not found",
        code="baselib_not_found",
        details={"library": code},
    )


def _subject(code: str) -> linkage.Subject:
    if code not in linkage.SUBJECTS:
        raise library_not_found(code)
    return linkage.SUBJECTS[code]


def ensure_library(s: Session, code: str) -> BaseLibrary:
    """The library row of a subject, made on first use."""
    subject = _subject(code)
    lib = s.scalar(select(BaseLibrary).where(BaseLibrary.code == code))
    if lib is None:
        golden, links, edges = tables_of(code)
        lib = BaseLibrary(
            code=code,
            name=subject.label,
            subject_code=code,
            lake_table=golden,
            links_table=links,
            edges_table=edges,
            threshold=0.95,
            source_versions={},
        )
        s.add(lib)
        s.flush()
    return lib


@dataclass(frozen=True)
class Snapshot:
    """The sources and authority order a build reads, as stored on the build."""

    sources: list[dict[str, Any]]
    authority: dict[str, list[str]]
    problems: list[str]


def snapshot(s: Session, code: str) -> Snapshot:
    """The library's sources now: the subject's sources with a lake table and a record key,
    the columns of the library's fields, and the authority order over them."""
    subject = _subject(code)
    problems: list[str] = []
    try:
        order = authority.field_order(s, code)
        subject_sources = authority.subject_sources(s, authority.load_subject(s, code).id)
    except NotFound:
        return Snapshot([], {}, ["未配置多源校核主题及其来源"])
    tables = exchange_queries.lake_tables_of(s, [src.entry_id for src in subject_sources])
    keys = dict(
        s.execute(
            select(Mount.entry_id, Mount.key_columns).where(
                Mount.entry_id.in_([src.entry_id for src in subject_sources])
            )
        ).all()
    )
    fields = set(subject.field_names)
    sources: list[dict[str, Any]] = []
    for src in subject_sources:
        columns = {f: str(c) for f, c in (src.mapping or {}).items() if f in fields and c}
        table = tables.get(src.entry_id)
        key = [str(k) for k in keys.get(src.entry_id) or []]
        if table is None:
            problems.append(f"{src.label}（{src.resource_code}）尚未归集到数据湖")
            continue
        if not key:
            problems.append(f"{src.label}（{src.resource_code}）的挂载未设记录主键")
            continue
        if subject.key_field not in columns and subject.name_field not in columns:
            problems.append(f"{src.label}（{src.resource_code}）未映射标识或名称字段")
            continue
        sources.append(
            {
                "id": src.resource_code,
                "label": src.label,
                "entry_id": src.entry_id,
                "entry_name": src.entry_name,
                "department_id": src.department_id,
                "region_path": src.region_path,
                "lake_table": table,
                "columns": columns,
                "key": key,
            }
        )
    usable = {src["entry_id"]: src["id"] for src in sources}
    auth = {
        f: [usable[ref.entry_id] for ref in refs if ref.entry_id in usable]
        for f, refs in order.items()
        if f in fields
    }
    if not sources:
        problems.append("没有可用的来源")
    return Snapshot(sources, auth, problems)


def build_out(b: LibraryBuild, code: str, locale: str) -> BuildOut:
    return BuildOut(
        id=b.id,
        library_code=code,
        status=b.status,
        status_label=label(STATUS_LABELS, b.status, locale),
        mode=b.mode,
        mode_label=label(MODE_LABELS, b.mode, locale),
        retrain=b.retrain,
        job_id=b.job_id,
        requested_by_name=b.requested_by_name,
        created_at=b.created_at,
        started_at=b.started_at,
        finished_at=b.finished_at,
        sources=list(b.sources or []),
        authority=dict(b.authority or {}),
        stats=dict(b.stats or {}),
        entities=b.entities,
        records=b.records,
        lake_version=b.lake_version,
        error=b.error,
    )


def _cluster_sizes(settings: Settings, lib: BaseLibrary) -> list[ClusterSize]:
    lake = Lake.from_settings(settings)
    if lib.last_build_id is None or not lake.exists(lib.lake_table):
        return []
    con = duckdb.connect()
    try:
        con.register("golden", lake.scan(lib.lake_table, columns=["record_count"]))
        rows = con.execute(
            "SELECT record_count, count(*) FROM golden GROUP BY 1 ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    return [ClusterSize(size=int(r[0]), entities=int(r[1])) for r in rows]


def library_out(
    ctx: ActionContext, code: str, *, detail: bool = False, lib: BaseLibrary | None = None
) -> LibraryOut:
    s = ctx.session
    subject = _subject(code)
    lib = lib or s.scalar(select(BaseLibrary).where(BaseLibrary.code == code))
    snap = snapshot(s, code)
    golden, _links, _edges = tables_of(code)
    entry_name = resource_code = None
    mounted = False
    if lib is not None and lib.entry_id:
        from govdata.catalog.models import CatalogEntry

        entry = s.get(CatalogEntry, lib.entry_id)
        if entry is not None:
            entry_name, resource_code = entry.name, entry.resource_code
        mounted = exchange_queries.lake_table_of(s, lib.entry_id) == lib.lake_table
    out = LibraryOut(
        code=code,
        name=subject.label,
        subject_code=code,
        key_field=subject.key_field,
        built=bool(lib and lib.last_build_id),
        lake_table=lib.lake_table if lib else golden,
        threshold=lib.threshold if lib else 0.95,
        entry_id=lib.entry_id if lib else None,
        entry_name=entry_name,
        resource_code=resource_code,
        mounted=mounted,
        last_built_at=lib.last_built_at if lib else None,
        entities=lib.entities if lib else None,
        records=lib.records if lib else None,
        lake_version=lib.lake_version if lib else None,
        fields=[
            FieldOut(
                code=f.name,
                label=f.label,
                kind=f.kind,
                authority=list(snap.authority.get(f.name, [])),
            )
            for f in subject.fields
        ],
        sources=[
            SourceOut(
                id=src["id"],
                label=src["label"],
                entry_id=src["entry_id"],
                entry_name=src.get("entry_name"),
                lake_table=src["lake_table"],
                columns=src["columns"],
                key=src["key"],
            )
            for src in snap.sources
        ],
        problems=snap.problems,
    )
    if detail and lib is not None:
        builds = s.scalars(
            select(LibraryBuild)
            .where(LibraryBuild.library_id == lib.id)
            .order_by(LibraryBuild.created_at.desc(), LibraryBuild.id.desc())
            .limit(10)
        ).all()
        out.builds = [build_out(b, code, ctx.locale) for b in builds]
        out.cluster_sizes = _cluster_sizes(ctx.settings, lib)
    return out


def list_libraries(ctx: ActionContext) -> list[LibraryOut]:
    """Every base library (人口, 法人): its sources, last build and size (``quality.read``)."""
    ctx.require(Perm.QUALITY_READ)
    return [library_out(ctx, code) for code in linkage.SUBJECTS]


def get_library(ctx: ActionContext, code: str) -> LibraryOut:
    """One library with its recent builds and cluster sizes (``quality.read``)."""
    ctx.require(Perm.QUALITY_READ)
    _subject(code)
    return library_out(ctx, code, detail=True)


# -- builds ---------------------------------------------------------------------------------


def _new_build(ctx: ActionContext, code: str, data: BuildIn) -> tuple[BaseLibrary, LibraryBuild]:
    s = ctx.session
    lib = ensure_library(s, code)
    busy = s.scalar(
        select(LibraryBuild.id).where(
            LibraryBuild.library_id == lib.id, LibraryBuild.status.in_(ACTIVE)
        )
    )
    if busy:
        raise Conflict(
            "该基础库正在构建",
            "The library is being built",
            code="baselib_build_running",
            details={"library": code, "build_id": busy},
        )
    snap = snapshot(s, code)
    if not snap.sources:
        raise InvalidInput(
            "基础库没有可用的来源：" + "；".join(snap.problems),
            "The library has no usable source: configure the cross-source subject's sources "
            "(collected into the lake, with record keys)",
            code="baselib_no_sources",
            details={"library": code, "problems": snap.problems},
        )
    build = LibraryBuild(
        library_id=lib.id,
        status=BuildStatus.QUEUED.value,
        retrain=data.retrain,
        requested_by_name=ctx.actor.name,
        sources=snap.sources,
        authority=snap.authority,
        stats={},
    )
    s.add(build)
    s.flush()
    return lib, build


def start_build(ctx: ActionContext, code: str, data: BuildIn | None = None) -> BuildOut:
    """Queue a build of the library as a job (its progress shows on the build). Operator
    (``governance.manage``); refused while another build of it is queued or running."""
    ctx.require(Perm.GOVERNANCE_MANAGE)
    data = data or BuildIn()
    lib, build = _new_build(ctx, code, data)
    job, _created = jobqueue.enqueue(
        ctx.session,
        JOB_KIND,
        {"build_id": build.id},
        max_attempts=1,
        idempotency_key=f"baselib:{build.id}",
        created_by=ctx.actor.id,
    )
    build.job_id = job.id
    ctx.session.flush()
    ctx.audit(
        "governance.baselib.build.start",
        target_type="governance_baselib",
        target_id=lib.id,
        details={
            "library": code,
            "build_id": build.id,
            "job_id": job.id,
            "retrain": data.retrain,
            "sources": [src["id"] for src in build.sources],
        },
    )
    return build_out(build, code, ctx.locale)


def get_build(ctx: ActionContext, code: str, build_id: str) -> BuildOut:
    """One build: status, what it read, how it ran (``quality.read``)."""
    ctx.require(Perm.QUALITY_READ)
    s = ctx.session
    lib = s.scalar(select(BaseLibrary).where(BaseLibrary.code == code))
    build = s.get(LibraryBuild, build_id)
    if lib is None or build is None or build.library_id != lib.id:
        raise NotFound(
            "构建记录不存在",
            "Build not found",
            code="baselib_build_not_found",
            details={"library": code, "build_id": build_id},
        )
    return build_out(build, code, ctx.locale)


@dataclass
class Computed:
    """What a build computed, before it is recorded in the store."""

    mode: str
    stats: dict[str, Any]
    sources: list[dict[str, Any]]
    model: dict[str, Any] | None
    versions: dict[str, int]
    lake_version: int | None
    entities: int | None
    records: int | None


def _versions(lake: Lake, sources: list[dict[str, Any]]) -> dict[str, int]:
    return {str(src["id"]): lake.table(str(src["lake_table"])).version() for src in sources}


def _write_golden(
    lake: Lake,
    table: str,
    subject: linkage.Subject,
    rows: pa.RecordBatchReader,
    encrypted: dict[str, str],
    meta: dict[str, str],
    entry_id: str | None,
) -> int:
    """Replace the golden records in one commit, the columns in ``encrypted`` SM4-encrypted
    (as a collected table of the entry would be); returns the version written.

    When the encrypted columns differ from the table's (the entry was attached, or its grade
    changed), the rows are staged as one Parquet file on the lake's file system and
    committed with the new marks (``Lake.commit_files``), still one commit.
    """
    schema = linkage.golden_schema(subject)
    if not lake.exists(table):
        lake.create(
            table,
            schema,
            entry_id=entry_id,
            description=f"{subject.label}（{table}）",
            encrypted=encrypted or None,
        )
    if lake.encrypted_columns(table) == encrypted:
        return lake.overwrite(table, rows, commit_metadata=meta).version
    staging = lake.root / "baselib" / "_staging"
    staging.mkdir(parents=True, exist_ok=True)
    path = staging / f"{uuid.uuid4().hex}.parquet"
    try:
        with pq.ParquetWriter(path, schema) as out:
            for batch in rows:
                out.write_batch(batch.select(schema.names).cast(schema))
        written = lake.commit_files(
            table, [path], mode="overwrite", commit_metadata=meta, encrypted=encrypted
        )
    finally:
        path.unlink(missing_ok=True)
    return written.version


def compute(
    settings: Settings,
    lib: dict[str, Any],
    sources: list[dict[str, Any]],
    order: dict[str, list[str]],
    *,
    retrain: bool,
    build_id: str,
    progress: Callable[[float, str], None] | None = None,
) -> Computed:
    """Link the sources and write the library's three lake tables (no store access).

    ``lib``: the library's ``code``, ``threshold``, ``model``, ``source_versions``, the
    three table names and its ``entry_id``, as read before the build started.
    """
    report = progress or (lambda _f, _m: None)
    lake = Lake.from_settings(settings)
    code = str(lib["code"])
    subject = linkage.SUBJECTS[code]
    golden, links, edges = str(lib["lake_table"]), str(lib["links_table"]), str(lib["edges_table"])
    versions = _versions(lake, sources)
    have_tables = all(lake.exists(t) for t in (golden, links, edges))
    model = lib.get("model")
    reuse = bool(model) and have_tables and not retrain
    encrypted = {str(k): str(v) for k, v in (lib.get("encrypted") or {}).items()}
    meta = {"govdata.baselib_build": build_id}
    if reuse and versions == {k: int(v) for k, v in (lib.get("source_versions") or {}).items()}:
        report(1.0, "sources unchanged")
        if lake.encrypted_columns(golden) != encrypted:
            # The entry's grade asks for other columns encrypted: same rows, new marks.
            _write_golden(lake, golden, subject, lake.scan(golden), encrypted, meta, None)
        info = lake.info(golden)
        return Computed(
            mode="unchanged",
            stats={"reason": "no source changed since the last build"},
            sources=[dict(src, version=versions[src["id"]]) for src in sources],
            model=model,
            versions=versions,
            lake_version=info.version,
            entities=lib.get("entities"),
            records=lib.get("records"),
        )
    link_sources = []
    for src in sources:
        table, version = str(src["lake_table"]), versions[str(src["id"])]
        columns = {str(f): str(c) for f, c in (src.get("columns") or {}).items()}
        wanted = sorted({*columns.values(), *(str(k) for k in src["key"])})

        def reader(table: str = table, version: int = version, wanted: list[str] = wanted) -> Any:
            return lake.scan(table, columns=wanted, version=version)

        link_sources.append(
            linkage.LinkSource(
                id=str(src["id"]),
                label=str(src.get("label") or src["id"]),
                entry_id=str(src["entry_id"]),
                data=reader,
                columns=columns,
                key=[str(k) for k in src["key"]],
                version=version,
            )
        )
    spec = linkage.LibrarySpec(
        subject=subject,
        sources=link_sources,
        authority=order,
        threshold=float(lib.get("threshold") or 0.95),
    )
    previous = None
    if reuse:
        assert model is not None
        previous = linkage.Previous(
            model=model,
            links=lake.scan(links, columns=["unique_id", "rec_hash", "entity_id"]),
            edges=lake.scan(edges),
        )
    outcome = linkage.link(spec, previous=previous, progress=lambda f, m: report(f * 0.9, m))
    try:
        report(0.9, "writing the library")
        lake_version = _write_golden(
            lake, golden, subject, outcome.golden(), encrypted, meta, lib.get("entry_id")
        )
        for table, schema, data in (
            (links, linkage.LINKS_SCHEMA, outcome.links),
            (edges, linkage.EDGES_SCHEMA, outcome.edges),
        ):
            if not lake.exists(table):
                lake.create(table, schema, description=f"{subject.label}（{table}）")
            lake.overwrite(table, data(), commit_metadata=meta)
        counts = outcome.con.execute(
            "SELECT count(*), (SELECT count(*) FROM records) FROM golden"
        ).fetchall()[0]
        rows = outcome.con.execute("SELECT source_id, count(*) FROM records GROUP BY 1").fetchall()
    finally:
        outcome.con.close()
    per_source = {str(r[0]): int(r[1]) for r in rows}
    return Computed(
        mode=outcome.mode,
        stats=outcome.stats,
        sources=[
            dict(src, version=versions[src["id"]], rows=per_source.get(src["id"], 0))
            for src in sources
        ],
        model=outcome.model,
        versions=versions,
        lake_version=lake_version,
        entities=int(counts[0]),
        records=int(counts[1]),
    )


def library_state(s: Session, lib: BaseLibrary) -> dict[str, Any]:
    """What ``compute`` needs of the library row, detached from the session — with the
    golden columns its catalog entry's grade requires encrypted at rest."""
    from govdata.governance import baselib_catalog

    return {
        "encrypted": baselib_catalog.golden_encryption(s, lib),
        "code": lib.code,
        "threshold": lib.threshold,
        "model": lib.model,
        "source_versions": dict(lib.source_versions or {}),
        "lake_table": lib.lake_table,
        "links_table": lib.links_table,
        "edges_table": lib.edges_table,
        "entry_id": lib.entry_id,
        "entities": lib.entities,
        "records": lib.records,
    }


def record_build(ctx: ActionContext, build: LibraryBuild, done: Computed) -> None:
    """Store a computed build on its row and the library; refresh the catalog mount."""
    s = ctx.session
    lib = s.get(BaseLibrary, build.library_id)
    assert lib is not None
    build.status = BuildStatus.SUCCEEDED.value
    build.finished_at = now()
    build.mode = done.mode
    build.stats = done.stats
    build.sources = done.sources
    build.entities = done.entities
    build.records = done.records
    build.lake_version = done.lake_version
    build.error = None
    lib.model = done.model
    lib.source_versions = done.versions
    lib.last_build_id = build.id
    lib.last_built_at = build.finished_at
    lib.entities = done.entities
    lib.records = done.records
    lib.lake_version = done.lake_version
    s.flush()
    if lib.entry_id:
        from govdata.governance import baselib_catalog

        baselib_catalog.refresh_mount(ctx, lib)
    ctx.audit(
        "governance.baselib.build",
        target_type="governance_baselib",
        target_id=lib.id,
        row_count=done.entities,
        details={
            "library": lib.code,
            "build_id": build.id,
            "mode": done.mode,
            "entities": done.entities,
            "records": done.records,
            "lake_version": done.lake_version,
            "sources": {src["id"]: src.get("version") for src in done.sources},
        },
    )


def build_here(
    caller: Caller,
    code: str,
    data: BuildIn | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> BuildOut:
    """Queue a build and run its job in this process (the CLI's way; the portal leaves it to
    the workers): the same job, leased and recorded like any other, so no store transaction
    is held while the sources are linked (SQLite has one writer, and the lake's data keys
    are stored by a connection of their own). Operator (``start_build``)."""
    from govdata.core.jobs.inline import run_job_here

    with caller.act() as ctx:
        queued = start_build(ctx, code, data)
    assert queued.job_id is not None

    def step(done: int, total: int | None, message: str | None) -> None:
        if progress is not None and total:
            progress(done / total, message or "")

    run_job_here(caller.db, caller.settings, queued.job_id, on_progress=step)
    with caller.act() as ctx:
        return get_build(ctx, code, queued.id)


# -- golden records -------------------------------------------------------------------------


def _built(ctx: ActionContext, code: str) -> tuple[BaseLibrary, Lake]:
    lib = ctx.session.scalar(select(BaseLibrary).where(BaseLibrary.code == code))
    lake = Lake.from_settings(ctx.settings)
    if lib is None or lib.last_build_id is None or not lake.exists(lib.lake_table):
        raise NotFound(
            "基础库尚未构建",
            "The library has not been built yet",
            code="baselib_not_built",
            details={"library": code},
        )
    return lib, lake


def _may_preview(ctx: ActionContext, department_id: str | None, region_path: str | None) -> bool:
    if department_id is None:
        return False
    return ctx.actor.can(Perm.DATA_PREVIEW, Scope(region_path, department_id))


def _lib_preview(ctx: ActionContext, lib: BaseLibrary) -> bool:
    if lib.department_id is None:
        return False
    from govdata.identity import queries as org

    dept = org.department_by_id(ctx.session, lib.department_id)
    return _may_preview(ctx, lib.department_id, dept.region_path if dept else None)


def search_records(ctx: ActionContext, code: str, q: str) -> RecordPage:
    """Golden records whose key (ID number / credit code) or entity id is ``q``, or whose
    name is or contains it; at most 50, exact matches first (``quality.read``). Values are
    masked without ``data.preview`` on the library's department."""
    ctx.require(Perm.QUALITY_READ)
    subject = _subject(code)
    lib, lake = _built(ctx, code)
    q = q.strip()
    if not q:
        return RecordPage(items=[], masked=not _lib_preview(ctx, lib), query=q)
    key, name = subject.key_field, subject.name_field
    columns = ["entity_id", key, name, "record_count", "source_count"]
    # An entity id or a key is looked up inside the scan (file statistics; on an encrypted
    # key column the deterministic ciphertext is matched), without reading every row.
    found = lake.read(lib.lake_table, columns=columns, filter=pc.field("entity_id") == q)
    if found.num_rows == 0:
        ds = lake.dataset(lib.lake_table)
        found = lake.scan(
            lib.lake_table,
            columns=columns,
            filter=pc.field(key) == q.upper(),
            dataset=ds,
            lookups=[[key, "=", q.upper()]],
        ).read_all()
    rows: list[tuple[Any, ...]] = [tuple(r.values()) for r in found.to_pylist()[:SEARCH_LIMIT]]
    if not rows:
        # A name: every name is read (and decrypted, if the entry requires it).
        k, n = quote_identifier(key, "duckdb"), quote_identifier(name, "duckdb")
        con = duckdb.connect()
        try:
            con.register("golden", lake.scan(lib.lake_table, columns=columns))
            rows = con.execute(
                f"""SELECT entity_id, {k}, {n}, record_count, source_count FROM golden
                    WHERE contains({n}, ?)
                    ORDER BY ({n} = ?) DESC, entity_id
                    LIMIT {int(SEARCH_LIMIT)}""",  # noqa: S608
                [q, q],
            ).fetchall()
        finally:
            con.close()
    clear = _lib_preview(ctx, lib)
    kinds = {f.name: f.kind for f in subject.fields}
    items = [
        RecordSummary(
            entity_id=str(r[0]),
            key=_text(r[1]) if clear else mask(kinds[key], _text(r[1])),
            name=_text(r[2]) if clear else mask(kinds[name], _text(r[2])),
            record_count=int(r[3]),
            source_count=int(r[4]),
        )
        for r in rows
    ]
    if clear and items:
        ctx.audit(
            "governance.baselib.search",
            target_type="governance_baselib",
            target_id=lib.id,
            row_count=len(items),
            details={"library": code},
        )
    return RecordPage(items=items, masked=not clear, query=q)


def _key_filter(schema: pa.Schema, key: list[str], value: str) -> pc.Expression | None:
    parts = value.split("|") if len(key) > 1 else [value]
    if len(parts) != len(key):
        return None
    expr: pc.Expression | None = None
    for column, part in zip(key, parts, strict=True):
        if column not in schema.names:
            return None
        try:
            typed = pa.scalar(part).cast(schema.field(column).type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        term = pc.field(column) == typed
        expr = term if expr is None else expr & term
    return expr


def get_record(ctx: ActionContext, code: str, entity_id: str) -> GoldenRecordOut:
    """One golden record: each field with its value, source, source record key and rule
    (authority, fallback, derived), and the linked source records as their sources hold
    them (``quality.read``). A value is shown as stored only with ``data.preview`` on its
    owner's department — the library's for golden fields, each source's for its records —
    masked otherwise; a view showing anything unmasked is audited."""
    ctx.require(Perm.QUALITY_READ)
    subject = _subject(code)
    lib, lake = _built(ctx, code)
    golden = lake.read(lib.lake_table, filter=pc.field("entity_id") == entity_id)
    if golden.num_rows == 0:
        raise NotFound(
            "基础库中没有该记录",
            "No such record in the library",
            code="baselib_record_not_found",
            details={"library": code, "entity_id": entity_id},
        )
    row = golden.slice(0, 1).to_pylist()[0]
    build = ctx.session.get(LibraryBuild, lib.last_build_id)
    sources = {str(src["id"]): src for src in (build.sources if build else [])}
    prov = linkage.provenance(row.get("provenance"))
    clear = _lib_preview(ctx, lib)
    fields = []
    for f in subject.fields:
        value = _text(row.get(f.name))
        p = prov.get(f.name, {})
        src = sources.get(str(p.get("source")), {})
        fields.append(
            FieldValueOut(
                field=f.name,
                label=f.label,
                value=value if clear else mask(f.kind, value),
                source=p.get("source"),
                source_label=src.get("label"),
                key=(p.get("key") if clear else mask(linkage.TEXT, p.get("key"))),
                rule=p.get("rule"),
                rule_label=label(RULE_LABELS, p.get("rule"), ctx.locale),
            )
        )
    links = lake.read(
        lib.links_table,
        columns=["source_id", "rec_key"],
        filter=pc.field("entity_id") == entity_id,
    ).to_pylist()
    linked: list[LinkedRecordOut] = []
    shown = 0
    kinds = {f.name: f.kind for f in subject.fields}
    for link in links:
        origin = sources.get(str(link["source_id"]))
        if origin is None:
            continue
        see = _may_preview(ctx, origin.get("department_id"), origin.get("region_path"))
        columns = {str(k): str(v) for k, v in (origin.get("columns") or {}).items()}
        values: dict[str, str | None] = {f: None for f in columns}
        table = str(origin["lake_table"])
        if lake.exists(table):
            ds = lake.dataset(table)
            cond = _key_filter(ds.schema, list(origin["key"]), str(link["rec_key"]))
            if cond is not None:
                wanted = [c for c in dict.fromkeys(columns.values()) if c in ds.schema.names]
                found = lake.scan(table, columns=wanted, filter=cond, dataset=ds).read_all()
                if found.num_rows:
                    first = found.slice(0, 1).to_pylist()[0]
                    values = {f: _text(first.get(c)) for f, c in columns.items()}
        if see:
            shown += 1
        else:
            values = {f: mask(kinds.get(f, linkage.TEXT), v) for f, v in values.items()}
        linked.append(
            LinkedRecordOut(
                source=str(link["source_id"]),
                source_label=str(origin.get("label") or link["source_id"]),
                entry_id=origin.get("entry_id"),
                key=str(link["rec_key"])
                if see
                else (mask(linkage.TEXT, str(link["rec_key"])) or ""),
                values=values,
                masked=not see,
            )
        )
    if clear or shown:
        ctx.audit(
            "governance.baselib.record.read",
            target_type="governance_baselib",
            target_id=lib.id,
            row_count=1 + shown,
            details={"library": code, "entity_id": entity_id, "clear_sources": shown},
        )
    return GoldenRecordOut(
        library_code=code,
        entity_id=entity_id,
        fields=fields,
        record_count=int(row.get("record_count") or 0),
        source_count=int(row.get("source_count") or 0),
        masked=not clear,
        linked=linked,
    )
