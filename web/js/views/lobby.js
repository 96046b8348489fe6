// The jam lobby `/j/{slug}`: sessions with state and countdown, announcements, people online,
// a live ticker of new ideas, and the hot topics (themes by recent activity, `themes.js`).

import { h, replace, announce } from '../dom.js';
import { t, dateTime, countdown } from '../i18n.js';
import { navigate } from '../router.js';
import { api, enc } from '../api.js';
import { subscribe } from '../live.js';
import { page, errorPage, paths, stateBadge, skewFrom } from './common.js';
import { hotTopics } from './themes.js';

const TICKER = 6;

export async function lobbyView({ slug }) {
  let jam;
  try {
    jam = await api.get(`/jams/${enc(slug)}`);
  } catch (err) {
    if (err.status === 401 || err.status === 404) {
      const r = errorPage(err);
      r.el.append(h('p', {}, t('need_invite')));
      return r;
    }
    return errorPage(err);
  }
  let skew = skewFrom(jam.now);
  const banner = h('div', { class: 'announcement', role: 'status', 'aria-live': 'polite', hidden: true });
  const online = h('p', { class: 'online', 'aria-live': 'off' });
  const jamState = h('span');
  const list = h('ul', { class: 'sessions' });
  const ticker = h('ol', { class: 'ticker', 'aria-live': 'polite', 'aria-relevant': 'additions' });
  // Announcement history: what was announced before this visitor arrived, newest first.
  const history = h('ol', { class: 'announcements' });
  const historyEmpty = h('p', { class: 'muted' }, t('announcements_none'));
  const historyMore = h('button', { type: 'button', hidden: true }, t('announcements_more'));
  let historyCursor = null;
  const historyItem = (a) => h('li', { dataset: { announcementId: a.id } },
    h('time', { datetime: a.created_at, class: 'muted' }, dateTime(a.created_at)), ' ', h('span', { class: 'prewrap' }, a.text));
  async function loadHistory() {
    try {
      const q = historyCursor ? `?cursor=${enc(historyCursor)}` : '';
      const pageOf = await api.get(`/jams/${enc(slug)}/announcements${q}`);
      for (const a of pageOf.items) {
        if (!history.querySelector(`[data-announcement-id="${a.id}"]`)) history.append(historyItem(a));
      }
      historyCursor = pageOf.next_cursor;
      historyMore.hidden = !historyCursor;
      historyEmpty.hidden = history.children.length > 0;
    } catch { /* the live banner still works */ }
  }
  historyMore.addEventListener('click', loadHistory);
  const tickerEmpty = h('p', { class: 'muted' }, t('ticker_empty'));
  const countdowns = [];

  function paintSessions() {
    countdowns.length = 0;
    replace(jamState, stateBadge('jam', jam.state));
    replace(list, jam.sessions.map((s) => {
      const cd = h('span', { class: 'countdown' });
      countdowns.push({ s, cd });
      return h('li', { class: 'session-row', dataset: { sessionId: s.id } },
        h('h3', {}, h('a', { href: paths.session(slug, s.id) }, s.title), ' ', stateBadge('session', s.state)),
        s.description ? h('p', {}, s.description) : null,
        h('p', { class: 'muted' }, dateTime(s.opens_at), ' → ', dateTime(s.closes_at)),
        h('p', {}, cd));
    }));
    tick();
  }

  function tick() {
    const now = Date.now() + skew;
    for (const { s, cd } of countdowns) {
      if (s.state === 'scheduled') cd.textContent = t('opens_in', { time: countdown(new Date(s.opens_at) - now) });
      else if (s.state === 'open') cd.textContent = t('closes_in', { time: countdown(new Date(s.closes_at) - now) });
      else cd.textContent = '';
    }
  }

  async function refetch() {
    try { jam = await api.get(`/jams/${enc(slug)}`); skew = skewFrom(jam.now); paintSessions(); } catch { /* keep what we show */ }
  }

  function addTicker(idea) {
    tickerEmpty.hidden = true;
    ticker.prepend(h('li', {}, h('a', { href: paths.idea(slug, idea.id) }, idea.title), ' — ',
      h('span', { class: 'muted' }, idea.author.display_name)));
    while (ticker.children.length > TICKER) ticker.lastElementChild.remove();
  }

  const stop = subscribe(`jam:${jam.id}`, (msg) => {
    if (msg.type === 'presence') online.textContent = t('online_now', { count: msg.online });
    else if (msg.type === 'resync') refetch();
    else if (msg.type === 'event') {
      const ev = msg.event;
      if (ev.kind === 'announcement') {
        banner.hidden = false;
        replace(banner, h('strong', {}, t('announcement')), ' ', ev.text);
        if (!history.querySelector(`[data-announcement-id="${ev.id}"]`)) {
          history.prepend(historyItem({ id: ev.id, text: ev.text, created_at: ev.created_at }));
          historyEmpty.hidden = true;
        }
      } else if (ev.kind === 'idea.created') addTicker(ev.idea);
      else if (ev.kind === 'session.opened' || ev.kind === 'session.closed') {
        const s = jam.sessions.find((x) => x.id === ev.session_id);
        if (s) { s.state = ev.state; paintSessions(); announce(`${s.title}: ${t(`session_state_${s.state}`)}`); }
        else refetch();
      } else if (ev.kind === 'jam.state') { jam.state = ev.state; paintSessions(); }
    }
  });
  const timer = setInterval(tick, 1000);
  paintSessions();
  loadHistory();
  online.textContent = t('online_unknown');

  const search = h('form', { class: 'search-form', role: 'search', action: paths.search(slug) },
    h('label', { for: 'lobby-q' }, t('search_label')),
    h('input', { id: 'lobby-q', name: 'q', type: 'search' }),
    h('button', { type: 'submit' }, t('search')));
  search.addEventListener('submit', (e) => {
    e.preventDefault();
    navigate(paths.search(slug, search.elements.q.value.trim()));
  });

  const hot = hotTopics(slug, jam.id);
  const el = page(jam.title,
    h('p', { class: 'lead' }, jamState, ' ', t('jam_schedule', { start: dateTime(jam.starts_at), end: dateTime(jam.ends_at) })),
    banner, online,
    jam.description ? h('p', { class: 'prewrap' }, jam.description) : null,
    search,
    h('div', { class: 'two-col' },
      h('section', { 'aria-labelledby': 'l-sessions' }, h('h2', { id: 'l-sessions' }, t('sessions')), list),
      h('section', { 'aria-labelledby': 'l-ticker', class: 'card' },
        h('h2', { id: 'l-ticker' }, t('ticker_title')), tickerEmpty, ticker)),
    hot.el,
    h('section', { 'aria-labelledby': 'l-announcements' },
      h('h2', { id: 'l-announcements' }, t('announcements_title')), historyEmpty, history, historyMore),
    h('details', { class: 'guidelines' }, h('summary', {}, t('guidelines')),
      h('p', { class: 'prewrap' }, jam.guidelines || t('guidelines_none'))));
  return { el, title: jam.title, destroy() { stop(); clearInterval(timer); hot.destroy(); } };
}
