"""Entity resolution (governance/linkage.py) on a generated population with known truth.

About 1,700 people held by three departments (~4,600 records) with the defects of
``baselib_synth``: ID typos and swapped digits, full-width digits and lowercase x,
homophones and traditional characters in names, spaces, missing values, day and month
swapped, duplicates inside a source. Precision and recall are computed here from the
truth, pair by pair.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from govdata.core.errors import InvalidInput
from govdata.governance import baselib_synth as synth
from govdata.governance import linkage
from govdata.governance import validators as v

PERSONS = 1700
AUTHORITY = {
    "resident_id": ["police", "social", "civil"],
    "name": ["police", "civil", "social"],
    "gender": ["police", "social", "civil"],
    "birth_date": ["police", "social", "civil"],
    "address": ["civil", "police", "social"],
    "phone": ["social", "civil"],
}
# The thresholds the model must beat on this population (it reaches ~0.999 and ~0.997).
MIN_PRECISION = 0.99
MIN_RECALL = 0.98


def _spec(
    gen: duckdb.DuckDBPyConnection,
    pop: synth.Population,
    tables: dict[str, pa.Table] | None = None,
) -> linkage.LibrarySpec:
    sources = [
        linkage.LinkSource(
            id=name,
            label=label,
            data=(tables or {}).get(name) or synth.source_table(gen, pop, name),
            columns=synth.COLUMN_MAPS[name],
            key=[synth.KEY_COLUMN],
        )
        for name, label, _ in synth.SOURCES
    ]
    return linkage.LibrarySpec(
        subject=linkage.POPULATION,
        sources=sources,
        authority=AUTHORITY,
        threshold=0.95,
        u_pairs=2e5,
    )


@pytest.fixture(scope="module")
def population() -> Iterator[tuple[duckdb.DuckDBPyConnection, synth.Population]]:
    gen = duckdb.connect()
    pop = synth.generate(gen, PERSONS, seed=11)
    yield gen, pop
    gen.close()


@pytest.fixture(scope="module")
def built(
    population: tuple[duckdb.DuckDBPyConnection, synth.Population],
) -> Iterator[linkage.Outcome]:
    gen, pop = population
    outcome = linkage.link(_spec(gen, pop))
    outcome.con.register("truth", gen.sql(f"SELECT * FROM {pop.truth}").to_arrow_table())
    outcome.con.execute(
        "CREATE TABLE built AS SELECT entity_id, source_id AS source, rec_key AS rec_id FROM links"
    )
    yield outcome
    outcome.con.close()


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    rel = con.sql(sql)
    return [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]


def test_precision_and_recall_against_the_truth(built: linkage.Outcome) -> None:
    scores = synth.pairwise_scores(built.con, "built", "truth")
    assert scores["records"] == built.stats["records"] > 4000
    assert scores["true_pairs"] > 3000
    assert scores["precision"] >= MIN_PRECISION, scores
    assert scores["recall"] >= MIN_RECALL, scores
    assert built.mode == "full"
    # The model was trained: λ estimated, and m and u of every exact level and of the ID
    # typo level (levels no pair of this population reaches keep Splink's defaults).
    assert 0 < built.model["probability_two_random_records_match"] < 0.01
    levels = {
        (c["output_column_name"], lv["label_for_charts"]): lv
        for c in built.model["comparisons"]
        for lv in c["comparison_levels"]
    }
    trained = [k for k in levels if k[1] == "exact"] + [
        ("resident_id", "one typo (checksum fails)")
    ]
    for key in trained:
        assert levels[key].get("m_probability") is not None, key
        assert levels[key].get("u_probability") is not None, key
    # Agreement on the ID is strong evidence, a typo'd ID less so, disagreement against.
    id_exact, id_typo = (
        levels[("resident_id", "exact")],
        levels[("resident_id", "one typo (checksum fails)")],
    )
    assert id_exact["m_probability"] / id_exact["u_probability"] > 1000
    assert id_typo["m_probability"] / id_typo["u_probability"] > 10


def test_defective_records_are_linked_to_their_person(
    built: linkage.Outcome, population: tuple[duckdb.DuckDBPyConnection, synth.Population]
) -> None:
    """Records whose ID or name differs from the person's true one still join the person's
    other records: the fuzzy levels, not exact keys, do the work."""
    gen, pop = population
    people = gen.sql(f"SELECT pid, resident_id, name FROM {pop.people}").to_arrow_table()
    built.con.register("people", people)
    # Each source's raw ID and name per record, against the truth.
    raw = built.con.sql(
        """SELECT r.source_id AS source, r.rec_key AS rec_id, r.v_resident_id, r.v_name,
                  t.pid, p.resident_id AS true_id, p.name AS true_name
           FROM records r JOIN truth t ON t.source = r.source_id AND t.rec_id = r.rec_key
           JOIN people p USING (pid)"""
    ).to_arrow_table()
    built.con.register("raw", raw)
    kinds = {
        "id typo": "v_resident_id IS NOT NULL AND v_resident_id <> true_id",
        "name variant": "v_name IS NOT NULL AND v_name <> true_name",
    }
    for kind, condition in kinds.items():
        row = built.con.sql(
            f"""WITH bad AS (SELECT * FROM raw WHERE {condition}),
                   has_partner AS (
                       SELECT b.source, b.rec_id, b.pid FROM bad b
                       WHERE EXISTS (SELECT 1 FROM truth t WHERE t.pid = b.pid
                                     AND NOT (t.source = b.source AND t.rec_id = b.rec_id))
                   )
                SELECT count(*) AS n,
                       count(*) FILTER (WHERE EXISTS (
                           SELECT 1 FROM built x JOIN built y ON x.entity_id = y.entity_id
                           JOIN truth t ON t.source = y.source AND t.rec_id = y.rec_id
                           WHERE x.source = h.source AND x.rec_id = h.rec_id
                             AND t.pid = h.pid
                             AND NOT (y.source = h.source AND y.rec_id = h.rec_id)
                       )) AS linked
                FROM has_partner h"""
        ).fetchall()[0]
        n, linked = int(row[0]), int(row[1])
        assert n >= 40, (kind, n)
        assert linked / n >= 0.95, (kind, linked, n)


def test_golden_fields_follow_the_authority_order(built: linkage.Outcome) -> None:
    """For every entity and field: the value and provenance come from the first source in
    the field's authority order that has a value, the lowest record key within a source."""
    members = _rows(
        built.con,
        """SELECT l.entity_id, r.source_id, r.source_no, r.rec_key, r.v_resident_id AS resident_id,
                  r.v_name AS name, r.v_gender AS gender, r.v_birth_date AS birth_date,
                  r.v_address AS address, r.v_phone AS phone
           FROM links l JOIN records r USING (unique_id)""",
    )
    by_entity: dict[str, list[dict[str, Any]]] = {}
    for m in members:
        by_entity.setdefault(m["entity_id"], []).append(m)
    golden = {g["entity_id"]: g for g in _rows(built.con, "SELECT * FROM golden")}
    assert set(golden) == set(by_entity)
    rules: dict[str, int] = {}
    for entity_id, group in by_entity.items():
        row = golden[entity_id]
        prov = linkage.provenance(row["provenance"])
        assert row["record_count"] == len(group)
        for field, order in AUTHORITY.items():
            have = [m for m in group if m[field] is not None]
            ranked = sorted(
                have,
                key=lambda m, order=order: (
                    order.index(m["source_id"])
                    if m["source_id"] in order
                    else 1_000_000 + m["source_no"],
                    m["rec_key"],
                ),
            )
            if ranked:
                best = ranked[0]
                assert row[field] == best[field], (entity_id, field)
                assert prov[field]["source"] == best["source_id"]
                assert prov[field]["key"] == best["rec_key"]
                expected = "authority" if best["source_id"] in order else "fallback"
                assert prov[field]["rule"] == expected
                rules[expected] = rules.get(expected, 0) + 1
            elif field in ("birth_date", "gender") and v.resident_id(row["resident_id"] or ""):
                # Not held by any member: read from the golden ID number.
                assert prov[field]["rule"] == "derived"
                assert prov[field]["source"] == prov["resident_id"]["source"]
                rules["derived"] = rules.get("derived", 0) + 1
            else:
                assert row[field] is None and field not in prov
    # Police has no phone column: the authority order skips it without a fallback.
    assert rules["authority"] > 5000


def _resident_id(first16: str) -> str:
    return first16 + "1" + v.resident_id_check(first16 + "1")


def _resident_id_x(first14: str) -> str:
    """A female's ID ending in X."""
    for seq in range(100, 1000, 2):
        first17 = first14 + str(seq)
        if int(first17[16]) % 2 == 0 and v.resident_id_check(first17) == "X":
            return first17 + "X"
    raise AssertionError("no X check digit")


def test_fallback_and_derived_values_on_a_hand_built_case() -> None:
    wang_id = _resident_id("6301021990010112")
    li_id = _resident_id_x("63010219850505")
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in wang_id)
    a = pa.table(
        {
            "k": ["a1", "a2"],
            "sfz": [wang_id, li_id],
            "xm": ["王 伟", "李丽"],
            "csrq": [None, "1985-05-05"],
        }
    )
    b = pa.table(
        {
            "id": [1, 2],
            "zjhm": [full_width, li_id.lower()],
            "name": ["王伟", "李麗"],
            "tel": ["+86 13900001111", None],
        }
    )
    assert v.resident_id(wang_id) and v.resident_id(li_id)
    spec = linkage.LibrarySpec(
        subject=linkage.POPULATION,
        sources=[
            linkage.LinkSource(
                id="A",
                data=a,
                columns={"resident_id": "sfz", "name": "xm", "birth_date": "csrq"},
                key=["k"],
            ),
            linkage.LinkSource(
                id="B",
                data=b,
                columns={"resident_id": "zjhm", "name": "name", "phone": "tel"},
                key=["id"],
            ),
        ],
        authority={"resident_id": ["B", "A"], "name": ["A"], "birth_date": ["A"]},
        threshold=0.5,
        u_pairs=1e3,
    )
    # Two people: too few to train on, so this checks normalisation and assembly.
    out = linkage.link(spec)
    try:
        golden = {g["resident_id"]: g for g in _rows(out.con, "SELECT * FROM golden")}
        assert set(golden) == {wang_id, li_id}
        wang = golden[wang_id]
        prov = linkage.provenance(wang["provenance"])
        assert wang["record_count"] == 2
        # Full-width digits and the lowercase x were normalised; the ID comes from B first.
        assert prov["resident_id"] == {"source": "B", "key": "1", "rule": "authority"}
        # Spaces removed, A's spelling kept.
        assert wang["name"] == "王伟" and prov["name"]["source"] == "A"
        # No phone in the authority order: B's, cleaned, as a fallback.
        assert wang["phone"] == "13900001111"
        assert prov["phone"] == {"source": "B", "key": "1", "rule": "fallback"}
        # Birth date held by nobody: read from the ID number; gender likewise (digit 17).
        assert str(wang["birth_date"]) == "1990-01-01"
        assert prov["birth_date"]["rule"] == "derived"
        assert wang["gender"] == "1" and prov["gender"]["rule"] == "derived"
        li = golden[li_id]
        assert li["name"] == "李丽"  # A's simplified spelling, not B's traditional one
        assert str(li["birth_date"]) == "1985-05-05"
        assert linkage.provenance(li["provenance"])["birth_date"]["rule"] == "authority"
        assert li["gender"] == "2"
    finally:
        out.con.close()


def test_duplicates_inside_one_source(
    population: tuple[duckdb.DuckDBPyConnection, synth.Population],
) -> None:
    gen, pop = population
    social = linkage.LinkSource(
        id="social",
        data=synth.source_table(gen, pop, "social"),
        columns=synth.COLUMN_MAPS["social"],
        key=[synth.KEY_COLUMN],
    )
    out = linkage.find_duplicates(social, linkage.POPULATION)
    try:
        found = {
            (r[0], r[1])
            for r in out.con.sql("SELECT entity_id, rec_key FROM duplicates").fetchall()
        }
        injected = gen.sql(
            f"SELECT pid, rec_id FROM {pop.sources['social']} "
            "WHERE pid IN (SELECT pid FROM synth_social WHERE copy = 1)"
        ).fetchall()
        by_pid: dict[int, set[str]] = {}
        for pid, rec in injected:
            by_pid.setdefault(pid, set()).add(rec)
        assert len(by_pid) >= 15  # ~1.5 % of ~1,500 people held twice
        cluster_of = {rec: ent for ent, rec in found}
        hits = sum(
            1
            for recs in by_pid.values()
            if len({cluster_of.get(r) for r in recs} - {None}) == 1
            and all(r in cluster_of for r in recs)
        )
        assert hits / len(by_pid) >= 0.9, (hits, len(by_pid))
        # Nothing else is reported: every reported cluster is one injected person.
        injected_recs = {r for recs in by_pid.values() for r in recs}
        assert {rec for _, rec in found} <= injected_recs
        assert out.stats["duplicate_clusters"] == len({ent for ent, _ in found})
    finally:
        out.con.close()


def test_rebuild_scores_only_changed_records_and_keeps_entity_ids(
    built: linkage.Outcome, population: tuple[duckdb.DuckDBPyConnection, synth.Population]
) -> None:
    gen, pop = population
    previous = linkage.Previous(
        model=built.model, links=built.links().read_all(), edges=built.edges().read_all()
    )
    # Nothing changed: nothing is scored, and the library is the same.
    same = linkage.link(_spec(gen, pop), previous=previous)
    try:
        assert same.mode == "unchanged" and same.stats["scored_records"] == 0
        assert same.golden().read_all().equals(built.golden().read_all())
    finally:
        same.con.close()
    # 30 people moved (civil affairs, the address authority, records it), 5 social
    # insurance records deleted.
    civil = gen.sql(
        f"""SELECT * EXCLUDE (pid, copy) REPLACE (
                CASE WHEN row_number() OVER (ORDER BY rec_id) <= 30 THEN '城西区新址路1号'
                     ELSE jzdz END AS jzdz)
            FROM {pop.sources["civil"]} ORDER BY rec_id"""
    ).to_arrow_table()
    social = synth.source_table(gen, pop, "social")
    social = social.slice(0, social.num_rows - 5)
    again = linkage.link(_spec(gen, pop, {"social": social, "civil": civil}), previous=previous)
    try:
        assert again.mode == "incremental"
        assert again.stats["removed"] == 5
        assert 0 < again.stats["changed"] <= 30
        assert again.stats["scored_records"] == again.stats["changed"]
        # Entities none of whose records changed keep their ids.
        kept = again.con.sql(
            """SELECT count(*) FILTER (WHERE a.entity_id = b.entity_id), count(*)
               FROM links a JOIN prev_links b USING (unique_id)"""
        ).fetchall()[0]
        assert kept[0] / kept[1] > 0.995
        again.con.register("truth", gen.sql(f"SELECT * FROM {pop.truth}").to_arrow_table())
        again.con.execute(
            "CREATE TABLE built AS "
            "SELECT entity_id, source_id AS source, rec_key AS rec_id FROM links"
        )
        scores = synth.pairwise_scores(again.con, "built", "truth")
        assert scores["precision"] >= MIN_PRECISION and scores["recall"] >= MIN_RECALL
        moved = again.con.sql(
            "SELECT count(*) FROM golden WHERE address = '城西区新址路1号'"
        ).fetchall()[0][0]
        # Civil affairs is the address authority: the golden records show the new address.
        assert moved >= 28
    finally:
        again.con.close()


def _credit(body8: str, region: str = "630100") -> str:
    first17 = "91" + region + body8 + v._org_check(body8)
    return first17 + v._credit_check(first17)


def test_legal_entities_link_on_credit_codes_with_a_typo() -> None:
    codes = [_credit(f"{i:08d}") for i in range(40, 100)]
    assert all(v.credit_code(c) for c in codes)
    marks = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥天地玄黄宇宙洪荒日月盈昃"
    marks += "宿列张寒来暑往秋收冬藏闰余成岁律吕调阳云腾致雨露结为霜金生丽水玉出昆冈"
    names = [f"青海{n}商贸有限公司" for n in dict.fromkeys(marks)][:60]
    assert len(set(names)) == 60
    market = pa.table({"tyshxydm": codes, "qymc": names, "fddbr": ["张三"] * 60, "k": range(60)})
    typo = list(codes)
    typo[3] = typo[3][:10] + ("1" if typo[3][10] != "1" else "2") + typo[3][11:]
    assert not v.credit_code(typo[3])
    tax = pa.table({"nsrsbh": typo, "nsrmc": names, "k": range(60)})
    spec = linkage.LibrarySpec(
        subject=linkage.LEGAL_ENTITY,
        sources=[
            linkage.LinkSource(
                id="market",
                data=market,
                columns={"credit_code": "tyshxydm", "name": "qymc", "legal_rep": "fddbr"},
                key=["k"],
            ),
            linkage.LinkSource(
                id="tax", data=tax, columns={"credit_code": "nsrsbh", "name": "nsrmc"}, key=["k"]
            ),
        ],
        authority={"credit_code": ["market", "tax"], "name": ["market"]},
        threshold=0.9,
        u_pairs=5e3,
    )
    out = linkage.link(spec)
    try:
        assert out.stats["entities"] == 60
        sizes = out.con.sql("SELECT record_count, count(*) FROM golden GROUP BY 1").fetchall()
        assert sizes == [(2, 60)]
        row = _rows(out.con, f"SELECT * FROM golden WHERE name = '{names[3]}'")[0]
        assert row["credit_code"] == codes[3]  # the market regulator's, not the typo
        assert row["entity_id"].startswith("E")
    finally:
        out.con.close()


def test_bad_specs_are_refused() -> None:
    table = pa.table({"k": [1], "sfz": ["x"]})
    with pytest.raises(InvalidInput) as err:
        linkage.link(
            linkage.LibrarySpec(
                subject=linkage.POPULATION,
                sources=[
                    linkage.LinkSource(id="A", data=table, columns={"salary": "sfz"}, key=["k"])
                ],
            )
        )
    assert err.value.code == "baselib_mapping_invalid"
    with pytest.raises(InvalidInput) as err:
        linkage.link(
            linkage.LibrarySpec(
                subject=linkage.POPULATION,
                sources=[
                    linkage.LinkSource(
                        id="A", data=table, columns={"resident_id": "nope"}, key=["k"]
                    )
                ],
            )
        )
    assert err.value.code == "baselib_mapping_invalid"
    dup = pa.table({"k": [1, 1], "sfz": ["a", "b"]})
    with pytest.raises(InvalidInput) as err:
        linkage.link(
            linkage.LibrarySpec(
                subject=linkage.POPULATION,
                sources=[
                    linkage.LinkSource(id="A", data=dup, columns={"resident_id": "sfz"}, key=["k"])
                ],
            )
        )
    assert err.value.code == "baselib_key_not_unique"
    with pytest.raises(InvalidInput):
        linkage.subject("galaxy")
