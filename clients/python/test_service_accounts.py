"""Service accounts and their tokens through the official Python client, including a token
made by `bulwark service-tokens` in config/service_tokens."""

import subprocess
import time

import elasticsearch
import pytest
from elasticsearch import Elasticsearch

from conftest import binary
from test_first_start import ready_client


def admin_client(node):
    return ready_client(hosts=[node.url], basic_auth=("elastic", node.password), ca_certs=node.ca)


def with_token(node, value):
    return Elasticsearch(hosts=[node.url], bearer_auth=value, ca_certs=node.ca, max_retries=0)


def logs_text(node):
    """The audit log and the node's JSON log, where no secret may ever appear."""
    logs = [node.home / "logs" / "audit.json", node.home / "logs" / "bulwark.json"]
    assert logs[0].exists()
    return "".join(p.read_text(errors="replace") for p in logs if p.exists())


def test_accounts(node):
    admin = admin_client(node)
    accounts = admin.security.get_service_accounts()
    assert {"elastic/fleet-server", "elastic/kibana"} <= set(accounts)
    fleet = accounts["elastic/fleet-server"]["role_descriptor"]
    assert "manage_own_api_key" in fleet["cluster"]
    assert fleet["run_as"] == [] and fleet["transient_metadata"] == {"enabled": True}
    assert any(".fleet-*" in i["names"] and i["allow_restricted_indices"] for i in fleet["indices"])
    kibana = accounts["elastic/kibana"]["role_descriptor"]
    assert "monitor" in kibana["cluster"]
    assert list(admin.security.get_service_accounts(namespace="elastic", service="kibana")) == ["elastic/kibana"]
    assert set(admin.security.get_service_accounts(namespace="elastic")) == set(accounts)
    assert dict(admin.security.get_service_accounts(namespace="elastic", service="nope")) == {}


def test_stored_tokens(node):
    admin = admin_client(node)
    token = admin.security.create_service_token(namespace="elastic", service="kibana", name="t1")
    assert token["created"] is True and token["token"]["name"] == "t1"
    value = token["token"]["value"]
    me = with_token(node, value).security.authenticate()
    assert me["username"] == "elastic/kibana"
    # A refusal names the service account (not roles) and the privileges that would grant it.
    with pytest.raises(elasticsearch.AuthorizationException) as e:
        with_token(node, value).security.put_user(username="x", password="a-long-password", roles=[])
    assert e.value.body["error"]["reason"] == (
        "action [cluster:admin/xpack/security/user/put] is unauthorized for service account [elastic/kibana], "
        "this action is granted by the cluster privileges [manage_security,all]")
    assert me["full_name"] == "Service account - elastic/kibana"
    assert me["token"] == {"name": "t1", "type": "_service_account_index"}
    assert me["authentication_type"] == "token"
    assert me["authentication_realm"] == {"name": "_service_account", "type": "_service_account"}
    assert me["metadata"] == {"_elastic_service_account": True}

    with pytest.raises(elasticsearch.ConflictError) as e:
        admin.security.create_service_token(namespace="elastic", service="kibana", name="t1")
    assert e.value.body["error"]["type"] == "version_conflict_engine_exception"
    with pytest.raises(elasticsearch.BadRequestError):
        admin.security.create_service_token(namespace="elastic", service="kibana", name="_bad")
    with pytest.raises(elasticsearch.BadRequestError):
        admin.security.create_service_token(namespace="elastic", service="nobody", name="t1")
    auto = admin.security.create_service_token(namespace="elastic", service="fleet-server")
    assert auto["token"]["name"].startswith("token_")
    assert with_token(node, auto["token"]["value"]).security.authenticate()["username"] == "elastic/fleet-server"

    creds = admin.security.get_service_credentials(namespace="elastic", service="kibana")
    assert creds["service_account"] == "elastic/kibana"
    assert creds["tokens"] == {"t1": {}} and creds["count"] == 1
    assert creds["nodes_credentials"]["_nodes"]["successful"] == 1

    cleared = admin.security.clear_cached_service_tokens(namespace="elastic", service="kibana", name="t1")
    assert cleared["_nodes"] == {"total": 1, "successful": 1, "failed": 0}

    assert admin.security.delete_service_token(namespace="elastic", service="kibana", name="t1")["found"] is True
    with pytest.raises(elasticsearch.AuthenticationException):
        with_token(node, value).security.authenticate()
    with pytest.raises(elasticsearch.NotFoundError):
        admin.security.delete_service_token(namespace="elastic", service="kibana", name="t1")
    assert admin.security.get_service_credentials(namespace="elastic", service="kibana")["count"] == 0

    text = logs_text(node)
    assert value not in text and auto["token"]["value"] not in text


def test_file_token(node):
    admin = admin_client(node)
    out = subprocess.run(
        [binary(), "--home", str(node.home), "--allow-root", "service-tokens", "create", "elastic/kibana", "filetok"],
        check=True, capture_output=True, text=True,
    ).stdout
    line = next(l for l in out.splitlines() if l.startswith("SERVICE_TOKEN "))
    value = line.split(" = ", 1)[1].strip()

    # The node re-reads config/service_tokens on its own; wait for it through the API (no
    # failed authentications while waiting).
    deadline = time.monotonic() + 15
    while True:
        creds = admin.security.get_service_credentials(namespace="elastic", service="kibana")
        if "filetok" in creds["nodes_credentials"]["file_tokens"]:
            break
        assert time.monotonic() < deadline, "the node never loaded the service tokens file"
        time.sleep(0.1)
    assert creds["count"] == 1 and creds["tokens"] == {}
    assert len(creds["nodes_credentials"]["file_tokens"]["filetok"]["nodes"]) == 1

    me = with_token(node, value).security.authenticate()
    assert me["username"] == "elastic/kibana"
    assert me["token"] == {"name": "filetok", "type": "_service_account_file"}
    assert value not in logs_text(node)
