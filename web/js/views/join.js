// The invite page: `/j/{slug}?code=…` (an audience's shared code) or `/j/{slug}/join?invite=…` (a
// personal invite link): what the jam is, its guidelines, and the join form (display name,
// language, acceptance). A browser already signed in to this jam goes straight to its lobby.

import { h, field, setFieldError, announce } from '../dom.js';
import { t, lang, setLang, LANGUAGES, dateTime } from '../i18n.js';
import { api, me, enc } from '../api.js';
import { restart } from '../live.js';
import { navigate } from '../router.js';
import { page, errorBox, errorPage, paths, busy, stateBadge } from './common.js';

export async function joinView({ slug }, query) {
  const code = query.get('code') || '';
  const invite = query.get('invite') || '';
  const admission = invite ? `invite=${enc(invite)}` : `code=${enc(code)}`;
  let welcome;
  try {
    welcome = await api.get(`/jams/${enc(slug)}/welcome?${admission}`);
  } catch (err) {
    if (invite && err.status === 403) {
      return { el: page(t('error_title'), h('p', { class: 'alert alert-error', role: 'alert' }, t('invite_invalid'))), title: t('error_title') };
    }
    return errorPage(err);
  }
  const held = await me().catch(() => null);
  if (held?.jam_id === welcome.id) {
    navigate(paths.lobby(slug), { replace: true });
    return { el: h('div'), title: welcome.title };
  }
  const name = field({ id: 'display-name', label: t('join_display_name'), required: true,
    hint: t('join_display_name_hint'), attrs: { autocomplete: 'nickname', maxlength: 80 } });
  const language = h('select', { id: 'join-language', name: 'language' },
    LANGUAGES.map((l) => h('option', { value: l.code, selected: l.code === lang(), lang: l.code }, l.name)));
  language.addEventListener('change', () => setLang(language.value));
  const accept = h('input', { type: 'checkbox', id: 'accept', name: 'accept', required: true,
    'aria-describedby': 'accept-error' });
  const acceptError = h('p', { id: 'accept-error', class: 'field-error', hidden: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, t('join_submit'));
  const status = h('div', { class: 'form-status' });
  const form = h('form', { class: 'card form', novalidate: true, 'aria-labelledby': 'join-form-title' },
    h('h2', { id: 'join-form-title' }, t('join_form_title')),
    h('p', {}, t('join_audience', { audience: welcome.audience })),
    name.wrap,
    h('div', { class: 'field' }, h('label', { for: 'join-language' }, t('language')), language),
    h('div', { class: 'field checkbox' }, accept, h('label', { for: 'accept' }, t('join_accept')), acceptError),
    status, submit);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    setFieldError(name, '');
    acceptError.hidden = true;
    status.textContent = '';
    let bad = false;
    if (!name.input.value.trim()) { setFieldError(name, t('required')); bad = true; }
    if (!accept.checked) { acceptError.textContent = t('join_accept_required'); acceptError.hidden = false; bad = true; }
    if (bad) { form.querySelector('[aria-invalid="true"], #accept')?.focus(); return; }
    busy(submit, true);
    try {
      await api.post(`/jams/${enc(slug)}/join`, {
        invite_code: code, ...(invite ? { invite_token: invite } : {}), display_name: name.input.value.trim(), accept_guidelines: true, locale: lang(),
      });
      await me(true);
      restart();
      document.dispatchEvent(new CustomEvent('openjam:me'));
      announce(t('joined'));
      navigate(paths.lobby(slug), { replace: true });
    } catch (err) {
      if (err.fields?.display_name) setFieldError(name, err.fields.display_name);
      if (err.fields?.accept_guidelines) { acceptError.textContent = err.fields.accept_guidelines; acceptError.hidden = false; }
      status.replaceChildren(invite && err.status === 409
        ? h('p', { class: 'alert alert-error', role: 'alert' }, t('invite_used'))
        : errorBox(err));
      busy(submit, false);
    }
  });

  const el = page(welcome.title,
    h('p', { class: 'lead' }, stateBadge('jam', welcome.state), ' ',
      t('jam_schedule', { start: dateTime(welcome.starts_at), end: dateTime(welcome.ends_at) })),
    welcome.description ? h('p', { class: 'prewrap' }, welcome.description) : null,
    welcome.sessions?.length ? h('section', { 'aria-labelledby': 'w-sessions' },
      h('h2', { id: 'w-sessions' }, t('sessions')),
      h('ul', { class: 'plain' }, welcome.sessions.map((s) => h('li', {},
        h('strong', {}, s.title), ' — ', dateTime(s.opens_at), ' → ', dateTime(s.closes_at))))) : null,
    h('section', { 'aria-labelledby': 'w-guidelines', class: 'guidelines' },
      h('h2', { id: 'w-guidelines' }, t('guidelines')),
      h('p', { class: 'prewrap' }, welcome.guidelines || t('guidelines_none'))),
    form);
  return { el, title: welcome.title };
}
