// An idea `/j/{slug}/i/{id}`: the idea with its votes, the threaded replies arriving live, the
// reply form (also under each reply), and flagging.

import { h, replace, field, setFieldError, announce } from '../dom.js';
import { t, num, dateTime, relative } from '../i18n.js';
import { api, me, enc, qs } from '../api.js';
import { subscribe } from '../live.js';
import { page, errorPage, errorBox, paths, busy } from './common.js';
import { voteControl } from './vote.js';
import { mentionPicker } from './mentions.js';

export async function ideaView({ slug, id }) {
  let jam; let idea; let who;
  try {
    [jam, idea, who] = await Promise.all([api.get(`/jams/${enc(slug)}`), api.get(`/ideas/${id}`), me()]);
  } catch (err) {
    return errorPage(err);
  }
  const session = jam.sessions.find((s) => s.id === idea.session_id) || { state: 'closed', title: '' };
  const isStaff = who?.kind === 'staff';
  const open = () => session.state === 'open';

  /** comment id → {comment, el, children (ol)} */
  const nodes = new Map();
  const thread = h('ol', { class: 'thread', 'aria-live': 'polite', 'aria-relevant': 'additions', dataset: { role: 'thread' } });
  const empty = h('p', { class: 'muted' }, t('no_comments'));
  const stateNote = h('p', { class: 'alert', hidden: true, dataset: { role: 'closed-note' } }, t('session_closed_note'));
  const votes = isStaff ? null : voteControl(idea, { canVote: open(), hideCounts: jam.hide_counts_until_voted });
  const commentsCount = h('span');
  let replyForm = null;

  function paintCounts() {
    commentsCount.textContent = num(idea.comments);
    votes?.paint();
  }

  function addComment(c) {
    if (nodes.has(c.id)) return;
    const children = h('ol', { class: 'thread' });
    const replyBtn = h('button', { type: 'button', class: 'link', hidden: isStaff || !open() }, t('reply'));
    const flagBtn = isStaff ? null : h('button', { type: 'button', class: 'link' }, t('flag'));
    const body = c.status === 'visible' || isStaff || c.author.id === who?.id
      ? h('p', { class: 'prewrap' }, c.body) : h('p', { class: 'muted' }, t(`status_${c.status}`));
    const el = h('li', { class: 'comment', dataset: { commentId: c.id } },
      h('p', { class: 'comment-meta' }, h('strong', {}, c.author.display_name), ` (${c.author.audience}) · `,
        h('time', { datetime: c.created_at, title: dateTime(c.created_at) }, relative(c.created_at)),
        c.status !== 'visible' ? h('span', { class: `badge badge-${c.status}` }, t(`status_${c.status}`)) : null),
      body, h('p', { class: 'comment-actions' }, replyBtn, flagBtn), children);
    replyBtn.addEventListener('click', () => showReplyForm(c.id, el, replyBtn));
    flagBtn?.addEventListener('click', () => flag(`/comments/${c.id}/flags`, flagBtn));
    nodes.set(c.id, { c, el, children, replyBtn });
    const parent = c.parent_id && nodes.get(c.parent_id);
    (parent ? parent.children : thread).append(el);
    empty.hidden = true;
  }

  function showReplyForm(parentId, container, opener) {
    replyForm?.remove();
    replyForm = commentForm(parentId, opener);
    (container.querySelector(':scope > .thread') ? container.insertBefore(replyForm, container.querySelector(':scope > .thread')) : container.append(replyForm));
    replyForm.querySelector('textarea').focus();
  }

  function commentForm(parentId, opener) {
    const fid = parentId ? `reply-${parentId}` : 'comment-body';
    const f = field({ id: fid, label: parentId ? t('reply_label') : t('comment_label'), multiline: true, required: true });
    const submit = h('button', { type: 'submit', class: 'primary' }, t('send_reply'));
    const status = h('div');
    const cancel = parentId ? h('button', { type: 'button' }, t('cancel')) : null;
    f.input.after(mentionPicker(f.input, slug));
    const form = h('form', { class: 'form reply-form', novalidate: true }, f.wrap, status, h('p', {}, submit, ' ', cancel));
    cancel?.addEventListener('click', () => { form.remove(); replyForm = null; opener?.focus(); });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      setFieldError(f, '');
      status.replaceChildren();
      if (!f.input.value.trim()) { setFieldError(f, t('required')); f.input.focus(); return; }
      busy(submit, true);
      try {
        const c = await api.post(`/ideas/${id}/comments`, { body: f.input.value.trim(), parent_id: parentId || undefined });
        if (!nodes.has(c.id)) { idea.comments += 1; addComment(c); paintCounts(); }
        f.input.value = '';
        announce(t('reply_posted'));
        if (parentId) { form.remove(); replyForm = null; opener?.focus(); }
      } catch (err) {
        if (err.fields?.body) setFieldError(f, err.fields.body);
        status.replaceChildren(errorBox(err));
        if (err.status === 409) { session.state = 'closed'; paintState(); }
      } finally {
        busy(submit, false);
      }
    });
    return form;
  }

  /** Report: an inline form asking why, after the button that opened it. */
  function flag(path, button) {
    if (button.nextElementSibling?.classList.contains('flag-form')) return;
    const fid = `flag-${path.replace(/[^a-z0-9]/gi, '')}`;
    const f = field({ id: fid, label: t('flag_reason'), required: true, attrs: { maxlength: 500 } });
    const send = h('button', { type: 'submit' }, t('flag_send'));
    const cancel = h('button', { type: 'button' }, t('cancel'));
    const status = h('div');
    const form = h('form', { class: 'form flag-form', novalidate: true }, f.wrap, status, h('p', {}, send, ' ', cancel));
    const close = () => { form.remove(); button.focus(); };
    cancel.addEventListener('click', close);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      setFieldError(f, '');
      if (!f.input.value.trim()) { setFieldError(f, t('required')); f.input.focus(); return; }
      busy(send, true);
      try {
        await api.post(path, { reason: f.input.value.trim() });
        button.textContent = t('flagged');
        button.disabled = true;
        announce(t('flagged'));
        form.remove();
      } catch (err) {
        if (err.status === 409) { button.textContent = t('flagged'); button.disabled = true; form.remove(); return; }
        if (err.fields?.reason) setFieldError(f, err.fields.reason);
        status.replaceChildren(errorBox(err));
        busy(send, false);
      }
    });
    button.after(form);
    f.input.focus();
  }

  async function loadThread() {
    replace(thread);
    nodes.clear();
    let cursor = null;
    do {
      const p = await api.get(`/ideas/${id}/comments${qs({ cursor, limit: 200 })}`);
      for (const c of p.items) addComment(c);
      cursor = p.next_cursor;
    } while (cursor);
    empty.hidden = nodes.size > 0;
  }

  const mainForm = commentForm(null, null);
  function paintState() {
    votes?.setEnabled(open());
    mainForm.hidden = isStaff || !open();
    stateNote.hidden = open();
    for (const n of nodes.values()) n.replyBtn.hidden = isStaff || !open();
    if (!open()) { replyForm?.remove(); replyForm = null; }
  }

  const stopIdea = subscribe(`idea:${id}`, (msg) => {
    if (msg.type === 'event') {
      const ev = msg.event;
      if (ev.kind === 'comment.created' && !nodes.has(ev.comment.id)) {
        idea.comments += 1;
        addComment(ev.comment);
        paintCounts();
        announce(t('reply_arrived', { name: ev.comment.author.display_name }));
      } else if (ev.kind === 'comment.updated') {
        loadThread().catch(() => {});
      } else if (ev.kind === 'idea.updated') {
        const mine = idea.my_vote;
        const following = idea.following;
        Object.assign(idea, ev.idea, { my_vote: mine, following });
        paintIdea();
      }
    } else if (msg.type === 'resync') {
      api.get(`/ideas/${id}`).then((fresh) => { Object.assign(idea, fresh); paintIdea(); }).catch(() => {});
      loadThread().catch(() => {});
    }
  });
  // Tallies go out per session only; the idea's own counts come in its session's tally, once.
  const stopSession = subscribe(`session:${idea.session_id}`, (msg) => {
    if (msg.type === 'tally') {
      const c = (msg.ideas || []).find((x) => x.id === id);
      if (c) { Object.assign(idea, { up: c.up, down: c.down, score: c.score }); paintCounts(); }
    }
  });
  const stopJam = subscribe(`jam:${jam.id}`, (msg) => {
    if (msg.type === 'event' && msg.event.session_id === idea.session_id
        && (msg.event.kind === 'session.opened' || msg.event.kind === 'session.closed')) {
      session.state = msg.event.state;
      paintState();
      announce(t(`session_state_${session.state}`));
    }
  });

  const titleEl = h('span');
  const bodyEl = h('p', { class: 'prewrap idea-full' });
  const statusEl = h('span');
  function paintIdea() {
    titleEl.textContent = idea.title;
    bodyEl.textContent = idea.body;
    replace(statusEl, idea.status !== 'visible' ? h('span', { class: `badge badge-${idea.status}` }, t(`status_${idea.status}`)) : '');
    paintCounts();
  }

  try { await loadThread(); } catch (err) { thread.replaceWith(errorBox(err)); }
  const flagIdea = isStaff ? null : h('button', { type: 'button', class: 'link' }, t('flag'));
  // Follow: new replies on this idea reach my inbox (an author follows their own idea).
  const followBtn = isStaff ? null : h('button', { type: 'button', dataset: { role: 'follow' } });
  function paintFollow() {
    if (!followBtn) return;
    followBtn.textContent = idea.following ? t('unfollow') : t('follow');
    followBtn.setAttribute('aria-pressed', idea.following ? 'true' : 'false');
  }
  followBtn?.addEventListener('click', async () => {
    busy(followBtn, true);
    try {
      const r = idea.following ? await api.del(`/ideas/${id}/follow`) : await api.put(`/ideas/${id}/follow`);
      idea.following = r.following;
      announce(r.following ? t('followed') : t('unfollowed'));
    } catch { /* the button keeps its state */ }
    busy(followBtn, false);
    paintFollow();
  });
  paintFollow();
  flagIdea?.addEventListener('click', () => flag(`/ideas/${id}/flags`, flagIdea));

  const el = h('section', { class: 'page' },
    h('p', { class: 'crumbs' }, h('a', { href: paths.lobby(slug) }, jam.title), ' › ',
      h('a', { href: paths.session(slug, session.id) }, session.title)),
    h('article', { class: 'idea-page card' },
      h('h1', { dataset: { role: 'idea-title' } }, titleEl, ' ', statusEl),
      h('p', { class: 'idea-meta' }, t('by_author', { name: idea.author.display_name, audience: idea.author.audience }),
        ' · ', h('time', { datetime: idea.created_at }, dateTime(idea.created_at))),
      bodyEl,
      idea.tags?.length ? h('ul', { class: 'tags', 'aria-label': t('tags') }, idea.tags.map((x) => h('li', { class: 'tag' }, x))) : null,
      h('div', { class: 'idea-actions' }, votes?.el, followBtn, flagIdea)),
    stateNote,
    h('section', { 'aria-labelledby': 'thread-title' },
      h('h2', { id: 'thread-title' }, t('replies'), ' (', commentsCount, ')'),
      empty, thread, mainForm));
  paintIdea();
  paintState();
  return { el, title: idea.title, destroy() { stopIdea(); stopSession(); stopJam(); } };
}
