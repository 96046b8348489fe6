// Themes (issue 16): the lobby's hot topics (the jam's themes, hottest first, with their trend) and a
// theme's page `/j/{slug}/t/{id}` listing its ideas, newest first, "Show more" following the
// server's cursor. Theme labels are computed from participants' words, so they go in as text.

import { h, replace } from '../dom.js';
import { t, num } from '../i18n.js';
import { api, me, enc, qs } from '../api.js';
import { page, errorBox, errorPage, paths } from './common.js';
import { ideaCard } from './idea_card.js';
import { subscribe } from '../live.js';

const HOT = 5;
const PAGE = 20;
/** How often the lobby refetches the hot topics (the themes are recomputed every few minutes). */
const REFRESH_MS = 30000;

export const themePath = (slug, id) => `/j/${encodeURIComponent(slug)}/t/${id}`;

/** The theme's label: its terms, most distinctive first. */
export function themeLabel(theme) {
  return theme.label.length ? theme.label.join(' · ') : t('theme_unlabelled');
}

function trendBadge(trend) {
  const arrow = trend === 'rising' ? '↑' : trend === 'falling' ? '↓' : '→';
  return h('span', { class: `badge trend trend-${trend}`, dataset: { trend } },
    h('span', { 'aria-hidden': 'true' }, arrow), ' ', t(`trend_${trend}`));
}

/** The lobby's hot topics section: `{el, destroy}`. Refetched when a run ends (`themes.updated`
 *  on the jam's topic) and on a timer, for runs a lost connection missed. */
export function hotTopics(slug, jamId) {
  const list = h('ol', { class: 'hot-topics', dataset: { role: 'hot-topics' } });
  const empty = h('p', { class: 'muted', dataset: { role: 'hot-topics-empty' } }, t('hot_topics_none'));
  const windowNote = h('p', { class: 'muted' });
  async function load() {
    try {
      const view = await api.get(`/jams/${enc(slug)}/themes`);
      const top = view.themes.slice(0, HOT);
      windowNote.textContent = t('hot_topics_window', { minutes: view.window_minutes });
      empty.hidden = top.length > 0;
      replace(list, top.map((theme) => h('li', { dataset: { themeId: theme.id } },
        h('a', { href: themePath(slug, theme.id) }, themeLabel(theme)), ' ',
        trendBadge(theme.trend), ' ',
        h('span', { class: 'muted' }, t('theme_size', { count: theme.size }), ' · ',
          t('hot_activity', { ideas: num(theme.activity.ideas), comments: num(theme.activity.comments), votes: num(theme.activity.votes) })))));
    } catch { /* keep what we show */ }
  }
  load();
  const timer = setInterval(load, REFRESH_MS);
  const stop = subscribe(`jam:${jamId}`, (msg) => {
    if (msg.type === 'event' && msg.event.kind === 'themes.updated') load();
  });
  const el = h('section', { 'aria-labelledby': 'l-hot', class: 'card' },
    h('h2', { id: 'l-hot' }, t('hot_topics_title')), windowNote, empty, list);
  return { el, destroy() { clearInterval(timer); stop(); } };
}

/** `/j/{slug}/t/{id}`: one theme and its ideas. */
export async function themeView({ slug, id }) {
  let view;
  let who;
  try {
    [view, who] = await Promise.all([api.get(`/jams/${enc(slug)}/themes`), me().catch(() => null)]);
  } catch (err) {
    return errorPage(err);
  }
  const theme = view.themes.find((x) => x.id === id);
  if (!theme) {
    const el = page(t('theme_gone_title'), h('p', {}, t('theme_gone')),
      h('p', {}, h('a', { href: paths.lobby(slug) }, t('back_to_jam'))));
    return { el, title: t('theme_gone_title') };
  }
  const isStaff = who?.kind === 'staff';
  const title = t('theme_title', { label: themeLabel(theme) });
  const list = h('div', { class: 'ideas', dataset: { role: 'theme-ideas' } });
  const more = h('button', { type: 'button', hidden: true, dataset: { role: 'load-more' } }, t('theme_more'));
  const failure = h('div');
  let cursor = null;
  async function load() {
    more.disabled = true;
    try {
      const p = await api.get(`/jams/${enc(slug)}/themes/${enc(id)}/ideas${qs({ cursor, limit: PAGE })}`);
      for (const idea of p.items) list.append(ideaCard(slug, idea, { canVote: false, isStaff }).el);
      cursor = p.next_cursor;
      more.hidden = !cursor;
      replace(failure);
    } catch (err) {
      replace(failure, errorBox(err));
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', load);
  await load();
  const el = page(title,
    h('p', {}, h('a', { href: paths.lobby(slug) }, t('back_to_jam'))),
    h('p', { class: 'lead' }, trendBadge(theme.trend), ' ', t('theme_size', { count: theme.size }), ' · ',
      t('hot_activity', { ideas: num(theme.activity.ideas), comments: num(theme.activity.comments), votes: num(theme.activity.votes) })),
    h('h2', {}, t('theme_ideas')), failure, list, more);
  return { el, title };
}
