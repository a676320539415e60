"""Roles and privileges end to end: the Metricbeat setup of the security guide, has_privileges
against what users can actually do, API keys limited by their owner, restricted indices, run_as."""

import json
import time

import elasticsearch
import pytest
from elasticsearch import Elasticsearch, helpers

from test_first_start import ready_client

PASSWORD = "a-long-enough-password"
INDEX = "metricbeat-2026.11.22"


def as_user(node, user, password=PASSWORD, **kw):
    return Elasticsearch(hosts=[node.url], basic_auth=(user, password), ca_certs=node.ca, max_retries=0, **kw)


def wait_audited(node, predicate):
    """Polls the audit log (written by a background thread) for a matching line."""
    path = node.home / "logs" / "audit.json"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = [json.loads(l) for l in path.read_text().splitlines() if l.strip()]
        if any(predicate(l) for l in lines):
            return True
        time.sleep(0.05)
    return False


def assert_denied(e, action, user):
    assert e.value.meta.status == 403
    reason = e.value.body["error"]["reason"]
    assert e.value.body["error"]["type"] == "security_exception"
    assert f"action [{action}] is unauthorized for user [{user}]" in reason, reason
    assert "this action is granted by the" in reason, reason


@pytest.fixture
def metricbeat(node):
    admin = ready_client(hosts=[node.url], basic_auth=("elastic", node.password), ca_certs=node.ca)
    admin.security.put_role(name="metricbeat_setup", cluster=["monitor", "manage_ilm"],
                            indices=[{"names": ["metricbeat-*"], "privileges": ["manage", "write"]}])
    admin.security.put_role(name="metricbeat_monitoring", cluster=["monitor"],
                            indices=[{"names": [".monitoring-beats-*"], "privileges": ["create_index", "create_doc"]}])
    admin.security.put_role(name="metricbeat_writer", cluster=["monitor", "read_ilm"],
                            indices=[{"names": ["metricbeat-*"], "privileges": ["create_doc", "create_index", "view_index_metadata"]}])
    admin.security.put_role(name="metricbeat_reader",
                            indices=[{"names": ["metricbeat-*"], "privileges": ["read"]}])
    admin.security.put_role(name="own_api_keys", cluster=["manage_own_api_key"])
    users = {
        "mb_setup": ["metricbeat_setup", "kibana_admin", "ingest_admin"],
        "mb_monitoring": ["metricbeat_monitoring", "kibana_admin"],
        "mb_writer": ["metricbeat_writer"],
        "mb_reader": ["metricbeat_reader", "kibana_admin", "monitoring_user", "own_api_keys"],
    }
    for user, roles in users.items():
        admin.security.put_user(username=user, password=PASSWORD, roles=roles)
    return admin


def test_metricbeat_roles(node, metricbeat):
    writer = as_user(node, "mb_writer")
    events = [{"_index": INDEX, "_op_type": "create", "_source": {"@timestamp": "2026-11-22T10:00:00Z", "host": f"h{i}"}}
              for i in range(20)]
    ok, errors = helpers.bulk(writer, events, refresh=True)
    assert ok == 20 and not errors
    assert metricbeat.indices.exists(index=INDEX)

    hits = metricbeat.search(index=INDEX, size=1)["hits"]["hits"]
    with pytest.raises(elasticsearch.AuthorizationException) as e:
        writer.delete(index=INDEX, id=hits[0]["_id"])
    assert_denied(e, "indices:data/write/delete", "mb_writer")
    with pytest.raises(elasticsearch.AuthorizationException) as e:
        writer.index(index="other-index", document={"a": 1})
    assert_denied(e, "indices:data/write/index", "mb_writer")
    # In a bulk, the refused item is a per-item 403 and the others still apply.
    resp = writer.bulk(operations=[{"create": {"_index": INDEX}}, {"x": 1}, {"create": {"_index": "other-index"}}, {"x": 2}])
    assert resp["errors"] is True
    assert resp["items"][0]["create"]["status"] == 201
    assert resp["items"][1]["create"]["status"] == 403
    assert resp["items"][1]["create"]["error"]["type"] == "security_exception"

    reader = as_user(node, "mb_reader")
    found = reader.search(index="metricbeat-*", query={"match_all": {}}, track_total_hits=True)
    assert found["hits"]["total"]["value"] >= 20
    with pytest.raises(elasticsearch.AuthorizationException) as e:
        reader.index(index=INDEX, document={"a": 1})
    assert_denied(e, "indices:data/write/index", "mb_reader")

    monitoring = as_user(node, "mb_monitoring")
    r = monitoring.index(index=".monitoring-beats-8-2026.11.22", document={"type": "beats_stats"}, op_type="create")
    assert r["result"] == "created"
    with pytest.raises(elasticsearch.AuthorizationException) as e:
        monitoring.index(index=INDEX, document={"a": 1}, op_type="create")
    assert_denied(e, "indices:data/write/index", "mb_monitoring")

    assert wait_audited(node, lambda l: l.get("event.action") == "access_denied" and l.get("user.name") == "mb_writer")
    assert wait_audited(node, lambda l: l.get("event.action") == "access_denied" and l.get("user.name") == "mb_reader")


# (user, index, privilege, expected): has_privileges must agree with what the user can do.
CASES = [
    ("mb_writer", INDEX, "create_doc", True), ("mb_writer", INDEX, "create_index", True),
    ("mb_writer", INDEX, "view_index_metadata", True), ("mb_writer", INDEX, "index", False),
    ("mb_writer", INDEX, "write", False), ("mb_writer", INDEX, "delete", False),
    ("mb_writer", INDEX, "read", False), ("mb_writer", INDEX, "manage", False),
    ("mb_writer", "other-index", "create_doc", False), ("mb_writer", "metricbeat-*", "create_doc", True),
    ("mb_reader", INDEX, "read", True), ("mb_reader", INDEX, "write", False),
    ("mb_reader", INDEX, "create_doc", False), ("mb_reader", INDEX, "delete", False),
    ("mb_reader", "other-index", "read", False), ("mb_reader", ".monitoring-x", "read", True),
    ("mb_setup", INDEX, "manage", True), ("mb_setup", INDEX, "write", True),
    ("mb_setup", INDEX, "index", True), ("mb_setup", INDEX, "create_doc", True),
    ("mb_setup", INDEX, "delete", True), ("mb_setup", INDEX, "create_index", True),
    ("mb_setup", INDEX, "monitor", True), ("mb_setup", INDEX, "read", False),
    ("mb_setup", INDEX, "all", False), ("mb_setup", "other-index", "write", False),
    ("mb_monitoring", ".monitoring-beats-8-x", "create_doc", True),
    ("mb_monitoring", ".monitoring-beats-8-x", "create_index", True),
    ("mb_monitoring", ".monitoring-beats-8-x", "index", False),
    ("mb_monitoring", INDEX, "create_doc", False),
    ("elastic", INDEX, "all", True), ("elastic", ".security-7", "all", False),
    ("elastic", ".security-7", "read", True),
]


@pytest.mark.parametrize("user,index,privilege,expected", CASES)
def test_has_privileges_table(node, metricbeat, user, index, privilege, expected):
    password = node.password if user == "elastic" else PASSWORD
    client = as_user(node, user, password)
    r = client.security.has_privileges(index=[{"names": [index], "privileges": [privilege]}])
    assert r["index"][index][privilege] is expected
    assert r["has_all_requested"] is expected


def test_has_privileges_matches_behaviour(node, metricbeat):
    writer = as_user(node, "mb_writer")
    answers = writer.security.has_privileges(
        cluster=["monitor", "read_ilm", "manage_ilm", "manage_security"],
        index=[{"names": [INDEX, "other-index"], "privileges": ["create_doc", "delete"]}],
    )
    assert answers["cluster"] == {"monitor": True, "read_ilm": True, "manage_ilm": False, "manage_security": False}
    assert writer.index(index=INDEX, document={"a": 1}, op_type="create")["result"] == "created"  # create_doc: true
    with pytest.raises(elasticsearch.AuthorizationException):
        writer.index(index="other-index", document={"a": 1}, op_type="create")  # create_doc on other-index: false
    assert writer.cluster.health()["status"] in ("green", "yellow")  # monitor: true
    with pytest.raises(elasticsearch.AuthorizationException):
        writer.security.get_user()  # manage_security: false


def test_api_key_is_limited_by_its_owner(node, metricbeat):
    reader = as_user(node, "mb_reader")
    key = reader.security.create_api_key(
        name="wants-write",
        role_descriptors={"w": {"indices": [{"names": ["metricbeat-*"], "privileges": ["read", "write"]}]}},
    )
    metricbeat.index(index=INDEX, document={"seed": True}, refresh=True)
    with_key = Elasticsearch(hosts=[node.url], api_key=(key["id"], key["api_key"]), ca_certs=node.ca, max_retries=0)
    assert with_key.search(index=INDEX)["hits"]["total"]["value"] >= 1
    with pytest.raises(elasticsearch.AuthorizationException):
        with_key.index(index=INDEX, document={"a": 1})


def test_wildcard_privileges_do_not_reach_restricted_indices(node):
    admin = ready_client(hosts=[node.url], basic_auth=("elastic", node.password), ca_certs=node.ca)
    admin.security.put_role(name="everything", indices=[{"names": ["*"], "privileges": ["all"]}])
    admin.security.put_role(name="everything_restricted",
                            indices=[{"names": ["*"], "privileges": ["all"], "allow_restricted_indices": True}])
    admin.security.put_user(username="wide", password=PASSWORD, roles=["everything"])
    admin.security.put_user(username="wider", password=PASSWORD, roles=["everything_restricted"])
    wide = as_user(node, "wide").security.has_privileges(index=[{"names": [".security-7", "logs"], "privileges": ["read"]}])
    assert wide["index"][".security-7"]["read"] is False
    assert wide["index"]["logs"]["read"] is True
    wider = as_user(node, "wider").security.has_privileges(index=[{"names": [".security-7"], "privileges": ["read"]}])
    assert wider["index"][".security-7"]["read"] is True


def test_run_as(node):
    admin = ready_client(hosts=[node.url], basic_auth=("elastic", node.password), ca_certs=node.ca)
    admin.security.put_role(name="impersonator", run_as=["target"])
    admin.security.put_role(name="monitor_only", cluster=["monitor"])
    admin.security.put_user(username="target", password=PASSWORD, roles=["monitor_only"])
    admin.security.put_user(username="boss", password=PASSWORD, roles=["impersonator"])
    admin.security.put_user(username="nobody", password=PASSWORD, roles=[])
    boss_as_target = as_user(node, "boss", headers={"es-security-runas-user": "target"})
    me = boss_as_target.security.authenticate()
    assert me["username"] == "target"
    assert boss_as_target.cluster.health()["status"] == "green"  # target's monitor privilege
    with pytest.raises(elasticsearch.AuthorizationException):
        as_user(node, "boss").cluster.health()  # boss alone has no monitor privilege
    with pytest.raises(elasticsearch.AuthorizationException) as e:
        as_user(node, "nobody", headers={"es-security-runas-user": "target"}).security.authenticate()
    assert "is unauthorized to run as [target]" in e.value.body["error"]["reason"]
