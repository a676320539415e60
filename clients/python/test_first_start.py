"""The official Python client against a freshly started, automatically secured node."""

import subprocess
import time

import elasticsearch
import pytest
from elasticsearch import Elasticsearch


def ready_client(**kwargs) -> Elasticsearch:
    """A client once the node answers an authenticated request (readiness, not a sleep)."""
    client = Elasticsearch(**kwargs, request_timeout=10)
    deadline = time.monotonic() + 60
    while True:
        try:
            client.info()
            return client
        except elasticsearch.AuthenticationException:
            raise
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def openssl_fingerprint(path: str) -> str:
    out = subprocess.run(
        ["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", path],
        check=True, capture_output=True, text=True,
    ).stdout
    return out.strip().split("=", 1)[1].replace(":", "").lower()


def test_printed_fingerprint_is_openssls_without_colons(node):
    assert node.fingerprint == openssl_fingerprint(node.ca)


def test_info_with_ssl_assert_fingerprint(node):
    es = ready_client(hosts=[node.url], basic_auth=("elastic", node.password), ssl_assert_fingerprint=node.fingerprint)
    info = es.info()
    assert info["version"]["number"] == "8.19.0"
    assert info["version"]["build_flavor"] == "default"
    assert info["tagline"] == "You Know, for Search"
    assert es.cluster.health()["status"] == "green"


def test_info_with_ca_certs(node):
    es = ready_client(hosts=[node.url], basic_auth=("elastic", node.password), ca_certs=node.ca)
    assert es.info()["cluster_name"] == "bulwark"
    me = es.security.authenticate()
    assert me["username"] == "elastic"
    assert me["roles"] == ["superuser"]


def test_wrong_fingerprint_is_refused(node):
    ready_client(hosts=[node.url], basic_auth=("elastic", node.password), ca_certs=node.ca)
    wrong = "00" * 32
    es = Elasticsearch(hosts=[node.url], basic_auth=("elastic", node.password), ssl_assert_fingerprint=wrong,
                       request_timeout=5, max_retries=0)
    with pytest.raises(elasticsearch.ConnectionError):
        es.info()


def test_wrong_password_is_an_authentication_error(node):
    ready_client(hosts=[node.url], basic_auth=("elastic", node.password), ca_certs=node.ca)
    es = Elasticsearch(hosts=[node.url], basic_auth=("elastic", "not-the-password"), ca_certs=node.ca)
    with pytest.raises(elasticsearch.AuthenticationException) as e:
        es.info()
    assert e.value.meta.status == 401
    assert e.value.body["error"]["type"] == "security_exception"
