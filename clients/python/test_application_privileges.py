"""Application privileges through the official Python client: put_privileges, get_privileges,
delete_privileges, and has_privileges with application checks resolved through them."""

import elasticsearch
import pytest
from elasticsearch import Elasticsearch

from test_first_start import ready_client

PW = "a-long-enough-password"


def test_put_get_check_and_delete_application_privileges(node):
    admin = ready_client(hosts=[node.url], basic_auth=("elastic", node.password), ca_certs=node.ca)
    r = admin.security.put_privileges(privileges={"myapp": {
        "read": {"actions": ["data:read/*"]},
        "admin": {"actions": ["data:*", "action:admin"], "metadata": {"level": 9}},
    }})
    assert r.body == {"myapp": {"read": {"created": True}, "admin": {"created": True}}}
    got = admin.security.get_privileges(application="myapp", name="admin")
    assert got.body == {"myapp": {"admin": {"application": "myapp", "name": "admin",
                                            "actions": ["data:*", "action:admin"], "metadata": {"level": 9}}}}
    assert set(admin.security.get_privileges()["myapp"]) == {"read", "admin"}
    with pytest.raises(elasticsearch.NotFoundError):
        admin.security.get_privileges(application="otherapp")
    with pytest.raises(elasticsearch.BadRequestError) as e:
        admin.security.put_privileges(privileges={"x": {"read": {"actions": ["data:read/*"]}}})
    assert "An application name prefix must be at least 3 characters long (found 'x')" in str(e.value)

    admin.security.put_role(name="app_reader",
                            applications=[{"application": "myapp", "privileges": ["read"], "resources": ["doc/*"]}])
    admin.security.put_user(username="dora", password=PW, roles=["app_reader"])
    dora = Elasticsearch(hosts=[node.url], basic_auth=("dora", PW), ca_certs=node.ca, max_retries=0)
    r = dora.security.has_privileges(application=[
        {"application": "myapp", "privileges": ["read", "admin", "data:read/list"], "resources": ["doc/1", "other"]}])
    assert r["has_all_requested"] is False
    assert r["application"]["myapp"]["doc/1"] == {"read": True, "admin": False, "data:read/list": True}
    assert r["application"]["myapp"]["other"] == {"read": False, "admin": False, "data:read/list": False}
    assert dora.security.get_user_privileges()["applications"] == [
        {"application": "myapp", "privileges": ["read"], "resources": ["doc/*"]}]
    # The superuser holds them all.
    assert admin.security.has_privileges(application=[
        {"application": "myapp", "privileges": ["admin"], "resources": ["*"]}])["has_all_requested"] is True

    r = admin.security.delete_privileges(application="myapp", name="admin")
    assert r.body == {"myapp": {"admin": {"found": True}}}
    with pytest.raises(elasticsearch.NotFoundError):
        admin.security.delete_privileges(application="myapp", name="admin")
    assert set(admin.security.get_privileges(application="myapp")["myapp"]) == {"read"}
