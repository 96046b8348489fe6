// Search `/j/{slug}/search?q=…`: ideas of the jam matching every word.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { api, me, enc, qs } from '../api.js';
import { navigate } from '../router.js';
import { page, errorBox, paths } from './common.js';
import { ideaCard } from './idea_card.js';

export async function searchView({ slug }, query) {
  const q = (query.get('q') || '').trim();
  const who = await me().catch(() => null);
  const input = h('input', { id: 'search-q', name: 'q', type: 'search', value: q });
  const form = h('form', { class: 'search-form', role: 'search' },
    h('label', { for: 'search-q' }, t('search_label')), input, h('button', { type: 'submit' }, t('search')));
  form.addEventListener('submit', (e) => { e.preventDefault(); navigate(paths.search(slug, input.value.trim())); });
  const results = h('div', { class: 'ideas', 'aria-live': 'polite' });
  if (q) {
    try {
      const p = await api.get(`/jams/${enc(slug)}/search${qs({ q, limit: 50 })}`);
      results.append(h('p', { class: 'muted' }, t('search_results', { count: p.items.length, q })));
      for (const idea of p.items) results.append(ideaCard(slug, idea, { canVote: false, isStaff: who?.kind === 'staff' }).el);
    } catch (err) {
      results.append(errorBox(err));
    }
  }
  const el = page(t('search_title'), h('p', {}, h('a', { href: paths.lobby(slug) }, t('back_to_jam'))), form, results);
  return { el, title: t('search_title') };
}
