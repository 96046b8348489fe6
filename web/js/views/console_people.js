// People in the console: staff accounts (admins: role, disable/enable, password reset; everyone:
// their own password) and a jam's participants (search, activity, void with a reason).

import { h, field, setFieldError, announce, replace } from '../dom.js';
import { t, dateTime, num } from '../i18n.js';
import { api, me, qs, enc } from '../api.js';
import { navigate } from '../router.js';
import { page, errorBox, errorPage, paths, busy } from './common.js';

const ROLES = ['admin', 'facilitator', 'executive'];

/** A form posting a new password to `/staff/{id}/password`; `own` asks for the current one. */
function passwordForm(account, own, done) {
  const prefix = own ? 'own' : `reset-${account.id}`;
  const current = own ? field({ id: `${prefix}-current`, label: t('current_password'), type: 'password', required: true, attrs: { autocomplete: 'current-password' } }) : null;
  const next = field({ id: `${prefix}-new`, label: t('new_password'), type: 'password', required: true, attrs: { autocomplete: 'new-password' } });
  const submit = h('button', { type: 'submit' }, own ? t('change_password') : t('reset_password'));
  const status = h('div');
  const form = h('form', { class: own ? 'card form narrow' : 'inline-form', novalidate: true, dataset: { role: own ? 'own-password' : 'reset-password' } },
    current?.wrap, next.wrap, status, submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    status.replaceChildren();
    for (const f of [current, next]) if (f) setFieldError(f, '');
    busy(submit, true);
    try {
      const body = { new_password: next.input.value };
      if (own) body.current_password = current.input.value;
      const r = await api.post(`/staff/${account.id}/password`, body);
      const text = t('password_changed', { count: r.sign_ins_ended });
      status.replaceChildren(h('p', { class: 'alert', role: 'status' }, text));
      announce(text);
      for (const f of [current, next]) if (f) f.input.value = '';
      done?.();
    } catch (err) {
      const shown = [['current_password', current], ['new_password', next]]
        .filter(([k, f]) => f && err.fields?.[k])
        .map(([k, f]) => { setFieldError(f, err.fields[k]); return f; });
      if (shown.length) shown[0].input.focus(); else status.replaceChildren(errorBox(err));
    }
    busy(submit, false);
  });
  return form;
}

export async function staffView() {
  const who = await me().catch(() => null);
  if (!who || who.kind !== 'staff') { navigate('/console', { replace: true }); return { el: h('div') }; }
  const own = h('section', { 'aria-labelledby': 'own-h' },
    h('h2', { id: 'own-h' }, t('your_password')), passwordForm({ id: who.id }, true));
  if (who.role !== 'admin') {
    return { el: page(t('staff_accounts'), h('p', {}, h('a', { href: '/console' }, t('back_to_console'))), own), title: t('staff_accounts') };
  }
  const list = h('div');
  async function load() {
    let accounts;
    try { accounts = await api.get('/staff'); } catch (err) { replace(list, errorBox(err)); return; }
    replace(list, h('div', { class: 'table-wrap' }, h('table', { class: 'table', dataset: { role: 'staff-table' } },
      h('caption', {}, t('staff_accounts')),
      h('thead', {}, h('tr', {}, [t('col_name'), t('email'), t('col_role'), t('state'), t('col_created'), t('col_last_sign_in'), t('col_actions')]
        .map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, accounts.items.map(row)))));
  }
  function row(a) {
    const status = h('div');
    const roleId = `role-${a.id}`;
    const select = h('select', { id: roleId }, ROLES.map((r) => h('option', { value: r, selected: r === a.role }, t(`role_${r}`))));
    const save = h('button', { type: 'button' }, t('save_role'));
    const toggle = h('button', { type: 'button', dataset: { role: a.disabled ? 'enable' : 'disable' } }, a.disabled ? t('account_enable') : t('account_disable'));
    async function patch(btn, body, message) {
      busy(btn, true);
      try { await api.patch(`/staff/${a.id}`, body); announce(message); await load(); } catch (err) { status.replaceChildren(errorBox(err)); busy(btn, false); }
    }
    save.addEventListener('click', () => patch(save, { role: select.value }, t('role_saved')));
    toggle.addEventListener('click', () => patch(toggle, { disabled: !a.disabled }, a.disabled ? t('account_enabled') : t('account_disabled')));
    return h('tr', { dataset: { accountId: a.id, disabled: String(a.disabled) } },
      h('th', { scope: 'row' }, a.display_name),
      h('td', {}, a.email),
      h('td', {}, h('label', { for: roleId, class: 'visually-hidden' }, t('role_of', { name: a.display_name })), select, ' ', save),
      h('td', {}, a.disabled ? t('account_state_disabled') : t('account_state_active')),
      h('td', {}, dateTime(a.created_at)),
      h('td', {}, a.last_sign_in_at ? dateTime(a.last_sign_in_at) : t('never_signed_in')),
      h('td', {}, toggle, a.id === who.id ? null : passwordForm(a, false), status));
  }
  await load();
  return {
    el: page(t('staff_accounts'), h('p', {}, h('a', { href: '/console' }, t('back_to_console'))), list, own),
    title: t('staff_accounts'),
  };
}

export async function participantsView({ slug }, query) {
  const who = await me().catch(() => null);
  if (!who || who.kind !== 'staff') { navigate('/console', { replace: true }); return { el: h('div') }; }
  let jam;
  try { jam = await api.get(`/jams/${enc(slug)}`); } catch (err) { return errorPage(err); }
  const canVoid = who.role === 'admin' || who.role === 'facilitator';
  const q = field({ id: 'participant-q', label: t('search_participants'), type: 'search', value: query.get('q') || '' });
  const search = h('form', { class: 'inline-form', role: 'search' }, q.wrap, h('button', { type: 'submit' }, t('search')));
  search.addEventListener('submit', (e) => {
    e.preventDefault();
    navigate(`${paths.consoleJam(slug)}/participants${qs({ q: q.input.value.trim() })}`);
  });
  const list = h('div');
  const more = h('button', { type: 'button', hidden: true }, t('load_more_people'));
  let cursor = null;
  let tbody = null;
  async function load(reset) {
    let p;
    try {
      p = await api.get(`/jams/${enc(slug)}/participants${qs({ q: query.get('q'), cursor: reset ? undefined : cursor, limit: 50 })}`);
    } catch (err) { replace(list, errorBox(err)); return; }
    if (reset) {
      tbody = h('tbody');
      replace(list, p.items.length || cursor ? h('div', { class: 'table-wrap' }, h('table', { class: 'table', dataset: { role: 'participants' } },
        h('caption', {}, t('participants')),
        h('thead', {}, h('tr', {}, [t('col_name'), t('audience_name'), t('col_joined'), t('col_ideas'), t('col_comments'), t('col_votes'), t('col_flags'), t('col_joins_same_address'), t('state')]
          .map((c) => h('th', { scope: 'col' }, c)), canVoid ? h('th', { scope: 'col' }, t('col_actions')) : null)),
        tbody)) : h('p', { class: 'muted' }, t('no_participants')));
    }
    tbody?.append(...p.items.map(row));
    cursor = p.next_cursor;
    more.hidden = !cursor;
  }
  more.addEventListener('click', () => load(false));
  function row(p) {
    const cells = [
      h('th', { scope: 'row' }, p.display_name),
      h('td', {}, p.audience), h('td', {}, dateTime(p.joined_at)),
      h('td', {}, num(p.ideas)), h('td', {}, num(p.comments)), h('td', {}, num(p.votes)), h('td', {}, num(p.flags)),
      h('td', {}, num(p.joins_from_address)),
      h('td', {}, p.voided_at ? t('voided_on', { date: dateTime(p.voided_at) }) : t('account_state_active')),
    ];
    const tr = h('tr', { dataset: { participantId: p.id, voided: String(Boolean(p.voided_at)) } }, cells);
    if (canVoid) tr.append(h('td', {}, p.voided_at ? null : voidForm(p)));
    return tr;
  }
  function voidForm(p) {
    const reason = field({ id: `void-reason-${p.id}`, label: t('void_reason'), required: true, multiline: true });
    const confirmBox = h('input', { type: 'checkbox', id: `void-confirm-${p.id}`, required: true });
    const confirmError = h('p', { class: 'field-error', hidden: true, id: `void-confirm-${p.id}-error` });
    const submit = h('button', { type: 'submit', class: 'danger' }, t('void'));
    const status = h('div');
    const form = h('details', { class: 'void' }, h('summary', {}, t('void_ellipsis', { name: p.display_name })),
      h('form', { novalidate: true, dataset: { role: 'void' } },
        h('p', { class: 'hint' }, t('void_explained')),
        reason.wrap,
        h('p', {}, confirmBox, ' ', h('label', { for: confirmBox.id }, t('void_confirm', { name: p.display_name }))), confirmError,
        status, submit));
    form.querySelector('form').addEventListener('submit', async (e) => {
      e.preventDefault();
      setFieldError(reason, '');
      confirmError.hidden = true;
      status.replaceChildren();
      if (!reason.input.value.trim()) { setFieldError(reason, t('void_reason_required')); reason.input.focus(); return; }
      if (!confirmBox.checked) { confirmError.textContent = t('void_confirm_required'); confirmError.hidden = false; confirmBox.focus(); return; }
      busy(submit, true);
      try {
        const r = await api.post(`/jams/${enc(slug)}/participants/${p.id}/void`, { reason: reason.input.value.trim() });
        announce(t('voided', { name: p.display_name, votes: r.votes_removed, flags: r.flags_removed }));
        await load(true);
      } catch (err) {
        if (err.fields?.reason) setFieldError(reason, err.fields.reason); else status.replaceChildren(errorBox(err));
        busy(submit, false);
      }
    });
    return form;
  }
  await load(true);
  return {
    el: page(t('participants_of', { title: jam.title }),
      h('p', {}, h('a', { href: paths.consoleJam(slug) }, t('back_to_jam'))), search, list, more),
    title: t('participants'),
  };
}
