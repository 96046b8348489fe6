// The console dashboard's mood (issue 16): a timeline per session (stacked negative / neutral /
// positive posts per bucket), the negative-mood alert banner (from the API and live on the jam's
// staff topic), and a drill-down to the most negative and most positive threads of a bucket. The
// session and the bucket live in the address (?mood_session=&mood_from=&mood_to=), so a drill-down
// can be linked and reloaded. Titles are users' text: they go in as text nodes only.

import { h, s, replace } from '../dom.js';
import { t, num, dateTime } from '../i18n.js';
import { api, enc, qs } from '../api.js';
import { subscribe } from '../live.js';
import { navigate } from '../router.js';
import { paths } from './common.js';

const LABELS = ['negative', 'neutral', 'positive'];

/** Stacked bars per bucket; each bar a link to its drill-down. */
function moodChart(buckets, { title, href, selected }) {
  const width = 640;
  const height = 160;
  const pad = 24;
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, width: '100%', role: 'group', 'aria-label': title, class: 'chart mood-chart' },
    s('title', {}, title));
  if (buckets.length === 0) {
    svg.setAttribute('viewBox', `0 0 ${width} 40`);
    svg.append(s('text', { x: 0, y: 24, class: 'chart-label' }, t('chart_no_data')));
    return svg;
  }
  const max = Math.max(1, ...buckets.map((b) => b.negative + b.neutral + b.positive));
  const w = (width - pad) / buckets.length;
  buckets.forEach((b, i) => {
    const x = pad + i * w;
    let y = height - pad;
    const link = s('a', {
      href: href(b), class: 'mood-bar', 'data-start': b.start,
      'aria-label': t('mood_bucket', { time: dateTime(b.start), negative: num(b.negative), neutral: num(b.neutral), positive: num(b.positive) }),
    });
    if (selected === b.start) link.setAttribute('aria-current', 'true');
    for (const label of LABELS) {
      const hgt = ((height - 2 * pad) * b[label]) / max;
      y -= hgt;
      if (hgt > 0) link.append(s('rect', { x: x + 0.5, y, width: Math.max(1, w - 1), height: hgt, class: `mood-${label}` }));
    }
    // An empty bucket still has something to focus and click.
    link.append(s('rect', { x, y: pad, width: Math.max(1, w), height: height - 2 * pad, class: 'mood-hit' }));
    svg.append(link);
  });
  svg.append(
    s('line', { x1: pad, y1: height - pad, x2: width, y2: height - pad, class: 'chart-axis' }),
    s('text', { x: 2, y: pad - 6, class: 'chart-value' }, num(max)),
    s('text', { x: 2, y: height - pad + 4, class: 'chart-value' }, '0'),
    s('text', { x: pad, y: height - 6, class: 'chart-value' }, dateTime(buckets[0].start)),
    s('text', { x: width - 4, y: height - 6, class: 'chart-value', 'text-anchor': 'end' }, dateTime(buckets[buckets.length - 1].start)));
  return svg;
}

function threadList(role, heading, threads, slug) {
  return h('div', { class: 'mood-threads', dataset: { role } },
    h('h4', {}, heading),
    threads.length === 0
      ? h('p', { class: 'muted' }, t('mood_no_threads'))
      : h('ol', {}, threads.map((th) => h('li', {},
        h('a', { href: paths.idea(slug, th.id) }, th.title),
        ' ', h('span', { class: 'muted' }, t('mood_thread_meta', { score: num(th.sentiment_score, { maximumFractionDigits: 2 }), comments: num(th.comments) }))))));
}

/** The mood panel of a jam's console: `{ el, destroy }`. */
export function moodPanel(jam) {
  const el = h('div', { class: 'mood', dataset: { role: 'mood' } });
  const banner = h('div', { role: 'status', 'aria-live': 'polite', dataset: { role: 'mood-alert' } });
  const body = h('div', {});
  el.append(banner, body);
  const params = () => new URLSearchParams(location.search);
  const here = (extra) => {
    const p = params();
    for (const [k, v] of Object.entries(extra)) {
      if (v) p.set(k, v); else p.delete(k);
    }
    const q = p.toString();
    return `${location.pathname}${q ? `?${q}` : ''}#c-mood`;
  };

  const showAlert = (alert) => {
    if (alert.active) {
      replace(banner, h('p', { class: 'banner banner-warning' },
        t('mood_alert_banner', { share: num(alert.threshold, { style: 'percent' }), minutes: num(alert.window_minutes), since: dateTime(alert.since) })));
    } else {
      replace(banner);
    }
  };

  async function load() {
    const p = params();
    const session = p.get('mood_session') || '';
    const from = p.get('mood_from') || '';
    const to = p.get('mood_to') || '';
    let mood;
    try {
      mood = await api.get(`/jams/${enc(jam.slug)}/mood${qs({ bucket_minutes: 10, session, from, to })}`);
    } catch (err) {
      replace(body, h('p', { class: 'error', role: 'alert' }, err.message || t('error_generic')));
      return;
    }
    showAlert(mood.alert);
    const picker = h('select', { id: 'mood-session', dataset: { role: 'mood-session' } },
      h('option', { value: '' }, t('mood_all_sessions')),
      (jam.sessions || []).map((x) => h('option', { value: x.id, selected: x.id === session }, x.title)));
    picker.addEventListener('change', () => navigate(here({ mood_session: picker.value, mood_from: '', mood_to: '' })));
    const chart = moodChart(mood.buckets, {
      title: t('mood_chart_title'),
      selected: from,
      href: (b) => here({ mood_from: b.start, mood_to: new Date(Date.parse(b.start) + mood.bucket_minutes * 60000).toISOString() }),
    });
    chart.addEventListener('click', (e) => {
      const a = e.target.closest('a.mood-bar');
      if (!a) return;
      e.preventDefault();
      navigate(a.getAttribute('href'));
    });
    const totals = LABELS.map((l) => mood.buckets.reduce((n, b) => n + b[l], 0));
    replace(body,
      h('p', {}, h('label', { for: 'mood-session' }, t('mood_session')), ' ', picker),
      h('figure', {}, h('figcaption', {}, t('mood_chart_title')), chart),
      h('p', { class: 'mood-legend' }, LABELS.map((l, i) => h('span', { class: `legend-${l}` }, t(`mood_${l}`, { n: num(totals[i]) }), ' '))),
      h('h3', {}, from ? t('mood_window', { from: dateTime(from), to: dateTime(to || from) }) : t('mood_whole_jam')),
      from ? h('p', {}, h('a', { href: here({ mood_from: '', mood_to: '' }), dataset: { role: 'mood-clear' } }, t('mood_clear_window'))) : '',
      h('div', { class: 'mood-drill' },
        threadList('mood-negative', t('mood_most_negative'), mood.most_negative, jam.slug),
        threadList('mood-positive', t('mood_most_positive'), mood.most_positive, jam.slug)));
  }

  const stop = subscribe(`staff:${jam.id}`, (msg) => {
    if (msg.type === 'event' && msg.event.kind === 'mood.alert') {
      showAlert({ active: true, threshold: msg.event.threshold, window_minutes: msg.event.window_minutes, since: msg.event.at });
    }
  });
  const timer = setInterval(load, 60000);
  load();
  return { el, reload: load, destroy() { stop(); clearInterval(timer); } };
}
