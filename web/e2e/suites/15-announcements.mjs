// Announcement history on the lobby: what was announced before a participant arrived is listed
// newest first, a new one joins the list live, user text stays text, in English and French.

import { test, assert, eventually } from '../lib.mjs';

const SLUG = 'better-offices-2026';

export default async function announcements({ fac, a, b, axe, shoot }) {
  // Sent from the facilitator's page, so the request carries its cookie and the app's Origin.
  const send = (text) => fac.evaluate(async ([slug, body]) => {
    const r = await fetch(`/api/v1/jams/${slug}/announcements`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: body }),
    });
    return r.status;
  }, [SLUG, text]);

  await test('the lobby lists earlier announcements and adds a new one live, as text', async () => {
    const back = [a.url(), b.url()];
    assert(await send('Coffee in the atrium at 10') === 201, 'first announcement sent');
    await a.goto(`/j/${SLUG}`);
    await eventually(async () => (await a.textContent('.announcements'))?.includes('Coffee in the atrium at 10'),
      { what: 'the earlier announcement in the history' });
    const before = await a.$$eval('.announcements li', (els) => els.length);
    await eventually(() => a.$('#conn[data-state=live]'), { what: 'A live on the lobby' });
    const xss = '<img src=x onerror=alert(1)> second';
    assert(await send(xss) === 201, 'second announcement sent');
    await eventually(async () => (await a.textContent('.announcements li:first-child'))?.includes(xss),
      { what: 'the new announcement first in the list' });
    assert(await a.$$eval('.announcements li', (els) => els.length) === before + 1, 'exactly one more item');
    assert(!(await a.$('.announcements img')), 'announcement text is not markup');
    await axe(a, 'lobby-announcements');
    await shoot(a, 'lobby-announcements');

    await b.goto(`/j/${SLUG}`);
    await eventually(async () => (await b.textContent('#l-announcements'))?.trim() === 'Annonces', { what: 'French heading' });
    await eventually(async () => (await b.$$eval('.announcements li', (els) => els.length)) === before + 1,
      { what: 'B reads the same history' });
    await a.goto(back[0]);
    await b.goto(back[1]);
  });
}
