"""The official Python client with every node of a three-node cluster in its list keeps working
while one node is down."""

import os
import pathlib
import signal
import subprocess
import tempfile
import time

from elasticsearch import Elasticsearch

from conftest import binary, _wait_for

PASSWORD = "python-cluster-password"


def start(tmp: pathlib.Path, i: int, token=None):
    home = tmp / f"n{i}"
    ip = f"127.0.0.{30 + i}"
    env = {k: v for k, v in os.environ.items() if k not in ("ELASTIC_PASSWORD", "KEYSTORE_PASSWORD")}
    env["ELASTIC_PASSWORD"] = PASSWORD
    args = [binary(), "--home", str(home), "--allow-root", "start", "-E", "http.port=9200",
            "-E", f"network.host={ip}", "-E", "transport.port=9300", "-E", f"node.name=py{i}"]
    if token:
        args += ["--enrollment-token", token]
    out = open(tmp / f"n{i}.log", "ab")
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env)
    listening = home / "data" / "listening.json"
    _wait_for(lambda: listening.exists(), f"node {i} listening", proc)
    return home, ip, proc


def token(home: pathlib.Path, ip: str) -> str:
    out = subprocess.run([binary(), "--home", str(home), "--allow-root", "create-enrollment-token", "-s", "node",
                          "--url", f"https://{ip}:9200"], capture_output=True, text=True, timeout=120, check=True)
    return out.stdout.strip().splitlines()[-1]


def test_the_client_rides_over_a_node_that_is_down():
    with tempfile.TemporaryDirectory(prefix="bulwark-py-cluster-") as t:
        tmp = pathlib.Path(t)
        nodes = [start(tmp, 1)]
        try:
            for i in (2, 3):
                nodes.append(start(tmp, i, token(nodes[0][0], nodes[0][1])))
            ca = str(nodes[0][0] / "config" / "certs" / "http_ca.crt")
            es = Elasticsearch([f"https://{ip}:9200" for _, ip, _ in nodes], ca_certs=ca,
                               basic_auth=("elastic", PASSWORD), retry_on_timeout=True, max_retries=5,
                               request_timeout=30)
            assert es.cluster.health(wait_for_nodes="3")["number_of_nodes"] == 3
            stats = es.nodes.stats(metric="process")
            assert stats["_nodes"] == {"total": 3, "successful": 3, "failed": 0}, stats
            assert sorted(n["ip"] for n in stats["nodes"].values()) == sorted(ip for _, ip, _ in nodes)
            es.index(index="books", id="1", document={"title": "before"}, refresh=True)
            nodes[0][2].send_signal(signal.SIGKILL)
            nodes[0][2].wait(timeout=30)
            deadline = time.monotonic() + 60
            for n in range(20):
                while True:
                    try:
                        es.index(index="books", id=f"after-{n}", document={"n": n})
                        break
                    except Exception:
                        assert time.monotonic() < deadline, "writes did not resume"
                        time.sleep(0.2)
                assert es.get(index="books", id=f"after-{n}")["_source"] == {"n": n}
            assert es.get(index="books", id="1")["_source"] == {"title": "before"}
            stats = es.nodes.stats(timeout="5s")
            assert (stats["_nodes"]["successful"], stats["_nodes"]["failed"]) == (2, 1), stats
            failure = stats["_nodes"]["failures"][0]
            assert failure["type"] == "failed_node_exception", failure
            assert nodes[0][1] in failure["caused_by"]["reason"], failure
        finally:
            for _, _, p in nodes:
                if p.poll() is None:
                    p.kill()
                    p.wait(timeout=30)
