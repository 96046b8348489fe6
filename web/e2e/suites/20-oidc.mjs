// "Sign in with your organisation" in Chromium, against a real OpenID provider (the oidc-provider
// package, tests/oidc/provider.mjs) and a second jamd configured for it: a participant of an `sso`
// audience (French) and a staff member (English) go to the provider, pick their account on its page
// and come back signed in. Skipped (loudly) without tests/oidc/node_modules; a failure instead under
// JAM_TEST_REQUIRE_SERVICES=1.

import { spawn, execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { Server, Client, ADMIN, JAMD, ROOT, freePort, test, skip, assert, eventually } from '../lib.mjs';

const HARNESS = path.join(ROOT, 'tests', 'oidc');
const SECRET = 'openjam-e2e-secret';
const ACCOUNTS = {
  alice: { name: 'Alice Martin', email: 'alice@example.org', groups: ['Staff'] },
  dana: { name: 'Dana Admin', email: 'dana@example.org', roles: ['jam-admins'] },
};

/** Starts the provider; resolves to { proc, issuer }. */
async function startProvider(redirect) {
  const proc = spawn(process.execPath, ['provider.mjs'], {
    cwd: HARNESS,
    env: {
      ...process.env,
      OIDC_REDIRECT_URIS: redirect,
      OIDC_CLIENT_SECRET: SECRET,
      OIDC_ACCOUNTS: JSON.stringify(ACCOUNTS),
    },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  process.on('exit', () => { if (proc.exitCode === null) proc.kill('SIGKILL'); });
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: proc.stdout }).once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`provider exited (${code})`)));
  });
  return { proc, issuer: JSON.parse(line).issuer };
}

/** A jamd for the provider: audiences from `groups`, staff roles from `roles`. */
class OidcServer extends Server {
  constructor(issuer) { super(); this.issuer = issuer; }

  env() {
    return {
      ...super.env(),
      JAM_CONFIG_DIR: this.dir,
      JAM_PROFILE: 'oidc',
      JAM__OIDC__CLIENT_SECRET: SECRET,
    };
  }

  async init(port) {
    this.port = port;
    this.origin = `http://127.0.0.1:${port}`;
    writeFileSync(path.join(this.dir, 'oidc.toml'), `
[oidc]
enabled = true
issuer_url = "${this.issuer}"
client_id = "openjam"
audience_claim = "groups"
audience_map = [{ value = "Staff", audience = "employee" }]
staff = true
role_claim = "roles"
role_map = [{ value = "jam-admins", role = "admin" }]
`);
    execFileSync(JAMD, ['admin', 'create', '--email', ADMIN.email, '--role', 'admin'], {
      env: { ...this.env(), JAM_ADMIN_PASSWORD: ADMIN.password },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
}

/** Clicks the organisation button, picks `account` on the provider's page, waits to be back. */
async function viaProvider(page, account, origin, backPath) {
  await page.locator('#sso-sign-in').click();
  await page.getByRole('link', { name: `Sign in as ${account}` }).click();
  await page.waitForURL((u) => u.origin === origin && u.pathname === backPath, { timeout: 15000 });
}

export default async function oidcSuite({ newPage, shoot, axe }) {
  if (!existsSync(path.join(HARNESS, 'node_modules', 'oidc-provider'))) {
    const why = 'tests/oidc/node_modules is missing (run `npm ci` in tests/oidc)';
    if (process.env.JAM_TEST_REQUIRE_SERVICES === '1') {
      await test('organisation sign-in (OpenID Connect)', () => { throw new Error(`${why}, but JAM_TEST_REQUIRE_SERVICES=1`); });
    } else {
      skip('organisation sign-in (OpenID Connect)', why);
    }
    return;
  }
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const provider = await startProvider(`${origin}/api/v1/auth/oidc/callback`);
  const server = new OidcServer(provider.issuer);
  try {
    await server.init(port);
    await server.start();
    const admin = new Client(origin);
    await admin.post('/auth/login', ADMIN);
    const slug = 'org-jam';
    const now = Date.now();
    const jam = {
      slug, title: 'Organisation jam', description: 'For the whole organisation.', guidelines: 'Be kind.',
      starts_at: new Date(now - 3600e3).toISOString(), ends_at: new Date(now + 3 * 86400e3).toISOString(),
    };
    try {
      await admin.post('/jams', { ...jam, audiences: [{ name: 'employee', admission: 'sso' }] });
    } catch (err) {
      // An API without `admission` on audiences: set it in the database.
      if (err.status !== 422) throw err;
      await admin.post('/jams', { ...jam, audiences: [{ name: 'employee' }] });
      execFileSync('sqlite3', [path.join(server.dir, 'jam.db'), "UPDATE audiences SET admission = 'sso' WHERE name = 'employee'"]);
    }
    await admin.post(`/jams/${slug}/sessions`, {
      title: 'Ideas', description: 'Open now.',
      opens_at: new Date(now - 60e3).toISOString(), closes_at: new Date(now + 86400e3).toISOString(),
    });
    await admin.post(`/jams/${slug}/schedule`);

    await test('a participant of an sso audience signs in with their organisation (fr)', async () => {
      const page = await newPage('fr-FR');
      await page.goto(`${origin}/j/${slug}?audience=employee`);
      const button = page.locator('#sso-sign-in');
      await button.waitFor();
      assert((await button.textContent()) === 'Se connecter avec votre organisation', await button.textContent());
      await axe(page, 'sso-join');
      await shoot(page, 'sso-join');
      await viaProvider(page, 'alice', origin, `/j/${slug}`);
      await eventually(async () => (await page.locator('#user').textContent()).includes('Alice Martin'), { what: 'signed in as Alice' });
      const me = await page.evaluate(async () => (await fetch('/api/v1/me')).json());
      assert(me.kind === 'participant' && me.audience === 'employee', JSON.stringify(me));
      await page.context().close();
    });

    await test('staff sign in with their organisation from the console (en)', async () => {
      const page = await newPage('en-GB');
      await page.goto(`${origin}/console`);
      const button = page.locator('#sso-sign-in');
      await button.waitFor();
      assert((await button.textContent()) === 'Sign in with your organisation', await button.textContent());
      assert(await page.locator('#email').isVisible(), 'the password form is still offered');
      await axe(page, 'console-sign-in-sso');
      await shoot(page, 'console-sign-in-sso');
      await viaProvider(page, 'dana', origin, '/console');
      await eventually(async () => (await page.locator('#user').textContent()).includes('Dana Admin'), { what: 'signed in as Dana' });
      const me = await page.evaluate(async () => (await fetch('/api/v1/me')).json());
      assert(me.kind === 'staff' && me.role === 'admin', JSON.stringify(me));
      await page.context().close();
    });
  } finally {
    await server.stop();
    server.cleanup();
    provider.proc.kill('SIGTERM');
  }
}
