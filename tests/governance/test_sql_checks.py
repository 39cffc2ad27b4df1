"""The identifier checks compiled to DuckDB SQL agree with the Python validators, value for
value, on valid vectors, on each way a value can be wrong, and on random strings."""

from __future__ import annotations

import random
from datetime import date, timedelta

import duckdb
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from govdata.governance import sql_checks, validators
from govdata.governance.validators import resident_id_check

CC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _sql_verdicts(values: list[str | None], check: object) -> list[bool]:
    con = duckdb.connect()
    try:
        con.register("v", pa.table({"value": pa.array(values, pa.string())}))
        expr = sql_checks.to_duckdb(check("value"))  # type: ignore[operator]
        return [row[0] for row in con.execute(f"SELECT {expr} FROM v").fetchall()]
    finally:
        con.close()


def _resident_ids(rng: random.Random) -> list[str | None]:
    out: list[str | None] = []
    for _ in range(300):
        born = date(1930, 1, 1) + timedelta(days=rng.randrange(30_000))
        first17 = f"{rng.choice(sorted(validators.PROVINCE_CODES))}{rng.randrange(10**4):04d}"
        first17 += f"{born:%Y%m%d}{rng.randrange(1000):03d}"
        good = first17 + resident_id_check(first17)
        out += [good, good.lower(), first17 + str((int(good[-1], 36) + 1) % 10)]
    future = date.today() + timedelta(days=400)
    out += [
        "630102199902301234",  # 30 February
        "630102199913011234",  # month 13
        f"630102{future:%Y%m%d}123" + "0",  # born in the future
        "630102179912311234",  # before 1800
        "000102199001011234",  # no such province
        "630102900101123",  # the 15-digit scheme
        "63010219900101123",  # 17 characters
        "6301021990010112345",  # 19 characters
        "63010219900101123Y",
        " 630102199001011234",
        "６３０１０２１９９００１０１１２３４",  # full-width digits
        "",
        None,
    ]
    return out


def _credit_codes(rng: random.Random) -> list[str | None]:
    out: list[str | None] = []
    for _ in range(300):
        body = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
        org_total = sum(int(c, 36) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2)))
        org_check = (11 - org_total % 11) % 11
        org = body + ("X" if org_check == 10 else str(org_check))
        first17 = rng.choice("19ANY") + rng.choice("123") + f"{rng.randrange(10**6):06d}" + org
        total = sum(CC_ALPHABET.index(c) * pow(3, j, 31) for j, c in enumerate(first17))
        good = first17 + CC_ALPHABET[(31 - total % 31) % 31]
        wrong_check = first17 + CC_ALPHABET[(CC_ALPHABET.index(good[-1]) + 1) % 31]
        wrong_org = first17[:16] + ("0" if first17[16] != "0" else "1") + good[-1]
        out += [good, wrong_check, wrong_org, good.lower()]
    out += ["91350100M000100Y4I", "91350100M000100Y4", "", None, "９１350100M000100Y43"]
    return out


def test_resident_id_sql_agrees_with_the_validator() -> None:
    values = _resident_ids(random.Random(11643))
    expected = [validators.resident_id(x) for x in values]
    assert sum(expected) >= 600  # the vectors hold valid numbers, not only bad ones
    assert _sql_verdicts(values, sql_checks.resident_id) == expected


def test_credit_code_sql_agrees_with_the_validator() -> None:
    values = _credit_codes(random.Random(32100))
    expected = [validators.credit_code(x) for x in values]
    assert sum(expected) == 300  # each good code, and none of its broken variants
    assert _sql_verdicts(values, sql_checks.credit_code) == expected


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.text(alphabet="0123456789XxABNY ", min_size=0, max_size=20) | st.none(),
        min_size=1,
        max_size=60,
    )
)
def test_random_strings_get_the_same_verdicts(values: list[str | None]) -> None:
    for check, python in (
        (sql_checks.resident_id, validators.resident_id),
        (sql_checks.credit_code, validators.credit_code),
        (sql_checks.mobile, validators.mobile),
    ):
        assert _sql_verdicts(values, check) == [python(x) for x in values]
