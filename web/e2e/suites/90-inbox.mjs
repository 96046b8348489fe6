// The inbox: following an idea, the @name picker, a reply reaching the author's inbox live (the
// header's unread badge, then the inbox page), marking read, and a follower's entry in French;
// user text stays text; axe clean.

import { test, assert, eventually } from '../lib.mjs';

const SLUG = 'better-offices-2026';

export default async function inbox({ state, a, b, axe, shoot }) {
  const back = [a.url(), b.url()];
  const idea = `/j/${SLUG}/i/${state.ideaId}`;

  await test('an author follows their idea; another participant follows it with one click', async () => {
    await a.goto(idea);
    await eventually(async () => (await a.textContent('[data-role=follow]'))?.trim() === 'Unfollow',
      { what: 'A (the author) follows her idea' });
    await b.goto(idea);
    await eventually(async () => (await b.textContent('[data-role=follow]'))?.trim() === 'Suivre', { what: 'B does not follow yet' });
    await b.click('[data-role=follow]');
    await eventually(async () => (await b.getAttribute('[data-role=follow]', 'aria-pressed')) === 'true', { what: 'B follows' });
    assert((await b.textContent('[data-role=follow]')).trim() === 'Ne plus suivre', 'French unfollow label');
  });

  await test('the @name picker completes a name, and the reply reaches the author live', async () => {
    await eventually(() => a.$('#conn[data-state=live]'), { what: 'A live' });
    await eventually(() => a.$('[data-role=inbox-link]'), { what: 'A has an inbox link' });
    const before = Number((await a.textContent('[data-role=unread-badge]')) || 0);
    await b.click('#comment-body');
    await b.keyboard.type('Merci @Ali');
    await b.waitForSelector('.mention-option[data-name="Alice"]', { timeout: 3000 });
    assert(await b.getAttribute('#comment-body', 'aria-activedescendant'), 'the first name is the active option');
    await axe(b, 'mention-picker');
    await b.keyboard.press('Enter');
    assert((await b.inputValue('#comment-body')) === 'Merci @Alice ', `picked: ${await b.inputValue('#comment-body')}`);
    await b.keyboard.type('<b>bravo</b>');
    const t0 = Date.now();
    await b.click('form:has(#comment-body) button[type=submit]');
    await eventually(async () => Number((await a.textContent('[data-role=unread-badge]')) || 0) === before + 1,
      { what: "A's unread badge goes up", timeout: 2000 });
    console.log(`     A's badge counted the reply ${Date.now() - t0} ms after B clicked Send`);
    await a.click('[data-role=inbox-link]');
    await a.waitForSelector('.inbox-item');
    const first = (await a.textContent('.inbox-item:first-child')).replace(/\s+/g, ' ');
    assert(first.includes('Bérénice replied on “Bike racks at every office”'), first);
    assert(first.includes('Merci @Alice <b>bravo</b>'), `the reply's text, as text: ${first}`);
    assert(!(await a.$('.inbox-item b')), 'no markup from user text');
    await axe(a, 'inbox');
    await shoot(a, 'inbox');
  });

  await test('marking all as read empties the count and the badge', async () => {
    await a.click('text=Mark all as read');
    await eventually(async () => (await a.textContent('[data-role=unread]'))?.trim() === '0 unread', { what: '0 unread' });
    assert(!(await a.$('.inbox-item.unread')), 'no unread item left');
    assert(await a.isHidden('[data-role=unread-badge]'), 'the badge is hidden');
  });

  await test('a follower reads activity on the idea in French', async () => {
    await a.goto(idea);
    await a.waitForSelector('#comment-body');
    await a.fill('#comment-body', 'Thanks, noted.');
    await a.click('form:has(#comment-body) button[type=submit]');
    await b.goto(`/j/${SLUG}/inbox`);
    await eventually(async () => (await b.textContent('.inbox-item:first-child'))?.includes('Alice a commenté « Bike racks at every office », que vous suivez'),
      { what: "B's follow entry in French" });
    assert((await b.textContent('h1')).trim() === 'Boîte de réception', 'French heading');
    await axe(b, 'inbox-fr');
  });

  await a.goto(back[0]);
  await b.goto(back[1]);
}
