"""Security inputs the node once accepted and ignored (issue 13), through the official Python
client and raw HTTP: each is now enforced, or refused with an error that names it."""

import json

import elasticsearch
import pytest
import urllib3

from test_api_keys import admin_client, as_user, with_key

PASSWORD = "a-long-enough-password-1"


def raw(node, method, path, body, user="elastic", password=None):
    """One request with a hand-written body (the client would re-serialize it)."""
    http = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=node.ca)
    headers = urllib3.make_headers(basic_auth=f"{user}:{password or node.password}")
    headers["Content-Type"] = "application/json"
    resp = http.request(method, f"{node.url}{path}", body=body.encode(), headers=headers)
    return resp.status, json.loads(resp.data or b"null")


def test_booleans_and_fields_are_strict(node):
    for enabled in ('"false"', "0", '"no"'):
        status, body = raw(node, "PUT", "/_security/user/strict",
                           f'{{"password": "{PASSWORD}", "roles": [], "enabled": {enabled}}}')
        assert status == 400, (enabled, body)
        assert "[enabled]" in body["error"]["reason"]
    status, body = raw(node, "PUT", "/_security/user/strict",
                       f'{{"password": "{PASSWORD}", "roles": [], "enabled": true, "enabled": false}}')
    assert status == 400
    assert body["error"]["type"] == "x_content_parse_exception"
    assert "Duplicate field 'enabled'" in body["error"]["reason"]
    status, body = raw(node, "PUT", "/_security/user/strict", f'{{"password": "{PASSWORD}", "roles": [], "rolez": []}}')
    assert status == 400 and "unknown field [rolez]" in body["error"]["reason"]
    status, body = raw(node, "PUT", "/_security/user/strict",
                       f'{{"password": "{PASSWORD}", "roles": [], "metadata": {{"_reserved": true}}}}')
    assert status == 400 and "metadata keys may not start with [_]" in body["error"]["reason"]
    status, body = raw(node, "PUT", "/_security/role/strict", '{"metadata": {"_x": 1}}')
    assert status == 400 and "may not start with [_]" in body["error"]["reason"]
    status, body = raw(node, "PUT", "/_security/role/strict",
                       '{"indices": [{"names": ["a"], "privileges": ["read"], "allow_restricted_indices": "true"}]}')
    assert status == 400
    status, body = raw(node, "POST", "/_security/api_key", '{"name": "a", "name": "b"}')
    assert status == 400 and "Duplicate field 'name'" in body["error"]["reason"]
    status, _ = raw(node, "GET", "/_security/user/strict", "")
    assert status == 404, "nothing refused was stored"


def test_a_disabled_role_grants_nothing(node):
    admin = admin_client(node)
    admin.indices.create(index="things")
    admin.security.put_role(name="off", indices=[{"names": ["things"], "privileges": ["read"]}],
                            transient_metadata={"enabled": False})
    admin.security.put_user(username="offuser", password=PASSWORD, roles=["off"])
    with pytest.raises(elasticsearch.AuthorizationException):
        as_user(node, "offuser", PASSWORD).search(index="things")
    admin.security.put_role(name="off", indices=[{"names": ["things"], "privileges": ["read"]}])
    assert as_user(node, "offuser", PASSWORD).search(index="things")["hits"]["total"]["value"] == 0


def test_api_keys_keep_the_owner_roles_they_were_made_with(node):
    admin = admin_client(node)
    admin.indices.create(index="narrow")
    admin.indices.create(index="wide")
    admin.security.put_role(name="owner_role", cluster=["manage_own_api_key"],
                            indices=[{"names": ["narrow"], "privileges": ["read"]}])
    admin.security.put_user(username="owner", password=PASSWORD, roles=["owner_role"])
    owner = as_user(node, "owner", PASSWORD)
    key = owner.security.create_api_key(name="k1")
    client = with_key(node, key["encoded"])
    client.search(index="narrow")
    # Widening the owner's role later does not widen the key (Elasticsearch copies the descriptors).
    admin.security.put_role(name="owner_role", cluster=["manage_own_api_key"],
                            indices=[{"names": ["narrow", "wide"], "privileges": ["read"]}])
    owner.search(index="wide")
    with pytest.raises(elasticsearch.AuthorizationException):
        client.search(index="wide")
    limited = admin.security.get_api_key(id=key["id"], with_limited_by=True)["api_keys"][0]["limited_by"]
    assert limited[0]["owner_role"]["indices"][0]["names"] == ["narrow"]
    # An update copies the roles as they are then.
    owner.security.update_api_key(id=key["id"], metadata={"v": 2})
    client.search(index="wide")


def test_a_key_reaches_only_itself(node):
    admin = admin_client(node)
    admin.security.put_role(name="own_keys", cluster=["manage_own_api_key"])
    admin.security.put_user(username="keyowner", password=PASSWORD, roles=["own_keys"])
    owner = as_user(node, "keyowner", PASSWORD)
    first = owner.security.create_api_key(name="first")
    sibling = owner.security.create_api_key(name="sibling")
    key = with_key(node, first["encoded"])
    assert [k["id"] for k in key.security.get_api_key(id=first["id"])["api_keys"]] == [first["id"]]
    for call in (lambda: key.security.get_api_key(),
                 lambda: key.security.get_api_key(id=sibling["id"]),
                 lambda: key.security.get_api_key(owner=True),
                 lambda: key.security.invalidate_api_key(ids=[sibling["id"]]),
                 lambda: key.security.invalidate_api_key(owner=True)):
        with pytest.raises(elasticsearch.AuthorizationException) as e:
            call()
        assert f"API key id [{first['id']}]" in str(e.value)
    assert [k["id"] for k in key.security.query_api_keys()["api_keys"]] == [first["id"]]
    assert not admin.security.get_api_key(id=sibling["id"])["api_keys"][0]["invalidated"]
    # The user sees both of its keys.
    assert {k["id"] for k in owner.security.get_api_key(owner=True)["api_keys"]} == {first["id"], sibling["id"]}
    # ... and manage_own_api_key does not let it grant keys for others (grant_api_key does).
    admin.security.put_user(username="victim", password=PASSWORD, roles=[])
    with pytest.raises(elasticsearch.AuthorizationException):
        owner.security.grant_api_key(grant_type="password", username="victim", password=PASSWORD,
                                     api_key={"name": "stolen"})
    assert key.security.invalidate_api_key(ids=[first["id"]])["invalidated_api_keys"] == [first["id"]]


def test_application_checks_and_privileges_of_a_restricted_key(node):
    admin = admin_client(node)
    key = admin.security.create_api_key(name="restricted", role_descriptors={"r": {"cluster": ["monitor"]}})
    client = with_key(node, key["encoded"])
    answer = client.security.has_privileges(
        application=[{"application": "myapp", "privileges": ["read"], "resources": ["*"]}],
        cluster=["monitor"])
    assert answer["cluster"] == {"monitor": True}
    assert answer["application"] == {"myapp": {"*": {"read": False}}}
    assert answer["has_all_requested"] is False
    # The owner (superuser) holds every application privilege itself.
    assert admin.security.has_privileges(
        application=[{"application": "myapp", "privileges": ["read"], "resources": ["*"]}])["has_all_requested"]
    with pytest.raises(elasticsearch.BadRequestError) as e:
        client.security.get_user_privileges()
    assert "Cannot retrieve privileges for API keys with assigned role descriptors" in str(e.value)
    unrestricted = with_key(node, admin.security.create_api_key(name="plain")["encoded"])
    assert "all" in unrestricted.security.get_user_privileges()["cluster"]
