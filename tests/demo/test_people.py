"""Synthetic residents: valid unique IDs, real Qinghai addresses, naming customs, fixed seeds."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from govdata.demo import names
from govdata.demo.divisions import COUNTY_BY_CODE, RETIRED_BY_CODE, full_county_name
from govdata.demo.people import AS_OF, ID_ISSUE_START, OUTSIDE_DIVISIONS, Batch, PersonFactory
from govdata.standards import resident_id


@pytest.fixture(scope="module")
def batch() -> Batch:
    return PersonFactory(11).batch(4000)


def test_every_resident_id_is_valid_unique_and_matches_the_person(batch: Batch) -> None:
    numbers = [p.resident_id for p in batch.persons]
    assert len(numbers) >= 4000
    assert len(set(numbers)) == len(numbers)
    for p in batch.persons:
        assert resident_id.is_valid(p.resident_id), p.resident_id
        assert resident_id.birth_date(p.resident_id) == p.birth
        assert resident_id.is_male(p.resident_id) == p.male
        assert p.birth <= AS_OF


def test_id_division_codes_are_mostly_the_home_county(batch: Batch) -> None:
    home = retired = moved = outside = 0
    for p in batch.persons:
        code = p.resident_id[:6]
        if code == p.county.code:
            home += 1
        elif code in RETIRED_BY_CODE:
            rule = RETIRED_BY_CODE[code]
            # Only numbers issued while the code was in force carry it.
            assert max(p.birth.year, ID_ISSUE_START) <= rule.until_year
            retired += 1
        elif code in COUNTY_BY_CODE:
            moved += 1
        else:
            assert code in OUTSIDE_DIVISIONS
            outside += 1
    total = len(batch.persons)
    assert (home + retired) / total > 0.85
    assert retired > 0
    assert 0 < moved / total < 0.1
    assert 0 < outside / total < 0.03


def test_addresses_are_in_the_real_county_of_the_household(batch: Batch) -> None:
    for hh in batch.households:
        assert hh.county.code in COUNTY_BY_CODE
        assert hh.address.startswith(full_county_name(hh.county)), hh.address
        assert hh.address.endswith(("号", "室")), hh.address
        assert hh.station.endswith("派出所")
        assert hh.number.startswith(hh.county.code)
        assert all(m.address == hh.address and m.county is hh.county for m in hh.members)
    # Households spread over the province roughly by population.
    by_prefecture = Counter(hh.county.prefecture for hh in batch.households)
    assert len(by_prefecture) == 8
    assert by_prefecture["630100"] > by_prefecture["632600"]


def test_households_have_one_head_and_couples_are_man_and_woman(batch: Batch) -> None:
    for hh in batch.households:
        if hh.kind == "家庭户":
            assert [m.relation for m in hh.members].count("户主") == 1
            assert hh.members[0].relation == "户主"
    assert batch.couples
    for couple in batch.couples:
        assert couple.husband.male and not couple.wife.male
        assert couple.married_on <= AS_OF
        # Legal marriage ages: 22 for men, 20 for women.
        assert (couple.married_on - couple.husband.birth).days >= 22 * 365
        assert (couple.married_on - couple.wife.birth).days >= 20 * 365
        if couple.divorced_on is not None:
            assert couple.divorced_on > couple.married_on


def test_names_follow_each_peoples_customs(batch: Batch) -> None:
    han_surnames = {s for s, _ in names.HAN_SURNAMES}
    checked = 0
    for hh in batch.households:
        husband = next((m for m in hh.members if m.relation in ("户主", "配偶") and m.male), None)
        if husband is None or husband.ethnicity != "汉" or hh.kind != "家庭户":
            continue
        assert husband.name[0] in han_surnames
        for child in (m for m in hh.members if m.relation in ("子", "女")):
            if child.ethnicity == "汉":
                assert child.name[0] == husband.name[0], (husband.name, child.name)
                checked += 1
    assert checked > 100
    for hh in batch.households:
        head = hh.members[0]
        for father in (m for m in hh.members if m.relation == "父亲"):
            if head.ethnicity == "汉":
                assert father.name[0] == head.name[0], (head.name, father.name)
    tibetans = [p for p in batch.persons if p.ethnicity == "藏"]
    assert tibetans
    elements = set(names.TIBETAN_ELEMENTS) | set(names.TIBETAN_FEMALE_SOLO)
    assert all(any(p.name.startswith(e) for e in elements) for p in tibetans)


def test_a_seed_always_yields_the_same_people() -> None:
    first = PersonFactory(5).batch(800)
    again = PersonFactory(5).batch(800)
    other = PersonFactory(6).batch(800)

    def key(b: Batch) -> list[tuple[str, str, str, str | None, str]]:
        return [(p.resident_id, p.name, p.address, p.phone, p.updated_at) for p in b.persons]

    assert key(first) == key(again)
    assert key(first) != key(other)


def test_name_variants_change_given_names_only() -> None:
    import random

    rng = random.Random(1)
    assert names.variant(rng, "才让多杰") in ("才仁多杰", "才让多吉")
    assert names.variant(rng, "王玲") == "王琳"
    assert names.variant(rng, "林伟") == "林玮"
    assert names.variant(rng, "张三") == "张三"


def test_a_crowded_birthday_uses_every_sequence_number_then_fails_clearly() -> None:
    factory = PersonFactory(3)
    born = date(1990, 5, 17)
    numbers = {factory._resident_id("630102", born, False) for _ in range(500)}
    assert len(numbers) == 500
    assert all(int(n[16]) % 2 == 0 for n in numbers)
    with pytest.raises(RuntimeError, match="no free resident ID"):
        factory._resident_id("630102", born, False)


def test_no_birthday_is_shared_by_a_crowd() -> None:
    # Clamping young spouses to one date once exhausted a county's ID space at 2M people.
    persons = PersonFactory(8).batch(20000).persons
    crowd = Counter((p.resident_id[:14], p.male) for p in persons)
    assert max(crowd.values()) < 5
