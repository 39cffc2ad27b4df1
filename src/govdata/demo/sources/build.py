"""Generate every source system batch by batch and load it; record what was built in a manifest.

People are generated a few thousand at a time; each batch flows through all
systems (police first, then the market register whose companies become
employers, then social insurance, civil affairs and medical insurance) and
into their databases before the next batch is drawn, so memory stays flat
however large the province.

Each batch's rows pass through ``govdata.demo.defects.DefectApplier`` on their way to
the database, which makes the planned share of them defective; what it did, and to
which rows and persons, goes to ``defects.json`` beside the manifest.

The manifest (``<data_dir>/sources/manifest.json``) lists each system with its
department code, engine, where it lives (SQLite paths relative to the
manifest; MariaDB host, port, database and user, never the password),
tables and row counts. Later collection work mounts the sources from it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from govdata.core.clock import now
from govdata.demo.defects import DEFECTS_FILE, DefectApplier
from govdata.demo.people import AS_OF, PersonFactory
from govdata.demo.sources.civil import Civil
from govdata.demo.sources.common import SourceGenerator, World
from govdata.demo.sources.hrss import Hrss
from govdata.demo.sources.market import Market
from govdata.demo.sources.medins import Medins
from govdata.demo.sources.police import Police
from govdata.demo.sources.writer import (
    MariaDBSettings,
    MariaDBSink,
    Sink,
    SqliteSink,
    check_prefix,
)

Engine = Literal["sqlite", "mariadb"]
SIZES = {"small": 10_000, "medium": 200_000, "large": 2_000_000}
BATCH_PERSONS = 5_000
MANIFEST = "manifest.json"
REGISTER = ("police", "persons")

# (kind, name, amount, estimated total): kind is "persons" or "rows".
ProgressFn = Callable[[str, str, int, int | None], None]


def generators(seed: int) -> list[SourceGenerator]:
    """In dependency order: the market register must see a batch before employers are picked."""
    return [Police(seed), Market(seed), Hrss(seed), Civil(seed), Medins(seed)]


def _sink(gen: SourceGenerator, out_dir: Path, engine: Engine, mariadb: MariaDBSettings) -> Sink:
    if engine == "sqlite":
        return SqliteSink(out_dir / f"{gen.system.code}.db", gen.system)
    return MariaDBSink(mariadb, mariadb.prefix + gen.system.code, gen.system)


def build_sources(
    out_dir: Path,
    *,
    persons: int,
    seed: int,
    engine: Engine = "sqlite",
    mariadb: MariaDBSettings | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Build all source systems for about ``persons`` people; return (and write) the manifest.

    MariaDB databases are named ``<mariadb.prefix><system>`` and replaced if they exist.
    """
    mariadb = mariadb or MariaDBSettings()
    if engine == "mariadb":
        check_prefix(mariadb.prefix)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MANIFEST).unlink(missing_ok=True)
    (out_dir / DEFECTS_FILE).unlink(missing_ok=True)
    gens = generators(seed)
    sinks: dict[str, Sink] = {}
    try:
        for gen in gens:
            sinks[gen.system.code] = _sink(gen, out_dir, engine, mariadb)
        counts, defects = _load(gens, sinks, persons, seed, progress)
        locations = {code: sink.finish() for code, sink in sinks.items()}
    except BaseException:
        for sink in sinks.values():
            sink.abort()
        raise
    (out_dir / DEFECTS_FILE).write_text(json.dumps(defects, ensure_ascii=False) + "\n")
    twice = sum(1 for d in defects["duplicates"] if (d["system"], d["table"]) == REGISTER)
    manifest = _manifest(gens, counts, locations, out_dir, seed, engine, twice)
    (out_dir / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    return manifest


def _load(
    gens: list[SourceGenerator],
    sinks: dict[str, Sink],
    persons: int,
    seed: int,
    progress: ProgressFn | None,
) -> tuple[dict[str, dict[str, int]], dict[str, Any]]:
    factory = PersonFactory(seed)
    world = World(seed)
    defects = DefectApplier(seed, [g.system for g in gens], factory.used_ids)
    counts = {g.system.code: {t.name: 0 for t in g.system.tables} for g in gens}
    estimates: dict[str, int] = {}
    done = 0
    while done < persons:
        batch = factory.batch(min(BATCH_PERSONS, persons - done))
        done += len(batch.persons)
        for gen in gens:
            code = gen.system.code
            rows = gen.rows(batch, world)
            defects.apply(code, rows, batch)
            added = 0
            for table in gen.system.tables:
                chunk = rows.get(table.name, [])
                sinks[code].write(table, chunk)
                counts[code][table.name] += len(chunk)
                added += len(chunk)
            if code not in estimates:
                estimates[code] = max(int(added * persons / max(len(batch.persons), 1)), 1)
            if progress:
                progress("rows", code, added, estimates[code])
        if progress:
            progress("persons", "persons", len(batch.persons), persons)
    for gen in gens:
        code = gen.system.code
        for name, extra in defects.finish(code).items():
            sinks[code].write(gen.system.table(name), extra)
            counts[code][name] += len(extra)
    return counts, defects.report()


def _manifest(
    gens: list[SourceGenerator],
    counts: dict[str, dict[str, int]],
    locations: dict[str, dict[str, Any]],
    out_dir: Path,
    seed: int,
    engine: Engine,
    registered_twice: int,
) -> dict[str, Any]:
    systems = []
    for gen in gens:
        system = gen.system
        location = dict(locations[system.code])
        if engine == "sqlite":
            location["path"] = Path(location["path"]).relative_to(out_dir).as_posix()
        systems.append(
            {
                "code": system.code,
                "name": system.name,
                "department": system.department,
                **location,
                "tables": [
                    {
                        "name": t.name,
                        "comment": t.comment,
                        "primary_key": ["id"],
                        "updated_at": "updated_at",
                        "rows": counts[system.code][t.name],
                    }
                    for t in system.tables
                ],
            }
        )
    return {
        "generator": "govdata demo",
        "seed": seed,
        # People, not rows: the register holds a few people twice (see defects.json).
        "persons": counts["police"]["persons"] - registered_twice,
        "as_of": AS_OF.isoformat(),
        # Source systems store naive local times, as the departments' systems do.
        "timezone": "Asia/Shanghai",
        "engine": engine,
        "built_at": now().isoformat(timespec="seconds"),
        # The planned defects and their truth (which rows, which persons).
        "defects": DEFECTS_FILE,
        "systems": systems,
    }


def read_manifest(out_dir: Path) -> dict[str, Any] | None:
    path = out_dir / MANIFEST
    if not path.exists():
        return None
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded
