"""Synthetic residents of Qinghai, generated household by household in batches.

Households are drawn county by county in proportion to population: couples
with children, three generations, young couples, empty nests, single adults,
widowed elders, divorced parents and collective households (集体户). Names
follow each people's naming customs; a household's Han, Hui, Tu and Salar
children carry the father's surname.

Every resident ID is valid under GB 11643 and unique. Its address code is the
one of the county where the number was issued: mostly the household's own
county; for about 6% of adults another Qinghai county (they moved); for about
1.5% of adults a county of another province; and, for people whose number was
issued before their county's code was withdrawn, often the retired code
(see ``divisions.RETIRED``).

All randomness comes from one ``random.Random`` seeded from the build seed,
and all dates are relative to ``AS_OF``, so a seed always yields the same people.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from operator import mul

from govdata.demo import names
from govdata.demo.addresses import AddressBook, police_station
from govdata.demo.divisions import COUNTIES, County, retired_for
from govdata.standards.resident_id import CHECKS, WEIGHTS

# The demo's "today": fixed so that a seed reproduces the same data on any day.
AS_OF = date(2026, 10, 31)
AS_OF_ORD = AS_OF.toordinal()
YEAR = 365.2425
# Second-generation ID numbers were issued from 1985; earlier births got theirs then.
ID_ISSUE_START = 1985

MOVED_SHARE = 0.06
OUTSIDE_SHARE = 0.015
RETIRED_CODE_SHARE = 0.7

# Counties of neighbouring and other provinces that migrants' IDs carry (GB/T 2260).
OUTSIDE_DIVISIONS = (
    "620102",  # 兰州市城关区
    "620103",  # 兰州市七里河区
    "620502",  # 天水市秦州区
    "622901",  # 临夏市
    "610102",  # 西安市新城区
    "510104",  # 成都市锦江区
    "410102",  # 郑州市中原区
    "130102",  # 石家庄市长安区
    "320102",  # 南京市玄武区
    "370102",  # 济南市历下区
)

MOBILE_PREFIXES = (
    "139",
    "138",
    "137",
    "136",
    "135",
    "150",
    "151",
    "152",
    "157",
    "158",
    "159",
    "182",
    "183",
    "187",
    "188",
    "130",
    "131",
    "132",
    "155",
    "156",
    "185",
    "186",
    "133",
    "153",
    "180",
    "181",
    "189",
    "177",
    "199",
    "191",
    "173",
)

HOUSEHOLD_KINDS = names.WeightedPicker(
    (
        ("family", 44),
        ("three_gen", 15),
        ("couple", 15),
        ("single", 10),
        ("widowed", 7),
        ("divorced", 6),
        ("collective", 3),
    )
)
_EDUCATION_YOUNG = names.WeightedPicker(
    (("研究生", 3), ("大学本科", 20), ("大学专科", 20), ("高中", 25), ("初中", 24), ("小学", 8))
)
_EDUCATION_MIDDLE = names.WeightedPicker(
    (
        ("大学本科", 10),
        ("大学专科", 12),
        ("高中", 20),
        ("初中", 35),
        ("小学", 18),
        ("文盲或半文盲", 5),
    )
)
_EDUCATION_OLD = names.WeightedPicker(
    (
        ("大学本科", 3),
        ("大学专科", 5),
        ("高中", 12),
        ("初中", 25),
        ("小学", 35),
        ("文盲或半文盲", 20),
    )
)


@dataclass(slots=True)
class Person:
    pid: int
    resident_id: str
    name: str
    male: bool
    ethnicity: str
    birth: date
    county: County
    household_no: str
    relation: str
    address: str
    phone: str | None
    marital: str
    education: str | None
    status: str
    registered_at: str
    updated_at: str

    @property
    def age(self) -> int:
        return int((AS_OF_ORD - self.birth.toordinal()) / YEAR)

    @property
    def alive(self) -> bool:
        return self.status != "死亡"


@dataclass(slots=True)
class Household:
    hid: int
    number: str
    county: County
    kind: str
    address: str
    station: str
    registered_at: str
    updated_at: str
    members: list[Person] = field(default_factory=list)


@dataclass(slots=True)
class Couple:
    husband: Person
    wife: Person
    married_on: date
    divorced_on: date | None = None


@dataclass(slots=True)
class Batch:
    households: list[Household] = field(default_factory=list)
    persons: list[Person] = field(default_factory=list)
    couples: list[Couple] = field(default_factory=list)


# Timestamps are the hottest formatting work of a build: format each day and second once.
_OFFICE_SECONDS = tuple(
    f" {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(8 * 3600, 18 * 3600)
)


@cache
def day_iso(day: int) -> str:
    """``YYYY-MM-DD`` of an ordinal day, never after AS_OF."""
    return date.fromordinal(min(day, AS_OF_ORD)).isoformat()


def stamp(rng: random.Random, day: int) -> str:
    """A naive local timestamp during office hours on the given ordinal day."""
    return day_iso(day) + _OFFICE_SECONDS[int(rng.random() * 36000)]


def later_day(rng: random.Random, start: int) -> int:
    """A day between ``start`` and AS_OF, leaning towards recent (records get touched)."""
    span = max(AS_OF_ORD - start, 0)
    return start + int(span * (1.0 - rng.random() ** 3))


def stamps(rng: random.Random, day: int) -> tuple[str, str]:
    """A record's creation time on ``day`` and a later last-update time."""
    created = stamp(rng, day)
    return created, max(created, stamp(rng, later_day(rng, day)))


def phone_number(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{int(rng.random() * 100_000_000):08d}"


class PersonFactory:
    """Generates households and their people; call ``batch(n)`` until enough people exist."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(f"govdata-demo:{seed}:persons")
        self.counties = names.WeightedPicker([(c.code, c.population) for c in COUNTIES])
        self.county_by_code = {c.code: c for c in COUNTIES}
        self.ethnic = {c.code: names.WeightedPicker(tuple(c.ethnic_mix.items())) for c in COUNTIES}
        self.retired = {c.code: retired_for(c.code) for c in COUNTIES}
        self.addresses = AddressBook(seed)
        self.used_ids: set[int] = set()
        self.household_seq: dict[str, int] = {}
        self.next_pid = 1
        self.next_hid = 1
        self.divorced: list[tuple[Person, date]] = []

    # -- one person ---------------------------------------------------------------

    def _id_division(self, county: County, born_year: int, native: bool) -> str:
        rng = self.rng
        origin = county
        if not native:
            roll = rng.random()
            if roll < OUTSIDE_SHARE:
                return rng.choice(OUTSIDE_DIVISIONS)
            if roll < OUTSIDE_SHARE + MOVED_SHARE:
                origin = self.county_by_code[self.counties.pick(rng)]
        issued = max(born_year, ID_ISSUE_START)
        eligible = [r for r in self.retired[origin.code] if issued <= r.until_year]
        if eligible and rng.random() < RETIRED_CODE_SHARE:
            return rng.choice(eligible).code
        return origin.code

    def _resident_id(self, division: str, birth: date, male: bool) -> str:
        rng = self.rng
        prefix = f"{division}{birth.year:04d}{birth.month:02d}{birth.day:02d}"
        # Random sequence numbers first; a crowded day falls back to the first free one.
        picks = (int(rng.random() * 500) for _ in range(64))
        for seq in itertools.chain(picks, range(500)):
            first17 = f"{prefix}{seq * 2 + male:03d}"
            key = int(first17)
            if key not in self.used_ids:
                self.used_ids.add(key)
                return first17 + CHECKS[sum(map(mul, map(int, first17), WEIGHTS)) % 11]
        raise RuntimeError(f"no free resident ID left for {prefix} (male={male})")

    def _education(self, birth: date, age: int) -> str | None:
        if age < 6:
            return None
        if age < 12:
            return "小学"
        if age < 15:
            return "初中"
        if age < 18:
            return "高中"
        if birth.year >= 1990:
            return _EDUCATION_YOUNG.pick(self.rng)
        if birth.year >= 1970:
            return _EDUCATION_MIDDLE.pick(self.rng)
        return _EDUCATION_OLD.pick(self.rng)

    def _status(self, age: int) -> str:
        roll = self.rng.random()
        death = 0.05 if age >= 75 else 0.015 if age >= 60 else 0.001
        if roll < death:
            return "死亡"
        if roll < death + (0.005 if age >= 18 else 0.0):
            return "迁出"
        return "正常"

    def person(
        self,
        hh: Household,
        *,
        male: bool,
        birth_ord: int,
        ethnicity: str,
        relation: str,
        marital: str,
        family: str | None = None,
        registered_day: int,
    ) -> Person:
        rng = self.rng
        birth = date.fromordinal(min(birth_ord, AS_OF_ORD - 1))
        age = int((AS_OF_ORD - birth.toordinal()) / YEAR)
        native = relation in ("子", "女") or age < 18
        division = self._id_division(hh.county, birth.year, native)
        number = self._resident_id(division, birth, male)
        name = names.person_name(rng, ethnicity, male, birth.year, family)
        has_phone = age >= 16 and rng.random() < (0.6 if age >= 70 else 0.93)
        reg_day = max(registered_day, birth.toordinal())
        registered_at, updated_at = stamps(rng, reg_day)
        person = Person(
            pid=self.next_pid,
            resident_id=number,
            name=name,
            male=male,
            ethnicity=ethnicity,
            birth=birth,
            county=hh.county,
            household_no=hh.number,
            relation=relation,
            address=hh.address,
            phone=phone_number(rng) if has_phone else None,
            marital=marital,
            education=self._education(birth, age),
            status=self._status(age),
            registered_at=registered_at,
            updated_at=updated_at,
        )
        self.next_pid += 1
        hh.members.append(person)
        return person

    # -- one household --------------------------------------------------------------

    def _new_household(self, county: County, kind: str, registered_day: int) -> Household:
        seq = self.household_seq.get(county.code, 0) + 1
        self.household_seq[county.code] = seq
        rng = self.rng
        place = self.addresses.home(rng, county)
        registered_at, updated_at = stamps(rng, registered_day)
        hh = Household(
            hid=self.next_hid,
            number=f"{county.code}{seq:08d}",
            county=county,
            kind="集体户" if kind == "collective" else "家庭户",
            address=place.address,
            station=police_station(county, place.town),
            registered_at=registered_at,
            updated_at=updated_at,
        )
        self.next_hid += 1
        return hh

    def _age_days(self, low: float, high: float) -> int:
        return AS_OF_ORD - int(self.rng.uniform(low, high) * YEAR)

    def household(self, batch: Batch) -> None:
        rng = self.rng
        county = self.county_by_code[self.counties.pick(rng)]
        kind = HOUSEHOLD_KINDS.pick(rng)
        ethnicity = self.ethnic[county.code].pick(rng)

        if kind == "collective":
            hh = self._new_household(county, kind, self._age_days(0, 15))
            for _ in range(rng.randrange(2, 7)):
                self.person(
                    hh,
                    male=rng.random() < 0.6,
                    birth_ord=self._age_days(18, 55),
                    ethnicity=self.ethnic[county.code].pick(rng),
                    relation="集体户成员",
                    marital="未婚" if rng.random() < 0.6 else "已婚",
                    registered_day=self._age_days(0, 10),
                )
            self._finish(batch, hh)
            return

        head_age = {
            "family": (25, 60),
            "three_gen": (28, 55),
            "couple": (23, 85),
            "single": (18, 40),
            "widowed": (60, 92),
            "divorced": (28, 58),
        }[kind]
        head_birth = self._age_days(*head_age)
        hh_day = max(head_birth + int(20 * YEAR), self._age_days(0, 30))
        hh = self._new_household(county, kind, hh_day)
        male_head = rng.random() < (0.85 if kind in ("family", "three_gen", "couple") else 0.5)
        family = names.surname(rng, ethnicity)
        married = kind in ("family", "three_gen", "couple")
        marital = {
            "single": "未婚",
            "widowed": "丧偶",
            "divorced": "离婚",
        }.get(kind, "已婚")
        head = self.person(
            hh,
            male=male_head,
            birth_ord=head_birth,
            ethnicity=ethnicity,
            relation="户主",
            marital=marital,
            family=family if male_head else None,
            registered_day=hh_day,
        )
        mother_birth = head_birth
        married_on: int | None = None
        if married:
            gap = int(rng.gauss(2.0, 2.5) * YEAR)
            spouse_birth = head_birth + gap if male_head else head_birth - gap
            if spouse_birth > AS_OF_ORD - int(23 * YEAR):
                # Spread the too-young over three years: one shared birthday would
                # exhaust the 500 sequence numbers of a county's ID space at large sizes.
                spouse_birth = self._age_days(23, 26)
            spouse_eth = ethnicity if rng.random() < 0.9 else self.ethnic[county.code].pick(rng)
            husband_birth = head_birth if male_head else spouse_birth
            wife_birth = spouse_birth if male_head else head_birth
            earliest = max(husband_birth + int(22 * YEAR), wife_birth + int(20 * YEAR))
            married_on = min(earliest + int(rng.expovariate(1 / 3.0) * YEAR), AS_OF_ORD - 30)
            spouse = self.person(
                hh,
                male=not male_head,
                birth_ord=spouse_birth,
                ethnicity=spouse_eth,
                relation="配偶",
                marital="已婚",
                family=None,
                registered_day=max(married_on + rng.randrange(3, 120), hh_day),
            )
            husband, wife = (head, spouse) if male_head else (spouse, head)
            mother_birth = wife.birth.toordinal()
            family = husband.name[0] if husband.ethnicity not in ("藏", "蒙古") else None
            batch.couples.append(Couple(husband, wife, date.fromordinal(married_on)))
        elif kind == "divorced":
            self.divorced.append((head, date.fromordinal(self._age_days(0.5, 12))))
            if head.male and head.ethnicity not in ("藏", "蒙古"):
                family = head.name[0]

        if kind in ("family", "three_gen", "divorced"):
            self._children(hh, ethnicity, family, mother_birth, married_on)
        if kind == "three_gen":
            # The head's own parents: the father passes on the head's surname.
            head_family = head.name[0] if head.ethnicity not in ("藏", "蒙古") else None
            parent_birth = head_birth - int(rng.uniform(22, 35) * YEAR)
            if AS_OF_ORD - parent_birth < int(95 * YEAR):
                both = rng.random() < 0.5
                for is_father in (True, False) if both else (rng.random() < 0.4,):
                    self.person(
                        hh,
                        male=is_father,
                        birth_ord=parent_birth + (0 if is_father else int(2 * YEAR)),
                        ethnicity=ethnicity,
                        relation="父亲" if is_father else "母亲",
                        marital="已婚" if both else "丧偶",
                        family=head_family if is_father else None,
                        registered_day=hh_day,
                    )
        self._finish(batch, hh)

    def _children(
        self,
        hh: Household,
        ethnicity: str,
        family: str | None,
        mother_birth: int,
        married_on: int | None,
    ) -> None:
        rng = self.rng
        few = ethnicity == "汉"
        roll = rng.random()
        if few:
            count = 0 if roll < 0.1 else 1 if roll < 0.55 else 2 if roll < 0.9 else 3
        else:
            count = (
                0
                if roll < 0.05
                else 1
                if roll < 0.3
                else 2
                if roll < 0.65
                else 3
                if roll < 0.9
                else 4
            )
        start = max(mother_birth + int(20 * YEAR), (married_on or 0) + 200)
        born = start + int(rng.uniform(0, 3) * YEAR)
        for _ in range(count):
            if born >= AS_OF_ORD - 1 or born - mother_birth > int(45 * YEAR):
                break
            son = rng.random() < 0.52
            self.person(
                hh,
                male=son,
                birth_ord=born,
                ethnicity=ethnicity,
                relation="子" if son else "女",
                marital="未婚",
                family=family,
                registered_day=born + rng.randrange(1, 90),
            )
            born += int(rng.uniform(1.2, 5) * YEAR)

    def _finish(self, batch: Batch, hh: Household) -> None:
        batch.households.append(hh)
        batch.persons.extend(hh.members)

    def _pair_divorced(self, batch: Batch) -> None:
        """Divorced heads of opposite sex are paired as each other's former spouse."""
        men = [(p, d) for p, d in self.divorced if p.male]
        women = [(p, d) for p, d in self.divorced if not p.male]
        for (man, divorced_on), (woman, _) in zip(men, women, strict=False):
            earliest = max(
                man.birth.toordinal() + int(22 * YEAR), woman.birth.toordinal() + int(20 * YEAR)
            )
            if earliest >= divorced_on.toordinal() - 200:
                continue
            married = self.rng.randrange(earliest, divorced_on.toordinal() - 180)
            batch.couples.append(Couple(man, woman, date.fromordinal(married), divorced_on))
        self.divorced = []

    def batch(self, persons: int) -> Batch:
        """At least ``persons`` people (whole households), or fewer only if ``persons`` is 0."""
        batch = Batch()
        while len(batch.persons) < persons:
            self.household(batch)
        self._pair_divorced(batch)
        return batch
