"""API keys through the official Python client: create, use, get, query, update, grant,
invalidate, expire, and which keys a caller reaches."""

import time

import elasticsearch
import pytest
from elasticsearch import Elasticsearch

from test_first_start import ready_client


def admin_client(node):
    return ready_client(hosts=[node.url], basic_auth=("elastic", node.password), ca_certs=node.ca)


def with_key(node, api_key):
    return Elasticsearch(hosts=[node.url], api_key=api_key, ca_certs=node.ca, max_retries=0)


def as_user(node, user, password):
    return Elasticsearch(hosts=[node.url], basic_auth=(user, password), ca_certs=node.ca, max_retries=0)


def logs_text(node):
    """The audit log and the node's JSON log, where no secret may ever appear."""
    logs = [node.home / "logs" / "audit.json", node.home / "logs" / "bulwark.json"]
    assert logs[0].exists()
    return "".join(p.read_text(errors="replace") for p in logs if p.exists())


def test_create_use_get_query_update_invalidate(node):
    admin = admin_client(node)
    key = admin.security.create_api_key(name="ci-key", expiration="1d", metadata={"team": "a"},
                                        role_descriptors={"reader": {"cluster": ["monitor"]}})
    assert set(key) >= {"id", "name", "api_key", "encoded", "expiration"}
    assert key["name"] == "ci-key"
    assert key["expiration"] > int(time.time() * 1000)
    secrets = [key["api_key"], key["encoded"]]

    # A key's refusal names the key and its owner, not roles, as Elasticsearch does.
    with pytest.raises(elasticsearch.AuthorizationException) as e:
        with_key(node, key["encoded"]).security.put_user(username="x", password="a-long-password", roles=[])
    assert e.value.body["error"]["reason"] == (
        f"action [cluster:admin/xpack/security/user/put] is unauthorized for API key id [{key['id']}] of user "
        "[elastic], this action is granted by the cluster privileges [manage_security,all]")
    for client in (with_key(node, (key["id"], key["api_key"])), with_key(node, key["encoded"])):
        me = client.security.authenticate()
        assert me["username"] == "elastic"
        assert me["authentication_type"] == "api_key"
        assert me["authentication_realm"] == {"name": "_es_api_key", "type": "_es_api_key"}
        assert me["api_key"] == {"id": key["id"], "name": "ci-key"}

    got = admin.security.get_api_key(id=key["id"])["api_keys"]
    assert len(got) == 1
    info = got[0]
    assert info["id"] == key["id"] and info["name"] == "ci-key"
    assert info["username"] == "elastic" and info["realm"] == "reserved" and info["realm_type"] == "reserved"
    assert info["invalidated"] is False and info["type"] == "rest"
    assert info["metadata"] == {"team": "a"}
    assert info["role_descriptors"]["reader"]["cluster"] == ["monitor"]
    assert "limited_by" not in info
    assert "api_key" not in info and "secret_hash" not in str(info)
    limited = admin.security.get_api_key(id=key["id"], with_limited_by=True)["api_keys"][0]["limited_by"]
    assert limited[0]["superuser"]["cluster"] == ["all"]
    assert [k["id"] for k in admin.security.get_api_key(name="ci-*")["api_keys"]] == [key["id"]]
    with pytest.raises(elasticsearch.NotFoundError):
        admin.security.get_api_key(id="no-such-key")

    other = admin.security.create_api_key(name="other-key")
    secrets += [other["api_key"], other["encoded"]]
    found = admin.security.query_api_keys(query={"bool": {"filter": [{"prefix": {"name": "ci-"}},
                                                                       {"term": {"invalidated": False}}]}})
    assert found["total"] == 1 and found["count"] == 1
    assert found["api_keys"][0]["id"] == key["id"]
    by_meta = admin.security.query_api_keys(query={"term": {"metadata.team": "a"}})
    assert [k["id"] for k in by_meta["api_keys"]] == [key["id"]]
    with pytest.raises(elasticsearch.BadRequestError) as e:
        admin.security.query_api_keys(sort=[{"name": "desc"}, "unknown_field"])
    assert e.value.body["error"]["reason"] == "Field [unknown_field] is not allowed for querying or aggregation"
    ordered = admin.security.query_api_keys(sort=[{"name": "desc"}], size=1)
    # 3: these two and the first start's console enrollment key (enrollment_token_API_key_*).
    assert ordered["total"] == 3 and ordered["count"] == 1
    assert ordered["api_keys"][0]["name"] == "other-key" and ordered["api_keys"][0]["_sort"] == ["other-key"]
    with pytest.raises(elasticsearch.BadRequestError):
        admin.security.query_api_keys(query={"term": {"api_key_hash": "x"}})

    assert admin.security.update_api_key(id=key["id"], metadata={"team": "b"})["updated"] is True
    assert admin.security.update_api_key(id=key["id"], metadata={"team": "b"})["updated"] is False
    assert admin.security.get_api_key(id=key["id"])["api_keys"][0]["metadata"] == {"team": "b"}
    bulk = admin.security.bulk_update_api_keys(ids=[key["id"], other["id"], "missing"], metadata={"team": "b"})
    assert bulk["updated"] == [other["id"]] and bulk["noops"] == [key["id"]]
    assert bulk["errors"]["count"] == 1
    assert bulk["errors"]["details"]["missing"]["type"] == "resource_not_found_exception"
    # An API key cannot update keys (one limited to `monitor` is not even allowed to ask).
    with pytest.raises(elasticsearch.BadRequestError) as e:
        with_key(node, other["encoded"]).security.update_api_key(id=other["id"], metadata={})
    assert "only the owner user can update an API key" in str(e.value.body)
    with pytest.raises(elasticsearch.AuthorizationException):
        with_key(node, key["encoded"]).security.update_api_key(id=key["id"], metadata={})

    cleared = admin.security.clear_api_key_cache(ids=key["id"])
    assert cleared["_nodes"] == {"total": 1, "successful": 1, "failed": 0}

    gone = admin.security.invalidate_api_key(ids=[key["id"]])
    assert gone["invalidated_api_keys"] == [key["id"]] and gone["error_count"] == 0
    again = admin.security.invalidate_api_key(ids=[key["id"]])
    assert again["invalidated_api_keys"] == [] and again["previously_invalidated_api_keys"] == [key["id"]]
    with pytest.raises(elasticsearch.AuthenticationException) as e:
        with_key(node, key["encoded"]).security.authenticate()
    assert "invalidated" in str(e.value.body)
    info = admin.security.get_api_key(id=key["id"])["api_keys"][0]
    assert info["invalidated"] is True and info["invalidation"] >= info["creation"]
    with pytest.raises(elasticsearch.BadRequestError):
        admin.security.update_api_key(id=key["id"], metadata={"team": "c"})

    text = logs_text(node)
    for s in secrets:
        assert s not in text


def test_expired_key_is_refused(node):
    admin = admin_client(node)
    key = admin.security.create_api_key(name="short-lived", expiration="1ms")
    client = with_key(node, key["encoded"])
    deadline = time.monotonic() + 10
    while True:
        try:
            client.security.authenticate()
        except elasticsearch.AuthenticationException as e:
            assert e.meta.status == 401
            assert "expired" in str(e.body)
            break
        assert time.monotonic() < deadline, "the key never expired"
        time.sleep(0.05)
    assert admin.security.get_api_key(name="short-lived", active_only=True)["api_keys"] == []
    assert len(admin.security.get_api_key(name="short-lived")["api_keys"]) == 1


def test_validation_and_derived_keys(node):
    admin = admin_client(node)
    with pytest.raises(elasticsearch.BadRequestError) as e:
        admin.security.create_api_key(name="_underscore")
    assert "may not begin with an underscore" in str(e.value.body)
    with pytest.raises(elasticsearch.BadRequestError):
        admin.security.create_api_key(name="k", expiration="soon")
    with pytest.raises(elasticsearch.BadRequestError):
        admin.security.create_api_key(name="k", role_descriptors={"r": {"cluster": ["no_such_privilege"]}})
    parent = admin.security.create_api_key(name="parent")
    via_key = with_key(node, parent["encoded"])
    with pytest.raises(elasticsearch.BadRequestError) as e:
        via_key.security.create_api_key(name="child")
    assert "derived api keys" in str(e.value.body)
    child = via_key.security.create_api_key(name="child", role_descriptors={"empty": {}})
    assert with_key(node, child["encoded"]).security.authenticate()["api_key"]["name"] == "child"
    info = admin.security.get_api_key(id=child["id"])["api_keys"][0]
    assert info["username"] == "elastic" and info["realm"] == "reserved"


def test_grant_and_ownership(node):
    admin = admin_client(node)
    admin.security.put_user(username="bob", password="bobs-long-password", roles=["superuser"])
    granted = admin.security.grant_api_key(grant_type="password", username="bob", password="bobs-long-password",
                                           api_key={"name": "for-bob", "metadata": {"why": "grant"}})
    me = with_key(node, (granted["id"], granted["api_key"])).security.authenticate()
    assert me["username"] == "bob" and me["api_key"]["id"] == granted["id"]
    info = admin.security.get_api_key(id=granted["id"])["api_keys"][0]
    assert info["realm"] == "default_native" and info["realm_type"] == "native"
    with pytest.raises(elasticsearch.AuthenticationException):
        admin.security.grant_api_key(grant_type="password", username="bob", password="wrong-password-here",
                                     api_key={"name": "nope"})
    # grant_type access_token: an access token of the token service (an unknown one is a 401).
    with pytest.raises(elasticsearch.AuthenticationException):
        admin.security.grant_api_key(grant_type="access_token", access_token="abc", api_key={"name": "nope"})

    mine = admin.security.create_api_key(name="elastic-own")
    bob = as_user(node, "bob", "bobs-long-password")
    bobs = bob.security.create_api_key(name="bob-own")
    assert {k["id"] for k in bob.security.get_api_key(owner=True)["api_keys"]} == {granted["id"], bobs["id"]}
    assert [k["id"] for k in admin.security.get_api_key(owner=True)["api_keys"]] == [mine["id"]]
    # bob holds superuser: every key is in reach without owner=true (the first start's console
    # enrollment key included).
    assert len(bob.security.get_api_key()["api_keys"]) == 4
    # Only the owner updates a key, whatever the caller's privileges.
    with pytest.raises(elasticsearch.NotFoundError):
        bob.security.update_api_key(id=mine["id"], metadata={"x": 1})
    out = bob.security.invalidate_api_key(owner=True)
    assert sorted(out["invalidated_api_keys"]) == sorted([granted["id"], bobs["id"]])
    assert with_key(node, mine["encoded"]).security.authenticate()["username"] == "elastic"

    # kibana_system holds manage_own_api_key only: it reaches its own keys and no others.
    admin.security.change_password(username="kibana_system", password="kibana-system-password")
    kibana = as_user(node, "kibana_system", "kibana-system-password")
    kkey = kibana.security.create_api_key(name="kibana-own")
    assert [k["id"] for k in kibana.security.get_api_key(owner=True)["api_keys"]] == [kkey["id"]]
    own = kibana.security.get_api_key(username="kibana_system", realm_name="reserved")["api_keys"]
    assert [k["id"] for k in own] == [kkey["id"]]
    assert [k["id"] for k in kibana.security.query_api_keys()["api_keys"]] == [kkey["id"]]
    # A GET that is not about its own keys is refused (as in Elasticsearch), not filtered.
    denied = ("action [cluster:admin/xpack/security/api_key/get] is unauthorized for user [kibana_system] "
              "with effective roles [kibana_system], this action is granted by the cluster privileges "
              "[read_security,manage_api_key,manage_security,all]")
    for request in [{}, {"id": mine["id"]}, {"id": kkey["id"]}, {"name": "kibana-own"}, {"username": "elastic"},
                    {"username": "kibana_system", "realm_name": "default_native"}]:
        with pytest.raises(elasticsearch.AuthorizationException) as e:
            kibana.security.get_api_key(**request)
        assert e.value.body["error"]["reason"] == denied, request
    # ... but kibana_system also holds the invalidate action itself (as in Elasticsearch, to
    # retire the keys Kibana hands out), which reaches every key.
    assert kibana.security.invalidate_api_key(ids=[mine["id"]])["invalidated_api_keys"] == [mine["id"]]
    assert len(admin.security.get_api_key()["api_keys"]) == 5  # with the console enrollment key

    realms = admin.security.clear_cached_realms(realms="*", usernames="bob")
    assert realms["_nodes"]["successful"] == 1 and len(realms["nodes"]) == 1

    text = logs_text(node)
    for s in [granted["api_key"], granted["encoded"], mine["api_key"], bobs["api_key"], kkey["api_key"],
              "bobs-long-password"]:
        assert s not in text

    # A key granted for the holder of an access token belongs to the token's user.
    token = admin.security.get_token(grant_type="password", username="bob", password="bobs-long-password")
    node.secrets += [token["access_token"], token["refresh_token"]]
    by_token = admin.security.grant_api_key(grant_type="access_token", access_token=token["access_token"],
                                            api_key={"name": "by-token"})
    node.secrets.append(by_token["api_key"])
    assert admin.security.get_api_key(id=by_token["id"])["api_keys"][0]["username"] == "bob"
    admin.security.invalidate_api_key(ids=[by_token["id"]])


def test_a_key_never_reads_what_it_is_limited_by(node):
    """`with_limited_by` needs manage_api_key or more when the caller is an API key; a key reads
    itself by id, and nothing else."""
    admin = admin_client(node)
    key = admin.security.create_api_key(name="lim", role_descriptors={"r": {"cluster": ["manage_own_api_key"]}})
    node.secrets.append(key["api_key"])
    k = with_key(node, key["encoded"])
    assert [x["id"] for x in k.security.get_api_key(id=key["id"])["api_keys"]] == [key["id"]]
    assert "limited_by" not in k.security.get_api_key(id=key["id"])["api_keys"][0]
    for call in [lambda: k.security.get_api_key(id=key["id"], with_limited_by=True),
                 lambda: k.security.get_api_key(owner=True),
                 lambda: k.security.query_api_keys(with_limited_by=True)]:
        with pytest.raises(elasticsearch.AuthorizationException) as e:
            call()
        assert f"is unauthorized for API key id [{key['id']}] of user [elastic]" in e.value.body["error"]["reason"]
    # The owner, holding manage_api_key (superuser), reads it.
    got = admin.security.get_api_key(id=key["id"], with_limited_by=True)["api_keys"][0]
    assert got["limited_by"] and "superuser" in got["limited_by"][0]


def test_index_synonym_and_updates_that_change_nothing(node):
    admin = admin_client(node)
    key = admin.security.create_api_key(name="noop-key", metadata={"team": "a"}, role_descriptors={
        "r": {"index": [{"names": "logs-*", "privileges": ["read"]}]}})
    got = admin.security.get_api_key(id=key["id"])["api_keys"][0]
    assert got["role_descriptors"]["r"]["indices"][0]["names"] == ["logs-*"]
    assert "index" not in got["role_descriptors"]["r"]

    # The same descriptors, written differently, and the same metadata: nothing changes.
    same = {"r": {"indices": [{"names": ["logs-*"], "privileges": ["read"]}], "cluster": []}}
    assert admin.security.update_api_key(id=key["id"], role_descriptors=same, metadata={"team": "a"})["updated"] is False
    assert admin.security.update_api_key(id=key["id"])["updated"] is False
    bulk = admin.security.bulk_update_api_keys(ids=[key["id"]], metadata={"team": "a"})
    assert bulk["updated"] == [] and bulk["noops"] == [key["id"]]

    assert admin.security.update_api_key(id=key["id"], metadata={"team": "b"})["updated"] is True
    changed = {"r": {"index": [{"names": ["logs-*", "metrics-*"], "privileges": ["read"]}]}}
    bulk = admin.security.bulk_update_api_keys(ids=[key["id"]], role_descriptors=changed)
    assert bulk["updated"] == [key["id"]] and bulk["noops"] == []
    got = admin.security.get_api_key(id=key["id"])["api_keys"][0]
    assert got["role_descriptors"]["r"]["indices"][0]["names"] == ["logs-*", "metrics-*"]
    assert got["metadata"] == {"team": "b"}


def test_manage_own_api_key_invalidates_only_as_elasticsearch_allows(node):
    admin = admin_client(node)
    admin.security.put_role(name="own_keys_only", cluster=["manage_own_api_key"])
    admin.security.put_user(username="carol", password="carols-long-password", roles=["own_keys_only"])
    carol = as_user(node, "carol", "carols-long-password")
    theirs = admin.security.create_api_key(name="admins-key")
    first = carol.security.create_api_key(name="carol-1")
    second = carol.security.create_api_key(name="carol-2")
    denied = ("action [cluster:admin/xpack/security/api_key/invalidate] is unauthorized for user [carol] with "
              "effective roles [own_keys_only], this action is granted by the cluster privileges "
              "[manage_api_key,manage_security,all]")
    for request in [{"ids": [theirs["id"]]}, {"ids": [first["id"]]}, {"name": "admins-key"},
                    {"username": "elastic"}, {"realm_name": "default_native"},
                    {"username": "elastic", "realm_name": "reserved"},
                    {"username": "carol", "realm_name": "reserved"}]:
        with pytest.raises(elasticsearch.AuthorizationException) as e:
            carol.security.invalidate_api_key(**request)
        assert e.value.status_code == 403 and e.value.body["error"]["reason"] == denied, request
    assert with_key(node, theirs["encoded"]).security.authenticate()["username"] == "elastic"

    out = carol.security.invalidate_api_key(username="carol", realm_name="default_native")
    assert sorted(out["invalidated_api_keys"]) == sorted([first["id"], second["id"]])
    third = carol.security.create_api_key(name="carol-3")
    assert carol.security.invalidate_api_key(owner=True, name="carol-3")["invalidated_api_keys"] == [third["id"]]
    with pytest.raises(elasticsearch.AuthenticationException):
        with_key(node, first["encoded"]).security.authenticate()


def test_query_api_keys_aggregations_and_field_types(node):
    """`_query/api_key` computes its aggregations over every matched key (not only the page) and
    refuses the types it does not have; prefix and wildcard queries need keyword fields."""
    admin = admin_client(node)
    for name, team in [("agg-a", "red"), ("agg-b", "red"), ("agg-c", "blue"), ("agg-d", None)]:
        k = admin.security.create_api_key(name=name, metadata={"team": team} if team else {})
        node.secrets.append(k["api_key"])
    admin.security.invalidate_api_key(name="agg-d")
    r = admin.security.query_api_keys(
        query={"prefix": {"name": "agg-"}}, size=1,
        aggs={"teams": {"terms": {"field": "metadata.team"}},
              "top": {"terms": {"field": "metadata.team", "size": 1}},
              "states": {"terms": {"field": "invalidated"}},
              "names": {"cardinality": {"field": "name"}},
              "counted": {"value_count": {"field": "metadata.team"}},
              "no_team": {"missing": {"field": "metadata.team"}},
              "live": {"filter": {"term": {"invalidated": False}}},
              "split": {"filters": {"filters": {"red": {"term": {"metadata.team": "red"}},
                                                "blue": {"term": {"metadata.team": "blue"}}}}}})
    assert (r["total"], r["count"]) == (4, 1)
    a = r["aggregations"]
    assert a["teams"]["buckets"] == [{"key": "red", "doc_count": 2}, {"key": "blue", "doc_count": 1}]
    assert a["top"]["buckets"] == [{"key": "red", "doc_count": 2}] and a["top"]["sum_other_doc_count"] == 1
    assert a["states"]["buckets"] == [{"key": 0, "key_as_string": "false", "doc_count": 3},
                                      {"key": 1, "key_as_string": "true", "doc_count": 1}]
    assert (a["names"]["value"], a["counted"]["value"], a["no_team"]["doc_count"]) == (4, 3, 1)
    assert a["live"]["doc_count"] == 3
    assert a["split"]["buckets"] == {"red": {"doc_count": 2}, "blue": {"doc_count": 1}}
    assert "aggregations" not in admin.security.query_api_keys(query={"prefix": {"name": "agg-"}})

    with pytest.raises(elasticsearch.BadRequestError) as e:
        admin.security.query_api_keys(aggs={"h": {"histogram": {"field": "creation", "interval": 10}}})
    assert e.value.body["error"]["reason"] == "Unsupported API Keys agg [h] of type [histogram]"
    with pytest.raises(elasticsearch.BadRequestError) as e:
        admin.security.query_api_keys(aggs={"t": {"terms": {"field": "api_key_hash"}}})
    assert e.value.body["error"]["reason"] == "Field [api_key_hash] is not allowed for querying or aggregation"
    for kind, field, ty in [("prefix", "creation", "date"), ("wildcard", "invalidated", "boolean")]:
        with pytest.raises(elasticsearch.BadRequestError) as e:
            admin.security.query_api_keys(query={kind: {field: "1"}})
        assert e.value.body["error"]["type"] == "query_shard_exception"
        assert e.value.body["error"]["reason"] == (f"Can only use {kind} queries on keyword, text and wildcard "
                                                   f"fields - not on [{field}] which is of type [{ty}]")
    with pytest.raises(elasticsearch.BadRequestError):
        admin.security.query_user(query={"prefix": {"enabled": "t"}})
