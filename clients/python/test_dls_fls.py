"""Field- and document-level security end to end through the official client: the HR example
of issue #13 (a role granting `name` and `dept` of the `eng` documents of `hr`) on every read
path, templates over the user, several roles, API keys limited by their owner, and the writes
Elasticsearch refuses under them."""

import elasticsearch
import pytest
from elasticsearch import Elasticsearch

from test_first_start import ready_client

PASSWORD = "a-long-enough-password"
HR_ROLE = {"names": ["hr"], "privileges": ["read"],
           "field_security": {"grant": ["name", "dept"]}, "query": {"term": {"dept": "eng"}}}


def as_user(node, user, **kw):
    return Elasticsearch(hosts=[node.url], basic_auth=(user, PASSWORD), ca_certs=node.ca, max_retries=0, **kw)


@pytest.fixture
def hr(node):
    admin = ready_client(hosts=[node.url], basic_auth=("elastic", node.password), ca_certs=node.ca)
    admin.indices.create(index="hr", mappings={"properties": {
        "name": {"type": "keyword"}, "dept": {"type": "keyword"}, "salary": {"type": "long"},
        "owner": {"type": "keyword"}, "pay": {"properties": {"base": {"type": "long"}, "bonus": {"type": "long"}}}}})
    docs = {"1": {"name": "ann", "dept": "eng", "salary": 100, "owner": "alice", "pay": {"base": 1, "bonus": 2}},
            "2": {"name": "bob", "dept": "ops", "salary": 200, "owner": "bob_u", "pay": {"base": 3, "bonus": 4}},
            "3": {"name": "cyd", "dept": "eng", "salary": 0, "owner": "bob_u", "pay": {"base": 5, "bonus": 6}}}
    for i, d in docs.items():
        admin.index(index="hr", id=i, document=d)
    admin.indices.refresh(index="hr")
    admin.security.put_role(name="hr_eng", indices=[HR_ROLE])
    admin.security.put_user(username="eng_user", password=PASSWORD, roles=["hr_eng"])
    return admin


def ids(resp):
    return sorted(h["_id"] for h in resp["hits"]["hits"])


def test_the_issue_scenario_on_every_read_path(node, hr):
    u = as_user(node, "eng_user")
    r = u.search(index="hr")
    assert ids(r) == ["1", "3"]
    assert all(set(h["_source"]) == {"name", "dept"} for h in r["hits"]["hits"])
    assert u.search(index="hr", q="*")["hits"]["total"]["value"] == 2

    with pytest.raises(elasticsearch.NotFoundError) as e:
        u.get(index="hr", id="2")
    assert e.value.body["found"] is False
    assert u.get(index="hr", id="1")["_source"] == {"name": "ann", "dept": "eng"}
    with pytest.raises(elasticsearch.NotFoundError):
        u.get_source(index="hr", id="2")
    assert u.get_source(index="hr", id="3") == {"name": "cyd", "dept": "eng"}
    assert not u.exists(index="hr", id="2")

    mget = u.mget(index="hr", ids=["1", "2"])["docs"]
    assert [d["found"] for d in mget] == [True, False]
    assert mget[0]["_source"] == {"name": "ann", "dept": "eng"}

    assert u.count(index="hr")["count"] == 2
    assert u.count(index="hr", q="salary:100")["count"] == 0

    aggs = u.search(index="hr", size=0, aggs={"pay": {"sum": {"field": "salary"}},
                                               "depts": {"terms": {"field": "dept"}}})["aggregations"]
    assert aggs["pay"]["value"] == 0.0
    assert aggs["depts"]["buckets"] == [{"key": "eng", "doc_count": 2}]

    for q in [{"exists": {"field": "salary"}}, {"query_string": {"query": "salary:100"}},
              {"wildcard": {"owner": "*"}}, {"range": {"salary": {"gte": 0}}}, {"term": {"salary": 100}},
              {"query_string": {"query": "alice"}}, {"exists": {"field": "pay"}}]:
        assert u.search(index="hr", query=q)["hits"]["total"]["value"] == 0, q
    assert u.search(index="hr", query={"query_string": {"query": "ann"}})["hits"]["total"]["value"] == 1

    sorted_hits = u.search(index="hr", sort=[{"salary": "desc"}])["hits"]["hits"]
    assert sorted(h["_id"] for h in sorted_hits) == ["1", "3"]

    ms = u.msearch(searches=[{"index": "hr"}, {"query": {"match_all": {}}},
                             {"index": "hr"}, {"query": {"term": {"dept": "ops"}}}])["responses"]
    assert ids(ms[0]) == ["1", "3"] and ids(ms[1]) == []
    assert all(set(h["_source"]) == {"name", "dept"} for h in ms[0]["hits"]["hits"])

    # What a hit shows besides _source keeps to the same limits.
    r = u.search(index="hr", fields=["*"], docvalue_fields=["salary", "dept"], explain=True,
                 terminate_after=10, version=True)
    assert ids(r) == ["1", "3"]
    for h in r["hits"]["hits"]:
        assert set(h["fields"]) == {"name", "dept"}, h
        assert h["_explanation"]["value"] == pytest.approx(h["_score"]), h["_explanation"]

    # The administrator still sees everything.
    assert hr.count(index="hr")["count"] == 3


def test_writes_under_dls_fls(node, hr):
    hr.security.put_role(name="hr_eng_write", indices=[{**HR_ROLE, "privileges": ["read", "write"]}])
    hr.security.put_user(username="eng_writer", password=PASSWORD, roles=["hr_eng_write"])
    w = as_user(node, "eng_writer")
    with pytest.raises(elasticsearch.BadRequestError) as e:
        w.update(index="hr", id="1", doc={"name": "x"})
    assert e.value.body["error"]["type"] == "security_exception"
    assert e.value.body["error"]["reason"] == \
        "Can't execute an update request if field or document level security is enabled"
    resp = w.bulk(operations=[{"update": {"_index": "hr", "_id": "1"}}, {"doc": {"name": "x"}},
                              {"index": {"_index": "hr", "_id": "9"}}, {"name": "new", "dept": "eng"}], refresh=True)
    assert resp["errors"]
    upd, idx = resp["items"][0]["update"], resp["items"][1]["index"]
    assert upd["status"] == 400 and "bulk item request with update requests" in upd["error"]["reason"]
    assert idx["status"] == 201
    assert hr.get(index="hr", id="1")["_source"]["name"] == "ann"
    assert w.get(index="hr", id="9")["_source"] == {"name": "new", "dept": "eng"}


def test_templates_unions_except_and_api_keys(node, hr):
    hr.security.put_role(name="own_docs", indices=[{"names": ["hr"], "privileges": ["read"], "query": {
        "template": {"source": "{\"term\": {\"owner\": \"{{_user.username}}\"}}"}}}])
    hr.security.put_user(username="bob_u", password=PASSWORD, roles=["own_docs"])
    assert ids(as_user(node, "bob_u").search(index="hr")) == ["2", "3"]

    hr.security.put_role(name="by_meta", indices=[{"names": ["hr"], "privileges": ["read"], "query": {
        "template": {"source": {"term": {"dept": "{{_user.metadata.team}}"}}}}}])
    hr.security.put_user(username="meta_u", password=PASSWORD, roles=["by_meta"], metadata={"team": "ops"})
    assert ids(as_user(node, "meta_u").search(index="hr")) == ["2"]

    # Two roles: documents and fields of either.
    hr.security.put_role(name="hr_ops", indices=[{"names": ["hr"], "privileges": ["read"],
                                                   "field_security": {"grant": ["name", "salary"]},
                                                   "query": {"term": {"dept": "ops"}}}])
    hr.security.put_user(username="both_u", password=PASSWORD, roles=["hr_eng", "hr_ops"])
    both = as_user(node, "both_u")
    r = both.search(index="hr")
    assert ids(r) == ["1", "2", "3"]
    assert all(set(h["_source"]) <= {"name", "dept", "salary"} for h in r["hits"]["hits"])
    assert both.search(index="hr", size=0, aggs={"p": {"sum": {"field": "salary"}}})["aggregations"]["p"]["value"] == 300

    # `except` with a wildcard.
    hr.security.put_role(name="no_pay", indices=[{"names": ["hr"], "privileges": ["read"],
                                                   "field_security": {"grant": ["*"], "except": ["pay.*", "sal*"]}}])
    hr.security.put_user(username="no_pay_u", password=PASSWORD, roles=["no_pay"])
    src = as_user(node, "no_pay_u").get(index="hr", id="1")["_source"]
    assert src == {"name": "ann", "dept": "eng", "owner": "alice"}

    # An API key sees what both the key and its owner may see.
    hr.security.put_role(name="keys", cluster=["manage_own_api_key"])
    hr.security.put_user(username="key_owner", password=PASSWORD, roles=["hr_eng", "hr_ops", "keys"])
    key = as_user(node, "key_owner").security.create_api_key(name="k", role_descriptors={"limit": {"indices": [
        {"names": ["hr"], "privileges": ["read"], "field_security": {"grant": ["dept", "salary"]},
         "query": {"term": {"name": "bob"}}}]}})
    k = Elasticsearch(hosts=[node.url], api_key=key["encoded"], ca_certs=node.ca, max_retries=0)
    r = k.search(index="hr")
    assert ids(r) == ["2"]
    assert r["hits"]["hits"][0]["_source"] == {"dept": "ops", "salary": 200}


def test_malformed_roles_are_refused(node, hr):
    for bad, word in [({"field_security": {"grant": "name"}}, "field_security.grant"),
                      ({"field_security": {"allow": ["a"]}}, "field_security"),
                      ({"field_security": {"grant": ["a"], "except": ["b"]}}, "subset"),
                      ({"query": {"nope": {}}}, "query"),
                      ({"query": "not json"}, "query"),
                      ({"query": {"template": {"source": "{{#list}}x{{/list}}"}}}, "query")]:
        with pytest.raises(elasticsearch.BadRequestError) as e:
            hr.security.put_role(name="bad_role", indices=[{"names": ["hr"], "privileges": ["read"], **bad}])
        reason = e.value.body["error"]["reason"]
        assert "bad_role" in reason and word in reason, (bad, reason)
    # The role is returned as given.
    got = hr.security.get_role(name="hr_eng")["hr_eng"]["indices"][0]
    assert got["field_security"] == {"grant": ["name", "dept"]} and got["query"] == {"term": {"dept": "eng"}}
