// One idea in a list: title (link to its page), author, time, tags, excerpt, votes, replies.
// `update(fields)` changes the counts in place, so live tallies never rebuild the list.

import { h } from '../dom.js';
import { t, num, relative, dateTime } from '../i18n.js';
import { paths } from './common.js';
import { voteControl } from './vote.js';

const EXCERPT = 280;

export function ideaCard(slug, idea, { canVote = true, isStaff = false, hideCounts = false } = {}) {
  const comments = h('span', { class: 'idea-comments' });
  const votes = isStaff ? null : voteControl(idea, { canVote, hideCounts });
  const staffCounts = isStaff ? h('span', { class: 'vote-counts' }) : null;
  const body = idea.body.length > EXCERPT ? `${idea.body.slice(0, EXCERPT)}…` : idea.body;
  const status = idea.status !== 'visible'
    ? h('span', { class: `badge badge-${idea.status}` }, t(`status_${idea.status}`)) : null;
  const el = h('article', { class: 'idea-card', dataset: { ideaId: idea.id }, 'aria-labelledby': `t-${idea.id}` },
    h('div', { class: 'idea-main' },
      h('h3', { class: 'idea-title', id: `t-${idea.id}` },
        h('a', { href: paths.idea(slug, idea.id) }, idea.title), status),
      h('p', { class: 'idea-meta' },
        t('by_author', { name: idea.author.display_name, audience: idea.author.audience }), ' · ',
        h('time', { datetime: idea.created_at, title: dateTime(idea.created_at) }, relative(idea.created_at))),
      h('p', { class: 'idea-body' }, body),
      idea.tags?.length ? h('ul', { class: 'tags', 'aria-label': t('tags') },
        idea.tags.map((tag) => h('li', { class: 'tag' }, tag))) : null,
      h('p', { class: 'idea-foot' }, comments)),
    votes ? votes.el : staffCounts);

  function paint() {
    comments.textContent = t('comments_count', { count: idea.comments });
    if (staffCounts) staffCounts.textContent = t('vote_counts', { up: idea.up, down: idea.down });
    votes?.paint();
  }
  paint();
  return {
    el,
    idea,
    update(fields) {
      for (const k of ['up', 'down', 'score', 'comments']) if (fields[k] !== undefined) idea[k] = fields[k];
      paint();
      el.classList.add('flash');
      setTimeout(() => el.classList.remove('flash'), 800);
    },
    setCanVote(on) { votes?.setEnabled(on); },
  };
}

export function countsText(idea) {
  return `${num(idea.up)} / ${num(idea.down)}`;
}
