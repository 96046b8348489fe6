// Themes and hot topics (issue 16): ideas on four topics, seeded through the API, form themes at
// the next run of the re-clustering job (the e2e server runs it every 2 s:
// JAM__PULSE__THEMES_EVERY_SECS in lib.mjs); the lobby lists the hot topics, each linking to its
// theme's page, which lists the theme's ideas; a new idea joins its theme by the next run. Theme
// labels are participants' words, shown as text. axe on each page, English and French.

import { test, assert, eventually, Client } from '../lib.mjs';

const SLUG = 'better-offices-2026';

// Four topics, ten ideas each; every idea reuses the topic's words so the topics separate.
const TOPICS = [
  ['canteen', 'lunch', 'menu', 'vegetarian', 'queue'],
  ['bicycle', 'parking', 'shower', 'racks', 'commute'],
  ['meeting', 'agenda', 'minutes', 'rooms', 'shorter'],
  ['printer', 'toner', 'scanner', 'paper', 'jam'],
];

function idea(topic, i) {
  const w = TOPICS[topic];
  return {
    title: `${w[i % 5]} ${w[(i + 1) % 5]} ${w[(i + 2) % 5]}`,
    body: `More ${w[(i + 3) % 5]} and ${w[(i + 4) % 5]}, better ${w[i % 5]} for everyone (${topic}.${i}).`,
  };
}

export default async function themesSuite({ origin, shoot, axe, state, a, b }) {
  const code = new URL(Object.values(state.invites)[0]).searchParams.get('code');
  const seeder = new Client(origin);
  await seeder.post(`/jams/${SLUG}/join`, { invite_code: code, display_name: 'Theo Mes', accept_guidelines: true });
  for (let i = 0; i < 10; i++) {
    for (let topic = 0; topic < TOPICS.length; topic++) {
      await seeder.post(`/sessions/${state.sessionId}/ideas`, idea(topic, i));
    }
  }
  const themes = async () => (await seeder.get(`/jams/${SLUG}/themes`)).themes;
  const bikeTheme = (list) => list.find((x) => x.label.some((term) => /bicycl|parking|shower|racks|commut/i.test(term)));
  const { value: formed } = await eventually(async () => {
    const list = await themes();
    return list.length >= 3 && bikeTheme(list) ? list : null;
  }, { timeout: 30000, every: 250, what: 'themes from the seeded ideas' });

  await test('the lobby lists the hot topics, each linking to its theme', async () => {
    await a.goto(`/j/${SLUG}`);
    await a.waitForSelector('[data-role=hot-topics] li a');
    const labels = await a.$$eval('[data-role=hot-topics] li a', (els) => els.map((e) => e.textContent));
    assert(labels.length >= 3, `hot topics: ${labels}`);
    const bikes = bikeTheme(formed);
    assert(labels.includes(bikes.label.join(' · ')), `the bikes' theme is listed: ${labels}`);
    assert(await a.$('[data-role=hot-topics] [data-trend]'), 'each topic shows its trend');
    assert(await a.$('[data-role=hot-topics] img') === null, 'no element from a label');
    await axe(a, 'lobby-hot-topics');
    await shoot(a, 'lobby-hot-topics');
  });

  await test('a hot topic opens its theme page, which lists its ideas', async () => {
    const bikes = bikeTheme(formed);
    await a.click(`[data-role=hot-topics] li[data-theme-id="${bikes.id}"] a`);
    await eventually(async () => a.url().includes(`/j/${SLUG}/t/${bikes.id}`), { what: 'the theme page' });
    await a.waitForSelector('[data-role=theme-ideas] .idea-card');
    const heading = await a.textContent('h1');
    assert(heading.includes(bikes.label[0]), `heading names the theme: ${heading}`);
    const titles = await a.$$eval('[data-role=theme-ideas] .idea-title a', (els) => els.map((e) => e.textContent));
    assert(titles.length >= 5, `the theme's ideas: ${titles}`);
    assert(titles.every((x) => /bicycle|parking|shower|racks|commute/.test(x)), `only bike ideas: ${titles}`);
    await axe(a, 'theme-page');
    await shoot(a, 'theme-page');
  });

  await test('a new idea gets its theme by the next run and shows on the theme page', async () => {
    const bikes = bikeTheme(formed);
    const posted = await seeder.post(`/sessions/${state.sessionId}/ideas`,
      { title: 'bicycle parking racks near the shower', body: 'A commute by bicycle needs parking racks and a shower.' });
    await eventually(async () => {
      const page = await seeder.get(`/jams/${SLUG}/themes/${bikes.id}/ideas?limit=5`);
      return page.items.some((i) => i.id === posted.id);
    }, { timeout: 30000, every: 250, what: 'the new idea in the bikes theme' });
    await a.reload();
    await a.waitForSelector(`[data-role=theme-ideas] .idea-card[data-idea-id="${posted.id}"]`);
  });

  await test('the lobby follows each run live: a theme that grew shows its new size without a reload', async () => {
    const bikes = bikeTheme(formed);
    const item = `[data-role=hot-topics] li[data-theme-id="${bikes.id}"]`;
    await a.goto(`/j/${SLUG}`);
    await a.waitForSelector(item);
    const before = await a.textContent(item);
    for (let i = 0; i < 3; i++) {
      await seeder.post(`/sessions/${state.sessionId}/ideas`,
        { title: `bicycle racks and parking ${i}`, body: `Bicycle parking racks, a shower after the commute (${i}).` });
    }
    // Well inside the lobby's 30 s refetch timer: only the run's `themes.updated` event explains it.
    await eventually(async () => (await a.textContent(item)) !== before,
      { timeout: 15000, every: 200, what: 'the grown theme in the lobby' });
  });

  await test('hot topics and the theme page work in French', async () => {
    await b.goto(`/j/${SLUG}`);
    await b.waitForSelector('[data-role=hot-topics] li a');
    assert((await b.textContent('#l-hot')).trim() === 'Sujets chauds', 'French heading');
    await axe(b, 'lobby-hot-topics-fr');
    await b.click('[data-role=hot-topics] li a');
    await b.waitForSelector('[data-role=theme-ideas] .idea-card');
    assert((await b.textContent('h1')).startsWith('Thème'), 'French theme heading');
    await axe(b, 'theme-page-fr');
    await shoot(b, 'theme-page-fr');
  });
}
