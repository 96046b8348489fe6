// Personal invites (issue 14): in the console an admin switches an audience from the shared code to
// personal invites, creates links and downloads them as CSV, and revokes one; the first browser to
// open a link joins through the usual form and lands in the lobby, and opening the link again takes
// it straight back there; another browser opening the same link is told it was used, in its
// language, and is not admitted; the revoked link admits nobody. axe on the console section and the
// invite page, English and French.

import { readFileSync } from 'node:fs';
import { test, assert, eventually, Client, ADMIN } from '../lib.mjs';

const SLUG = 'partners-jam';

/** The path and query of each link in the CSV that issuing invites answers (`email,link`). */
function links(csv) {
  return csv.trim().split('\n').slice(1).map((line) => {
    const url = new URL(line.split(',').pop());
    return url.pathname + url.search;
  });
}

export default async function invites({ origin, newPage, shoot, axe }) {
  const admin = new Client(origin);
  await admin.post('/auth/login', ADMIN);
  const now = Date.now();
  await admin.post('/jams', {
    slug: SLUG, title: 'Partners jam', description: 'By invitation.', guidelines: 'Be kind.',
    starts_at: new Date(now - 3600e3).toISOString(), ends_at: new Date(now + 3 * 86400e3).toISOString(),
    audiences: [{ name: 'partners' }],
  });
  await admin.post(`/jams/${SLUG}/sessions`, {
    title: 'Ideas', description: 'Open now.',
    opens_at: new Date(now - 60e3).toISOString(), closes_at: new Date(now + 86400e3).toISOString(),
  });
  await admin.post(`/jams/${SLUG}/schedule`);

  let first, second, revoked;
  await test('an admin switches an audience to personal invites in the console, creates and revokes links', async () => {
    const page = await newPage('en-GB');
    await page.goto('/console');
    await page.fill('#email', ADMIN.email);
    await page.fill('#password', ADMIN.password);
    await page.click('form button[type=submit]');
    await page.waitForSelector(`a[href="/console/j/${SLUG}"]`);
    await page.click(`a[href="/console/j/${SLUG}"]`);
    const card = 'li.audience[data-audience=partners]';
    await page.waitForSelector(`${card}[data-admission=code] a.invite-link`);
    await page.selectOption(`${card} select[data-role=admission]`, 'invite');
    await page.click(`${card} [data-role=save-admission]`);
    await page.waitForSelector(`${card}[data-admission=invite] form[data-role=issue-invites]`);
    await page.fill(`${card} input[type=number]`, '3');
    await page.click(`${card} form[data-role=issue-invites] button[type=submit]`);
    await page.waitForSelector(`${card} a[data-role=invites-csv]`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click(`${card} a[data-role=invites-csv]`)]);
    assert(download.suggestedFilename() === 'invites-partners.csv', download.suggestedFilename());
    const csv = readFileSync(await download.path(), 'utf8');
    [first, second, revoked] = links(csv);
    assert(first?.startsWith(`/j/${SLUG}/join?invite=`) && second && revoked && new Set([first, second, revoked]).size === 3,
      `three distinct links: ${csv}`);
    await eventually(async () => (await page.$$(`${card} tr[data-state=unused]`)).length === 3, { what: 'three unused invites listed' });
    await page.click(`${card} tr[data-state=unused]:last-child [data-role=revoke-invite]`);
    await eventually(async () => (await page.$$(`${card} tr[data-state=revoked]`)).length === 1, { what: 'one revoked' });
    await axe(page, 'console-invites');
    await shoot(page, 'console-invites');
    await page.close();
  });
  // The list is newest first or oldest first; find which link was revoked by asking the server.
  const states = await Promise.all([first, second, revoked].map(async (link) => {
    const invite = new URL(link, origin).searchParams.get('invite');
    try { await new Client(origin).get(`/jams/${SLUG}/welcome?invite=${encodeURIComponent(invite)}`); return 'open'; } catch (e) { return e.status; }
  }));
  assert(states.filter((s) => s === 403).length === 1, `exactly one link refused after the revoke: ${states}`);
  const open = [first, second, revoked].filter((_, i) => states[i] === 'open');
  revoked = [first, second, revoked][states.indexOf(403)];
  [first, second] = open;

  const fr = await newPage('fr-FR');
  await test('a partner joins from a personal invite link (fr) and the link takes them back later', async () => {
    await fr.goto(first);
    await fr.waitForSelector('#display-name');
    assert((await fr.textContent('h1'))?.includes('Partners jam'), 'the invite page names the jam');
    await axe(fr, 'join-invite-fr');
    await shoot(fr, 'join-invite-fr');
    await fr.fill('#display-name', 'Paule Partenaire');
    await fr.check('#accept');
    await fr.click('form button[type=submit]');
    await fr.waitForURL(`**/j/${SLUG}`);
    const me = await fr.evaluate(async () => (await fetch('/api/v1/me')).json());
    assert(me.display_name === 'Paule Partenaire' && me.audience === 'partners', JSON.stringify(me));
    // The same link again: straight to the lobby, same participant.
    await fr.goto(first);
    await fr.waitForURL(`**/j/${SLUG}`);
    const again = await fr.evaluate(async () => (await fetch('/api/v1/me')).json());
    assert(again.id === me.id, `same participant: ${again.id} vs ${me.id}`);
  });

  await test('another browser opening a used invite link is told so and is not admitted', async () => {
    const en = await newPage('en-GB');
    await en.goto(first);
    await en.waitForSelector('#display-name');
    await en.fill('#display-name', 'Someone Else');
    await en.check('#accept');
    await en.click('form button[type=submit]');
    await eventually(async () => (await en.textContent('.form-status'))?.includes('already used'),
      { what: 'the used-link message' });
    await axe(en, 'join-invite-used');
    const status = await en.evaluate(async () => (await fetch('/api/v1/me')).status);
    assert(status === 401, `no sign-in for the second browser: ${status}`);
    // Its own link admits it.
    await en.goto(second);
    await en.waitForSelector('#display-name');
    await en.fill('#display-name', 'Someone Else');
    await en.check('#accept');
    await en.click('form button[type=submit]');
    await en.waitForURL(`**/j/${SLUG}`);
    await en.close();
  });

  await test('a revoked invite link admits nobody', async () => {
    const page = await newPage('en-GB');
    await page.goto(revoked);
    await eventually(async () => (await page.textContent('.alert-error'))?.includes('does not admit anyone any more'),
      { what: 'the invalid-link message' });
    assert(!(await page.$('#display-name')), 'no join form for a revoked link');
    await page.close();
  });
  await fr.close();
}
