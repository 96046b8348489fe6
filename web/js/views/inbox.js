// The inbox `/j/{slug}/inbox`: replies, mentions, activity on followed ideas, decisions on my ideas
// and announcements, newest first, unread ones marked; new entries arrive live (`me:{id}`, and
// announcements on `jam:{id}`); "Mark all as read" moves the read mark.

import { h, replace, announce } from '../dom.js';
import { t, dateTime } from '../i18n.js';
import { api, me, enc, ApiError } from '../api.js';
import { subscribe } from '../live.js';
import { page, errorPage, errorBox, paths, busy } from './common.js';

/** The sentence an entry shows, in the current language. */
export function entryText(n) {
  return t(`inbox_${n.kind}`, { name: n.actor || '', title: n.idea_title || '' });
}

export async function inboxView({ slug }) {
  let jam; let who; let first;
  try {
    [jam, who] = await Promise.all([api.get(`/jams/${enc(slug)}`), me()]);
    // The inbox is a participant's, on their own jam's pages.
    if (who?.kind !== 'participant' || who.jam_id !== jam.id) return errorPage(new ApiError(403, null));
    first = await api.get('/me/notifications');
  } catch (err) {
    return errorPage(err);
  }
  let unread = first.unread;
  let cursor = first.next_cursor;
  const list = h('ol', { class: 'inbox', 'aria-live': 'polite', 'aria-relevant': 'additions' });
  const empty = h('p', { class: 'muted' }, t('inbox_empty'));
  const count = h('p', { class: 'inbox-count', dataset: { role: 'unread' } });
  const more = h('button', { type: 'button' }, t('inbox_more'));
  const markAll = h('button', { type: 'button', class: 'primary' }, t('inbox_mark_read'));
  const status = h('div');

  function paintCount() {
    count.textContent = t('inbox_unread', { count: unread });
    markAll.disabled = unread === 0;
    empty.hidden = list.children.length > 0;
    more.hidden = !cursor;
  }

  function item(n) {
    const link = n.idea_id ? h('a', { href: paths.idea(slug, n.idea_id) }, entryText(n)) : h('strong', {}, entryText(n));
    return h('li', { class: ['inbox-item', n.read ? 'read' : 'unread'], dataset: { id: n.id, kind: n.kind } },
      n.read ? null : h('span', { class: 'badge badge-unread' }, t('inbox_new')), ' ', link,
      n.text ? h('p', { class: 'prewrap inbox-text' }, n.text) : null,
      h('p', { class: 'muted' }, h('time', { datetime: n.created_at }, dateTime(n.created_at))));
  }

  function add(n, { prepend = false } = {}) {
    if (list.querySelector(`[data-id="${n.id}"]`)) return false;
    if (prepend) list.prepend(item(n)); else list.append(item(n));
    return true;
  }

  for (const n of first.items) add(n);
  more.addEventListener('click', async () => {
    busy(more, true);
    try {
      const next = await api.get(`/me/notifications?cursor=${enc(cursor)}`);
      for (const n of next.items) add(n);
      cursor = next.next_cursor;
    } catch (err) { status.replaceChildren(errorBox(err)); }
    busy(more, false);
    paintCount();
  });
  markAll.addEventListener('click', async () => {
    busy(markAll, true);
    try {
      const newest = list.firstElementChild?.dataset.id;
      const r = await api.post('/me/notifications/read', newest ? { up_to: newest } : {});
      unread = r.unread;
      for (const li of list.querySelectorAll('.unread')) {
        li.classList.replace('unread', 'read');
        li.querySelector('.badge-unread')?.remove();
      }
      announce(t('inbox_marked'));
      document.dispatchEvent(new CustomEvent('openjam:unread', { detail: unread }));
    } catch (err) { status.replaceChildren(errorBox(err)); }
    busy(markAll, false);
    paintCount();
  });

  function arrived(n) {
    if (add(n, { prepend: true })) {
      unread += 1;
      paintCount();
      announce(entryText(n));
    }
  }
  async function refetch() {
    try {
      const fresh = await api.get('/me/notifications');
      for (const n of [...fresh.items].reverse()) add(n, { prepend: true });
      unread = fresh.unread;
      paintCount();
    } catch { /* keep what we show */ }
  }
  const stopMe = subscribe(`me:${who.id}`, (msg) => {
    if (msg.type === 'event' && msg.event.kind === 'notification') arrived(msg.event.notification);
    else if (msg.type === 'resync') refetch();
  });
  const stopJam = subscribe(`jam:${jam.id}`, (msg) => {
    if (msg.type === 'event' && msg.event.kind === 'announcement') {
      const ev = msg.event;
      arrived({ id: ev.id, jam_id: ev.jam_id, kind: 'announcement', text: ev.text, created_at: ev.created_at, read: false });
    }
  });
  paintCount();

  const el = page(t('inbox_title'),
    h('p', { class: 'crumbs' }, h('a', { href: paths.lobby(slug) }, jam.title)),
    count, h('p', {}, markAll), status, empty, list, h('p', {}, more));
  return { el, title: t('inbox_title'), destroy() { stopMe(); stopJam(); } };
}
