// Similar ideas in three places (issue 16):
// - `similarHint`: under the idea form, while someone types (debounced), the session's ideas most
//   like the draft: "Vote on one of these instead?" with links;
// - `mergePicker`: the moderation queue's merge dialog finds the target by its title (a staff search
//   of the jam) instead of asking for a pasted id;
// - `duplicatesList`: the facilitators' list of likely duplicate pairs, each with a merge button.
// Titles and names typed by people only ever go in as text (dom.js `h`).

import { h, replace } from '../dom.js';
import { t, num } from '../i18n.js';
import { api, enc, qs } from '../api.js';
import { paths, errorBox, busy } from './common.js';

const DEBOUNCE_MS = 400;
/** Fewer characters than this in title and body together: no lookup yet. */
const MIN_CHARS = 8;

function percent(score) {
  return num(score, { style: 'percent', maximumFractionDigits: 0 });
}

/** The hint under the idea form of session `sessionId`, fed by its title and body inputs. */
export function similarHint(slug, sessionId, titleInput, bodyInput) {
  const el = h('div', { class: 'similar-hint', 'aria-live': 'polite', dataset: { role: 'similar-hint' } });
  let timer = null;
  let asked = 0;
  async function look() {
    const title = titleInput.value.trim();
    const body = bodyInput.value.trim();
    if ((title + body).length < MIN_CHARS) { replace(el); return; }
    const mine = ++asked;
    try {
      const p = await api.get(`/sessions/${enc(sessionId)}/similar${qs({ title, body: body.slice(0, 2000) })}`);
      if (mine !== asked) return; // a newer draft was asked about meanwhile
      if (!p.items.length) { replace(el); return; }
      replace(el, h('div', { class: 'card similar' },
        h('p', { id: `similar-${sessionId}-h` }, h('strong', {}, t('similar_title'))),
        h('ul', { class: 'plain', 'aria-labelledby': `similar-${sessionId}-h` }, p.items.map((s) =>
          h('li', { dataset: { ideaId: s.idea.id } },
            h('a', { href: paths.idea(slug, s.idea.id) }, s.idea.title), ' ',
            h('span', { class: 'muted' }, t('similar_score', { score: percent(s.score), votes: s.idea.up })))))));
    } catch {
      // A hint only: a failed lookup (rate limit, network) leaves the form as it is.
      if (mine === asked) replace(el);
    }
  }
  const schedule = () => { clearTimeout(timer); timer = setTimeout(look, DEBOUNCE_MS); };
  titleInput.addEventListener('input', schedule);
  bodyInput.addEventListener('input', schedule);
  return { el, clear() { clearTimeout(timer); asked++; replace(el); } };
}

/** The merge dialog of moderation item `item` (an idea): search by title, pick, merge. */
export function mergePicker(slug, item, onMerged) {
  const id = `merge-${item.id}`;
  const input = h('input', { id, type: 'search', value: item.title || '', size: 38 });
  const find = h('button', { type: 'submit' }, t('merge_find'));
  const results = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'inline-form', role: 'search', dataset: { role: 'merge-search' } },
    h('label', { for: id }, t('merge_into')), ' ', input, ' ', find);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const q = input.value.trim();
    if (!q) return;
    busy(find, true);
    try {
      const p = await api.get(`/jams/${enc(slug)}/search${qs({ q, status: 'visible', limit: 10 })}`);
      const candidates = p.items.filter((i) => i.id !== item.id);
      if (!candidates.length) { replace(results, h('p', { class: 'muted' }, t('merge_no_match'))); return; }
      replace(results, h('ul', { class: 'plain merge-candidates' }, candidates.map((c) => {
        const b = h('button', { type: 'button', dataset: { role: 'merge-into', ideaId: c.id } }, t('merge'));
        b.addEventListener('click', async () => {
          busy(b, true);
          try {
            const r = await api.post(`/ideas/${item.id}/merge`, { into: c.id });
            await onMerged(r);
          } catch (err) { results.append(errorBox(err)); busy(b, false); }
        });
        return h('li', {}, h('a', { href: paths.idea(slug, c.id) }, c.title), ' ',
          h('span', { class: 'muted' }, t('by_author', { name: c.author.display_name, audience: c.author.audience })), ' ', b);
      })));
    } catch (err) {
      replace(results, errorBox(err));
    } finally {
      busy(find, false);
    }
  });
  return h('div', { class: 'merge-picker' }, form, results);
}

/** Likely duplicate pairs of the jam, for facilitators; `onMerged` after a merge. */
export function duplicatesList(slug, onMerged) {
  const list = h('div', { dataset: { role: 'duplicates' } });
  const refresh = h('button', { type: 'button' }, t('duplicates_find'));
  async function load() {
    busy(refresh, true);
    try {
      const p = await api.get(`/jams/${enc(slug)}/duplicates`);
      if (!p.items.length) { replace(list, h('p', { class: 'muted' }, t('duplicates_none'))); return; }
      replace(list, h('ul', { class: 'plain' }, p.items.map((pair) => {
        const b = h('button', { type: 'button', dataset: { role: 'merge-pair' } }, t('duplicates_merge'));
        const li = h('li', { class: 'card', dataset: { ideaId: pair.idea.id, otherId: pair.other.id } },
          h('p', {}, h('a', { href: paths.idea(slug, pair.idea.id) }, pair.idea.title), ' ↔ ',
            h('a', { href: paths.idea(slug, pair.other.id) }, pair.other.title)),
          h('p', { class: 'muted' }, t('duplicates_score', { score: percent(pair.score) })), b);
        b.addEventListener('click', async () => {
          busy(b, true);
          try {
            const r = await api.post(`/ideas/${pair.idea.id}/merge`, { into: pair.other.id });
            await onMerged(r);
            await load();
          } catch (err) { li.append(errorBox(err)); busy(b, false); }
        });
        return li;
      })));
    } catch (err) {
      replace(list, errorBox(err));
    } finally {
      busy(refresh, false);
    }
  }
  refresh.addEventListener('click', load);
  return { el: h('div', { class: 'duplicates' }, h('h3', {}, t('duplicates_title')), refresh, list), load };
}
