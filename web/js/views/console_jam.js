// Running one jam `/console/j/{slug}`: schedule, audiences and invite links, sessions (add, open
// now, close now), announcements, the live dashboard, the moderation queue with merges, and the
// shortlist (curate, publish).

import { h, replace, field, setFieldError, announce } from '../dom.js';
import { t, num, dateTime } from '../i18n.js';
import { api, me, enc, qs } from '../api.js';
import { subscribe } from '../live.js';
import { navigate } from '../router.js';
import { page, errorBox, errorPage, paths, stateBadge, busy } from './common.js';
import { dateField, showFieldErrors } from './console.js';
import { barChart, lineChart } from './charts.js';
import { mergePicker, duplicatesList } from './similar.js';
import { moodPanel } from './mood.js';
import { audiencesPanel } from './audiences.js';

const STATS_EVERY = 5000;

export async function consoleJamView({ slug }) {
  const who = await me().catch(() => null);
  if (!who || who.kind !== 'staff') { navigate('/console', { replace: true }); return { el: h('div') }; }
  let jam;
  try { jam = await api.get(`/jams/${enc(slug)}`); } catch (err) { return errorPage(err); }
  const base = `/jams/${enc(slug)}`;

  // ---- header and jam actions ----
  const stateEl = h('span', { dataset: { role: 'jam-state' } });
  const jamStatus = h('div', { 'aria-live': 'polite' });
  const scheduleBtn = h('button', { type: 'button', class: 'primary', dataset: { role: 'schedule' } }, t('schedule_jam'));
  const closeJamBtn = h('button', { type: 'button', class: 'danger' }, t('close_jam'));
  scheduleBtn.addEventListener('click', () => jamAction(scheduleBtn, 'schedule', t('jam_scheduled')));
  closeJamBtn.addEventListener('click', () => {
    if (window.confirm(t('confirm_close_jam'))) jamAction(closeJamBtn, 'close', t('jam_closed'));
  });
  async function jamAction(btn, action, done) {
    busy(btn, true);
    jamStatus.replaceChildren();
    try {
      jam = await api.post(`${base}/${action}`);
      paint();
      announce(done);
    } catch (err) {
      jamStatus.replaceChildren(errorBox(err));
    } finally { busy(btn, false); }
  }

  // ---- audiences ----
  const audiences = audiencesPanel(slug, jam);

  // ---- sessions ----
  const sessions = h('ul', { class: 'sessions' });
  const sessionStatus = h('div', { 'aria-live': 'polite' });
  async function sessionAction(s, action, btn) {
    busy(btn, true);
    sessionStatus.replaceChildren();
    try {
      const updated = await api.post(`${base}/sessions/${s.id}/${action}`);
      Object.assign(s, updated);
      paint();
      announce(`${s.title}: ${t(`session_state_${s.state}`)}`);
    } catch (err) {
      sessionStatus.replaceChildren(errorBox(err));
      busy(btn, false);
    }
  }
  const start = new Date(Math.max(Date.now(), new Date(jam.starts_at).getTime()));
  const sf = {
    title: field({ id: 'session-title', label: t('session_title'), required: true }),
    description: field({ id: 'session-description', label: t('description'), multiline: true }),
    opens_at: dateField('session-opens', t('opens'), new Date(Math.ceil(start.getTime() / 60000) * 60000)),
    closes_at: dateField('session-closes', t('closes'), new Date(Math.min(new Date(jam.ends_at).getTime(), start.getTime() + 24 * 3600000))),
  };
  const addSessionBtn = h('button', { type: 'submit', class: 'primary' }, t('add_session'));
  const addSessionStatus = h('div');
  const sessionForm = h('form', { class: 'card form', novalidate: true, 'aria-labelledby': 'add-session-title' },
    h('h3', { id: 'add-session-title' }, t('add_session')),
    sf.title.wrap, sf.description.wrap, h('div', { class: 'row' }, sf.opens_at.wrap, sf.closes_at.wrap), addSessionStatus, addSessionBtn);
  sessionForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    for (const x of Object.values(sf)) setFieldError(x, '');
    addSessionStatus.replaceChildren();
    if (!sf.title.input.value.trim()) { setFieldError(sf.title, t('required')); sf.title.input.focus(); return; }
    busy(addSessionBtn, true);
    try {
      const s = await api.post(`${base}/sessions`, {
        title: sf.title.input.value.trim(), description: sf.description.input.value,
        opens_at: sf.opens_at.iso(), closes_at: sf.closes_at.iso(),
      });
      jam.sessions.push(s);
      sf.title.input.value = '';
      sf.description.input.value = '';
      paint();
      announce(t('session_added'));
    } catch (err) {
      showFieldErrors(err, sf);
      addSessionStatus.replaceChildren(errorBox(err));
    } finally { busy(addSessionBtn, false); }
  });

  // ---- announcements ----
  const annText = field({ id: 'announcement-text', label: t('announcement_text'), multiline: true, required: true });
  const annBtn = h('button', { type: 'submit', class: 'primary' }, t('send_announcement'));
  const annStatus = h('div', { 'aria-live': 'polite' });
  const annForm = h('form', { class: 'form', novalidate: true }, annText.wrap, annStatus, annBtn);
  annForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    setFieldError(annText, '');
    if (!annText.input.value.trim()) { setFieldError(annText, t('required')); annText.input.focus(); return; }
    busy(annBtn, true);
    try {
      await api.post(`${base}/announcements`, { text: annText.input.value.trim() });
      annText.input.value = '';
      annStatus.replaceChildren(h('p', { class: 'alert alert-ok' }, t('announcement_sent')));
    } catch (err) {
      showFieldErrors(err, { text: annText });
      annStatus.replaceChildren(errorBox(err));
    } finally { busy(annBtn, false); }
  });

  // ---- dashboard ----
  const dash = h('div', { class: 'dashboard' });
  const history = [];
  async function loadStats() {
    try {
      const st = await api.get(`${base}/stats`);
      history.push({ t: Date.now(), ...st });
      if (history.length > 120) history.shift();
      paintDash(st);
    } catch (err) { replace(dash, errorBox(err)); }
  }
  function perMinute(key) {
    const pts = [];
    for (let i = 1; i < history.length; i++) {
      const dt = (history[i].t - history[i - 1].t) / 60000;
      pts.push({ t: history[i].t, value: Math.max(0, (history[i][key] - history[i - 1][key]) / dt) });
    }
    return pts;
  }
  /** The last 12 hours of `per_hour` ({HOUR: {ideas, comments, votes}}), as bars of all activity. */
  function perHour(map) {
    return Object.entries(map || {}).sort(([x], [y]) => x.localeCompare(y)).slice(-12).map(([hour, a]) => {
      const d = new Date(hour.length === 13 ? `${hour}:00:00Z` : hour);
      const label = Number.isNaN(d.getTime()) ? hour : dateTime(d.toISOString(), { weekday: 'short', hour: 'numeric' });
      return { label, value: (a.ideas || 0) + (a.comments || 0) + (a.votes || 0) };
    });
  }
  /** Addresses that reached the server's daily cap on new participants (text nodes only). */
  function joinCaps(caps) {
    if (!caps || caps.length === 0) return null;
    return h('div', { class: 'alert join-caps', role: 'status' },
      h('strong', {}, t('join_caps_title')),
      h('p', {}, t('join_caps_hint')),
      h('ul', { class: 'plain' }, caps.map((c) => h('li', { dataset: { address: c.address_key || '' } }, t('join_caps_item', {
        address: c.address_key || t('join_caps_hidden_address'), count: c.joins, day: c.day, at: c.capped_at ? dateTime(c.capped_at) : '',
      })))));
  }
  function paintDash(st) {
    const names = new Map(jam.sessions.map((s) => [s.id, s.title]));
    const tiles = [['participants', st.participants], ['online', st.online], ['ideas', st.ideas], ['comments', st.comments], ['votes', st.votes]];
    replace(dash,
      joinCaps(st.join_caps_hit),
      h('dl', { class: 'tiles' }, tiles.map(([k, v]) => h('div', { class: 'tile' }, h('dt', {}, t(`stat_${k}`)), h('dd', {}, num(v ?? 0))))),
      h('div', { class: 'charts' },
        h('figure', {}, h('figcaption', {}, t('chart_ideas_per_session')),
          barChart((st.sessions || []).map((s) => ({ label: names.get(s.session_id) || '?', value: s.ideas })), { title: t('chart_ideas_per_session') })),
        h('figure', {}, h('figcaption', {}, t('chart_participants_by_audience')),
          barChart(Object.entries(st.participants_by_audience || {}).map(([label, value]) => ({ label, value })), { title: t('chart_participants_by_audience') })),
        h('figure', {}, h('figcaption', {}, t('chart_per_hour')), barChart(perHour(st.per_hour), { title: t('chart_per_hour') })),
        ...['ideas', 'comments', 'votes'].map((k) => h('figure', {}, h('figcaption', {}, t(`chart_${k}_per_minute`)),
          lineChart(perMinute(k), { title: t(`chart_${k}_per_minute`) })))));
  }
  const statsTimer = setInterval(() => { if (document.visibilityState === 'visible') loadStats(); }, STATS_EVERY);

  // ---- moderation ----
  const queue = h('div', { class: 'moderation' });
  async function loadQueue() {
    try {
      const p = await api.get(`${base}/moderation${qs({ limit: 100 })}`);
      if (!p.items.length) { replace(queue, h('p', { class: 'muted' }, t('queue_empty'))); return; }
      replace(queue, h('ul', { class: 'plain' }, p.items.map(moderationItem)));
    } catch (err) { replace(queue, errorBox(err)); }
  }
  function moderationItem(item) {
    const kind = item.kind === 'idea' ? 'ideas' : 'comments';
    const status = h('span', {}, stateBadge('status', item.status));
    const actions = ['hide', 'restore', 'remove'].map((a) => {
      const b = h('button', { type: 'button' }, t(`mod_${a}`));
      b.addEventListener('click', async () => {
        busy(b, true);
        try { await api.post(`/${kind}/${item.id}/${a}`); announce(t('mod_done')); await loadQueue(); } catch (err) { li.append(errorBox(err)); busy(b, false); }
      });
      return b;
    });
    // The merge target is found by its title (a search of the jam), not pasted as an id.
    const merge = item.kind === 'idea' ? mergePicker(slug, item, async (r) => {
      announce(t('merged', { moved: r.votes_moved, kept: r.votes_kept }));
      await loadQueue();
    }) : null;
    const li = h('li', { class: 'card mod-item' },
      h('p', {}, h('strong', {}, item.title || t('comment')), ' ', status, ' · ',
        t('flags_count', { count: item.flags, total: item.flags_total })),
      h('p', { class: 'prewrap' }, item.body),
      h('p', { class: 'muted' }, t('by_author', { name: item.author.display_name, audience: item.author.audience })),
      item.reasons?.length ? h('ul', { class: 'reasons' }, item.reasons.map((r) => h('li', {}, `${r.by.display_name}: `, r.reason))) : null,
      h('p', { class: 'actions' }, actions), merge);
    return li;
  }

  // ---- shortlist ----
  const shortlist = h('div', { class: 'shortlist' });
  async function loadShortlist() {
    let sl;
    try { sl = await api.get(`${base}/shortlist`); } catch (err) {
      replace(shortlist, h('p', { class: 'muted' }, err.status === 404 ? t('shortlist_unavailable') : errorBox(err).textContent));
      return;
    }
    const publishBtn = h('button', { type: 'button', class: 'primary' }, t('publish_shortlist'));
    publishBtn.disabled = sl.state === 'published';
    publishBtn.addEventListener('click', async () => {
      if (!window.confirm(t('confirm_publish'))) return;
      busy(publishBtn, true);
      try { await api.post(`${base}/shortlist/publish`); announce(t('shortlist_published')); await loadShortlist(); } catch (err) { shortlist.append(errorBox(err)); busy(publishBtn, false); }
    });
    replace(shortlist,
      h('p', {}, stateBadge('shortlist', sl.state), ' ', t('method_name', { method: t(`method_${sl.method}`) })),
      h('ol', { class: 'plain' }, (sl.items || []).map((it) => {
        const reasonId = `excl-${it.idea.id}`;
        const reason = h('input', { id: reasonId, type: 'text', size: 24 });
        const b = h('button', { type: 'submit' }, t('exclude'));
        const f = h('form', { class: 'inline-form' }, h('label', { for: reasonId }, t('exclude_reason')), reason, b);
        f.hidden = sl.state === 'published';
        f.addEventListener('submit', async (e) => {
          e.preventDefault();
          if (!reason.value.trim()) { reason.focus(); return; }
          busy(b, true);
          try { await api.post(`${base}/shortlist/curate`, { exclude: [{ idea_id: it.idea.id, reason: reason.value.trim() }] }); await loadShortlist(); } catch (err) { f.append(errorBox(err)); busy(b, false); }
        });
        return h('li', { class: 'card' }, h('strong', {}, `${num(it.rank)}. `, it.idea.title), ' ',
          h('span', { class: 'muted' }, t('vote_counts', { up: it.up, down: it.down })), f);
      })),
      publishBtn, ' ', h('a', { href: paths.results(slug) }, t('results')));
  }

  function paint() {
    replace(stateEl, stateBadge('jam', jam.state));
    scheduleBtn.hidden = jam.state !== 'draft';
    closeJamBtn.hidden = !(jam.state === 'live' || jam.state === 'scheduled');
    replace(sessions, jam.sessions.map((s) => {
      const openBtn = h('button', { type: 'button', dataset: { role: 'open-session' } }, t('open_now'));
      const closeBtn = h('button', { type: 'button', dataset: { role: 'close-session' } }, t('close_now'));
      openBtn.hidden = s.state === 'open';
      closeBtn.hidden = s.state !== 'open';
      openBtn.addEventListener('click', () => sessionAction(s, 'open', openBtn));
      closeBtn.addEventListener('click', () => sessionAction(s, 'close', closeBtn));
      return h('li', { class: 'session-row card', dataset: { sessionId: s.id } },
        h('h3', {}, s.title, ' ', stateBadge('session', s.state)),
        h('p', { class: 'muted' }, dateTime(s.opens_at), ' → ', dateTime(s.closes_at)),
        h('p', {}, openBtn, closeBtn, ' ', h('a', { href: paths.session(slug, s.id) }, t('view_session'))));
    }));
  }

  const stopJam = subscribe(`jam:${jam.id}`, async (msg) => {
    if (msg.type === 'event' && ['session.opened', 'session.closed', 'jam.state'].includes(msg.event.kind)) {
      try { jam = await api.get(`/jams/${enc(slug)}`); paint(); } catch { /* keep */ }
    }
  });

  paint();
  await Promise.all([loadStats(), loadQueue(), loadShortlist()]);
  const refreshQueue = h('button', { type: 'button' }, t('refresh'));
  const duplicates = duplicatesList(slug, async (r) => {
    announce(t('merged', { moved: r.votes_moved, kept: r.votes_kept }));
    await loadQueue();
  });
  refreshQueue.addEventListener('click', loadQueue);

  const mood = moodPanel(jam);
  const nav = h('nav', { class: 'toc', 'aria-label': t('sections') }, h('ul', {},
    ['sessions', 'audiences', 'announcements', 'dashboard', 'mood', 'moderation', 'shortlist'].map((k) =>
      h('li', {}, h('a', { href: `#c-${k}`, class: 'toc-link' }, t(`section_${k}`))))));
  nav.addEventListener('click', (e) => {
    const a = e.target.closest('a.toc-link');
    if (!a) return;
    e.preventDefault();
    e.stopPropagation();
    const target = document.getElementById(a.hash.slice(1));
    target?.scrollIntoView();
    target?.querySelector('h2')?.focus();
  });
  const section = (k, ...children) => h('section', { id: `c-${k}`, 'aria-labelledby': `c-${k}-h` },
    h('h2', { id: `c-${k}-h`, tabindex: '-1' }, t(`section_${k}`)), ...children);

  const el = page(jam.title,
    h('p', {}, h('a', { href: '/console' }, t('back_to_console')), ' · ',
      h('a', { href: `${paths.consoleJam(jam.slug)}/participants`, dataset: { role: 'participants-link' } }, t('manage_participants'))),
    h('p', { class: 'lead' }, stateEl, ' ', t('jam_schedule', { start: dateTime(jam.starts_at), end: dateTime(jam.ends_at) })),
    h('p', { class: 'actions' }, scheduleBtn, ' ', closeJamBtn), jamStatus,
    nav,
    section('sessions', sessionStatus, sessions, sessionForm),
    section('audiences', h('p', { class: 'muted' }, t('invite_links_hint')), audiences.el),
    section('announcements', annForm),
    section('dashboard', dash),
    section('mood', mood.el),
    section('moderation', refreshQueue, queue, duplicates.el),
    section('shortlist', shortlist));
  return { el, title: jam.title, destroy() { stopJam(); clearInterval(statsTimer); mood.destroy(); } };
}
