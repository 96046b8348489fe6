// The facilitator console: sign-in, the list of jams, and creating a jam with its audiences.
// Managing one jam is in console_jam.js.

import { h, field, setFieldError, announce } from '../dom.js';
import { t, dateTime, timeZone } from '../i18n.js';
import { api, me } from '../api.js';
import { restart } from '../live.js';
import { navigate } from '../router.js';
import { page, errorBox, errorPage, paths, stateBadge, busy } from './common.js';
import { staffSignIn } from './sso.js';

/** `<input type=datetime-local>` value for a Date, in local time. */
export function toLocalInput(date) {
  const d = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}

/** A datetime-local field that shows the viewer's time zone; `.iso()` gives UTC RFC 3339. */
export function dateField(id, label, value) {
  const f = field({ id, label, type: 'datetime-local', required: true, hint: t('time_zone_hint', { zone: timeZone() }) });
  f.input.value = toLocalInput(value);
  f.iso = () => (f.input.value ? new Date(f.input.value).toISOString() : '');
  return f;
}

/** Puts a 422's field errors beside their fields; returns true if any was shown. */
export function showFieldErrors(err, fields) {
  let shown = false;
  for (const [name, message] of Object.entries(err.fields || {})) {
    const key = Object.keys(fields).find((k) => name === k || name.startsWith(`${k}[`) || name.startsWith(`${k}.`));
    if (key) {
      setFieldError(fields[key], message);
      if (!shown) fields[key].input.focus();
      shown = true;
    }
  }
  return shown;
}

function signInForm() {
  const email = field({ id: 'email', label: t('email'), type: 'email', required: true, attrs: { autocomplete: 'username' } });
  const password = field({ id: 'password', label: t('password'), type: 'password', required: true, attrs: { autocomplete: 'current-password' } });
  const submit = h('button', { type: 'submit', class: 'primary' }, t('sign_in'));
  const status = h('div');
  const form = h('form', { class: 'card form narrow', novalidate: true }, email.wrap, password.wrap, status, submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    status.replaceChildren();
    busy(submit, true);
    try {
      await api.post('/auth/login', { email: email.input.value.trim(), password: password.input.value });
      await me(true);
      restart();
      document.dispatchEvent(new CustomEvent('openjam:me'));
      navigate('/console', { replace: true });
    } catch (err) {
      status.replaceChildren(err.status === 401 ? h('p', { class: 'alert alert-error', role: 'alert' }, t('sign_in_failed')) : errorBox(err));
      password.input.value = '';
      busy(submit, false);
    }
  });
  return form;
}

export async function consoleView() {
  const who = await me().catch(() => null);
  if (!who || who.kind !== 'staff') {
    return { el: page(t('console_sign_in'), ...(await staffSignIn(signInForm))), title: t('console') };
  }
  let jams;
  try { jams = await api.get('/jams?limit=100'); } catch (err) { return errorPage(err); }
  const isFacilitator = who.role === 'facilitator' || who.role === 'admin';
  const rows = jams.items.map((j) => h('tr', {},
    h('td', {}, isFacilitator ? h('a', { href: paths.consoleJam(j.slug) }, j.title) : j.title),
    h('td', {}, stateBadge('jam', j.state)),
    h('td', {}, dateTime(j.starts_at)),
    h('td', {}, h('a', { href: paths.results(j.slug) }, t('results')))));
  const el = page(t('console'),
    h('p', {}, t('signed_in_as', { name: who.display_name, role: t(`role_${who.role}`) })),
    isFacilitator ? h('p', {}, h('a', { href: '/console/new', class: 'button primary' }, t('new_jam'))) : null,
    h('p', {}, h('a', { href: '/console/staff', dataset: { role: 'staff-link' } }, who.role === 'admin' ? t('manage_staff') : t('your_password'))),
    rows.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
      h('caption', {}, t('jams')),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('title')), h('th', { scope: 'col' }, t('state')),
        h('th', { scope: 'col' }, t('starts')), h('th', { scope: 'col' }, t('results')))),
      h('tbody', {}, rows))) : h('p', { class: 'muted' }, t('no_jams')));
  return { el, title: t('console') };
}

export async function newJamView() {
  const who = await me().catch(() => null);
  if (!who || who.kind !== 'staff') { navigate('/console', { replace: true }); return { el: h('div') }; }
  const now = new Date();
  const f = {
    title: field({ id: 'jam-title', label: t('title'), required: true }),
    slug: field({ id: 'jam-slug', label: t('slug'), required: true, hint: t('slug_hint'), attrs: { pattern: '[a-z0-9-]+' } }),
    description: field({ id: 'jam-description', label: t('description'), multiline: true }),
    guidelines: field({ id: 'jam-guidelines', label: t('guidelines'), multiline: true }),
    starts_at: dateField('jam-starts', t('starts'), new Date(Math.ceil(now.getTime() / 60000) * 60000)),
    ends_at: dateField('jam-ends', t('ends'), new Date(now.getTime() + 72 * 3600000)),
  };
  f.title.input.addEventListener('input', () => {
    if (!f.slug.input.dataset.touched) {
      f.slug.input.value = f.title.input.value.toLowerCase().normalize('NFD').replace(/[\u0300-\u036f]/g, '')
        .replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
    }
  });
  f.slug.input.addEventListener('input', () => { f.slug.input.dataset.touched = '1'; });

  const audienceList = h('ol', { class: 'audiences' });
  let n = 0;
  function addAudience(name = '') {
    n += 1;
    const nameInput = h('input', { id: `aud-name-${n}`, type: 'text', value: name, required: true, class: 'aud-name' });
    const codeInput = h('input', { id: `aud-code-${n}`, type: 'text', class: 'aud-code' });
    const remove = h('button', { type: 'button', class: 'link' }, t('remove'));
    const li = h('li', { class: 'audience-row' },
      h('label', { for: nameInput.id }, t('audience_name')), nameInput,
      h('label', { for: codeInput.id }, t('invite_code_optional')), codeInput, remove);
    remove.addEventListener('click', () => { li.remove(); });
    audienceList.append(li);
    return nameInput;
  }
  addAudience(t('audience_default_employees'));
  addAudience(t('audience_default_clients'));
  const addBtn = h('button', { type: 'button' }, t('add_audience'));
  addBtn.addEventListener('click', () => addAudience().focus());
  const audError = h('p', { class: 'field-error', id: 'aud-error', hidden: true });
  const autoHide = h('input', { type: 'checkbox', id: 'jam-auto-hide', checked: true, 'aria-describedby': 'jam-auto-hide-hint' });
  const autoHideWrap = h('div', { class: 'field' }, h('p', {}, autoHide, ' ', h('label', { for: autoHide.id }, t('auto_hide'))),
    h('p', { class: 'hint', id: 'jam-auto-hide-hint' }, t('auto_hide_hint')));
  const hideCounts = h('input', { type: 'checkbox', id: 'jam-hide-counts', 'aria-describedby': 'jam-hide-counts-hint' });
  const hideCountsWrap = h('div', { class: 'field' },
    h('p', {}, hideCounts, ' ', h('label', { for: hideCounts.id }, t('hide_counts_until_voted'))),
    h('p', { class: 'hint', id: 'jam-hide-counts-hint' }, t('hide_counts_until_voted_hint')));

  const submit = h('button', { type: 'submit', class: 'primary' }, t('create_jam'));
  const status = h('div');
  const form = h('form', { class: 'card form', novalidate: true },
    f.title.wrap, f.slug.wrap, f.description.wrap, f.guidelines.wrap,
    h('div', { class: 'row' }, f.starts_at.wrap, f.ends_at.wrap),
    h('fieldset', {}, h('legend', {}, t('audiences')), audienceList, addBtn, audError),
    autoHideWrap, hideCountsWrap, status, submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    for (const x of Object.values(f)) setFieldError(x, '');
    audError.hidden = true;
    status.replaceChildren();
    const audiences = [...audienceList.querySelectorAll('li')].map((li) => ({
      name: li.querySelector('.aud-name').value.trim(),
      invite_code: li.querySelector('.aud-code').value.trim() || undefined,
    })).filter((a) => a.name);
    busy(submit, true);
    try {
      const jam = await api.post('/jams', {
        slug: f.slug.input.value.trim(), title: f.title.input.value.trim(),
        description: f.description.input.value, guidelines: f.guidelines.input.value,
        starts_at: f.starts_at.iso(), ends_at: f.ends_at.iso(), audiences, auto_hide: autoHide.checked,
        hide_counts_until_voted: hideCounts.checked,
      });
      announce(t('jam_created'));
      navigate(paths.consoleJam(jam.slug));
    } catch (err) {
      showFieldErrors(err, f);
      const audMsg = Object.entries(err.fields || {}).find(([k]) => k.startsWith('audiences'));
      if (audMsg) { audError.textContent = audMsg[1]; audError.hidden = false; }
      status.replaceChildren(errorBox(err));
      busy(submit, false);
    }
  });
  return { el: page(t('new_jam'), h('p', {}, h('a', { href: '/console' }, t('back_to_console'))), form), title: t('new_jam') };
}

