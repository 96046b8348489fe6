// Executive results `/results/{slug}`: the ranked shortlist with score bars and the per-audience
// breakdown, the method in plain words with the digest, downloads, and a print layout (print.css).

import { h, s } from '../dom.js';
import { t, num, dateTime } from '../i18n.js';
import { api, me, enc } from '../api.js';
import { navigate } from '../router.js';
import { page, errorBox, errorPage, paths, stateBadge } from './common.js';

function scoreBar(score, label) {
  const w = Math.max(0, Math.min(1, score)) * 200;
  return s('svg', { viewBox: '0 0 200 14', width: 200, height: 14, role: 'img', 'aria-label': label, class: 'score-bar' },
    s('rect', { x: 0, y: 0, width: 200, height: 14, rx: 3, class: 'score-bg' }),
    s('rect', { x: 0, y: 0, width: w, height: 14, rx: 3, class: 'score-fg' }));
}

export async function resultsView({ slug }) {
  const who = await me().catch(() => null);
  if (!who) { navigate('/console', { replace: true }); return { el: h('div') }; }
  let jam;
  try { jam = await api.get(`/jams/${enc(slug)}`); } catch (err) { return errorPage(err); }
  let body;
  try {
    const sl = await api.get(`/jams/${enc(slug)}/shortlist`);
    const audiences = [...new Set(sl.items.flatMap((it) => Object.keys(it.by_audience || {})))].sort();
    body = [
      h('p', {}, stateBadge('shortlist', sl.state), ' ',
        sl.computed_at ? t('computed_at', { time: dateTime(sl.computed_at) }) : ''),
      h('div', { class: 'table-wrap', role: 'region', tabindex: '0', 'aria-label': t('shortlist_caption', { count: sl.items.length }) }, h('table', { class: 'table results' },
        h('caption', {}, t('shortlist_caption', { count: sl.items.length })),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, t('rank')), h('th', { scope: 'col' }, t('idea')), h('th', { scope: 'col' }, t('score')),
          h('th', { scope: 'col' }, t('votes_up_down')), h('th', { scope: 'col' }, t('voters')),
          audiences.map((a) => h('th', { scope: 'col' }, a)))),
        h('tbody', {}, sl.items.map((it) => h('tr', {},
          h('td', {}, num(it.rank)),
          h('th', { scope: 'row' }, it.idea.title, h('br'), h('span', { class: 'muted' }, it.idea.author?.display_name || '')),
          h('td', {}, scoreBar(it.score, num(it.score, { maximumFractionDigits: 3 })), ' ', num(it.score, { maximumFractionDigits: 3 })),
          h('td', {}, t('vote_counts', { up: it.up, down: it.down })),
          h('td', {}, num(it.voters ?? 0)),
          audiences.map((a) => h('td', {}, it.by_audience?.[a] ? t('vote_counts', it.by_audience[a]) : '—'))))))),
      h('section', { 'aria-labelledby': 'method-h', class: 'card' },
        h('h2', { id: 'method-h' }, t('method_title')),
        h('p', {}, t(`method_explain_${sl.method}`)),
        h('p', {}, t('method_ties')),
        h('p', {}, t('digest_label'), ' ', h('code', { class: 'digest' }, sl.digest || '—')),
        h('p', { class: 'muted' }, t('digest_explain'))),
      sl.fairness?.length ? h('section', { 'aria-labelledby': 'fairness-h', class: 'card', dataset: { role: 'fairness' } },
        h('h2', { id: 'fairness-h' }, t('fairness_title')),
        h('p', {}, t('fairness_explain')),
        h('div', { class: 'table-wrap', role: 'region', tabindex: '0', 'aria-labelledby': 'fairness-h' }, h('table', { class: 'table' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('fairness_method')), h('th', { scope: 'col' }, t('fairness_rho')))),
          h('tbody', {}, sl.fairness.map((line) => h('tr', { 'aria-current': line.method === sl.method ? 'true' : null },
            h('th', { scope: 'row' }, t(`method_name_${line.method}`), line.method === sl.method ? ` (${t('fairness_in_use')})` : ''),
            h('td', {}, num(line.rank_post_time, { minimumFractionDigits: 2, maximumFractionDigits: 2 })))))))) : null,
    ];
  } catch (err) {
    body = [err.status === 404 ? h('p', { class: 'muted' }, t('shortlist_unavailable')) : errorBox(err)];
  }
  const downloads = h('p', { class: 'downloads no-print' }, ['csv', 'xlsx', 'json'].map((ext) =>
    h('a', { href: `/api/v1/jams/${enc(slug)}/results.${ext}`, class: 'button', download: `${slug}-results.${ext}` },
      t('download', { format: ext.toUpperCase() }))));
  const el = page(t('results_title', { title: jam.title }),
    h('p', { class: 'no-print' }, h('a', { href: paths.console() }, t('back_to_console'))),
    downloads, ...body);
  return { el, title: t('results_title', { title: jam.title }) };
}
