// A session `/j/{slug}/s/{id}`: ideas by hot/top/new/discover (discover: not yet seen first, then
// the least seen, shuffled per participant), one page at a time (more on scroll), new
// ideas from others held behind an "N new ideas" pill so the list does not move under the reader,
// counts updated in place from `tally` frames and idea events, and the post-an-idea form.

import { h, replace, field, setFieldError, announce } from '../dom.js';
import { t, dateTime, countdown } from '../i18n.js';
import { api, me, enc, qs, ApiError } from '../api.js';
import { subscribe } from '../live.js';
import { page, errorPage, errorBox, paths, stateBadge, busy, skewFrom } from './common.js';
import { ideaCard } from './idea_card.js';
import { similarHint } from './similar.js';
import { pollsPanel } from './polls.js';
import { impressionTracker } from '../impressions.js';

const PAGE = 50;
const SORTS = ['hot', 'top', 'new', 'discover'];
/** Without a tally ticker on the server, refresh visible counts this often (ms, plus jitter). */
const FALLBACK_REFRESH = 15000;

export async function sessionView({ slug, id }, query) {
  let jam;
  let who;
  try {
    [jam, who] = await Promise.all([api.get(`/jams/${enc(slug)}`), me()]);
  } catch (err) {
    return errorPage(err);
  }
  const session = jam.sessions.find((s) => s.id === id);
  if (!session) return errorPage(new ApiError(404));
  const isStaff = who?.kind === 'staff';
  const hideCounts = !isStaff && jam.hide_counts_until_voted;
  // Participants report what they saw (staff are not counted).
  const seen = who?.kind === 'participant' ? impressionTracker(slug) : null;
  const sort = SORTS.includes(query.get('sort')) ? query.get('sort') : 'hot';
  const skew = skewFrom(jam.now);
  const t0 = performance.now();

  /** idea id → card */
  const cards = new Map();
  const pending = new Map();
  let cursor = null;
  let loading = false;
  let done = false;
  let sawTally = false;

  const stateEl = h('span', { dataset: { role: 'session-state' } });
  const closesEl = h('span', { class: 'countdown' });
  const online = h('span', { class: 'online' });
  const list = h('div', { class: 'ideas', role: 'feed', 'aria-busy': 'true', 'aria-label': t('ideas') });
  const pill = h('button', { type: 'button', class: 'pill', hidden: true, dataset: { role: 'new-ideas' } });
  const arrivals = h('p', { class: 'visually-hidden', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', class: 'more' }, t('load_more'));
  const sentinel = h('div', { class: 'sentinel' });
  const empty = h('p', { class: 'muted', hidden: true }, t('no_ideas'));
  const listError = h('div');

  const open = () => session.state === 'open';

  function paintState() {
    replace(stateEl, stateBadge('session', session.state));
    for (const card of cards.values()) card.setCanVote(open());
    form.hidden = isStaff || !open();
    closedNote.hidden = open();
    tickCountdown();
  }
  function tickCountdown() {
    const now = Date.now() + skew;
    if (session.state === 'open') closesEl.textContent = t('closes_in', { time: countdown(new Date(session.closes_at) - now) });
    else if (session.state === 'scheduled') closesEl.textContent = t('opens_in', { time: countdown(new Date(session.opens_at) - now) });
    else closesEl.textContent = t('session_closed_at', { time: dateTime(session.closes_at) });
  }

  function addCard(idea, where = 'end') {
    if (cards.has(idea.id)) return cards.get(idea.id);
    if (idea.status === 'removed' || idea.status === 'merged') return null;
    const card = ideaCard(slug, idea, { canVote: open(), isStaff, hideCounts });
    cards.set(idea.id, card);
    seen?.observe(card.el, idea.id);
    if (where === 'start') list.prepend(card.el); else list.append(card.el);
    empty.hidden = true;
    return card;
  }

  async function loadMore() {
    if (loading || done) return;
    loading = true;
    more.disabled = true;
    list.setAttribute('aria-busy', 'true');
    try {
      const p = await api.get(`/sessions/${id}/ideas${qs({ sort, limit: PAGE, cursor })}`);
      for (const idea of p.items) addCard(idea);
      cursor = p.next_cursor;
      done = !cursor;
      listError.replaceChildren();
    } catch (err) {
      listError.replaceChildren(errorBox(err));
    } finally {
      loading = false;
      more.disabled = false;
      more.hidden = done;
      list.setAttribute('aria-busy', 'false');
      empty.hidden = cards.size > 0;
    }
  }

  async function reload() {
    cards.clear();
    pending.clear();
    paintPill();
    replace(list);
    cursor = null;
    done = false;
    await loadMore();
  }

  function paintPill() {
    pill.hidden = pending.size === 0;
    pill.textContent = t('new_ideas', { count: pending.size });
  }

  pill.addEventListener('click', () => {
    const fresh = [...pending.values()].sort((a, b) => a.created_at.localeCompare(b.created_at));
    for (const idea of fresh) addCard(idea, 'start');
    pending.clear();
    paintPill();
    list.firstElementChild?.querySelector('a')?.focus();
  });

  // Counts from the tally ticker; also, without one, a slow refresh of what is shown.
  async function refreshCounts() {
    if (sawTally || document.visibilityState !== 'visible' || cards.size === 0) return;
    try {
      const p = await api.get(`/sessions/${id}/ideas${qs({ sort, limit: Math.min(cards.size, 200) })}`);
      for (const idea of p.items) {
        const card = cards.get(idea.id);
        if (card && (card.idea.up !== idea.up || card.idea.down !== idea.down || card.idea.comments !== idea.comments)) {
          card.update(idea);
        }
      }
    } catch { /* next time */ }
  }
  const fallback = setInterval(refreshCounts, FALLBACK_REFRESH + Math.random() * 3000);

  // Quick polls: asked by facilitators, answered once by participants, results live.
  let polls = null;
  const stopSession = subscribe(`session:${id}`, (msg) => {
    if (msg.type === 'tally') {
      sawTally = true;
      for (const c of msg.ideas || []) cards.get(c.id)?.update(c);
    } else if (msg.type === 'presence') {
      online.textContent = t('online_now', { count: msg.online });
    } else if (msg.type === 'resync') {
      reload();
      polls?.refetch();
    } else if (msg.type === 'event') {
      const ev = msg.event;
      if (ev.kind === 'poll.created' || ev.kind === 'poll.updated') {
        polls?.onEvent(ev);
      } else if (ev.kind === 'idea.created') {
        const idea = ev.idea;
        if (cards.has(idea.id) || pending.has(idea.id)) return;
        // Mine, or nothing on screen to push down: show it at once.
        if ((who && idea.author.id === who.id) || cards.size === 0) {
          addCard(idea, 'start');
          arrivals.textContent = t('idea_arrived', { title: idea.title });
          return;
        }
        pending.set(idea.id, idea);
        paintPill();
        arrivals.textContent = t('new_ideas', { count: pending.size });
      } else if (ev.kind === 'idea.updated') {
        const idea = ev.idea;
        const card = cards.get(idea.id);
        if (!card) return;
        if (idea.status === 'removed' || idea.status === 'merged' || (idea.status === 'hidden' && !isStaff)) {
          card.el.remove();
          cards.delete(idea.id);
        } else {
          card.update(idea);
        }
      }
    }
  });
  const stopJam = subscribe(`jam:${jam.id}`, (msg) => {
    if (msg.type === 'event' && (msg.event.kind === 'session.opened' || msg.event.kind === 'session.closed')
        && msg.event.session_id === id) {
      session.state = msg.event.state;
      paintState();
      announce(t(`session_state_${session.state}`));
    } else if (msg.type === 'resync') {
      api.get(`/jams/${enc(slug)}`).then((j) => {
        const s = j.sessions.find((x) => x.id === id);
        if (s) { session.state = s.state; paintState(); }
      }).catch(() => {});
    }
  });

  // The form.
  const title = field({ id: 'idea-title', label: t('idea_title'), required: true, attrs: { maxlength: 200 } });
  const body = field({ id: 'idea-body', label: t('idea_body'), multiline: true, required: true });
  const tags = field({ id: 'idea-tags', label: t('idea_tags'), hint: t('idea_tags_hint') });
  // Likely duplicates of the draft, while it is typed.
  const similar = similarHint(slug, id, title.input, body.input);
  const submit = h('button', { type: 'submit', class: 'primary' }, t('post_idea'));
  const formStatus = h('div');
  const form = h('form', { class: 'card form', novalidate: true, 'aria-labelledby': 'post-title' },
    h('h2', { id: 'post-title' }, t('post_idea_title')), title.wrap, body.wrap, similar.el, tags.wrap, formStatus, submit);
  const closedNote = h('p', { class: 'alert', dataset: { role: 'closed-note' } }, t('session_closed_note'));
  const fields = { title, body, tags };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    for (const f of Object.values(fields)) setFieldError(f, '');
    formStatus.replaceChildren();
    let bad = false;
    if (!title.input.value.trim()) { setFieldError(title, t('required')); bad = true; }
    if (!body.input.value.trim()) { setFieldError(body, t('required')); bad = true; }
    if (bad) { form.querySelector('[aria-invalid="true"]')?.focus(); return; }
    busy(submit, true);
    try {
      const idea = await api.post(`/sessions/${id}/ideas`, {
        title: title.input.value.trim(),
        body: body.input.value.trim(),
        tags: tags.input.value.split(',').map((x) => x.trim()).filter(Boolean),
      });
      pending.delete(idea.id);
      addCard(idea, 'start');
      form.reset();
      similar.clear();
      announce(t('idea_posted'));
    } catch (err) {
      let focused = false;
      for (const [name, f] of Object.entries(fields)) {
        const msg = err.fields?.[name] || Object.entries(err.fields || {}).find(([k]) => k.startsWith(`${name}[`) || k.startsWith(`${name}.`))?.[1];
        if (msg) { setFieldError(f, msg); if (!focused) { f.input.focus(); focused = true; } }
      }
      formStatus.replaceChildren(errorBox(err));
      if (err.status === 409) { session.state = 'closed'; paintState(); }
    } finally {
      busy(submit, false);
    }
  });

  // Sort tabs (links, so they work with the keyboard and the back button).
  const sorts = h('nav', { class: 'sorts', 'aria-label': t('sort_label') },
    SORTS.map((s) => h('a', { href: `${paths.session(slug, id)}?sort=${s}`, 'aria-current': s === sort ? 'page' : null }, t(`sort_${s}`))));

  more.addEventListener('click', loadMore);
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) loadMore();
  }, { rootMargin: '800px' });
  observer.observe(sentinel);

  await loadMore();
  polls = await pollsPanel(id, who);
  const firstRender = performance.now() - t0;
  document.documentElement.dataset.sessionFirstRenderMs = String(Math.round(firstRender));

  const el = page(session.title,
    h('p', { class: 'lead' }, h('a', { href: paths.lobby(slug) }, jam.title), ' · ', stateEl, ' ', closesEl, ' ', online),
    session.description ? h('p', { class: 'prewrap' }, session.description) : null,
    closedNote, form, polls.el,
    h('section', { 'aria-labelledby': 'ideas-title' },
      h('div', { class: 'list-head' }, h('h2', { id: 'ideas-title' }, t('ideas')), sorts),
      pill, arrivals, listError, empty, list, more, sentinel));
  paintState();
  const timer = setInterval(tickCountdown, 1000);
  return {
    el,
    title: session.title,
    destroy() {
      stopSession(); stopJam(); clearInterval(timer); clearInterval(fallback); observer.disconnect(); seen?.stop();
    },
  };
}
