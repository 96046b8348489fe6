// The @name picker: typing `@` and the start of a name in a post offers the jam's participants whose
// name starts with it (`GET /jams/{slug}/mentions?q=`), as a listbox the field controls
// (`aria-controls`, the active option as `aria-activedescendant`; a textarea may not take the
// combobox role). Arrow keys move, Enter or a click picks, Escape closes; picking writes `@Full Name `.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { api, enc } from '../api.js';

/** What is being typed after an `@` that starts a mention, up to the caret; null when none. */
export function mentionAt(text, caret) {
  const before = text.slice(0, caret);
  const m = /(^|[^\p{L}\p{N}])@([\p{L}\p{N}][^@\n]{0,39})$/u.exec(before);
  return m ? { start: caret - m[2].length - 1, query: m[2] } : null;
}

let pickers = 0;

/** Attaches the picker to `input` (a textarea) and returns the element to place after it. */
export function mentionPicker(input, slug) {
  pickers += 1;
  const listId = `mention-list-${pickers}`;
  const list = h('ul', { id: listId, class: 'mention-list', role: 'listbox', 'aria-label': t('mention_picker'), hidden: true });
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-controls', listId);
  let items = [];
  let active = -1;
  let at = null;
  let asked = 0;
  let timer = null;

  function close() {
    items = [];
    active = -1;
    list.hidden = true;
    replace(list);
    input.removeAttribute('aria-activedescendant');
  }

  function paint() {
    replace(list, items.map((c, i) => {
      const li = h('li', { id: `${listId}-${i}`, role: 'option', class: 'mention-option', 'aria-selected': i === active ? 'true' : 'false', dataset: { name: c.display_name } }, c.display_name);
      // mousedown, not click: the field keeps its focus.
      li.addEventListener('mousedown', (e) => { e.preventDefault(); pick(i); });
      return li;
    }));
    list.hidden = items.length === 0;
    if (active >= 0) input.setAttribute('aria-activedescendant', `${listId}-${active}`);
    else input.removeAttribute('aria-activedescendant');
  }

  function pick(i) {
    const c = items[i];
    if (!c || !at) return;
    const end = input.selectionStart;
    const text = `@${c.display_name} `;
    input.value = input.value.slice(0, at.start) + text + input.value.slice(end);
    const caret = at.start + text.length;
    input.setSelectionRange(caret, caret);
    close();
    input.focus();
  }

  async function ask(query) {
    const mine = ++asked;
    try {
      const found = await api.get(`/jams/${enc(slug)}/mentions?q=${enc(query)}`);
      if (mine !== asked) return;
      items = found.items;
      active = items.length ? 0 : -1;
      paint();
    } catch { close(); }
  }

  input.addEventListener('input', () => {
    at = mentionAt(input.value, input.selectionStart);
    clearTimeout(timer);
    if (!at) { close(); return; }
    timer = setTimeout(() => ask(at.query), 150);
  });
  input.addEventListener('keydown', (e) => {
    if (list.hidden) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const step = e.key === 'ArrowDown' ? 1 : -1;
      active = (active + step + items.length) % items.length;
      paint();
    } else if (e.key === 'Enter' || e.key === 'Tab') {
      if (active >= 0) { e.preventDefault(); pick(active); }
    } else if (e.key === 'Escape') {
      e.preventDefault();
      close();
    }
  });
  input.addEventListener('blur', () => setTimeout(close, 150));
  return list;
}
