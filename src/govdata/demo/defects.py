"""The demo's data defects: what is wrong in which source table, how often, and the truth.

Real department systems carry errors, and governance has to find them. The plan below
says, per source table and column, which kind of defect the demo injects and at which
rate; ``DefectApplier`` applies it while the sources are generated, batch by batch, to
exactly ``round(rate × n)`` rows of the ``n`` rows that hold a value in the column
(duplicates and missing values: of all ``n`` rows), chosen by a random stream of its
own seeded from the build seed. It carries the rounding over from batch to batch, so
the total is exact however the rows fall into batches, and memory stays flat.

Kinds, and the quality rule that finds each (the wrong values are made in
``defect_values``):

- ``bad_check_digit``, ``legacy_15`` (a 15-digit number of the 1984 scheme),
  ``bad_birth_date`` (an impossible day, e.g. 0230, with a correct check digit):
  resident IDs, found by the ``resident_id`` rule (GB 11643);
- ``bad_credit_code`` (a wrong check character, a letter O for a zero, or the company's
  old 15-digit registration number): found by the ``credit_code`` rule (GB 32100);
- ``invalid_mobile`` (a dropped or extra digit, a landline, full-width digits, spaces,
  ``+86``, a 12 prefix): found by the ``mobile`` rule;
- ``missing``: a null where the system always had a value, found by ``not_null``;
- ``name_variant``: the person's name written differently from the household register
  (同音字/异体字 as in 才让/才仁 or 玲/琳, swapped elements 扎西才让/才让扎西, a
  full-width space, a stray space): found by comparing with the register
  (``cross_source``) and by entity resolution;
- ``duplicate``: the same person twice in one system with small differences. In social
  and medical insurance the second enrolment is in the residents' scheme (重复参保),
  with the same ID, so the ``unique`` rule on the ID finds it; in the household
  register the person holds a second registration with a second, valid ID number
  (一人多户), which only entity resolution finds.

A stale table (``STALE``): the civil affairs department stopped updating its
minimum-living-allowance table some months before the demo's day; cases approved since
are missing and nothing is stamped later than the cut-off, so the table is older than
its entry's daily update cycle (the ``freshness`` rule). Every other table was touched
on the demo's day: its newest row of the first batch is stamped then, so only the
planned table is stale, whatever the size.

Defects of one ``group`` never share a row (a name variant is never on a row whose ID
is also wrong), so each is measurable on its own. The truth — which rows, which
persons — goes to ``<data_dir>/sources/defects.json`` (never committed); entity
resolution and cross-source checks score against it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, cast

from govdata.demo.defect_values import STILL_VALID, VALUE_MAKERS, name_variant
from govdata.demo.people import AS_OF, AS_OF_ORD, Batch, Household, Person, stamp
from govdata.demo.sources.common import Row, Rows
from govdata.demo.sources.schema import System
from govdata.standards.resident_id import compute_check

DEFECTS_FILE = "defects.json"

# Rule kinds (govdata.governance.quality_schemas.RuleKind) that find each defect kind.
RULE_OF_KIND = {
    "bad_check_digit": "resident_id",
    "legacy_15": "resident_id",
    "bad_birth_date": "resident_id",
    "bad_credit_code": "credit_code",
    "invalid_mobile": "mobile",
    "missing": "not_null",
    "name_variant": "cross_source",
    "duplicate": "unique",
}


@dataclass(frozen=True)
class Defect:
    system: str
    table: str
    column: str
    kind: str
    rate: float
    # Defects of one group touch disjoint rows; by default, those of one column.
    group: str = ""
    # For name variants: the column holding the person's resident ID (links to the register).
    person_column: str | None = None

    @property
    def key(self) -> str:
        return f"{self.system}.{self.table}.{self.column}:{self.kind}"

    @property
    def rows_group(self) -> str:
        return self.group or self.column

    @property
    def rule(self) -> str | None:
        """The quality rule kind that measures this defect, None if only entity resolution
        can (a second registration under a second valid ID)."""
        if self.kind == "duplicate" and self.column != "resident_id":
            return None
        return RULE_OF_KIND[self.kind]


@dataclass(frozen=True)
class Stale:
    system: str
    table: str
    # The column dating a row's creation: rows created after the cut-off are missing.
    created: str
    days: int

    @property
    def until(self) -> date:
        """The last day the table was updated."""
        return AS_OF - timedelta(days=self.days)


# One identity group per table: IDs, names and duplicates never overlap on a row.
_ID = "identity"
_PERSONS = ("police", "persons")
_INSURED = ("hrss", "insured_persons")
_ENTERPRISES = ("market", "enterprises")
_MARRIAGES = ("civil", "marriage_registrations")
_ALLOWANCES = ("civil", "subsistence_allowances")
_ENROLMENTS = ("medins", "enrolments")
PLAN: tuple[Defect, ...] = (
    # 户籍: a second registration of the same person under a second ID number.
    Defect(*_PERSONS, "name", "duplicate", 0.004, _ID),
    Defect(*_PERSONS, "marital_status", "missing", 0.02),
    # 社保
    Defect(*_INSURED, "resident_id", "duplicate", 0.005, _ID),
    Defect(*_INSURED, "resident_id", "bad_check_digit", 0.010, _ID),
    Defect(*_INSURED, "resident_id", "legacy_15", 0.008, _ID),
    Defect(*_INSURED, "resident_id", "bad_birth_date", 0.004, _ID),
    Defect(*_INSURED, "name", "name_variant", 0.02, _ID, "resident_id"),
    Defect(*_INSURED, "phone", "invalid_mobile", 0.01),
    Defect(*_INSURED, "employer_credit_code", "bad_credit_code", 0.015),
    # 市场监管
    Defect(*_ENTERPRISES, "legal_rep_resident_id", "bad_check_digit", 0.01, _ID),
    Defect(*_ENTERPRISES, "legal_rep_name", "name_variant", 0.01, _ID, "legal_rep_resident_id"),
    Defect(*_ENTERPRISES, "registered_capital", "missing", 0.03),
    Defect(*_ENTERPRISES, "phone", "invalid_mobile", 0.02),
    # 民政
    Defect(*_MARRIAGES, "male_name", "name_variant", 0.01, "", "male_resident_id"),
    Defect(*_MARRIAGES, "female_name", "name_variant", 0.01, "", "female_resident_id"),
    Defect(*_ALLOWANCES, "applicant_resident_id", "bad_check_digit", 0.02, _ID),
    Defect(*_ALLOWANCES, "applicant_name", "name_variant", 0.03, _ID, "applicant_resident_id"),
    Defect(*_ALLOWANCES, "phone", "invalid_mobile", 0.02),
    # 医保
    Defect(*_ENROLMENTS, "resident_id", "duplicate", 0.003, _ID),
    Defect(*_ENROLMENTS, "resident_id", "bad_check_digit", 0.005, _ID),
    Defect(*_ENROLMENTS, "resident_id", "legacy_15", 0.005, _ID),
    Defect(*_ENROLMENTS, "name", "name_variant", 0.015, _ID, "resident_id"),
    Defect(*_ENROLMENTS, "phone", "invalid_mobile", 0.01),
    Defect(*_ENROLMENTS, "employer_credit_code", "bad_credit_code", 0.01),
)
STALE: tuple[Stale, ...] = (Stale("civil", "subsistence_allowances", "approved_on", 120),)
# A system that copies a defective value into another of its tables: hrss writes the
# insured person's (mistyped) ID on every contribution of that enrolment.
PROPAGATE = {
    ("hrss", "insured_persons", "resident_id"): ("contributions", "insured_id", "resident_id"),
}
# Enrolled twice: members of these schemes get a second enrolment in the residents' scheme.
_EMPLOYEE_SCHEMES = {
    "hrss": ("企业职工基本养老保险", "机关事业单位养老保险"),
    "medins": ("职工基本医疗保险",),
}
_RESIDENT_SCHEME = {"hrss": "城乡居民基本养老保险", "medins": "城乡居民基本医疗保险"}


# -- applying the plan -----------------------------------------------------------------


@dataclass
class _Tally:
    defect: Defect
    base: int = 0
    applied: int = 0
    # Name variants: rows whose person is in the household register (the comparison's rows).
    linked: int = 0
    row_ids: list[int] = field(default_factory=list)


@dataclass
class _TableState:
    columns: dict[str, int]
    max_id: int = 0
    # Second enrolments and registrations, written after the last batch with the next ids.
    pending: list[tuple[list[Any], dict[str, Any]]] = field(default_factory=list)
    # Values already taken in columns a unique index covers (with the scheme, if any).
    taken: set[tuple[Any, ...]] = field(default_factory=set)
    planned: set[str] = field(default_factory=set)
    stale: bool = False
    touched: bool = False
    nonnull: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    last_update: str = ""
    dropped: int = 0


class DefectApplier:
    """Applies ``PLAN`` and ``STALE`` to each batch's rows as the generators make them.

    Call ``apply(system, rows, batch)`` for every system's rows of every batch, then
    ``finish(system)`` once for the rows added at the end (second enrolments and
    registrations, with ids after the system's own), then ``report()``.
    """

    def __init__(
        self, seed: int, systems: Iterable[System], used_ids: set[int] | None = None
    ) -> None:
        self.rng = random.Random(f"govdata-demo:{seed}:defects")
        self.seed = seed
        self.tables: dict[tuple[str, str], _TableState] = {}
        for system in systems:
            for t in system.tables:
                self.tables[(system.code, t.name)] = _TableState(
                    {c: i for i, c in enumerate(t.column_names)}
                )
        self.tallies = {d.key: _Tally(d) for d in PLAN}
        for d in PLAN:
            self.tables[(d.system, d.table)].planned.add(d.column)
        for s in STALE:
            self.tables[(s.system, s.table)].stale = True
        self.used_ids = used_ids if used_ids is not None else set()
        self.variants: list[dict[str, Any]] = []
        self.duplicates: list[dict[str, Any]] = []
        self.derived: dict[str, int] = {}
        self._people: dict[str, Person] = {}
        self._batch: Batch | None = None

    # -- per batch ---------------------------------------------------------------------

    def _person(self, batch: Batch, number: object) -> Person | None:
        if self._batch is not batch:
            self._people = {p.resident_id: p for p in batch.persons}
            self._batch = batch
        return self._people.get(str(number)) if number is not None else None

    def apply(self, system: str, rows: Rows, batch: Batch) -> None:
        """Make this batch's rows of ``system`` defective as planned (in place)."""
        for stale in STALE:
            if stale.system == system and stale.table in rows:
                self._stale(stale, rows[stale.table])
        for (code, table), state in self.tables.items():
            if code != system or table not in rows:
                continue
            if not state.stale and not state.touched and rows[table]:
                self._touch(state, rows[table])
            if not (state.planned or state.stale):
                continue
            chunk = rows[table]
            taken_rows: dict[str, set[int]] = {}
            for defect in (d for d in PLAN if (d.system, d.table) == (code, table)):
                used = taken_rows.setdefault(defect.rows_group, set())
                self._apply_one(defect, state, chunk, used, batch, rows)
            self._count(state, chunk)
            for defect in (d for d in PLAN if (d.system, d.table) == (code, table)):
                if defect.kind == "name_variant":
                    self.tallies[defect.key].linked += sum(
                        1 for r in chunk if self._eligible(defect, state, r, batch)
                    )

    def _count(self, state: _TableState, chunk: list[Row]) -> None:
        """Rows, the largest id, the last update and the planned columns' non-null values."""
        state.rows += len(chunk)
        if not chunk:
            return
        state.max_id = max(state.max_id, max(_id(r) for r in chunk))
        updated = state.columns["updated_at"]
        state.last_update = max(state.last_update, max(str(r[updated]) for r in chunk))
        for column in state.planned:
            i = state.columns[column]
            state.nonnull[column] = state.nonnull.get(column, 0) + sum(
                1 for r in chunk if r[i] is not None
            )

    def _apply_one(
        self,
        defect: Defect,
        state: _TableState,
        chunk: list[Row],
        used: set[int],
        batch: Batch,
        rows: Rows,
    ) -> None:
        col = state.columns[defect.column]
        tally = self.tallies[defect.key]
        if defect.kind in ("missing", "duplicate"):
            base = list(range(len(chunk)))
        elif defect.kind == "name_variant":
            base = [i for i, r in enumerate(chunk) if self._eligible(defect, state, r, batch)]
        else:
            base = [i for i, r in enumerate(chunk) if r[col] is not None]
        tally.base += len(base)
        want = round(defect.rate * tally.base) - tally.applied
        if want <= 0:
            return
        candidates = [
            i for i in base if i not in used and self._eligible(defect, state, chunk[i], batch)
        ]
        self.rng.shuffle(candidates)
        changed: dict[int, str] = {}
        for i in candidates:
            if want <= 0:
                break
            if not self._damage(defect, state, chunk, i, batch):
                continue
            used.add(i)
            tally.applied += 1
            tally.row_ids.append(_id(chunk[i]))
            changed[_id(chunk[i])] = str(chunk[i][col])
            want -= 1
        target = PROPAGATE.get((defect.system, defect.table, defect.column))
        if target and changed and defect.kind != "duplicate":
            self._propagate(defect, target, rows, changed)

    def _eligible(self, defect: Defect, state: _TableState, row: Row, batch: Batch) -> bool:
        if defect.kind == "name_variant":
            assert defect.person_column is not None
            return self._person(batch, row[state.columns[defect.person_column]]) is not None
        if defect.kind == "duplicate" and defect.system in _EMPLOYEE_SCHEMES:
            return row[state.columns["insurance_type"]] in _EMPLOYEE_SCHEMES[defect.system]
        return True

    def _damage(
        self, defect: Defect, state: _TableState, chunk: list[Row], i: int, batch: Batch
    ) -> bool:
        """Make row ``i`` defective; False when this row cannot take the defect."""
        col = state.columns[defect.column]
        row = list(chunk[i])
        value = row[col]
        if defect.kind == "missing":
            row[col] = None
        elif defect.kind == "duplicate":
            return self._duplicate(defect, state, row, batch)
        elif defect.kind == "name_variant":
            person = self._person(batch, row[state.columns[str(defect.person_column)]])
            assert person is not None
            variant = name_variant(self.rng, str(value), _surnamed(person))
            if variant is None:
                return False
            row[col], form = variant
            self.variants.append(
                {
                    "system": defect.system,
                    "table": defect.table,
                    "column": defect.column,
                    "row_id": row[0],
                    "pid": person.pid,
                    "resident_id": person.resident_id,
                    "register_name": person.name,
                    "name": row[col],
                    "form": form,
                }
            )
        else:
            new = VALUE_MAKERS[defect.kind](self.rng, str(value))
            assert not STILL_VALID[defect.kind](new), (defect.key, value, new)
            if defect.column == "resident_id" and "insurance_type" in state.columns:
                # (resident_id, insurance_type) is unique in these systems.
                key = (new, row[state.columns["insurance_type"]])
                if key in state.taken:
                    return False
                state.taken.add(key)
            row[col] = new
        chunk[i] = tuple(row)
        return True

    def _propagate(
        self, defect: Defect, target: tuple[str, str, str], rows: Rows, changed: dict[int, str]
    ) -> None:
        table, link, column = target
        state = self.tables[(defect.system, table)]
        li, ci = state.columns[link], state.columns[column]
        chunk = rows.get(table, [])
        key = f"{defect.system}.{table}.{column}:{defect.kind}"
        for j, row in enumerate(chunk):
            new = changed.get(cast(int, row[li]))
            if new is not None:
                fixed = list(row)
                fixed[ci] = new
                chunk[j] = tuple(fixed)
                self.derived[key] = self.derived.get(key, 0) + 1

    def _duplicate(self, defect: Defect, state: _TableState, row: list[Any], batch: Batch) -> bool:
        cols = state.columns
        original = dict(zip(cols, row, strict=True))
        copy = dict(original)
        rng = self.rng
        truth: dict[str, Any] = {"system": defect.system, "table": defect.table}
        if defect.system == "police":
            person = self._person(batch, original["resident_id"])
            if person is None:
                return False
            home = rng.choice(batch.households)
            if home.number == original["household_no"]:
                return False
            number = self._second_id(home, person)
            variant = name_variant(rng, person.name, _surnamed(person))
            name, form = variant if variant and rng.random() < 0.5 else (person.name, "same")
            registered = stamp(rng, max(home_day(home), person.birth.toordinal() + 1))
            copy.update(
                resident_id=number,
                name=name,
                household_no=home.number,
                relation="其他",
                county_code=home.county.code,
                address=home.address,
                phone=None if rng.random() < 0.5 else original["phone"],
                registered_at=registered,
                updated_at=max(registered, stamp(rng, AS_OF_ORD - int(rng.random() * 200))),
            )
            truth.update(resident_id=person.resident_id, second_resident_id=number, name_form=form)
            pid: int | None = person.pid
        else:
            person = self._person(batch, original["resident_id"])
            pid = person.pid if person else None
            scheme = _RESIDENT_SCHEME[defect.system]
            copy["insurance_type"] = scheme
            copy["employer_credit_code"] = None
            if "employer_name" in copy:
                copy["employer_name"] = None
                copy["contribution_base"] = None
                if copy["status"] == "领取待遇":
                    copy["monthly_benefit"] = round(rng.uniform(190, 420), 2)
            started = "started_on" if "started_on" in copy else "enrolled_on"
            day = date.fromisoformat(str(original[started])).toordinal()
            copy[started] = date.fromordinal(
                day + int(rng.random() * (AS_OF_ORD - day))
            ).isoformat()
            if person is not None and person.phone and rng.random() < 0.3:
                copy["phone"] = None
            state.taken.add((original["resident_id"], scheme))
            truth.update(resident_id=original["resident_id"])
        truth.update(pid=pid, of_row_id=original["id"])
        state.pending.append((list(copy.values()), truth))
        return True

    def _second_id(self, home: Household, person: Person) -> str:
        prefix = f"{home.county.code}{person.birth:%Y%m%d}"
        for _ in range(200):
            seq = int(self.rng.random() * 500) * 2 + person.male
            first17 = f"{prefix}{seq:03d}"
            if int(first17) not in self.used_ids:
                self.used_ids.add(int(first17))
                return first17 + compute_check(first17)
        raise RuntimeError(f"no free resident ID left for {prefix}")

    def _touch(self, state: _TableState, chunk: list[Row]) -> None:
        """Stamp the newest row as updated on the demo's day."""
        updated = state.columns["updated_at"]
        i = max(range(len(chunk)), key=lambda j: str(chunk[j][updated]))
        row = list(chunk[i])
        row[updated] = max(str(row[updated]), stamp(self.rng, AS_OF_ORD))
        chunk[i] = tuple(row)
        state.touched = True

    def _stale(self, stale: Stale, chunk: list[Row]) -> None:
        state = self.tables[(stale.system, stale.table)]
        created, updated = state.columns[stale.created], state.columns["updated_at"]
        until = stale.until.isoformat()
        until_ord = stale.until.toordinal()
        kept: list[Row] = []
        for row in chunk:
            if str(row[created]) > until:
                state.dropped += 1
                continue
            if str(row[updated])[:10] > until:
                fixed = list(row)
                start = max(date.fromisoformat(str(row[created])).toordinal(), until_ord - 90)
                fixed[updated] = stamp(
                    self.rng, start + int(self.rng.random() * (until_ord - start))
                )
                row = tuple(fixed)
            kept.append(row)
        chunk[:] = kept

    # -- after the last batch ------------------------------------------------------------

    def finish(self, system: str) -> Rows:
        """The rows added after the system's own: second enrolments and registrations."""
        out: Rows = {}
        for (code, table), state in self.tables.items():
            if code != system or not state.pending:
                continue
            added: list[Row] = []
            for values, truth in state.pending:
                state.max_id += 1
                values[0] = state.max_id
                truth["row_id"] = state.max_id
                self.duplicates.append(truth)
                added.append(tuple(values))
            state.pending = []
            self._count(state, added)
            for d in PLAN:
                if (d.system, d.table) == (code, table) and d.kind == "name_variant":
                    # Second enrolments carry the register's ID and name.
                    self.tallies[d.key].linked += len(added)
            out[table] = added
        return out

    def report(self) -> dict[str, Any]:
        """Counts per table, column and kind, and the truth behind them (``defects.json``)."""
        defects = []
        for tally in self.tallies.values():
            d = tally.defect
            state = self.tables[(d.system, d.table)]
            if d.kind == "name_variant":
                checked = tally.linked
            elif d.kind == "missing" or d.rule is None:
                checked = state.rows
            else:
                checked = state.nonnull[d.column]
            defects.append(
                {
                    "system": d.system,
                    "table": d.table,
                    "column": d.column,
                    "kind": d.kind,
                    "rule": d.rule,
                    "planned_rate": d.rate,
                    # Rows the rate applies to, as generated (before duplicates were added).
                    "base": tally.base,
                    "count": tally.applied,
                    # Rows the rule checks in the finished table, and the true failure rate.
                    "checked": checked,
                    "rate": tally.applied / checked if checked else 0.0,
                    "row_ids": tally.row_ids,
                }
            )
        stale = [
            {
                "system": s.system,
                "table": s.table,
                "until": s.until.isoformat(),
                "last_update": self.tables[(s.system, s.table)].last_update,
                "rows_missing": self.tables[(s.system, s.table)].dropped,
            }
            for s in STALE
        ]
        return {
            "seed": self.seed,
            "as_of": AS_OF.isoformat(),
            "defects": defects,
            "stale": stale,
            "derived": [
                {"table": k.split(":")[0], "kind": k.split(":")[1], "count": v}
                for k, v in sorted(self.derived.items())
            ],
            "name_variants": self.variants,
            "duplicates": self.duplicates,
        }


def _surnamed(person: Person) -> bool:
    """Tibetans and most Mongols carry no surname (see ``names``)."""
    return person.ethnicity not in ("藏", "蒙古")


def _id(row: Row) -> int:
    """A row's primary key (``id``, first in every source table)."""
    return cast(int, row[0])


def home_day(home: Household) -> int:
    return date.fromisoformat(home.registered_at[:10]).toordinal()


def read_report(sources_dir: Path) -> dict[str, Any] | None:
    """The ``defects.json`` of a source build (the truth to score against), if there is one."""
    path = sources_dir / DEFECTS_FILE
    if not path.exists():
        return None
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded
