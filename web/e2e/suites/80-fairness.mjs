// Fairness (issue 17): a jam that hides counts until one votes. A participant opens the Discover
// tab, reads no count on ideas they have not voted on (English and French), votes and then sees
// them; the ideas they looked at are reported as impressions (at least half visible for 1 s, sent
// every 5 s) and staff read the count; the results page shows the method and the fairness report.
// axe on each page.

import { test, assert, eventually, Client, ADMIN } from '../lib.mjs';

const SLUG = 'fair-jam';
const CODE = 'fair-code-12345';

/** A browser page signed in as a new participant of the fair jam. */
async function participantPage(newPage, origin, locale, name) {
  const api = new Client(origin);
  await api.post(`/jams/${SLUG}/join`, { invite_code: CODE, display_name: name, accept_guidelines: true });
  const page = await newPage(locale);
  const [cookieName, ...rest] = api.cookie.split('=');
  await page.context().addCookies([{ name: cookieName, value: rest.join('='), url: origin }]);
  return { page, api };
}

export default async function fairnessSuite({ origin, newPage, shoot, axe, fac }) {
  const admin = new Client(origin);
  await admin.post('/auth/login', ADMIN);
  const now = Date.now();
  await admin.post('/jams', {
    slug: SLUG, title: 'Fair jam', starts_at: new Date(now - 60000).toISOString(),
    ends_at: new Date(now + 86400000).toISOString(),
    audiences: [{ name: 'everyone', invite_code: CODE }], hide_counts_until_voted: true,
  });
  const session = await admin.post(`/jams/${SLUG}/sessions`, {
    title: 'Ideas', opens_at: new Date(now - 60000).toISOString(), closes_at: new Date(now + 3600000).toISOString(),
  });
  await admin.post(`/jams/${SLUG}/schedule`);
  const author = new Client(origin);
  await author.post(`/jams/${SLUG}/join`, { invite_code: CODE, display_name: 'Author', accept_guidelines: true });
  const ideas = [];
  for (const title of ['Quiet rooms', 'Standing desks', 'Plants everywhere']) {
    ideas.push(await author.post(`/sessions/${session.id}/ideas`, { title, body: `${title}, please.` }));
  }
  await author.put(`/ideas/${ideas[0].id}/vote`, { value: 1 });
  const sessionPath = `/j/${SLUG}/s/${session.id}`;

  await test('the Discover tab shows ideas without counts until the participant votes, and reports what they saw', async () => {
    const { page } = await participantPage(newPage, origin, 'en-US', 'Dee');
    await page.goto(`${sessionPath}?sort=discover`);
    await page.waitForSelector('.idea-card');
    const current = await page.textContent('nav.sorts a[aria-current=page]');
    assert(current.trim() === 'Discover', `the Discover tab is current: ${current}`);
    const card = `.idea-card[data-idea-id="${ideas[0].id}"]`;
    assert((await page.textContent(`${card} .vote-counts`)).trim() === 'Vote to see the counts', 'counts hidden');
    assert((await page.textContent(`${card} [data-role=net]`)).trim() === '?', 'net hidden');
    await axe(page, 'session-discover');
    await shoot(page, 'session-discover');
    await page.click(`${card} [data-role=vote-up]`);
    await eventually(async () => (await page.textContent(`${card} .vote-counts`)).includes('2 for'),
      { what: 'the counts once voted' });
    // The other ideas still hide theirs.
    const other = `.idea-card[data-idea-id="${ideas[1].id}"] .vote-counts`;
    assert((await page.textContent(other)).trim() === 'Vote to see the counts', 'the others stay hidden');
    // Every card was on screen for more than a second: reported within the 5 s batch.
    await eventually(async () => {
      const seen = await admin.get(`/ideas/${ideas[2].id}`);
      return seen.impressions >= 1;
    }, { timeout: 15000, every: 500, what: 'the impression reported' });
    await page.context().close();
  });

  await test('counts stay hidden in French too', async () => {
    const { page } = await participantPage(newPage, origin, 'fr-FR', 'Élise');
    await page.goto(`${sessionPath}?sort=discover`);
    await page.waitForSelector('.idea-card');
    const current = await page.textContent('nav.sorts a[aria-current=page]');
    assert(current.trim() === 'Découvrir', current);
    const counts = await page.textContent(`.idea-card[data-idea-id="${ideas[0].id}"] .vote-counts`);
    assert(counts.trim() === 'Votez pour voir les résultats', counts);
    await axe(page, 'session-discover-fr');
    await page.context().close();
  });

  await test('the results page shows the method and the fairness report', async () => {
    await admin.call('PATCH', `/jams/${SLUG}`, { voting: { method: 'exposure' } });
    const back = fac.url();
    await fac.goto(`/results/${SLUG}`);
    await fac.waitForSelector('[data-role=fairness] tbody tr');
    const rows = await fac.$$eval('[data-role=fairness] tbody tr', (els) => els.map((e) => e.textContent));
    assert(rows.length === 4, `one line per method: ${rows}`);
    assert(rows.some((r) => r.includes('Exposure') && r.includes('in use')), `the method in use is marked: ${rows}`);
    const method = await fac.textContent('#method-h + p');
    assert(method.includes('people who saw it'), `the exposure method explained: ${method}`);
    await axe(fac, 'results-fairness');
    await shoot(fac, 'results-fairness');
    await fac.goto(back);
  });
}
