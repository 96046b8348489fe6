// Mood (issue 16): the console dashboard shows the mood timeline of the jam and of a session, a
// bar of the timeline drills down (the window in the address) to the most negative and most
// positive threads, whose titles are participants' text, shown as text. axe on each page, English
// and French. (The alert's banner comes from the API's `alert` and the staff topic; its firing is
// covered by the black-box replay under the file clock, tests/black_box/mood.rs.)

import { test, assert, eventually, Client, ADMIN } from '../lib.mjs';

const SLUG = 'better-offices-2026';
const XSS_TITLE = '<img src=x onerror=alert(7)> awful queue';

export default async function moodSuite({ origin, newPage, shoot, axe, state, fac }) {
  const code = new URL(Object.values(state.invites)[0]).searchParams.get('code');
  const seeder = new Client(origin);
  await seeder.post(`/jams/${SLUG}/join`, { invite_code: code, display_name: 'Mo Od', accept_guidelines: true });
  const sad = await seeder.post(`/sessions/${state.sessionId}/ideas`, { title: XSS_TITLE, body: 'This is terrible, slow and frustrating. I hate it.' });
  const glad = await seeder.post(`/sessions/${state.sessionId}/ideas`, { title: 'Wonderful garden', body: 'A great, beautiful idea, I love it!' });
  assert(sad.sentiment === 'negative', `scored negative: ${JSON.stringify(sad)}`);
  assert(glad.sentiment === 'positive', `scored positive: ${JSON.stringify(glad)}`);

  await test('the console shows the mood timeline with the most negative and positive threads', async () => {
    await fac.goto(`/console/j/${SLUG}#c-mood`);
    await fac.waitForSelector('[data-role=mood] .mood-bar');
    await eventually(async () => (await fac.$$('[data-role=mood-negative] li')).length > 0, { what: 'negative threads' });
    const negative = await fac.$$eval('[data-role=mood-negative] li a', (els) => els.map((e) => e.textContent));
    const positive = await fac.$$eval('[data-role=mood-positive] li a', (els) => els.map((e) => e.textContent));
    assert(negative.includes(XSS_TITLE), `a typed title is text: ${negative}`);
    assert(positive.includes('Wonderful garden'), `positive: ${positive}`);
    assert(await fac.$('[data-role=mood] img') === null, 'no element from a title');
    await axe(fac, 'console-mood');
    await shoot(fac, 'console-mood');
  });

  await test('a bar of the timeline drills down to its window, kept in the address', async () => {
    const bars = await fac.$$('[data-role=mood] a.mood-bar');
    await bars[bars.length - 1].click();
    await eventually(async () => fac.url().includes('mood_from='), { what: 'the window in the address' });
    await fac.waitForSelector('[data-role=mood-clear]');
    await eventually(async () => (await fac.$$('[data-role=mood-positive] li a')).length > 0, { what: 'threads of the window' });
    const positive = await fac.$$eval('[data-role=mood-positive] li a', (els) => els.map((e) => e.textContent));
    assert(positive.includes('Wonderful garden'), `the last bucket holds the new idea: ${positive}`);
    await fac.reload();
    await fac.waitForSelector('[data-role=mood-clear]');
    await axe(fac, 'console-mood-window');
    await fac.selectOption('[data-role=mood-session]', state.sessionId);
    await eventually(async () => fac.url().includes(`mood_session=${state.sessionId}`), { what: 'the session in the address' });
    await fac.waitForSelector('[data-role=mood] .mood-bar');
  });

  await test('the mood section works in French', async () => {
    const fr = await newPage('fr-FR');
    await fr.goto('/console');
    await fr.fill('#email', ADMIN.email);
    await fr.fill('#password', ADMIN.password);
    await fr.click('form button[type=submit]');
    await fr.waitForSelector('[data-role=staff-link]');
    await fr.goto(`/console/j/${SLUG}#c-mood`);
    await fr.waitForSelector('[data-role=mood] .mood-bar');
    const heading = await fr.textContent('#c-mood-h');
    assert(heading.trim() === 'Humeur', heading);
    assert((await fr.textContent('[data-role=mood-negative] h4')).includes('négatifs'), 'French drill-down');
    await axe(fr, 'console-mood-fr');
    await fr.context().close();
  });
}
