// Search and similar ideas (issue 16): the results page pages through every result with "show
// more", facets in the address; the idea form offers similar ideas while typing; the console's
// merge dialog finds the target by title; the moderation view lists likely duplicate pairs. Titles
// typed by participants are shown as text. axe on each page, English and French.

import { test, assert, eventually, Client } from '../lib.mjs';

const SLUG = 'better-offices-2026';
const XSS_TITLE = '<img src=x onerror=alert(9)> lantern';
const LANTERNS = 26;

export default async function searchSuite({ origin, newPage, shoot, axe, state, fac, a, b }) {
  const code = new URL(Object.values(state.invites)[0]).searchParams.get('code');
  const seeder = new Client(origin);
  await seeder.post(`/jams/${SLUG}/join`, { invite_code: code, display_name: 'Lamp Lighter', accept_guidelines: true });
  const posted = [];
  for (let i = 0; i < LANTERNS - 1; i++) {
    posted.push(await seeder.post(`/sessions/${state.sessionId}/ideas`, {
      title: `Paper lanterns ${i}`, body: `Hang lanterns in the hall, row ${i}.`, tags: i % 2 ? ['Lights'] : [],
    }));
  }
  posted.push(await seeder.post(`/sessions/${state.sessionId}/ideas`, { title: XSS_TITLE, body: 'A lantern.' }));

  await test('the search page pages through every result with "show more"', async () => {
    await a.goto(`/j/${SLUG}/search?q=lanterns`);
    await a.waitForSelector('[data-role=search-results] .idea-card');
    await axe(a, 'search-results');
    await shoot(a, 'search-results');
    for (let i = 0; i < 10 && await a.isVisible('[data-role=load-more]'); i++) {
      const before = (await a.$$('[data-role=search-results] .idea-card')).length;
      await a.click('[data-role=load-more]');
      await eventually(async () => (await a.$$('[data-role=search-results] .idea-card')).length > before, { what: 'the next page' });
    }
    const ids = await a.$$eval('[data-role=search-results] .idea-card', (els) => els.map((e) => e.dataset.ideaId));
    assert(ids.length === LANTERNS, `every result once: ${ids.length}`);
    assert(new Set(ids).size === ids.length, 'no result twice');
    for (const p of posted) assert(ids.includes(p.id), `found ${p.title}`);
    const titles = await a.$$eval('[data-role=search-results] .idea-title a', (els) => els.map((e) => e.textContent));
    assert(titles.includes(XSS_TITLE), 'a typed title is text');
    assert(await a.$('[data-role=search-results] img') === null, 'no element from a title');
  });

  await test('facets: a session and one of its top tags narrow the results', async () => {
    await a.goto(`/j/${SLUG}/search?q=lanterns&session=${state.sessionId}`);
    await a.waitForSelector('[data-role=tag-facet][data-key=lights]');
    await a.click('[data-role=tag-facet][data-key=lights]');
    await a.waitForSelector('[data-role=tag-facet][aria-pressed=true]');
    await eventually(async () => (await a.$$('[data-role=search-results] .idea-card')).length > 0, { what: 'tagged results' });
    const n = (await a.$$('[data-role=search-results] .idea-card')).length
      + (await a.isVisible('[data-role=load-more]') ? 1000 : 0);
    assert(n === 12, `12 lanterns carry the tag: ${n}`);
    assert(a.url().includes('tag=lights'), a.url());
    await axe(a, 'search-facets');
  });

  await test('the French search page says "show more" in French', async () => {
    await b.goto(`/j/${SLUG}/search?q=lanternes`);
    await b.waitForSelector('[data-role=search-results] .idea-card');
    const more = await b.textContent('[data-role=load-more]');
    assert(more.includes('Afficher plus'), more);
    await axe(b, 'search-results-fr');
  });

  await test('the idea form offers similar ideas while typing', async () => {
    await a.goto(`/j/${SLUG}/s/${state.sessionId}`);
    await a.waitForSelector('#idea-title');
    await a.fill('#idea-title', 'Bike racks near every office');
    await a.fill('#idea-body', 'Covered racks at the entrance');
    await a.waitForSelector('[data-role=similar-hint] li a');
    const offered = await a.$$eval('[data-role=similar-hint] li a', (els) => els.map((e) => e.textContent));
    assert(offered.includes('Bike racks at every office'), JSON.stringify(offered));
    await axe(a, 'similar-hint');
    await shoot(a, 'similar-hint');
    await a.fill('#idea-title', '');
    await a.fill('#idea-body', '');
  });

  await test('the merge dialog finds its target by title, and duplicates are listed', async () => {
    // A near-duplicate of a lantern idea, flagged so it is in the moderation queue.
    const dup = await seeder.post(`/sessions/${state.sessionId}/ideas`, {
      title: 'Paper lanterns 3', body: 'Hang lanterns in the hall, row 3.',
    });
    const flagger = new Client(origin);
    await flagger.post(`/jams/${SLUG}/join`, { invite_code: code, display_name: 'Flag Person', accept_guidelines: true });
    await flagger.post(`/ideas/${dup.id}/flags`, { reason: 'Posted twice' });
    await fac.goto(`/console/j/${SLUG}`);
    await fac.waitForSelector('.duplicates > button');
    await fac.click('.duplicates > button');
    await fac.waitForSelector(`[data-role=duplicates] li[data-idea-id="${dup.id}"]`);
    await axe(fac, 'console-duplicates');
    await fac.waitForSelector('.mod-item [data-role=merge-search]');
    // The flagged idea's merge search starts from its title (set as the input's value).
    let search = null;
    for (const f of await fac.$$('[data-role=merge-search]')) {
      if (await f.$eval('input', (el) => el.value) === 'Paper lanterns 3') search = f;
    }
    assert(search, 'the flagged idea offers a merge search prefilled with its title');
    await search.$eval('button[type=submit]', (el) => el.click());
    const target = posted[3].id;
    await fac.waitForSelector(`[data-role=merge-into][data-idea-id="${target}"]`);
    await axe(fac, 'console-merge-search');
    await shoot(fac, 'console-merge-search');
    await fac.click(`[data-role=merge-into][data-idea-id="${target}"]`);
    await eventually(async () => (await seeder.get(`/ideas/${dup.id}`)).status === 'merged', { what: 'merged' });
  });
}
