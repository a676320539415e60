// Starts a real bulwark node on a fresh temporary home, as clients/python/conftest.py does:
// ports chosen by the OS (http.port=0 + node.portsfile), the generated elastic password and the
// CA fingerprint read from config/bootstrap-credentials, readiness polled, never slept for.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Client } from '@elastic/elasticsearch';

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

/**
 * An ERROR line not in `expectedErrors`, or one of `secrets` (8 characters or more), in the
 * node's logs or its output: what `stop()` fails on.
 */
function logProblems(home, out, secrets, expectedErrors) {
  const logs = join(home, 'logs');
  const files = existsSync(logs) ? readdirSync(logs).map((f) => join(logs, f)) : [];
  const problems = [];
  for (const file of [...files.filter((f) => statSync(f).isFile()), out]) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (secrets.some((s) => s.length >= 8 && line.includes(s))) {
        problems.push(`${file}: a secret is in: ${line.slice(0, 300)}`);
      }
      const error = line.includes('"level":"ERROR"') || line.startsWith('ERROR ');
      if (error && !expectedErrors.some((e) => line.includes(e))) {
        problems.push(`${file}: an ERROR line the test did not expect: ${line.slice(0, 300)}`);
      }
    }
  }
  return problems;
}

/**
 * A running node: `url`, `password`, `fingerprint`, `ca` (PEM), `secrets` and `expectedErrors`
 * (for the log scan), and `stop()`, which fails when the logs show a problem.
 */
export async function startNode() {
  const tmp = mkdtempSync(join(tmpdir(), 'bulwark-js-'));
  const home = join(tmp, 'home');
  const outPath = join(tmp, 'stdout.txt');
  const out = openSync(outPath, 'w');
  const secrets = [];
  const expectedErrors = [];
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
    const problems = logProblems(home, outPath, secrets, expectedErrors);
    rmSync(tmp, { recursive: true, force: true });
    if (problems.length > 0) throw new Error(`the node's logs:\n${problems.join('\n')}`);
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
    secrets.push(pairs.ELASTIC_PASSWORD, pairs.ENROLLMENT_TOKEN ?? '');
    return {
      secrets,
      expectedErrors,
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
    await stop().catch(() => {}); // the first failure is the one to report
    throw e;
  }
}

/**
 * The official client for `node` as `elastic`, pinning the CA by fingerprint; `options` override
 * the defaults (e.g. a wrong `caFingerprint`).
 */
export function clientFor(node, options = {}) {
  return new Client({
    node: node.url,
    auth: { username: 'elastic', password: node.password },
    caFingerprint: node.fingerprint,
    tls: { ca: node.ca },
    requestTimeout: 30_000,
    ...options,
  });
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
