// harness.mjs — the browser suites' counterpart of tests/integration/harness.py:
// starts the real safegrid binary on a free loopback port with a copy of the
// demo store, speaks HTTP to it, drives Debian's chromium through
// playwright-core, and counts checks into one "<suite>: N passed, N failed" line.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '../..');
export const BIN = process.env.SAFEGRID_BIN || path.join(ROOT, 'build/safegrid');
export const CHROMIUM = process.env.SAFEGRID_CHROMIUM || '/usr/bin/chromium';
const TEST_TMP = process.env.SAFEGRID_TEST_TMP || fs.mkdtempSync(path.join(os.tmpdir(), 'safegrid-b-'));
const DEMO_CACHE = path.join(TEST_TMP, 'demo.db');

export async function playwright() {
  return import(path.join(ROOT, 'web/node_modules/playwright-core/index.mjs'));
}

export class Suite {
  constructor(name) { this.name = name; this.passed = 0; this.failed = 0; }
  check(cond, what, detail) {
    if (cond) this.passed++;
    else {
      this.failed++;
      let msg = `FAIL ${this.name}: ${what}`;
      if (detail !== undefined) msg += ' -- ' + String(typeof detail === 'string' ? detail : JSON.stringify(detail)).slice(0, 600);
      console.log(msg);
    }
    return !!cond;
  }
  done() {
    console.log(`${this.name}: ${this.passed} passed, ${this.failed} failed`);
    process.exit(this.failed ? 1 : 0);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => { const p = srv.address().port; srv.close(() => resolve(p)); });
    srv.on('error', reject);
  });
}

// A demo store (no history: tests count from zero), built once per run.
function demoDb(dest) {
  if (!fs.existsSync(DEMO_CACHE)) {
    const tmp = DEMO_CACHE + '.tmp' + process.pid;
    execFileSync(BIN, ['demo', '--db', tmp, '--no-history'], { stdio: 'ignore', timeout: 300000 });
    fs.renameSync(tmp, DEMO_CACHE);
  }
  fs.copyFileSync(DEMO_CACHE, dest);
}

export class Server {
  constructor(extra = []) { this.extra = extra; }
  async start() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'safegrid-bt-'));
    this.db = path.join(this.dir, 'store.db');
    demoDb(this.db);
    this.port = await freePort();
    this.base = `http://127.0.0.1:${this.port}`;
    const log = fs.openSync(this.db + '.log', 'a');
    this.proc = spawn(BIN, ['serve', '--db', this.db, '--listen', `127.0.0.1:${this.port}`, ...this.extra],
      { stdio: ['ignore', log, log] });
    const deadline = Date.now() + 60000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) throw new Error('server exited: ' + fs.readFileSync(this.db + '.log', 'utf8').slice(-2000));
      try { if ((await fetch(this.base + '/healthz')).ok) return this; } catch (e) { /* not yet */ }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('server did not start');
  }
  async stop() {
    if (this.proc && this.proc.exitCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20000))]);
      if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
  async call(method, p, body, token) {
    const headers = {};
    if (token) headers.Authorization = 'Bearer ' + token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const r = await fetch(this.base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let data = text;
    try { data = JSON.parse(text); } catch (e) { /* not JSON */ }
    return { status: r.status, body: data };
  }
  async get(p, token) { return this.call('GET', p, undefined, token); }
  async post(p, body, token) { return this.call('POST', p, body, token); }
  async login(name, password) {
    const r = await this.post('/api/v1/login', { name, password });
    if (r.status !== 200) throw new Error(`login ${name}: ${r.status}`);
    return r.body.token;
  }
}

// Chromium for a suite (a suite without it fails at once, naming the path):
// newPage() opens a page in a fresh context (its own storage, so its own
// login and language) whose script errors are collected in errors.
export async function openBrowser(suite) {
  if (!fs.existsSync(CHROMIUM)) {
    suite.check(false, 'chromium is installed at ' + CHROMIUM + ' (make deps)');
    suite.done();
  }
  const { chromium } = await playwright();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  const errors = [];
  async function newPage(viewport = { width: 1440, height: 900 }) {
    const context = await browser.newContext({ viewport, locale: 'zh-CN' });
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    return page;
  }
  return { browser, errors, newPage };
}

// Polls fn until it gives something truthy or ms pass; gives its last answer.
export async function waitFor(fn, ms = 5000, step = 30) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, step));
  }
}

// Runs a suite's scenario to its end: a thrown error is one failed check,
// a script error on any page one more; the browser and the server stop
// whatever happened, and the suite prints its summary line and exits.
export async function runScenario(suite, browser, srv, errors, scenario) {
  try {
    await scenario();
    suite.check(errors.length === 0, 'no script error on any page', errors);
  } catch (e) {
    suite.check(false, 'the scenario ran to the end', e.stack || String(e));
  } finally {
    await browser.close();
    await srv.stop();
  }
  suite.done();
}

// Switches the console to a view by its navigation link and waits until the
// view exists and shows: the switch runs on hashchange, a task after the click,
// so a test that reaches into views() right after clicking would race it.
export async function gotoView(page, name) {
  await page.click(`#nav a[data-view=${name}]`);
  await page.waitForFunction((n) => window.sgConsole && window.sgConsole.views()[n] &&
    !document.querySelector('#view-' + n).hidden, name, { timeout: 10000 });
}

// Signs in through the console's own login form.
export async function consoleLogin(page, base, name, password) {
  await page.goto(base + '/');
  await page.fill('#login-form input[name=name]', name);
  await page.fill('#login-form input[name=password]', password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#shell:not([hidden])', { timeout: 10000 });
}
