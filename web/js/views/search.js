// Search `/j/{slug}/search?q=…&session=…&tag=…&sort=…&status=…`: ideas of the jam matching every
// word (English and French stems, accents folded), best match or newest first, with facets (session,
// the session's top tags, and status for staff). "Show more" follows the server's cursor until the
// last page, so every result can be reached. User text only ever goes in as text (dom.js `h`).

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { api, me, enc, qs } from '../api.js';
import { navigate } from '../router.js';
import { page, errorBox } from './common.js';
import { ideaCard } from './idea_card.js';

const PAGE = 20;
const STATUSES = ['visible', 'hidden', 'removed', 'merged'];

/** `/j/{slug}/search` with these parameters (empty ones left out). */
function searchPath(slug, params) {
  return `/j/${encodeURIComponent(slug)}/search${qs(params)}`;
}

function select(id, label, options, value, role) {
  const el = h('select', { id, name: id, dataset: { role } },
    options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
  return { el, field: h('span', { class: 'facet' }, h('label', { for: id }, label), ' ', el) };
}

export async function searchView({ slug }, query) {
  const q = (query.get('q') || '').trim();
  const params = {
    q,
    session: query.get('session') || '',
    tag: query.get('tag') || '',
    sort: query.get('sort') || '',
    status: query.get('status') || '',
  };
  const [who, jam] = await Promise.all([
    me().catch(() => null),
    api.get(`/jams/${enc(slug)}`).catch(() => null),
  ]);
  const isStaff = who?.kind === 'staff';

  const input = h('input', { id: 'search-q', name: 'q', type: 'search', value: q });
  const sessions = select('search-session', t('search_session'),
    [['', t('search_any_session')], ...(jam?.sessions || []).map((s) => [s.id, s.title])], params.session, 'facet-session');
  const sort = select('search-sort', t('search_sort'),
    [['relevance', t('search_sort_relevance')], ['new', t('search_sort_new')]], params.sort || 'relevance', 'facet-sort');
  const status = isStaff ? select('search-status', t('search_status'),
    [['', t('search_any_status')], ...STATUSES.map((s) => [s, t(`status_${s}`)])], params.status, 'facet-status') : null;
  const form = h('form', { class: 'search-form', role: 'search' },
    h('label', { for: 'search-q' }, t('search_label')), input, h('button', { type: 'submit' }, t('search')),
    h('div', { class: 'facets' }, sessions.field, sort.field, status?.field));
  const go = (extra = {}) => navigate(searchPath(slug, {
    q: input.value.trim(),
    session: sessions.el.value,
    tag: params.tag,
    sort: sort.el.value === 'relevance' ? '' : sort.el.value,
    status: status?.el.value || '',
    ...extra,
  }));
  form.addEventListener('submit', (e) => { e.preventDefault(); go(); });
  // Changing the session changes its tags: the tag facet starts over.
  sessions.el.addEventListener('change', () => go({ tag: '' }));
  sort.el.addEventListener('change', () => go());
  status?.el.addEventListener('change', () => go());

  // The session's top tags, as toggles.
  const tags = h('div', { class: 'tag-facets' });
  if (params.session) {
    api.get(`/sessions/${enc(params.session)}/tags${qs({ limit: 12 })}`).then((p) => {
      if (!p.items.length) return;
      replace(tags, h('p', { class: 'muted', id: 'tag-facets-label' }, t('search_tags')),
        h('ul', { class: 'tags', 'aria-labelledby': 'tag-facets-label' }, p.items.map((tag) => {
          const on = params.tag && params.tag === tag.key;
          return h('li', {}, h('button', {
            type: 'button', class: on ? 'tag tag-on' : 'tag', 'aria-pressed': on ? 'true' : 'false',
            dataset: { role: 'tag-facet', key: tag.key },
            onclick: () => go({ tag: on ? '' : tag.key }),
          }, t('search_tag_count', { tag: tag.tag, count: tag.count })));
        })));
    }).catch(() => {});
  }

  const summary = h('p', { class: 'muted', role: 'status' });
  const list = h('div', { class: 'ideas', dataset: { role: 'search-results' } });
  const more = h('button', { type: 'button', hidden: true, dataset: { role: 'load-more' } }, t('search_more'));
  const failure = h('div');
  let cursor = null;
  let shown = 0;

  async function load() {
    more.disabled = true;
    try {
      const p = await api.get(`/jams/${enc(slug)}/search${qs({
        q, session: params.session, tag: params.tag, sort: params.sort, status: params.status, cursor, limit: PAGE,
      })}`);
      for (const idea of p.items) list.append(ideaCard(slug, idea, { canVote: false, isStaff }).el);
      shown += p.items.length;
      cursor = p.next_cursor;
      more.hidden = !cursor;
      summary.textContent = cursor
        ? t('search_results_more', { count: shown, q })
        : t('search_results', { count: shown, q });
      replace(failure);
    } catch (err) {
      replace(failure, errorBox(err));
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', load);
  if (q) await load();

  const el = page(t('search_title'), h('p', {}, h('a', { href: `/j/${encodeURIComponent(slug)}` }, t('back_to_jam'))),
    form, tags, summary, failure, list, more);
  return { el, title: t('search_title') };
}
