// Test support: a real jamd on a free port with a temporary SQLite database, Debian's Chromium driven
// by playwright-core, a tiny test harness, and an API client for seeding.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '../..');
export const SHOTS = path.join(HERE, 'screenshots');
export const JAMD =
  process.env.JAMD || path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'debug', 'jamd');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const ADMIN = { email: 'admin@example.org', password: 'correct horse battery staple' };

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** One jamd process; `start()` again after `stop()` reuses the port and the database. */
export class Server {
  constructor() {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'openjam-e2e-'));
    this.proc = null;
    this.log = [];
  }

  env() {
    return {
      ...process.env,
      JAM_CONFIG_DIR: path.join(ROOT, 'config'),
      JAM__SERVER__BIND: `127.0.0.1:${this.port}`,
      JAM__SERVER__PUBLIC_ORIGIN: this.origin,
      JAM__DATABASE__URL: `sqlite://${path.join(this.dir, 'jam.db')}`,
      // Seeding 5,000 ideas from one address and a few participants.
      JAM__RATE_LIMITS__IDEAS__COUNT: '1000000',
      JAM__RATE_LIMITS__JOIN__COUNT: '100000',
      JAM__RATE_LIMITS__WELCOME__COUNT: '100000',
      JAM__LIMITS__JOINS_PER_ADDRESS_PER_DAY: '100000',
      JAM__RATE_LIMITS__LOGIN__COUNT: '1000',
      // Themes re-clustered every 2 s (suite 70-themes waits for a run instead of 5 minutes).
      JAM__PULSE__THEMES_EVERY_SECS: '2',
      JAM__LOG__FILTER: process.env.JAM_E2E_LOG || 'warn',
    };
  }

  async init() {
    this.port = await freePort();
    this.origin = `http://127.0.0.1:${this.port}`;
    execFileSync(JAMD, ['admin', 'create', '--email', ADMIN.email, '--role', 'admin'], {
      env: { ...this.env(), JAM_ADMIN_PASSWORD: ADMIN.password },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }

  async start() {
    this.proc = spawn(JAMD, ['serve'], { env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d) => { this.log.push(String(d)); if (this.log.length > 200) this.log.shift(); };
    this.proc.stdout.on('data', keep);
    this.proc.stderr.on('data', keep);
    const exited = new Promise((resolve) => this.proc.once('exit', resolve));
    for (let i = 0; i < 200; i++) {
      const done = await Promise.race([exited.then(() => 'exit'), sleep(100).then(() => 'wait')]);
      if (done === 'exit') throw new Error(`jamd exited at start:\n${this.log.join('')}`);
      try {
        const r = await fetch(`${this.origin}/healthz`);
        if (r.ok) return;
      } catch { /* not yet */ }
    }
    throw new Error('jamd did not answer /healthz within 20 s');
  }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    const exited = new Promise((resolve) => this.proc.once('exit', resolve));
    this.proc.kill('SIGTERM');
    await Promise.race([exited, sleep(15000)]);
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }

  cleanup() {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A cookie-keeping API client for seeding (Node's fetch; Origin set as a browser would). */
export class Client {
  constructor(origin) { this.origin = origin; this.cookie = ''; }

  async call(method, p, body) {
    const headers = { Accept: 'application/json', Origin: this.origin };
    if (this.cookie) headers.Cookie = this.cookie;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const r = await fetch(`${this.origin}/api/v1${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const set = r.headers.get('set-cookie');
    if (set) this.cookie = set.split(';')[0];
    const text = await r.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = text; }
    if (!r.ok) {
      const err = new Error(`${method} ${p} → ${r.status} ${text.slice(0, 300)}`);
      err.status = r.status;
      throw err;
    }
    return data;
  }

  get(p) { return this.call('GET', p); }
  post(p, body = {}) { return this.call('POST', p, body); }
  put(p, body) { return this.call('PUT', p, body); }
}

// ---- harness ----
const results = [];

export async function test(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (err) {
    results.push({ name, ok: false, err });
    console.log(`FAIL ${name} (${Date.now() - t0} ms)\n     ${String(err?.stack || err).split('\n').slice(0, 6).join('\n     ')}`);
  }
}

export function skip(name, why) {
  console.log(`SKIP ${name}: ${why}`);
}

export function summary() {
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  console.log(`\n${passed} passed, ${failed} failed`);
  return failed;
}

export function assert(cond, message) {
  if (!cond) throw new Error(message || 'assertion failed');
}

/** Polls `fn` until it returns truthy; returns {value, ms}. */
export async function eventually(fn, { timeout = 5000, every = 50, what = 'condition' } = {}) {
  const t0 = Date.now();
  let last;
  while (Date.now() - t0 < timeout) {
    try {
      last = await fn();
      if (last) return { value: last, ms: Date.now() - t0 };
    } catch (err) { last = err; }
    await sleep(every);
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${last})`);
}

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic', '--disable-dev-shm-usage',
];

export function ensureShotsDir() { mkdirSync(SHOTS, { recursive: true }); }
