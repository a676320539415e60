// Starts a real bulwark node on a fresh temporary home, as clients/python/conftest.py does:
// ports chosen by the OS (http.port=0 + node.portsfile), the generated elastic password and the
// CA fingerprint read from config/bootstrap-credentials, readiness polled, never slept for.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function binary() {
  if (process.env.BULWARK_BIN) return process.env.BULWARK_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target');
  return join(target, 'debug', 'bulwark');
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitFor(what, proc, predicate, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = predicate();
    if (value) return value;
    if (proc.exitCode !== null) throw new Error(`node exited with ${proc.exitCode} while waiting for ${what}`);
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function readPairs(path) {
  if (!existsSync(path)) return null;
  const pairs = Object.fromEntries(
    readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l.includes('=') && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  return pairs.HTTP_CA_FINGERPRINT ? pairs : null;
}

/** `aabb...` → `AA:BB:...`, the form Node's TLS layer and the client's `caFingerprint` use. */
function colonHex(hex) {
  return hex.toUpperCase().match(/../g).join(':');
}

/** A running node: `url`, `password`, `fingerprint`, `ca` (PEM), and `stop()`. */
export async function startNode() {
  const tmp = mkdtempSync(join(tmpdir(), 'bulwark-js-'));
  const home = join(tmp, 'home');
  const out = openSync(join(tmp, 'stdout.txt'), 'w');
  const env = { ...process.env, RUST_BACKTRACE: '0' };
  delete env.ELASTIC_PASSWORD;
  delete env.KEYSTORE_PASSWORD;
  const proc = spawn(
    binary(),
    ['--home', home, '--allow-root', 'start', '-E', 'http.port=0', '-E', 'node.portsfile=true'],
    { stdio: ['ignore', out, out], env },
  );
  const stop = async () => {
    if (proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(tmp, { recursive: true, force: true });
  };
  try {
    const ports = join(home, 'logs', 'http.ports');
    const portLine = await waitFor('the ports file', proc, () =>
      existsSync(ports) ? readFileSync(ports, 'utf8').trim() : null,
    );
    const port = Number(portLine.slice(portLine.lastIndexOf(':') + 1));
    const pairs = await waitFor('bootstrap credentials', proc, () =>
      readPairs(join(home, 'config', 'bootstrap-credentials')),
    );
    return {
      url: `https://localhost:${port}`,
      password: pairs.ELASTIC_PASSWORD,
      fingerprint: colonHex(pairs.HTTP_CA_FINGERPRINT),
      ca: readFileSync(join(home, 'config', 'certs', 'http_ca.crt'), 'utf8'),
      /** The console's enrollment token (written once the node is up: read it after `ready`). */
      enrollmentToken: () => readPairs(join(home, 'config', 'bootstrap-credentials'))?.ENROLLMENT_TOKEN,
      tmp,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Polls an authenticated request until the node answers (readiness). */
export async function ready(client, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await client.info();
      return client;
    } catch (e) {
      if (e?.meta?.statusCode === 401 || Date.now() > deadline) throw e;
      await sleep(20);
    }
  }
}
