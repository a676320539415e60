#!/usr/bin/env python3
"""Several bulwark release binaries side by side on one host, in alternation (docs/benchmarks.md §7).

    bench/side_by_side.py LABEL=BINARY[,ENV:VALUE...][,off] ... [--rounds=3] [--get-only]

For each: idle RSS after start; rounds of `_bulk` (bench/run's body: 5,000 x 1 KB documents,
2 clients, 8 s, the index deleted before each) -> docs/s, peak RSS, RSS 2 s after, node CPU per
1,000 documents; then rounds of `wrk -t2 -c2 -d5s` on `GET /` (HTTPS + basic) -> req/s and node
CPU per request, p50 and p99. `,off` starts that node with `xpack.security.enabled: false` (plain HTTP, no
credentials: bench/run's section 2 baseline); `--get-only` skips the bulk rounds. Prints one line per
measurement and writes them all to bench/out/side_by_side.json.
Example: an allocator option through its environment variable, against the build before:
    bench/side_by_side.py before=/tmp/bulwark-old now=target/release/bulwark now-thp=target/release/bulwark,MIMALLOC_ALLOW_THP:1
"""
import json
import pathlib
import shutil
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import run as R  # noqa: E402

pairs = [a.split("=", 1) for a in sys.argv[1:] if "=" in a and not a.startswith("--")]
rounds = int(next((a[9:] for a in sys.argv[1:] if a.startswith("--rounds=")), "3"))
get_only = "--get-only" in sys.argv[1:]
tmp = pathlib.Path(tempfile.mkdtemp(prefix="bulwark-side-by-side-"))
nodes = {}
try:
    for label, b in pairs:
        b, _, opts = b.partition(",")
        opts = [o for o in opts.split(",") if o]
        env = dict(o.split(":", 1) for o in opts if o != "off")
        n = R.Node(b, tmp / label / "home", label, env)
        n.secured = "off" not in opts
        if not n.secured:
            n.write_settings("xpack.security.enabled: false\n")
        n.start(); n.wait_port()
        if n.secured:
            n.wait_credentials()
            n.ctx, n.auth = R.ca_context(n.ca), R.basic("elastic", n.password)
        else:
            n.ctx, n.auth = None, None
        n.wait_ok(n.ctx, n.auth)
        nodes[label] = n
    time.sleep(3)
    out = {l: {"idle_kb": R.rss_kb(n.pid), "bulk": [], "get": []} for l, n in nodes.items()}
    body = R.bulk_body()
    for n in ([] if get_only else nodes.values()):
        R.bulk_run(n.port, n.ctx, n.auth, "bench-bulk", body, 0.1, 1, n.pid)
    for r in range(0 if get_only else rounds):
        for label, n in nodes.items():
            c = R.Conn(n.port, n.ctx, n.auth); c.request("DELETE", "/bench-bulk"); c.close()
            cpu0 = R.cpu_seconds([(n.pid, False)])
            res = R.bulk_run(n.port, n.ctx, n.auth, "bench-bulk", body, 8, 2, n.pid)
            res["cpu_ms_per_1k"] = (R.cpu_seconds([(n.pid, False)]) - cpu0) * 1e6 / max(res["docs"], 1)
            time.sleep(2)
            res["after_kb"] = R.rss_kb(n.pid)
            out[label]["bulk"].append(res)
            print(f"round {r} {label}: {res['docs_per_s']:.0f} docs/s, peak {res['rss_peak_kb']/1024:.0f} MiB, "
                  f"after {res['after_kb']/1024:.0f} MiB, cpu {res['cpu_ms_per_1k']:.1f} ms/1k, errors {res['errors']}", flush=True)
        for label, n in nodes.items():
            c = R.Conn(n.port, n.ctx, n.auth); c.request("DELETE", "/bench-bulk"); c.close()
    for r in range(rounds):
        for label, n in nodes.items():
            cpu0 = R.cpu_seconds([(n.pid, False)])
            scheme, headers = ("https", {"Authorization": n.auth}) if n.secured else ("http", {})
            w = R.wrk(f"{scheme}://localhost:{n.port}/", 5, 2, 2, headers)
            w["cpu_us"] = (R.cpu_seconds([(n.pid, False)]) - cpu0) * 1e6 / max(w["requests"], 1)
            out[label]["get"].append(w)
            print(f"GET / {r} {label}: {w['rps']:.0f} req/s, cpu {w['cpu_us']:.1f} us/req, p50 {w['p50_ms']:.2f} ms, "
                  f"p99 {w['p99_ms']:.2f} ms, non2xx {w['non2xx']}", flush=True)
    for label in nodes:
        print(label, "idle", out[label]["idle_kb"] / 1024, "MiB")
    dest = pathlib.Path(__file__).resolve().parent / "out" / "side_by_side.json"
    dest.parent.mkdir(exist_ok=True)
    dest.write_text(json.dumps(out, indent=1))
finally:
    R.PROCS.stop_all()
    # The homes hold GBs of audit log after a few rounds of `GET /` (on /dev/shm: memory).
    shutil.rmtree(tmp, ignore_errors=True)
