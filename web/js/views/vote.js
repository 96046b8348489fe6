// Vote buttons with immediate feedback: the counts change on click and roll back if the server
// refuses (closed session, rate limit, network).

import { h, announce } from '../dom.js';
import { t, num } from '../i18n.js';
import { api } from '../api.js';
import { errorText } from './common.js';

/**
 * Whether the counts of `idea` stay hidden from this participant: the jam hides them until one
 * votes (`hide_counts_until_voted`) and they have not voted on it. The server sends no counts in
 * that case; live tallies (one message shared by every connection) still carry them, and are not
 * shown either.
 */
export function countsHidden(idea, hideCounts) {
  return Boolean(hideCounts) && !idea.my_vote;
}

/** `idea` is mutated in place (up, down, my_vote) so every view of it agrees. */
export function voteControl(idea, { canVote, onChange, hideCounts = false } = {}) {
  const score = h('span', { class: 'vote-net', dataset: { role: 'net' } });
  const counts = h('span', { class: 'vote-counts' });
  const up = h('button', { type: 'button', class: 'vote vote-up', dataset: { role: 'vote-up' } }, '▲');
  const down = h('button', { type: 'button', class: 'vote vote-down', dataset: { role: 'vote-down' } }, '▼');
  const error = h('span', { class: 'vote-error', role: 'alert' });
  const el = h('div', { class: 'votes', role: 'group' }, up, score, down, counts, error);
  let enabled = canVote !== false;
  let pending = false;

  function paint() {
    el.setAttribute('aria-label', t('votes_label', { title: idea.title }));
    up.setAttribute('aria-label', t('vote_up'));
    down.setAttribute('aria-label', t('vote_down'));
    up.setAttribute('aria-pressed', idea.my_vote === 1 ? 'true' : 'false');
    down.setAttribute('aria-pressed', idea.my_vote === -1 ? 'true' : 'false');
    if (countsHidden(idea, hideCounts)) {
      score.textContent = '?';
      counts.textContent = t('counts_hidden');
    } else {
      score.textContent = num(idea.up - idea.down);
      counts.textContent = t('vote_counts', { up: idea.up, down: idea.down });
    }
    up.disabled = !enabled || pending;
    down.disabled = !enabled || pending;
    up.title = enabled ? '' : t('voting_closed');
    down.title = up.title;
  }

  async function cast(value) {
    const target = idea.my_vote === value ? 0 : value;
    const before = { up: idea.up, down: idea.down, my_vote: idea.my_vote, score: idea.score };
    // Optimistic: take back the old vote, add the new one.
    if (idea.my_vote === 1) idea.up -= 1;
    if (idea.my_vote === -1) idea.down -= 1;
    if (target === 1) idea.up += 1;
    if (target === -1) idea.down += 1;
    idea.my_vote = target;
    error.textContent = '';
    pending = true;
    paint();
    onChange?.(idea);
    try {
      const r = await api.put(`/ideas/${idea.id}/vote`, { value: target });
      Object.assign(idea, { up: r.up, down: r.down, score: r.score, my_vote: r.my_vote });
      announce(t('vote_saved'));
    } catch (err) {
      Object.assign(idea, before);
      error.textContent = errorText(err);
      if (err.status === 409) enabled = false;
    } finally {
      pending = false;
      paint();
      onChange?.(idea);
    }
  }

  up.addEventListener('click', () => cast(1));
  down.addEventListener('click', () => cast(-1));
  paint();
  return {
    el,
    paint,
    setEnabled(on) { enabled = on; paint(); },
  };
}
