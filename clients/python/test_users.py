"""Native and built-in users through the official Python client."""

import elasticsearch
import pytest
from elasticsearch import Elasticsearch

from test_first_start import ready_client


def as_user(node, user, password):
    return Elasticsearch(hosts=[node.url], basic_auth=(user, password), ca_certs=node.ca, max_retries=0)


def test_native_user_lifecycle(node):
    admin = ready_client(hosts=[node.url], basic_auth=("elastic", node.password), ca_certs=node.ca)
    assert admin.security.put_user(username="jdoe", password="correct-horse-battery", roles=["viewer"],
                                   full_name="J. Doe", email="jdoe@example.com", metadata={"team": "a"})["created"] is True
    me = as_user(node, "jdoe", "correct-horse-battery").security.authenticate()
    assert me["username"] == "jdoe"
    assert me["roles"] == ["viewer"]
    assert me["full_name"] == "J. Doe"
    assert me["authentication_realm"] == {"name": "default_native", "type": "native"}

    admin.security.disable_user(username="jdoe")
    with pytest.raises(elasticsearch.AuthenticationException):
        as_user(node, "jdoe", "correct-horse-battery").security.authenticate()
    admin.security.enable_user(username="jdoe")
    assert as_user(node, "jdoe", "correct-horse-battery").security.authenticate()["enabled"] is True

    admin.security.change_password(username="jdoe", password="another-long-secret")
    with pytest.raises(elasticsearch.AuthenticationException):
        as_user(node, "jdoe", "correct-horse-battery").security.authenticate()
    assert as_user(node, "jdoe", "another-long-secret").security.authenticate()["username"] == "jdoe"

    # A user changes their own password without any privilege.
    as_user(node, "jdoe", "another-long-secret").security.change_password(password="my-own-new-password")
    assert as_user(node, "jdoe", "my-own-new-password").security.authenticate()["username"] == "jdoe"

    users = admin.security.get_user()
    for builtin in ["elastic", "kibana_system", "logstash_system", "beats_system", "apm_system", "remote_monitoring_user"]:
        assert users[builtin]["metadata"]["_reserved"] is True
    assert users["jdoe"]["metadata"] == {"team": "a"}

    assert admin.security.delete_user(username="jdoe")["found"] is True
    with pytest.raises(elasticsearch.AuthenticationException):
        as_user(node, "jdoe", "my-own-new-password").security.authenticate()
    with pytest.raises(elasticsearch.NotFoundError):
        admin.security.get_user(username="jdoe")


def test_password_policy_and_reserved_users(node):
    admin = ready_client(hosts=[node.url], basic_auth=("elastic", node.password), ca_certs=node.ca)
    with pytest.raises(elasticsearch.BadRequestError) as e:
        admin.security.put_user(username="shorty", password="short", roles=[])
    assert "at least [12] characters" in str(e.value.body)
    with pytest.raises(elasticsearch.BadRequestError) as e:
        admin.security.put_user(username="common", password="password1234", roles=[])
    assert "commonly used" in str(e.value.body)
    with pytest.raises(elasticsearch.BadRequestError):
        admin.security.delete_user(username="elastic")
    # A built-in user can get a password and be disabled.
    admin.security.change_password(username="kibana_system", password="kibana-system-password")
    assert as_user(node, "kibana_system", "kibana-system-password").security.authenticate()["username"] == "kibana_system"
    admin.security.disable_user(username="kibana_system")
    with pytest.raises(elasticsearch.AuthenticationException):
        as_user(node, "kibana_system", "kibana-system-password").security.authenticate()
    found = admin.security.query_user(query={"prefix": {"username": "kibana"}})
    assert [u["username"] for u in found["users"]] == ["kibana_system"]


def reason(e):
    return (e.value.status_code, e.value.body["error"]["type"], e.value.body["error"]["reason"])


def test_elasticsearch_messages_for_self_reserved_and_mismatched_users(node):
    admin = ready_client(hosts=[node.url], basic_auth=("elastic", node.password), ca_certs=node.ca)
    admin.security.put_user(username="self_admin", password="self-admin-password", roles=["superuser"])
    me = as_user(node, "self_admin", "self-admin-password")

    with pytest.raises(elasticsearch.BadRequestError) as e:
        me.security.disable_user(username="self_admin")
    assert reason(e) == (400, "illegal_argument_exception",
                         "users may not update the enabled status of their own account")
    # Enabling oneself is refused just the same.
    with pytest.raises(elasticsearch.BadRequestError) as e:
        me.security.enable_user(username="self_admin")
    assert reason(e) == (400, "illegal_argument_exception",
                         "users may not update the enabled status of their own account")
    with pytest.raises(elasticsearch.BadRequestError) as e:
        me.security.put_user(username="self_admin", roles=["superuser"], enabled=False)
    assert reason(e) == (400, "action_request_validation_exception",
                         "Validation Failed: 1: native and reserved realm users may not update the enabled "
                         "status of their own account;")
    assert me.security.authenticate()["enabled"] is True

    with pytest.raises(elasticsearch.BadRequestError) as e:
        admin.security.put_user(username="kibana_system", roles=["superuser"])
    assert reason(e) == (400, "action_request_validation_exception",
                         "Validation Failed: 1: user [kibana_system] is reserved and only the password can be changed;")
    with pytest.raises(elasticsearch.BadRequestError) as e:
        admin.security.delete_user(username="elastic")
    assert reason(e) == (400, "illegal_argument_exception", "user [elastic] is reserved and cannot be deleted")
    with pytest.raises(elasticsearch.BadRequestError) as e:
        admin.security.delete_user(username="_system")
    assert reason(e) == (400, "illegal_argument_exception", "user [_system] is internal")
    with pytest.raises(elasticsearch.BadRequestError) as e:
        admin.security.disable_user(username="_xpack")
    assert reason(e) == (400, "illegal_argument_exception", "user [_xpack] is internal")

    with pytest.raises(elasticsearch.BadRequestError) as e:
        admin.perform_request("PUT", "/_security/user/body_path", headers={"content-type": "application/json"},
                              body={"username": "other", "password": "a-long-enough-password", "roles": []})
    assert e.value.status_code == 400
    assert "[other]" in e.value.body["error"]["reason"] and "[body_path]" in e.value.body["error"]["reason"]
    with pytest.raises(elasticsearch.NotFoundError):
        admin.security.get_user(username="body_path")


def test_query_role_and_user_match_only_what_the_query_says(node):
    admin = ready_client(hosts=[node.url], basic_auth=("elastic", node.password), ca_certs=node.ca)
    for name in ["qr_admin_ops", "qr_admin_dev", "qr_viewer", "other_admin"]:
        admin.security.put_role(name=name, cluster=["monitor"], description=f"role {name}", metadata={"n": name})
    admin.security.put_user(username="qu_alice", password="qu-alice-password", roles=["qr_viewer"])
    admin.security.put_user(username="qu_bob", password="qu-bob-password", roles=["qr_admin_ops"])

    def roles(query, **kw):
        return sorted(r["name"] for r in admin.security.query_role(query=query, size=100, **kw)["roles"])

    assert roles({"wildcard": {"name": "qr_admin*"}}) == ["qr_admin_dev", "qr_admin_ops"]
    assert roles({"wildcard": {"name": {"value": "qr_*_ops"}}}) == ["qr_admin_ops"]
    assert roles({"bool": {"filter": [{"wildcard": {"name": "qr_*"}}],
                           "must_not": [{"term": {"name": "qr_viewer"}}]}}) == ["qr_admin_dev", "qr_admin_ops"]
    assert roles({"prefix": {"name": "qr_v"}}) == ["qr_viewer"]
    assert roles({"term": {"metadata.n": "other_admin"}}) == ["other_admin"]
    assert roles({"wildcard": {"name": "nothing*"}}) == []
    assert roles({"wildcard": {"name": "*_ops"}}) == ["qr_admin_ops"]
    assert roles({"wildcard": {"name": "qr_adm?n_dev"}}) == ["qr_admin_dev"]
    assert roles({"wildcard": {"name": {"value": "QR_ADMIN*", "case_insensitive": True}}}) == ["qr_admin_dev", "qr_admin_ops"]
    assert roles({"wildcard": {"name": "QR_ADMIN*"}}) == []
    assert roles({"bool": {"should": [{"wildcard": {"name": "qr_v*"}}, {"wildcard": {"name": "other*"}}]}}) \
        == ["other_admin", "qr_viewer"]
    assert roles({"wildcard": {"description": "role qr_a*"}}) == ["qr_admin_dev", "qr_admin_ops"]
    # Without a query every (native) role is listed, and nothing else.
    assert set(roles({"match_all": {}})) >= {"qr_admin_ops", "qr_admin_dev", "qr_viewer", "other_admin"}

    def users(query):
        return sorted(u["username"] for u in admin.security.query_user(query=query, size=100)["users"])

    assert users({"wildcard": {"username": "qu_*"}}) == ["qu_alice", "qu_bob"]
    assert users({"term": {"roles": "qr_admin_ops"}}) == ["qu_bob"]
    assert users({"wildcard": {"roles": "qr_admin*"}}) == ["qu_bob"]


def test_query_role_and_user_sort_page_and_refuse_what_they_do_not_take(node):
    admin = ready_client(hosts=[node.url], basic_auth=("elastic", node.password), ca_certs=node.ca)
    for name in ["sp_c", "sp_a", "sp_b"]:
        admin.security.put_role(name=name, cluster=["monitor"])
        admin.security.put_user(username=f"u_{name}", password="a-long-password-1", roles=[name],
                                full_name=f"User {name}")
    q = {"prefix": {"name": "sp_"}}
    first = admin.security.query_role(query=q, sort=[{"name": "desc"}], size=2)
    assert (first["total"], first["count"]) == (3, 2)
    assert [(r["name"], r["_sort"]) for r in first["roles"]] == [("sp_c", ["sp_c"]), ("sp_b", ["sp_b"])]
    rest = admin.security.query_role(query=q, sort=[{"name": "desc"}], search_after=["sp_b"])
    assert [r["name"] for r in rest["roles"]] == ["sp_a"] and rest["total"] == 3
    users = admin.security.query_user(query={"prefix": {"username": "u_sp_"}}, sort=["username"], from_=1)
    assert [u["username"] for u in users["users"]] == ["u_sp_b", "u_sp_c"] and users["total"] == 3
    assert users["users"][0]["_sort"] == ["u_sp_b"]
    unsorted = admin.security.query_user(query={"prefix": {"username": "u_sp_"}})
    assert all("_sort" not in u for u in unsorted["users"])

    for call, reason in [
        (lambda: admin.security.query_user(sort=["full_name"]), "sorting is not supported for field [full_name]"),
        (lambda: admin.security.query_user(sort=["password"]),
         "Field [password] is not allowed for querying or aggregation"),
        (lambda: admin.security.query_role(sort=["name"], search_after=["a", "b"]),
         "search_after has 2 value(s) but sort has 1"),
        (lambda: admin.security.perform_request("POST", "/_security/_query/role", headers={
            "content-type": "application/json", "accept": "application/json"}, body={"aggs": {}}),
         "[query_role_request] unknown field [aggs]"),
        (lambda: admin.security.perform_request("POST", "/_security/_query/user", headers={
            "content-type": "application/json", "accept": "application/json"}, body={"highlight": {}}),
         "[query_user_request] unknown field [highlight]"),
    ]:
        with pytest.raises(elasticsearch.BadRequestError) as e:
            call()
        assert e.value.body["error"]["reason"] == reason
