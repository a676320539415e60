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
        # What the log scan at teardown allows and looks for (see `log_problems`).
        self.expected_errors: list[str] = []
        self.secrets: list[str] = [password]


MIN_SECRET_LEN = 8


def log_problems(node: RunningNode, out: pathlib.Path) -> list[str]:
    """An ERROR line the test did not expect, or a secret it knows, in the node's logs or output."""
    secrets = [s for s in node.secrets if len(s) >= MIN_SECRET_LEN]
    problems = []
    files = sorted(p for p in (node.home / "logs").glob("*") if p.is_file()) + [out]
    for path in files:
        for line in path.read_bytes().decode("utf-8", "replace").splitlines():
            if any(s in line for s in secrets):
                problems.append(f"{path}: a secret is in: {line[:300]}")
            error = '"level":"ERROR"' in line or line.startswith("ERROR ")
            if error and not any(e in line for e in node.expected_errors):
                problems.append(f"{path}: an ERROR line the test did not expect: {line[:300]}")
    return problems


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
            running = RunningNode(home, proc, port, pairs["ELASTIC_PASSWORD"], pairs["HTTP_CA_FINGERPRINT"])
            if pairs.get("ENROLLMENT_TOKEN"):
                running.secrets.append(pairs["ENROLLMENT_TOKEN"])
            yield running
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            out.close()
        # The logs are read after the node stopped, and only when the test itself passed (a
        # failing test already says what went wrong).
        problems = log_problems(running, pathlib.Path(tmp) / "stdout.txt")
        assert not problems, "the node's logs:\n" + "\n".join(problems)
