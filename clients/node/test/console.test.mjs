// The console in a real browser: Debian's Chromium driven by puppeteer-core (nothing is
// downloaded at run time). First start of a node and a console → the code and the enrollment
// token in the setup page → login as elastic → a role on logs-* and a user with it → that user's
// search page shows logs-* documents and no others; a user name holding <script> is shown as
// text; editing and deleting users, a role edited as JSON, a role mapping with nested rules, the
// audit log filtered; a session cookie edited by hand is refused.
//
// With BULWARK_SCREENSHOTS=1 the pages are saved to docs/console/*.png (normal runs leave the
// tree untouched).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';

import puppeteer from 'puppeteer-core';

import { binary, clientFor, ready, startNode, waitFor } from './node.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = process.env.BULWARK_SCREENSHOTS === '1';

let node;
let client;
let consoleProc;
let consoleOut;
let browser;

async function startConsole(home) {
  mkdirSync(home, { recursive: true });
  consoleOut = join(home, '..', 'console.out');
  const out = openSync(consoleOut, 'w');
  const env = { ...process.env, RUST_BACKTRACE: '0' };
  delete env.BULWARK_CONSOLE_HOME;
  const proc = spawn(
    binary(),
    ['--home', home, '--allow-root', 'console', 'start',
      '-E', 'server.port=0', '-E', 'server.portsfile=true', '-E', 'server.host=127.0.0.1'],
    { stdio: ['ignore', out, out], env },
  );
  const ports = join(home, 'logs', 'console.ports');
  const addr = await waitFor('the console ports file', proc, () =>
    existsSync(ports) ? readFileSync(ports, 'utf8').trim() || null : null,
  );
  return { proc, addr };
}

async function shot(page, name) {
  if (!SHOTS) return;
  const dir = join(ROOT, 'docs', 'console');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

/** Submits the form `selector` and waits for the next page. */
async function submit(page, selector) {
  await Promise.all([page.waitForNavigation(), page.click(`${selector} button[type=submit]`)]);
}

/** The visible form controls of the page that have no label (an accessible form has none). */
async function unlabelled(page) {
  return page.$$eval('input:not([type=hidden]), select, textarea', (els) =>
    els.filter((e) => e.labels.length === 0 && !e.getAttribute('aria-label')).map((e) => e.outerHTML));
}

/** Every visited page's controls are labelled. */
async function assertLabelled(page) {
  assert.deepEqual(await unlabelled(page), [], `unlabelled controls on ${page.url()}`);
}

async function login(page, base, user, password) {
  await page.goto(`${base}/login`);
  await page.type('#username', user);
  await page.type('#password', password);
  await submit(page, '#login');
}

before(async () => {
  node = await startNode();
  client = await ready(clientFor(node));
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // The console's certificate is its own (generated on the first start); the browser is told to
    // accept it, as a user accepts it once.
    acceptInsecureCerts: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
});

after(async () => {
  await browser?.close();
  if (consoleProc && consoleProc.exitCode === null) {
    const exited = new Promise((r) => consoleProc.once('exit', r));
    consoleProc.kill('SIGTERM');
    await exited;
  }
  await client?.close();
  await node?.stop();
});

test('enroll in the browser, manage roles and users, search as a restricted user', async () => {
  const started = await startConsole(join(node.tmp, 'console'));
  consoleProc = started.proc;
  const base = `https://${started.addr}`;
  const printed = readFileSync(consoleOut, 'utf8');
  const link = printed.match(/https:\/\/\S+\/setup\?code=(\d{6})/);
  assert.ok(link, `a setup link is printed: ${printed}`);
  const code = link[1];

  const page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 900 });
  let alerted = false;
  page.on('dialog', async (d) => {
    alerted = true;
    await d.dismiss();
  });

  // Setup: the code comes with the link, the token is pasted.
  await page.goto(`${base}/setup?code=${code}`);
  assert.equal(await page.$eval('#code', (e) => e.value), code);
  const token = node.enrollmentToken();
  assert.ok(token, 'the first start wrote an enrollment token for the console');
  await page.type('#token', token);
  await assertLabelled(page);
  await shot(page, 'setup');
  await submit(page, '#setup');
  assert.match(page.url(), /\/login\?enrolled=1$/, await page.content());
  await assertLabelled(page);
  await shot(page, 'login');

  // Log in as elastic.
  await login(page, base, 'elastic', node.password);
  assert.match(page.url(), /\/app\/overview$/);
  assert.equal(await page.$eval('#current-user', (e) => e.textContent), 'elastic');
  assert.match(await page.$eval('#health', (e) => e.textContent), /Status/);
  // elastic may read the audit log: the node said so at login, and the navigation links it.
  assert.equal(await page.$$eval('nav a[href="/app/audit"]', (a) => a.length), 1);
  await shot(page, 'overview');

  // Data: logs-* documents and others.
  await client.bulk({
    refresh: true,
    operations: [
      { index: { _index: 'logs-app', _id: 'l1' } }, { '@timestamp': '2026-12-01T10:00:00Z', message: 'log line one' },
      { index: { _index: 'logs-app', _id: 'l2' } }, { '@timestamp': '2026-12-02T10:00:00Z', message: 'log line two' },
      { index: { _index: 'secrets', _id: 's1' } }, { '@timestamp': '2026-12-01T11:00:00Z', message: 'not for alice' },
    ],
  });

  // A role on logs-*.
  await page.goto(`${base}/app/roles`);
  await page.type('#name', 'logs_reader');
  await page.type('#indices', 'logs-*');
  await page.click('input[name=privileges][value=read]');
  await submit(page, '#create-role');
  assert.match(await page.$eval('.notice.ok', (e) => e.textContent), /logs_reader/);
  assert.match(await page.$eval('#roles', (e) => e.textContent), /logs-\*: read/);
  await assertLabelled(page);
  await shot(page, 'roles');

  // A user with it, and a user whose name holds markup.
  await page.goto(`${base}/app/users`);
  await page.type('#username', 'alice');
  await page.type('#password', 'alice-password-1');
  await page.type('#roles', 'logs_reader');
  await submit(page, '#create-user');
  const evil = '<script>alert(1)</script>';
  await page.type('#username', evil);
  await page.type('#password', 'evil-password-1');
  await submit(page, '#create-user');
  const names = await page.$$eval('td.username', (tds) => tds.map((td) => td.textContent));
  assert.ok(names.includes('alice'), names.join());
  assert.ok(names.includes(evil), `the name is shown as text: ${names.join()}`);
  assert.equal(await page.$$eval('td.username script', (s) => s.length), 0);
  assert.equal(alerted, false, 'no script from a user name ran');
  await assertLabelled(page);
  await shot(page, 'users');

  // An API key limited to logs-*, created as the user (no password asked again), shown once.
  await page.goto(`${base}/app/api_keys`);
  await assertLabelled(page);
  assert.equal(await page.$('#create-api-key input[type=password]'), null, 'no password asked');
  await page.type('#name', 'logs-shipper');
  await page.type('#expiration', '7d');
  await page.type('#indices', 'logs-*');
  await submit(page, '#create-api-key');
  const encoded = await page.$eval('#new-api-key', (e) => e.textContent);
  const keyClient = clientFor(node, { auth: { apiKey: encoded } });
  assert.equal((await keyClient.security.authenticate()).api_key.name, 'logs-shipper');
  await keyClient.close();
  await shot(page, 'api_keys');
  await page.goto(`${base}/app/api_keys`);
  assert.doesNotMatch(await page.content(), new RegExp(encoded.replace(/[+/=]/g, '.')), 'shown once');
  // The session is not an API key any more: the list holds only the key made here, with its
  // "Invalidate" button.
  const listed = await page.$$eval('#api-keys tbody tr', (rows) =>
    rows.map((r) => [r.cells[0].textContent, r.querySelectorAll('button').length]));
  assert.deepEqual(listed, [['logs-shipper', 1]]);
  await page.goto(`${base}/app/monitoring`);
  assert.equal(await page.$$eval('img[src^="/app/monitoring/chart.svg"]', (i) => i.filter((x) => x.complete && x.naturalWidth > 0).length), 2);
  await shot(page, 'monitoring');
  // The console's own service token (made by enrollment) is counted, its value never shown.
  await page.goto(`${base}/app/service_tokens`);
  const accounts = await page.$$eval('#service-tokens tr', (rows) =>
    rows.slice(1).map((r) => [r.querySelector('td.account')?.textContent, Number(r.querySelector('td.count')?.textContent)]));
  assert.ok(accounts.some(([a, n]) => a === 'elastic/kibana' && n >= 1), JSON.stringify(accounts));
  await shot(page, 'service_tokens');

  // Edit alice (the form keeps her roles and password), delete the user with markup after the
  // confirmation page.
  await page.goto(`${base}/app/users/edit?name=alice`);
  assert.equal(await page.$eval('#roles', (e) => e.value), 'logs_reader');
  await page.type('#full_name', 'Alice Liddell');
  await submit(page, '#edit-user');
  assert.match(await page.$eval('.notice.ok', (e) => e.textContent), /alice/);
  assert.match(await page.content(), /Alice Liddell/);
  await page.goto(`${base}/app/users/delete?name=${encodeURIComponent(evil)}`);
  assert.match(await page.$eval('#confirm-text', (e) => e.textContent), /cannot be undone/);
  assert.equal(alerted, false);
  await shot(page, 'delete');
  await submit(page, '#confirm-delete');
  assert.match(await page.$eval('.notice.ok', (e) => e.textContent), /deleted/);
  const left = await page.$$eval('td.username', (tds) => tds.map((td) => td.textContent));
  assert.ok(!left.includes(evil) && left.includes('alice'), left.join());

  // A role edited as JSON: the node's refusal is shown, the text kept.
  await page.goto(`${base}/app/roles/edit?name=logs_reader`);
  const descriptor = await page.$eval('#role', (e) => e.value);
  await page.$eval('#role', (e) => { e.value = '{"clustr": []}'; });
  await submit(page, '#edit-role');
  assert.match(await page.$eval('.notice.error', (e) => e.textContent), /clustr/);
  await page.$eval('#role', (e, d) => { e.value = d; }, descriptor);
  await shot(page, 'role_edit');
  await submit(page, '#edit-role');
  assert.match(await page.$eval('.notice.ok', (e) => e.textContent), /logs_reader/);

  // A role mapping with nested rules, drawn as a tree.
  await page.goto(`${base}/app/role_mappings`);
  await page.type('#name', 'ops_team');
  await page.type('#roles', 'logs_reader');
  const rules = {
    all: [
      { field: { 'realm.name': 'pki1' } },
      { any: [{ field: { groups: ['ops', 'dev'] } }, { field: { dn: '*,ou=ops,dc=example' } }] },
      { except: { field: { username: 'guest*' } } },
    ],
  };
  await page.$eval('#rules', (e, r) => { e.value = r; }, JSON.stringify(rules));
  await submit(page, '#role-mapping');
  assert.match(await page.$eval('.notice.ok', (e) => e.textContent), /ops_team/);
  const ops = await page.$$eval('#role-mappings td.rules .rule-op', (o) => o.map((x) => x.textContent));
  assert.deepEqual(ops, ['all of', 'any of', 'not']);
  const stored = await client.security.getRoleMapping({ name: 'ops_team' });
  assert.deepEqual(stored.ops_team.rules, rules);
  // Role templates instead of roles, typed as JSON and shown as their source.
  await page.type('#name', 'by_team');
  await page.type('#value', '*');
  const templates = [{ template: { source: 'team_{{metadata.team}}' }, format: 'string' }];
  await page.$eval('#role_templates', (e, t) => { e.value = t; }, JSON.stringify(templates));
  await submit(page, '#role-mapping');
  assert.match(await page.$eval('.notice.ok', (e) => e.textContent), /by_team/);
  assert.deepEqual(await page.$$eval('#role-mappings code.template', (c) => c.map((x) => x.textContent)), ['team_{{metadata.team}}']);
  assert.deepEqual((await client.security.getRoleMapping({ name: 'by_team' })).by_team.role_templates, templates);
  await assertLabelled(page);
  await shot(page, 'role_mappings');

  // The audit log, filtered.
  await page.goto(`${base}/app/audit`);
  await page.select('#event', 'security_config_change');
  await page.type('#user', 'elastic');
  await submit(page, '#audit-filters');
  const events = await page.$$eval('#audit-events td.event', (tds) => tds.map((td) => td.textContent));
  assert.ok(events.length > 0, await page.content());
  assert.deepEqual([...new Set(events)], ['security_config_change']);
  await assertLabelled(page);
  await shot(page, 'audit');

  // Log out, log in as alice: only logs-* documents.
  await submit(page, 'form.logout');
  assert.match(page.url(), /\/login\?reason=logout$/);
  // alice logs in with the keyboard alone: Tab from the name to the password, Enter submits.
  await page.goto(`${base}/login`);
  await page.focus('#username');
  await page.keyboard.type('alice');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'password');
  await page.keyboard.type('alice-password-1');
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  assert.equal(await page.$eval('#current-user', (e) => e.textContent), 'alice');
  // alice may not read the audit log: no link, and the page shows the node's refusal.
  assert.equal(await page.$$eval('nav a', (a) => a.length) > 5, true);
  assert.equal(await page.$$eval('nav a[href="/app/audit"]', (a) => a.length), 0);
  const refused = await page.goto(`${base}/app/audit`);
  assert.equal(refused.status(), 403);
  assert.match(await page.$eval('.notice.error', (e) => e.textContent), /manage_security/);
  await page.goto(`${base}/app/search?index=*&q=&date_field=%40timestamp`);
  const indices = await page.$$eval('#hits td.index', (tds) => tds.map((td) => td.textContent));
  assert.deepEqual([...new Set(indices)], ['logs-app'], `alice sees logs-* only: ${indices.join()}`);
  assert.equal(indices.length, 2);
  assert.doesNotMatch(await page.content(), /not for alice/);
  assert.equal(await page.$$eval('#histogram rect', (r) => r.length) > 0, true);
  assert.equal(await page.$eval('#histogram', (e) => e.getAttribute('aria-label')), 'Documents over time');
  await assertLabelled(page);
  await shot(page, 'search');
  // Asking for the other index by name: the node refuses alice.
  await page.goto(`${base}/app/search?index=secrets`);
  assert.doesNotMatch(await page.content(), /not for alice/);

  // A hand-edited session cookie is refused.
  const cookies = await page.cookies();
  const session = cookies.find((c) => c.name === 'bulwark_session');
  assert.ok(session && session.httpOnly && session.secure && session.sameSite === 'Strict');
  const i = Math.floor(session.value.length / 2);
  const edited = session.value.slice(0, i) + (session.value[i] === 'A' ? 'B' : 'A') + session.value.slice(i + 1);
  await page.setCookie({ ...session, value: edited });
  await page.goto(`${base}/app/overview`);
  assert.match(page.url(), /\/login\?reason=invalid$/);
  assert.match(await page.$eval('.notice', (e) => e.textContent), /not valid/);
  await page.close();
});
