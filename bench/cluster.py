#!/usr/bin/env python3
"""Cluster measurements on loopback (127.0.0.40-42), with real `bulwark` processes:

- time from `bulwark start --enrollment-token` to the new node serving an authenticated request;
- write latency (sequential single-document PUTs, one keep-alive HTTPS connection) on one node
  alone, then through the leader and through a follower of a three-node cluster;
- catch-up time of a node killed with SIGKILL while 2,000 documents were written, from its restart
  to serving the last of them.

Prints a Markdown section; with --write it replaces the "## 9. Cluster" section of
docs/benchmarks.md (or appends it).

    bench/cluster.py [--binary PATH] [--writes N] [--write]
"""

import argparse
import base64
import http.client
import json
import os
import pathlib
import platform
import signal
import ssl
import statistics
import subprocess
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
PASSWORD = "bench-cluster-password"
AUTH = "Basic " + base64.b64encode(f"elastic:{PASSWORD}".encode()).decode()


class Node:
    def __init__(self, binary, tmp, i):
        self.binary, self.i = binary, i
        self.home = tmp / f"n{i}"
        self.ip = f"127.0.0.{40 + i}"
        self.proc = None
        self.conn = None

    def start(self, token=None):
        args = [self.binary, "--home", str(self.home), "--allow-root", "start", "-E", "http.port=9200",
                "-E", f"network.host={self.ip}", "-E", "transport.port=9300", "-E", f"node.name=b{self.i}"]
        if token:
            args += ["--enrollment-token", token]
        env = dict(os.environ, ELASTIC_PASSWORD=PASSWORD)
        out = open(self.home.parent / f"n{self.i}.log", "ab")
        started = time.monotonic()
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env)
        self.conn = None
        deadline = started + 120
        while True:
            try:
                if self.request("GET", "/")[0] == 200:
                    return time.monotonic() - started
            except (OSError, http.client.HTTPException, FileNotFoundError):
                self.conn = None
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"node {self.i} did not start")
            time.sleep(0.01)

    def request(self, method, path, body=None):
        if self.conn is None:
            ctx = ssl.create_default_context(cafile=str(self.home / "config" / "certs" / "http_ca.crt"))
            self.conn = http.client.HTTPSConnection(self.ip, 9200, context=ctx, timeout=30)
        headers = {"Authorization": AUTH, "Content-Type": "application/json"}
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        r = self.conn.getresponse()
        return r.status, r.read()

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.conn = None


def token(first):
    out = subprocess.run([first.binary, "--home", str(first.home), "--allow-root", "create-enrollment-token", "-s",
                          "node", "--url", f"https://{first.ip}:9200"], capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def write_latency(node, n, index):
    times = []
    for k in range(n):
        t = time.perf_counter()
        status, body = node.request("PUT", f"/{index}/_doc/{k}", {"k": k})
        times.append((time.perf_counter() - t) * 1000)
        assert status in (200, 201), body
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def leader_name(node):
    _, body = node.request("GET", "/_cat/nodes?format=json")
    return next(n["name"] for n in json.loads(body) if n["master"] == "*")


def main():
    ap = argparse.ArgumentParser()
    target = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
    ap.add_argument("--binary", default=str(pathlib.Path(target) / "release" / "bulwark"))
    ap.add_argument("--writes", type=int, default=300)
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bulwark-bench-cluster-") as t:
        tmp = pathlib.Path(t)
        nodes = [Node(a.binary, tmp, i) for i in range(3)]
        try:
            nodes[0].start()
            single = write_latency(nodes[0], a.writes, "single")
            joins = []
            for n in nodes[1:]:
                tok = token(nodes[0])
                joins.append(n.start(tok))
            by_name = {f"b{n.i}": n for n in nodes}
            leader = by_name[leader_name(nodes[0])]
            follower = next(n for n in nodes if n is not leader)
            via_leader = write_latency(leader, a.writes, "via-leader")
            via_follower = write_latency(follower, a.writes, "via-follower")
            victim = next(n for n in nodes if n is not leader and n is not follower)
            victim.kill9()
            for k in range(2000):
                leader.request("PUT", f"/catchup/_doc/{k}", {"k": k})
            t0 = time.monotonic()
            victim.start()
            while victim.request("GET", "/catchup/_doc/1999")[0] != 200:
                time.sleep(0.01)
            catch_up = time.monotonic() - t0
        finally:
            for n in nodes:
                if n.proc and n.proc.poll() is None:
                    n.kill9()
    build = "release" if "/release/" in a.binary else "debug"
    section = f"""## 9. Cluster

`bench/cluster.py` ({build} build, {platform.machine()}, {os.cpu_count()} cores, three nodes on 127.0.0.40-42 of one
host; sequential single-document `PUT`s on one keep-alive HTTPS connection, {a.writes} each):

| measurement | result |
|---|---|
| `start --enrollment-token` → the new node answers an authenticated request | {', '.join(f'{j:.2f} s' for j in joins)} (goal < 3 s) |
| write latency, one node alone | median {single[0]:.2f} ms, p99 {single[1]:.2f} ms |
| write latency, three nodes, through the leader | median {via_leader[0]:.2f} ms, p99 {via_leader[1]:.2f} ms |
| write latency, three nodes, through a follower (forwarded) | median {via_follower[0]:.2f} ms, p99 {via_follower[1]:.2f} ms |
| catch-up of a node killed while 2,000 documents were written: restart → serves the last one | {catch_up:.2f} s |
"""
    print(section)
    if a.write:
        doc = ROOT / "docs" / "benchmarks.md"
        text = doc.read_text()
        if "## 9. Cluster" in text:
            head, rest = text.split("## 9. Cluster", 1)
            tail = rest.split("\n## ", 1)
            text = head + section + ("\n## " + tail[1] if len(tail) > 1 else "")
        else:
            text = text.rstrip("\n") + "\n\n" + section
        doc.write_text(text)


if __name__ == "__main__":
    main()
