"""`_search` options that shape the hits (issue #19 item 5: nothing accepted is ignored): each is
applied as Elasticsearch applies it, or refused with a 400 naming it — checked through the official
Python client."""

import elasticsearch
import pytest

from test_first_start import ready_client


@pytest.fixture
def es(node):
    es = ready_client(hosts=[node.url], basic_auth=("elastic", node.password), ca_certs=node.ca)
    es.indices.create(
        index="so1",
        mappings={
            "properties": {
                "title": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
                "tags": {"type": "keyword"},
                "n": {"type": "long"},
                "created": {"type": "date"},
            }
        },
    )
    docs = [
        {"title": "red fox", "tags": ["b", "a", "b"], "n": 1, "created": "2026-03-04T05:06:07Z"},
        {"title": "red hen", "tags": ["c"], "n": 2, "created": "2025-01-01T00:00:00Z"},
        {"title": "blue fox", "tags": [], "n": 3, "created": "2024-12-31T23:59:59Z"},
    ]
    for i, d in enumerate(docs, 1):
        es.index(index="so1", id=str(i), document=d)
    es.index(index="so1", id="1", document=docs[0])  # version 2
    es.index(index="so2", id="x", document={"title": "red panda"})
    es.indices.refresh(index="so1,so2")
    return es


def by_id(resp):
    return {h["_id"]: h for h in resp["hits"]["hits"]}


def test_fields_and_docvalue_fields(es):
    r = es.search(
        index="so1",
        query={"ids": {"values": ["1"]}},
        fields=["title*", {"field": "created", "format": "yyyy"}, "n"],
        docvalue_fields=["tags"],
        source=False,
    )
    hit = r["hits"]["hits"][0]
    assert "_source" not in hit
    assert hit["fields"] == {
        "title": ["red fox"],
        "title.raw": ["red fox"],
        "created": ["2026"],
        "n": [1],
        "tags": ["a", "b"],  # doc values: sorted, distinct
    }
    # An unmapped field appears only with include_unmapped.
    es.index(index="so1", id="u", document={"extra_obj": {"k": "v"}}, refresh=True)
    r = es.search(index="so1", query={"ids": {"values": ["u"]}}, fields=["extra_obj.k"])
    assert r["hits"]["hits"][0]["fields"] == {"extra_obj.k": ["v"]}  # mapped dynamically
    with pytest.raises(elasticsearch.BadRequestError) as e:
        es.search(index="so1", fields=[{"field": "n", "bogus": 1}])
    assert "bogus" in e.value.body["error"]["reason"]


def test_stored_fields(es):
    r = es.search(index="so1", query={"ids": {"values": ["2"]}}, stored_fields=["title"])
    hit = r["hits"]["hits"][0]
    assert hit["_id"] == "2" and "_source" not in hit  # nothing is stored apart from _source
    r = es.search(index="so1", query={"ids": {"values": ["2"]}}, stored_fields=["title"], source=True)
    assert r["hits"]["hits"][0]["_source"]["n"] == 2
    r = es.search(index="so1", stored_fields="_none_")
    assert r["hits"]["hits"] and all("_id" not in h and "_source" not in h for h in r["hits"]["hits"])
    with pytest.raises(elasticsearch.BadRequestError) as e:
        es.search(index="so1", stored_fields="_none_", fields=["n"])
    assert e.value.body["error"]["reason"] == "[stored_fields] cannot be disabled when using the [fields] option"


def test_version_explain_terminate_after(es):
    r = es.search(index="so1", query={"ids": {"values": ["1", "2"]}}, version=True)
    hits = by_id(r)
    assert (hits["1"]["_version"], hits["2"]["_version"]) == (2, 1)
    r = es.search(index="so1", query={"match": {"title": "fox"}})
    assert all("_version" not in h and "_explanation" not in h for h in r["hits"]["hits"])

    r = es.search(index="so1", query={"match": {"title": "fox"}}, explain=True)
    for h in r["hits"]["hits"]:
        e = h["_explanation"]
        assert abs(e["value"] - h["_score"]) < 1e-4, e
        assert isinstance(e["description"], str) and isinstance(e["details"], list)

    r = es.search(index="so1", query={"match_all": {}}, terminate_after=2)
    assert r["terminated_early"] is True and r["hits"]["total"]["value"] == 2
    r = es.search(index="so1", query={"match_all": {}}, terminate_after=100)
    assert r["terminated_early"] is False and r["hits"]["total"]["value"] == 3
    r = es.search(index="so1")
    assert "terminated_early" not in r


def test_indices_boost(es):
    q = {"match": {"title": "red"}}
    plain = es.search(index="so1,so2", query=q)
    boosted = es.search(index="so1,so2", query=q, indices_boost=[{"so2": 10.0}])
    assert boosted["hits"]["hits"][0]["_index"] == "so2"
    before = {h["_index"] + h["_id"]: h["_score"] for h in plain["hits"]["hits"]}
    after = {h["_index"] + h["_id"]: h["_score"] for h in boosted["hits"]["hits"]}
    assert abs(after["so2x"] - 10 * before["so2x"]) < 1e-3
    assert after["so11"] == pytest.approx(before["so11"])
    # Patterns count; the first entry naming an index wins.
    boosted = es.search(index="so1,so2", query=q, indices_boost=[{"so1": 0.001}, {"so*": 10.0}])
    assert boosted["hits"]["hits"][0]["_index"] == "so2"
    with pytest.raises(elasticsearch.BadRequestError):
        es.search(index="so1", indices_boost={"so1": "x"})


@pytest.mark.parametrize(
    "body, key",
    [
        ({"highlight": {"fields": {"title": {}}}}, "highlight"),
        ({"profile": True}, "profile"),
        ({"runtime_mappings": {"d": {"type": "long"}}}, "runtime_mappings"),
        ({"stats": ["group"]}, "stats"),
        ({"timeout": "soon"}, "timeout"),
        ({"_name": "q"}, "_name"),
    ],
)
def test_what_is_not_built_is_refused(es, body, key):
    with pytest.raises(elasticsearch.BadRequestError) as e:
        es.search(index="so1", body=body)
    assert key in e.value.body["error"]["reason"]


def test_what_asks_for_nothing_is_accepted(es):
    r = es.search(index="so1", body={"profile": False, "runtime_mappings": {}, "timeout": "5s", "stats": []})
    assert r["hits"]["total"]["value"] == 3


@pytest.mark.parametrize(
    "query, key",
    [
        ({"match": {"title": {"query": "red", "fuzziness": "AUTO"}}}, "fuzziness"),
        ({"match": {"title": {"query": "red", "analyzer": "whitespace"}}}, "analyzer"),
        ({"match_phrase": {"title": {"query": "red", "zero_terms_query": "all"}}}, "zero_terms_query"),
        ({"query_string": {"query": "red", "time_zone": "Europe/Paris"}}, "time_zone"),
        ({"query_string": {"query": "red", "type": "phrase"}}, "type"),
        ({"simple_query_string": {"query": "red", "flags": "NONE"}}, "flags"),
        ({"range": {"n": {"gte": 1, "relation": "within"}}}, "relation"),
        ({"bool": {"must": [], "disable_coord": True}}, "disable_coord"),
        ({"match": {"title": {"query": "red", "cutoff_frequency": 0.1}}}, "cutoff_frequency"),
    ],
)
def test_query_parameters_that_would_change_matches_are_refused(es, query, key):
    with pytest.raises(elasticsearch.BadRequestError) as e:
        es.search(index="so1", query=query)
    assert f"[{key}]" in e.value.body["error"]["reason"]


def test_query_parameters_at_their_defaults_are_accepted(es):
    q = {"bool": {"must": [
        {"match": {"title": {"query": "red", "fuzziness": 0, "analyzer": "standard", "max_expansions": 5}}},
        {"query_string": {"query": "red", "time_zone": "UTC", "analyze_wildcard": True}},
        {"range": {"n": {"gte": 1, "relation": "INTERSECTS"}}},
    ], "adjust_pure_negative": True}}
    assert es.search(index="so1", query=q)["hits"]["total"]["value"] == 2
