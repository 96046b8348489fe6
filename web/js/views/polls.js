// Quick polls on a session page: facilitators ask (a question, 2 to 6 options, open for some
// minutes); participants answer once; the results update live (`poll.created`, `poll.updated` on
// the session's topic) and show once answered or closed.

import { h, replace, field, setFieldError, announce } from '../dom.js';
import { t, num } from '../i18n.js';
import { api } from '../api.js';
import { errorBox, busy } from './common.js';

const MAX_OPTIONS = 6;

/** The polls panel of session `sessionId`; `onEvent(ev)` takes the session topic's poll events. */
export async function pollsPanel(sessionId, who) {
  const isParticipant = who?.kind === 'participant';
  const canAsk = who?.kind === 'staff' && (who.role === 'facilitator' || who.role === 'admin');
  /** poll id → {poll, el} */
  const shown = new Map();
  const list = h('ol', { class: 'polls', 'aria-live': 'polite', 'aria-relevant': 'additions' });

  function results(poll) {
    const total = poll.answers || 0;
    return h('ul', { class: 'poll-results', 'aria-label': t('poll_results') }, poll.options.map((o, i) => {
      const n = poll.counts[i] || 0;
      const pct = total ? Math.round((100 * n) / total) : 0;
      return h('li', { dataset: { option: i } },
        h('span', { class: 'poll-option' }, o), ' ',
        h('progress', { class: 'poll-bar', max: 100, value: pct, 'aria-hidden': 'true' }), ' ',
        h('span', { class: 'poll-count' }, t('poll_count', { count: n, pct: num(pct) })),
        poll.my_answer === i ? h('span', { class: 'badge' }, t('poll_mine')) : null);
    }));
  }

  function paint(entry) {
    const { poll } = entry;
    const closed = poll.state === 'closed';
    const answered = poll.my_answer !== undefined && poll.my_answer !== null;
    const qid = `poll-${poll.id}`;
    const body = [h('h3', { id: qid, class: 'prewrap' }, poll.question),
      h('p', { class: 'muted' }, closed ? t('poll_closed') : t('poll_open_until', { time: new Date(poll.closes_at).toLocaleTimeString() }),
        ' · ', t('poll_answers', { count: poll.answers }))];
    if (isParticipant && !closed && !answered) {
      const status = h('div');
      const choices = poll.options.map((o, i) => h('div', { class: 'field checkbox' },
        h('input', { type: 'radio', id: `${qid}-${i}`, name: qid, value: String(i) }),
        h('label', { for: `${qid}-${i}` }, o)));
      const send = h('button', { type: 'submit', class: 'primary' }, t('poll_answer'));
      const form = h('form', { class: 'form poll-form', novalidate: true },
        h('fieldset', {}, h('legend', { class: 'visually-hidden' }, poll.question), choices), status, send);
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        const picked = form.querySelector('input:checked');
        if (!picked) { status.replaceChildren(h('p', { class: 'field-error', role: 'alert' }, t('poll_pick'))); return; }
        busy(send, true);
        try {
          entry.poll = await api.post(`/polls/${poll.id}/answer`, { option: Number(picked.value) });
          announce(t('poll_thanks'));
          paint(entry);
        } catch (err) {
          status.replaceChildren(errorBox(err));
          busy(send, false);
        }
      });
      body.push(form);
    } else {
      body.push(results(poll));
    }
    replace(entry.el, ...body);
  }

  function show(poll, { prepend = false } = {}) {
    let entry = shown.get(poll.id);
    if (entry) {
      // Live copies carry no answer of mine: keep the one I know.
      entry.poll = { ...poll, my_answer: poll.my_answer ?? entry.poll.my_answer };
    } else {
      entry = { poll, el: h('li', { class: 'card poll', dataset: { pollId: poll.id } }) };
      shown.set(poll.id, entry);
      if (prepend) list.prepend(entry.el); else list.append(entry.el);
    }
    paint(entry);
  }

  try {
    const page = await api.get(`/sessions/${sessionId}/polls`);
    for (const p of page.items) show(p);
  } catch { /* the panel stays empty */ }

  let askForm = null;
  if (canAsk) {
    const question = field({ id: 'poll-question', label: t('poll_question'), required: true });
    const options = Array.from({ length: MAX_OPTIONS }, (_, i) => field({ id: `poll-option-${i}`, label: t('poll_option', { n: i + 1 }), required: i < 2 }));
    const minutes = field({ id: 'poll-minutes', label: t('poll_minutes'), type: 'number', value: '10', attrs: { min: 1, max: 1440 } });
    const status = h('div');
    const send = h('button', { type: 'submit', class: 'primary' }, t('poll_ask'));
    askForm = h('form', { class: 'card form', novalidate: true, 'aria-labelledby': 'poll-ask-title' },
      h('h3', { id: 'poll-ask-title' }, t('poll_ask_title')), question.wrap, ...options.map((o) => o.wrap), minutes.wrap, status, send);
    askForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      status.replaceChildren();
      for (const f of [question, minutes, ...options]) setFieldError(f, '');
      const texts = options.map((o) => o.input.value.trim()).filter(Boolean);
      const mins = Number(minutes.input.value) || 10;
      busy(send, true);
      try {
        const poll = await api.post(`/sessions/${sessionId}/polls`, {
          question: question.input.value.trim(),
          options: texts,
          closes_at: new Date(Date.now() + mins * 60000).toISOString(),
        });
        show(poll, { prepend: true });
        askForm.reset();
        announce(t('poll_asked'));
      } catch (err) {
        if (err.fields?.question) setFieldError(question, err.fields.question);
        status.replaceChildren(errorBox(err));
      } finally {
        busy(send, false);
      }
    });
  }

  const el = h('section', { class: 'polls-panel', 'aria-labelledby': 'polls-title' },
    h('h2', { id: 'polls-title' }, t('polls_title')), askForm, list);
  return {
    el,
    onEvent(ev) {
      if (ev.kind === 'poll.created') show(ev.poll, { prepend: true });
      else if (ev.kind === 'poll.updated') show(ev.poll);
    },
    async refetch() {
      try {
        const page = await api.get(`/sessions/${sessionId}/polls`);
        for (const p of page.items) show(p);
      } catch { /* keep what we show */ }
    },
  };
}
