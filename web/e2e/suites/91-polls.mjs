// Quick polls on a session page: the facilitator asks, a participant sees the poll arrive live and
// answers once, the facilitator's results update live; English and French; axe clean.

import { test, assert, eventually } from '../lib.mjs';

const SLUG = 'better-offices-2026';

export default async function polls({ state, fac, a, b, axe, shoot }) {
  const back = [fac.url(), a.url(), b.url()];
  const session = `/j/${SLUG}/s/${state.sessionId}`;

  await test('a facilitator asks a poll and participants see it arrive live', async () => {
    for (const p of [a, b]) {
      await p.goto(session);
      await p.waitForSelector('#polls-title');
      await eventually(() => p.$('#conn[data-state=live]'), { what: 'live on the session' });
    }
    assert((await b.textContent('#polls-title')).trim() === 'Sondages éclair', 'French polls heading');
    await fac.goto(session);
    await fac.waitForSelector('#poll-question');
    await fac.fill('#poll-question', 'Which floor for the <b>bike</b> room?');
    await fac.fill('#poll-option-0', 'Ground floor');
    await fac.fill('#poll-option-1', 'Basement');
    await fac.click('form:has(#poll-question) button[type=submit]');
    await fac.waitForSelector('.poll h3');
    await axe(fac, 'polls-facilitator');
    await eventually(async () => (await a.textContent('.poll h3'))?.includes('Which floor for the <b>bike</b> room?'),
      { what: 'A sees the poll live, as text' });
    assert(!(await a.$('.poll h3 b')), 'the question is not markup');
    await eventually(() => b.$('.poll input[type=radio]'), { what: 'B sees the poll live' });
  });

  await test('a participant answers once and the results reach the facilitator live', async () => {
    await a.check('.poll input[type=radio][value="1"]');
    await a.click('.poll-form button[type=submit]');
    await a.waitForSelector('.poll-results');
    assert((await a.textContent('.poll-results li[data-option="1"]')).includes('1 answer (100%)'), await a.textContent('.poll-results'));
    assert(!(await a.$('.poll-form')), 'no second answer offered');
    await axe(a, 'polls-answered');
    await shoot(a, 'polls');
    await eventually(async () => (await fac.textContent('.poll-results li[data-option="1"]'))?.includes('1 answer'),
      { what: "the facilitator's results update live" });
  });

  await fac.goto(back[0]);
  await a.goto(back[1]);
  await b.goto(back[2]);
}
