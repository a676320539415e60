"""`_security/_query/api_key` through the official Python client: `simple_query_string` and the
aggregations that read ranges and composite keys, as Elasticsearch 8 answers them."""

import datetime
import re
import time

import elasticsearch
import pytest

from test_api_keys import admin_client, with_key


def names(resp):
    """The names of the keys found, but the first start's console enrollment key."""
    return sorted(k["name"] for k in resp["api_keys"] if not k["name"].startswith("enrollment_token"))


def test_simple_query_string(node):
    admin = admin_client(node)
    for name, md in [("key-alpha", {"env": "prod", "tier": 42}), ("key-beta", {"env": "dev"}),
                     ("other", {"team": {"name": "ops"}})]:
        node.secrets.append(admin.security.create_api_key(name=name, metadata=md)["api_key"])
    admin.security.invalidate_api_key(name="other")

    def sqs(**body):
        return names(admin.security.query_api_keys(query={"simple_query_string": body}, size=100))

    # No `fields`: every allowed field (name, username, realm_name, type, dates, metadata, ...).
    assert sqs(query="key*") == ["key-alpha", "key-beta"]
    assert sqs(query="ops") == ["other"]  # a metadata value, however deep
    assert sqs(query="\"key-alpha\"") == ["key-alpha"]
    assert sqs(query="key-alpah~1") == ["key-alpha"]  # a transposition is one edit
    assert sqs(query="key-alpah~1", fuzzy_transpositions=False) == []
    # Terms are matched whole and with case: keywords are not analyzed.
    assert sqs(query="KEY-ALPHA") == [] and sqs(query="alpha") == []
    # Operators: `+` and `|` left to right, `-x` is "all but x" (so OR with it matches a lot).
    assert sqs(query="key* prod", default_operator="and") == ["key-alpha"]
    assert sqs(query="key* -prod", default_operator="AND") == ["key-beta"]
    assert sqs(query="key* +dev") == ["key-beta"]
    assert sqs(query="(prod | dev) +key*") == ["key-alpha", "key-beta"]
    assert sqs(query="prod 42 dev", fields=["metadata"], minimum_should_match="2") == ["key-alpha"]
    # Fields: patterns over the allowed names; `metadata.x` is one sub-field, `metadata.*` none.
    assert sqs(query="prod", fields=["metadata.env"]) == ["key-alpha"]
    assert sqs(query="prod", fields=["metadata.*"]) == []
    assert sqs(query="other", fields=["na*"]) == ["other"]
    assert sqs(query="reserved", fields=["*name"]) == ["key-alpha", "key-beta", "other"]
    assert sqs(query="true", fields=["invalidated", "name^2"]) == ["other"]
    # Names that are not allowed (or unknown) expand to nothing: no match rather than an error.
    assert sqs(query="key-alpha", fields=["api_key_hash", "id", "nope"]) == []
    # Flags switch operators off: without PREFIX, `key*` is one literal term.
    assert sqs(query="key*", flags="NONE") == []
    assert sqs(query="key*", flags="PREFIX|WHITESPACE") == ["key-alpha", "key-beta"]
    assert sqs(query="key-alpha dev", flags="OR|AND") == []  # no WHITESPACE: one term
    # A term a field's type cannot take is an error unless lenient (forced when querying `*`).
    assert sqs(query="abc", fields=["creation"], lenient=True) == []
    assert sqs(query="abc", fields=["*"]) == []
    # Dates are read as the security index maps them: epoch milliseconds (or date math on them).
    created = admin.security.get_api_key(name="key-beta")["api_keys"][0]["creation"]
    assert sqs(query=str(created), fields=["creation"]) == ["key-beta"]
    # `|` is the OR operator: date math needs the flags off to stay one term.
    assert sqs(query=f"{created}||/y", fields=["creation"], flags="NONE") == ["key-alpha", "key-beta", "other"]
    with pytest.raises(elasticsearch.BadRequestError):
        sqs(query=f"{created}||/y", fields=["creation"])
    for body, kind, reason in [
        ({"query": "abc", "fields": ["creation"]}, "parse_exception",
         "failed to parse date field [abc] with format [epoch_millis]"),
        ({"query": "2024-01-01", "fields": ["creation"]}, "parse_exception",
         "failed to parse date field [2024-01-01] with format [epoch_millis]"),
        ({"query": "yes", "fields": ["invalidated"]}, "illegal_argument_exception",
         "Can't parse boolean value [yes], expected [true] or [false]"),
        ({"query": "ab*", "fields": ["expiration"]}, "query_shard_exception",
         "Can only use prefix queries on keyword, text and wildcard fields - not on [expiration] which is of type [date]"),
        ({"query": "x", "flags": "OR|FOO"}, "illegal_argument_exception", "Unknown simple_query_string flag [FOO]"),
        ({"query": "x", "default_operator": "xor"}, "illegal_argument_exception",
         "operator needs to be either [and] or [or], but was [xor]"),
        ({"query": "x", "nope": 1}, "parsing_exception", "[simple_query_string] unsupported field [nope]"),
    ]:
        with pytest.raises(elasticsearch.BadRequestError) as e:
            admin.security.query_api_keys(query={"simple_query_string": body})
        assert (e.value.body["error"]["type"], e.value.body["error"]["reason"]) == (kind, reason), body
    with pytest.raises(elasticsearch.BadRequestError) as e:
        admin.security.query_api_keys(query={"simple_query_string": {"query": "x", "analyzer": "standard"}})
    assert "analyzer [standard] is not supported here" in e.value.body["error"]["reason"]
    # Inside bool, with the other query types.
    both = admin.security.query_api_keys(query={"bool": {"must": [{"simple_query_string": {"query": "key*"}}],
                                                         "must_not": [{"term": {"metadata.env": "dev"}}]}})
    assert names(both) == ["key-alpha"]


def test_range_date_range_and_composite_aggregations(node):
    admin = admin_client(node)
    for name, expiration, team in [("r-a", "1d", "red"), ("r-b", "10d", "red"), ("r-c", "10d", "blue"),
                                   ("r-d", None, None)]:
        k = admin.security.create_api_key(name=name, metadata={"team": team} if team else {},
                                          **({"expiration": expiration} if expiration else {}))
        node.secrets.append(k["api_key"])
    admin.security.invalidate_api_key(name="r-d")
    now_ms = time.time() * 1000
    r = admin.security.query_api_keys(query={"prefix": {"name": "r-"}}, size=0, aggs={
        "exp": {"date_range": {"field": "expiration", "format": "yyyy-MM-dd",
                               "ranges": [{"from": "now+5d", "key": "late"}, {"to": "now+5d"}]}},
        "exp_keyed": {"date_range": {"field": "expiration", "keyed": True,
                                     "ranges": [{"to": "now+5d"}, {"from": "now+5d"}]}},
        "created": {"range": {"field": "creation", "ranges": [{"from": "now-1h"}, {"to": "now-1h"}]}},
        "pairs": {"composite": {"size": 2, "sources": [{"team": {"terms": {"field": "metadata.team"}}},
                                                       {"dead": {"terms": {"field": "invalidated"}}}]}},
    })
    assert r["total"] == 4 and r["api_keys"] == []
    a = r["aggregations"]

    # Ranges come sorted by `from` (unbounded first); `from` counts, `to` does not. A `format`
    # shows the dates its way; without one they are shown as the security index maps them
    # (`epoch_millis`).
    early, late = a["exp"]["buckets"]
    day = lambda ms: datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%d")
    assert set(early) == {"key", "to", "to_as_string", "doc_count"} and early["doc_count"] == 1
    assert abs(early["to"] - (now_ms + 5 * 86_400_000)) < 120_000
    assert early["to_as_string"] == day(early["to"]) and early["key"] == f"*-{early['to_as_string']}"
    assert set(late) == {"key", "from", "from_as_string", "doc_count"}
    assert (late["key"], late["doc_count"], late["from_as_string"]) == ("late", 2, day(late["from"]))

    keyed = a["exp_keyed"]["buckets"]
    assert isinstance(keyed, dict) and len(keyed) == 2
    for key, b in keyed.items():
        assert "key" not in b
        edge = b.get("to_as_string") or b.get("from_as_string")
        assert re.fullmatch(r"\d{13}", edge) and abs(int(edge) - (now_ms + 5 * 86_400_000)) < 120_000
        assert key == (f"*-{edge}" if "to" in b else f"{edge}-*")
    assert sorted(b["doc_count"] for b in keyed.values()) == [1, 2]

    older, recent = a["created"]["buckets"]
    assert (older["doc_count"], recent["doc_count"]) == (0, 4)
    assert recent["key"] == f"{recent['from_as_string']}-*" and recent["from_as_string"] == str(int(recent["from"]))

    # composite: every (team, invalidated) pair, in key order, `size` at a time, paged by after_key.
    assert a["pairs"]["buckets"] == [{"key": {"team": "blue", "dead": False}, "doc_count": 1},
                                     {"key": {"team": "red", "dead": False}, "doc_count": 2}]
    assert a["pairs"]["after_key"] == {"team": "red", "dead": False}
    page = admin.security.query_api_keys(query={"prefix": {"name": "r-"}}, size=0, aggs={
        "pairs": {"composite": {"size": 2, "after": a["pairs"]["after_key"],
                                "sources": [{"team": {"terms": {"field": "metadata.team"}}},
                                            {"dead": {"terms": {"field": "invalidated"}}}]}}})
    assert page["aggregations"]["pairs"] == {"buckets": []}
    with_missing = admin.security.query_api_keys(query={"prefix": {"name": "r-"}}, size=0, aggs={
        "t": {"composite": {"sources": [{"team": {"terms": {"field": "metadata.team", "missing_bucket": True,
                                                             "order": "desc"}}}]}}})
    assert with_missing["aggregations"]["t"]["buckets"] == [
        {"key": {"team": "red"}, "doc_count": 2}, {"key": {"team": "blue"}, "doc_count": 1},
        {"key": {"team": None}, "doc_count": 1}]
    iso = admin.security.query_api_keys(query={"prefix": {"name": "r-"}}, size=0, aggs={
        "y": {"date_range": {"field": "creation", "format": "yyyy-MM-dd", "ranges": [{"from": "2000-01-01"}]}}})
    assert iso["aggregations"]["y"]["buckets"] == [
        {"key": "2000-01-01-*", "from": 946684800000.0, "from_as_string": "2000-01-01", "doc_count": 4}]
    by_day = admin.security.query_api_keys(query={"prefix": {"name": "r-"}}, size=0, aggs={
        "d": {"composite": {"sources": [{"day": {"terms": {"field": "expiration", "format": "yyyy-MM-dd"}}}]}}})
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", b["key"]["day"]) for b in by_day["aggregations"]["d"]["buckets"])
    assert sum(b["doc_count"] for b in by_day["aggregations"]["d"]["buckets"]) == 3

    for aggs, reason in [
        ({"c": {"composite": {"sources": [{"h": {"histogram": {"field": "creation", "interval": 5}}}]}}},
         "Unsupported value source type for [h] of composite agg [c].Only [terms] value sources are allowed."),
        ({"r": {"range": {"field": "name", "ranges": [{"to": 1}]}}},
         "Field [name] of type [keyword] is not supported for aggregation [range]"),
        ({"r": {"date_range": {"field": "creation"}}}, "No [ranges] specified for the [r] aggregation"),
        ({"r": {"date_range": {"field": "creation", "ranges": [{"from": "2024-01-01"}]}}},
         "failed to parse date field [2024-01-01] with format [epoch_millis]: use epoch milliseconds or date math "
         "(now-1d/d), or give a [format] to read ISO-8601 dates"),
        ({"r": {"date_range": {"field": "api_key_hash", "ranges": [{"to": 1}]}}},
         "Field [api_key_hash] is not allowed for querying or aggregation"),
        ({"r": {"range": {"field": "creation", "script": "x", "ranges": [{"to": 1}]}}},
         "Unsupported script value source for [r] agg"),
    ]:
        with pytest.raises(elasticsearch.BadRequestError) as e:
            admin.security.query_api_keys(aggs=aggs)
        assert e.value.body["error"]["reason"] == reason, aggs


def test_what_a_key_reaches_when_it_queries_keys(node):
    """As Elasticsearch 8 decides it: a key holding `manage_own_api_key` queries only itself (its
    filter is its own id, not its owner's keys) and may not ask for `owner=true` (a key owns no
    key); a key holding `manage_api_key` reads its owner's keys with `owner=true`."""
    admin = admin_client(node)
    admin.security.put_user(username="dave", password="daves-long-password", roles=["superuser"])
    dave = admin_client(node).options(basic_auth=("dave", "daves-long-password"))
    daves = dave.security.create_api_key(name="dave-key")
    own = admin.security.create_api_key(name="own-only", metadata={"env": "prod"},
                                        role_descriptors={"r": {"cluster": ["manage_own_api_key"]}})
    sibling = admin.security.create_api_key(name="sibling", metadata={"env": "prod"})
    manager = admin.security.create_api_key(name="manager", role_descriptors={"r": {"cluster": ["manage_api_key"]}})
    node.secrets += [k["api_key"] for k in (daves, own, sibling, manager)]

    k = with_key(node, own["encoded"])
    everything = k.security.query_api_keys(size=100, aggs={"envs": {"terms": {"field": "metadata.env"}}})
    assert [x["id"] for x in everything["api_keys"]] == [own["id"]] and everything["total"] == 1
    assert everything["aggregations"]["envs"]["buckets"] == [{"key": "prod", "doc_count": 1}]
    assert k.security.query_api_keys(query={"ids": {"values": [sibling["id"]]}})["total"] == 0
    assert k.security.query_api_keys(query={"simple_query_string": {"query": "sibling"}})["total"] == 0
    assert [x["id"] for x in k.security.get_api_key(id=own["id"])["api_keys"]] == [own["id"]]
    with pytest.raises(elasticsearch.AuthorizationException) as e:
        k.security.get_api_key(owner=True)
    assert e.value.body["error"]["reason"].startswith(
        f"action [cluster:admin/xpack/security/api_key/get] is unauthorized for API key id [{own['id']}] of user [elastic]")

    m = with_key(node, manager["encoded"])
    mine = {x["id"] for x in m.security.get_api_key(owner=True)["api_keys"]}
    assert {own["id"], sibling["id"], manager["id"]} <= mine and daves["id"] not in mine
    assert all(x["username"] == "elastic" for x in m.security.get_api_key(owner=True)["api_keys"])
    assert daves["id"] in {x["id"] for x in m.security.query_api_keys(size=100)["api_keys"]}


def test_sort_from_size_search_after_and_exact_totals(node):
    admin = admin_client(node)
    for i in range(7):
        node.secrets.append(admin.security.create_api_key(name=f"page-{i}", metadata={"n": i % 3})["api_key"])
    q = {"prefix": {"name": "page-"}}
    first = admin.security.query_api_keys(query=q, sort=[{"metadata.n": "desc"}, "name"], size=3)
    assert (first["total"], first["count"]) == (7, 3)
    assert [k["name"] for k in first["api_keys"]] == ["page-2", "page-5", "page-1"]
    assert [k["_sort"] for k in first["api_keys"]] == [[2, "page-2"], [2, "page-5"], [1, "page-1"]]
    # `from` skips within the same order; `search_after` continues after a sort value; the
    # total is every match, whatever the page (those before `search_after` too, as in Lucene).
    second = admin.security.query_api_keys(query=q, sort=[{"metadata.n": "desc"}, "name"], from_=3, size=3)
    assert [k["name"] for k in second["api_keys"]] == ["page-4", "page-0", "page-3"]
    after = admin.security.query_api_keys(query=q, sort=[{"metadata.n": "desc"}, "name"], size=3,
                                          search_after=first["api_keys"][-1]["_sort"])
    assert [k["name"] for k in after["api_keys"]] == ["page-4", "page-0", "page-3"] and after["total"] == 7
    last = admin.security.query_api_keys(query=q, sort=["name"], from_=6, size=5)
    assert (last["total"], last["count"], [k["name"] for k in last["api_keys"]]) == (7, 1, ["page-6"])
    with pytest.raises(elasticsearch.BadRequestError) as e:
        admin.security.query_api_keys(query=q, size=-1)
    assert "[size] parameter cannot be negative" in e.value.body["error"]["reason"]
    # `search_after` is never passed over: without a sort, or of another length, it is a 400.
    with pytest.raises(elasticsearch.BadRequestError) as e:
        admin.security.query_api_keys(query=q, search_after=["page-3"])
    assert e.value.body["error"]["reason"] == "[search_after] needs a [sort] to continue after"
    with pytest.raises(elasticsearch.BadRequestError) as e:
        admin.security.query_api_keys(query=q, sort=["name"], search_after=["page-3", 1])
    assert e.value.body["error"]["reason"] == "search_after has 2 value(s) but sort has 1"


def test_range_query_on_dates_reads_them_as_elasticsearch_does(node):
    admin = admin_client(node)
    for name in ("d-1", "d-2"):
        node.secrets.append(admin.security.create_api_key(name=name)["api_key"])

    def total(bounds):
        return admin.security.query_api_keys(
            query={"bool": {"filter": [{"prefix": {"name": "d-"}}, {"range": {"creation": bounds}}]}})["total"]

    assert total({"gte": "now-1h"}) == 2 and total({"gt": "now+1m"}) == 0
    # Rounding: `lte`/`gt` round up to the end of the unit, `lt`/`gte` down to its start.
    assert total({"lte": "now/y"}) == 2 and total({"lt": "now/y"}) == 0
    assert total({"gte": "now/y", "lt": "now+1y/y"}) == 2
    # The security index maps its dates as epoch_millis: ISO dates need a format.
    assert total({"gte": "2000-01-01", "format": "yyyy-MM-dd"}) == 2
    with pytest.raises(elasticsearch.BadRequestError) as e:
        total({"gte": "2000-01-01"})
    assert e.value.body["error"]["reason"] == "failed to parse date field [2000-01-01] with format [epoch_millis]"
    with pytest.raises(elasticsearch.BadRequestError) as e:
        total({"gte": "now-1h", "time_zone": "+02:00"})
    assert "[time_zone]" in e.value.body["error"]["reason"]
