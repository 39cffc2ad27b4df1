"""What the source generators share: employers, jobs, and the deliberate inconsistencies.

The police household register is the reference: every other system names
people by their resident ID from it. Real systems drift apart, so these do,
at documented rates that later governance work (cross-source checks, quality
rules, rectification) has to find:

- ``PHONE_DRIFT`` (5%): a person's phone number in another system differs from
  the police record (they changed numbers and told only one office).
- ``DECEASED_STILL_ACTIVE`` (25%): of the people the police record as dead,
  this share are still active elsewhere: pension still paid (hrss), medical
  insurance still enrolled (medins), minimum-living allowance still paid (civil).
- ``OUTSIDE_LEGAL_REP`` (2%): enterprises whose legal representative has a
  valid resident ID from another province and is not in the register.
- Employers that have been deregistered (注销) still pay contributions for some
  staff, because employees pick employers regardless of registration status.
- Rows whose ``updated_at`` in another system predates the police change: each
  system stamps its own times.
- People who moved away (迁出) are 转出 in social insurance and 停保 in medical
  insurance: statuses outside the data element's value domain, so an allowed-values
  rule finds them.

Errors at exactly known rates — names written differently from the register, mistyped
IDs, credit codes and phones, missing values, duplicates inside a system, a stale
table — are planned and applied by ``govdata.demo.defects``, which records the truth.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from govdata.demo import names
from govdata.demo.departments import all_departments
from govdata.demo.people import AS_OF_ORD, YEAR, Batch, Person, day_iso, phone_number
from govdata.demo.sources.schema import System

PHONE_DRIFT = 0.05
DECEASED_STILL_ACTIVE = 0.25
OUTSIDE_LEGAL_REP = 0.02
# Draws once made for random name variants and duplicate enrolments, which are now
# planned in ``govdata.demo.defects``; still drawn so the rest of each stream is unchanged.
_RETIRED_DRAW = 0.01

Row = tuple[object, ...]
Rows = dict[str, list[Row]]


def system_rng(seed: int, code: str) -> random.Random:
    """Each system draws from its own stream, so one system's output never depends on another's."""
    return random.Random(f"govdata-demo:{seed}:{code}")


def seen_phone(rng: random.Random, person: Person) -> str | None:
    """The phone another office holds for ``person``."""
    if person.phone is not None and rng.random() < PHONE_DRIFT:
        return phone_number(rng)
    return person.phone


def seen_name(rng: random.Random, person: Person) -> str:
    """The name another office holds for ``person``: the register's (variants are planned
    defects, see ``govdata.demo.defects``)."""
    if rng.random() < _RETIRED_DRAW:
        # The random variant once drawn here: keep its draws so the stream is unchanged.
        names.variant(rng, person.name)
    return person.name


def iso(day: int) -> str:
    return day_iso(day)


def gender_code(person: Person) -> str:
    """GB/T 2261.1: 1 male, 2 female."""
    return "1" if person.male else "2"


@dataclass(frozen=True, slots=True)
class Employer:
    credit_code: str
    name: str
    county_code: str
    active: bool


@dataclass(frozen=True, slots=True)
class Job:
    # employee, public (机关事业单位), resident (城乡居民), retired_employee, retired_resident
    kind: str
    employer: Employer | None
    base: float
    started: int


@dataclass
class World:
    """State that lives across batches and systems: who employs whom."""

    seed: int
    employers: list[Employer] = field(default_factory=list)
    by_county: dict[str, list[Employer]] = field(default_factory=dict)
    jobs: dict[int, Job] = field(default_factory=dict)
    _assigned: Batch | None = None

    def __post_init__(self) -> None:
        self.rng = random.Random(f"govdata-demo:{self.seed}:jobs")
        self.organs = [
            Employer(d.credit_code, d.name, d.region_code, True) for d in all_departments()
        ]

    def add_employer(self, employer: Employer) -> None:
        self.employers.append(employer)
        self.by_county.setdefault(employer.county_code, []).append(employer)

    def _employer(self, county: str) -> Employer:
        rng = self.rng
        local = self.by_county.get(county)
        if local and rng.random() < 0.7:
            return rng.choice(local)
        if self.employers:
            return rng.choice(self.employers)
        return rng.choice(self.organs)

    def jobs_for(self, batch: Batch) -> dict[int, Job]:
        """Each person's pension scheme and employer (by pid), decided once per batch.

        Decided on first use, after the market register has added the batch's companies.
        """
        if self._assigned is not batch:
            self._assign(batch)
            self._assigned = batch
        return self.jobs

    def _assign(self, batch: Batch) -> None:
        rng = self.rng
        self.jobs = {}
        for p in batch.persons:
            age = p.age
            if age < 16:
                continue
            urban = p.county.urban
            retire_age = 60 if p.male else 55
            start_floor = max(p.birth.toordinal() + int(18 * YEAR), date(1995, 1, 1).toordinal())
            started = start_floor + int(rng.random() * max(AS_OF_ORD - start_floor, 1))
            roll = rng.random()
            if age >= retire_age:
                if roll < (0.4 if urban else 0.1):
                    self.jobs[p.pid] = Job("retired_employee", None, 0.0, started)
                elif roll < 0.92:
                    self.jobs[p.pid] = Job("retired_resident", None, 0.0, started)
                continue
            if age < 22 and rng.random() < 0.7:
                continue
            if roll < (0.42 if urban else 0.15):
                base = min(max(rng.lognormvariate(8.75, 0.35), 4200.0), 25000.0)
                if rng.random() < 0.12:
                    employer = rng.choice(self.organs)
                    self.jobs[p.pid] = Job("public", employer, round(base, 2), started)
                else:
                    employer = self._employer(p.county.code)
                    self.jobs[p.pid] = Job("employee", employer, round(base, 2), started)
            elif roll < 0.85:
                self.jobs[p.pid] = Job("resident", None, 0.0, started)


class SourceGenerator(Protocol):
    system: System

    def rows(self, batch: Batch, world: World) -> Rows: ...
