// Staff accounts and voiding a participant in the console (issue 14): an admin disables, enables and
// resets a facilitator, whose sign-in ends at once; a facilitator finds a participant by name and
// voids them with a reason and a confirmation, after which their sign-in is refused. Names typed by
// participants are shown as text. axe on both pages, English and French.

import { test, assert, eventually, Client, ADMIN } from '../lib.mjs';

const SLUG = 'better-offices-2026';
const XSS_NAME = '<img src=x onerror=alert(7)>';

export default async function staffAndVoid({ origin, newPage, shoot, axe, state }) {
  const admin = new Client(origin);
  await admin.post('/auth/login', { email: ADMIN.email, password: ADMIN.password });
  const email = `fac-${Date.now()}@example.org`;
  const password = 'a facilitator password';
  const created = await admin.post('/staff', { email, display_name: 'Fran Facilitator', role: 'facilitator', password });
  const fran = new Client(origin);
  await fran.post('/auth/login', { email, password });
  const code = new URL(Object.values(state.invites)[0]).searchParams.get('code');
  const troll = new Client(origin);
  await troll.post(`/jams/${SLUG}/join`, { invite_code: code, display_name: 'Troll Trollson', accept_guidelines: true });
  const sneaky = new Client(origin);
  await sneaky.post(`/jams/${SLUG}/join`, { invite_code: code, display_name: XSS_NAME, accept_guidelines: true });

  const page = await newPage('en-GB');
  await page.goto('/console');
  await page.fill('#email', ADMIN.email);
  await page.fill('#password', ADMIN.password);
  await page.click('form button[type=submit]');
  await page.waitForSelector('[data-role=staff-link]');

  await test('an admin disables a facilitator in the console and its sign-in ends at once', async () => {
    await page.click('[data-role=staff-link]');
    const row = `tr[data-account-id="${created.id}"]`;
    await page.waitForSelector(row);
    await axe(page, 'console-staff');
    await shoot(page, 'console-staff');
    await page.click(`${row} [data-role=disable]`);
    await page.waitForSelector(`${row}[data-disabled=true]`);
    let status = 0;
    try { await fran.get('/me'); } catch (e) { status = e.status; }
    assert(status === 401, `disabled facilitator's cookie: ${status}`);
    await page.click(`${row} [data-role=enable]`);
    await page.waitForSelector(`${row}[data-disabled=false]`);
    // A reset from the console; the facilitator signs in with the new password.
    await page.fill(`#reset-${created.id}-new`, 'reset in the console');
    await page.click(`${row} [data-role=reset-password] button[type=submit]`);
    await page.waitForSelector(`${row} [role=status]`);
    await fran.post('/auth/login', { email, password: 'reset in the console' });
    assert((await fran.get('/me')).id === created.id, 'signed in with the new password');
  });

  await test('a facilitator finds a participant by name and voids them with a reason', async () => {
    const fp = await newPage('en-GB');
    await fp.goto('/console');
    await fp.fill('#email', email);
    await fp.fill('#password', 'reset in the console');
    await fp.click('form button[type=submit]');
    await fp.waitForSelector(`a[href="/console/j/${SLUG}"]`);
    await fp.click(`a[href="/console/j/${SLUG}"]`);
    await fp.click('[data-role=participants-link]');
    await fp.waitForSelector('table[data-role=participants]');
    // The typed name is text, not markup.
    const names = await fp.$$eval('table[data-role=participants] tbody th', (els) => els.map((e) => e.textContent));
    assert(names.includes(XSS_NAME), `name shown as text: ${JSON.stringify(names)}`);
    assert(await fp.$('table[data-role=participants] img') === null, 'no element from a name');
    await fp.fill('#participant-q', 'troll');
    await fp.click('form[role=search] button[type=submit]');
    await eventually(async () => (await fp.$$('table[data-role=participants] tbody tr')).length === 1, { what: 'one match' });
    const troll_id = (await troll.get('/me')).id;
    const row = `tr[data-participant-id="${troll_id}"]`;
    await fp.click(`${row} details.void summary`);
    await axe(fp, 'console-participants');
    // Both checks happen in the page before anything is sent.
    await fp.click(`${row} form[data-role=void] button[type=submit]`);
    assert(await fp.isVisible(`#void-reason-${troll_id}-error`), 'reason required');
    await fp.fill(`#void-reason-${troll_id}`, 'One person, many accounts');
    await fp.click(`${row} form[data-role=void] button[type=submit]`);
    assert(await fp.isVisible(`#void-confirm-${troll_id}-error`), 'confirmation required');
    await fp.check(`#void-confirm-${troll_id}`);
    await fp.click(`${row} form[data-role=void] button[type=submit]`);
    await fp.waitForSelector(`${row}[data-voided=true]`);
    await shoot(fp, 'console-participants');
    let status = 0;
    try { await troll.get('/me'); } catch (e) { status = e.status; }
    assert(status === 401, `voided participant's cookie: ${status}`);
    await fp.context().close();
  });

  await test('the staff and participants pages work in French', async () => {
    const fr = await newPage('fr-FR');
    await fr.goto('/console');
    await fr.fill('#email', ADMIN.email);
    await fr.fill('#password', ADMIN.password);
    await fr.click('form button[type=submit]');
    await fr.waitForSelector('[data-role=staff-link]');
    await fr.goto('/console/staff');
    await fr.waitForSelector('table[data-role=staff-table]');
    assert((await fr.textContent('h1')).trim() === 'Comptes de l’équipe', 'French heading');
    await axe(fr, 'console-staff-fr');
    await fr.goto(`/console/j/${SLUG}/participants`);
    await fr.waitForSelector('table[data-role=participants]');
    assert((await fr.textContent('h1')).startsWith('Participants de'), 'French participants heading');
    await fr.context().close();
  });
  await page.context().close();
}
