"""The DCAT-AP 3.0.1 export: SHACL conformance (pyshacl against the SEMIC shapes, unchanged),
Hydra paging, the modified-since filter, content negotiation, and the public gate."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pyshacl import validate
from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import SH
from sqlalchemy import select

from govdata.app import create_app
from govdata.catalog import actions as catalog_actions
from govdata.catalog.schemas import EntryUpdate, NewVersion, PublishRequest
from govdata.opendata import datasets, dcat
from govdata.opendata.schemas import FeatureIn, ProposeIn, WithdrawIn
from govdata.security.audit import AuditRecord
from tests.identity.conftest import Org
from tests.opendata.fixtures import Opened, collected_schools, opened_schools, school_content

# Plain namespaces: rdflib's closed ones warn when pytest looks over the module.
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
FOAF = Namespace("http://xmlns.com/foaf/0.1/")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
EU = "http://publications.europa.eu/resource/authority/"
REFERENCE = Path(__file__).parent / "reference" / "dcat-ap-3.0.1"
PARSERS = {"ttl": "turtle", "jsonld": "json-ld", "rdf": "xml"}
TYPES = {
    "ttl": "text/turtle; charset=utf-8",
    "jsonld": "application/ld+json",
    "rdf": "application/rdf+xml; charset=utf-8",
}
BASE = "http://testserver"


# The release's two files name property shapes defined in neither file: seven references
# with no triples of their own (two in dcat-ap-SHACL.ttl that ranges.ttl defines, five in
# ranges.ttl that nothing defines). pyshacl refuses to run on a reference without a
# definition, so the five are unlinked after loading. They constrain nothing (no path, no
# class, no count), so no rule is lost; the files themselves stay byte-for-byte as released.
UNDEFINED = {
    "dcat:DatasetShape/4918ff7a6c1c4b0eea6403dca4b992b87ee1f4ab",
    "dcat:DatasetShape/95c69c99a1e3ade043911b51b942f206dea0e68d",
    "dcat:DistributionShape/653804840386e33525b3d39d205c174780be414b",
    "dcat:DistributionShape/a07d6e7a0a1790b89a1ce7ff602cbbd9ea835282",
    "dcat:RelationshipShape/b7aa98e1befa5130659568aa62e7f38575dc17c1",
}
RELEASE = "https://semiceu.github.io/DCAT-AP/releases/3.0.1#"


@cache
def shapes() -> Graph:
    """The SEMIC shapes as released: the constraints and the range file the README names."""
    g = Graph()
    g.parse(REFERENCE / "dcat-ap-SHACL.ttl", format="turtle")
    g.parse(REFERENCE / "ranges.ttl", format="turtle")
    undefined = {p for p in g.objects(None, SH.property) if (p, None, None) not in g}
    assert undefined == {URIRef(RELEASE + ref) for ref in UNDEFINED}
    for ref in undefined:
        g.remove((None, SH.property, ref))
    return g


def conforms(g: Graph) -> None:
    ok, _report, text = validate(
        g,
        shacl_graph=shapes(),
        inference="none",
        advanced=False,
        meta_shacl=False,
        allow_warnings=False,
    )
    assert ok is True, text


def parse(body: bytes, fmt: str) -> Graph:
    g = Graph()
    g.parse(data=body, format=PARSERS[fmt])
    return g


def dataset_uri(opened: Opened) -> URIRef:
    return URIRef(f"{BASE}/dataset/{opened.dataset_id}")


@dataclass
class World:
    org: Org
    client: TestClient
    open: Opened
    conditional: Opened
    hidden: list[tuple[str, str]]  # (an id or name, the title) of datasets the public never sees


@pytest.fixture
def world(org: Org, tmp_path: Path) -> Iterator[World]:
    """Two public datasets (open, conditional) and four the public must never see."""
    open_ = opened_schools(org, tmp_path, name="全省中小学校名录")
    conditional = opened_schools(org, tmp_path, name="科研院所名录", open_type="conditional")
    hidden: list[tuple[str, str]] = []
    for title, kw in (
        ("三级数据学校名录", {"grade": 3}),
        ("不予开放学校名录", {"open_type": "closed"}),
    ):
        entry_id, code, _ = collected_schools(org, tmp_path, name=title, **kw)  # type: ignore[arg-type]
        hidden.append((code, title))
    entry_id, code, _ = collected_schools(org, tmp_path, name="待审核学校名录")
    with org.as_("xn_officer").act() as ctx:
        proposed = datasets.propose_opening(ctx, entry_id, ProposeIn())
    hidden += [(proposed.id, "待审核学校名录"), (proposed.name, "待审核学校名录")]
    withdrawn = opened_schools(org, tmp_path, name="已撤下学校名录")
    with org.as_("xn_officer").act() as ctx:
        datasets.withdraw_dataset(ctx, withdrawn.dataset_id, WithdrawIn(reason="停止更新"))
    hidden += [(withdrawn.dataset_id, "已撤下学校名录"), (withdrawn.name, "已撤下学校名录")]
    with TestClient(create_app(org.settings, migrate=False), follow_redirects=False) as client:
        yield World(org, client, open_, conditional, hidden)


def test_the_catalog_conforms_in_every_serialisation(world: World) -> None:
    graphs = []
    for fmt in ("ttl", "jsonld", "rdf"):
        r = world.client.get(f"/catalog.{fmt}")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == TYPES[fmt]
        g = parse(r.content, fmt)
        graphs.append(g)
        conforms(g)
        catalog = URIRef(f"{BASE}/catalog")
        assert (catalog, RDF.type, DCAT.Catalog) in g
        members = set(g.objects(catalog, DCAT.dataset))
        assert members == {dataset_uri(world.open), dataset_uri(world.conditional)}
        # Chinese literals come back as written, with their language tag.
        assert (dataset_uri(world.open), DCTERMS.title, Literal("全省中小学校名录", lang="zh")) in g
        assert (catalog, DCTERMS.title, Literal("公共数据开放平台", lang="zh")) in g
        # Chinese is written as UTF-8 text (not escaped), so the search below is meaningful.
        text = r.content.decode("utf-8")
        assert "全省中小学校名录" in text and "科研院所名录" in text
        for ref, title in world.hidden:
            assert ref not in text and title not in text
    # The three say exactly the same (but for the page's own address, in its format).
    for g in graphs:
        g.remove((_view(g), None, None))
    assert isomorphic(graphs[0], graphs[1]) and isomorphic(graphs[0], graphs[2])


def test_dataset_facts(world: World) -> None:
    g = parse(world.client.get("/catalog.ttl").content, "ttl")
    ds = dataset_uri(world.open)
    assert g.value(ds, DCTERMS.identifier) == Literal(world.open.dataset_id)
    assert (ds, DCTERMS.accessRights, URIRef(f"{EU}access-right/PUBLIC")) in g
    cond = dataset_uri(world.conditional)
    assert (cond, DCTERMS.accessRights, URIRef(f"{EU}access-right/RESTRICTED")) in g
    landing = URIRef(f"{BASE}/open/datasets/{world.open.name}")
    assert (ds, DCAT.landingPage, landing) in g and (landing, RDF.type, FOAF.Document) in g
    dists = list(g.objects(ds, DCAT.distribution))
    assert len(dists) == 4
    formats = {g.value(d, DCTERMS["format"]) for d in dists}
    assert formats == {URIRef(f"{EU}file-type/{f}") for f in ("CSV", "XLSX", "JSON")}
    downloads = {g.value(d, DCAT.downloadURL) for d in dists} - {None}
    assert downloads == {
        URIRef(f"{BASE}/open/datasets/{world.open.name}/download.{ext}")
        for ext in ("csv", "xlsx", "json")
    }
    (api,) = [d for d in dists if g.value(d, DCAT.accessService) is not None]
    service = g.value(api, DCAT.accessService)
    assert (service, RDF.type, DCAT.DataService) in g
    assert str(g.value(api, DCAT.accessURL)).startswith(
        f"{BASE}/api/3/action/datastore_search?resource_id="
    )
    for d in dists:
        assert g.value(d, DCTERMS.license) == URIRef("https://creativecommons.org/licenses/by/4.0/")
    # Conditional files are reached through the landing page (apply first); the links stay.
    cond_dists = list(g.objects(cond, DCAT.distribution))
    cond_landing = URIRef(f"{BASE}/open/datasets/{world.conditional.name}")
    assert {g.value(d, DCAT.accessURL) for d in cond_dists if g.value(d, DCAT.downloadURL)} == {
        cond_landing
    }
    publisher = g.value(ds, DCTERMS.publisher)
    assert (publisher, RDF.type, FOAF.Agent) in g
    assert str(publisher) == f"{g.value(publisher, FOAF.homepage)}#org"
    assert str(g.value(publisher, FOAF.homepage)).startswith(f"{BASE}/open/publishers/")
    assert g.value(publisher, FOAF.name).language == "zh"
    theme = g.value(ds, DCAT.theme)
    assert (theme, RDF.type, SKOS.Concept) in g and g.value(theme, SKOS.prefLabel) is not None
    contact = g.value(ds, DCAT.contactPoint)
    assert (contact, RDF.type, VCARD.Kind) in g and g.value(contact, VCARD.fn) is not None
    assert g.value(ds, DCTERMS.accrualPeriodicity).startswith(f"{EU}frequency/")


def test_one_dataset_conforms_and_hidden_ones_are_not_found(world: World) -> None:
    ds = dataset_uri(world.conditional)
    for ref in (world.conditional.dataset_id, world.conditional.name):
        for fmt in ("ttl", "jsonld", "rdf"):
            r = world.client.get(f"/dataset/{ref}.{fmt}")
            assert r.status_code == 200 and r.headers["content-type"] == TYPES[fmt]
            g = parse(r.content, fmt)
            conforms(g)
            assert set(g.subjects(RDF.type, DCAT.Dataset)) == {ds}
            assert (ds, DCTERMS.title, Literal("科研院所名录", lang="zh")) in g
    # By its resource code (which holds a slash) too.
    r = world.client.get(f"/dataset/{world.open.resource_code}.ttl")
    assert (dataset_uri(world.open), RDF.type, DCAT.Dataset) in parse(r.content, "ttl")
    # By content negotiation at the dataset's URI; a browser is sent on to its page.
    r = world.client.get(f"/dataset/{world.open.dataset_id}", headers={"Accept": "text/turtle"})
    assert r.headers["content-type"] == TYPES["ttl"] and r.headers["vary"] == "Accept"
    assert (dataset_uri(world.open), RDF.type, DCAT.Dataset) in parse(r.content, "ttl")
    r = world.client.get(f"/dataset/{world.open.dataset_id}", headers={"Accept": "text/html"})
    assert r.status_code == 303 and r.headers["location"] == f"/open/datasets/{world.open.name}"
    for ref, _title in world.hidden:
        for path in (f"/dataset/{ref}.ttl", f"/dataset/{ref}.jsonld", f"/dataset/{ref}.rdf"):
            r = world.client.get(path)
            assert r.status_code == 404, path
            assert r.json()["error"]["code"] == "opendata_dataset_not_found", (path, r.text)
        r = world.client.get(f"/dataset/{ref}", headers={"Accept": "text/html"})
        assert r.status_code == 404


def _view(g: Graph) -> URIRef:
    (view,) = g.subjects(RDF.type, HYDRA.PartialCollectionView)
    assert isinstance(view, URIRef)
    return view


def test_paging_covers_every_dataset_once(world: World, tmp_path: Path) -> None:
    third = opened_schools(world.org, tmp_path, name="全省幼儿园名录")
    expected = {dataset_uri(o) for o in (world.open, world.conditional, third)}
    seen: list[URIRef] = []
    url: str | None = f"{BASE}/catalog.jsonld?page=1&page_size=1"
    pages = 0
    while url is not None:
        r = world.client.get(url)
        assert r.status_code == 200
        g = parse(r.content, "jsonld")
        conforms(g)
        pages += 1
        seen += [d for d in g.objects(URIRef(f"{BASE}/catalog"), DCAT.dataset)]
        view = _view(g)
        assert str(view) == url
        assert g.value(view, HYDRA.totalItems).toPython() == 3
        assert g.value(view, HYDRA.itemsPerPage).toPython() == 1
        assert str(g.value(view, HYDRA.first)) == f"{BASE}/catalog.jsonld?page=1&page_size=1"
        assert str(g.value(view, HYDRA.last)) == f"{BASE}/catalog.jsonld?page=3&page_size=1"
        previous = g.value(view, HYDRA.previous)
        assert previous == (
            None if pages == 1 else URIRef(f"{BASE}/catalog.jsonld?page={pages - 1}&page_size=1")
        )
        nxt = g.value(view, HYDRA.next)
        url = None if nxt is None else str(nxt)
    assert pages == 3
    assert sorted(seen) == sorted(expected) and len(seen) == 3
    # The default page holds them all and links nowhere else.
    g = parse(world.client.get("/catalog.ttl").content, "ttl")
    view = _view(g)
    assert str(view) == f"{BASE}/catalog.ttl?page=1"
    assert g.value(view, HYDRA.itemsPerPage).toPython() == 100
    assert g.value(view, HYDRA.next) is None and g.value(view, HYDRA.previous) is None
    # Past the last page: an empty page that still links back.
    g = parse(world.client.get("/catalog.ttl?page=9&page_size=2").content, "ttl")
    conforms(g)
    assert list(g.objects(URIRef(f"{BASE}/catalog"), DCAT.dataset)) == []
    assert str(g.value(_view(g), HYDRA.last)) == f"{BASE}/catalog.ttl?page=2&page_size=2"


def test_modified_since(world: World) -> None:
    time.sleep(0.05)
    cut = datetime.now(UTC)
    time.sleep(0.05)
    with world.org.as_("operator").act() as ctx:
        datasets.feature_dataset(ctx, world.conditional.dataset_id, FeatureIn(featured=True))
    catalog = URIRef(f"{BASE}/catalog")

    def members(since: str) -> set[URIRef]:
        r = world.client.get("/catalog.ttl", params={"modified_since": since})
        assert r.status_code == 200, r.text
        g = parse(r.content, "ttl")
        conforms(g)
        assert g.value(_view(g), HYDRA.totalItems).toPython() == len(
            set(g.objects(catalog, DCAT.dataset))
        )
        return {d for d in g.objects(catalog, DCAT.dataset) if isinstance(d, URIRef)}

    assert members(cut.isoformat()) == {dataset_uri(world.conditional)}
    assert members(cut.strftime("%Y-%m-%dT%H:%M:%S.%fZ")) == {dataset_uri(world.conditional)}
    # A date alone is midnight Beijing time.
    assert members("2000-01-01") == {dataset_uri(world.open), dataset_uri(world.conditional)}
    assert members("2999-01-01") == set()
    # The filter is carried into the Hydra links.
    r = world.client.get("/catalog.ttl", params={"modified_since": "2000-01-01", "page_size": 1})
    g = parse(r.content, "ttl")
    nxt = g.value(_view(g), HYDRA.next)
    assert nxt is not None and "modified_since=" in nxt
    g2 = parse(world.client.get(str(nxt)).content, "ttl")
    assert g2.value(_view(g2), HYDRA.totalItems).toPython() == 2
    assert set(g.objects(catalog, DCAT.dataset)) | set(g2.objects(catalog, DCAT.dataset)) == {
        dataset_uri(world.open),
        dataset_uri(world.conditional),
    }


@pytest.fixture
def client(org: Org) -> Iterator[TestClient]:
    with TestClient(create_app(org.settings, migrate=False), follow_redirects=False) as c:
        yield c


def test_an_empty_catalog_conforms_and_the_validator_bites(client: TestClient) -> None:
    for fmt in ("ttl", "jsonld", "rdf"):
        r = client.get(f"/catalog.{fmt}")
        assert r.status_code == 200
        g = parse(r.content, fmt)
        conforms(g)
        catalog = URIRef(f"{BASE}/catalog")
        assert list(g.objects(catalog, DCAT.dataset)) == []
        view = _view(g)
        assert g.value(view, HYDRA.totalItems).toPython() == 0
        assert g.value(view, HYDRA.next) is None
    # Without its mandatory title the catalog no longer conforms: the check is real.
    g.remove((catalog, DCTERMS.title, None))
    ok, _graph, text = validate(g, shacl_graph=shapes(), inference="none")
    assert ok is False and "title" in text


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("page=0", "page"),
        ("page=abc", "page"),
        ("page=-1", "page"),
        ("page=1000001", "page"),
        ("page_size=0", "page_size"),
        ("page_size=1001", "page_size"),
        ("page_size=1.5", "page_size"),
        ("modified_since=yesterday", "modified_since"),
        ("modified_since=2026-13-01", "modified_since"),
    ],
)
def test_bad_parameters_are_400(client: TestClient, query: str, param: str) -> None:
    r = client.get(f"/catalog.ttl?{query}")
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "opendata_dcat_bad_param" and error["details"]["param"] == param
    assert param in error["message"]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_catalog_by_content_negotiation(client: TestClient) -> None:
    for accept, fmt in (
        ("text/turtle", "ttl"),
        ("application/ld+json", "jsonld"),
        ("application/rdf+xml;q=0.9, text/html;q=0.5", "rdf"),
    ):
        r = client.get("/catalog?page_size=5", headers={"Accept": accept})
        assert r.status_code == 200 and r.headers["content-type"] == TYPES[fmt]
        assert r.headers["vary"] == "Accept"
        assert str(_view(parse(r.content, fmt))) == f"{BASE}/catalog?page=1&page_size=5"
    # A browser still reaches the government portal's catalog page (sign-in first).
    for accept in ("text/html,*/*;q=0.8", "*/*", "text/turtle;q=0.5, text/html"):
        r = client.get("/catalog", headers={"Accept": accept})
        assert r.status_code == 303 and "/login" in r.headers["location"], accept
    assert client.get("/catalog.csv").status_code == 404


def test_reads_are_audited(world: World) -> None:
    world.client.get("/catalog.ttl?page_size=7")
    world.client.get(f"/dataset/{world.open.name}.jsonld")
    with world.org.db.sessions() as s:
        rows = s.execute(
            select(AuditRecord.action, AuditRecord.target_id, AuditRecord.row_count).where(
                AuditRecord.action.like("opendata.dcat.%")
            )
        ).all()
    assert ("opendata.dcat.catalog", None, 2) in rows
    assert ("opendata.dcat.dataset", world.open.dataset_id, 1) in rows


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_reference_shapes_are_the_shared_copy(store_url: str) -> None:
    """The tests carry a copy of the shapes (a clean clone has no ../shared); when the shared
    reference is there, the copy must be byte-identical to it."""
    repo = Path(__file__).resolve().parents[2]
    shared = [
        Path("/work/shared/reference/dcat-ap-3.0.1"),
        repo.parent / "shared" / "reference" / "dcat-ap-3.0.1",
    ]
    names = sorted(p.name for p in REFERENCE.iterdir())
    assert names == ["README.md", "dcat-ap-SHACL.ttl", "ranges.ttl"]
    compared = 0
    for folder in shared:
        if not folder.is_dir():
            continue
        assert sorted(p.name for p in folder.iterdir()) == names
        for name in names:
            assert (folder / name).read_bytes() == (REFERENCE / name).read_bytes(), name
            compared += 1
    if compared == 0:
        pytest.skip("no shared reference folder next to this checkout")


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [
        ("text/turtle", "ttl"),
        ("application/ld+json", "jsonld"),
        ("application/rdf+xml", "rdf"),
        ("TEXT/Turtle; charset=utf-8", "ttl"),
        ("application/rdf+xml;q=0.8, text/turtle;q=0.9", "ttl"),
        ("text/html;q=0.9, application/ld+json", "jsonld"),
        ("text/html", None),
        ("*/*", None),
        ("", None),
        ("text/turtle;q=0", None),
        ("text/turtle;q=abc", None),
        ("text/turtle;q=0.4, text/html;q=0.5", None),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", None),
    ],
)
def test_negotiate(accept: str, fmt: str | None) -> None:
    assert dcat.negotiate(accept) == fmt


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-01-31", "2026-01-30T16:00:00+00:00"),
        ("2026-01-31T08:00:00Z", "2026-01-31T08:00:00+00:00"),
        ("2026-01-31T16:00:00+08:00", "2026-01-31T08:00:00+00:00"),
        ("2026-01-31 08:00", "2026-01-31T00:00:00+00:00"),
        (" 2026-01-31T08:00:00.250000Z ", "2026-01-31T08:00:00.250000+00:00"),
    ],
)
def test_modified_since_values(text: str, utc: str) -> None:
    assert dcat.parse_since(text).isoformat() == utc


@pytest.mark.parametrize("text", ["31/01/2026", "2026-02-30", "now", "2026-01-31T25:00"])
def test_modified_since_refusals(text: str) -> None:
    with pytest.raises(dcat.BadRequest) as exc:
        dcat.parse_since(text)
    assert exc.value.status == 400 and exc.value.details == {
        "param": "modified_since",
        "value": text,
    }


def test_a_dataset_closed_after_opening_leaves_the_export(org: Org, tmp_path: Path) -> None:
    opened = opened_schools(org, tmp_path)
    with TestClient(create_app(org.settings, migrate=False), follow_redirects=False) as client:
        assert client.get(f"/dataset/{opened.name}.ttl").status_code == 200
        # The provider publishes a new version that closes it: no sync step, it is gone.
        with org.as_("xn_officer").act() as ctx:
            catalog_actions.new_version(ctx, opened.entry_id, NewVersion(change_note="不再开放"))
            catalog_actions.update_entry(
                ctx, opened.entry_id, EntryUpdate(**school_content(open_type="closed"))
            )
            catalog_actions.submit_entry(ctx, opened.entry_id)
        with org.as_("operator").act() as ctx:
            catalog_actions.publish_entry(ctx, opened.entry_id, PublishRequest())
        for fmt in ("ttl", "jsonld", "rdf"):
            r = client.get(f"/catalog.{fmt}")
            g = parse(r.content, fmt)
            conforms(g)
            assert list(g.subjects(RDF.type, DCAT.Dataset)) == []
            assert opened.dataset_id not in r.text and "全省中小学校名录" not in r.text
            assert client.get(f"/dataset/{opened.dataset_id}.{fmt}").status_code == 404
