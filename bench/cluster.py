#!/usr/bin/env python3
"""Cluster measurements on loopback (127.0.0.40-42), with real `bulwark` processes:

- time from `bulwark start --enrollment-token` to the new node serving an authenticated request;
- write latency (sequential single-document PUTs, one keep-alive HTTPS connection) on one node
  alone, then through the leader and through a follower of a three-node cluster;
- catch-up time of a node killed with SIGKILL while 2,000 documents were written, from its restart
  to serving the last of them.

Prints a Markdown section; with --write it replaces the "## 9. Cluster" section of
docs/benchmarks.md (or appends it).

With --bulk-load it measures instead whether a leader taking large `_bulk`s keeps its leadership:
three nodes, CLIENTS threads sending `_bulk`s of DOCS documents (500: about 340 KB) to the leader for
SECONDS; it counts elections (new terms in the nodes' logs), `_bulk`s with 503 items, and
reports how long each node's Raft log storage calls took and how long its Raft core took to
answer a probe (their DEBUG lines). Prints Markdown tables (nothing is written).

    bench/cluster.py [--binary PATH] [--writes N] [--write]
    bench/cluster.py --bulk-load [--clients N] [--docs N] [--seconds S] [--hogs N] [--logs DIR] [--binary PATH]
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
import sys
import tempfile
import threading
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
        self.env = {}

    def start(self, token=None):
        args = [self.binary, "--home", str(self.home), "--allow-root", "start", "-E", "http.port=9200",
                "-E", f"network.host={self.ip}", "-E", "transport.port=9300", "-E", f"node.name=b{self.i}"]
        if token:
            args += ["--enrollment-token", token]
        env = dict(os.environ, ELASTIC_PASSWORD=PASSWORD, **self.env)
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

    def connect(self):
        ctx = ssl.create_default_context(cafile=str(self.home / "config" / "certs" / "http_ca.crt"))
        return http.client.HTTPSConnection(self.ip, 9200, context=ctx, timeout=60)

    def request(self, method, path, body=None):
        if self.conn is None:
            self.conn = self.connect()
        headers = {"Authorization": AUTH, "Content-Type": "application/json"}
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        r = self.conn.getresponse()
        return r.status, r.read()

    def log_lines(self):
        """The node's JSON log lines, decoded."""
        out = []
        for line in (self.home / "logs" / "bulwark.json").read_text(errors="replace").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

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


def bulk_body(client, k, docs):
    filler = "lorem ipsum dolor sit amet " * 20
    lines = []
    for i in range(docs):
        lines.append(json.dumps({"index": {"_index": "load", "_id": f"{client}-{k}-{i}"}}))
        lines.append(json.dumps({"client": client, "k": k, "i": i, "text": f"{filler} {k} {i}"}))
    return ("\n".join(lines) + "\n").encode()


def bulk_client(node, client, until, docs, out):
    """Sends `_bulk`s to `node` until `until` (monotonic); appends (seconds, status, 503 items)."""
    conn = node.connect()
    headers = {"Authorization": AUTH, "Content-Type": "application/x-ndjson"}
    k = 0
    while time.monotonic() < until:
        body = bulk_body(client, k, docs)
        k += 1
        t = time.monotonic()
        try:
            conn.request("POST", "/_bulk", body=body, headers=headers)
            r = conn.getresponse()
            answer = r.read()
            status = r.status
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = node.connect()
            out.append((time.monotonic() - t, 0, 0))
            continue
        unavailable = 0
        if status == 200:
            unavailable = sum(1 for i in json.loads(answer)["items"] if i["index"]["status"] == 503)
        out.append((time.monotonic() - t, status, unavailable))


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))] if values else 0


def leader_terms(nodes):
    """The terms in which the nodes' logs saw a leader."""
    return {line["term"] for n in nodes for line in n.log_lines()
            if line.get("message") in ("this node is the leader", "following the leader") and "term" in line}


def bulk_load(a):
    """Three nodes, `a.clients` threads sending large `_bulk`s to the leader for `a.seconds`."""
    with tempfile.TemporaryDirectory(prefix="bulwark-bench-bulk-") as t:
        tmp = pathlib.Path(t)
        nodes = [Node(a.binary, tmp, i) for i in range(3)]
        for n in nodes:
            n.env = {"RUST_LOG": "info,openraft=off,openraft::replication=warn,bulwark_store::log_store=debug,bulwark_store::store=debug"}
        hogs = []
        try:
            nodes[0].start()
            for n in nodes[1:]:
                n.start(token(nodes[0]))
            by_name = {f"b{n.i}": n for n in nodes}
            leader = by_name[leader_name(nodes[0])]
            status, body = leader.request("PUT", "/load")
            assert status == 200, body
            terms_before = leader_terms(nodes)
            # Busy loops standing for the rest of a loaded host (a build, other services).
            hogs += [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(a.hogs)]
            started = time.monotonic()
            results = []
            threads = [threading.Thread(target=bulk_client, args=(leader, c, started + a.seconds, a.docs, results))
                       for c in range(a.clients)]
            for th in threads:
                th.start()
            load = []
            while any(th.is_alive() for th in threads):
                load.append(os.getloadavg()[0])
                time.sleep(1)
            for th in threads:
                th.join()
            elapsed = time.monotonic() - started
        finally:
            for h in hogs:
                h.kill()
                h.wait()
            for n in nodes:
                if n.proc and n.proc.poll() is None:
                    n.kill9()
        if a.logs:
            for n in nodes:
                dest = pathlib.Path(a.logs) / f"b{n.i}.json"
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes((n.home / "logs" / "bulwark.json").read_bytes())
        elections = len(leader_terms(nodes) - terms_before)
        storage = {}
        rpc_timeouts = 0
        for n in nodes:
            for line in n.log_lines():
                msg = line.get("message", "")
                if msg == "error replication to target" or "error replication" in msg:
                    rpc_timeouts += "imeout" in json.dumps(line)
                if "took_ms" in line:
                    what = msg.split(" took ")[0].removeprefix("slow Raft log storage: ")
                    if what.startswith("the Raft core"):
                        what = "(the Raft core answering a probe)"
                    storage.setdefault(what, []).append(line["took_ms"])
    ok = [r for r in results if r[1] == 200 and r[2] == 0]
    unavailable = [r for r in results if r[2] > 0 or r[1] == 503]
    failed = [r for r in results if r[1] not in (200, 503)]
    mb = len(ok) * len(bulk_body(0, 0, a.docs)) / 1e6
    print(f"{a.clients} clients, {a.docs} documents a `_bulk`, {a.hogs} busy loops, {elapsed:.0f} s, load average {statistics.mean(load):.1f} (max {max(load):.1f})")
    print("| `_bulk`s answered | with 503 items | failed otherwise | elections | replication timeouts | MB/s | `_bulk` p50 / p99 / max |")
    print("|---|---|---|---|---|---|---|")
    lat = [r[0] * 1000 for r in results]
    print(f"| {len(results)} | {len(unavailable)} | {len(failed)} | {elections} | {rpc_timeouts} | {mb / elapsed:.2f} | "
          f"{pct(lat, 0.5):.0f} / {pct(lat, 0.99):.0f} / {max(lat, default=0):.0f} ms |")
    print()
    print("| Raft log storage call, all nodes | calls | p50 | p99 | max | > 200 ms |")
    print("|---|---|---|---|---|---|")
    for what, ms in sorted(storage.items()):
        print(f"| {what} | {len(ms)} | {pct(ms, 0.5)} ms | {pct(ms, 0.99)} ms | {max(ms)} ms | "
              f"{sum(1 for m in ms if m > 200)} |")


def main():
    ap = argparse.ArgumentParser()
    target = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
    ap.add_argument("--binary", default=str(pathlib.Path(target) / "release" / "bulwark"))
    ap.add_argument("--writes", type=int, default=300)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--bulk-load", action="store_true")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--docs", type=int, default=500, help="documents in each `_bulk` (500: about 340 KB)")
    ap.add_argument("--hogs", type=int, default=0, help="busy-loop processes running beside the nodes")
    ap.add_argument("--logs", help="with --bulk-load: copy the nodes' JSON logs into this directory")
    a = ap.parse_args()
    if a.bulk_load:
        return bulk_load(a)
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
