"""Build the demo into a data directory, or recognise one already built.

A data directory holds a demo when ``demo.json`` sits in it. The marker is
written with ``status: building`` before anything else and ``ready`` at the
end, so an interrupted build is finished by the next run instead of being
mistaken for a finished one. A store that has regions but no marker is not a
demo, and the demo refuses to write into it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from govdata.config import Settings
from govdata.core.clock import now
from govdata.core.db import Database
from govdata.core.errors import Conflict
from govdata.demo.catalog import CatalogProgress, seed_catalog
from govdata.demo.exchange import ExchangeProgress, seed_exchange
from govdata.demo.governance import GovernanceProgress, seed_governance
from govdata.demo.opendata import OpenDataProgress, seed_opendata
from govdata.demo.province import SeedResult, logins, seed_province, store_is_empty
from govdata.demo.quality import QualityProgress, seed_quality
from govdata.demo.sharing import seed_sharing
from govdata.demo.sources.build import SIZES, Engine, ProgressFn, build_sources
from govdata.demo.sources.writer import MariaDBSettings
from govdata.identity import passwords

MARKER = "demo.json"
SEED = 630000
READY = "ready"
BUILDING = "building"


@dataclass(frozen=True)
class DemoPlan:
    size: str
    persons: int
    engine: Engine
    seed: int = SEED


def plan(size: str, engine: Engine, persons: int | None = None) -> DemoPlan:
    return DemoPlan(size, persons if persons is not None else SIZES[size], engine)


def password_fingerprint(password: str) -> str:
    """Lets a later run notice a changed demo password without storing the password."""
    return hashlib.sha256(f"govdata-demo:{password}".encode()).hexdigest()[:16]


def read_marker(data_dir: Path) -> dict[str, Any] | None:
    path = data_dir / MARKER
    if not path.exists():
        return None
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def _write_marker(data_dir: Path, content: dict[str, Any]) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / MARKER
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(content, ensure_ascii=False, indent=2) + "\n")
    tmp.replace(path)


def is_ready(data_dir: Path) -> bool:
    marker = read_marker(data_dir)
    return marker is not None and marker.get("status") == READY


def _embedded_store(settings: Settings) -> Path | None:
    """The SQLite file of the store when it lives in the data directory, else None."""
    if settings.database_url:
        return None
    return settings.data_dir / "govdata.db"


def check_password(settings: Settings) -> None:
    """Refuse a GOVDATA_DEMO_PASSWORD the password policy would reject, before writing anything."""
    for login in logins():
        passwords.check_policy(settings, settings.demo_password, login.username)


def wipe(settings: Settings) -> None:
    """Throw away a previous demo: its source files and an embedded store.

    Only a directory marked as a demo is touched; anything else is left for
    ``build`` to refuse. The lake is thrown away with an embedded store. A store
    elsewhere (PostgreSQL) is kept, and the lake with it: seeding is get-or-create, so
    the rebuild reuses its regions, departments and users.
    """
    data_dir = settings.data_dir
    marker = read_marker(data_dir)
    if marker is None:
        return
    _write_marker(data_dir, {**marker, "status": BUILDING})
    shutil.rmtree(data_dir / "sources", ignore_errors=True)
    store = _embedded_store(settings)
    if store is not None:
        for path in (store, Path(f"{store}-wal"), Path(f"{store}-shm")):
            path.unlink(missing_ok=True)
        # The lake goes with the store that describes it (when it lives in the data
        # directory): the new build's stages would read the old tables, encrypted under
        # data keys the new store never held.
        if settings.lake_dir == data_dir / "lake":
            shutil.rmtree(settings.lake_dir, ignore_errors=True)


def build(
    settings: Settings,
    db: Database,
    demo: DemoPlan,
    *,
    mariadb: MariaDBSettings | None = None,
    progress: ProgressFn | None = None,
    on_stage: Callable[[str], None] | None = None,
    catalog_progress: CatalogProgress | None = None,
    exchange_progress: ExchangeProgress | None = None,
    quality_progress: QualityProgress | None = None,
    governance_progress: GovernanceProgress | None = None,
    opendata_progress: OpenDataProgress | None = None,
) -> tuple[SeedResult, dict[str, Any]]:
    """Seed the province, build the sources into ``settings.data_dir``, catalogue them and the
    departments' other resources, mount the sources and run their first loads, attach quality
    rules to the source entries and check them once, load the household register and run the
    cross-source checks and base-library builds, seed sharing (applications, grants, a
    subscription), open 60+ datasets with their files, loads and a year of usage; mark it
    ready.

    ``on_stage`` hears ``"seed"``, ``"sources"``, ``"catalog"``, ``"exchange"``,
    ``"quality"``, ``"governance"``, ``"sharing"`` and then ``"opendata"`` as each stage
    begins.
    Catalogue seeding skips departments already catalogued, so a rerun after an
    interruption finishes the catalogue without duplicating entries.
    """
    data_dir = settings.data_dir
    check_password(settings)
    marker = read_marker(data_dir)
    if marker is None and not store_is_empty(db, settings):
        raise Conflict(
            f"数据目录 {data_dir} 已有非演示数据，演示不会写入；请换一个 --data-dir",
            f"{data_dir} holds a store that is not a demo; use another --data-dir",
            code="not_a_demo_store",
        )
    started = now()
    base = {
        "size": demo.size,
        "persons_requested": demo.persons,
        "sources": demo.engine,
        "seed": demo.seed,
        "password_fingerprint": password_fingerprint(settings.demo_password),
        "started_at": started.isoformat(timespec="seconds"),
    }
    _write_marker(data_dir, {**base, "status": BUILDING})
    if on_stage:
        on_stage("seed")
    seeded = seed_province(db, settings)
    if on_stage:
        on_stage("sources")
    manifest = build_sources(
        data_dir / "sources",
        persons=demo.persons,
        seed=demo.seed,
        engine=demo.engine,
        mariadb=mariadb,
        progress=progress,
    )
    if on_stage:
        on_stage("catalog")
    entries = seed_catalog(db, settings, progress=catalog_progress)
    if on_stage:
        on_stage("exchange")
    mounted = seed_exchange(db, settings, manifest, mariadb=mariadb, progress=exchange_progress)
    if on_stage:
        on_stage("quality")
    quality = seed_quality(db, settings, progress=quality_progress)
    if on_stage:
        on_stage("governance")
    governance = seed_governance(db, settings, progress=governance_progress)
    if on_stage:
        on_stage("sharing")
    shared = seed_sharing(db, settings, engine=demo.engine, mariadb=mariadb)
    if on_stage:
        on_stage("opendata")
    opened = seed_opendata(db, settings, persons=demo.persons, progress=opendata_progress)
    _write_marker(
        data_dir,
        {
            **base,
            "status": READY,
            "persons": manifest["persons"],
            "regions": seeded.regions,
            "departments": seeded.departments,
            "users": seeded.users,
            "catalog_entries": entries,
            "mounts": [
                {
                    "system": m.system,
                    "table": m.table,
                    "mode": m.mode,
                    "lake_table": m.lake_table,
                    "pipeline": m.pipeline,
                }
                for m in mounted
            ],
            "quality": quality,
            "governance": governance,
            "sharing": shared,
            "opendata": opened,
            "built_at": now().isoformat(timespec="seconds"),
        },
    )
    return seeded, manifest
