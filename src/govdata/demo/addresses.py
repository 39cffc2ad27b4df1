"""Addresses in Qinghai's real prefectures and counties, with town- and street-style places.

Faker's Chinese addresses name fictional cities, so the demo builds its own:
``青海省`` + the real prefecture and county, then a sub-district street and
residential compound in districts and county-level cities, or a town and
village elsewhere. Each county gets a fixed set of towns (镇/乡), sub-districts
(街道) and roads, drawn from a generator seeded by the build seed and the
county code; the town names are in the style of the region, not real ones.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from govdata.demo import names
from govdata.demo.divisions import COUNTIES, PREFECTURE_BY_CODE, County, full_county_name


@dataclass(frozen=True)
class Place:
    address: str
    # The 街道, 镇 or 乡 the address lies in.
    town: str


@dataclass(frozen=True)
class _CountyPlaces:
    full: str
    towns: tuple[str, ...]
    roads: tuple[str, ...]


class AddressBook:
    def __init__(self, seed: int) -> None:
        self._places = {c.code: self._make(seed, c) for c in COUNTIES}

    @staticmethod
    def _make(seed: int, county: County) -> _CountyPlaces:
        rng = random.Random(f"govdata-demo:{seed}:places:{county.code}")
        towns: list[str] = []
        want = 6 if county.urban else 10
        while len(towns) < want:
            suffix = "街道" if county.urban and rng.random() < 0.7 else rng.choice("镇乡")
            town = names.place_name(rng) + suffix
            if town not in towns:
                towns.append(town)
        return _CountyPlaces(
            full_county_name(county), tuple(towns), tuple(rng.sample(names.ROADS, 12))
        )

    def towns(self, county: County) -> tuple[str, ...]:
        return self._places[county.code].towns

    def home(self, rng: random.Random, county: County) -> Place:
        """A household's registered address."""
        places = self._places[county.code]
        town = rng.choice(places.towns)
        if town.endswith("街道"):
            road = rng.choice(places.roads)
            number = rng.randrange(1, 300)
            if rng.random() < 0.7:
                compound = rng.choice(names.BRANDS) + rng.choice(names.COMPOUND_SUFFIX)
                return Place(
                    f"{places.full}{road}{number}号{compound}{rng.randrange(1, 30)}号楼"
                    f"{rng.randrange(1, 6)}单元{rng.randrange(1, 25)}{rng.randrange(1, 5):02d}室",
                    town,
                )
            return Place(f"{places.full}{road}{number}号", town)
        village = names.place_name(rng) + "村"
        return Place(f"{places.full}{town}{village}{rng.randrange(1, 200)}号", town)

    def business(self, rng: random.Random, county: County) -> Place:
        """A business's registered premises: mostly on a road of the county seat."""
        places = self._places[county.code]
        town = rng.choice(places.towns)
        if rng.random() < 0.8:
            road = rng.choice(places.roads)
            return Place(f"{places.full}{road}{rng.randrange(1, 500)}号", town)
        return Place(f"{places.full}{town}{names.place_name(rng)}村", town)


def place_of(town: str) -> str:
    """``东沟镇`` → ``东沟``: how stations, clinics and offices are named after a town."""
    return town.removesuffix("街道").removesuffix("镇").removesuffix("乡")


def police_station(county: County, town: str) -> str:
    pref = PREFECTURE_BY_CODE[county.prefecture]
    if county.name.endswith("区"):
        return f"{pref.name}公安局{county.short}分局{place_of(town)}派出所"
    return f"{county.name}公安局{place_of(town)}派出所"


def county_office(county: County, bureau: str) -> str:
    """A county-level bureau's name; districts' bureaus carry their city's name."""
    if county.name.endswith("区"):
        return f"{PREFECTURE_BY_CODE[county.prefecture].name}{county.name}{bureau}"
    return f"{county.name}{bureau}"
