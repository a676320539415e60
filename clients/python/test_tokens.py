"""The token service through the official Python client: get_token with each grant type, a client
with bearer_auth, refresh, invalidate_token, and the refusals the client raises."""

import elasticsearch
import pytest
from elasticsearch import Elasticsearch

from test_first_start import ready_client

PW = "a-long-enough-password"


def admin_client(node):
    return ready_client(hosts=[node.url], basic_auth=("elastic", node.password), ca_certs=node.ca)


def with_token(node, token):
    return Elasticsearch(hosts=[node.url], bearer_auth=token, ca_certs=node.ca, max_retries=0)


def test_get_use_refresh_and_invalidate_tokens(node):
    admin = admin_client(node)
    admin.security.put_role(name="watcher", cluster=["monitor"])
    admin.security.put_user(username="carol", password=PW, roles=["watcher"])

    pair = admin.security.get_token(grant_type="password", username="carol", password=PW)
    node.secrets += [pair["access_token"], pair["refresh_token"]]
    assert pair["type"] == "Bearer" and pair["expires_in"] == 1200
    assert pair["authentication"]["username"] == "carol"

    carol = with_token(node, pair["access_token"])
    me = carol.security.authenticate()
    assert me["username"] == "carol" and me["authentication_type"] == "token"
    assert carol.cluster.health()["status"] in ("green", "yellow")
    with pytest.raises(elasticsearch.AuthorizationException):
        carol.security.get_user()

    # Refresh once; the second use is refused as an OAuth2 invalid_grant.
    fresh = admin.security.get_token(grant_type="refresh_token", refresh_token=pair["refresh_token"])
    node.secrets += [fresh["access_token"], fresh["refresh_token"]]
    assert with_token(node, fresh["access_token"]).security.authenticate()["username"] == "carol"
    with pytest.raises(elasticsearch.BadRequestError) as e:
        admin.security.get_token(grant_type="refresh_token", refresh_token=pair["refresh_token"])
    assert e.value.body == {"error": "invalid_grant", "error_description": "token has already been refreshed"}

    # client_credentials: the caller's own token, no refresh token.
    own = admin.security.get_token(grant_type="client_credentials")
    node.secrets.append(own["access_token"])
    assert "refresh_token" not in own
    assert with_token(node, own["access_token"]).security.authenticate()["username"] == "elastic"

    # Invalidate the first access token; the client then gets a 401 whose reason says so.
    r = admin.security.invalidate_token(token=pair["access_token"])
    assert (r["invalidated_tokens"], r["previously_invalidated_tokens"], r["error_count"]) == (1, 0, 0)
    with pytest.raises(elasticsearch.AuthenticationException) as e:
        carol.security.authenticate()
    assert e.value.body["error"]["reason"] == "token expired"
    # By user name: the refreshed pair's two tokens.
    r = admin.security.invalidate_token(username="carol")
    assert r["invalidated_tokens"] == 2
    with pytest.raises(elasticsearch.AuthenticationException):
        with_token(node, fresh["access_token"]).security.authenticate()
    with pytest.raises(elasticsearch.NotFoundError):
        admin.security.invalidate_token(token="bm9wZQ")
    # By refresh token: that refresh token is spent, its pair's access token is not.
    spare = admin.security.get_token(grant_type="password", username="carol", password=PW)
    node.secrets += [spare["access_token"], spare["refresh_token"]]
    r = admin.security.invalidate_token(refresh_token=spare["refresh_token"])
    assert (r["invalidated_tokens"], r["error_count"]) == (1, 0)
    with pytest.raises(elasticsearch.BadRequestError) as e:
        admin.security.get_token(grant_type="refresh_token", refresh_token=spare["refresh_token"])
    assert e.value.body["error"] == "invalid_grant"
    assert with_token(node, spare["access_token"]).security.authenticate()["username"] == "carol"

    with pytest.raises(elasticsearch.BadRequestError) as e:
        admin.security.get_token(grant_type="_kerberos", kerberos_ticket="YQ==")
    assert "grant_type [_kerberos] is not supported" in e.value.body["error_description"]
    with pytest.raises(elasticsearch.AuthenticationException):
        admin.security.get_token(grant_type="password", username="carol", password="wrong-password-1")
