"""Start real bulwark nodes for the official Python client to talk to."""

import os
import pathlib
import signal
import subprocess
import tempfile
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def binary() -> str:
    if os.environ.get("BULWARK_BIN"):
        return os.environ["BULWARK_BIN"]
    target = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
    return str(pathlib.Path(target) / "debug" / "bulwark")


class RunningNode:
    def __init__(self, home: pathlib.Path, proc: subprocess.Popen, port: int, password: str, fingerprint: str):
        self.home = home
        self.proc = proc
        self.port = port
        self.password = password
        self.fingerprint = fingerprint
        self.url = f"https://localhost:{port}"
        self.ca = str(home / "config" / "certs" / "http_ca.crt")


def _wait_for(predicate, what: str, proc: subprocess.Popen, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc.poll() is not None:
            raise AssertionError(f"node exited with {proc.returncode} while waiting for {what}")
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def node():
    with tempfile.TemporaryDirectory(prefix="bulwark-py-") as tmp:
        home = pathlib.Path(tmp) / "home"
        out = open(pathlib.Path(tmp) / "stdout.txt", "wb")
        env = {k: v for k, v in os.environ.items() if k not in ("ELASTIC_PASSWORD", "KEYSTORE_PASSWORD")}
        env["RUST_BACKTRACE"] = "0"
        proc = subprocess.Popen(
            [binary(), "--home", str(home), "--allow-root", "start", "-E", "http.port=0", "-E", "node.portsfile=true"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
        )
        try:
            ports = home / "logs" / "http.ports"
            creds = home / "config" / "bootstrap-credentials"

            def read_creds():
                if not creds.exists():
                    return None
                pairs = dict(l.split("=", 1) for l in creds.read_text().splitlines() if "=" in l and not l.startswith("#"))
                return pairs if "HTTP_CA_FINGERPRINT" in pairs else None

            port = int(_wait_for(lambda: ports.exists() and ports.read_text().strip(), "ports file", proc).rsplit(":", 1)[1])
            pairs = _wait_for(read_creds, "bootstrap credentials", proc)
            yield RunningNode(home, proc, port, pairs["ELASTIC_PASSWORD"], pairs["HTTP_CA_FINGERPRINT"])
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            out.close()
