#!/usr/bin/env python3
"""Bulwark benchmarks, measured side by side on loopback.

Started by `bench/run` (which installs the tools and builds the release binary). Every comparison
alternates its variants round by round (A B, B A, A B, ...), so slow drift on a noisy machine hits
both sides alike, and ratios are computed per round before taking the median.

What runs (see docs/benchmarks.md for the results of the last full run):
  1. first start: fresh home -> first authenticated HTTPS 200; restart; fresh home, security off
  2. security overhead: wrk keep-alive on `GET /` and `_search`, HTTPS + basic (cached) vs plain HTTP;
     `GET /` also over plain HTTP with security on and over HTTPS with the audit log off (where the
     extra CPU goes: TLS, audit, the rest), with wrk's own CPU per request
  3. do-it-yourself: the same, vs nginx terminating TLS with auth_basic (bcrypt) in front of the
     unsecured node
  4. full TLS handshakes/s (no resumption, no keep-alive): node vs nginx, ECDSA P-256 and RSA-4096
  5. bulk indexing docs/s (1 KB docs, 5,000 per request), security on vs off
  6. authentication cost: first request (bcrypt) vs cached; API key
  7. idle RSS and peak RSS under load
  8. restart with data: 200,000 small documents (`--restart-docs`), restart -> first authenticated
     200 against an empty home's restart, and the data directory against the JSON sent;
     `--scale` adds 1,000,000; `--baseline-bin` measures another binary side by side;
     `--only restart` runs just this part (no docs/ written: it prints the table)
  10. the physical limit of indexing: the same bulk documents into the secured node and, in
      alternation, in-process through bulwark-index's `raw_index` example (no HTTP, no store);
      a `perf` profile of the node during the bulk (`--only limit` runs just this part)
  11. with `--scale`: `_search` latency at 1,000,000 small documents, match query and terms
      aggregation, secured vs security off (`--only scale-search` runs just this part)

Every process it starts (nodes, nginx, wrk, handshake workers) runs on 127.0.0.1 in a temporary
directory and is stopped at the end, also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import http.client
import json
import multiprocessing
import os
import pathlib
import platform
import resource
import random
import re
import shutil
import signal
import socket
import ssl
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
NO_HANDLER = "no handler found"
BULK_DOCS = 5000
RESTART_BULK = 5000
DOC_BYTES = 1024
SEARCH_INDEX = "bench-search"
SEARCH_BODY = '{"query":{"match":{"message":"quick"}},"size":10}'


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---- processes ----------------------------------------------------------------------------------


class Processes:
    """Every process this run started, so that all of them are stopped at the end (by pid)."""

    def __init__(self) -> None:
        self.items: list[subprocess.Popen] = []

    def spawn(self, args, **kw) -> subprocess.Popen:
        p = subprocess.Popen(args, **kw)
        self.items.append(p)
        return p

    def stop(self, p: subprocess.Popen, timeout: float = 20.0) -> None:
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            except ProcessLookupError:
                pass
        if p in self.items:
            self.items.remove(p)

    def stop_all(self) -> None:
        for p in list(reversed(self.items)):
            self.stop(p, timeout=10.0)


PROCS = Processes()


def _on_signal(signum, _frame):
    raise SystemExit(f"interrupted by signal {signum}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()  # fields from `state` on
    except OSError:
        return None


def minor_faults(pid: int) -> int:
    """The page faults `pid` has taken that needed no I/O: each is a page of memory touched for the
    first time since it was mapped (or since the allocator gave it back)."""
    f = _stat_fields(pid)
    return int(f[7]) if f else 0


def cpu_seconds(pids: list[tuple[int, bool]]) -> float:
    """User + system CPU time of each pid (all its threads), plus its child processes when asked
    (nginx's workers)."""
    total = 0.0
    want_children = {pid for pid, children in pids if children}
    own = {pid for pid, _ in pids}
    if want_children:
        for d in os.listdir("/proc"):
            if d.isdigit():
                f = _stat_fields(int(d))
                if f and int(f[1]) in want_children:
                    own.add(int(d))
    for pid in own:
        f = _stat_fields(pid)
        if f:
            total += (int(f[11]) + int(f[12])) / CLK_TCK
    return total


class RssSampler:
    """Samples VmRSS of one pid every 100 ms while active (peak and median)."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid, self.interval, self.samples = pid, interval, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            v = rss_kb(self.pid)
            if v is not None:
                self.samples.append(v)
            self._stop.wait(self.interval)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak(self) -> int | None:
        return max(self.samples) if self.samples else None


# ---- HTTP ---------------------------------------------------------------------------------------


def ca_context(cafile: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cafile)


class Conn:
    """One keep-alive HTTP(S) connection to 127.0.0.1:port."""

    def __init__(self, port: int, ctx: ssl.SSLContext | None = None, auth: str | None = None,
                 timeout: float = 120.0) -> None:
        self.port, self.ctx, self.auth, self.timeout = port, ctx, auth, timeout
        self.conn: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        if self.ctx is not None:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=self.timeout, context=self.ctx)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)

    def request(self, method: str, path: str, body: bytes | str | None = None,
                headers: dict | None = None, auth: str | None = None) -> tuple[int, bytes]:
        h = dict(headers or {})
        a = auth if auth is not None else self.auth
        if a:
            h["Authorization"] = a
        if isinstance(body, str):
            body = body.encode()
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = self._connect()
            try:
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read()
                if r.getheader("connection", "").lower() == "close":
                    self.close()
                return r.status, data
            except (http.client.RemoteDisconnected, OSError):  # the server closed an idle connection
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, body=None, **kw) -> tuple[int, dict]:
        if body is not None and not isinstance(body, (str, bytes)):
            body = json.dumps(body)
        hdrs = {"Content-Type": "application/json"} if body is not None else {}
        status, data = self.request(method, path, body, hdrs, **kw)
        try:
            return status, json.loads(data or b"{}")
        except ValueError:
            return status, {"raw": data[:300].decode(errors="replace")}

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def error_text(body: dict) -> str:
    e = body.get("error", body)
    if isinstance(e, dict):
        e = e.get("reason") or e.get("type") or e
    return str(e)[:200]


# ---- nodes --------------------------------------------------------------------------------------


class Node:
    """`bulwark start` on a home with a port chosen by the OS (`http.port=0` + ports file)."""

    def __init__(self, binary: str, home: pathlib.Path, label: str, env: dict | None = None,
                 settings: list[str] | None = None) -> None:
        self.binary, self.home, self.label = binary, home, label
        self.env = env or {}
        self.settings = settings or []  # `-E name=value` at every start
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.password: str | None = None
        self.ca: str | None = None
        self._out = None

    def write_settings(self, yaml: str) -> None:
        (self.home / "config").mkdir(parents=True, exist_ok=True)
        (self.home / "config" / "bulwark.yml").write_text(yaml)

    @property
    def ports_file(self) -> pathlib.Path:
        return self.home / "logs" / "http.ports"

    @property
    def creds_file(self) -> pathlib.Path:
        return self.home / "config" / "bootstrap-credentials"

    def start(self) -> None:
        self.ports_file.unlink(missing_ok=True)
        self.home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items()
               if k not in ("ELASTIC_PASSWORD", "ELASTIC_PASSWORD_FILE", "KEYSTORE_PASSWORD", "BULWARK_HOME")}
        env["RUST_BACKTRACE"] = "0"
        env.update(self.env)
        self._out = open(self.home.parent / f"{self.home.name}.stdout.txt", "ab")
        self.proc = PROCS.spawn(
            [self.binary, "--home", str(self.home), "--allow-root", "start",
             "-E", "http.port=0", "-E", "node.portsfile=true", *(x for v in self.settings for x in ("-E", v))],
            stdin=subprocess.DEVNULL, stdout=self._out, stderr=subprocess.STDOUT, env=env)

    def _alive(self, what: str) -> None:
        if self.proc.poll() is not None:
            tail = (self.home.parent / f"{self.home.name}.stdout.txt").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"node {self.label} exited with {self.proc.returncode} while {what}:\n{tail}")

    def wait_port(self, timeout: float = 60.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                text = self.ports_file.read_text().strip()
                if text:
                    self.port = int(text.rsplit(":", 1)[1])
                    return self.port
            except (OSError, ValueError, IndexError):
                pass
            self._alive("waiting for its ports file")
            time.sleep(0.002)
        raise RuntimeError(f"node {self.label}: no ports file after {timeout}s")

    def wait_credentials(self, timeout: float = 60.0, https: bool = True) -> None:
        """Reads the elastic password (and, with `https`, the HTTP CA) from the first start's file."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                pairs = dict(l.split("=", 1) for l in self.creds_file.read_text().splitlines()
                             if "=" in l and not l.startswith("#"))
                if "ELASTIC_PASSWORD" in pairs and ("HTTP_CA_FINGERPRINT" in pairs or not https):
                    self.password = pairs["ELASTIC_PASSWORD"]
                    self.ca = str(self.home / "config" / "certs" / "http_ca.crt")
                    return
            except OSError:
                pass
            self._alive("waiting for bootstrap-credentials")
            time.sleep(0.002)
        raise RuntimeError(f"node {self.label}: no bootstrap-credentials after {timeout}s")

    def wait_ok(self, ctx: ssl.SSLContext | None, auth: str | None, timeout: float = 60.0) -> None:
        """Polls `GET /` (a new connection each time) until it answers 200."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            c = Conn(self.port, ctx, auth, timeout=10)
            try:
                status, _ = c.request("GET", "/")
                if status == 200:
                    return
                last = f"HTTP {status}"
            except (OSError, http.client.HTTPException, ssl.SSLError) as e:
                last = repr(e)
            finally:
                c.close()
            self._alive("waiting for GET / to answer 200")
            time.sleep(0.002)
        raise RuntimeError(f"node {self.label}: GET / never answered 200 ({last})")

    def stop(self) -> None:
        if self.proc is not None:
            PROCS.stop(self.proc)
            self.proc = None
        if self._out:
            self._out.close()
            self._out = None

    @property
    def pid(self) -> int:
        return self.proc.pid


# ---- certificates, nginx ------------------------------------------------------------------------


def run_cmd(args, **kw) -> str:
    r = subprocess.run(args, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} failed ({r.returncode}): {r.stderr.strip()[-1000:]}")
    return r.stdout


def make_certs(d: pathlib.Path, kind: str) -> dict:
    """A CA and a localhost/127.0.0.1 server certificate signed by it, with openssl: `ec` is
    ECDSA P-256 (Bulwark's auto-configuration), `rsa` is RSA-4096 (Elasticsearch's)."""
    d.mkdir(parents=True, exist_ok=True)
    newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if kind == "ec" else \
        ["-newkey", "rsa:4096"]
    run_cmd(["openssl", "req", "-x509", *newkey, "-nodes", "-keyout", d / "ca.key", "-out", d / "ca.crt",
             "-days", "30", "-subj", f"/CN=bench {kind} CA"])
    run_cmd(["openssl", "req", *newkey, "-nodes", "-keyout", d / "node.key", "-out", d / "node.csr",
             "-subj", "/CN=localhost"])
    (d / "ext.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n"
                               "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    run_cmd(["openssl", "x509", "-req", "-in", d / "node.csr", "-CA", d / "ca.crt", "-CAkey", d / "ca.key",
             "-CAcreateserial", "-out", d / "node.crt", "-days", "30", "-extfile", d / "ext.cnf"])
    # nginx sends what the file holds: the leaf and its CA, like the node does.
    (d / "chain.crt").write_text((d / "node.crt").read_text() + (d / "ca.crt").read_text())
    return {"dir": d, "crt": d / "node.crt", "key": d / "node.key", "ca": d / "ca.crt", "chain": d / "chain.crt"}


def pem_node(binary: str, tmp: pathlib.Path, label: str, certs: dict, password: str) -> Node:
    """A secured node serving HTTPS with the given PEM certificate and key."""
    home = tmp / label / "home"
    certs_dir = home / "config" / "certs"
    certs_dir.mkdir(parents=True, exist_ok=True)
    for name in ("crt", "key", "ca"):
        shutil.copy(certs[name], certs_dir / f"bench.{name}")
        os.chmod(certs_dir / f"bench.{name}", 0o600)
    n = Node(binary, home, label, env={"ELASTIC_PASSWORD": password})
    n.write_settings(
        "xpack.security.enabled: true\n"
        "xpack.security.http.ssl.enabled: true\n"
        "xpack.security.http.ssl.certificate: certs/bench.crt\n"
        "xpack.security.http.ssl.key: certs/bench.key\n"
        "xpack.security.http.ssl.certificate_authorities: [ \"certs/bench.ca\" ]\n")
    n.password, n.ca = password, str(certs["ca"])
    return n


def htpasswd_bcrypt(user: str, password: str, cost: int | None) -> str:
    """A bcrypt htpasswd line from apache2-utils' `htpasswd -B` (its default cost when `cost` is None)."""
    return run_cmd(["htpasswd", "-nbB", *(["-C", str(cost)] if cost else []), user, password]).strip()


class Nginx:
    def __init__(self, d: pathlib.Path, upstream_port: int, ec: dict, rsa: dict, htpasswd: str,
                 htpasswd_default: str) -> None:
        self.d = d
        d.mkdir(parents=True, exist_ok=True)
        ports: set[int] = set()
        while len(ports) < 4:
            ports.add(free_port())
        self.proxy_port, self.proxy5_port, self.ec_port, self.rsa_port = sorted(ports)
        (d / "htpasswd").write_text(htpasswd + "\n")
        (d / "htpasswd-default").write_text(htpasswd_default + "\n")
        user = "user root;\n" if os.geteuid() == 0 else ""
        (d / "nginx.conf").write_text(f"""{user}worker_processes auto;
pid {d}/nginx.pid;
error_log {d}/error.log error;
daemon off;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    ssl_protocols TLSv1.2 TLSv1.3;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    upstream bulwark_plain {{
        server 127.0.0.1:{upstream_port};
        keepalive 32;
        keepalive_requests 1000000;
    }}
    # The do-it-yourself secured node: TLS + auth_basic (bcrypt) in front of the unsecured node.
    server {{
        listen 127.0.0.1:{self.proxy_port} ssl;
        ssl_certificate {ec['chain']};
        ssl_certificate_key {ec['key']};
        client_max_body_size 200m;
        location / {{
            auth_basic "bulwark";
            auth_basic_user_file {d}/htpasswd;
            proxy_pass http://bulwark_plain;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "";
        }}
    }}
    # The same with htpasswd -B's default bcrypt cost (5).
    server {{
        listen 127.0.0.1:{self.proxy5_port} ssl;
        ssl_certificate {ec['chain']};
        ssl_certificate_key {ec['key']};
        client_max_body_size 200m;
        location / {{
            auth_basic "bulwark";
            auth_basic_user_file {d}/htpasswd-default;
            proxy_pass http://bulwark_plain;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "";
        }}
    }}
    # Handshake targets: the same certificates as the node's, nothing behind them.
    server {{
        listen 127.0.0.1:{self.ec_port} ssl;
        ssl_certificate {ec['chain']};
        ssl_certificate_key {ec['key']};
        location / {{ return 204; }}
    }}
    server {{
        listen 127.0.0.1:{self.rsa_port} ssl;
        ssl_certificate {rsa['chain']};
        ssl_certificate_key {rsa['key']};
        location / {{ return 204; }}
    }}
}}
""")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        run_cmd([nginx, "-t", "-q", "-e", str(self.d / "startup.log"), "-p", str(self.d), "-c", str(self.d / "nginx.conf")])
        self.out = open(self.d / "stdout.txt", "wb")
        self.proc = PROCS.spawn([nginx, "-e", str(self.d / "startup.log"), "-p", str(self.d), "-c",
                                 str(self.d / "nginx.conf")],
                                stdin=subprocess.DEVNULL, stdout=self.out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.rsa_port), timeout=1):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"nginx exited: {(self.d / 'startup.log').read_text(errors='replace')[-1000:]}")
                time.sleep(0.02)
        raise RuntimeError("nginx did not listen in time")

    def stop(self) -> None:
        if self.proc is not None:
            PROCS.stop(self.proc)  # SIGTERM: the master stops its workers
            self.proc = None


# ---- load generators ----------------------------------------------------------------------------


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text.strip())
    if not m:
        return float("nan")
    v, unit = float(m.group(1)), m.group(2)
    return v * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url: str, seconds: float, threads: int, conns: int, headers: dict | None = None,
        script: pathlib.Path | None = None) -> dict:
    args = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds:g}s", "--latency", "--timeout", "10s"]
    for k, v in (headers or {}).items():
        args += ["-H", f"{k}: {v}"]
    if script:
        args += ["-s", str(script)]
    args.append(url)
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60)
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = r.stdout
    if r.returncode != 0 or "Requests/sec" not in out:
        raise RuntimeError(f"wrk failed ({r.returncode}): {out[-500:]} {r.stderr[-500:]}")
    res = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        res[f"p{pct}_ms"] = _ms(m.group(1)) if m else float("nan")
    m = re.search(r"(\d+) requests in", out)
    res["requests"] = int(m.group(1)) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    # wrk's own CPU (it shares the machine's cores with the server: its TLS lowers everyone's req/s).
    client_s = c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime
    res["client_cpu_us_per_req"] = client_s * 1e6 / max(res["requests"], 1)
    return res


def _handshake_worker(port: int, seconds: float, start, q) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the CertificateVerify signature is still checked by TLS 1.3
    linger = struct.pack("ii", 1, 0)  # close with RST: no TIME_WAIT pile-up on the client side
    start.wait()
    n = errors = 0
    t0 = time.perf_counter()
    end = t0 + seconds
    while time.perf_counter() < end:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        try:
            s.connect(("127.0.0.1", port))
            ss = ctx.wrap_socket(s, server_hostname="localhost")  # a new session every time
            n += 1
            ss.close()
        except OSError:
            errors += 1
            s.close()
    q.put((n, errors, time.perf_counter() - t0))


def handshakes(port: int, seconds: float, workers: int) -> dict:
    """Full TLS handshakes per second: `workers` processes connect, handshake (never resuming a
    session) and close, back to back."""
    mp = multiprocessing.get_context("fork")
    start, q = mp.Event(), mp.Queue()
    procs = [mp.Process(target=_handshake_worker, args=(port, seconds, start, q), daemon=True)
             for _ in range(workers)]
    for p in procs:
        p.start()
    start.set()
    results = [q.get(timeout=seconds + 60) for _ in procs]
    for p in procs:
        p.join(timeout=10)
        if p.is_alive():
            p.kill()
    n = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    elapsed = max(r[2] for r in results)
    return {"hps": n / elapsed, "handshakes": n, "errors": errors}


def probe_tls(port: int) -> str:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as ss:
            return f"{ss.version()} {ss.cipher()[0]}"


def bulk_body(seed: int = 7) -> bytes:
    """5,000 index actions, each with a ~1 KB JSON document."""
    rnd = random.Random(seed)
    words = ["quick", "brown", "fox", "jumps", "over", "lazy", "dog", "search", "node", "secure", "index",
             "shard", "query", "token", "cluster", "replica", "segment", "merge", "field", "value"]
    lines = []
    for i in range(BULK_DOCS):
        doc = {"@timestamp": f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
               "user": f"user{rnd.randrange(1000)}", "status": rnd.choice([200, 201, 404, 500]),
               "bytes": rnd.randrange(100000), "tags": rnd.sample(words, 3), "message": ""}
        base = len(json.dumps(doc, separators=(",", ":")))
        msg = []
        while base + len(" ".join(msg)) < DOC_BYTES:
            msg.append(rnd.choice(words))
        doc["message"] = " ".join(msg)[: DOC_BYTES - base]
        lines.append('{"index":{}}')
        lines.append(json.dumps(doc, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode()


def bulk_run(port: int, ctx, auth, index: str, body: bytes, seconds: float, clients: int, pid: int) -> dict:
    ok_re = re.compile(rb'"errors"\s*:\s*false')
    lock = threading.Lock()
    totals = {"docs": 0, "requests": 0, "errors": 0, "first_error": None, "last_end": 0.0}
    t0 = time.perf_counter()
    end = t0 + seconds

    def client() -> None:
        c = Conn(port, ctx, auth, timeout=300)
        try:
            while time.perf_counter() < end:
                status, resp = c.request("POST", f"/{index}/_bulk", body, {"Content-Type": "application/x-ndjson"})
                now = time.perf_counter()
                with lock:
                    totals["requests"] += 1
                    totals["last_end"] = max(totals["last_end"], now)
                    if status == 200 and ok_re.search(resp[:400]):
                        totals["docs"] += BULK_DOCS
                    else:
                        totals["errors"] += 1
                        totals["first_error"] = totals["first_error"] or f"HTTP {status}: {resp[:200]!r}"
        finally:
            c.close()

    with RssSampler(pid) as rss:
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    elapsed = (totals["last_end"] or time.perf_counter()) - t0
    return {"docs_per_s": totals["docs"] / elapsed, "docs": totals["docs"], "requests": totals["requests"],
            "errors": totals["errors"],
            "first_error": totals["first_error"], "rss_peak_kb": rss.peak}


def small_bulk_body(start: int, n: int) -> bytes:
    """`n` index actions of small (~140 bytes) log-like documents, deterministic in `start`."""
    words = ["quick", "brown", "fox", "jumps", "over", "lazy", "dog", "search", "node", "secure", "index",
             "shard", "query", "token", "cluster", "replica", "segment", "merge", "field", "value"]
    lines = []
    for i in range(start, start + n):
        doc = {"@timestamp": f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{(i // 60) % 60:02d}Z",
               "user": f"user{i * 7919 % 1000}", "status": (200, 201, 404, 500)[i % 4],
               "bytes": i * 104729 % 100000,
               "message": " ".join(words[(i * k + 3) % len(words)] for k in range(1, 6))}
        lines.append('{"index":{}}')
        lines.append(json.dumps(doc, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode()


def load_small_docs(port: int, ctx, auth, index: str, docs: int) -> int:
    """Indexes `docs` small documents with one client, RESTART_BULK per `_bulk`; returns the bytes
    of document JSON sent (the action lines not counted)."""
    ok_re = re.compile(rb'"errors"\s*:\s*false')
    c = Conn(port, ctx, auth, timeout=600)
    sent = 0
    try:
        for start in range(0, docs, RESTART_BULK):
            body = small_bulk_body(start, min(RESTART_BULK, docs - start))
            sent += sum(len(l) for l in body.split(b"\n")[1::2])
            status, resp = c.request("POST", f"/{index}/_bulk", body, {"Content-Type": "application/x-ndjson"})
            if status != 200 or not ok_re.search(resp[:400]):
                raise RuntimeError(f"loading documents: HTTP {status}: {resp[:300]!r}")
        c.request("POST", f"/{index}/_refresh")
    finally:
        c.close()
    return sent


def dir_bytes_file(f: pathlib.Path) -> int:
    try:
        return os.lstat(f).st_size
    except OSError:
        return 0


def dir_bytes(d: pathlib.Path) -> int:
    """Apparent size of every file under `d`."""
    total = 0
    for root, _dirs, files in os.walk(d):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


# ---- statistics ---------------------------------------------------------------------------------


def summary(values: list[float]) -> dict:
    vals = [v for v in values if v is not None]
    if not vals:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


def paired(a: list[float], b: list[float]) -> dict:
    """Per-round ratios a[i] / b[i] (the rounds were interleaved), summarised."""
    rs = [x / y for x, y in zip(a, b) if x is not None and y]
    return summary(rs)


def alternate(variants: list[tuple[str, callable]], rounds: int) -> dict[str, list]:
    """Runs every variant once per round, reversing the order every other round (ABBA)."""
    out: dict[str, list] = {k: [] for k, _ in variants}
    for r in range(rounds):
        order = variants if r % 2 == 0 else list(reversed(variants))
        for key, fn in order:
            out[key].append(fn())
    return out


# ---- the benchmarks -----------------------------------------------------------------------------


def temp_root(choice: str | None) -> tuple[pathlib.Path, str]:
    """Where the node homes go. `_bulk` writes every document through the replicated store's log
    and the index, a few GB per run, so by default the homes go to tmpfs (/dev/shm) when it has
    room: disk speed is then not part of the numbers, and a nearly full disk cannot end the run."""
    if choice:
        base = choice
    else:
        base = tempfile.gettempdir()
        try:
            if shutil.disk_usage("/dev/shm").free >= 6 << 30:
                base = "/dev/shm"
        except OSError:
            pass
    d = pathlib.Path(tempfile.mkdtemp(prefix="bulwark-bench-", dir=base))
    fs = sh(f"df -hT {d} | tail -1 | awk '{{print $2\", \"$5\" free\"}}'")
    return d, f"{base} ({fs})"


class Bench:
    def __init__(self, args) -> None:
        self.a = args
        self.tmp, self.tmp_note = temp_root(args.tmp)
        self.r: dict = {"notes": []}
        self.nodes: dict[str, Node] = {}
        self.nginx: Nginx | None = None

    # 1 -------------------------------------------------------------------------------------------
    def first_start(self) -> None:
        a = self.a
        log(f"1. first start: {a.first_start_rounds} rounds of fresh secured / restart / fresh security-off")
        fresh, restart, plain = [], [], []
        for i in range(a.first_start_rounds):
            home = self.tmp / f"first-{i}" / "home"
            n = Node(a.bin, home, f"first-{i}")
            t0 = time.perf_counter()
            n.start()
            n.wait_port()
            n.wait_credentials()
            ctx = ca_context(n.ca)
            auth = basic("elastic", n.password)
            n.wait_ok(ctx, auth)
            fresh.append(time.perf_counter() - t0)
            n.stop()

            t0 = time.perf_counter()
            n.start()
            n.wait_port()
            n.wait_ok(ctx, auth)
            restart.append(time.perf_counter() - t0)
            n.stop()

            p = Node(a.bin, self.tmp / f"first-{i}-off" / "home", f"first-{i}-off")
            p.write_settings("xpack.security.enabled: false\n")
            t0 = time.perf_counter()
            p.start()
            p.wait_port()
            p.wait_ok(None, None)
            plain.append(time.perf_counter() - t0)
            p.stop()
            shutil.rmtree(home.parent, ignore_errors=True)
            shutil.rmtree(self.tmp / f"first-{i}-off", ignore_errors=True)
        self.r["first_start"] = {"fresh_secured_s": fresh, "restart_secured_s": restart, "fresh_off_s": plain}

    # setup ---------------------------------------------------------------------------------------
    def start_nodes(self) -> None:
        a = self.a
        log("starting the long-lived nodes: secured (auto-configured) and security off")
        s = Node(a.bin, self.tmp / "secured" / "home", "secured")
        s.start()
        s.wait_port()
        s.wait_credentials()
        s.ctx = ca_context(s.ca)
        s.auth = basic("elastic", s.password)
        s.wait_ok(s.ctx, s.auth)
        u = Node(a.bin, self.tmp / "off" / "home", "off")
        u.write_settings("xpack.security.enabled: false\n")
        u.start()
        u.wait_port()
        u.ctx, u.auth = None, None
        u.wait_ok(None, None)
        self.nodes.update(secured=s, off=u)
        # Section 2's decomposition of a secured `GET /`: the same security without TLS, and
        # without the audit log.
        for key, setting, tls in (("secured_http", "xpack.security.http.ssl.enabled=false", False),
                                  ("secured_noaudit", "xpack.security.audit.enabled=false", True)):
            n = Node(a.bin, self.tmp / key / "home", key, settings=[setting])
            n.start()
            n.wait_port()
            n.wait_credentials(https=tls)
            n.ctx = ca_context(n.ca) if tls else None
            n.auth = basic("elastic", n.password)
            n.wait_ok(n.ctx, n.auth)
            self.nodes[key] = n
        # Idle: settled, nothing running against them.
        time.sleep(a.idle_settle)
        idle = {}
        for key, node in (("secured", s), ("off", u)):
            samples = []
            for _ in range(10):
                samples.append(rss_kb(node.pid))
                time.sleep(0.1)
            idle[key] = samples
        self.r["rss_idle_kb"] = idle

        c = Conn(s.port, s.ctx, s.auth)
        status, body = c.json("POST", "/_security/api_key", {"name": "bench"})
        if status != 200 or "encoded" not in body:
            raise RuntimeError(f"cannot create an API key: HTTP {status} {body}")
        s.apikey = "ApiKey " + body["encoded"]
        c.close()

        log("certificates (ECDSA P-256 and RSA-4096) and nginx")
        self.ec = make_certs(self.tmp / "certs-ec", "ec")
        self.rsa = make_certs(self.tmp / "certs-rsa", "rsa")
        line = htpasswd_bcrypt("elastic", s.password, a.bcrypt_cost)
        line_default = htpasswd_bcrypt("elastic", s.password, None)
        self.nginx = Nginx(self.tmp / "nginx", u.port, self.ec, self.rsa, line, line_default)
        self.nginx.start()
        for port in (self.nginx.proxy_port, self.nginx.proxy5_port):
            c = Conn(port, ca_context(str(self.ec["ca"])), s.auth)
            status, body = c.request("GET", "/")
            c.close()
            if status != 200:
                raise RuntimeError(f"nginx (auth_basic, bcrypt) in front of the node answered {status}: {body[:200]!r}")
        self.r["bcrypt_cost"] = {"nginx_htpasswd": a.bcrypt_cost,
                                 "nginx_htpasswd_default": int(line_default.split("$")[2])}

    def probe_endpoints(self) -> None:
        """Whether `_bulk` and `_search` exist yet; index the small search corpus when they do."""
        s, u = self.nodes["secured"], self.nodes["off"]
        avail = {}
        nd = '{"index":{}}\n{"message":"probe"}\n'
        c = Conn(s.port, s.ctx, s.auth)
        status, raw = c.request("POST", "/bench-probe/_bulk", nd, {"Content-Type": "application/x-ndjson"})
        avail["bulk"] = self._availability(status, raw)
        c.request("DELETE", "/bench-probe")
        c.close()

        rnd = random.Random(3)
        words = ["quick", "brown", "fox", "jumps", "over", "lazy", "dog", "secure", "search", "node"]
        for node in (s, u):
            c = Conn(node.port, node.ctx, node.auth)
            if avail["bulk"] is True:
                lines = []
                for i in range(2000):
                    lines.append('{"index":{}}')
                    lines.append(json.dumps({"message": " ".join(rnd.choice(words) for _ in range(12)), "n": i}))
                c.request("POST", f"/{SEARCH_INDEX}/_bulk?refresh=true", "\n".join(lines) + "\n",
                          {"Content-Type": "application/x-ndjson"})
            else:
                for i in range(200):
                    c.json("PUT", f"/{SEARCH_INDEX}/_doc/{i}",
                           {"message": " ".join(rnd.choice(words) for _ in range(12)), "n": i})
            c.request("POST", f"/{SEARCH_INDEX}/_refresh")
            status, raw = c.request("GET", f"/{SEARCH_INDEX}/_search", SEARCH_BODY,
                                    {"Content-Type": "application/json"})
            c.close()
            key = "search" if node is s else "search_off"
            avail[key] = self._availability(status, raw)
            if avail[key] is True:
                hits = json.loads(raw).get("hits", {}).get("total", {})
                self.r.setdefault("search_hits", {})[node.label] = hits
        if avail.get("search") is True and avail.get("search_off") is not True:
            avail["search"] = f"security off: {avail['search_off']}"
        avail.pop("search_off", None)
        self.r["availability"] = avail
        for k, v in avail.items():
            log(f"   {k}: {'available' if v is True else 'NOT AVAILABLE - ' + v}")

    @staticmethod
    def _availability(status: int, raw: bytes):
        text = raw[:400].decode(errors="replace")
        if status == 200:
            if '"errors":true' in text.replace(" ", ""):
                return f"HTTP 200 with item errors: {text[:200]}"
            return True
        if status == 400 and NO_HANDLER in text:
            m = re.search(r'no handler found for uri \[[^\]]*\] and method \[\w+\]', text)
            return f"not implemented yet (HTTP 400 \"{m.group(0) if m else NO_HANDLER}\")"
        return f"HTTP {status}: {text[:200]}"

    # 2, 3, 6 (throughput) ------------------------------------------------------------------------
    def http_load(self, name: str, path: str, script: pathlib.Path | None) -> None:
        a, s, u, ng = self.a, self.nodes["secured"], self.nodes["off"], self.nginx
        ngx = [(ng.proc.pid, True), (u.pid, False)]  # nginx's master and workers, and the node behind it
        targets = {
            "secured": (f"https://127.0.0.1:{s.port}{path}", {"Authorization": s.auth}, s.pid, [(s.pid, False)]),
            "apikey": (f"https://127.0.0.1:{s.port}{path}", {"Authorization": s.apikey}, s.pid, [(s.pid, False)]),
            "off": (f"http://127.0.0.1:{u.port}{path}", {}, u.pid, [(u.pid, False)]),
            "nginx": (f"https://127.0.0.1:{ng.proxy_port}{path}", {"Authorization": s.auth}, u.pid, ngx),
        }
        if name == "get_root":  # the cheaper default cost shows that per-request bcrypt, not its cost, decides
            targets["nginx_c5"] = (f"https://127.0.0.1:{ng.proxy5_port}{path}", {"Authorization": s.auth}, u.pid,
                                   ngx)
            for key in ("secured_http", "secured_noaudit"):
                n = self.nodes[key]
                scheme = "https" if n.ctx else "http"
                targets[key] = (f"{scheme}://127.0.0.1:{n.port}{path}", {"Authorization": n.auth}, n.pid,
                                [(n.pid, False)])
        log(f"2/3. {name}: wrk -t{a.wrk_threads} -c{a.wrk_conns}, {a.rounds} rounds x {a.wrk_seconds}s "
            f"of {', '.join(targets)}")

        def runner(key):
            url, headers, pid, cpu_pids = targets[key]

            def fn():
                cpu0 = cpu_seconds(cpu_pids)
                with RssSampler(pid) as rss:
                    res = wrk(url, a.wrk_seconds, a.wrk_threads, a.wrk_conns, headers, script)
                res["server_cpu_us_per_req"] = (cpu_seconds(cpu_pids) - cpu0) * 1e6 / max(res["requests"], 1)
                res["rss_peak_kb"] = rss.peak
                if res["non2xx"] or res["socket_errors"]:
                    log(f"   warning: {name}/{key}: {res['non2xx']} non-2xx, {res['socket_errors']} socket errors")
                log(f"   {name}/{key}: {res['rps']:.0f} req/s, p99 {res['p99_ms']:.2f} ms, "
                    f"server CPU {res['server_cpu_us_per_req']:.0f} us/request")
                return res
            return fn

        for key in targets:  # warm-up (connections, caches), not recorded
            url, headers, _, _ = targets[key]
            wrk(url, a.warmup_seconds, a.wrk_threads, a.wrk_conns, headers, script)
        self.r.setdefault("http", {})[name] = alternate([(k, runner(k)) for k in targets], a.rounds)

    # 6 (latency) ---------------------------------------------------------------------------------
    def auth_cost(self) -> None:
        a, s, u = self.a, self.nodes["secured"], self.nodes["off"]
        log(f"6. authentication cost: {a.auth_rounds} rounds of cleared-cache / cached / API key / security off")
        c = Conn(s.port, s.ctx, s.auth)
        cu = Conn(u.port)
        first, cached, apikey, off = [], [], [], []

        def timed(conn, path, auth=None):
            t0 = time.perf_counter()
            status, _ = conn.request("GET", path, auth=auth)
            dt = (time.perf_counter() - t0) * 1000
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}")
            return dt

        for _ in range(3):
            timed(c, "/_security/_authenticate")
            timed(cu, "/")
        for _ in range(a.auth_rounds):
            status, _ = c.request("POST", "/_security/realm/reserved/_clear_cache?usernames=elastic")
            if status != 200:
                raise RuntimeError(f"clearing the realm cache answered {status}")
            first.append(timed(c, "/_security/_authenticate"))
            cached.append(timed(c, "/_security/_authenticate"))
            apikey.append(timed(c, "/_security/_authenticate", auth=s.apikey))
        # `GET /` on both nodes, interleaved so that neither is waking up from idle more than the other.
        root_cached = []
        for _ in range(a.auth_rounds):
            root_cached.append(timed(c, "/"))
            off.append(timed(cu, "/"))
        c.close()
        cu.close()
        self.r["auth_ms"] = {"first_bcrypt": first, "cached": cached, "apikey": apikey,
                             "root_cached": root_cached, "root_off": off}

    # 4 -------------------------------------------------------------------------------------------
    def tls_handshakes(self) -> None:
        a, ng = self.a, self.nginx
        log("4. full TLS handshakes: starting secured nodes with the ECDSA P-256 and RSA-4096 certificates")
        password = self.nodes["secured"].password
        ec_node = pem_node(a.bin, self.tmp, "pem-ec", self.ec, password)
        rsa_node = pem_node(a.bin, self.tmp, "pem-rsa", self.rsa, password)
        for n in (ec_node, rsa_node):
            n.start()
            n.wait_port()
            n.wait_ok(ca_context(n.ca), basic("elastic", n.password))
        targets = {"node_ec": ec_node.port, "nginx_ec": ng.ec_port,
                   "node_rsa": rsa_node.port, "nginx_rsa": ng.rsa_port}
        cpu_pids = {"node_ec": [(ec_node.pid, False)], "nginx_ec": [(ng.proc.pid, True)],
                    "node_rsa": [(rsa_node.pid, False)], "nginx_rsa": [(ng.proc.pid, True)]}
        self.r["tls_negotiated"] = {k: probe_tls(p) for k, p in targets.items()}
        log(f"   {a.rounds} rounds x {a.hs_seconds}s, {a.hs_workers} client processes each")

        def runner(key):
            def fn():
                cpu0 = cpu_seconds(cpu_pids[key])
                res = handshakes(targets[key], a.hs_seconds, a.hs_workers)
                res["server_cpu_us"] = (cpu_seconds(cpu_pids[key]) - cpu0) * 1e6 / max(res["handshakes"], 1)
                log(f"   {key}: {res['hps']:.0f} handshakes/s, server CPU {res['server_cpu_us']:.0f} us/handshake "
                    f"({res['errors']} errors)")
                return res
            return fn

        for key in targets:
            handshakes(targets[key], 1.0, a.hs_workers)  # warm-up
        self.r["handshakes"] = alternate([(k, runner(k)) for k in targets], a.rounds)
        ec_node.stop()
        rsa_node.stop()

    # 5, 7 ----------------------------------------------------------------------------------------
    def bulk(self) -> None:
        a, s, u = self.a, self.nodes["secured"], self.nodes["off"]
        if self.r["availability"].get("bulk") is not True:
            log(f"5. bulk: skipped ({self.r['availability'].get('bulk')})")
            return
        log(f"5. bulk: {BULK_DOCS} x {DOC_BYTES} B docs per request, {a.bulk_clients} clients, "
            f"{a.rounds} rounds x {a.bulk_seconds}s, security on vs off")
        body = bulk_body()
        self.r["bulk_body_bytes"] = len(body)

        def runner(node, key):
            def fn():
                c = Conn(node.port, node.ctx, node.auth)
                c.request("DELETE", "/bench-bulk")  # every round starts from an empty index
                c.close()
                try:
                    return measure()
                finally:
                    c = Conn(node.port, node.ctx, node.auth)
                    c.request("DELETE", "/bench-bulk")  # and leaves no data behind
                    c.close()

            def measure():
                cpu0 = cpu_seconds([(node.pid, False)])
                res = bulk_run(node.port, node.ctx, node.auth, "bench-bulk", body, a.bulk_seconds,
                               a.bulk_clients, node.pid)
                docs = res["docs"]
                res["server_cpu_ms_per_1k_docs"] = ((cpu_seconds([(node.pid, False)]) - cpu0) * 1e6 / docs
                                                    if docs else None)
                log(f"   {key}: {res['docs_per_s']:.0f} docs/s, peak RSS {res['rss_peak_kb'] / 1024:.0f} MiB"
                    + (f", {res['errors']} failed requests: {res['first_error']}" if res["errors"] else ""))
                return res
            return fn

        for node in (s, u):  # warm-up: creates the index and its mapping
            bulk_run(node.port, node.ctx, node.auth, "bench-bulk", body, 0.1, 1, node.pid)
        self.r["bulk"] = alternate([("secured", runner(s, "secured")), ("off", runner(u, "off"))], a.rounds)
        for node in (s, u):
            c = Conn(node.port, node.ctx, node.auth)
            c.request("DELETE", "/bench-bulk")
            c.close()

    # 8 -------------------------------------------------------------------------------------------
    def restart_data(self, docs: int, key: str) -> None:
        """Restart -> first authenticated 200 of a home holding `docs` documents and of an empty
        home, per binary (this build, and `--baseline-bin` when given), the homes restarted in
        alternation; best of `--restart-rounds`."""
        a = self.a
        binaries = [("this", a.bin)] + ([("baseline", a.baseline_bin)] if a.baseline_bin else [])
        log(f"8. restart with {docs:,} documents: {', '.join(k for k, _ in binaries)}; "
            f"{a.restart_rounds} rounds")
        homes: dict[tuple[str, str], Node] = {}
        out: dict = {"docs": docs, "variants": {}}
        for label, binary in binaries:
            for kind in ("empty", "data"):
                n = Node(binary, self.tmp / f"restart-{key}-{label}-{kind}" / "home", f"restart-{label}-{kind}")
                n.start()
                n.wait_port()
                n.wait_credentials()
                n.ctx, n.auth = ca_context(n.ca), basic("elastic", n.password)
                n.wait_ok(n.ctx, n.auth)
                if kind == "data":
                    t0 = time.perf_counter()
                    out["json_bytes"] = load_small_docs(n.port, n.ctx, n.auth, "restart", docs)
                    log(f"   {label}: {docs:,} documents loaded in {time.perf_counter() - t0:.1f} s")
                n.stop()
                homes[(label, kind)] = n
            data = homes[(label, "data")].home / "data"
            parts = {"store/raft-log.redb": dir_bytes_file(data / "store" / "raft-log.redb"),
                     "store/state.redb": dir_bytes_file(data / "store" / "state.redb"),
                     "indices/": dir_bytes(data / "indices")}
            total = dir_bytes(data)
            parts["other"] = total - sum(parts.values())
            out["variants"][label] = {"empty_s": [], "data_s": [], "data_dir_bytes": total, "data_parts": parts}

        def runner(label, kind):
            def fn():
                n = homes[(label, kind)]
                t0 = time.perf_counter()
                n.start()
                n.wait_port(timeout=600)
                n.wait_ok(n.ctx, n.auth, timeout=600)
                took = time.perf_counter() - t0
                n.stop()
                log(f"   {label} {kind}: {took:.3f} s")
                return took
            return fn

        variants = [(f"{label}/{kind}", runner(label, kind)) for label, _ in binaries for kind in ("empty", "data")]
        for k, xs in alternate(variants, a.restart_rounds).items():
            label, kind = k.split("/")
            out["variants"][label][f"{kind}_s"] = xs
        for label, _ in binaries:
            n = homes[(label, "data")]
            n.start()
            n.wait_port()
            n.wait_ok(n.ctx, n.auth)
            c = Conn(n.port, n.ctx, n.auth)
            status, body = c.json("GET", "/restart/_count")
            c.close()
            n.stop()
            out["variants"][label]["count_after"] = body.get("count") if status == 200 else f"HTTP {status}"
        self.r.setdefault("restart_data", {})[key] = out
        for label, _ in binaries:
            shutil.rmtree(self.tmp / f"restart-{key}-{label}-empty", ignore_errors=True)
            shutil.rmtree(self.tmp / f"restart-{key}-{label}-data", ignore_errors=True)

    def stop(self) -> None:
        if self.nginx:
            self.nginx.stop()
        for n in self.nodes.values():
            n.stop()
        PROCS.stop_all()


# ---- 10–11. the physical limit of indexing; _search at 1,000,000 documents (issue #18 item 5) ----

LIMIT_DOCS = 100_000
SCALE_SEARCH_DOCS = 1_000_000
SCALE_QUERIES = {
    "match": '{"query":{"match":{"message":"quick"}},"size":10}',
    "terms": '{"size":0,"aggs":{"users":{"terms":{"field":"user.keyword","size":10}}}}',
}
# Where a profile sample's own time goes, by the symbol it was taken in (first match wins).
PROFILE_KINDS = [
    ("JSON (serde_json)", r"serde_json|serde::|serde_core::"),
    ("search index apply (tantivy, bulwark_index)", r"tantivy|bulwark_index|fst::|bitpacking|lz4|zstd"),
    ("store: Raft log, state (openraft, redb, bulwark_store)", r"openraft|redb|bulwark_store|bulwark_node::store"),
    ("TLS and crypto (rustls, aws-lc)", r"rustls|aws_lc|ring::|sha2|aes_|gcm"),
    ("HTTP (hyper, axum, tower)", r"hyper|axum|tower|h2::|http::"),
    ("async runtime (tokio)", r"tokio"),
    ("allocation (malloc)", r"malloc|free|realloc|calloc|^_int_|alloc::|unlink_chunk|mi_|je_|sdallocx"),
    ("memcpy/memmove/memset", r"memcpy|memmove|memset|memcmp"),
]


def raw_index_binary(bin_path: str) -> pathlib.Path:
    """The `raw_index` example of bulwark-index, built next to the release binary by bench/run."""
    return pathlib.Path(bin_path).parent / "examples" / "raw_index"


def raw_index_run(binary, body_file: pathlib.Path, docs: int, d: pathlib.Path) -> dict:
    """One run of raw_index (`binary` may be a list: a command that runs it, e.g. under perf)."""
    shutil.rmtree(d, ignore_errors=True)
    r0, f0 = os.times(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt
    t0 = time.perf_counter()
    cmd = binary if isinstance(binary, list) else [binary]
    out = run_cmd([*cmd, body_file, str(docs), d], timeout=1800)
    wall = time.perf_counter() - t0
    r1, f1 = os.times(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt
    shutil.rmtree(d, ignore_errors=True)
    res = json.loads(out.strip().splitlines()[-1])
    cpu = (r1.children_user - r0.children_user) + (r1.children_system - r0.children_system)
    res["wall_s"] = wall
    res["cpu_ms_per_1k_docs"] = cpu * 1e6 / res["docs"]
    res["faults_per_1k_docs"] = (f1 - f0) * 1000 / res["docs"]
    return res


def bulk_fixed(port: int, ctx, auth, index: str, body: bytes, docs: int, clients: int) -> dict:
    """`docs` documents (whole bodies of BULK_DOCS) from `clients` keep-alive connections; docs/s
    from the first request sent to the last answer."""
    ok_re = re.compile(rb'"errors"\s*:\s*false')
    todo = list(range(-(-docs // BULK_DOCS)))
    lock = threading.Lock()
    errors: list[str] = []

    def client() -> None:
        c = Conn(port, ctx, auth, timeout=600)
        try:
            while True:
                with lock:
                    if not todo or errors:
                        return
                    todo.pop()
                status, resp = c.request("POST", f"/{index}/_bulk", body, {"Content-Type": "application/x-ndjson"})
                if status != 200 or not ok_re.search(resp[:400]):
                    with lock:
                        errors.append(f"HTTP {status}: {resp[:200]!r}")
        finally:
            c.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"bulk into {index}: {errors[0]}")
    sent = -(-docs // BULK_DOCS) * BULK_DOCS
    return {"docs": sent, "seconds": took, "docs_per_s": sent / took}


def perf_profile(pid: int, out: pathlib.Path, during) -> dict | None:
    """Samples `pid` with `perf record` while `during()` runs; shares of the samples by thread
    and by kind of function (PROFILE_KINDS, from the symbol each sample was taken in)."""
    if not shutil.which("perf"):
        return None
    rec = PROCS.spawn(["perf", "record", "-F", "499", "-p", str(pid), "-o", str(out)],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and rec.poll() is None:  # perf writes its header once attached
        if dir_bytes_file(out) > 0:
            break
        time.sleep(0.01)
    try:
        result = during()
    finally:
        rec.send_signal(signal.SIGINT)
        try:
            rec.wait(timeout=60)
        except subprocess.TimeoutExpired:
            rec.kill()
        PROCS.stop(rec)
    summary_ = perf_summary(out)
    summary_["bulk"] = result
    return summary_


def raw_index_profiled(binary: pathlib.Path, body_file: pathlib.Path, docs: int, d: pathlib.Path,
                       out: pathlib.Path) -> dict | None:
    """One more raw_index run under `perf record` (the same sampling as the node's)."""
    if not shutil.which("perf"):
        return None
    res = raw_index_run(["perf", "record", "-q", "-F", "499", "-o", str(out), "--", binary], body_file, docs, d)
    summary_ = perf_summary(out)
    summary_["bulk"] = res
    return summary_


def perf_summary(out: pathlib.Path) -> dict:
    """Shares of the samples in `out` by thread, by kind of function and the top functions."""
    rep = subprocess.run(["perf", "report", "-i", str(out), "--no-children", "--sort", "comm,sym", "--stdio",
                          "-g", "none", "--percent-limit", "0"], capture_output=True, text=True, timeout=300)
    line_re = re.compile(r"^\s+([\d.]+)%\s+(.+?)\s+\[([k.])\]\s+(.*)$")
    threads: dict[str, float] = {}
    kinds: dict[str, float] = {}
    symbols: dict[str, list] = {}
    for line in rep.stdout.splitlines():
        m = line_re.match(line)
        if not m:
            continue
        share, comm, space, sym = float(m.group(1)), m.group(2).strip(), m.group(3), m.group(4)
        thread = re.sub(r"[-_ ]?\d+$", "", comm) or comm
        threads[thread] = threads.get(thread, 0.0) + share
        if space == "k":
            kind = "kernel (syscalls: network, files, fsync; scheduling)"
        else:
            kind = next((k for k, rx in PROFILE_KINDS if re.search(rx, sym)), "other")
        kinds[kind] = kinds.get(kind, 0.0) + share
        shown = re.sub(r"::h[0-9a-f]{16}$", "", sym)[:110]
        symbols.setdefault(shown, [0.0, kind])[0] += share
    if not kinds:
        return {"error": (rep.stderr or rep.stdout)[-300:]}
    top = sorted(([k, v[0], v[1]] for k, v in symbols.items()), key=lambda x: -x[1])[:15]
    return {"threads": threads, "kinds": kinds, "top": top}


# Sections 10 and 11 are functions of a Bench (its nodes, temporary directory and options).


def own_node(b: "Bench", label: str, secured: bool) -> Node:
    n = b.nodes.get(label)
    if n is not None:
        return n
    n = Node(b.a.bin, b.tmp / label / "home", label)
    if not secured:
        n.write_settings("xpack.security.enabled: false\n")
    n.start()
    n.wait_port()
    if secured:
        n.wait_credentials()
        n.ctx, n.auth = ca_context(n.ca), basic("elastic", n.password)
    else:
        n.ctx, n.auth = None, None
    n.wait_ok(n.ctx, n.auth)
    b.nodes[label] = n
    return n

# 10 ------------------------------------------------------------------------------------------
def indexing_limit(b: "Bench") -> None:
    a = b.a
    raw = raw_index_binary(a.bin)
    if not os.access(raw, os.X_OK):
        raise RuntimeError(f"no raw_index example at {raw} (bench/run builds it: cargo build --release "
                           "-p bulwark-index --example raw_index)")
    if os.stat(raw).st_mtime < os.stat(a.bin).st_mtime:
        # Built apart (bench/run --no-build builds neither): older than the node, it may index with
        # other settings than the node's, and the ratio would compare two different indices.
        log(f"   warning: {raw} is older than {a.bin}: rebuild it (cargo build --release -p bulwark-index "
            "--example raw_index) if the search index's code changed since")
    s = own_node(b, "secured", True)
    docs = -(-a.limit_docs // BULK_DOCS) * BULK_DOCS  # whole bodies: the raw run indexes as many
    log(f"10. indexing limit: {docs:,} docs ({BULK_DOCS} x {DOC_BYTES} B per _bulk, {a.bulk_clients} clients) "
        f"secured node vs raw_index in-process, {a.rounds} rounds")
    body = bulk_body()
    body_file = b.tmp / "bulk-body.ndjson"
    body_file.write_bytes(body)

    def delete():
        c = Conn(s.port, s.ctx, s.auth)
        c.request("DELETE", "/bench-limit")
        c.close()

    def node_run():
        delete()
        try:
            cpu0, faults0 = cpu_seconds([(s.pid, False)]), minor_faults(s.pid)
            res = bulk_fixed(s.port, s.ctx, s.auth, "bench-limit", body, docs, a.bulk_clients)
            res["cpu_ms_per_1k_docs"] = (cpu_seconds([(s.pid, False)]) - cpu0) * 1e6 / res["docs"]
            res["faults_per_1k_docs"] = (minor_faults(s.pid) - faults0) * 1000 / res["docs"]
        finally:
            delete()
        log(f"   secured node: {res['docs_per_s']:.0f} docs/s, CPU {res['cpu_ms_per_1k_docs']:.0f} ms/1k docs")
        return res

    def raw_run():
        res = raw_index_run(raw, body_file, docs, b.tmp / "raw-index")
        log(f"   raw_index: {res['docs_per_s']:.0f} docs/s (parse {res['parse_s']:.2f} s, apply "
            f"{res['apply_s']:.2f} s, commit {res['commit_s']:.2f} s), CPU {res['cpu_ms_per_1k_docs']:.0f} ms/1k")
        return res

    bulk_fixed(s.port, s.ctx, s.auth, "bench-limit", body, BULK_DOCS, 1)  # warm-up
    out = alternate([("secured", node_run), ("raw", raw_run)], a.rounds)
    log("   profiling the secured node (perf) during one more run")
    out["profile"] = perf_profile(s.pid, b.tmp / "perf.data", node_run)
    log("   profiling raw_index (perf) during one more run")
    out["raw_profile"] = raw_index_profiled(raw, body_file, docs, b.tmp / "raw-index", b.tmp / "perf-raw.data")
    out["docs"] = docs
    b.r["indexing_limit"] = out

# 11 ------------------------------------------------------------------------------------------
def scale_search(b: "Bench") -> None:
    a = b.a
    docs = a.scale_search_docs
    nodes = {"secured": own_node(b, "scale-secured", True), "off": own_node(b, "scale-off", False)}
    out: dict = {"docs": docs, "load_s": {}, "queries": {}}
    for key, n in nodes.items():
        t0 = time.perf_counter()
        load_small_docs(n.port, n.ctx, n.auth, "scale", docs)
        out["load_s"][key] = time.perf_counter() - t0
        c = Conn(n.port, n.ctx, n.auth)
        status, body = c.json("GET", "/scale/_count")
        c.close()
        out.setdefault("count", {})[key] = body.get("count") if status == 200 else f"HTTP {status}"
        log(f"11. {key}: {docs:,} documents loaded in {out['load_s'][key]:.0f} s")
    for q, query in SCALE_QUERIES.items():
        script = b.tmp / f"scale-{q}.lua"
        script.write_text(f"wrk.method = \"GET\"\nwrk.body = '{query}'\n"
                          'wrk.headers["Content-Type"] = "application/json"\n')
        for key, n in nodes.items():  # the answer is checked once, then warm-up
            c = Conn(n.port, n.ctx, n.auth)
            status, body = c.json("POST", "/scale/_search", query)
            c.close()
            if status != 200:
                raise RuntimeError(f"_search {q} on {key}: HTTP {status}: {error_text(body)}")
            out.setdefault("answers", {}).setdefault(q, {})[key] = \
                (body.get("hits", {}).get("total"), len(body.get("aggregations", {}).get("users", {})
                                                        .get("buckets", [])))

        def runner(key, script=script):
            n = nodes[key]
            scheme = "https" if n.ctx else "http"
            headers = {"Authorization": n.auth} if n.auth else {}

            def fn():
                cpu0 = cpu_seconds([(n.pid, False)])
                res = wrk(f"{scheme}://127.0.0.1:{n.port}/scale/_search", a.wrk_seconds, 1, 1, headers, script)
                res["server_cpu_us_per_req"] = (cpu_seconds([(n.pid, False)]) - cpu0) * 1e6 / max(
                    res["requests"], 1)
                log(f"   {q}/{key}: p50 {res['p50_ms']:.2f} ms, p99 {res['p99_ms']:.2f} ms, {res['rps']:.0f} req/s")
                return res
            return fn

        for key, n in nodes.items():
            wrk(f"{'https' if n.ctx else 'http'}://127.0.0.1:{n.port}/scale/_search", a.warmup_seconds, 1, 1,
                {"Authorization": n.auth} if n.auth else {}, script)
        out["queries"][q] = alternate([(k, runner(k)) for k in nodes], a.rounds)
    for label in ("scale-secured", "scale-off"):
        b.nodes.pop(label).stop()
        shutil.rmtree(b.tmp / label, ignore_errors=True)
    b.r["scale_search"] = out


def limit_section(r: dict, a) -> list[str]:
    x = r.get("indexing_limit")
    if not x:
        return []
    w = []
    sec, raw = x["secured"], x["raw"]
    ratio = paired([v["docs_per_s"] for v in sec], [v["docs_per_s"] for v in raw])
    cpu = paired([v["cpu_ms_per_1k_docs"] for v in sec], [v["cpu_ms_per_1k_docs"] for v in raw])
    faults = paired([v["faults_per_1k_docs"] for v in sec], [v["faults_per_1k_docs"] for v in raw])
    w += ["## 10. The physical limit of indexing", "",
          f"{x['docs']:,} documents of {DOC_BYTES} bytes ({BULK_DOCS} per `_bulk`, {a.bulk_clients} clients) into the "
          "secured node (HTTPS + basic; every round on a new index), against the same documents, as many, indexed "
          "in-process by `crates/bulwark-index/examples/raw_index.rs`: bulwark-index's own `Index` (the node's "
          "schema, tokenizers and dynamic mapping), no HTTP, no store, one commit at the end, on the same "
          "filesystem. The two alternate round by round; ratios are medians of per-round ratios.", "",
          table(["", "Median", "Min–max", "n"], [
              stat_row("Secured node, docs/s", [v["docs_per_s"] for v in sec], ""),
              stat_row("Raw (index apply + commit), docs/s", [v["docs_per_s"] for v in raw], ""),
              stat_row("Raw including JSON parsing, docs/s", [v["docs_per_s_with_parse"] for v in raw], ""),
              stat_row("Secured node, CPU per 1,000 docs (all threads)", [v["cpu_ms_per_1k_docs"] for v in sec],
                       " ms"),
              stat_row("Raw, CPU per 1,000 docs (all threads)", [v["cpu_ms_per_1k_docs"] for v in raw], " ms"),
              stat_row("Secured node, page faults per 1,000 docs", [v["faults_per_1k_docs"] for v in sec], "",
                       digits=0),
              stat_row("Raw, page faults per 1,000 docs", [v["faults_per_1k_docs"] for v in raw], "", digits=0),
              stat_row("Raw: JSON parsing (serde_json → Value) per 1,000 docs",
                       [v["parse_s"] * 1e6 / v["docs"] for v in raw], " ms"),
              stat_row("Raw: index apply per 1,000 docs", [v["apply_s"] * 1e6 / v["docs"] for v in raw], " ms"),
              stat_row("Raw: the final commit", [v["commit_s"] for v in raw], " s", digits=2),
          ]), "",
          f"**Secured node ÷ raw, docs/s: {fmt_ratio(ratio['median'])}** "
          f"({fmt_ratio(ratio['min'])}–{fmt_ratio(ratio['max'])}; the goal is ≥ 0.6). CPU per document, secured "
          f"node ÷ raw: {fmt_ratio(cpu['median'])} ({fmt_ratio(cpu['min'])}–{fmt_ratio(cpu['max'])}). Page faults "
          f"per document, secured node ÷ raw: {fmt_ratio(faults['median'])}: a page fault is a page of memory "
          "touched for the first time since the process got it, counted by the kernel (`minflt`), so it does not "
          "vary with the host's load as CPU time does. Most of the node's are memory its allocator gave back to the "
          "system and took again, zeroed, at a later request: how long it keeps what it frees trades this "
          "section's rate for section 7's peak (`bulwark-node/src/memory.rs`); raw_index keeps the C library's "
          "allocator, which keeps what it frees.", ""]
    p, q = x.get("profile"), x.get("raw_profile")
    if p and "kinds" in p:
        node_ms = p["bulk"]["cpu_ms_per_1k_docs"]
        raw_ms = q["bulk"]["cpu_ms_per_1k_docs"] if q and "kinds" in q else None
        w += ["Where the CPU goes, measured with `perf record -F 499` during one more run of each (the node "
              f"at {p['bulk']['docs_per_s']:,.0f} docs/s, {node_ms:.0f} ms of CPU per 1,000 docs; raw_index "
              + (f"at {q['bulk']['docs_per_s']:,.0f} docs/s, {raw_ms:.0f} ms per 1,000 docs" if raw_ms else "not "
                 "profiled") + "): the samples' self time by the function each was taken in, grouped by crate "
              "(first match in `PROFILE_KINDS` of `bench/run.py`), as a share and as CPU per 1,000 documents "
              "(share × the run's CPU). The last column is where the node's extra CPU goes.", ""]
        keys = sorted(set(p["kinds"]) | set(q["kinds"] if raw_ms else {}), key=lambda k: -p["kinds"].get(k, 0))
        rows = []
        for k in keys:
            a_ = p["kinds"].get(k, 0.0)
            b_ = q["kinds"].get(k, 0.0) if raw_ms else None
            rows.append([k, f"{a_:.1f} %", f"{a_ * node_ms / 100:.1f} ms",
                         f"{b_:.1f} %" if raw_ms else "", f"{b_ * raw_ms / 100:.1f} ms" if raw_ms else "",
                         f"{a_ * node_ms / 100 - b_ * raw_ms / 100:+.1f} ms" if raw_ms else ""])
        threads = sorted(p["threads"].items(), key=lambda kv: -kv[1])[:8]
        w += [table(["Kind of function", "Node: share", "Node: CPU / 1k docs", "Raw: share", "Raw: CPU / 1k docs",
                     "Node − raw"], rows), "",
              "The node's threads (`tokio-rt-worker`: tokio's async workers and its blocking pool, which share the "
              "name — HTTP, TLS, JSON, the store and the documents' analysis before tantivy run there; "
              "`thrd-tantivy-in`: tantivy's indexing thread):", "",
              table(["Thread", "Share of samples"], [[f"`{k}`", f"{v:.1f} %"] for k, v in threads]), "",
              "The node's functions with the most samples (self time):", "",
              table(["Function", "Share", "Kind"], [[f"`{sym.replace('|', '/')}`", f"{v:.1f} %", k]
                                                    for sym, v, k in p.get("top", [])]), ""]
    elif p:
        w += [f"The profile failed: {p.get('error')}", ""]
    return w


def scale_search_section(r: dict, a) -> list[str]:
    x = r.get("scale_search")
    if not x:
        return []
    titles = {"match": "match query", "terms": "terms aggregation"}
    w = ["## 11. `_search` at 1,000,000 documents", "",
         f"{x['docs']:,} small log-like documents (as section 8 loads them: ~140 bytes, 5,000 per `_bulk`) in one "
         f"index of a secured node (HTTPS + basic, cached) and of a security-off node (plain HTTP); `_count` after "
         f"loading: {x['count'].get('secured')} and {x['count'].get('off')}. Sequential requests: `wrk -t1 -c1` "
         f"(one keep-alive connection), {a.wrk_seconds:g} s per measurement, the two nodes alternating, "
         f"{a.rounds} rounds. Ratios are medians of the per-round ratios. With few requests in a measurement "
         "(see the last column) p99 is the slowest few; server CPU per request is the steadier measure on a shared "
         "machine.", ""]
    rows = []
    for q, body in SCALE_QUERIES.items():
        res = x["queries"].get(q)
        if not res:
            continue
        for key, label in (("secured", "secured"), ("off", "security off")):
            v = res[key]
            rows.append([f"{titles[q]}, {label}", fmt(summary([y["p50_ms"] for y in v])["median"], " ms"),
                         fmt(summary([y["p99_ms"] for y in v])["median"], " ms"),
                         fmt(summary([y["rps"] for y in v])["median"]),
                         fmt(summary([y["server_cpu_us_per_req"] for y in v])["median"], " µs"),
                         str(sum(y["requests"] for y in v))])
        p50 = paired([y["p50_ms"] for y in res["secured"]], [y["p50_ms"] for y in res["off"]])
        p99 = paired([y["p99_ms"] for y in res["secured"]], [y["p99_ms"] for y in res["off"]])
        rps = paired([y["rps"] for y in res["secured"]], [y["rps"] for y in res["off"]])
        cpu = paired([y["server_cpu_us_per_req"] for y in res["secured"]], [y["server_cpu_us_per_req"] for y in res["off"]])
        rows.append([f"**{titles[q]}: secured ÷ off**", fmt_ratio(p50["median"]), fmt_ratio(p99["median"]),
                     fmt_ratio(rps["median"]), fmt_ratio(cpu["median"]), ""])
    w += [table(["Query", "p50 (median)", "p99 (median)", "req/s", "server CPU / request", "requests (all rounds)"],
                rows), ""]
    w += ["Bodies: " + "; ".join(f"{titles[q]} `{b}`" for q, b in SCALE_QUERIES.items()) + ".", ""]
    return w


# ---- machine ------------------------------------------------------------------------------------


def sh(cmd: str) -> str:
    try:
        r = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20)
        return (r.stdout + r.stderr).strip()
    except Exception as e:  # noqa: BLE001 - description only
        return f"({e})"


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    os_name = sh(". /etc/os-release && echo \"$PRETTY_NAME\"")
    free = sh("free -h")
    mem = next((l.split()[1] for l in free.splitlines() if l.startswith("Mem:")), "?")
    dirty = sh(f"git -C {ROOT} status --porcelain --untracked-files=no")
    return {
        "cpu": cpu, "nproc": sh("nproc"), "memory_total": mem, "free_h": free,
        "kernel": platform.release(), "os": os_name, "loadavg_at_start": sh("cat /proc/loadavg"),
        "wrk": "wrk " + sh("wrk -v 2>&1 | head -1 | awk '{print $2}'"),
        "nginx": sh("nginx -v 2>&1").replace("nginx version: ", ""),
        "openssl": sh("openssl version"), "rustc": sh("rustc --version"), "python": platform.python_version(),
        "commit": sh(f"git -C {ROOT} rev-parse --short HEAD") + (" + uncommitted changes" if dirty else ""),
    }


# ---- report -------------------------------------------------------------------------------------


def fmt(v, unit: str = "", digits: int | None = None) -> str:
    if v is None:
        return "–"
    if digits is None:
        digits = 0 if abs(v) >= 100 else (1 if abs(v) >= 10 else 2)
    return f"{v:,.{digits}f}{unit}"


def fmt_ratio(v) -> str:
    if v is None:
        return "–"
    return f"{v:.3g}×" if v < 100 else f"{v:,.0f}×"


def build_ratios(r: dict) -> list[dict]:
    """Every comparison as A ÷ B: the median of the per-round ratios and their range."""
    out = []

    def add(group, label, a, b, meaning):
        p = paired(a, b)
        if p["n"]:
            out.append({"group": group, "label": label, "median": p["median"], "min": p["min"], "max": p["max"],
                        "n": p["n"], "meaning": meaning})

    fs = r.get("first_start", {})
    if fs:
        add("1", "First start: fresh secured ÷ fresh security-off (time)", fs["fresh_secured_s"], fs["fresh_off_s"],
            "what secure-by-default costs at first start")
        add("1", "First start: fresh ÷ restart of a configured home (time)", fs["fresh_secured_s"],
            fs["restart_secured_s"], "auto-configuration's share")
    for name, title in (("get_root", "GET /"), ("search", "_search")):
        h = r.get("http", {}).get(name)
        if not h:
            continue
        col = lambda k, f: [x[f] for x in h[k]]  # noqa: E731
        add("2", f"{title} req/s: HTTPS+basic ÷ plain HTTP (security off)", col("secured", "rps"),
            col("off", "rps"), "throughput kept with security on")
        add("2", f"{title} p99 latency: HTTPS+basic ÷ plain HTTP", col("secured", "p99_ms"), col("off", "p99_ms"),
            "latency added by security")
        add("2", f"{title} server CPU per request: HTTPS+basic ÷ plain HTTP", col("secured", "server_cpu_us_per_req"),
            col("off", "server_cpu_us_per_req"), "CPU cost of security, independent of the load generator")
        add("3", f"{title} req/s: Bulwark secured ÷ nginx TLS+auth_basic(bcrypt)+unsecured node",
            col("secured", "rps"), col("nginx", "rps"), "vs the do-it-yourself alternative")
        add("3", f"{title} p99 latency: Bulwark secured ÷ nginx+auth_basic", col("secured", "p99_ms"),
            col("nginx", "p99_ms"), "")
        add("3", f"{title} server CPU per request: Bulwark secured ÷ nginx+auth_basic (nginx + node)",
            col("secured", "server_cpu_us_per_req"), col("nginx", "server_cpu_us_per_req"), "")
        if "nginx_c5" in h:
            add("3", f"{title} req/s: Bulwark secured ÷ nginx+auth_basic at htpasswd's default bcrypt cost",
                col("secured", "rps"), col("nginx_c5", "rps"), "")
        add("6", f"{title} req/s: API key ÷ basic (cached)", col("apikey", "rps"), col("secured", "rps"), "")
        if "secured_http" in h:
            add("2", f"{title} server CPU per request: plain HTTP + basic ÷ plain HTTP (security off)",
                col("secured_http", "server_cpu_us_per_req"), col("off", "server_cpu_us_per_req"),
                "security without TLS")
            add("2", f"{title} server CPU per request: HTTPS + basic, audit off ÷ plain HTTP (security off)",
                col("secured_noaudit", "server_cpu_us_per_req"), col("off", "server_cpu_us_per_req"),
                "security without the audit log")
    hs = r.get("handshakes")
    if hs:
        col = lambda k: [x["hps"] for x in hs[k]]  # noqa: E731
        add("4", "Handshakes/s, ECDSA P-256: Bulwark ÷ nginx", col("node_ec"), col("nginx_ec"), "")
        add("4", "Handshakes/s, RSA-4096: Bulwark ÷ nginx", col("node_rsa"), col("nginx_rsa"), "")
        add("4", "Handshakes/s, Bulwark: ECDSA P-256 ÷ RSA-4096", col("node_ec"), col("node_rsa"),
            "what the key choice buys")
        add("4", "Handshakes/s, nginx: ECDSA P-256 ÷ RSA-4096", col("nginx_ec"), col("nginx_rsa"), "")
        cpu = lambda k: [x["server_cpu_us"] for x in hs[k]]  # noqa: E731
        add("4", "Server CPU per handshake, ECDSA P-256: Bulwark ÷ nginx", cpu("node_ec"), cpu("nginx_ec"),
            "below 1: Bulwark spends less")
        add("4", "Server CPU per handshake, RSA-4096: Bulwark ÷ nginx", cpu("node_rsa"), cpu("nginx_rsa"), "")
        add("4", "Server CPU per handshake, Bulwark: RSA-4096 ÷ ECDSA P-256", cpu("node_rsa"), cpu("node_ec"),
            "what the key choice saves")
    b = r.get("bulk")
    if b:
        add("5", "Bulk docs/s: security on ÷ off", [x["docs_per_s"] for x in b["secured"]],
            [x["docs_per_s"] for x in b["off"]], "")
        add("5", "Bulk server CPU per document: security on ÷ off", [x["server_cpu_ms_per_1k_docs"] for x in b["secured"]],
            [x["server_cpu_ms_per_1k_docs"] for x in b["off"]], "")
    au = r.get("auth_ms")
    if au:
        add("6", "Auth latency: first request (bcrypt) ÷ cached", au["first_bcrypt"], au["cached"], "")
        add("6", "Auth latency: API key ÷ basic (cached)", au["apikey"], au["cached"], "")
    idle = r.get("rss_idle_kb")
    if idle:
        add("7", "Idle RSS: secured ÷ security off", [statistics.median(idle["secured"])],
            [statistics.median(idle["off"])], "")
    if b:
        add("7", "Peak RSS under bulk: secured ÷ security off", [x["rss_peak_kb"] for x in b["secured"]],
            [x["rss_peak_kb"] for x in b["off"]], "")
    elif r.get("http", {}).get("get_root"):
        h = r["http"]["get_root"]
        add("7", "Peak RSS under GET / load: secured ÷ security off", [x["rss_peak_kb"] for x in h["secured"]],
            [x["rss_peak_kb"] for x in h["off"]], "")
    for x in r.get("restart_data", {}).values():
        v = x["variants"]
        if "this" in v:
            add("8", f"Restart with {x['docs']:,} documents ÷ restart of an empty home (time)", v["this"]["data_s"],
                v["this"]["empty_s"], "what the data costs a start")
        if "this" in v and "baseline" in v:
            add("8", f"Restart with {x['docs']:,} documents: this build ÷ baseline (time)", v["this"]["data_s"],
                v["baseline"]["data_s"], "")
    return sorted(out, key=lambda x: x["group"])


def chart(ratios: list[dict], path: pathlib.Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(reversed(ratios))
    fig, ax = plt.subplots(figsize=(11, 0.42 * len(rows) + 1.4))
    ys = range(len(rows))
    med = [x["median"] for x in rows]
    lo = [x["median"] - x["min"] for x in rows]
    hi = [x["max"] - x["median"] for x in rows]
    colors = ["#3b7dd8" if x["group"] in ("2", "3", "5", "6") else "#d8893b" if x["group"] == "4" else "#6a9f58"
              for x in rows]
    ax.barh(list(ys), [m_ - 1 for m_ in med], left=1, color=colors)
    ax.errorbar(med, list(ys), xerr=[lo, hi], fmt="none", ecolor="black", capsize=3, lw=1)
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", lw=0.8)
    ax.set_yticks(list(ys))
    ax.set_yticklabels([f"{x['group']}. {x['label']}" for x in rows], fontsize=8)
    for y, x in zip(ys, rows):
        ax.text(max(x["max"], 1.0) * 1.08, y, fmt_ratio(x["median"]), va="center", fontsize=8)
    ax.set_xlabel("ratio A ÷ B (log scale; median of per-round ratios, bars show min–max)")
    ax.set_title("Bulwark benchmarks: side-by-side ratios")
    lo_x = min(x["min"] for x in rows)
    hi_x = max(x["max"] for x in rows)
    ax.set_xlim(min(0.5, lo_x / 1.5), max(2.0, hi_x * 3))
    from matplotlib.patches import Patch
    ax.legend(handles=[Patch(color="#6a9f58", label="1, 7: start time, memory"),
                       Patch(color="#3b7dd8", label="2, 3, 5, 6: requests, auth, bulk"),
                       Patch(color="#d8893b", label="4: TLS handshakes")], loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def stat_row(label: str, values: list, unit: str, scale: float = 1.0, digits=None) -> list[str]:
    s = summary([v * scale if v is not None else None for v in values])
    return [label, fmt(s["median"], unit, digits), f"{fmt(s['min'], '', digits)}–{fmt(s['max'], unit, digits)}",
            str(s["n"])]


def restart_section(r: dict, a) -> list[str]:
    """Section 8: restarts with data, per binary, as ratios."""
    lines: list[str] = []
    w = lines.append
    rd = r.get("restart_data")
    if not rd:
        return lines
    names = {"this": f"this build ({r['machine'].get('commit', '?')})",
             "baseline": f"baseline (`{a.baseline_bin}`)" if a.baseline_bin else "baseline"}
    w("## 8. Restart with data")
    w("")
    w("From spawning `bulwark start` on a configured home to the first authenticated `GET /` answered 200 "
      f"(HTTPS + `elastic`), best and median of {a.restart_rounds} restarts, every home restarted in "
      f"alternation. The data home holds small log-like documents (~140 bytes of JSON each, {RESTART_BULK:,} "
      "per `_bulk`, one client) in one index, loaded and then stopped with SIGTERM; the empty home was started "
      "once. *Data dir* is the apparent size of every file under `data/`.")
    w("")
    rows = []
    for key, x in rd.items():
        for label, v in x["variants"].items():
            best_d, best_e = min(v["data_s"], default=None), min(v["empty_s"], default=None)
            med_d, med_e = summary(v["data_s"])["median"], summary(v["empty_s"])["median"]
            rows.append([f"{x['docs']:,}", names.get(label, label), fmt(best_e, " s", 3), fmt(best_d, " s", 3),
                         fmt_ratio(best_d / best_e if best_d and best_e else None),
                         fmt_ratio(med_d / med_e if med_d and med_e else None),
                         f"{v['data_dir_bytes'] / 1e6:,.0f} MB ÷ {x.get('json_bytes', 0) / 1e6:,.0f} MB = "
                         + fmt_ratio(v["data_dir_bytes"] / x["json_bytes"] if x.get("json_bytes") else None),
                         str(v.get("count_after"))])
    w(table(["Documents", "Binary", "Empty home: restart (best)", "Data home: restart (best)",
             "Data ÷ empty (best)", "Data ÷ empty (median)", "Data dir ÷ JSON sent", "`_count` after"], rows))
    w("")
    w("Where the data directory's bytes are, after loading (apparent sizes):")
    w("")
    prow = []
    for key, x in rd.items():
        for label, v in x["variants"].items():
            parts = v.get("data_parts", {})
            prow.append([f"{x['docs']:,}", names.get(label, label)]
                        + [f"{parts.get(p, 0) / 1e6:,.1f} MB" for p in
                           ("store/raft-log.redb", "store/state.redb", "indices/", "other")])
    w(table(["Documents", "Binary", "`store/raft-log.redb`", "`store/state.redb`", "`indices/`", "other"], prow))
    w("")
    for key, x in rd.items():
        v = x["variants"]
        if "this" in v and "baseline" in v and v["this"]["data_s"] and v["baseline"]["data_s"]:
            this, base = min(v["this"]["data_s"]), min(v["baseline"]["data_s"])
            w(f"- {x['docs']:,} documents: this build's restart takes **{fmt_ratio(this / base)}** the "
              f"baseline's ({this:.3f} s against {base:.3f} s, best of each).")
    w("")
    return lines


def decomposition(h: dict) -> list[str]:
    """Section 2's `GET /` split into TLS, the audit log and the rest of security (per-round medians of
    server CPU per request), and the most req/s a node whose security cost nothing could keep while
    the load generator pays for its own TLS on the same cores."""
    if not all(k in h for k in ("secured", "secured_http", "secured_noaudit", "off")):
        return []
    med = lambda k, f="server_cpu_us_per_req": summary([x[f] for x in h[k]])["median"]  # noqa: E731
    secured, off = med("secured"), med("off")
    tls, audit = secured - med("secured_http"), secured - med("secured_noaudit")
    rest = secured - off - tls - audit
    client_tls, client_off = med("secured", "client_cpu_us_per_req"), med("off", "client_cpu_us_per_req")
    bound = (off + client_off) / (off + client_tls)
    return [
        f"**Where the secured `GET /`'s extra {fmt(secured - off, ' µs')} of server CPU go** (differences of the "
        f"medians above): TLS {fmt(tls, ' µs')} (HTTPS + basic − plain HTTP + basic), the audit log's two sealed "
        f"lines {fmt(audit, ' µs')} (audit on − off), authentication, authorization and the rest "
        f"{fmt(rest, ' µs')}. Against plain HTTP's {fmt(off, ' µs')}, TLS alone is {fmt(tls / off * 100)} %, "
        + (f"more than the 20 % that issue #18's goal (≤ 1.2×) allows for all of security."
           if tls > 0.2 * off else
           f"which leaves {fmt(0.2 * off - tls, ' µs')} of issue #18's goal (≤ 1.2×) for all the rest."),
        "",
        f"**What the machine allows in req/s**: wrk spends {fmt(client_tls, ' µs')} a request over HTTPS against "
        f"{fmt(client_off, ' µs')} over plain HTTP, on the same cores as the node. A node whose security cost "
        f"nothing beyond plain HTTP's {fmt(off, ' µs')} would keep at most (server + wrk, plain) ÷ (server plain "
        f"+ wrk HTTPS) = **{bound:.2f}×** the plain-HTTP req/s here; the goal of ≥ 0.85× needs a load generator "
        "on other cores.",
    ]


def report(r: dict, a, wall: float, ratios: list[dict]) -> str:
    m = r["machine"]
    avail = r.get("availability", {})
    lines = []
    w = lines.append
    w("# Benchmarks")
    w("")
    w(f"Generated by `bench/run` on {r['date']} — nothing in this file is typed by hand; run the command "
      "again to refresh it. Every comparison was measured side by side in the same run: the variants "
      "alternate round by round (A B, then B A, …), and each ratio is the median of the per-round ratios, "
      "with their range. Earlier runs, and the notes sessions made on them section by section: "
      "[benchmarks-history.md](benchmarks-history.md).")
    w("")
    w(f"Run time: **{wall / 60:.1f} min** for the whole command: {r['build_seconds']} s for the release "
      f"build (`cargo build --release`, incremental from the cache in `CARGO_TARGET_DIR`), "
      f"{r['bench_seconds'] / 60:.1f} min of benchmarks.")
    w("")
    w("## Ratios")
    w("")
    w(table(["#", "Comparison (A ÷ B)", "Ratio (median)", "Range (min–max)", "Rounds"],
            [[x["group"], x["label"] + (f" — {x['meaning']}" if x["meaning"] else ""), fmt_ratio(x["median"]),
              f"{fmt_ratio(x['min'])}–{fmt_ratio(x['max'])}", str(x["n"])] for x in ratios]))
    w("")
    for key, label in (("search", "`_search`"), ("bulk", "`_bulk`")):
        if avail.get(key) is not True and key in avail:
            w(f"- {label}: **not available** in this build — {avail[key]}; its rows are missing.")
    w("")
    w("![ratios](benchmarks.png)")
    w("")
    w("## Machine")
    w("")
    w(f"- CPU: {m['cpu']}, {m['nproc']} cores (`nproc`); memory {m['memory_total']} (`free -h`); "
      f"load average at start `{m['loadavg_at_start']}`")
    w(f"- OS: {m['os']}, kernel {m['kernel']}")
    w(f"- Tools: {m['wrk']}; {m['nginx']}; {m['openssl']}; {m['rustc']}; Python {m['python']}")
    w(f"- Bulwark: {m['commit']}, {'release' if '/release/' in a.bin else 'non-release (!)'} build")
    w(f"- Load average at the end: `{r.get('loadavg_at_end', '?')}` (other work on the machine shows here)")
    w("")
    w("```")
    w(m["free_h"])
    w("```")
    w("")
    w("## How it was measured")
    w("")
    w("```sh")
    w(r.get("command") or ("bench/run" + (" " + " ".join(r["argv"]) if r["argv"] else "")))
    w("```")
    w("")
    w(f"- Everything on 127.0.0.1; every node starts on a fresh temporary home with `-E http.port=0 -E "
      f"node.portsfile=true --allow-root`. The *secured* node is auto-configured on first start "
      f"(ECDSA P-256, HTTPS, `elastic`'s bcrypt hash); the *security-off* node has "
      f"`xpack.security.enabled: false` in `config/bulwark.yml` (plain HTTP).")
    w(f"- wrk: `-t{a.wrk_threads} -c{a.wrk_conns}`, {a.wrk_seconds} s per measurement, keep-alive, "
      f"{a.rounds} rounds per variant after a {a.warmup_seconds} s warm-up of each; p50/p99 from `--latency`. "
      "wrk and the servers share the cores, so p99 mostly shows scheduling; p50 and the server CPU per "
      "request show what a request costs.")
    w(f"- nginx: {m['nginx']}, `worker_processes auto`, TLS with the same kind of certificate (ECDSA P-256, "
      f"leaf + CA), `auth_basic` with a bcrypt htpasswd line of cost {r['bcrypt_cost']['nginx_htpasswd']} (the "
      f"node's hash is bcrypt cost 10 too), keep-alive upstream to the security-off node.")
    w(f"- Handshakes: {a.hs_workers} Python client processes (OpenSSL) connecting, doing a full handshake "
      f"(never resuming a session), closing with RST; {a.hs_seconds} s per measurement, {a.rounds} rounds. "
      "The clients' own handshake work shares the same cores, so these are lower bounds for the servers and "
      "ratios between servers are compressed towards 1. "
      "Negotiated: " + "; ".join(f"{k} `{v}`" for k, v in r.get("tls_negotiated", {}).items()) + ".")
    w(f"- Bulk: {BULK_DOCS} documents of {DOC_BYTES} bytes per `POST /bench-bulk/_bulk` "
      f"({len(bulk_body()) / 1e6:.1f} MB of NDJSON), {a.bulk_clients} concurrent clients with keep-alive, "
      f"{a.bulk_seconds} s per measurement, the index deleted before and after every round.")
    w(f"- Node homes (data, logs) in a temporary directory under {r.get('tmp')}.")
    w("- RSS: `VmRSS` from `/proc/<pid>/status`; idle = median of 10 samples "
      f"{a.idle_settle} s after start; under load = peak of samples every 100 ms.")
    w("")

    # 1
    fs = r.get("first_start")
    if fs:
        w("## 1. First start")
        w("")
        w("From spawning the process to the first `GET /` answered 200 (authenticated HTTPS, except security-off).")
        w("")
        w(table(["", "Median", "Min–max", "n"], [
            stat_row("Fresh home, secured (auto-configuration, then HTTPS + `elastic`)", fs["fresh_secured_s"], " s",
                     digits=3),
            stat_row("Restart of that configured home", fs["restart_secured_s"], " s", digits=3),
            stat_row("Fresh home, `xpack.security.enabled: false` (plain HTTP)", fs["fresh_off_s"], " s", digits=3),
        ]))
        w("")

    # 2/3
    names = {"secured": "Bulwark, HTTPS + basic (cached)", "apikey": "Bulwark, HTTPS + API key",
             "secured_noaudit": "Bulwark, HTTPS + basic, audit log off",
             "secured_http": "Bulwark, plain HTTP + basic (security on, HTTPS off), audit on",
             "off": "Bulwark, security off, plain HTTP",
             "nginx": f"nginx TLS + auth_basic (bcrypt cost {r['bcrypt_cost']['nginx_htpasswd']}) → security-off node",
             "nginx_c5": f"nginx TLS + auth_basic (bcrypt cost {r['bcrypt_cost']['nginx_htpasswd_default']}, "
                         "`htpasswd -B` default) → security-off node"}
    for key, title in (("get_root", "`GET /`"), ("search", f"`GET /{SEARCH_INDEX}/_search` (match query)")):
        w(f"## 2–3. Keep-alive load: {title}")
        w("")
        h = r.get("http", {}).get(key)
        if not h:
            w(f"Not available in this build: {avail.get('search', 'not run')}. The driver measures it as soon as "
              "the endpoint answers.")
            w("")
            continue
        rows = []
        for k, label in names.items():
            if k not in h:
                continue
            xs = h[k]
            s_rps, s_p99, s_p50 = summary([x["rps"] for x in xs]), summary([x["p99_ms"] for x in xs]), \
                summary([x["p50_ms"] for x in xs])
            s_cpu = summary([x["server_cpu_us_per_req"] for x in xs])
            s_client = summary([x.get("client_cpu_us_per_req", float("nan")) for x in xs])
            errs = sum(x["non2xx"] + x["socket_errors"] for x in xs)
            rows.append([label, fmt(s_rps["median"]), f"{fmt(s_rps['min'])}–{fmt(s_rps['max'])}",
                         fmt(s_p50["median"], " ms"), fmt(s_p99["median"], " ms"),
                         f"{fmt(s_p99['min'])}–{fmt(s_p99['max'], ' ms')}", fmt(s_cpu["median"], " µs"),
                         fmt(s_client["median"], " µs"), str(errs)])
        w(table(["Variant", "req/s (median)", "req/s min–max", "p50", "p99 (median)", "p99 min–max",
                 "server CPU / request", "wrk CPU / request", "non-2xx/errors"], rows))
        w("")
        w("*Server CPU / request*: user + system time of the server processes (for nginx: its master and "
          "workers plus the node behind it) during the measurement, divided by the requests served; the load "
          "generator's own CPU is not in it, so it is steadier than req/s on a shared machine. *wrk CPU / "
          "request*: the load generator's, on the same cores.")
        if key == "get_root":
            w(" Where a secured request's CPU goes: [profiling.md](profiling.md) (perf flamegraphs).")
            w("")
            for line in decomposition(h):
                w(line)
        w("")

    # 4
    hs = r.get("handshakes")
    if hs:
        w("## 4. Full TLS handshakes per second (no keep-alive, no resumption)")
        w("")
        labels = {"node_ec": "Bulwark, ECDSA P-256", "nginx_ec": "nginx, ECDSA P-256 (same certificate)",
                  "node_rsa": "Bulwark, RSA-4096", "nginx_rsa": "nginx, RSA-4096 (same certificate)"}
        rows = []
        for k, label in labels.items():
            h_ = summary([x["hps"] for x in hs[k]])
            c_ = summary([x["server_cpu_us"] for x in hs[k]])
            rows.append([label, fmt(h_["median"]), f"{fmt(h_['min'])}–{fmt(h_['max'])}", fmt(c_["median"], " µs"),
                         f"{fmt(c_['min'])}–{fmt(c_['max'], ' µs')}", str(h_["n"])])
        w(table(["Server", "Handshakes/s (median)", "Min–max", "Server CPU / handshake (median)", "Min–max", "n"],
                rows))
        w("")
        w("On two cores the Python/OpenSSL clients use most of the CPU (verifying costs the client more than "
          "signing costs the server), so handshakes/s is bounded by the clients for ECDSA; the server's CPU "
          "time per handshake is the direct measure of what each server spends.")
        w("")

    # 5
    w("## 5. Bulk indexing")
    w("")
    b = r.get("bulk")
    if b:
        w(table(["", "docs/s (median)", "Min–max", "n"], [
            stat_row("Security on (HTTPS + basic)", [x["docs_per_s"] for x in b["secured"]], ""),
            stat_row("Security off (plain HTTP)", [x["docs_per_s"] for x in b["off"]], ""),
            stat_row("Server CPU per 1,000 docs, security on", [x["server_cpu_ms_per_1k_docs"] for x in b["secured"]],
                     " ms"),
            stat_row("Server CPU per 1,000 docs, security off", [x["server_cpu_ms_per_1k_docs"] for x in b["off"]],
                     " ms")]))
        errs = sum(x["errors"] for k in b for x in b[k])
        if errs:
            w("")
            w(f"{errs} bulk requests failed; first: {next(x['first_error'] for k in b for x in b[k] if x['errors'])}")
    else:
        w(f"Not available in this build: {avail.get('bulk', 'not run')}. The driver measures it as soon as "
          "the endpoint answers.")
    w("")

    # 6
    au = r.get("auth_ms")
    if au:
        w("## 6. Authentication cost (one keep-alive HTTPS connection, sequential requests)")
        w("")
        w("`GET /_security/_authenticate` as `elastic`: *first* right after "
          "`POST /_security/realm/reserved/_clear_cache?usernames=elastic` (a full bcrypt check), then the same "
          "request again (*cached*), then with `Authorization: ApiKey …` (a key made with `POST /_security/api_key`). "
          "Bulwark checks an API key's secret with a salted SHA-256 on every request, so API keys have no "
          "slow first request.")
        w("")
        w(table(["Request", "Latency (median)", "Min–max", "n"], [
            stat_row("First request after the cache was cleared (bcrypt cost 10)", au["first_bcrypt"], " ms"),
            stat_row("Cached basic", au["cached"], " ms"),
            stat_row("API key", au["apikey"], " ms"),
            stat_row("`GET /`, secured, cached basic", au["root_cached"], " ms"),
            stat_row("`GET /`, security off (plain HTTP)", au["root_off"], " ms"),
        ]))
        w("")
        if r.get("http", {}).get("get_root"):
            h = r["http"]["get_root"]
            w(f"Throughput with wrk on `GET /`: basic (cached) "
              f"{fmt(summary([x['rps'] for x in h['secured']])['median'])} req/s, API key "
              f"{fmt(summary([x['rps'] for x in h['apikey']])['median'])} req/s (table 2–3 above).")
            w("")

    # 7
    w("## 7. Memory (RSS)")
    w("")
    rows = []
    idle = r.get("rss_idle_kb", {})
    if idle:
        rows.append(stat_row("Idle after start, secured (10 samples)", idle["secured"], " MiB", 1 / 1024, 1))
        rows.append(stat_row("Idle after start, security off (10 samples)", idle["off"], " MiB", 1 / 1024, 1))
    if b:
        rows.append(stat_row("Peak under bulk, secured", [x["rss_peak_kb"] for x in b["secured"]], " MiB", 1 / 1024, 1))
        rows.append(stat_row("Peak under bulk, security off", [x["rss_peak_kb"] for x in b["off"]], " MiB", 1 / 1024, 1))
    for key, title in (("get_root", "`GET /`"), ("search", "`_search`")):
        h = r.get("http", {}).get(key)
        if h:
            rows.append(stat_row(f"Peak under wrk {title}, secured", [x["rss_peak_kb"] for x in h["secured"]],
                                 " MiB", 1 / 1024, 1))
            rows.append(stat_row(f"Peak under wrk {title}, security off", [x["rss_peak_kb"] for x in h["off"]],
                                 " MiB", 1 / 1024, 1))
    w(table(["", "RSS (median)", "Min–max", "n"], rows))
    if not b:
        w("")
        w("RSS under bulk load is missing because `_bulk` is not available in this build.")
    w("")
    lines.extend(restart_section(r, a))
    lines.extend(limit_section(r, a))
    lines.extend(scale_search_section(r, a))
    return "\n".join(lines)


def print_ratios(ratios: list[dict]) -> None:
    print("\nRatios (A ÷ B, median of per-round ratios [min–max]):")
    for x in ratios:
        print(f"  {x['group']}. {x['label']}: {fmt_ratio(x['median'])} [{fmt_ratio(x['min'])}–{fmt_ratio(x['max'])}]")


# ---- main ---------------------------------------------------------------------------------------


def only_limit_or_scale(b: "Bench", a, r: dict) -> int:
    """`--only limit` / `--only scale-search`: that section alone, printed and written to
    bench/out/<part>.md (docs/ untouched: splice it in by hand, saying how it was measured)."""
    try:
        if a.only == "limit":
            indexing_limit(b)
        else:
            scale_search(b)
    finally:
        b.stop()
        if not a.keep:
            shutil.rmtree(b.tmp, ignore_errors=True)
    r["loadavg_at_end"] = sh("cat /proc/loadavg")
    out_raw = ROOT / "bench" / "out"
    out_raw.mkdir(exist_ok=True)
    (out_raw / f"{a.only}.json").write_text(json.dumps(r, indent=1, default=str))
    lines = limit_section(r, a) if a.only == "limit" else scale_search_section(r, a)
    lines += [f"Measured on {r['date']} with `{r['command'] or 'bench/run.py'}` ({r['machine'].get('commit', '')}); "
              f"load average at the start `{r['machine'].get('loadavg_at_start', '')}`, at the end `{r['loadavg_at_end']}`."]
    text = "\n".join(lines)
    (out_raw / f"{a.only}.md").write_text(text + "\n")
    print(text)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="the bulwark release binary")
    ap.add_argument("--build-seconds", type=int, default=0)
    ap.add_argument("--started-at", type=float, default=None, help="epoch seconds when bench/run started")
    ap.add_argument("--source", default=None, help="what was built (bench/run says)")
    ap.add_argument("--command", default=None, help="the command as typed (bench/run says)")
    ap.add_argument("--quick", action="store_true", help="short measurements (does not write docs/)")
    ap.add_argument("--out", default=str(ROOT / "docs"), help="where benchmarks.md and .png go")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--first-start-rounds", type=int, default=10)
    ap.add_argument("--wrk-seconds", type=float, default=6)
    ap.add_argument("--warmup-seconds", type=float, default=2)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--wrk-conns", type=int, default=2)
    ap.add_argument("--hs-seconds", type=float, default=4)
    ap.add_argument("--hs-workers", type=int, default=2)
    ap.add_argument("--bulk-seconds", type=float, default=8)
    ap.add_argument("--bulk-clients", type=int, default=2)
    ap.add_argument("--auth-rounds", type=int, default=30)
    ap.add_argument("--bcrypt-cost", type=int, default=10, help="cost of nginx's htpasswd line")
    ap.add_argument("--idle-settle", type=float, default=2.0)
    ap.add_argument("--restart-docs", type=int, default=200_000, help="documents in the restart measurement (8.)")
    ap.add_argument("--restart-rounds", type=int, default=3, help="restarts per home (8.; the best counts)")
    ap.add_argument("--scale", action="store_true", help="also measure the restart with 1,000,000 documents")
    ap.add_argument("--baseline-bin", default=None,
                    help="another bulwark binary (e.g. the last release) measured side by side in 8.")
    ap.add_argument("--limit-docs", type=int, default=LIMIT_DOCS,
                    help="documents per round in the indexing limit (10.): secured node vs raw_index")
    ap.add_argument("--scale-search-docs", type=int, default=SCALE_SEARCH_DOCS,
                    help="documents in the `_search` latency measurement at scale (11., with --scale)")
    ap.add_argument("--only", choices=["restart", "limit", "scale-search"], default=None,
                    help="run one part alone; prints its table and writes bench/out/<part>.md, not docs/")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--tmp", default=None, help="parent of the temporary directory (default: /dev/shm when it "
                    "has 6 GB free, else $TMPDIR or /tmp)")
    argv = sys.argv[1:]
    a = ap.parse_args()
    if a.quick:
        a.rounds, a.first_start_rounds, a.wrk_seconds, a.warmup_seconds = 2, 3, 2, 1
        a.hs_seconds, a.bulk_seconds, a.auth_rounds = 1.5, 3, 10
        a.restart_docs, a.restart_rounds = min(a.restart_docs, 20_000), 2
        a.limit_docs, a.scale_search_docs = min(a.limit_docs, 20_000), min(a.scale_search_docs, 50_000)
    if a.baseline_bin and not os.access(a.baseline_bin, os.X_OK):
        raise SystemExit(f"no bulwark binary at {a.baseline_bin} (--baseline-bin)")
    shown_argv = []
    skip = False
    for x in argv:  # the options bench/run adds itself are not part of the command to type
        if skip:
            skip = False
            continue
        if x in ("--bin", "--build-seconds", "--started-at", "--source", "--command"):
            skip = True
            continue
        shown_argv.append(x)

    if not os.access(a.bin, os.X_OK):
        raise SystemExit(f"no bulwark binary at {a.bin} (bench/run builds it; set CARGO_TARGET_DIR as for the build)")
    for tool in ("wrk", "openssl"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing: run bench/run, which installs it")
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    started = a.started_at or time.time()
    t_bench = time.time()
    b = Bench(a)
    r = b.r
    r["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    r["argv"] = shown_argv
    r["command"] = a.command
    r["build_seconds"] = a.build_seconds
    r["machine"] = machine()
    if a.source:
        r["machine"]["commit"] = a.source
    log(f"binary {a.bin}; temporary directory {b.tmp} on {b.tmp_note}")
    r["tmp"] = b.tmp_note
    if a.only == "restart":
        try:
            b.restart_data(a.restart_docs, "base")
            if a.scale:
                b.restart_data(1_000_000, "scale")
        finally:
            b.stop()
            if not a.keep:
                shutil.rmtree(b.tmp, ignore_errors=True)
        out_raw = ROOT / "bench" / "out"
        out_raw.mkdir(exist_ok=True)
        (out_raw / "restart.json").write_text(json.dumps(r, indent=1, default=str))
        text = "\n".join(restart_section(r, a))
        (out_raw / "restart.md").write_text(text + "\n")
        print(text)
        return 0
    if a.only in ("limit", "scale-search"):
        return only_limit_or_scale(b, a, r)
    ok = False
    try:
        b.first_start()
        b.start_nodes()
        b.probe_endpoints()
        b.http_load("get_root", "/", None)
        if r["availability"].get("search") is True:
            script = b.tmp / "search.lua"
            script.write_text('wrk.method = "GET"\n'
                              f"wrk.body = '{SEARCH_BODY}'\n"
                              'wrk.headers["Content-Type"] = "application/json"\n')
            b.http_load("search", f"/{SEARCH_INDEX}/_search", script)
        else:
            log(f"2/3. _search: skipped ({r['availability'].get('search')})")
        b.auth_cost()
        b.tls_handshakes()
        b.bulk()
        if r["availability"].get("bulk") is not True:
            log("10. indexing limit: skipped (no _bulk)")
        elif not os.access(raw_index_binary(a.bin), os.X_OK):
            log(f"10. indexing limit: skipped (no {raw_index_binary(a.bin)}: bench/run builds it)")
        else:
            indexing_limit(b)
        b.restart_data(a.restart_docs, "base")
        if a.scale:
            b.restart_data(1_000_000, "scale")
            scale_search(b)
        ok = True
    finally:
        b.stop()
        if not a.keep:
            shutil.rmtree(b.tmp, ignore_errors=True)
        else:
            log(f"kept {b.tmp}")
    r["bench_seconds"] = time.time() - t_bench
    r["loadavg_at_end"] = sh("cat /proc/loadavg")
    wall = time.time() - started
    r["wall_seconds"] = wall
    ratios = build_ratios(r)
    r["ratios"] = ratios
    out_raw = ROOT / "bench" / "out"
    out_raw.mkdir(exist_ok=True)
    (out_raw / ("results-quick.json" if a.quick else "results.json")).write_text(json.dumps(r, indent=1, default=str))
    if ok:
        out = pathlib.Path(a.out) if not a.quick else out_raw
        out.mkdir(parents=True, exist_ok=True)
        chart(ratios, out / "benchmarks.png")
        (out / "benchmarks.md").write_text(report(r, a, wall, ratios))
        log(f"wrote {out / 'benchmarks.md'} and {out / 'benchmarks.png'}")
    print_ratios(ratios)
    print(f"\nTotal: {wall / 60:.1f} min (release build {a.build_seconds} s, benchmarks {r['bench_seconds'] / 60:.1f} min)")
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        PROCS.stop_all()
