"""What lineage needs to know about base libraries (基础库): the one place ``lineage`` and
``lineage_export`` read the base-library tables (``baselib_models``).

A base library is a lake table of golden records built by linking several entries' lake
tables. Lineage asks two questions of an entry:

- ``links_of``: which libraries were built from the entry's lake table (``derived``: the
  entry's resource code is among the sources the library's last successful build read),
  and, when the entry catalogs a library (``BaseLibrary.entry_id``) or its mount is the
  library's table, which lake tables that library was built from (``inputs``);
- ``builds_of``: the builds that read the entry's lake table or wrote its library's table,
  for the OpenLineage export (inputs = the source lake tables as the build read them,
  output = the golden-record table with the entities written).

Libraries are few (one per subject), so both read every library row and filter the
builds' source lists (metadata, never data rows) here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog.models import CatalogEntry
from govdata.exchange.models import Mount
from govdata.governance.baselib_models import BaseLibrary, LibraryBuild


@dataclass(frozen=True)
class LibraryRef:
    """A base library built from an entry's lake table."""

    library_id: str
    name: str
    table: str
    href: str | None = None
    last_build_at: datetime | None = None
    last_status: str | None = None


@dataclass(frozen=True)
class InputRef:
    """A lake table a library was built from, and the entry that catalogs it."""

    table: str
    entry_id: str | None = None
    entry_name: str | None = None


@dataclass(frozen=True)
class BuildRef:
    """One build of a library: what it read and what it wrote."""

    id: str
    library_code: str
    library_name: str
    table: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    inputs: tuple[InputRef, ...]
    rows: int | None = None
    error: str | None = None


@dataclass
class Links:
    derived: list[LibraryRef] = field(default_factory=list)
    inputs: list[InputRef] = field(default_factory=list)


def _libraries(s: Session) -> list[BaseLibrary]:
    return list(s.scalars(select(BaseLibrary).order_by(BaseLibrary.code)))


def _entry_facts(s: Session, entry_id: str) -> tuple[str | None, str | None]:
    """(resource code, lake table) of an entry."""
    code = s.scalar(select(CatalogEntry.resource_code).where(CatalogEntry.id == entry_id))
    table = s.scalar(select(Mount.lake_table).where(Mount.entry_id == entry_id))
    return code, table


def _is_library_entry(lib: BaseLibrary, entry_id: str, table: str | None) -> bool:
    return lib.entry_id == entry_id or (table is not None and lib.lake_table == table)


def _reads(sources: list[dict[str, Any]] | None, entry_id: str, code: str | None) -> bool:
    return any(
        src.get("entry_id") == entry_id or (code is not None and src.get("id") == code)
        for src in sources or []
        if isinstance(src, dict)
    )


def _last_good(s: Session, lib: BaseLibrary) -> LibraryBuild | None:
    return s.scalars(
        select(LibraryBuild)
        .where(LibraryBuild.library_id == lib.id, LibraryBuild.status == "succeeded")
        .order_by(LibraryBuild.created_at.desc(), LibraryBuild.id.desc())
        .limit(1)
    ).first()


def _inputs(s: Session, sources: list[dict[str, Any]] | None) -> tuple[InputRef, ...]:
    rows = [src for src in sources or [] if isinstance(src, dict) and src.get("lake_table")]
    ids = {str(src["entry_id"]) for src in rows if src.get("entry_id")}
    names = dict(
        s.execute(select(CatalogEntry.id, CatalogEntry.name).where(CatalogEntry.id.in_(ids))).all()
        if ids
        else []
    )
    return tuple(
        InputRef(
            table=str(src["lake_table"]),
            entry_id=str(src["entry_id"]) if src.get("entry_id") else None,
            entry_name=names.get(str(src.get("entry_id"))) or src.get("label"),
        )
        for src in rows
    )


def links_of(s: Session, entry_id: str) -> Links:
    """Libraries built from the entry's lake table, and the inputs of the entry's library."""
    code, table = _entry_facts(s, entry_id)
    out = Links()
    for lib in _libraries(s):
        if _is_library_entry(lib, entry_id, table):
            good = _last_good(s, lib)
            out.inputs += list(_inputs(s, good.sources if good else []))
            continue
        if code is None or code not in (lib.source_versions or {}):
            good = _last_good(s, lib)
            if good is None or not _reads(good.sources, entry_id, code):
                continue
        last = s.get(LibraryBuild, lib.last_build_id) if lib.last_build_id else None
        out.derived.append(
            LibraryRef(
                library_id=lib.id,
                name=lib.name,
                table=lib.lake_table,
                href=f"/governance/lineage/{lib.entry_id}" if lib.entry_id else None,
                last_build_at=lib.last_built_at,
                last_status=last.status if last else None,
            )
        )
    return out


def builds_of(s: Session, entry_id: str, limit: int = 50) -> list[BuildRef]:
    """Builds, newest first, that read the entry's lake table or wrote its library table
    (builds that never started are left out)."""
    code, table = _entry_facts(s, entry_id)
    found: list[BuildRef] = []
    for lib in _libraries(s):
        own = _is_library_entry(lib, entry_id, table)
        builds = s.scalars(
            select(LibraryBuild)
            .where(LibraryBuild.library_id == lib.id, LibraryBuild.started_at.is_not(None))
            .order_by(LibraryBuild.created_at.desc(), LibraryBuild.id.desc())
            .limit(limit if own else limit * 4)
        )
        for b in builds:
            if not own and not _reads(b.sources, entry_id, code):
                continue
            assert b.started_at is not None
            found.append(
                BuildRef(
                    id=b.id,
                    library_code=lib.code,
                    library_name=lib.name,
                    table=lib.lake_table,
                    status=b.status,
                    started_at=b.started_at,
                    finished_at=b.finished_at,
                    inputs=_inputs(s, b.sources),
                    rows=b.entities,
                    error=b.error,
                )
            )
    found.sort(key=lambda b: b.started_at, reverse=True)
    return found[:limit]
