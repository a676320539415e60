"""The data plane with the official Python client, as an application uses it: an index with a
mapping, 10,000 documents through helpers.bulk, searches, sorting and paging, aggregations
checked against the same computation in Python, and the document, index and alias APIs."""

import collections
import datetime
import random

import elasticsearch
import pytest
from elasticsearch import helpers

from test_first_start import ready_client

N = 10_000
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
CATEGORIES = ["books", "music", "games", "garden", "tools"]
START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
MAPPINGS = {
    "properties": {
        "name": {"type": "text"},
        "category": {"type": "keyword"},
        "price": {"type": "long"},
        "rating": {"type": "double"},
        "in_stock": {"type": "boolean"},
        "created": {"type": "date"},
        "seq": {"type": "long"},
    }
}


def iso(t: datetime.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def products():
    rng = random.Random(20261122)
    out = []
    for i in range(N):
        created = START + datetime.timedelta(minutes=rng.randrange(60 * 24 * 60))
        out.append({
            "name": f"product {rng.choice(WORDS)} {rng.choice(WORDS)}",
            "category": rng.choice(CATEGORIES),
            "price": rng.randrange(1, 1000),
            "rating": round(rng.uniform(0, 5), 2),
            "in_stock": rng.random() < 0.7,
            "created": iso(created),
            "seq": i,
            "tags": rng.sample(WORDS, 2),  # not in the mapping: mapped dynamically
        })
    return out


@pytest.fixture
def es(node):
    return ready_client(hosts=[node.url], basic_auth=("elastic", node.password), ca_certs=node.ca)


def total(resp) -> int:
    return resp["hits"]["total"]["value"]


def test_ten_thousand_products(es):
    docs = products()
    es.indices.create(index="products", mappings=MAPPINGS, settings={"number_of_shards": 1})
    ok, errors = helpers.bulk(es.options(request_timeout=60),
                              ({"_index": "products", "_id": str(d["seq"]), "_source": d} for d in docs),
                              chunk_size=1000)
    assert (ok, errors) == (N, [])
    es.indices.refresh(index="products")
    assert es.count(index="products")["count"] == N

    # Dynamic mapping added the unmapped field as text with a keyword sub-field.
    tags = es.indices.get_mapping(index="products")["products"]["mappings"]["properties"]["tags"]
    assert tags == {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}

    def count(query):
        return total(es.search(index="products", query=query, size=0, track_total_hits=True))

    assert count({"match": {"name": "alpha"}}) == sum("alpha" in d["name"].split() for d in docs)
    assert count({"match": {"name": {"query": "alpha bravo", "operator": "and"}}}) == sum(
        {"alpha", "bravo"} <= set(d["name"].split()) for d in docs)
    assert count({"term": {"category": "books"}}) == sum(d["category"] == "books" for d in docs)
    assert count({"terms": {"tags.keyword": ["golf", "hotel"]}}) == sum(bool({"golf", "hotel"} & set(d["tags"])) for d in docs)
    assert count({"range": {"price": {"gte": 100, "lt": 200}}}) == sum(100 <= d["price"] < 200 for d in docs)
    assert count({"range": {"created": {"gte": "2026-02-01", "lt": "2026-02-08"}}}) == sum(
        "2026-02-01" <= d["created"][:10] < "2026-02-08" for d in docs)
    assert count({"bool": {
        "must": [{"term": {"category": "games"}}],
        "filter": [{"range": {"rating": {"gte": 4.0}}}],
        "must_not": [{"term": {"in_stock": False}}],
    }}) == sum(d["category"] == "games" and d["rating"] >= 4.0 and d["in_stock"] for d in docs)
    assert es.count(index="products", query={"term": {"in_stock": True}})["count"] == sum(d["in_stock"] for d in docs)

    # hits.total: a lower bound by default past 10,000, exact when asked, an int when asked.
    assert es.search(index="products", size=0)["hits"]["total"] == {"value": N, "relation": "eq"}
    r = es.search(index="products", size=0, track_total_hits=100)
    assert r["hits"]["total"] == {"value": 100, "relation": "gte"}
    r = es.search(index="products", size=0, rest_total_hits_as_int=True)
    assert r["hits"]["total"] == N

    # Sort and paginate: from/size pages and search_after agree with Python's order.
    expected = sorted(docs, key=lambda d: (-d["price"], d["seq"]))
    sort = [{"price": "desc"}, {"seq": "asc"}]
    seen = []
    for page in range(5):
        r = es.search(index="products", sort=sort, from_=page * 100, size=100, source_includes=["seq"])
        seen += [h["_source"]["seq"] for h in r["hits"]["hits"]]
        assert all(h["_score"] is None for h in r["hits"]["hits"])
    assert seen == [d["seq"] for d in expected[:500]]
    after, seen = None, []
    while len(seen) < 500:
        kw = {"search_after": after} if after else {}
        r = es.search(index="products", sort=sort, size=250, source=False, **kw)
        hits = r["hits"]["hits"]
        assert all("_source" not in h for h in hits)
        seen += [int(h["_id"]) for h in hits]
        after = hits[-1]["sort"]
    assert seen == [d["seq"] for d in expected[:500]]

    # Scored search: the best hit carries the highest _score.
    r = es.search(index="products", query={"match": {"name": "charlie"}}, size=3)
    scores = [h["_score"] for h in r["hits"]["hits"]]
    assert scores == sorted(scores, reverse=True) and r["hits"]["max_score"] == scores[0] > 0

    # Aggregations, against the same computation in Python.
    r = es.search(index="products", size=0, aggs={
        "by_category": {"terms": {"field": "category", "size": 10}, "aggs": {"avg_price": {"avg": {"field": "price"}}}},
        "per_week": {"date_histogram": {"field": "created", "calendar_interval": "week"}},
        "per_day": {"date_histogram": {"field": "created", "fixed_interval": "1d"}},
        "price_stats": {"stats": {"field": "price"}},
    })
    aggs = r["aggregations"]
    by_category = collections.Counter(d["category"] for d in docs)
    assert {b["key"]: b["doc_count"] for b in aggs["by_category"]["buckets"]} == dict(by_category)
    counts = [b["doc_count"] for b in aggs["by_category"]["buckets"]]
    assert counts == sorted(counts, reverse=True)
    for b in aggs["by_category"]["buckets"]:
        prices = [d["price"] for d in docs if d["category"] == b["key"]]
        assert b["avg_price"]["value"] == pytest.approx(sum(prices) / len(prices))

    def day(d):
        return datetime.datetime.fromisoformat(d["created"].replace("Z", "+00:00")).date()

    per_day = collections.Counter(day(d).isoformat() for d in docs)
    got = {b["key_as_string"][:10]: b["doc_count"] for b in aggs["per_day"]["buckets"]}
    assert {k: v for k, v in got.items() if v} == dict(per_day)
    # Calendar weeks start on Monday.
    per_week = collections.Counter((day(d) - datetime.timedelta(days=day(d).weekday())).isoformat() for d in docs)
    got = {b["key_as_string"][:10]: b["doc_count"] for b in aggs["per_week"]["buckets"]}
    assert {k: v for k, v in got.items() if v} == dict(per_week)
    monday = datetime.date.fromisoformat(aggs["per_week"]["buckets"][0]["key_as_string"][:10])
    assert monday.weekday() == 0
    stats = aggs["price_stats"]
    prices = [d["price"] for d in docs]
    assert (stats["count"], stats["min"], stats["max"], stats["sum"]) == (N, min(prices), max(prices), sum(prices))

    # mget, update, delete.
    r = es.mget(index="products", ids=["1", "2", "no-such-id"])
    assert [d["found"] for d in r["docs"]] == [True, True, False]
    assert r["docs"][0]["_source"] == docs[1]
    r = es.update(index="products", id="5", doc={"price": 1, "extra": {"note": "sale"}})
    assert (r["result"], r["_version"]) == ("updated", 2)
    got = es.get(index="products", id="5")["_source"]
    assert got["price"] == 1 and got["extra"] == {"note": "sale"} and got["name"] == docs[5]["name"]
    assert es.delete(index="products", id="6")["result"] == "deleted"
    with pytest.raises(elasticsearch.NotFoundError):
        es.get(index="products", id="6")
    es.indices.refresh(index="products")
    assert es.count(index="products")["count"] == N - 1
    assert es.count(index="products", query={"term": {"price": 1}})["count"] == sum(d["price"] == 1 for d in docs) + 1


def test_documents_and_errors(es):
    es.indices.create(index="t", mappings={"properties": {"n": {"type": "integer"}}})
    actions = [
        {"_index": "t", "_id": "a", "_source": {"n": 1}},
        {"_index": "t", "_id": "b", "_source": {"n": "not a number"}},
        {"_op_type": "create", "_index": "t", "_id": "a", "_source": {"n": 2}},
        {"_index": "t", "_id": "c", "_source": {"n": 3}},
    ]
    ok, errors = helpers.bulk(es, actions, raise_on_error=False, refresh="wait_for")
    assert ok == 2
    assert [(e[list(e)[0]]["_id"], e[list(e)[0]]["status"]) for e in errors] == [("b", 400), ("a", 409)]
    assert es.search(index="t")["hits"]["total"]["value"] == 2

    r = es.index(index="t", id="d", document={"n": 4, "s": "x"}, op_type="create", refresh=True)
    assert (r["result"], r["_version"], r["_seq_no"], r["_primary_term"]) == ("created", 1, 2, 1)
    with pytest.raises(elasticsearch.ConflictError) as e:
        es.index(index="t", id="d", document={"n": 5}, op_type="create")
    assert e.value.meta.status == 409
    assert e.value.body["error"]["reason"] == "[d]: version conflict, document already exists (current version [1])"
    r = es.index(index="t", id="d", document={"n": 5}, if_seq_no=2, if_primary_term=1)
    assert (r["result"], r["_version"]) == ("updated", 2)
    with pytest.raises(elasticsearch.ConflictError):
        es.index(index="t", id="d", document={"n": 6}, if_seq_no=2, if_primary_term=1)

    got = es.get(index="t", id="a", source_includes=["n"])
    assert (got["found"], got["_source"], got["_version"]) == (True, {"n": 1}, 1)
    assert es.get_source(index="t", id="a") == {"n": 1}
    assert es.exists(index="t", id="a") and not es.exists(index="t", id="zz")

    r = es.update(index="t", id="new", doc={"n": 7}, doc_as_upsert=True)
    assert r["result"] == "created"
    r = es.update(index="t", id="new2", doc={"n": 8}, upsert={"n": 0})
    assert r["result"] == "created" and es.get(index="t", id="new2")["_source"] == {"n": 0}
    r = es.update(index="t", id="new2", doc={"n": 8}, source=True)
    assert r["result"] == "updated" and r["get"]["_source"] == {"n": 8}
    assert es.update(index="t", id="new2", doc={"n": 8})["result"] == "noop"
    with pytest.raises(elasticsearch.NotFoundError) as e:
        es.update(index="t", id="ghost", doc={"n": 1})
    assert e.value.error == "document_missing_exception"

    # Auto-creation on first write, with a dynamic mapping.
    r = es.index(index="auto-made", document={"when": "2026-11-22T10:00:00Z", "ok": True, "n": 1.5})
    assert r["result"] == "created" and len(r["_id"]) == 20
    props = es.indices.get_mapping(index="auto-made")["auto-made"]["mappings"]["properties"]
    assert {k: v["type"] for k, v in props.items()} == {"when": "date", "ok": "boolean", "n": "float"}

    with pytest.raises(elasticsearch.BadRequestError) as e:
        es.search(index="t", query={"no_such_query": {}})
    assert e.value.error == "parsing_exception"
    with pytest.raises(elasticsearch.BadRequestError) as e:
        es.perform_request("POST", "/_bulk", body="{\"index\":\n", headers={"content-type": "application/json"})
    assert e.value.meta.status == 400
    with pytest.raises(elasticsearch.NotFoundError) as e:
        es.search(index="does-not-exist")
    assert e.value.error == "index_not_found_exception"
    assert es.search(index="does-not-exist-*")["hits"]["total"]["value"] == 0
    with pytest.raises(elasticsearch.BadRequestError) as e:
        es.indices.create(index="t")
    assert e.value.error == "resource_already_exists_exception"


def test_indices_aliases_and_node_apis(es):
    es.indices.create(index="logs-1", aliases={"logs": {"is_write_index": True}},
                      mappings={"properties": {"level": {"type": "keyword"}}})
    es.indices.create(index="logs-2")
    es.indices.put_alias(index="logs-2", name="logs")
    assert es.indices.exists(index="logs-1") and not es.indices.exists(index="logs-3")
    assert set(es.indices.get_alias(name="logs")) == {"logs-1", "logs-2"}

    es.index(index="logs", id="1", document={"level": "info"}, refresh="wait_for")  # the write index
    es.index(index="logs-2", id="2", document={"level": "warn"}, refresh="wait_for")
    assert es.get(index="logs-1", id="1")["found"]
    assert es.search(index="logs")["hits"]["total"]["value"] == 2
    assert es.count(index="logs-*", query={"term": {"level": "warn"}})["count"] == 1

    es.indices.put_mapping(index="logs-1", properties={"host": {"type": "keyword"}})
    props = es.indices.get_mapping(index="logs-1")["logs-1"]["mappings"]["properties"]
    assert props == {"level": {"type": "keyword"}, "host": {"type": "keyword"}}
    got = es.indices.get(index="logs-1")["logs-1"]
    assert got["aliases"] == {"logs": {"is_write_index": True}}
    assert got["settings"]["index"]["number_of_shards"] == "1"

    r = es.msearch(searches=[{"index": "logs-1"}, {"query": {"match_all": {}}}, {"index": "nope"}, {}])
    assert r["responses"][0]["hits"]["total"]["value"] == 1 and r["responses"][0]["status"] == 200
    assert r["responses"][1]["status"] == 404

    es.indices.close(index="logs-2")
    with pytest.raises(elasticsearch.BadRequestError) as e:
        es.search(index="logs-2")
    assert e.value.error == "index_closed_exception"
    assert es.search(index="logs-*")["hits"]["total"]["value"] == 1
    es.indices.open(index="logs-2")
    assert es.search(index="logs-*")["hits"]["total"]["value"] == 2

    rows = es.cat.indices(index="logs-*", format="json", h="index,status,docs.count")
    assert sorted(rows, key=lambda r: r["index"]) == [
        {"index": "logs-1", "status": "open", "docs.count": "1"},
        {"index": "logs-2", "status": "open", "docs.count": "1"},
    ]
    text = es.cat.indices(v=True, h="index,docs.count").body
    assert text.splitlines()[0].split() == ["index", "docs.count"]

    es.indices.delete_alias(index="logs-2", name="logs")
    assert set(es.indices.get_alias(name="logs")) == {"logs-1"}
    es.indices.delete(index="logs-2")
    assert not es.indices.exists(index="logs-2")

    lic = es.license.get()["license"]
    assert (lic["status"], lic["type"]) == ("active", "basic")
    stats = es.nodes.stats()
    (node,) = stats["nodes"].values()
    assert node["indices"]["docs"]["count"] == 1
    assert node["process"]["mem"]["total_virtual_in_bytes"] > 0
    assert node["jvm"]["uptime_in_millis"] > 0


def test_refused_requests_never_cost_the_next_one_its_answer(es):
    """The same connection pool, alternating requests with a body refused for wrong credentials
    and normal ones: every request gets its answer (once, a reused connection the node had
    dropped gave `SSLEOFError: EOF occurred in violation of protocol`)."""
    wrong = es.options(basic_auth=("elastic", "not-the-password"), max_retries=0)
    once = es.options(max_retries=0)
    for i in range(20):
        with pytest.raises(elasticsearch.AuthenticationException):
            wrong.index(index="ka", id=str(i), document={"n": i})
        assert once.index(index="ka", id=str(i), document={"n": i})["result"] == "created"
        assert once.info()["tagline"] == "You Know, for Search"


def test_count_terminate_after(es):
    """`terminate_after` is checked before the indices are looked at, and caps each index's count
    (one shard each), saying so with `terminated_early`."""
    with pytest.raises(elasticsearch.BadRequestError) as e:
        es.count(index="no-such-index", terminate_after=-1)
    assert e.value.body["error"]["reason"] == "terminateAfter must be > 0"
    for index in ("ta1", "ta2"):
        for i in range(3):
            es.index(index=index, id=str(i), document={"n": i})
    es.indices.refresh(index="ta1,ta2")
    r = es.count(index="ta1,ta2", terminate_after=2)
    assert (r["count"], r["terminated_early"]) == (4, True)
    r = es.count(index="ta1", terminate_after=5)
    assert (r["count"], r["terminated_early"]) == (3, False)
    r = es.count(index="ta1", terminate_after=0)
    assert r["count"] == 3 and "terminated_early" not in r
