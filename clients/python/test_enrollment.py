"""Console enrollment through the official Python client: the token printed at the first start and
one made by `bulwark create-enrollment-token`, used as Kibana uses them."""

import base64
import hashlib
import json
import os
import subprocess
import time

import elasticsearch
import pytest
from elasticsearch import Elasticsearch

from conftest import binary
from test_first_start import openssl_fingerprint, ready_client


def credentials(node) -> dict:
    """The bootstrap credentials once the enrollment token is in them (the node writes the
    password and fingerprint first, so that a crash cannot lose them, and the token after)."""
    deadline = time.monotonic() + 30
    while True:
        text = (node.home / "config" / "bootstrap-credentials").read_text()
        pairs = dict(l.split("=", 1) for l in text.splitlines() if "=" in l and not l.startswith("#"))
        if "ENROLLMENT_TOKEN" in pairs or time.monotonic() > deadline:
            return pairs
        time.sleep(0.05)


def decode(token: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(token))


def wait_ready(node):
    ready_client(hosts=[node.url], basic_auth=("elastic", node.password), ca_certs=node.ca)


def enroll_with(token: dict) -> tuple:
    """Kibana's way: the token's key as `api_key`, its first address, its fingerprint pinned."""
    key_id, secret = token["key"].split(":", 1)
    es = Elasticsearch(
        hosts=[f"https://{token['adr'][0]}"],
        api_key=(key_id, secret),
        ssl_assert_fingerprint=token["fgr"],
        request_timeout=10,
        max_retries=0,
    )
    return es, es.security.enroll_kibana()


def test_the_first_start_token_has_elasticsearchs_format(node):
    text = credentials(node)["ENROLLMENT_TOKEN"]
    assert len(text) % 4 == 0, "URL-safe base64 keeps its padding"
    raw = base64.urlsafe_b64decode(text)
    token = json.loads(raw)
    assert list(token) == ["ver", "adr", "fgr", "key"]
    assert raw == json.dumps(token, separators=(",", ":")).encode(), "compact JSON"
    assert token["ver"] == "8.19.0"
    assert token["fgr"] == openssl_fingerprint(node.ca) == node.fingerprint
    assert all(a.rsplit(":", 1)[1] == str(node.port) for a in token["adr"])
    key_id, secret = token["key"].split(":", 1)
    assert len(key_id) == 20 and len(secret) == 22


def test_enroll_kibana_gives_a_working_service_token_and_the_pinned_ca(node):
    wait_ready(node)
    token = decode(credentials(node)["ENROLLMENT_TOKEN"])
    es, resp = enroll_with(token)
    assert resp["token"]["name"].startswith("enroll-process-token-")
    ca_der = base64.b64decode(resp["http_ca"])
    assert hashlib.sha256(ca_der).hexdigest() == token["fgr"]
    pem = subprocess.run(
        ["openssl", "x509", "-inform", "DER", "-outform", "PEM"], input=ca_der, capture_output=True, check=True
    ).stdout
    assert pem == (node.home / "config" / "certs" / "http_ca.crt").read_bytes()

    kibana = Elasticsearch(hosts=[node.url], bearer_auth=resp["token"]["value"], ca_certs=node.ca)
    me = kibana.security.authenticate()
    assert me["username"] == "elastic/kibana"
    assert me["token"] == {"name": resp["token"]["name"], "type": "_service_account_index"}
    assert kibana.cluster.health()["status"] in ("green", "yellow")

    # The enrollment key does nothing else.
    with pytest.raises(elasticsearch.AuthorizationException):
        es.info()
    with pytest.raises(elasticsearch.AuthorizationException):
        es.security.get_user()
    with pytest.raises(elasticsearch.AuthorizationException) as e:
        es.security.enroll_node()
    assert "is for [kibana] enrollment" in str(e.value.body)


def test_a_token_from_the_tool_enrolls_too_and_a_tampered_one_is_refused(node):
    wait_ready(node)
    env = {k: v for k, v in os.environ.items() if k not in ("KEYSTORE_PASSWORD", "BULWARK_HOME")}
    env["RUST_BACKTRACE"] = "0"
    out = subprocess.run(
        [binary(), "--home", str(node.home), "--allow-root", "create-enrollment-token", "-s", "kibana", "--ttl", "10m"],
        capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 0, out.stderr
    token = decode(out.stdout.strip())
    assert token["fgr"] == node.fingerprint
    _, resp = enroll_with(token)
    assert hashlib.sha256(base64.b64decode(resp["http_ca"])).hexdigest() == token["fgr"]

    # Another fingerprint: the client refuses the server before sending the key.
    token["fgr"] = hashlib.sha256(b"another CA").hexdigest()
    with pytest.raises(elasticsearch.ConnectionError):
        enroll_with(token)
